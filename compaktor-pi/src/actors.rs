//! Peripheral actors: one per device, each with typed handlers and, for sensors, events to
//! subscribers. Actuators (motors, servos) register a safe-state action with the
//! [`EStop`](crate::safety::EStop), run it when they stop for any reason and when dropped, and
//! watch for silence with a dead-man watchdog. Device access goes through [`crate::device`]
//! traits, so the same actors run on the simulation and on a Pi.

pub mod button;
pub mod imu;
pub mod led;
pub mod line_sensor;
pub mod motor;
pub mod servo;
pub mod ultrasonic;

pub use button::Button;
pub use imu::ImuSensor;
pub use led::Led;
pub use line_sensor::{AdcReader, LineReading, LineSensor};
pub use motor::{Motor, MotorConfig, MotorError, MotorEvent, SafeCause};
pub use servo::{Servo, ServoError};
pub use ultrasonic::{Distance, Ultrasonic};
