//! Real hardware: functions that open GPIO pins, PWM outputs and I2C/SPI buses, and the small
//! adapters that make them speak embedded-hal 1.0 and [`crate::hal`]. Hand what they return to
//! the [`drivers`](crate::drivers).
//!
//! - `rppal` (cargo feature `rppal`): a Raspberry Pi through rppal — GPIO with interrupts,
//!   hardware and software PWM, I2C, SPI.
//! - `linux` (cargo feature `linux`): any Linux board — GPIO through the character device
//!   (gpiocdev), I2C and SPI through linux-embedded-hal.
//! - [`sysfs_pwm`] (always built): hardware PWM through the kernel's PWM sysfs interface, and
//!   finding a PWM chip by its device-tree label; the `linux` backend's motors and servos.
//!
//! Opening never panics: off a Pi, or without the device node, it returns an [`OpenError`]
//! naming the backend, the device and its label. The simulated backend lives in
//! [`crate::sim`], not here.

#[cfg(feature = "linux")]
pub mod linux;
#[cfg(feature = "rppal")]
pub mod rppal;
pub mod sysfs_pwm;

use core::fmt::Display;

/// Now on `CLOCK_MONOTONIC`, the clock the kernel stamps GPIO edge events with (`None` if it
/// cannot be read).
#[cfg(any(feature = "rppal", feature = "linux"))]
pub(crate) fn monotonic_now() -> Option<std::time::Duration> {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .ok()
        .map(std::time::Duration::from)
}

/// A pin or bus could not be opened.
///
/// Its message says which backend, which device (with the label the robot gave it) and why:
///
/// ```text
/// rppal: cannot open GPIO 17 (motor left in1): Unknown Raspberry Pi model
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{backend}: cannot open {device}: {reason}")]
pub struct OpenError {
    /// The backend: `"rppal"` or `"linux"`.
    pub backend: &'static str,
    /// The device and its label, such as `GPIO 17 (motor left in1)` or `/dev/i2c-1 (imu)`.
    pub device: String,
    /// Why, in the backend's words.
    pub reason: String,
}

impl OpenError {
    /// An error opening `device` (already labelled, see [`device_name`]) with `backend`.
    pub fn new(backend: &'static str, device: impl Into<String>, reason: impl Display) -> Self {
        OpenError {
            backend,
            device: device.into(),
            reason: reason.to_string(),
        }
    }
}

/// `"{what}"`, or `"{what} ({label})"` when the label is not empty: how errors name a device.
///
/// ```
/// use compaktor_pi::backend::device_name;
///
/// assert_eq!(device_name("GPIO 17", "motor left in1"), "GPIO 17 (motor left in1)");
/// assert_eq!(device_name("/dev/i2c-1", ""), "/dev/i2c-1");
/// ```
pub fn device_name(what: impl Display, label: &str) -> String {
    if label.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({label})")
    }
}

/// A pin or PWM output failed after it was opened (the backend's message, with the device).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PinError(pub String);

impl embedded_hal::digital::Error for PinError {
    fn kind(&self) -> embedded_hal::digital::ErrorKind {
        embedded_hal::digital::ErrorKind::Other
    }
}

impl embedded_hal::pwm::Error for PinError {
    fn kind(&self) -> embedded_hal::pwm::ErrorKind {
        embedded_hal::pwm::ErrorKind::Other
    }
}

/// How many edges an input queues for a reader that is not waiting. Further edges are dropped
/// (and logged) until the reader catches up.
#[cfg(any(feature = "rppal", feature = "linux"))]
const EDGE_QUEUE: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_error_reads_like_a_log_line() {
        let e = OpenError::new(
            "rppal",
            device_name("GPIO 17", "motor left in1"),
            "Unknown Raspberry Pi model",
        );
        assert_eq!(
            e.to_string(),
            "rppal: cannot open GPIO 17 (motor left in1): Unknown Raspberry Pi model"
        );
    }

    #[test]
    fn errors_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<OpenError>();
        assert_send_sync::<PinError>();
    }
}
