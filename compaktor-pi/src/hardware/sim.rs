//! Opening a robot file's devices in the simulated world, through the pins the file names: a
//! device wired where the simulated robot has nothing finds nothing there (an output that
//! drives nothing, an input that never changes), so a wiring mistake shows up in simulation as
//! it would on the robot. The world's wiring is [`World::gpio_input`]'s.

use super::{Opener, bridge, setup};
use crate::backend::OpenError;
use crate::config::{AdcConfig, ImuConfig, MotorWiring, PwmWiring, ServoConfig, SonarConfig};
use crate::device::{Adc, DigitalOutput, EdgeSource, Imu, MotorDriver, RangeFinder, ServoDriver};
use crate::drivers::{EdgeDevice, HcSr04, Mcp3008, Mpu6050, Output, PwmServo, TokioDelay};
use crate::hal::PwmOutput;
use crate::sim::{SimEdgeInput, SimOutputPin, SimPwm, World};

pub(super) struct SimOpener {
    world: World,
}

impl SimOpener {
    pub(super) fn new(world: World) -> Self {
        SimOpener { world }
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

    fn pwm(&self, wiring: PwmWiring, label: &str) -> SimPwm {
        let (pwm, what) = match wiring {
            PwmWiring::Hardware { channel } => (
                self.world.pwm_channel(channel),
                format!("PWM channel {channel}"),
            ),
            PwmWiring::Software { pin } => (self.world.pwm_pin(pin), format!("GPIO {pin}")),
        };
        pwm.unwrap_or_else(|| {
            tracing::warn!("sim: {what} ({label}) is wired to nothing on the simulated robot");
            SimPwm::unconnected()
        })
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
        let mut pwm = self.pwm(w.pwm, &label);
        pwm.set_frequency(pwm_hz)
            .map_err(|e| OpenError::new("sim", label.clone(), e))?;
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
        if gpio == self.world.button_gpio() {
            let _closed = self.world.button().1.normally_closed();
        }
    }

    fn output(&mut self, gpio: u8, label: &str) -> Result<Box<dyn DigitalOutput>, OpenError> {
        Ok(Box::new(Output::new(self.output_pin(gpio, label))))
    }

    fn servo(&mut self, name: &str, s: &ServoConfig) -> Result<Box<dyn ServoDriver>, OpenError> {
        let label = format!("servo {name}");
        let pwm = self.pwm(s.pwm, &label);
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
}
