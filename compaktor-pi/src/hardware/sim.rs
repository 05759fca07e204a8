//! Opening a robot file's devices in the simulated world, through the pins the file names: a
//! device wired where the simulated robot has nothing finds nothing there (an output that
//! drives nothing, an input that never changes), so a wiring mistake shows up in simulation as
//! it would on the robot. The world's wiring is [`World::gpio_input`]'s.

use super::boards::{AnyPwm, Boards};
use super::{Opener, bridge, setup};
use crate::backend::OpenError;
use crate::config::{
    AdcConfig, BatteryConfig, ImuConfig, MotorWiring, PwmWiring, ServoConfig, SonarConfig,
};
use crate::device::{
    Adc, DigitalOutput, EdgeSource, Imu, MotorDriver, PowerMonitor, RangeFinder, ServoDriver,
};
use crate::drivers::{EdgeDevice, HcSr04, Ina219, Mcp3008, Mpu6050, Output, PwmServo, TokioDelay};
use crate::hal::PwmOutput;
use crate::sim::{SimEdgeInput, SimI2c, SimOutputPin, SimPwm, World};

pub(super) struct SimOpener {
    world: World,
    boards: Boards<SimI2c>,
}

impl SimOpener {
    pub(super) fn new(world: World) -> Self {
        SimOpener {
            world,
            boards: Boards::default(),
        }
    }

    fn output_pin(&self, gpio: u8, label: &str) -> SimOutputPin {
        self.world.gpio_output(gpio).unwrap_or_else(|| {
            tracing::warn!("sim: GPIO {gpio} ({label}) is wired to nothing on the simulated robot");
            SimOutputPin::unconnected()
        })
    }

    fn input_pin(&self, gpio: u8, idle: bool, label: &str) -> SimEdgeInput {
        self.world.gpio_input(gpio).unwrap_or_else(|| {
            tracing::warn!("sim: GPIO {gpio} ({label}) is wired to nothing on the simulated robot");
            SimEdgeInput::unconnected(idle)
        })
    }

    /// The PWM `wiring` names, at `hz`: a line of the simulated robot, or a channel of a
    /// simulated PCA9685 (which must answer on the bus, as on a robot).
    fn pwm(
        &mut self,
        wiring: PwmWiring,
        hz: u32,
        label: &str,
    ) -> Result<AnyPwm<SimPwm, SimI2c>, OpenError> {
        let (pwm, what) = match wiring {
            PwmWiring::Hardware { channel } => (
                self.world.pwm_channel(channel),
                format!("PWM channel {channel}"),
            ),
            PwmWiring::Software { pin } => (self.world.pwm_pin(pin), format!("GPIO {pin}")),
            PwmWiring::Pca9685 {
                address,
                channel,
                bus,
            } => {
                let world = &self.world;
                let open_bus = |_bus: u8| Ok(world.i2c());
                let pwm =
                    (self.boards).channel("sim", (bus, address, channel), hz, label, open_bus)?;
                return Ok(AnyPwm::Board(pwm));
            }
        };
        let mut pwm = pwm.unwrap_or_else(|| {
            tracing::warn!("sim: {what} ({label}) is wired to nothing on the simulated robot");
            SimPwm::unconnected()
        });
        pwm.set_frequency(hz)
            .map_err(|e| OpenError::new("sim", label.to_owned(), e))?;
        Ok(AnyPwm::Own(pwm))
    }
}

impl Opener for SimOpener {
    fn backend(&self) -> &'static str {
        "sim"
    }

    fn motor(
        &mut self,
        side: &str,
        w: &MotorWiring,
        _standby: bool,
        pwm_hz: u32,
    ) -> Result<Box<dyn MotorDriver>, OpenError> {
        let label = format!("motor {side}");
        let fail = setup(&label, "sim");
        let pwm = self.pwm(w.pwm, pwm_hz, &label)?;
        let in1 = self.output_pin(w.in1, &label);
        let in2 = self.output_pin(w.in2, &label);
        // The simulated robot has no STBY wire: a TB6612FNG is simulated as always enabled.
        bridge(w, in1, in2, pwm, None::<SimOutputPin>).map_err(fail)
    }

    fn sonar(&mut self, name: &str, s: &SonarConfig) -> Result<Box<dyn RangeFinder>, OpenError> {
        let label = format!("sonar {name}");
        let trigger = self.output_pin(s.trigger, &label);
        let echo = self.input_pin(s.echo, false, &label);
        Ok(Box::new(HcSr04::new(trigger, echo, TokioDelay)))
    }

    fn switch(
        &mut self,
        gpio: u8,
        active_low: bool,
        label: &str,
    ) -> Result<Box<dyn EdgeSource>, OpenError> {
        let pin = self.input_pin(gpio, active_low, label);
        Ok(Box::new(EdgeDevice::new(pin)))
    }

    fn close_contact(&mut self, gpio: u8) {
        if let Some(finger) = self.world.button_on(gpio) {
            let _closed = finger.normally_closed();
        }
    }

    fn output(&mut self, gpio: u8, label: &str) -> Result<Box<dyn DigitalOutput>, OpenError> {
        Ok(Box::new(Output::new(self.output_pin(gpio, label))))
    }

    fn servo(&mut self, name: &str, s: &ServoConfig) -> Result<Box<dyn ServoDriver>, OpenError> {
        let label = format!("servo {name}");
        let pwm = self.pwm(s.pwm, PwmServo::<SimPwm>::FREQUENCY_HZ, &label)?;
        let servo = PwmServo::with_pulse_range(pwm, s.min_pulse_us, s.max_pulse_us)
            .map_err(setup(&label, "sim"))?;
        Ok(Box::new(servo))
    }

    fn imu(&mut self, i: &ImuConfig) -> Result<Box<dyn Imu>, OpenError> {
        let mut imu = Mpu6050::with_address(self.world.imu(), i.address);
        imu.init().map_err(setup("imu", "sim"))?;
        Ok(Box::new(imu))
    }

    fn adc(&mut self, _: &AdcConfig) -> Result<Box<dyn Adc>, OpenError> {
        Ok(Box::new(Mcp3008::new(self.world.adc())))
    }

    fn battery(&mut self, b: &BatteryConfig) -> Result<Box<dyn PowerMonitor>, OpenError> {
        let monitor = Ina219::new(self.world.i2c(), b.address, b.shunt_ohms)
            .map_err(setup("battery", "sim"))?;
        Ok(Box::new(monitor))
    }
}
