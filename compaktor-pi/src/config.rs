//! The robot description file: which backend, and which pin, channel or bus each device is
//! wired to. Wiring is data: the same firmware runs on the simulation and on a Pi by switching
//! `backend`.
//!
//! Here live the file's types and its reading: every value is checked when the file is read
//! ([`RobotConfig::from_toml`]), before any pin is touched, and a bad value comes back as a
//! [`ConfigError`] naming the key and its line. The checks themselves live in `config/check`,
//! the line lookup in `config/lines`. Opening the hardware it describes lives in
//! [`crate::hardware`].

mod check;
mod lines;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub(crate) use check::PCA9685_HZ;
pub use check::Problem;

/// Where the devices are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The simulated world (the default).
    Sim,
    /// A Raspberry Pi, through rppal (cargo feature `rppal`).
    Rppal,
    /// Any Linux board: GPIO character device, PWM sysfs and i2c-dev/spidev (cargo feature
    /// `linux`).
    Linux,
}

impl BackendKind {
    /// The name used in the robot file and in errors: `"sim"`, `"rppal"` or `"linux"`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sim => "sim",
            BackendKind::Rppal => "rppal",
            BackendKind::Linux => "linux",
        }
    }
}

/// A robot description, read from TOML.
///
/// Devices of one kind are tables named by the robot's builder (`[sonars.front]`,
/// `[servos.pan]`, `[leds.status]`); firmware asks for them by that name.
///
/// ```
/// use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
///
/// let robot = RobotConfig::from_toml(STARTER_ROBOT)?;
/// assert_eq!(robot.drive.left.in1, 5);
/// assert_eq!(robot.sonars["front"].echo, 24);
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
    /// GPIO chip for the `linux` backend: a path (`/dev/gpiochip4`), a chip name (`gpiochip4`)
    /// or a label (`pinctrl-rp1`). Without it, each pin is found by its line name (`GPIO17`).
    #[serde(default)]
    pub gpio_chip: Option<String>,
    /// The kernel PWM chip (`/sys/class/pwm/pwmchipN`) for hardware PWM channels. Without it,
    /// the chip is found by its label: on a Pi 5 the RP1's PWM (`pwmchip0` on kernels 6.12+,
    /// `pwmchip2` before), on older Pis `pwmchip0`.
    #[serde(default)]
    pub pwm_chip: Option<u8>,
    /// The two drive motors.
    pub drive: DriveConfig,
    /// HC-SR04 distance sensors, by name.
    #[serde(default)]
    pub sonars: BTreeMap<String, SonarConfig>,
    /// Push buttons (start/stop, E-stop), by name.
    #[serde(default)]
    pub buttons: BTreeMap<String, ButtonConfig>,
    /// Bumper switches, by name.
    #[serde(default)]
    pub bumpers: BTreeMap<String, BumperConfig>,
    /// LEDs, by name.
    #[serde(default)]
    pub leds: BTreeMap<String, LedConfig>,
    /// Servos (a pan-tilt head is two), by name.
    #[serde(default)]
    pub servos: BTreeMap<String, ServoConfig>,
    /// An MPU-6050 IMU on I2C.
    #[serde(default)]
    pub imu: Option<ImuConfig>,
    /// An MCP3008 ADC on SPI.
    #[serde(default)]
    pub adc: Option<AdcConfig>,
    /// A line sensor array read through the ADC.
    #[serde(default)]
    pub line_sensor: Option<LineSensorConfig>,
    /// Wheel encoders, and the wheel geometry odometry needs.
    #[serde(default)]
    pub encoders: Option<EncodersConfig>,
    /// An INA219 battery monitor on I2C, and the low-battery policy.
    #[serde(default)]
    pub battery: Option<BatteryConfig>,
}

/// An INA219 current and voltage monitor on the battery's lead, and what to do when the
/// battery runs low:
///
/// ```toml
/// [battery]
/// address = 0x41      # 0x40-0x4F (A0, A1); bus = 1 by default (SDA GPIO2, SCL GPIO3)
/// shunt_ohms = 0.1    # the breakout's shunt resistor (R100)
/// period_ms = 500     # voltage and current are published this often
/// warn_below = 7.0    # V: a warning (logged, and `Low` on the topic)
/// safe_below = 6.6    # V: the robot goes to its safe state (the E-stop)
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatteryConfig {
    /// I2C bus number (`/dev/i2c-1` is 1, the default).
    #[serde(default = "i2c_bus")]
    pub bus: u8,
    /// The INA219's I2C address, 0x40-0x4F.
    pub address: u8,
    /// The shunt resistor, ohms (0.1 on the common breakouts).
    pub shunt_ohms: f32,
    /// How often the voltage and current are read and published, ms.
    pub period_ms: u64,
    /// Below this many volts the battery is low: a warning.
    pub warn_below: f32,
    /// Below this many volts (under `warn_below`) the robot goes to its safe state.
    pub safe_below: f32,
}

/// Wheel encoders on both drive wheels:
///
/// ```toml
/// [encoders]
/// left = { a = 14, b = 15 }    # quadrature: two channels; `b` left out: single channel
/// right = { a = 25, b = 26 }
/// lines = 20                   # slots (or lines) per wheel turn, per channel
/// wheel_diameter = 0.065       # m
/// wheel_base = 0.15            # m between the wheels' contact points
/// period_ms = 50               # odometry publishes the pose this often
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodersConfig {
    /// The left wheel's encoder.
    pub left: EncoderWiring,
    /// The right wheel's encoder.
    pub right: EncoderWiring,
    /// Lines (slots) per wheel revolution, per channel, after any gearbox.
    pub lines: u32,
    /// Wheel diameter, meters.
    pub wheel_diameter: f32,
    /// Distance between the wheels' contact points, meters.
    pub wheel_base: f32,
    /// How often odometry publishes the pose, ms (default 50).
    #[serde(default = "odometry_period_ms")]
    pub period_ms: u64,
}

fn odometry_period_ms() -> u64 {
    50
}

/// One encoder's pins (BCM GPIO numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderWiring {
    /// Channel A.
    pub a: u8,
    /// Channel B of a quadrature encoder; left out for a single-channel one.
    #[serde(default)]
    pub b: Option<u8>,
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
    /// Speed change limit per second (above 0), if any.
    #[serde(default)]
    pub ramp_per_second: Option<f32>,
    /// PWM frequency of the motors' speed inputs in hertz (default 1000). An L298N is happy
    /// up to a few kHz; a TB6612FNG takes up to 100 kHz (20 kHz and up is silent).
    #[serde(default = "motor_pwm_hz")]
    pub pwm_hz: u32,
}

fn motor_pwm_hz() -> u32 {
    1_000
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
    /// STBY pin (TB6612FNG only; both motors of one chip may share it).
    #[serde(default)]
    pub standby: Option<u8>,
    /// Mounted the other way round.
    #[serde(default)]
    pub invert: bool,
}

/// A PWM output: a hardware channel of the PWM chip, software PWM on any pin, or a channel of
/// a PCA9685 board on I2C.
///
/// On a Pi 1-4 the channels are 0 and 1 (GPIO12/13 with
/// `dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4`); a Pi 5 has four (0-3). A PCA9685
/// adds 16 more, on the I2C bus (SDA GPIO2, SCL GPIO3):
/// `pwm = { pca9685 = { address = 0x40, channel = 3 } }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum PwmWiring {
    /// A hardware PWM channel.
    Hardware {
        /// The channel.
        channel: u8,
    },
    /// Software PWM on a GPIO (fine for motors, too jittery for servos).
    Software {
        /// The GPIO.
        pin: u8,
    },
    /// A channel of a PCA9685 16-channel PWM board. All 16 channels of one board run at one
    /// frequency: servos (50 Hz) and motors (`drive.pwm_hz`) share a board only when those
    /// agree.
    Pca9685 {
        /// The board's I2C address: 0x40-0x7F (0x40 with A0-A5 open), not 0x70.
        address: u8,
        /// The channel, 0-15.
        channel: u8,
        /// The I2C bus (`/dev/i2c-1` is 1, the default: SDA GPIO2, SCL GPIO3).
        #[serde(default = "i2c_bus")]
        bus: u8,
    },
}

fn i2c_bus() -> u8 {
    1
}

/// HC-SR04 wiring.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SonarConfig {
    /// TRIG GPIO.
    pub trigger: u8,
    /// ECHO GPIO (through a 5 V → 3.3 V divider!).
    pub echo: u8,
    /// Measurement period in ms: at least [`SONAR_MIN_PERIOD_MS`], so the last ping's echoes
    /// have died down (the HC-SR04 datasheet's figure).
    pub period_ms: u64,
    /// Where it sits and which way it looks (default: the front, looking ahead). The
    /// simulation casts its beam from there; planners read the angle.
    #[serde(default)]
    pub mount: Option<MountConfig>,
}

/// Where a sensor sits on the robot: `mount = { x = 0.07, y = 0.07, angle = 45.0 }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountConfig {
    /// Meters ahead of the wheel axle's middle (default 0.10).
    #[serde(default = "mount_x")]
    pub x: f32,
    /// Meters to the left of the middle (default 0).
    #[serde(default)]
    pub y: f32,
    /// Degrees counter-clockwise from straight ahead (default 0; 90 looks left).
    #[serde(default)]
    pub angle: f32,
}

fn mount_x() -> f32 {
    0.10
}

impl Default for MountConfig {
    fn default() -> Self {
        MountConfig {
            x: mount_x(),
            y: 0.0,
            angle: 0.0,
        }
    }
}

/// The shortest HC-SR04 measurement period the datasheet allows, in ms.
pub const SONAR_MIN_PERIOD_MS: u64 = 60;

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
    /// Held longer than this is a long press (longer than `debounce_ms`).
    #[serde(default = "long_press_ms")]
    pub long_press_ms: u64,
}

/// A bumper switch: a microswitch closed while the robot touches something.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BumperConfig {
    /// The GPIO.
    pub pin: u8,
    /// Contact pulls the pin low (with the internal pull-up).
    #[serde(default = "yes")]
    pub active_low: bool,
    /// The part of the body's rim it covers, `[from, to]` in degrees counter-clockwise from
    /// straight ahead, within -180..=180 (default all round: `[-180.0, 180.0]`). The
    /// simulation presses it when the body touches something there.
    #[serde(default = "all_round")]
    pub arc: [f32; 2],
}

fn all_round() -> [f32; 2] {
    [-180.0, 180.0]
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
    /// Its PWM (a hardware channel: software PWM jitters).
    pub pwm: PwmWiring,
    /// Angle at `min_pulse_us`, degrees.
    pub min_angle: f32,
    /// Angle at `max_pulse_us`, degrees (above `min_angle`).
    pub max_angle: f32,
    /// Pulse width at `min_angle`, µs.
    pub min_pulse_us: u32,
    /// Pulse width at `max_angle`, µs (above `min_pulse_us`, within the 20 ms frame).
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
    /// SPI bus: 0 (SPI0) or 1 (SPI1, the auxiliary SPI); 3-6 on a Pi 4 with their overlays.
    pub bus: u8,
    /// Chip select: CE0 or CE1 (SPI1 also has CE2).
    pub chip_select: u8,
}

/// A line sensor array on ADC channels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSensorConfig {
    /// ADC channels, left to right.
    pub channels: Vec<u8>,
    /// Readings above this see the line (at most 1023: the MCP3008 has 10 bits).
    pub threshold: u16,
    /// Sample period in ms.
    pub period_ms: u64,
}

/// A robot file that could not be read, or describes a robot that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the robot file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is wrong: bad syntax, a missing or unknown key, a value of the wrong type.
    /// Its message names the line.
    #[error("the robot file is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value the robot cannot have.
    #[error("the robot file is not valid: line {line}: `{key}`: {problem}")]
    Invalid {
        /// The key, dotted from the top (`sonars.front.period_ms`).
        key: String,
        /// Its line in the file, from 1 (0 when checked without the file).
        line: usize,
        /// What is wrong with it.
        problem: Problem,
    },
    /// Two devices wired to one pin, PWM channel or bus device.
    #[error(
        "the robot file is not valid: {resource} is wired twice: `{first}` (line {first_line}) \
         and `{second}` (line {second_line})"
    )]
    Conflict {
        /// What they share (`GPIO 12`, `PWM channel 0`, `SPI0 CE0`).
        resource: String,
        /// The first user's key.
        first: String,
        /// Its line.
        first_line: usize,
        /// The second user's key.
        second: String,
        /// Its line.
        second_line: usize,
    },
}

impl RobotConfig {
    /// Parses a robot description and checks every value (see [`Problem`] for what is
    /// refused).
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for TOML that does not fit the schema, [`ConfigError::Invalid`]
    /// for a value the robot cannot have, [`ConfigError::Conflict`] for two devices on one pin,
    /// channel or chip select. Each names the key and its line.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: RobotConfig = toml::from_str(text)?;
        check::check(&config, &lines::Lines::new(text))?;
        Ok(config)
    }

    /// Checks a robot description built in code (one read by [`RobotConfig::from_toml`] is
    /// checked already). Without the file's text, errors give line 0.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] or [`ConfigError::Conflict`], as [`RobotConfig::from_toml`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        check::check(self, &lines::Lines::without_text())
    }

    /// Reads and parses a robot file.
    ///
    /// # Errors
    /// [`ConfigError`] if it cannot be read, parsed or checked.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }
}

/// The starter robot: two motors on an L298N, an HC-SR04 (`front`), an E-stop button (`estop`)
/// and an LED (`status`) (see the README's wiring table). Its backend is `sim`; change it to `rppal`
/// on the Pi.
pub const STARTER_ROBOT: &str = include_str!("../robots/starter.toml");

/// The rover: the starter robot with a bumper ring (`front`, GPIO 22) and quadrature wheel
/// encoders (`[encoders]`, GPIO 14/15 left, 25/26 right), as the simulated robot is wired.
pub const ROVER_ROBOT: &str = include_str!("../robots/rover.toml");

/// The starter robot with its PWM on I2C boards and its battery watched: the motors' speed
/// inputs on a PCA9685 at 0x60 (1 kHz), a pan-tilt head (`pan`, `tilt`) on a PCA9685 at 0x40
/// (50 Hz), and an INA219 on the battery at 0x41 (`[battery]`), all on I2C bus 1.
pub const BOARDS_ROBOT: &str = include_str!("../robots/boards.toml");

/// A robot with several devices of each kind: three sonars, a pan-tilt head, two bumpers,
/// two buttons and two LEDs, on the starter drive.
pub const EXPLORER_ROBOT: &str = include_str!("../robots/explorer.toml");

#[cfg(test)]
mod tests;
