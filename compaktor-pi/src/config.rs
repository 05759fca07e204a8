//! The robot description file: which backend, and which pin or bus each device is wired to.
//! Wiring is data: the same firmware runs on the simulation and on a Pi by switching `backend`.
//! Opening the hardware it describes lives in `hardware`.

use std::path::Path;

use serde::Deserialize;

/// Where the devices are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The simulated world (the default).
    Sim,
    /// A Raspberry Pi, through rppal (cargo feature `rppal`).
    Rppal,
    /// Any Linux board: GPIO character device and i2c-dev/spidev (cargo feature `linux`).
    Linux,
}

/// A robot description, read from TOML.
///
/// ```
/// let robot = compaktor_pi::config::RobotConfig::from_toml(compaktor_pi::config::STARTER_ROBOT)?;
/// assert_eq!(robot.drive.left.in1, 5);
/// # Ok::<(), compaktor_pi::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// The robot's name (logs, pictures).
    pub name: String,
    /// Which backend opens the devices.
    #[serde(default = "sim")]
    pub backend: BackendKind,
    /// GPIO chip for the `linux` backend (e.g. `/dev/gpiochip0`).
    #[serde(default)]
    pub gpio_chip: Option<String>,
    /// The two drive motors.
    pub drive: DriveConfig,
    /// The distance sensor.
    #[serde(default)]
    pub ultrasonic: Option<UltrasonicConfig>,
    /// A push button (start/stop, E-stop).
    #[serde(default)]
    pub button: Option<ButtonConfig>,
    /// A status LED.
    #[serde(default)]
    pub led: Option<LedConfig>,
    /// A servo (e.g. panning the distance sensor).
    #[serde(default)]
    pub servo: Option<ServoConfig>,
    /// An MPU-6050 IMU on I2C.
    #[serde(default)]
    pub imu: Option<ImuConfig>,
    /// An MCP3008 ADC on SPI.
    #[serde(default)]
    pub adc: Option<AdcConfig>,
    /// A line sensor array read through the ADC.
    #[serde(default)]
    pub line_sensor: Option<LineSensorConfig>,
}

fn sim() -> BackendKind {
    BackendKind::Sim
}

/// The drive: two motors and their safety settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveConfig {
    /// The left motor's wiring.
    pub left: MotorWiring,
    /// The right motor's wiring.
    pub right: MotorWiring,
    /// Dead-man window: motors go to duty 0 when no command came for this long.
    pub watchdog_ms: u64,
    /// Speed change limit per second, if any.
    #[serde(default)]
    pub ramp_per_second: Option<f32>,
}

/// Which H-bridge chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BridgeKind {
    /// L298N: IN1, IN2, and the ENA/ENB PWM.
    L298n,
    /// TB6612FNG: IN1, IN2, PWM and STBY.
    Tb6612fng,
}

/// One motor's H-bridge wiring (BCM GPIO numbers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotorWiring {
    /// The bridge chip.
    pub bridge: BridgeKind,
    /// Direction input 1.
    pub in1: u8,
    /// Direction input 2.
    pub in2: u8,
    /// Speed PWM.
    pub pwm: PwmWiring,
    /// STBY pin (TB6612FNG only).
    #[serde(default)]
    pub standby: Option<u8>,
    /// Mounted the other way round.
    #[serde(default)]
    pub invert: bool,
}

/// A PWM output: a hardware channel (GPIO12/13/18/19 on a Pi) or software PWM on any pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum PwmWiring {
    /// Hardware PWM channel 0 or 1.
    Hardware {
        /// The channel.
        channel: u8,
    },
    /// Software PWM on a GPIO (fine for motors, too jittery for servos).
    Software {
        /// The GPIO.
        pin: u8,
    },
}

/// HC-SR04 wiring.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UltrasonicConfig {
    /// TRIG GPIO.
    pub trigger: u8,
    /// ECHO GPIO (through a 5 V → 3.3 V divider!).
    pub echo: u8,
    /// Measurement period in ms (60 or more).
    pub period_ms: u64,
}

/// A button.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonConfig {
    /// The GPIO.
    pub pin: u8,
    /// The contact goes to ground and the internal pull-up holds the pin high (`true`, the
    /// usual wiring), or to 3.3 V with the pull-down (`false`).
    #[serde(default = "yes")]
    pub active_low: bool,
    /// The contact is closed while released and opens when pressed, as on an E-stop: a broken
    /// wire then reads as pressed, and stops the robot. `false`: normally open.
    #[serde(default)]
    pub normally_closed: bool,
    /// Edges closer than this are bounce.
    #[serde(default = "debounce_ms")]
    pub debounce_ms: u64,
    /// Held longer than this is a long press.
    #[serde(default = "long_press_ms")]
    pub long_press_ms: u64,
}

fn yes() -> bool {
    true
}
fn debounce_ms() -> u64 {
    20
}
fn long_press_ms() -> u64 {
    1000
}

/// An LED.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedConfig {
    /// The GPIO.
    pub pin: u8,
}

/// A servo.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServoConfig {
    /// Its PWM (hardware PWM or a PCA9685 for real servos).
    pub pwm: PwmWiring,
    /// Angle limits in degrees.
    pub min_angle: f32,
    /// Angle limits in degrees.
    pub max_angle: f32,
    /// Pulse width at `min_angle`, µs.
    pub min_pulse_us: u32,
    /// Pulse width at `max_angle`, µs.
    pub max_pulse_us: u32,
}

/// MPU-6050 wiring.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImuConfig {
    /// I2C bus number (`/dev/i2c-1` is 1).
    pub bus: u8,
    /// I2C address (0x68, or 0x69 with AD0 high).
    pub address: u8,
    /// Sample period in ms.
    pub period_ms: u64,
}

/// MCP3008 wiring.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdcConfig {
    /// SPI bus (0).
    pub bus: u8,
    /// Chip select (0 or 1).
    pub chip_select: u8,
}

/// A line sensor array on ADC channels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSensorConfig {
    /// ADC channels, left to right.
    pub channels: Vec<u8>,
    /// Readings above this see the line.
    pub threshold: u16,
    /// Sample period in ms.
    pub period_ms: u64,
}

/// A robot file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the robot file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is wrong.
    #[error("the robot file is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// The TOML is well formed but describes a robot that cannot work.
    #[error("the robot file is not valid: {0}")]
    Invalid(String),
}

impl RobotConfig {
    /// Parses a robot description.
    ///
    /// # Errors
    /// [`ConfigError::Parse`], naming the key that is wrong.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: RobotConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the schema alone cannot: a line sensor needs the ADC it is read through,
    /// on channels the MCP3008 has, and periods must not be zero.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |why: String| Err(ConfigError::Invalid(why));
        if let Some(line) = &self.line_sensor {
            if self.adc.is_none() {
                return invalid(
                    "[line_sensor] is read through the ADC: add an [adc] section".into(),
                );
            }
            if let Some(ch) = line.channels.iter().find(|&&ch| ch > 7) {
                return invalid(format!(
                    "[line_sensor] channel {ch} does not exist: the MCP3008 has channels 0..=7"
                ));
            }
            if line.channels.is_empty() || line.period_ms == 0 {
                return invalid("[line_sensor] needs channels and a period_ms above 0".into());
            }
        }
        let periods = [
            ("drive.watchdog_ms", Some(self.drive.watchdog_ms)),
            (
                "ultrasonic.period_ms",
                self.ultrasonic.as_ref().map(|u| u.period_ms),
            ),
            ("imu.period_ms", self.imu.as_ref().map(|i| i.period_ms)),
        ];
        if let Some((name, _)) = periods.iter().find(|(_, p)| *p == Some(0)) {
            return invalid(format!("{name} must be above 0"));
        }
        Ok(())
    }

    /// Reads and parses a robot file.
    ///
    /// # Errors
    /// [`ConfigError`] if it cannot be read or parsed.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }
}

/// The starter robot: two motors on an L298N, an HC-SR04, a button and an LED (see the README's
/// wiring table). Its backend is `sim`; change it to `rppal` on the Pi.
pub const STARTER_ROBOT: &str = include_str!("../robots/starter.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_robot_parses() {
        let robot = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
        assert_eq!(robot.backend, BackendKind::Sim);
        assert_eq!(robot.drive.left.bridge, BridgeKind::L298n);
        assert_eq!(robot.drive.left.pwm, PwmWiring::Hardware { channel: 0 });
        assert_eq!(robot.ultrasonic.unwrap().echo, 24);
    }

    #[test]
    fn impossible_robots_are_refused_with_the_reason() {
        let no_adc = format!(
            "{STARTER_ROBOT}\n[line_sensor]\nchannels = [0]\nthreshold = 1\nperiod_ms = 10\n"
        );
        let err = RobotConfig::from_toml(&no_adc).unwrap_err().to_string();
        assert!(err.contains("add an [adc] section"), "{err}");
        let bad_channel = format!(
            "{STARTER_ROBOT}\n[adc]\nbus = 0\nchip_select = 0\n[line_sensor]\nchannels = [0, 9]\nthreshold = 1\nperiod_ms = 10\n"
        );
        let err = RobotConfig::from_toml(&bad_channel)
            .unwrap_err()
            .to_string();
        assert!(err.contains("channel 9 does not exist"), "{err}");
        let zero = STARTER_ROBOT.replace("watchdog_ms = 300", "watchdog_ms = 0");
        let err = RobotConfig::from_toml(&zero).unwrap_err().to_string();
        assert!(err.contains("drive.watchdog_ms must be above 0"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = STARTER_ROBOT.replace("watchdog_ms", "watchdog_mz");
        let err = RobotConfig::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("watchdog_mz"), "{err}");
    }
}
