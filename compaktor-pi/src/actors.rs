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
pub mod odometry;
pub mod servo;
pub mod ultrasonic;

pub use button::Button;
pub use imu::ImuSensor;
pub use led::Led;
pub use line_sensor::{AdcReader, LineReading, LineSensor};
pub use motor::{Motor, MotorConfig, MotorError, MotorEvent, SafeCause};
pub use odometry::{Odometry, OdometryConfig, PoseEstimate};
pub use servo::{Servo, ServoError};
pub use ultrasonic::{Distance, Ultrasonic};

use std::sync::{Mutex, MutexGuard};

/// Locks a device shared with the E-stop. A panic while holding it must not keep the safe state
/// from running, so a poisoned lock is taken anyway.
pub(crate) fn lock<T: ?Sized>(device: &Mutex<T>) -> MutexGuard<'_, T> {
    device
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
