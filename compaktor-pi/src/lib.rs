//! # compaktor-pi
//!
//! Peripheral actors for Raspberry Pi robots on [CompAktor](compaktor): motors, servos, distance
//! sensors, IMU, ADC, line sensors, buttons and LEDs — with a simulated robot so the same firmware
//! runs on a laptop, and safety built in (safe states, dead-man watchdogs, E-stop).
//!
//! - [`actors`]: the peripheral actors (`Motor`, `Servo`, `Ultrasonic`, `ImuSensor`,
//!   `LineSensor`, `AdcReader`, `Button`, `Led`, `Odometry`, `Battery`); sensors and motors
//!   publish on the system's topics ([`compaktor::Topic`]);
//! - [`safety`]: the E-stop (each actuator's watchdog and safe state live with the actuator);
//! - [`config`]: the robot description file (TOML); [`hardware`]: opening it on its backend;
//! - [`robot`]: signals and the runtime for sim or hardware (the actors stop with the runtime's
//!   `ActorSystem::shutdown`, the E-stop first: [`firmware::stop_robot`]);
//! - [`firmware`]: what robot programs share: the command line, logging, stopping safely (the
//!   E-stop first), systemd's notifications and watchdog;
//! - [`safe_off`]: driving the motor pins low after the firmware has died (the
//!   `compaktor-safe-off` command, systemd's `ExecStopPost`);
//! - [`hal`]: the two traits embedded-hal lacks (timestamped edges, PWM frequency);
//! - [`device`]: object-safe device traits the actors hold;
//! - [`drivers`]: embedded-hal drivers (L298N / TB6612FNG, servo, HC-SR04, MCP3008, MPU-6050,
//!   PCA9685, INA219, line position, debouncing);
//! - [`sim`]: the simulated world and its pins and buses (always built, the default backend);
//! - [`backend`]: `rppal` / `linux` (cargo features of the same names): real hardware.
//!
//! ```
//! use compaktor::prelude::*;
//! use compaktor_pi::actors::{Motor, MotorConfig};
//! use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
//! use compaktor_pi::hardware::Hardware;
//! use compaktor_pi::safety::EStop;
//! use compaktor_pi::sim::{World, WorldConfig};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RobotConfig::from_toml(STARTER_ROBOT)?;
//! let world = World::new(WorldConfig::arena(7));
//! let _physics = world.start();
//! let mut hw = Hardware::open(&config, Some(&world))?;
//! let (left_motor, _right_motor) = hw.drive()?;
//!
//! let system = ActorSystem::new("robot");
//! let estop = EStop::new();
//! let left = system.start(Motor::new(left_motor, estop.clone(), MotorConfig::new("left"))).await?;
//! left.set_speed(0.5).await?;
//! let report = estop.trigger("demo"); // straight to the hardware, ahead of any queued command
//! assert!(report.all_safe());
//! assert!(matches!(left.set_speed(0.5).await, Err(AskError::Handler(_))));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod actors;
pub mod backend;
pub mod config;
pub mod device;
pub mod drivers;
pub mod firmware;
pub mod hal;
pub mod hardware;
pub mod robot;
pub mod safe_off;
pub mod safety;
pub mod sim;
mod sync;

pub(crate) use sync::lock;
