//! Drivers written against embedded-hal 1.0 (plus [`crate::hal`]), each implementing a
//! [`crate::device`] trait. They know nothing about actors or backends.
//!
//! - [`L298n`], [`Tb6612fng`]: DC motors behind an H-bridge ([`MotorDriver`](crate::device::MotorDriver));
//! - [`PwmServo`], [`ServoLimits`]: hobby servos on a 50 Hz PWM output
//!   ([`ServoDriver`](crate::device::ServoDriver));
//! - [`HcSr04`]: ultrasonic distance from timestamped echo edges
//!   ([`RangeFinder`](crate::device::RangeFinder));
//! - [`Mcp3008`]: 8-channel 10-bit ADC on SPI ([`Adc`](crate::device::Adc));
//! - [`Pca9685Board`], [`Pca9685Channel`]: the 16 PWM channels of a PCA9685 board on I2C, each
//!   a [`PwmOutput`](crate::hal::PwmOutput) for a servo or a motor;
//! - [`Ina219`]: battery voltage and current from an INA219 on I2C
//!   ([`PowerMonitor`](crate::device::PowerMonitor));
//! - [`Mpu6050`]: accelerometer and gyroscope on I2C ([`Imu`](crate::device::Imu)), and the
//!   compatible chips it accepts ([`MpuChip`]);
//! - [`line_position`]: where a line is under a row of reflectance sensors;
//! - [`Debouncer`]: button presses, releases and long presses from bouncy edges;
//! - [`EncoderCounter`]: a wheel's position from its encoder's edges (quadrature or one
//!   channel);
//! - [`Output`], [`EdgeDevice`]: plain pins as [`DigitalOutput`](crate::device::DigitalOutput)
//!   and [`EdgeSource`](crate::device::EdgeSource).
//!
//! Opening real pins and buses is the job of `crate::backend` and [`crate::sim`], not of this
//! module.

pub mod debounce;
pub mod encoder;
pub mod hbridge;
pub mod hcsr04;
pub mod ina219;
pub mod line;
pub mod mcp3008;
pub mod mpu6050;
pub mod pca9685;
pub mod pins;
pub mod servo;

#[cfg(test)]
mod testing;

pub use debounce::{ButtonEvent, Debouncer};
pub use encoder::{Channel, EncoderCounter, counts_per_rev};
pub use hbridge::{L298n, NoPin, Tb6612fng};
pub use hcsr04::{HcSr04, SendDelay, TokioDelay};
pub use ina219::Ina219;
pub use line::line_position;
pub use mcp3008::Mcp3008;
pub use mpu6050::{Mpu6050, MpuChip};
pub use pca9685::{Pca9685Board, Pca9685Channel};
pub use pins::{EdgeDevice, Output};
pub use servo::{PwmServo, ServoLimits};
