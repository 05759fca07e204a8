//! Opening a robot file's devices on any Linux board: GPIO lines found by name or chip label
//! (gpiocdev), hardware PWM through the kernel's sysfs interface, I2C and SPI device nodes.

use super::boards::{AnyPwm, Boards};
use super::{Opener, bridge, setup};
use crate::backend::OpenError;
use crate::backend::linux as board;
use crate::backend::sysfs_pwm::{PI_PWM_CHIPS, SYSFS_PWM, SysfsPwm, find_pwm_chip};
use crate::config::{
    AdcConfig, BatteryConfig, ImuConfig, MotorWiring, PwmWiring, ServoConfig, SonarConfig,
};
use crate::device::{
    Adc, DigitalOutput, EdgeSource, Imu, MotorDriver, PowerMonitor, RangeFinder, ServoDriver,
};
use crate::drivers::{EdgeDevice, HcSr04, Ina219, Mcp3008, Mpu6050, Output, PwmServo, TokioDelay};
use linux_embedded_hal::I2cdev;

const BACKEND: &str = "linux";

pub(super) struct LinuxOpener {
    gpio_chip: Option<String>,
    pwm_chip: Option<u8>,
    boards: Boards<I2cdev>,
}

/// What motors and servos run on: the kernel's PWM, or a PCA9685's channel.
type Pwm = AnyPwm<SysfsPwm, I2cdev>;

impl LinuxOpener {
    pub(super) fn new(gpio_chip: Option<String>, pwm_chip: Option<u8>) -> Self {
        LinuxOpener {
            gpio_chip,
            pwm_chip,
            boards: Boards::default(),
        }
    }

    fn output_line(&self, gpio: u8, label: &str) -> Result<board::LineOutput, OpenError> {
        let (chip, offset) = board::find_line(self.gpio_chip.as_deref(), gpio, label)?;
        board::output_line(chip, offset, label)
    }

    fn input_line(
        &self,
        gpio: u8,
        bias: Option<board::Bias>,
        label: &str,
    ) -> Result<board::LineInput, OpenError> {
        let (chip, offset) = board::find_line(self.gpio_chip.as_deref(), gpio, label)?;
        board::edge_line(chip, offset, bias, None, label)
    }

    /// The PWM `wiring` names, at `hz`: the one mapping of channels for motors and servos.
    fn pwm(&mut self, wiring: PwmWiring, hz: u32, label: &str) -> Result<Pwm, OpenError> {
        let channel = match wiring {
            PwmWiring::Hardware { channel } => channel,
            PwmWiring::Pca9685 {
                address,
                channel,
                bus,
            } => {
                let open_bus = |bus| board::i2c(format!("/dev/i2c-{bus}"), label);
                let pwm =
                    (self.boards).channel(BACKEND, (bus, address, channel), hz, label, open_bus)?;
                return Ok(AnyPwm::Board(pwm));
            }
            PwmWiring::Software { pin } => {
                return Err(OpenError::new(
                    BACKEND,
                    format!("GPIO {pin} ({label})"),
                    "the linux backend has no software PWM; use a hardware PWM channel",
                ));
            }
        };
        let root = std::path::Path::new(SYSFS_PWM);
        let chip = self
            .pwm_chip
            .or_else(|| find_pwm_chip(root, PI_PWM_CHIPS))
            .ok_or_else(|| {
                OpenError::new(
                    BACKEND,
                    format!("PWM channel {channel} ({label})"),
                    "no PWM chip is known on this board; set `pwm_chip` in the robot file",
                )
            })?;
        SysfsPwm::open(root, chip, channel, hz, label).map(AnyPwm::Own)
    }
}

impl Opener for LinuxOpener {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn motor(
        &mut self,
        side: &str,
        w: &MotorWiring,
        standby: bool,
        pwm_hz: u32,
    ) -> Result<Box<dyn MotorDriver>, OpenError> {
        let label = |pin: &str| format!("motor {side} {pin}");
        let in1 = self.output_line(w.in1, &label("in1"))?;
        let in2 = self.output_line(w.in2, &label("in2"))?;
        let pwm = self.pwm(w.pwm, pwm_hz, &label("pwm"))?;
        let stby = match w.standby.filter(|_| standby) {
            Some(pin) => Some(self.output_line(pin, &label("stby"))?),
            None => None,
        };
        bridge(w, in1, in2, pwm, stby).map_err(setup(&label("bridge"), BACKEND))
    }

    fn sonar(&mut self, name: &str, s: &SonarConfig) -> Result<Box<dyn RangeFinder>, OpenError> {
        let trigger = self.output_line(s.trigger, &format!("sonar {name} trigger"))?;
        let echo = self.input_line(s.echo, None, &format!("sonar {name} echo"))?;
        Ok(Box::new(HcSr04::new(trigger, echo, TokioDelay)))
    }

    fn switch(
        &mut self,
        gpio: u8,
        active_low: bool,
        label: &str,
    ) -> Result<Box<dyn EdgeSource>, OpenError> {
        let bias = if active_low {
            board::Bias::PullUp
        } else {
            board::Bias::PullDown
        };
        Ok(Box::new(EdgeDevice::new(self.input_line(
            gpio,
            Some(bias),
            label,
        )?)))
    }

    fn output(&mut self, gpio: u8, label: &str) -> Result<Box<dyn DigitalOutput>, OpenError> {
        Ok(Box::new(Output::new(self.output_line(gpio, label)?)))
    }

    fn servo(&mut self, name: &str, s: &ServoConfig) -> Result<Box<dyn ServoDriver>, OpenError> {
        let label = format!("servo {name}");
        let pwm = self.pwm(s.pwm, PwmServo::<Pwm>::FREQUENCY_HZ, &label)?;
        let servo = PwmServo::with_pulse_range(pwm, s.min_pulse_us, s.max_pulse_us)
            .map_err(setup(&label, BACKEND))?;
        Ok(Box::new(servo))
    }

    fn imu(&mut self, i: &ImuConfig) -> Result<Box<dyn Imu>, OpenError> {
        let bus = board::i2c(format!("/dev/i2c-{}", i.bus), "imu")?;
        let mut imu = Mpu6050::with_address(bus, i.address);
        imu.init().map_err(setup("imu", BACKEND))?;
        Ok(Box::new(imu))
    }

    fn adc(&mut self, a: &AdcConfig) -> Result<Box<dyn Adc>, OpenError> {
        let path = format!("/dev/spidev{}.{}", a.bus, a.chip_select);
        let spi = board::spi(path, 1_000_000, board::SpiModeFlags::SPI_MODE_0, "adc")?;
        Ok(Box::new(Mcp3008::new(spi)))
    }

    fn battery(&mut self, b: &BatteryConfig) -> Result<Box<dyn PowerMonitor>, OpenError> {
        let bus = board::i2c(format!("/dev/i2c-{}", b.bus), "battery")?;
        let monitor =
            Ina219::new(bus, b.address, b.shunt_ohms).map_err(setup("battery", BACKEND))?;
        Ok(Box::new(monitor))
    }
}
