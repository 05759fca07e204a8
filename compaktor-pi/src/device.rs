//! Object-safe device traits: what the peripheral actors hold (`Box<dyn Motor>` …), so one
//! firmware runs on any backend. The drivers in `drivers` implement them over embedded-hal; the
//! `sim` backend feeds the same drivers with simulated pins and buses.

use futures::future::BoxFuture;

use crate::hal::Edge;

/// A hardware failure, with enough text to find the wire or the device.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// A GPIO or PWM pin failed.
    #[error("pin error: {0}")]
    Pin(String),
    /// An I2C or SPI transfer failed.
    #[error("bus error: {0}")]
    Bus(String),
    /// The device did not answer in time (no echo, no interrupt).
    #[error("no answer from the device within {0:?}")]
    Timeout(std::time::Duration),
    /// A value the device cannot take (a servo angle past its limits, an ADC channel above 7).
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// The device answered something it should not (wrong WHO_AM_I, a reading that makes no
    /// sense).
    #[error("unexpected answer from the device: {0}")]
    Protocol(String),
}

impl DeviceError {
    /// Wraps any embedded-hal digital/PWM error.
    pub fn pin(e: impl core::fmt::Debug) -> Self {
        DeviceError::Pin(format!("{e:?}"))
    }

    /// Wraps any embedded-hal I2C/SPI error.
    pub fn bus(e: impl core::fmt::Debug) -> Self {
        DeviceError::Bus(format!("{e:?}"))
    }
}

/// A digital output: an LED, a relay, a buzzer.
pub trait DigitalOutput: Send + 'static {
    /// Drives the output high (`true`) or low.
    fn set(&mut self, high: bool) -> Result<(), DeviceError>;
}

/// A digital input that reports timestamped edges: a button, a bumper, an encoder.
pub trait EdgeSource: Send + 'static {
    /// The current level.
    fn is_high(&mut self) -> Result<bool, DeviceError>;
    /// Waits for the next edge.
    fn next_edge(&mut self) -> BoxFuture<'_, Result<Edge, DeviceError>>;
    /// Now, on the clock the edges are stamped with, if it can be read (see
    /// [`EdgeInput::now`](crate::hal::EdgeInput::now)).
    fn now(&self) -> Option<std::time::Duration> {
        None
    }
}

/// One wheel encoder's opened channels: A, and B for a quadrature encoder.
pub struct WheelEncoder {
    /// Channel A.
    pub a: Box<dyn EdgeSource>,
    /// Channel B; `None` for a single-channel encoder.
    pub b: Option<Box<dyn EdgeSource>>,
}

impl std::fmt::Debug for WheelEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WheelEncoder")
            .field("quadrature", &self.b.is_some())
            .finish_non_exhaustive()
    }
}

/// A DC motor behind an H-bridge.
pub trait MotorDriver: Send + 'static {
    /// Speed from -1.0 (full reverse) to 1.0 (full forward); 0.0 coasts.
    fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError>;
    /// Shorts the motor: stops fast and holds.
    fn brake(&mut self) -> Result<(), DeviceError>;
    /// Lets the motor spin freely (no drive).
    fn coast(&mut self) -> Result<(), DeviceError>;
}

/// A hobby servo on a 50 Hz PWM output.
pub trait ServoDriver: Send + 'static {
    /// Sets the pulse width in microseconds (typically 500..=2500).
    fn set_pulse_width_us(&mut self, us: u32) -> Result<(), DeviceError>;
    /// Stops sending pulses (the servo goes limp).
    fn release(&mut self) -> Result<(), DeviceError>;
}

/// What a distance sensor saw: an obstacle at some distance, or nothing within its range.
///
/// "Nothing in range" is a reading, not a failure: an HC-SR04 facing 6 m of open floor answers
/// it every time. A sensor that does not answer at all is a [`DeviceError`] instead.
///
/// ```
/// use compaktor_pi::device::Range;
///
/// let wall = Range::Distance(0.42);
/// assert_eq!(wall.meters(), Some(0.42));
/// assert_eq!(Range::OutOfRange.meters(), None);
///
/// // Open space is clear as far as you like; compare clearances to decide.
/// assert!(Range::OutOfRange.clearance() > 100.0);
/// assert!(wall.clearance() < 0.5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// An echo: the nearest obstacle is this many meters away.
    Distance(f32),
    /// No echo within the sensor's range: nothing near enough to measure (open space).
    OutOfRange,
}

impl Range {
    /// The distance in meters, or `None` when nothing is in range.
    pub fn meters(self) -> Option<f32> {
        match self {
            Range::Distance(m) => Some(m),
            Range::OutOfRange => None,
        }
    }

    /// Meters of clear space ahead: the distance, or [`f32::INFINITY`] when nothing is in range
    /// (the convention of ROS's `sensor_msgs/Range`).
    pub fn clearance(self) -> f32 {
        self.meters().unwrap_or(f32::INFINITY)
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Range::Distance(m) => write!(f, "{m:.2} m"),
            Range::OutOfRange => f.write_str("out of range"),
        }
    }
}

/// A distance sensor (HC-SR04).
pub trait RangeFinder: Send + 'static {
    /// One measurement: a distance, or [`Range::OutOfRange`] when nothing is in range.
    fn measure(&mut self) -> BoxFuture<'_, Result<Range, DeviceError>>;
}

/// One IMU sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImuSample {
    /// Acceleration in m/s² (x, y, z).
    pub accel: [f32; 3],
    /// Angular rate in rad/s (x, y, z).
    pub gyro: [f32; 3],
}

/// An IMU on a bus (MPU-6050 over I2C). Blocking: call it from the blocking pool.
pub trait Imu: Send + 'static {
    /// Reads one sample.
    fn read(&mut self) -> Result<ImuSample, DeviceError>;
}

/// A multi-channel ADC on a bus (MCP3008 over SPI). Blocking: call it from the blocking pool.
pub trait Adc: Send + 'static {
    /// Number of channels.
    fn channels(&self) -> u8;
    /// Reads one channel; the raw value (0..=1023 for a 10-bit ADC).
    fn read(&mut self, channel: u8) -> Result<u16, DeviceError>;
}

/// One reading of a battery monitor.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PowerReading {
    /// The battery's voltage, V.
    pub voltage: f32,
    /// The current drawn from it, A (negative while it charges).
    pub current: f32,
}

/// A battery monitor on a bus (INA219 over I2C). Blocking: call it from the blocking pool.
pub trait PowerMonitor: Send + 'static {
    /// Reads the voltage and the current now.
    fn read(&mut self) -> Result<PowerReading, DeviceError>;
}
