//! Opening a robot file's devices on a Raspberry Pi through rppal. Hardware PWM channels are
//! opened on the PWM chip the file names (`pwm_chip`), else on the chip found by its
//! device-tree label under `/sys/class/pwm`, else where rppal expects it; motors and servos map
//! channels the same way ([`SimplePwm`]).

use embedded_hal::pwm::SetDutyCycle;

use super::boards::{AnyPwm, Boards};
use super::{Opener, bridge, setup};
use crate::backend::rppal as pi;
use crate::backend::sysfs_pwm::{PI_PWM_CHIPS, SYSFS_PWM, find_pwm_chip};
use crate::backend::{OpenError, PinError};
use crate::config::{
    AdcConfig, BatteryConfig, ImuConfig, MotorWiring, PwmWiring, ServoConfig, SonarConfig,
};
use crate::device::{
    Adc, DigitalOutput, EdgeSource, Imu, MotorDriver, PowerMonitor, RangeFinder, ServoDriver,
};
use crate::drivers::{EdgeDevice, HcSr04, Ina219, Mcp3008, Mpu6050, Output, PwmServo, TokioDelay};
use crate::hal::PwmOutput;

const BACKEND: &str = "rppal";

pub(super) struct RppalOpener {
    pwm_chip: Option<u8>,
    boards: Boards<::rppal::i2c::I2c>,
}

impl RppalOpener {
    pub(super) fn new(pwm_chip: Option<u8>) -> Self {
        RppalOpener {
            pwm_chip: pwm_chip.or_else(|| find_pwm_chip(SYSFS_PWM.as_ref(), PI_PWM_CHIPS)),
            boards: Boards::default(),
        }
    }

    /// The PWM `wiring` names, at `hz`: the one mapping of channels for motors and servos.
    fn pwm(&mut self, wiring: PwmWiring, hz: u32, label: &str) -> Result<Pwm, OpenError> {
        Ok(AnyPwm::Own(match (wiring, self.pwm_chip) {
            (PwmWiring::Hardware { channel }, Some(chip)) => {
                SimplePwm::Hardware(pi::hardware_pwm_on_chip(chip, channel, hz, label)?)
            }
            (PwmWiring::Hardware { channel }, None) => {
                let channel = match channel {
                    0 => pi::Channel::Pwm0,
                    1 => pi::Channel::Pwm1,
                    2 => pi::Channel::Pwm2,
                    3 => pi::Channel::Pwm3,
                    n => {
                        return Err(OpenError::new(
                            BACKEND,
                            label,
                            format!("hardware PWM channel {n} does not exist (0-3)"),
                        ));
                    }
                };
                SimplePwm::Hardware(pi::hardware_pwm(channel, hz, label)?)
            }
            (PwmWiring::Software { pin }, _) => SimplePwm::Software(pi::soft_pwm(pin, hz, label)?),
            (
                PwmWiring::Pca9685 {
                    address,
                    channel,
                    bus,
                },
                _,
            ) => {
                let open_bus = |bus| pi::i2c(bus, label);
                let pwm =
                    (self.boards).channel(BACKEND, (bus, address, channel), hz, label, open_bus)?;
                return Ok(AnyPwm::Board(pwm));
            }
        }))
    }
}

/// What motors and servos run on: the Pi's PWM, or a PCA9685's channel.
type Pwm = AnyPwm<SimplePwm, ::rppal::i2c::I2c>;

/// Hardware or software PWM, so one driver type takes either.
enum SimplePwm {
    Hardware(pi::HardwarePwm),
    Software(pi::SoftPwm),
}

impl embedded_hal::pwm::ErrorType for SimplePwm {
    type Error = PinError;
}

impl SetDutyCycle for SimplePwm {
    fn max_duty_cycle(&self) -> u16 {
        match self {
            SimplePwm::Hardware(p) => p.max_duty_cycle(),
            SimplePwm::Software(p) => p.max_duty_cycle(),
        }
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), PinError> {
        match self {
            SimplePwm::Hardware(p) => p.set_duty_cycle(duty),
            SimplePwm::Software(p) => p.set_duty_cycle(duty),
        }
    }
}

impl PwmOutput for SimplePwm {
    fn set_frequency(&mut self, hz: u32) -> Result<(), PinError> {
        match self {
            SimplePwm::Hardware(p) => p.set_frequency(hz),
            SimplePwm::Software(p) => p.set_frequency(hz),
        }
    }

    fn frequency(&self) -> u32 {
        match self {
            SimplePwm::Hardware(p) => p.frequency(),
            SimplePwm::Software(p) => p.frequency(),
        }
    }
}

impl Opener for RppalOpener {
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
        let in1 = pi::output_pin(w.in1, &label("in1"))?;
        let in2 = pi::output_pin(w.in2, &label("in2"))?;
        let pwm = self.pwm(w.pwm, pwm_hz, &label("pwm"))?;
        let stby = match w.standby.filter(|_| standby) {
            Some(pin) => Some(pi::output_pin(pin, &label("stby"))?),
            None => None,
        };
        bridge(w, in1, in2, pwm, stby).map_err(setup(&label("bridge"), BACKEND))
    }

    fn sonar(&mut self, name: &str, s: &SonarConfig) -> Result<Box<dyn RangeFinder>, OpenError> {
        let trigger = pi::output_pin(s.trigger, &format!("sonar {name} trigger"))?;
        let echo = pi::edge_pin(s.echo, pi::Bias::Off, None, &format!("sonar {name} echo"))?;
        Ok(Box::new(HcSr04::new(trigger, echo, TokioDelay)))
    }

    fn switch(
        &mut self,
        gpio: u8,
        active_low: bool,
        label: &str,
    ) -> Result<Box<dyn EdgeSource>, OpenError> {
        let bias = if active_low {
            pi::Bias::PullUp
        } else {
            pi::Bias::PullDown
        };
        Ok(Box::new(EdgeDevice::new(pi::edge_pin(
            gpio, bias, None, label,
        )?)))
    }

    fn output(&mut self, gpio: u8, label: &str) -> Result<Box<dyn DigitalOutput>, OpenError> {
        Ok(Box::new(Output::new(pi::output_pin(gpio, label)?)))
    }

    fn servo(&mut self, name: &str, s: &ServoConfig) -> Result<Box<dyn ServoDriver>, OpenError> {
        let label = format!("servo {name}");
        let pwm = self.pwm(s.pwm, PwmServo::<Pwm>::FREQUENCY_HZ, &label)?;
        let servo = PwmServo::with_pulse_range(pwm, s.min_pulse_us, s.max_pulse_us)
            .map_err(setup(&label, BACKEND))?;
        Ok(Box::new(servo))
    }

    fn imu(&mut self, i: &ImuConfig) -> Result<Box<dyn Imu>, OpenError> {
        let mut imu = Mpu6050::with_address(pi::i2c(i.bus, "imu")?, i.address);
        imu.init().map_err(setup("imu", BACKEND))?;
        Ok(Box::new(imu))
    }

    fn adc(&mut self, a: &AdcConfig) -> Result<Box<dyn Adc>, OpenError> {
        // The robot file was checked: the bus and chip select exist.
        let bus = match a.bus {
            0 => pi::Bus::Spi0,
            1 => pi::Bus::Spi1,
            3 => pi::Bus::Spi3,
            4 => pi::Bus::Spi4,
            5 => pi::Bus::Spi5,
            _ => pi::Bus::Spi6,
        };
        let ss = match a.chip_select {
            0 => pi::SlaveSelect::Ss0,
            1 => pi::SlaveSelect::Ss1,
            _ => pi::SlaveSelect::Ss2,
        };
        let spi = pi::spi(bus, ss, 1_000_000, pi::Mode::Mode0, "adc")?;
        Ok(Box::new(Mcp3008::new(spi)))
    }

    fn battery(&mut self, b: &BatteryConfig) -> Result<Box<dyn PowerMonitor>, OpenError> {
        let monitor = Ina219::new(pi::i2c(b.bus, "battery")?, b.address, b.shunt_ohms)
            .map_err(setup("battery", BACKEND))?;
        Ok(Box::new(monitor))
    }
}
