//! DC motors behind an H-bridge: the L298N (two direction inputs and a PWM enable) and the
//! TB6612FNG (two direction inputs, a PWM input and a standby pin). Both implement
//! [`MotorDriver`]; speeds go from -1.0 (full reverse) to 1.0 (full forward), and 0.0 coasts.
//!
//! Both drivers put the bridge in a safe state (coasting) when they are created. Stopping the
//! motors when the program ends is the job of the actors and of the backend, not of this module.

use core::convert::Infallible;
use core::fmt::Debug;

use embedded_hal::digital::{ErrorType, OutputPin};
use embedded_hal::pwm::SetDutyCycle;

use crate::device::{DeviceError, MotorDriver};

/// Duty cycles are passed to [`SetDutyCycle::set_duty_cycle_fraction`] as `n / DUTY_SCALE`.
const DUTY_SCALE: u16 = 10_000;

/// What one call to `set_speed` asks of the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drive {
    Coast,
    Forward(u16),
    Reverse(u16),
}

/// Checks and clamps a speed, and turns it into a direction and a duty cycle out of
/// [`DUTY_SCALE`]. Speeds that round to a zero duty cycle coast.
fn drive_for(speed: f32) -> Result<Drive, DeviceError> {
    if speed.is_nan() {
        return Err(DeviceError::OutOfRange(
            "motor speed is NaN; expected -1.0..=1.0".to_owned(),
        ));
    }
    let speed = speed.clamp(-1.0, 1.0);
    // The clamp keeps the product within 0..=DUTY_SCALE, so the cast cannot truncate.
    let duty = (speed.abs() * f32::from(DUTY_SCALE)).round() as u16;
    Ok(match duty {
        0 => Drive::Coast,
        _ if speed > 0.0 => Drive::Forward(duty),
        _ => Drive::Reverse(duty),
    })
}

/// Maps a pin error to a [`DeviceError::Pin`] naming the chip and the pin.
fn pin_error<E: Debug>(pin: &'static str) -> impl FnOnce(E) -> DeviceError {
    move |e| DeviceError::Pin(format!("{pin}: {e:?}"))
}

/// An output pin that does nothing: pass it for a TB6612FNG standby pin that is wired to 3.3 V
/// (or shared, and driven elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoPin;

impl ErrorType for NoPin {
    type Error = Infallible;
}

impl OutputPin for NoPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// One channel of an L298N dual H-bridge.
///
/// | state   | IN1  | IN2  | EN          |
/// |---------|------|------|-------------|
/// | forward | high | low  | duty        |
/// | reverse | low  | high | duty        |
/// | brake   | high | high | fully on    |
/// | coast   | low  | low  | 0           |
///
/// The enable input takes any embedded-hal PWM output (a [`PwmOutput`](crate::hal::PwmOutput)
/// from a backend, a PCA9685 channel…); set its frequency (1–20 kHz) before handing it over.
///
/// # Examples
///
/// ```
/// use compaktor_pi::device::{DeviceError, MotorDriver};
/// use compaktor_pi::drivers::L298n;
/// # use compaktor_pi::drivers::NoPin;
/// # struct Pwm;
/// # impl embedded_hal::pwm::ErrorType for Pwm { type Error = core::convert::Infallible; }
/// # impl embedded_hal::pwm::SetDutyCycle for Pwm {
/// #     fn max_duty_cycle(&self) -> u16 { 100 }
/// #     fn set_duty_cycle(&mut self, _: u16) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// # let (in1, in2, en) = (NoPin, NoPin, Pwm);
///
/// // `in1`, `in2`: output pins; `en`: a PWM output at a few kHz, from a backend.
/// let mut left = L298n::new(in1, in2, en)?; // coasting
/// left.set_speed(0.5)?; // half speed forward
/// left.brake()?;
///
/// // Actors hold motors as trait objects, whatever the chip.
/// let mut motor: Box<dyn MotorDriver> = Box::new(left);
/// motor.coast()?;
/// # Ok::<(), DeviceError>(())
/// ```
#[derive(Debug)]
pub struct L298n<IN1, IN2, EN> {
    in1: IN1,
    in2: IN2,
    en: EN,
}

impl<IN1, IN2, EN> L298n<IN1, IN2, EN>
where
    IN1: OutputPin,
    IN2: OutputPin,
    EN: SetDutyCycle,
{
    /// Takes the pins and lets the motor coast.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn new(in1: IN1, in2: IN2, en: EN) -> Result<Self, DeviceError> {
        let mut bridge = L298n { in1, in2, en };
        bridge.coast()?;
        Ok(bridge)
    }

    /// Gives the pins back, as they are.
    pub fn release(self) -> (IN1, IN2, EN) {
        (self.in1, self.in2, self.en)
    }

    /// Sets the speed: -1.0 is full reverse, 1.0 full forward; values beyond are clamped, and
    /// 0.0 coasts.
    ///
    /// # Errors
    ///
    /// [`DeviceError::OutOfRange`] for NaN (the bridge is left as it was);
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError> {
        let (in1, in2, duty) = match drive_for(speed)? {
            Drive::Coast => return self.coast(),
            Drive::Forward(duty) => (true, false, duty),
            Drive::Reverse(duty) => (false, true, duty),
        };
        self.in1
            .set_state(in1.into())
            .map_err(pin_error("L298N IN1"))?;
        self.in2
            .set_state(in2.into())
            .map_err(pin_error("L298N IN2"))?;
        self.en
            .set_duty_cycle_fraction(duty, DUTY_SCALE)
            .map_err(pin_error("L298N EN"))
    }

    /// Shorts the motor (both inputs high, enable fully on): stops fast and holds.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn brake(&mut self) -> Result<(), DeviceError> {
        self.in1.set_high().map_err(pin_error("L298N IN1"))?;
        self.in2.set_high().map_err(pin_error("L298N IN2"))?;
        self.en
            .set_duty_cycle_fully_on()
            .map_err(pin_error("L298N EN"))
    }

    /// Lets the motor spin freely (enable off, both inputs low).
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn coast(&mut self) -> Result<(), DeviceError> {
        self.en
            .set_duty_cycle_fully_off()
            .map_err(pin_error("L298N EN"))?;
        self.in1.set_low().map_err(pin_error("L298N IN1"))?;
        self.in2.set_low().map_err(pin_error("L298N IN2"))
    }
}

impl<IN1, IN2, EN> MotorDriver for L298n<IN1, IN2, EN>
where
    IN1: OutputPin + Send + 'static,
    IN2: OutputPin + Send + 'static,
    EN: SetDutyCycle + Send + 'static,
{
    fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError> {
        L298n::set_speed(self, speed)
    }

    fn brake(&mut self) -> Result<(), DeviceError> {
        L298n::brake(self)
    }

    fn coast(&mut self) -> Result<(), DeviceError> {
        L298n::coast(self)
    }
}

/// One channel of a TB6612FNG dual H-bridge.
///
/// | state   | STBY | IN1  | IN2  | PWM      |
/// |---------|------|------|------|----------|
/// | forward | high | high | low  | duty     |
/// | reverse | high | low  | high | duty     |
/// | brake   | high | high | high | fully on |
/// | coast   | —    | low  | low  | 0        |
/// | standby | low  | low  | low  | 0        |
///
/// While driving, the low part of each PWM period brakes (the chip's slow decay), which is what
/// makes the TB6612FNG hold speed well at low duty cycles.
///
/// The TB6612FNG has one standby pin for both channels: give one channel the pin and the other
/// a [`NoPin`], or wire STBY to 3.3 V and give both a [`NoPin`].
///
/// We wrote this driver rather than use the `tb6612fng` crate: that crate speaks its own
/// `DriveCommand` with whole-percent speeds and its own error type, while every motor here must
/// be a [`MotorDriver`] with `f32` speeds, NaN rejection and [`DeviceError`]s, like [`L298n`].
#[derive(Debug)]
pub struct Tb6612fng<IN1, IN2, PWM, STBY> {
    in1: IN1,
    in2: IN2,
    pwm: PWM,
    stby: STBY,
}

impl<IN1, IN2, PWM, STBY> Tb6612fng<IN1, IN2, PWM, STBY>
where
    IN1: OutputPin,
    IN2: OutputPin,
    PWM: SetDutyCycle,
    STBY: OutputPin,
{
    /// Takes the pins and puts the channel in standby (coasting, STBY low).
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn new(in1: IN1, in2: IN2, pwm: PWM, stby: STBY) -> Result<Self, DeviceError> {
        let mut bridge = Tb6612fng {
            in1,
            in2,
            pwm,
            stby,
        };
        bridge.standby()?;
        Ok(bridge)
    }

    /// Gives the pins back, as they are.
    pub fn release(self) -> (IN1, IN2, PWM, STBY) {
        (self.in1, self.in2, self.pwm, self.stby)
    }

    /// Sets the speed: -1.0 is full reverse, 1.0 full forward; values beyond are clamped, and
    /// 0.0 coasts. Wakes the chip from standby.
    ///
    /// # Errors
    ///
    /// [`DeviceError::OutOfRange`] for NaN (the bridge is left as it was);
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError> {
        let (in1, in2, duty) = match drive_for(speed)? {
            Drive::Coast => return self.coast(),
            Drive::Forward(duty) => (true, false, duty),
            Drive::Reverse(duty) => (false, true, duty),
        };
        self.in1
            .set_state(in1.into())
            .map_err(pin_error("TB6612FNG IN1"))?;
        self.in2
            .set_state(in2.into())
            .map_err(pin_error("TB6612FNG IN2"))?;
        self.pwm
            .set_duty_cycle_fraction(duty, DUTY_SCALE)
            .map_err(pin_error("TB6612FNG PWM"))?;
        self.stby.set_high().map_err(pin_error("TB6612FNG STBY"))
    }

    /// Shorts the motor (both inputs high): stops fast and holds. Wakes the chip from standby,
    /// since a sleeping chip cannot brake.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn brake(&mut self) -> Result<(), DeviceError> {
        self.in1.set_high().map_err(pin_error("TB6612FNG IN1"))?;
        self.in2.set_high().map_err(pin_error("TB6612FNG IN2"))?;
        self.pwm
            .set_duty_cycle_fully_on()
            .map_err(pin_error("TB6612FNG PWM"))?;
        self.stby.set_high().map_err(pin_error("TB6612FNG STBY"))
    }

    /// Lets the motor spin freely (PWM off, both inputs low: the outputs are high impedance).
    /// Leaves STBY as it is.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn coast(&mut self) -> Result<(), DeviceError> {
        self.pwm
            .set_duty_cycle_fully_off()
            .map_err(pin_error("TB6612FNG PWM"))?;
        self.in1.set_low().map_err(pin_error("TB6612FNG IN1"))?;
        self.in2.set_low().map_err(pin_error("TB6612FNG IN2"))
    }

    /// Coasts and pulls STBY low: the chip sleeps until the next `set_speed` or `brake`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if a pin cannot be set.
    pub fn standby(&mut self) -> Result<(), DeviceError> {
        self.coast()?;
        self.stby.set_low().map_err(pin_error("TB6612FNG STBY"))
    }
}

impl<IN1, IN2, PWM, STBY> MotorDriver for Tb6612fng<IN1, IN2, PWM, STBY>
where
    IN1: OutputPin + Send + 'static,
    IN2: OutputPin + Send + 'static,
    PWM: SetDutyCycle + Send + 'static,
    STBY: OutputPin + Send + 'static,
{
    fn set_speed(&mut self, speed: f32) -> Result<(), DeviceError> {
        Tb6612fng::set_speed(self, speed)
    }

    fn brake(&mut self) -> Result<(), DeviceError> {
        Tb6612fng::brake(self)
    }

    fn coast(&mut self) -> Result<(), DeviceError> {
        Tb6612fng::coast(self)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::MockError;
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
    use embedded_hal_mock::eh1::pwm::{Mock as PwmMock, Transaction as Pwm};

    use super::*;

    const MAX: u16 = 1_000;

    /// The transactions `set_duty_cycle_fraction` makes for a duty of `duty` out of [`MAX`].
    fn duty(duty: u16) -> [Pwm; 2] {
        [Pwm::max_duty_cycle(MAX), Pwm::set_duty_cycle(duty)]
    }

    fn coast_pins() -> (Vec<Pin>, Vec<Pin>, Vec<Pwm>) {
        (
            vec![Pin::set(State::Low)],
            vec![Pin::set(State::Low)],
            vec![Pwm::set_duty_cycle(0)],
        )
    }

    #[test]
    fn l298n_drives_forward_reverse_brake_coast() {
        let (mut in1, mut in2, mut en) = coast_pins();
        // forward at 0.5, reverse at -0.25, clamped 7.0, brake, 0.0 coasts
        in1.extend([
            Pin::set(State::High),
            Pin::set(State::Low),
            Pin::set(State::High),
            Pin::set(State::High),
            Pin::set(State::Low),
        ]);
        in2.extend([
            Pin::set(State::Low),
            Pin::set(State::High),
            Pin::set(State::Low),
            Pin::set(State::High),
            Pin::set(State::Low),
        ]);
        en.extend(duty(500));
        en.extend(duty(250));
        en.extend(duty(MAX));
        en.extend([Pwm::max_duty_cycle(MAX), Pwm::set_duty_cycle(MAX)]);
        en.push(Pwm::set_duty_cycle(0));
        let (mut p1, mut p2, mut pe) = (PinMock::new(&in1), PinMock::new(&in2), PwmMock::new(&en));

        let mut motor = L298n::new(p1.clone(), p2.clone(), pe.clone()).unwrap();
        motor.set_speed(0.5).unwrap();
        motor.set_speed(-0.25).unwrap();
        motor.set_speed(7.0).unwrap();
        motor.brake().unwrap();
        motor.set_speed(0.0).unwrap();

        p1.done();
        p2.done();
        pe.done();
    }

    #[test]
    fn l298n_rejects_nan_without_touching_pins() {
        let (in1, in2, en) = coast_pins();
        let (mut p1, mut p2, mut pe) = (PinMock::new(&in1), PinMock::new(&in2), PwmMock::new(&en));
        let mut motor = L298n::new(p1.clone(), p2.clone(), pe.clone()).unwrap();

        let err = motor.set_speed(f32::NAN).unwrap_err();
        assert!(matches!(err, DeviceError::OutOfRange(_)), "{err}");

        p1.done();
        p2.done();
        pe.done();
    }

    #[test]
    fn l298n_works_as_a_boxed_motor_driver() {
        let (mut in1, mut in2, mut en) = coast_pins();
        in1.push(Pin::set(State::Low));
        in2.push(Pin::set(State::High));
        en.extend(duty(1_000));
        let (mut p1, mut p2, mut pe) = (PinMock::new(&in1), PinMock::new(&in2), PwmMock::new(&en));

        let mut motor: Box<dyn MotorDriver> =
            Box::new(L298n::new(p1.clone(), p2.clone(), pe.clone()).unwrap());
        motor.set_speed(-1.0).unwrap();

        p1.done();
        p2.done();
        pe.done();
    }

    #[test]
    fn l298n_names_the_failing_pin() {
        let (mut in1, in2, en) = coast_pins();
        in1.push(Pin::set(State::High).with_error(MockError::Io(std::io::ErrorKind::NotConnected)));
        let (mut p1, mut p2, mut pe) = (PinMock::new(&in1), PinMock::new(&in2), PwmMock::new(&en));
        let mut motor = L298n::new(p1.clone(), p2.clone(), pe.clone()).unwrap();

        let err = motor.set_speed(0.3).unwrap_err();
        assert!(err.to_string().contains("L298N IN1"), "{err}");

        p1.done();
        p2.done();
        pe.done();
    }

    #[test]
    fn tiny_speeds_coast_and_negative_zero_is_zero() {
        assert_eq!(drive_for(0.00001).unwrap(), Drive::Coast);
        assert_eq!(drive_for(-0.0).unwrap(), Drive::Coast);
        assert_eq!(drive_for(-3.0).unwrap(), Drive::Reverse(DUTY_SCALE));
        assert_eq!(drive_for(0.12345).unwrap(), Drive::Forward(1_235));
        assert!(drive_for(f32::NAN).is_err());
    }

    #[test]
    fn tb6612fng_starts_in_standby_and_wakes_to_drive() {
        // new: standby = coast (PWM 0, IN1 low, IN2 low) then STBY low
        let mut in1 = vec![Pin::set(State::Low)];
        let mut in2 = vec![Pin::set(State::Low)];
        let mut pwm = vec![Pwm::set_duty_cycle(0)];
        let mut stby = vec![Pin::set(State::Low)];
        // forward 0.75
        in1.push(Pin::set(State::High));
        in2.push(Pin::set(State::Low));
        pwm.extend(duty(750));
        stby.push(Pin::set(State::High));
        // reverse -0.1
        in1.push(Pin::set(State::Low));
        in2.push(Pin::set(State::High));
        pwm.extend(duty(100));
        stby.push(Pin::set(State::High));
        // brake
        in1.push(Pin::set(State::High));
        in2.push(Pin::set(State::High));
        pwm.extend([Pwm::max_duty_cycle(MAX), Pwm::set_duty_cycle(MAX)]);
        stby.push(Pin::set(State::High));
        // coast: STBY untouched
        pwm.push(Pwm::set_duty_cycle(0));
        in1.push(Pin::set(State::Low));
        in2.push(Pin::set(State::Low));
        // standby
        pwm.push(Pwm::set_duty_cycle(0));
        in1.push(Pin::set(State::Low));
        in2.push(Pin::set(State::Low));
        stby.push(Pin::set(State::Low));

        let (mut p1, mut p2, mut pp, mut ps) = (
            PinMock::new(&in1),
            PinMock::new(&in2),
            PwmMock::new(&pwm),
            PinMock::new(&stby),
        );
        let mut motor = Tb6612fng::new(p1.clone(), p2.clone(), pp.clone(), ps.clone()).unwrap();
        motor.set_speed(0.75).unwrap();
        motor.set_speed(-0.1).unwrap();
        motor.brake().unwrap();
        motor.coast().unwrap();
        motor.standby().unwrap();
        assert!(matches!(
            motor.set_speed(f32::NAN),
            Err(DeviceError::OutOfRange(_))
        ));

        p1.done();
        p2.done();
        pp.done();
        ps.done();
    }

    #[test]
    fn tb6612fng_takes_a_no_pin_for_a_hard_wired_standby() {
        let (mut p1, mut p2, mut pp) = (
            PinMock::new(&[Pin::set(State::Low), Pin::set(State::High)]),
            PinMock::new(&[Pin::set(State::Low), Pin::set(State::Low)]),
            PwmMock::new(&[
                Pwm::set_duty_cycle(0),
                Pwm::max_duty_cycle(MAX),
                Pwm::set_duty_cycle(200),
            ]),
        );
        let mut motor: Box<dyn MotorDriver> =
            Box::new(Tb6612fng::new(p1.clone(), p2.clone(), pp.clone(), NoPin).unwrap());
        motor.set_speed(0.2).unwrap();

        p1.done();
        p2.done();
        pp.done();
    }
}
