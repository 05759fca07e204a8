//! Opening what a robot file describes, on the backend it names: the simulated world (always
//! built), a Raspberry Pi (`rppal` feature) or any Linux board (`linux` feature). Each device
//! comes back as a boxed [`crate::device`] trait object, so firmware does not care which.

use std::time::Duration;

use crate::backend::OpenError;
use crate::config::{BackendKind, RobotConfig};
use crate::device::{
    Adc, DeviceError, DigitalOutput, EdgeSource, Imu, MotorDriver, RangeFinder, ServoDriver,
};
use crate::drivers::{
    Debouncer, EdgeDevice, HcSr04, L298n, Mcp3008, Mpu6050, Output, Servo, ServoLimits, TokioDelay,
};
use crate::sim::{Side, World};

/// The opened devices of one robot.
pub struct Hardware {
    /// The left drive motor.
    pub left_motor: Box<dyn MotorDriver>,
    /// The right drive motor.
    pub right_motor: Box<dyn MotorDriver>,
    /// The distance sensor, if wired.
    pub ultrasonic: Option<Box<dyn RangeFinder>>,
    /// The button, if wired, with its debouncer.
    pub button: Option<(Box<dyn EdgeSource>, Debouncer)>,
    /// The LED, if wired.
    pub led: Option<Box<dyn DigitalOutput>>,
    /// The servo, if wired, with its angle limits.
    pub servo: Option<(Box<dyn ServoDriver>, ServoLimits)>,
    /// The IMU, if wired (initialised).
    pub imu: Option<Box<dyn Imu>>,
    /// The ADC, if wired.
    pub adc: Option<Box<dyn Adc>>,
}

impl std::fmt::Debug for Hardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hardware")
            .field("ultrasonic", &self.ultrasonic.is_some())
            .field("button", &self.button.is_some())
            .field("led", &self.led.is_some())
            .field("servo", &self.servo.is_some())
            .field("imu", &self.imu.is_some())
            .field("adc", &self.adc.is_some())
            .finish_non_exhaustive()
    }
}

/// A device that failed while being set up (after it was opened).
fn setup<'a>(device: &'a str, backend: &'static str) -> impl Fn(DeviceError) -> OpenError + 'a {
    move |e| OpenError::new(backend, device, e)
}

impl Hardware {
    /// Opens `config`'s devices on its backend. `world` is needed (and only used) for `sim`.
    ///
    /// # Errors
    /// [`OpenError`] naming the backend and the device that could not be opened: off a Pi,
    /// with a backend that was not compiled in, or for `sim` without a world.
    pub fn open(config: &RobotConfig, world: Option<&World>) -> Result<Hardware, OpenError> {
        match (config.backend, world) {
            (BackendKind::Sim, Some(world)) => Hardware::simulated(config, world),
            (BackendKind::Sim, None) => Err(OpenError::new(
                "sim",
                "the simulated world",
                "no world was given",
            )),
            #[cfg(feature = "rppal")]
            (BackendKind::Rppal, _) => real::rppal(config),
            #[cfg(feature = "linux")]
            (BackendKind::Linux, _) => real::linux(config),
            #[allow(unreachable_patterns)]
            (other, _) => Err(OpenError::new(
                backend_name(other),
                "the backend",
                format!(
                    "it is not compiled in; build with `--features {}`",
                    backend_name(other)
                ),
            )),
        }
    }

    /// The devices of `config`, simulated in `world`. Pin numbers are ignored: each device is
    /// bound to its role in the world. Both bridge kinds are simulated as an L298N.
    ///
    /// # Errors
    /// [`OpenError`] if a simulated device fails to set up (it should not).
    pub fn simulated(config: &RobotConfig, world: &World) -> Result<Hardware, OpenError> {
        let motor = |side| -> Result<Box<dyn MotorDriver>, OpenError> {
            let pins = world.motor_pins(side);
            let bridge =
                L298n::new(pins.in1, pins.in2, pins.enable).map_err(setup("motor", "sim"))?;
            Ok(Box::new(bridge))
        };
        let ultrasonic = config.ultrasonic.as_ref().map(|_| {
            let (trigger, echo) = world.ultrasonic();
            Box::new(HcSr04::new(trigger, echo, TokioDelay)) as Box<dyn RangeFinder>
        });
        let button = config.button.as_ref().map(|b| {
            let (pin, presser) = world.button();
            if b.normally_closed {
                let _closed = presser.normally_closed();
            }
            (
                Box::new(EdgeDevice::new(pin)) as Box<dyn EdgeSource>,
                debouncer(b),
            )
        });
        let servo = match &config.servo {
            Some(s) => {
                let limits = servo_limits(s);
                let driver = Servo::with_pulse_range(world.servo(), s.min_pulse_us, s.max_pulse_us)
                    .map_err(setup("servo", "sim"))?;
                Some((Box::new(driver) as Box<dyn ServoDriver>, limits))
            }
            None => None,
        };
        let imu = match &config.imu {
            Some(i) => {
                let mut imu = Mpu6050::with_address(world.imu(), i.address);
                imu.init().map_err(setup("imu", "sim"))?;
                Some(Box::new(imu) as Box<dyn Imu>)
            }
            None => None,
        };
        Ok(Hardware {
            left_motor: motor(Side::Left)?,
            right_motor: motor(Side::Right)?,
            ultrasonic,
            button,
            led: config
                .led
                .as_ref()
                .map(|_| Box::new(Output::new(world.led())) as Box<dyn DigitalOutput>),
            servo,
            imu,
            adc: config
                .adc
                .as_ref()
                .map(|_| Box::new(Mcp3008::new(world.adc())) as Box<dyn Adc>),
        })
    }
}

fn backend_name(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Sim => "sim",
        BackendKind::Rppal => "rppal",
        BackendKind::Linux => "linux",
    }
}

/// The button's debouncer. Pressed is low when the contact to ground (`active_low`) closes on a
/// press; a normally-closed contact opens on a press, so pressed is the other level.
fn debouncer(b: &crate::config::ButtonConfig) -> Debouncer {
    Debouncer::new(
        Duration::from_millis(b.debounce_ms),
        Duration::from_millis(b.long_press_ms),
        b.active_low != b.normally_closed,
    )
}

fn servo_limits(s: &crate::config::ServoConfig) -> ServoLimits {
    ServoLimits {
        min_angle_deg: s.min_angle,
        max_angle_deg: s.max_angle,
        min_pulse_us: s.min_pulse_us,
        max_pulse_us: s.max_pulse_us,
    }
}

#[cfg(any(feature = "rppal", feature = "linux"))]
mod real {
    //! The real backends: the same wiring, opened through rppal or the Linux character devices.

    use super::*;
    use crate::config::{BridgeKind, MotorWiring, PwmWiring};
    use crate::drivers::{NoPin, Tb6612fng};

    /// PWM frequency for DC motors.
    const MOTOR_PWM_HZ: u32 = 1_000;

    #[cfg(feature = "rppal")]
    pub(super) fn rppal(config: &RobotConfig) -> Result<Hardware, OpenError> {
        use crate::backend::rppal as pi;

        let motor = |w: &MotorWiring, side: &str| -> Result<Box<dyn MotorDriver>, OpenError> {
            let label = |pin: &str| format!("motor {side} {pin}");
            let in1 = pi::output_pin(w.in1, &label("in1"))?;
            let in2 = pi::output_pin(w.in2, &label("in2"))?;
            let fail = |e: DeviceError| OpenError::new("rppal", label("bridge"), e);
            macro_rules! bridge {
                ($pwm:expr) => {{
                    let pwm = $pwm;
                    match (w.bridge, w.standby) {
                        (BridgeKind::L298n, _) => {
                            Box::new(L298n::new(in1, in2, pwm).map_err(fail)?)
                                as Box<dyn MotorDriver>
                        }
                        (BridgeKind::Tb6612fng, Some(stby)) => {
                            let stby = pi::output_pin(stby, &label("stby"))?;
                            Box::new(Tb6612fng::new(in1, in2, pwm, stby).map_err(fail)?)
                        }
                        (BridgeKind::Tb6612fng, None) => {
                            Box::new(Tb6612fng::new(in1, in2, pwm, NoPin).map_err(fail)?)
                        }
                    }
                }};
            }
            Ok(match w.pwm {
                PwmWiring::Hardware { channel } => {
                    let channel = match channel {
                        0 => pi::Channel::Pwm0,
                        1 => pi::Channel::Pwm1,
                        n => {
                            return Err(OpenError::new(
                                "rppal",
                                label("pwm"),
                                format!("hardware PWM channel {n} does not exist (0 or 1)"),
                            ));
                        }
                    };
                    bridge!(pi::hardware_pwm(channel, MOTOR_PWM_HZ, &label("pwm"))?)
                }
                PwmWiring::Software { pin } => {
                    bridge!(pi::soft_pwm(pin, MOTOR_PWM_HZ, &label("pwm"))?)
                }
            })
        };
        let ultrasonic = match &config.ultrasonic {
            Some(u) => {
                let trigger = pi::output_pin(u.trigger, "ultrasonic trigger")?;
                let echo = pi::edge_pin(u.echo, pi::Bias::Off, None, "ultrasonic echo")?;
                Some(Box::new(HcSr04::new(trigger, echo, TokioDelay)) as Box<dyn RangeFinder>)
            }
            None => None,
        };
        let button = match &config.button {
            Some(b) => {
                let bias = if b.active_low {
                    pi::Bias::PullUp
                } else {
                    pi::Bias::PullDown
                };
                let pin = pi::edge_pin(b.pin, bias, None, "button")?;
                Some((
                    Box::new(EdgeDevice::new(pin)) as Box<dyn EdgeSource>,
                    debouncer(b),
                ))
            }
            None => None,
        };
        let led = match &config.led {
            Some(l) => {
                Some(Box::new(Output::new(pi::output_pin(l.pin, "led")?)) as Box<dyn DigitalOutput>)
            }
            None => None,
        };
        let servo = match &config.servo {
            Some(s) => {
                let fail = |e: DeviceError| OpenError::new("rppal", "servo", e);
                let driver: Box<dyn ServoDriver> = match s.pwm {
                    PwmWiring::Hardware { channel } => {
                        let channel = if channel == 0 {
                            pi::Channel::Pwm0
                        } else {
                            pi::Channel::Pwm1
                        };
                        let pwm = pi::hardware_pwm(channel, 50, "servo")?;
                        Box::new(
                            Servo::with_pulse_range(pwm, s.min_pulse_us, s.max_pulse_us)
                                .map_err(fail)?,
                        )
                    }
                    PwmWiring::Software { pin } => {
                        let pwm = pi::soft_pwm(pin, 50, "servo")?;
                        Box::new(
                            Servo::with_pulse_range(pwm, s.min_pulse_us, s.max_pulse_us)
                                .map_err(fail)?,
                        )
                    }
                };
                Some((driver, servo_limits(s)))
            }
            None => None,
        };
        let imu = match &config.imu {
            Some(i) => {
                let mut imu = Mpu6050::with_address(pi::i2c(i.bus, "imu")?, i.address);
                imu.init().map_err(|e| OpenError::new("rppal", "imu", e))?;
                Some(Box::new(imu) as Box<dyn Imu>)
            }
            None => None,
        };
        let adc = match &config.adc {
            Some(a) => {
                let bus = if a.bus == 0 {
                    pi::Bus::Spi0
                } else {
                    pi::Bus::Spi1
                };
                let ss = if a.chip_select == 0 {
                    pi::SlaveSelect::Ss0
                } else {
                    pi::SlaveSelect::Ss1
                };
                let spi = pi::spi(bus, ss, 1_000_000, pi::Mode::Mode0, "adc")?;
                Some(Box::new(Mcp3008::new(spi)) as Box<dyn Adc>)
            }
            None => None,
        };
        Ok(Hardware {
            left_motor: motor(&config.drive.left, "left")?,
            right_motor: motor(&config.drive.right, "right")?,
            ultrasonic,
            button,
            led,
            servo,
            imu,
            adc,
        })
    }

    #[cfg(feature = "linux")]
    pub(super) fn linux(config: &RobotConfig) -> Result<Hardware, OpenError> {
        // The Linux character devices give pins and buses but no PWM: the drive motors need
        // rppal (hardware PWM on a Pi) or a PCA9685, which this backend does not drive yet.
        let chip = config.gpio_chip.as_deref().unwrap_or("/dev/gpiochip0");
        Err(OpenError::new(
            "linux",
            format!("motor PWM on {chip}"),
            "the linux backend has no PWM output; use the rppal backend on a Pi",
        ))
    }
}
