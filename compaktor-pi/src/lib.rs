//! # compaktor-pi
//!
//! Peripheral actors for Raspberry Pi robots on [CompAktor](compaktor): motors, servos, distance
//! sensors, IMU, ADC, line sensors, buttons and LEDs — with a simulated robot so the same firmware
//! runs on a laptop, and safety built in (safe states, dead-man watchdogs, E-stop).
//!
//! - [`hal`]: the two traits embedded-hal lacks (timestamped edges, PWM frequency);
//! - [`device`]: object-safe device traits the actors hold;
//! - [`drivers`]: embedded-hal drivers (L298N / TB6612FNG, servo, HC-SR04, MCP3008, MPU-6050,
//!   line position, debouncing);
//! - [`sim`]: the simulated world and its pins and buses (always built, the default backend);
//! - `backend::rppal` / `backend::linux` (cargo features `rppal`, `linux`): real hardware.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod actors;
pub mod backend;
pub mod config;
pub mod device;
pub mod drivers;
pub mod events;
pub mod hal;
pub mod hardware;
pub mod robot;
pub mod safety;
pub mod sim;
