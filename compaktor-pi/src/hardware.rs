//! Opening what a robot file describes, on the backend it names: the simulated world (always
//! built), a Raspberry Pi (`rppal` feature) or any Linux board (`linux` feature).
//!
//! [`Hardware::open`] touches no pin: it picks the backend. Each device is opened when the
//! firmware asks for it by name ([`Hardware::led`], [`Hardware::sonar`], …), so a program opens
//! only what it uses — `blink` needs the LED, not the motors. Devices come back as boxed
//! [`crate::device`] trait objects, so firmware does not care which backend made them. The
//! per-backend openers live in `hardware/sim`, `hardware/rppal` and `hardware/linux`.

mod boards;
mod sim;

#[cfg(feature = "linux")]
mod linux;
#[cfg(feature = "rppal")]
mod rppal;

use std::time::Duration;

use crate::backend::OpenError;
use crate::config::{
    AdcConfig, BackendKind, BatteryConfig, BridgeKind, ButtonConfig, ImuConfig, MotorWiring,
    RobotConfig, ServoConfig, SonarConfig,
};
use crate::device::{
    Adc, DeviceError, DigitalOutput, EdgeSource, Imu, MotorDriver, PowerMonitor, RangeFinder,
    ServoDriver, WheelEncoder,
};
use crate::drivers::{Debouncer, L298n, NoPin, ServoLimits, Tb6612fng};
use crate::sim::World;

/// One backend's way of opening each kind of device; the robot file has been checked.
trait Opener: Send {
    /// The backend's name for errors.
    fn backend(&self) -> &'static str;
    /// One drive motor; `standby` is `false` when the other motor already drives the shared
    /// STBY pin.
    fn motor(
        &mut self,
        side: &str,
        wiring: &MotorWiring,
        standby: bool,
        pwm_hz: u32,
    ) -> Result<Box<dyn MotorDriver>, OpenError>;
    /// An HC-SR04.
    fn sonar(&mut self, name: &str, sonar: &SonarConfig)
    -> Result<Box<dyn RangeFinder>, OpenError>;
    /// A switch input (button, bumper) with its pull resistor towards the released level.
    fn switch(
        &mut self,
        gpio: u8,
        active_low: bool,
        label: &str,
    ) -> Result<Box<dyn EdgeSource>, OpenError>;
    /// A normally-closed contact on `gpio` (an E-stop): the simulated world is wired with it
    /// closed at rest, as a real one is, from the moment the hardware is opened; real
    /// backends have nothing to do.
    fn close_contact(&mut self, gpio: u8) {
        let _ = gpio;
    }
    /// A digital output.
    fn output(&mut self, gpio: u8, label: &str) -> Result<Box<dyn DigitalOutput>, OpenError>;
    /// A servo.
    fn servo(&mut self, name: &str, servo: &ServoConfig)
    -> Result<Box<dyn ServoDriver>, OpenError>;
    /// The MPU-6050 (initialised).
    fn imu(&mut self, imu: &ImuConfig) -> Result<Box<dyn Imu>, OpenError>;
    /// The MCP3008.
    fn adc(&mut self, adc: &AdcConfig) -> Result<Box<dyn Adc>, OpenError>;
    /// The INA219 battery monitor (reset and checked).
    fn battery(&mut self, battery: &BatteryConfig) -> Result<Box<dyn PowerMonitor>, OpenError>;
}

/// The two drive motors, `(left, right)`.
pub type DriveMotors = (Box<dyn MotorDriver>, Box<dyn MotorDriver>);

/// A robot's hardware on its backend, opening each device when asked for it.
///
/// # Examples
///
/// ```
/// use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
/// use compaktor_pi::hardware::Hardware;
/// use compaktor_pi::sim::{World, WorldConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = RobotConfig::from_toml(STARTER_ROBOT)?;
/// let world = World::new(WorldConfig::arena(1));
/// let mut hardware = Hardware::open(&config, Some(&world))?;
/// let mut led = hardware.led("status")?; // only the LED's pin is opened
/// led.set(true)?;
/// assert!(world.snapshot().led);
/// assert!(hardware.led("warning").is_err()); // not in the file
/// # Ok(()) }
/// ```
pub struct Hardware {
    config: RobotConfig,
    opener: Box<dyn Opener>,
}

impl std::fmt::Debug for Hardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hardware")
            .field("robot", &self.config.name)
            .field("backend", &self.opener.backend())
            .finish_non_exhaustive()
    }
}

/// `setup("motor left", "sim")`: a device that failed while being set up, as an [`OpenError`].
fn setup<'a>(device: &'a str, backend: &'static str) -> impl Fn(DeviceError) -> OpenError + 'a {
    move |e| OpenError::new(backend, device, e)
}

impl Hardware {
    /// Checks `config` ([`RobotConfig::validate`]: a description built in code has not been
    /// checked yet) and picks its backend; opens no device. `world` is needed (and only used)
    /// for `sim`.
    ///
    /// # Errors
    /// [`OpenError`] for a robot description that does not pass its checks, a backend that was
    /// not compiled in, or `sim` without a world.
    pub fn open(config: &RobotConfig, world: Option<&World>) -> Result<Hardware, OpenError> {
        // Hardware safety: nothing is opened for a description that has not been checked.
        config
            .validate()
            .map_err(|e| OpenError::new(config.backend.name(), "the robot", e))?;
        let mut opener: Box<dyn Opener> = match (config.backend, world) {
            (BackendKind::Sim, Some(world)) => Box::new(sim::SimOpener::new(world.clone())),
            (BackendKind::Sim, None) => {
                return Err(OpenError::new(
                    "sim",
                    "the simulated world",
                    "no world was given",
                ));
            }
            #[cfg(feature = "rppal")]
            (BackendKind::Rppal, _) => Box::new(rppal::RppalOpener::new(config.pwm_chip)),
            #[cfg(feature = "linux")]
            (BackendKind::Linux, _) => Box::new(linux::LinuxOpener::new(
                config.gpio_chip.clone(),
                config.pwm_chip,
            )),
            #[allow(unreachable_patterns)]
            (other, _) => {
                return Err(OpenError::new(
                    other.name(),
                    "the backend",
                    format!(
                        "it is not compiled in; build with `--features {}`",
                        other.name()
                    ),
                ));
            }
        };
        for button in config.buttons.values().filter(|b| b.normally_closed) {
            opener.close_contact(button.pin);
        }
        Ok(Hardware {
            config: config.clone(),
            opener,
        })
    }

    /// The robot file this hardware was opened from.
    pub fn config(&self) -> &RobotConfig {
        &self.config
    }

    fn missing(&self, device: String, section: String) -> OpenError {
        OpenError::new(
            self.opener.backend(),
            device,
            format!("the robot file has no `[{section}]`"),
        )
    }

    /// Opens both drive motors: `(left, right)`, at the file's `drive.pwm_hz`.
    ///
    /// # Errors
    /// [`OpenError`] naming the pin or channel that could not be opened.
    pub fn drive(&mut self) -> Result<DriveMotors, OpenError> {
        let drive = &self.config.drive;
        let left = self.opener.motor("left", &drive.left, true, drive.pwm_hz)?;
        let shared_standby =
            drive.left.standby.is_some() && drive.left.standby == drive.right.standby;
        let right = self
            .opener
            .motor("right", &drive.right, !shared_standby, drive.pwm_hz)?;
        Ok((left, right))
    }

    /// Opens the HC-SR04 `[sonars.<name>]`.
    ///
    /// # Errors
    /// [`OpenError`] if the file has no such sonar or its pins cannot be opened.
    pub fn sonar(&mut self, name: &str) -> Result<Box<dyn RangeFinder>, OpenError> {
        let Some(sonar) = self.config.sonars.get(name) else {
            return Err(self.missing(format!("sonar {name}"), format!("sonars.{name}")));
        };
        self.opener.sonar(name, sonar)
    }

    /// Opens the button `[buttons.<name>]`, with the debouncer its settings describe.
    ///
    /// # Errors
    /// [`OpenError`] if the file has no such button or its pin cannot be opened.
    pub fn button(&mut self, name: &str) -> Result<(Box<dyn EdgeSource>, Debouncer), OpenError> {
        let Some(button) = self.config.buttons.get(name) else {
            return Err(self.missing(format!("button {name}"), format!("buttons.{name}")));
        };
        let source =
            self.opener
                .switch(button.pin, button.active_low, &format!("button {name}"))?;
        Ok((source, debouncer(button)))
    }

    /// Opens the bumper `[bumpers.<name>]`, with a debouncer (contact is a press).
    ///
    /// # Errors
    /// [`OpenError`] if the file has no such bumper or its pin cannot be opened.
    pub fn bumper(&mut self, name: &str) -> Result<(Box<dyn EdgeSource>, Debouncer), OpenError> {
        let Some(bumper) = self.config.bumpers.get(name) else {
            return Err(self.missing(format!("bumper {name}"), format!("bumpers.{name}")));
        };
        let source =
            self.opener
                .switch(bumper.pin, bumper.active_low, &format!("bumper {name}"))?;
        let debouncer = Debouncer::new(
            Duration::from_millis(BUMPER_DEBOUNCE_MS),
            Duration::from_secs(3600),
            bumper.active_low,
        );
        Ok((source, debouncer))
    }

    /// Opens the LED `[leds.<name>]`.
    ///
    /// # Errors
    /// [`OpenError`] if the file has no such LED or its pin cannot be opened.
    pub fn led(&mut self, name: &str) -> Result<Box<dyn DigitalOutput>, OpenError> {
        let Some(led) = self.config.leds.get(name) else {
            return Err(self.missing(format!("LED {name}"), format!("leds.{name}")));
        };
        self.opener.output(led.pin, &format!("led {name}"))
    }

    /// Opens the servo `[servos.<name>]`, with its angle limits.
    ///
    /// # Errors
    /// [`OpenError`] if the file has no such servo or its PWM cannot be opened.
    pub fn servo(&mut self, name: &str) -> Result<(Box<dyn ServoDriver>, ServoLimits), OpenError> {
        let Some(servo) = self.config.servos.get(name) else {
            return Err(self.missing(format!("servo {name}"), format!("servos.{name}")));
        };
        let limits = servo_limits(servo);
        Ok((self.opener.servo(name, servo)?, limits))
    }

    /// Opens both wheel encoders of `[encoders]`: `[left, right]`. Each channel is an input
    /// with its pull-up on (optical encoders often have open-collector outputs).
    ///
    /// # Errors
    /// [`OpenError`] if the file has no `[encoders]` or a pin cannot be opened.
    pub fn encoders(&mut self) -> Result<[WheelEncoder; 2], OpenError> {
        let Some(encoders) = self.config.encoders.clone() else {
            return Err(self.missing("encoders".into(), "encoders".into()));
        };
        let mut open = |side: &str, pins: crate::config::EncoderWiring| {
            let a = self
                .opener
                .switch(pins.a, true, &format!("encoder {side} A"))?;
            let b = match pins.b {
                Some(b) => Some(self.opener.switch(b, true, &format!("encoder {side} B"))?),
                None => None,
            };
            Ok::<_, OpenError>(WheelEncoder { a, b })
        };
        Ok([open("left", encoders.left)?, open("right", encoders.right)?])
    }

    /// Opens and initialises the `[imu]`.
    ///
    /// # Errors
    /// [`OpenError`] if the file has none, or it cannot be opened or does not answer.
    pub fn imu(&mut self) -> Result<Box<dyn Imu>, OpenError> {
        let Some(imu) = &self.config.imu else {
            return Err(self.missing("imu".into(), "imu".into()));
        };
        self.opener.imu(imu)
    }

    /// Opens the `[adc]`.
    ///
    /// # Errors
    /// [`OpenError`] if the file has none or its SPI device cannot be opened.
    pub fn adc(&mut self) -> Result<Box<dyn Adc>, OpenError> {
        let Some(adc) = &self.config.adc else {
            return Err(self.missing("adc".into(), "adc".into()));
        };
        self.opener.adc(adc)
    }

    /// Opens the `[battery]` monitor (an INA219), reset and checked. Hand it to a
    /// [`Battery`](crate::actors::Battery) with the file's policy
    /// ([`BatteryPolicy::from_config`](crate::actors::BatteryPolicy::from_config)).
    ///
    /// # Errors
    /// [`OpenError`] if the file has none, or it cannot be opened or does not answer as an
    /// INA219.
    pub fn battery(&mut self) -> Result<Box<dyn PowerMonitor>, OpenError> {
        let Some(battery) = &self.config.battery else {
            return Err(self.missing("battery".into(), "battery".into()));
        };
        self.opener.battery(battery)
    }
}

/// Bumper contacts closer than this are bounce.
const BUMPER_DEBOUNCE_MS: u64 = 10;

/// The button's debouncer. Pressed is low when the contact to ground (`active_low`) closes on a
/// press; a normally-closed contact opens on a press, so pressed is the other level.
fn debouncer(b: &ButtonConfig) -> Debouncer {
    Debouncer::new(
        Duration::from_millis(b.debounce_ms),
        Duration::from_millis(b.long_press_ms),
        b.active_low != b.normally_closed,
    )
}

fn servo_limits(s: &ServoConfig) -> ServoLimits {
    ServoLimits {
        min_angle_deg: s.min_angle,
        max_angle_deg: s.max_angle,
        min_pulse_us: s.min_pulse_us,
        max_pulse_us: s.max_pulse_us,
    }
}

/// The bridge `wiring` names, on opened pins; `stby` is `None` for an L298N or a TB6612FNG
/// whose STBY is not wired (or driven by the other motor).
fn bridge<I1, I2, P, S>(
    wiring: &MotorWiring,
    in1: I1,
    in2: I2,
    pwm: P,
    stby: Option<S>,
) -> Result<Box<dyn MotorDriver>, DeviceError>
where
    I1: embedded_hal::digital::OutputPin + Send + 'static,
    I2: embedded_hal::digital::OutputPin + Send + 'static,
    P: embedded_hal::pwm::SetDutyCycle + Send + 'static,
    S: embedded_hal::digital::OutputPin + Send + 'static,
{
    Ok(match (wiring.bridge, stby) {
        (BridgeKind::L298n, _) => Box::new(L298n::new(in1, in2, pwm)?),
        (BridgeKind::Tb6612fng, Some(stby)) => Box::new(Tb6612fng::new(in1, in2, pwm, stby)?),
        (BridgeKind::Tb6612fng, None) => Box::new(Tb6612fng::new(in1, in2, pwm, NoPin)?),
    })
}

#[cfg(test)]
mod tests;
