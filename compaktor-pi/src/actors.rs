//! Peripheral actors: one per device, each with typed handlers and, for sensors, events to
//! subscribers on a [`Topic`](compaktor::Topic). Actuators (motors, servos) register a safe-state action with the
//! [`EStop`](crate::safety::EStop), run it when they stop for any reason and when dropped, and
//! watch for silence with a dead-man watchdog. Device access goes through [`crate::device`]
//! traits, so the same actors run on the simulation and on a Pi.

pub mod battery;
pub mod button;
pub mod imu;
pub mod led;
pub mod line_sensor;
pub mod motor;
pub mod odometry;
pub mod servo;
pub mod ultrasonic;

pub use battery::{Battery, BatteryLevel, BatteryPolicy, BatteryReading};
pub use button::Button;
pub use imu::ImuSensor;
pub use led::Led;
pub use line_sensor::{AdcReader, LineReading, LineSensor};
pub use motor::{Motor, MotorConfig, MotorError, MotorEvent, SafeCause};
pub use odometry::{Odometry, OdometryConfig, PoseEstimate};
pub use servo::{Servo, ServoError};
pub use ultrasonic::{Distance, Ultrasonic};

use compaktor::{Actor, Context, Topic, TopicError};

/// The topic a peripheral actor publishes on: `<its path>/<what>` in its system (the same
/// topic again after a restart, so subscribers stay), keeping its newest value so a reading
/// published while nobody listens is kept rather than lost.
pub(crate) fn own_topic<A: Actor, T: Clone + Send + 'static>(
    ctx: &Context<A>,
    what: &str,
) -> Result<Topic<T>, TopicError> {
    Ok(ctx
        .system()
        .topic(&format!("{}/{what}", ctx.path()))?
        .keep_latest())
}

/// Publishes `value` on an actor's topic once it has one (from its start hook on).
pub(crate) fn publish<T: Clone + Send + 'static>(topic: &Option<Topic<T>>, value: T) {
    if let Some(topic) = topic {
        topic.publish(value);
    }
}
