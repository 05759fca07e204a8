//! Checking a parsed robot file: every value the schema lets through but the robot cannot have
//! (a GPIO the board lacks, a period too short for the sensor, NaN), and every pin, PWM channel
//! or bus pin wired to two devices. Runs before any pin is touched. Finding a key's line lives
//! in `lines`.

use std::collections::{HashMap, HashSet};

use super::lines::{Key, Lines};
use super::{
    BackendKind, BridgeKind, ConfigError, MotorWiring, PwmWiring, RobotConfig, SONAR_MIN_PERIOD_MS,
};

/// The highest GPIO on the Raspberry Pi's 40-pin header (BCM numbering).
pub(crate) const PI_MAX_GPIO: u8 = 27;
/// The highest hardware PWM channel of a Raspberry Pi (the Pi 5 has four; older Pis two, which
/// opening finds out).
pub(crate) const PI_MAX_PWM_CHANNEL: u8 = 3;
/// The MCP3008's largest reading (10 bits).
const MCP3008_MAX: u64 = 1023;
/// How far from the robot's middle a sensor may sit, meters.
const MAX_MOUNT_M: f64 = 1.0;
/// A servo's frame at 50 Hz, µs.
const SERVO_FRAME_US: u32 = 20_000;
/// The frequency servos run at, Hz.
const SERVO_HZ: u32 = 50;
/// The PWM frequencies a PCA9685 can make from its 25 MHz oscillator (prescale 255 to 3).
pub(crate) const PCA9685_HZ: (u32, u32) = (24, 1526);
/// The INA219's highest bus voltage, V.
const INA219_MAX_V: f64 = 26.0;

/// What is wrong with one value of a robot file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A GPIO the board does not have.
    #[error("GPIO {gpio} is not on the Raspberry Pi's header (GPIO 0-{PI_MAX_GPIO})")]
    NoSuchGpio {
        /// The GPIO.
        gpio: u8,
    },
    /// A hardware PWM channel the board does not have.
    #[error(
        "PWM channel {channel} does not exist: a Pi 5 has channels 0-{PI_MAX_PWM_CHANNEL}, \
         older Pis 0-1"
    )]
    NoSuchPwmChannel {
        /// The channel.
        channel: u8,
    },
    /// A bus, chip select, address or converter channel that does not exist.
    #[error("{what} {value} does not exist ({valid})")]
    DoesNotExist {
        /// What it is (`SPI bus`, `chip select`).
        what: &'static str,
        /// The value given.
        value: u64,
        /// What exists.
        valid: &'static str,
    },
    /// A value above what the device can produce.
    #[error("{value} is above the {device}'s range (0-{max})")]
    AboveRange {
        /// The value given.
        value: u64,
        /// The largest the device has.
        max: u64,
        /// The device.
        device: &'static str,
    },
    /// A period shorter than the sensor can work at.
    #[error("{value_ms} ms is too short: the {device} needs at least {min_ms} ms")]
    TooShort {
        /// The period given.
        value_ms: u64,
        /// The shortest that works.
        min_ms: u64,
        /// The device.
        device: &'static str,
    },
    /// NaN or infinite.
    #[error("{value} is not a number the robot can use")]
    NotFinite {
        /// The value given.
        value: f64,
    },
    /// Zero or negative where only a positive value makes sense.
    #[error("must be above 0, not {value}")]
    NotPositive {
        /// The value given.
        value: f64,
    },
    /// A value that must be above another one of the same device.
    #[error("must be above `{other}` ({other_value}), not {value}")]
    NotAbove {
        /// The value given.
        value: f64,
        /// The key it must be above.
        other: &'static str,
        /// That key's value.
        other_value: f64,
    },
    /// A number outside the range that makes sense for it.
    #[error("must be within {min}..={max}{unit}, not {value}")]
    OutsideRange {
        /// The value given.
        value: f64,
        /// The smallest that makes sense.
        min: f64,
        /// The largest that makes sense.
        max: f64,
        /// The unit, with a leading space (` m`, ` degrees`), or empty.
        unit: &'static str,
    },
    /// A device that needs another section.
    #[error("is read through the ADC: add an `[{section}]` section")]
    NeedsSection {
        /// The section to add.
        section: &'static str,
    },
    /// A setting the device does not have.
    #[error("{0}")]
    NotForThisDevice(&'static str),
    /// Two devices on one PCA9685 board that need different PWM frequencies: the board makes
    /// one frequency for all its 16 channels.
    #[error(
        "the PCA9685 at {address:#04x} runs all its channels at one frequency: `{other}` needs \
         {other_hz} Hz, this {hz} Hz"
    )]
    OneFrequency {
        /// The board's I2C address.
        address: u8,
        /// The frequency this device needs.
        hz: u32,
        /// The key of the device that set the board's frequency first.
        other: String,
        /// The frequency that one needs.
        other_hz: u32,
    },
}

/// Checks `config`, whose text `lines` finds keys in.
pub(super) fn check(config: &RobotConfig, lines: &Lines<'_>) -> Result<(), ConfigError> {
    let mut checker = Checker {
        lines,
        pi: config.backend != BackendKind::Linux,
        users: HashMap::new(),
        i2c_buses: HashSet::new(),
        i2c_devices: HashMap::new(),
        pca9685_hz: HashMap::new(),
    };
    checker.robot(config)
}

struct Checker<'l, 'a> {
    lines: &'l Lines<'a>,
    /// GPIO numbers, PWM channels and bus pins are a Raspberry Pi's (the `sim` and `rppal`
    /// backends); on `linux` they are line offsets of a chip this cannot know.
    pi: bool,
    /// Who uses each pin, channel or bus device, for conflicts, with the pin's role for a bus.
    users: HashMap<String, (Key, Option<String>)>,
    /// The I2C buses whose SDA and SCL pins are claimed (every device on a bus shares them).
    i2c_buses: HashSet<u8>,
    /// Which chip answers each `(bus, address)`: the channels of one PCA9685 share it.
    i2c_devices: HashMap<(u8, u8), &'static str>,
    /// Each PCA9685 board's frequency, and the key that set it.
    pca9685_hz: HashMap<(u8, u8), (u32, Key)>,
}

impl Checker<'_, '_> {
    fn invalid(&self, key: &Key, problem: Problem) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_string(),
            line: self.lines.line(key),
            problem,
        }
    }

    /// Claims `resource` for `key`; a second claim is a conflict naming both.
    fn claim(&mut self, resource: String, key: &Key) -> Result<(), ConfigError> {
        self.claim_as(resource, None, key)
    }

    /// Claims `resource` for `key`, in a bus `role` (`SPI0 MOSI`).
    fn claim_as(
        &mut self,
        resource: String,
        role: Option<String>,
        key: &Key,
    ) -> Result<(), ConfigError> {
        if let Some((first, first_role)) = self.users.get(&resource) {
            let resource = match first_role.as_ref().or(role.as_ref()) {
                Some(role) => format!("{resource} ({role})"),
                None => resource,
            };
            return Err(ConfigError::Conflict {
                resource,
                first: first.to_string(),
                first_line: self.lines.line(first),
                second: key.to_string(),
                second_line: self.lines.line(key),
            });
        }
        self.users.insert(resource, (key.clone(), role));
        Ok(())
    }

    fn gpio(&mut self, key: &Key, gpio: u8) -> Result<(), ConfigError> {
        if self.pi && gpio > PI_MAX_GPIO {
            return Err(self.invalid(key, Problem::NoSuchGpio { gpio }));
        }
        self.claim(format!("GPIO {gpio}"), key)
    }

    /// A PWM output that `key`'s device runs at `hz`.
    fn pwm(&mut self, key: &Key, pwm: PwmWiring, hz: u32) -> Result<(), ConfigError> {
        match pwm {
            PwmWiring::Hardware { channel } => {
                let key = key.child("hardware").child("channel");
                if self.pi && channel > PI_MAX_PWM_CHANNEL {
                    return Err(self.invalid(&key, Problem::NoSuchPwmChannel { channel }));
                }
                self.claim(format!("PWM channel {channel}"), &key)
            }
            PwmWiring::Software { pin } => self.gpio(&key.child("software").child("pin"), pin),
            PwmWiring::Pca9685 {
                address,
                channel,
                bus,
            } => {
                let key = key.child("pca9685");
                if !(0x40..=0x7F).contains(&address) || address == 0x70 {
                    let problem = Problem::DoesNotExist {
                        what: "PCA9685 address",
                        value: u64::from(address),
                        valid: "0x40-0x7F, set by A0-A5; 0x70 is every board's all-call address",
                    };
                    return Err(self.invalid(&key.child("address"), problem));
                }
                if channel > 15 {
                    let problem = Problem::DoesNotExist {
                        what: "PCA9685 channel",
                        value: u64::from(channel),
                        valid: "channels 0-15",
                    };
                    return Err(self.invalid(&key.child("channel"), problem));
                }
                self.i2c(&key, bus, address, "PCA9685")?;
                let board = (bus, address);
                match self.pca9685_hz.get(&board) {
                    Some((other_hz, other)) if *other_hz != hz => {
                        let problem = Problem::OneFrequency {
                            address,
                            hz,
                            other: other.to_string(),
                            other_hz: *other_hz,
                        };
                        return Err(self.invalid(&key, problem));
                    }
                    Some(_) => {}
                    None => {
                        self.pca9685_hz.insert(board, (hz, key.clone()));
                    }
                }
                let resource = format!("PCA9685 {address:#04x} channel {channel} on I2C{bus}");
                self.claim(resource, &key.child("channel"))
            }
        }
    }

    /// A chip at `address` on I2C bus `bus`, for `key` (whose `bus` and `address` children
    /// name them): the bus's SDA and SCL pins are shared by every device on the bus; an
    /// address answers for one chip (the channels of one PCA9685 share theirs).
    fn i2c(
        &mut self,
        key: &Key,
        bus: u8,
        address: u8,
        chip: &'static str,
    ) -> Result<(), ConfigError> {
        if self.pi && self.i2c_buses.insert(bus) {
            // I2C bus N's SDA and SCL on the header (bus 0 is the HAT EEPROM's).
            let pins = match bus {
                0 => [(0, "SDA0"), (1, "SCL0")],
                1 => [(2, "SDA1"), (3, "SCL1")],
                _ => [(u8::MAX, ""); 2],
            };
            for (gpio, role) in pins.into_iter().filter(|(g, _)| *g != u8::MAX) {
                self.claim_as(format!("GPIO {gpio}"), Some(role.into()), &key.child("bus"))?;
            }
        }
        match self.i2c_devices.get(&(bus, address)) {
            // Another channel of a board already claimed (only a PCA9685 has several users).
            Some(&first) if first == chip => Ok(()),
            _ => {
                self.i2c_devices.insert((bus, address), chip);
                let resource = format!("I2C{bus} address {address:#04x}");
                self.claim(resource, &key.child("address"))
            }
        }
    }

    fn positive_ms(&self, key: &Key, ms: u64) -> Result<(), ConfigError> {
        if ms == 0 {
            return Err(self.invalid(key, Problem::NotPositive { value: 0.0 }));
        }
        Ok(())
    }

    fn positive(&self, key: &Key, value: f64) -> Result<(), ConfigError> {
        if !value.is_finite() {
            return Err(self.invalid(key, Problem::NotFinite { value }));
        }
        if value <= 0.0 {
            return Err(self.invalid(key, Problem::NotPositive { value }));
        }
        Ok(())
    }

    fn finite(&self, key: &Key, value: f64) -> Result<(), ConfigError> {
        if !value.is_finite() {
            return Err(self.invalid(key, Problem::NotFinite { value }));
        }
        Ok(())
    }

    fn within(
        &self,
        key: &Key,
        value: f64,
        (min, max): (f64, f64),
        unit: &'static str,
    ) -> Result<(), ConfigError> {
        self.finite(key, value)?;
        if !(min..=max).contains(&value) {
            let problem = Problem::OutsideRange {
                value,
                min,
                max,
                unit,
            };
            return Err(self.invalid(key, problem));
        }
        Ok(())
    }

    fn robot(&mut self, config: &RobotConfig) -> Result<(), ConfigError> {
        self.drive(config)?;
        for (name, sonar) in &config.sonars {
            let key = Key::root("sonars").child(name);
            self.gpio(&key.child("trigger"), sonar.trigger)?;
            self.gpio(&key.child("echo"), sonar.echo)?;
            if sonar.period_ms < SONAR_MIN_PERIOD_MS {
                let problem = Problem::TooShort {
                    value_ms: sonar.period_ms,
                    min_ms: SONAR_MIN_PERIOD_MS,
                    device: "HC-SR04",
                };
                return Err(self.invalid(&key.child("period_ms"), problem));
            }
            if let Some(mount) = &sonar.mount {
                let key = key.child("mount");
                // A sensor sits on the robot: a metre from its middle is already a big robot.
                let on_body = (-MAX_MOUNT_M, MAX_MOUNT_M);
                self.within(&key.child("x"), f64::from(mount.x), on_body, " m")?;
                self.within(&key.child("y"), f64::from(mount.y), on_body, " m")?;
                let turn = (-180.0, 180.0);
                self.within(
                    &key.child("angle"),
                    f64::from(mount.angle),
                    turn,
                    " degrees",
                )?;
            }
        }
        for (name, button) in &config.buttons {
            let key = Key::root("buttons").child(name);
            self.gpio(&key.child("pin"), button.pin)?;
            self.positive_ms(&key.child("long_press_ms"), button.long_press_ms)?;
            if button.long_press_ms <= button.debounce_ms {
                let problem = Problem::NotAbove {
                    value: button.long_press_ms as f64,
                    other: "debounce_ms",
                    other_value: button.debounce_ms as f64,
                };
                return Err(self.invalid(&key.child("long_press_ms"), problem));
            }
        }
        for (name, bumper) in &config.bumpers {
            let key = Key::root("bumpers").child(name);
            self.gpio(&key.child("pin"), bumper.pin)?;
            let [from, to] = bumper.arc.map(f64::from);
            let turn = (-180.0, 180.0);
            self.within(&key.child("arc"), from, turn, " degrees")?;
            self.within(&key.child("arc"), to, turn, " degrees")?;
            if to <= from {
                let problem = Problem::NotForThisDevice(
                    "an arc goes counter-clockwise: `[from, to]` with `to` above `from`",
                );
                return Err(self.invalid(&key.child("arc"), problem));
            }
        }
        for (name, led) in &config.leds {
            self.gpio(&Key::root("leds").child(name).child("pin"), led.pin)?;
        }
        for (name, servo) in &config.servos {
            let key = Key::root("servos").child(name);
            self.pwm(&key.child("pwm"), servo.pwm, SERVO_HZ)?;
            self.finite(&key.child("min_angle"), f64::from(servo.min_angle))?;
            self.finite(&key.child("max_angle"), f64::from(servo.max_angle))?;
            if servo.max_angle <= servo.min_angle {
                let problem = Problem::NotAbove {
                    value: f64::from(servo.max_angle),
                    other: "min_angle",
                    other_value: f64::from(servo.min_angle),
                };
                return Err(self.invalid(&key.child("max_angle"), problem));
            }
            self.positive(&key.child("min_pulse_us"), f64::from(servo.min_pulse_us))?;
            if servo.max_pulse_us <= servo.min_pulse_us {
                let problem = Problem::NotAbove {
                    value: f64::from(servo.max_pulse_us),
                    other: "min_pulse_us",
                    other_value: f64::from(servo.min_pulse_us),
                };
                return Err(self.invalid(&key.child("max_pulse_us"), problem));
            }
            if servo.max_pulse_us >= SERVO_FRAME_US {
                let problem = Problem::AboveRange {
                    value: u64::from(servo.max_pulse_us),
                    max: u64::from(SERVO_FRAME_US - 1),
                    device: "50 Hz servo frame",
                };
                return Err(self.invalid(&key.child("max_pulse_us"), problem));
            }
        }
        if let Some(imu) = &config.imu {
            let key = Key::root("imu");
            if !matches!(imu.address, 0x68 | 0x69) {
                let problem = Problem::DoesNotExist {
                    what: "MPU-6050 address",
                    value: u64::from(imu.address),
                    valid: "0x68, or 0x69 with AD0 high",
                };
                return Err(self.invalid(&key.child("address"), problem));
            }
            self.positive_ms(&key.child("period_ms"), imu.period_ms)?;
            self.i2c(&key, imu.bus, imu.address, "MPU-6050")?;
        }
        self.battery(config)?;
        self.adc(config)?;
        if let Some(encoders) = &config.encoders {
            let key = Key::root("encoders");
            for (side, pins) in [("left", &encoders.left), ("right", &encoders.right)] {
                let key = key.child(side);
                self.gpio(&key.child("a"), pins.a)?;
                if let Some(b) = pins.b {
                    self.gpio(&key.child("b"), b)?;
                }
            }
            self.positive(&key.child("lines"), f64::from(encoders.lines))?;
            let size = (0.001, MAX_MOUNT_M);
            let diameter = f64::from(encoders.wheel_diameter);
            self.within(&key.child("wheel_diameter"), diameter, size, " m")?;
            self.within(
                &key.child("wheel_base"),
                f64::from(encoders.wheel_base),
                size,
                " m",
            )?;
            self.positive_ms(&key.child("period_ms"), encoders.period_ms)?;
        }
        Ok(())
    }

    fn drive(&mut self, config: &RobotConfig) -> Result<(), ConfigError> {
        let drive = &config.drive;
        let key = Key::root("drive");
        self.positive_ms(&key.child("watchdog_ms"), drive.watchdog_ms)?;
        if let Some(ramp) = drive.ramp_per_second {
            self.positive(&key.child("ramp_per_second"), f64::from(ramp))?;
        }
        self.positive(&key.child("pwm_hz"), f64::from(drive.pwm_hz))?;
        let on_pca9685 = [&drive.left, &drive.right]
            .iter()
            .any(|m| matches!(m.pwm, PwmWiring::Pca9685 { .. }));
        if on_pca9685 {
            let (min, max) = PCA9685_HZ;
            if !(min..=max).contains(&drive.pwm_hz) {
                let problem = Problem::OutsideRange {
                    value: f64::from(drive.pwm_hz),
                    min: f64::from(min),
                    max: f64::from(max),
                    unit: " Hz (a PCA9685's range)",
                };
                return Err(self.invalid(&key.child("pwm_hz"), problem));
            }
        }
        self.motor(&key.child("left"), &drive.left, drive.pwm_hz)?;
        // Both motors of one TB6612FNG share its STBY pin.
        let shared_standby =
            drive.left.standby.is_some() && drive.left.standby == drive.right.standby;
        if shared_standby {
            let right = MotorWiring {
                standby: None,
                ..drive.right.clone()
            };
            self.motor(&key.child("right"), &right, drive.pwm_hz)
        } else {
            self.motor(&key.child("right"), &drive.right, drive.pwm_hz)
        }
    }

    fn motor(&mut self, key: &Key, motor: &MotorWiring, pwm_hz: u32) -> Result<(), ConfigError> {
        self.gpio(&key.child("in1"), motor.in1)?;
        self.gpio(&key.child("in2"), motor.in2)?;
        self.pwm(&key.child("pwm"), motor.pwm, pwm_hz)?;
        if let Some(standby) = motor.standby {
            let key = key.child("standby");
            if motor.bridge == BridgeKind::L298n {
                let problem = Problem::NotForThisDevice(
                    "an L298N has no STBY pin (`standby` is for a TB6612FNG)",
                );
                return Err(self.invalid(&key, problem));
            }
            self.gpio(&key, standby)?;
        }
        Ok(())
    }

    fn battery(&mut self, config: &RobotConfig) -> Result<(), ConfigError> {
        let Some(battery) = &config.battery else {
            return Ok(());
        };
        let key = Key::root("battery");
        if !(0x40..=0x4F).contains(&battery.address) {
            let problem = Problem::DoesNotExist {
                what: "INA219 address",
                value: u64::from(battery.address),
                valid: "0x40-0x4F, set by A0 and A1",
            };
            return Err(self.invalid(&key.child("address"), problem));
        }
        self.positive(&key.child("shunt_ohms"), f64::from(battery.shunt_ohms))?;
        self.positive_ms(&key.child("period_ms"), battery.period_ms)?;
        let volts = (0.0, INA219_MAX_V);
        // As written in the file (6.6, not the f32's 6.599999904632568).
        let decimal = |v: f32| v.to_string().parse().unwrap_or(f64::from(v));
        let warn = decimal(battery.warn_below);
        let safe = decimal(battery.safe_below);
        self.within(&key.child("warn_below"), warn, volts, " V")?;
        self.positive(&key.child("safe_below"), safe)?;
        if warn <= safe {
            let problem = Problem::NotAbove {
                value: warn,
                other: "safe_below",
                other_value: safe,
            };
            return Err(self.invalid(&key.child("warn_below"), problem));
        }
        self.i2c(&key, battery.bus, battery.address, "INA219")
    }

    fn adc(&mut self, config: &RobotConfig) -> Result<(), ConfigError> {
        if let Some(adc) = &config.adc {
            let key = Key::root("adc");
            let chip_selects = match adc.bus {
                0 | 3..=6 => 2,
                1 => 3,
                bus => {
                    let problem = Problem::DoesNotExist {
                        what: "SPI bus",
                        value: u64::from(bus),
                        valid: "0 or 1; 3-6 with their overlays on a Pi 4",
                    };
                    return Err(self.invalid(&key.child("bus"), problem));
                }
            };
            if adc.chip_select >= chip_selects {
                let problem = Problem::DoesNotExist {
                    what: "chip select",
                    value: u64::from(adc.chip_select),
                    valid: if chip_selects == 3 {
                        "SPI1 has CE0-CE2"
                    } else {
                        "CE0 or CE1"
                    },
                };
                return Err(self.invalid(&key.child("chip_select"), problem));
            }
            if self.pi {
                // SPI0 and SPI1 on the header: the shared lines and the chip select in use.
                let (shared, ce): (&[(u8, &str)], &[u8]) = match adc.bus {
                    0 => (
                        &[(9, "SPI0 MISO"), (10, "SPI0 MOSI"), (11, "SPI0 SCLK")],
                        &[8, 7],
                    ),
                    1 => (
                        &[(19, "SPI1 MISO"), (20, "SPI1 MOSI"), (21, "SPI1 SCLK")],
                        &[18, 17, 16],
                    ),
                    _ => (&[], &[]),
                };
                for (gpio, role) in shared {
                    let role = Some((*role).to_owned());
                    self.claim_as(format!("GPIO {gpio}"), role, &key.child("bus"))?;
                }
                if let Some(gpio) = ce.get(usize::from(adc.chip_select)) {
                    let role = format!("SPI{} CE{}", adc.bus, adc.chip_select);
                    let key = key.child("chip_select");
                    self.claim_as(format!("GPIO {gpio}"), Some(role), &key)?;
                }
            }
        }
        if let Some(line) = &config.line_sensor {
            let key = Key::root("line_sensor");
            if config.adc.is_none() {
                return Err(self.invalid(&key, Problem::NeedsSection { section: "adc" }));
            }
            if line.channels.is_empty() {
                return Err(self.invalid(
                    &key.child("channels"),
                    Problem::NotForThisDevice("a line sensor needs at least one channel"),
                ));
            }
            for (i, &ch) in line.channels.iter().enumerate() {
                let key = key.child("channels").child(i);
                if ch > 7 {
                    let problem = Problem::DoesNotExist {
                        what: "MCP3008 channel",
                        value: u64::from(ch),
                        valid: "channels 0-7",
                    };
                    return Err(self.invalid(&key, problem));
                }
                self.claim(format!("ADC channel {ch}"), &key)?;
            }
            if u64::from(line.threshold) > MCP3008_MAX {
                let problem = Problem::AboveRange {
                    value: u64::from(line.threshold),
                    max: MCP3008_MAX,
                    device: "MCP3008",
                };
                return Err(self.invalid(&key.child("threshold"), problem));
            }
            self.positive_ms(&key.child("period_ms"), line.period_ms)?;
        }
        Ok(())
    }
}
