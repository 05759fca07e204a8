//! Hobby servos: a pulse of 0.5–2.5 ms every 20 ms (50 Hz) sets the horn's angle. [`PwmServo`]
//! drives one on a [`PwmOutput`]; [`ServoLimits`] turns angles into pulse widths for a given
//! servo, with no hardware involved.
//!
//! On Linux, servo pulses need hardware PWM (GPIO 12/13/18/19 on a Pi) or a PCA9685: software
//! PWM jitters enough to make servos twitch.

use crate::device::{DeviceError, ServoDriver};
use crate::hal::PwmOutput;

/// A hobby servo on a PWM output.
///
/// Creating it sets the output to 50 Hz and stops the pulses (the servo is limp until the first
/// [`set_pulse_width_us`](PwmServo::set_pulse_width_us)).
///
/// # Examples
///
/// ```
/// use compaktor_pi::device::DeviceError;
/// use compaktor_pi::drivers::{PwmServo, ServoLimits};
/// # struct Pwm(u32);
/// # impl embedded_hal::pwm::ErrorType for Pwm { type Error = core::convert::Infallible; }
/// # impl embedded_hal::pwm::SetDutyCycle for Pwm {
/// #     fn max_duty_cycle(&self) -> u16 { 20_000 }
/// #     fn set_duty_cycle(&mut self, _: u16) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// # impl compaktor_pi::hal::PwmOutput for Pwm {
/// #     fn set_frequency(&mut self, hz: u32) -> Result<(), Self::Error> { self.0 = hz; Ok(()) }
/// #     fn frequency(&self) -> u32 { self.0 }
/// # }
/// # let pwm = Pwm(1000);
///
/// // `pwm`: a hardware PWM output from a backend.
/// let mut pan = PwmServo::new(pwm)?; // 50 Hz, limp
/// let limits = ServoLimits::default(); // 0..=180° over 500..=2500 µs
/// pan.set_pulse_width_us(limits.pulse_for_angle(90.0)?)?; // centre: 1500 µs
/// pan.release()?; // limp again
/// # Ok::<(), DeviceError>(())
/// ```
#[derive(Debug)]
pub struct PwmServo<P> {
    pwm: P,
    min_pulse_us: u32,
    max_pulse_us: u32,
}

impl<P: PwmOutput> PwmServo<P> {
    /// The PWM frequency servos expect.
    pub const FREQUENCY_HZ: u32 = 50;
    /// The PWM period at [`Self::FREQUENCY_HZ`], in microseconds.
    pub const PERIOD_US: u32 = 20_000;

    /// Takes the PWM output, sets it to 50 Hz and stops the pulses. Pulse widths are accepted
    /// from 500 to 2500 µs, which every common servo tolerates.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if the PWM output refuses the frequency or the duty cycle.
    pub fn new(pwm: P) -> Result<Self, DeviceError> {
        Self::with_pulse_range(pwm, 500, 2_500)
    }

    /// Like [`PwmServo::new`], accepting pulse widths from `min_pulse_us` to `max_pulse_us`
    /// (inclusive): narrow the range to keep a servo off its end stops.
    ///
    /// # Errors
    ///
    /// [`DeviceError::OutOfRange`] if the range is empty or longer than the 20 ms period;
    /// [`DeviceError::Pin`] if the PWM output refuses the frequency or the duty cycle.
    pub fn with_pulse_range(
        mut pwm: P,
        min_pulse_us: u32,
        max_pulse_us: u32,
    ) -> Result<Self, DeviceError> {
        if min_pulse_us > max_pulse_us || max_pulse_us > Self::PERIOD_US {
            return Err(DeviceError::OutOfRange(format!(
                "servo pulse range {min_pulse_us}..={max_pulse_us} µs must be non-empty and \
                 within the {} µs period",
                Self::PERIOD_US
            )));
        }
        pwm.set_frequency(Self::FREQUENCY_HZ)
            .map_err(|e| DeviceError::Pin(format!("servo PWM frequency: {e:?}")))?;
        let mut servo = PwmServo {
            pwm,
            min_pulse_us,
            max_pulse_us,
        };
        servo.release()?;
        Ok(servo)
    }

    /// The pulse widths accepted, in microseconds.
    pub fn pulse_range(&self) -> (u32, u32) {
        (self.min_pulse_us, self.max_pulse_us)
    }

    /// Sends pulses of `us` microseconds: duty cycle `us / 20_000`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::OutOfRange`] outside the accepted range (nothing is sent);
    /// [`DeviceError::Pin`] if the PWM output fails.
    pub fn set_pulse_width_us(&mut self, us: u32) -> Result<(), DeviceError> {
        if !(self.min_pulse_us..=self.max_pulse_us).contains(&us) {
            return Err(DeviceError::OutOfRange(format!(
                "servo pulse {us} µs is outside {}..={} µs",
                self.min_pulse_us, self.max_pulse_us
            )));
        }
        // The range check keeps `us` within the period, which fits in a u16.
        let us = u16::try_from(us).expect("pulse width within the 20 ms period");
        let period = u16::try_from(Self::PERIOD_US).expect("20_000 fits in u16");
        self.pwm
            .set_duty_cycle_fraction(us, period)
            .map_err(|e| DeviceError::Pin(format!("servo PWM duty cycle: {e:?}")))
    }

    /// Stops the pulses (duty cycle 0): the servo goes limp.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Pin`] if the PWM output fails.
    pub fn release(&mut self) -> Result<(), DeviceError> {
        self.pwm
            .set_duty_cycle_fully_off()
            .map_err(|e| DeviceError::Pin(format!("servo PWM duty cycle: {e:?}")))
    }

    /// Gives the PWM output back, as it is.
    pub fn into_inner(self) -> P {
        self.pwm
    }
}

impl<P: PwmOutput + Send + 'static> ServoDriver for PwmServo<P> {
    fn set_pulse_width_us(&mut self, us: u32) -> Result<(), DeviceError> {
        PwmServo::set_pulse_width_us(self, us)
    }

    fn release(&mut self) -> Result<(), DeviceError> {
        PwmServo::release(self)
    }
}

/// How one servo maps angles to pulse widths: `min_angle_deg` gives `min_pulse_us`,
/// `max_angle_deg` gives `max_pulse_us`, linear in between. Swap the pulses to reverse a servo.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServoLimits {
    /// The smallest angle allowed, in degrees.
    pub min_angle_deg: f32,
    /// The largest angle allowed, in degrees.
    pub max_angle_deg: f32,
    /// The pulse width at `min_angle_deg`, in microseconds.
    pub min_pulse_us: u32,
    /// The pulse width at `max_angle_deg`, in microseconds.
    pub max_pulse_us: u32,
}

impl Default for ServoLimits {
    /// 0..=180° over 500..=2500 µs: a typical SG90 or MG996R.
    fn default() -> Self {
        ServoLimits {
            min_angle_deg: 0.0,
            max_angle_deg: 180.0,
            min_pulse_us: 500,
            max_pulse_us: 2_500,
        }
    }
}

impl ServoLimits {
    /// The pulse width for `deg` degrees, rounded to the nearest microsecond.
    ///
    /// # Errors
    ///
    /// [`DeviceError::OutOfRange`] if `deg` is NaN or outside `min_angle_deg..=max_angle_deg`,
    /// or if the two angles are equal (no line to map along).
    ///
    /// # Examples
    ///
    /// ```
    /// use compaktor_pi::drivers::ServoLimits;
    ///
    /// let limits = ServoLimits { min_angle_deg: -90.0, max_angle_deg: 90.0, ..Default::default() };
    /// assert_eq!(limits.pulse_for_angle(0.0).unwrap(), 1500);
    /// assert_eq!(limits.pulse_for_angle(-90.0).unwrap(), 500);
    /// assert!(limits.pulse_for_angle(91.0).is_err());
    /// ```
    pub fn pulse_for_angle(&self, deg: f32) -> Result<u32, DeviceError> {
        let (lo, hi) = (self.min_angle_deg, self.max_angle_deg);
        if lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(DeviceError::OutOfRange(format!(
                "servo angle limits {lo}..={hi}° are empty"
            )));
        }
        if !(lo..=hi).contains(&deg) {
            return Err(DeviceError::OutOfRange(format!(
                "servo angle {deg}° is outside {lo}..={hi}°"
            )));
        }
        let t = f64::from(deg - lo) / f64::from(hi - lo);
        let (p0, p1) = (f64::from(self.min_pulse_us), f64::from(self.max_pulse_us));
        // Between two u32 pulse widths, so the cast cannot overflow.
        Ok((p0 + t * (p1 - p0)).round() as u32)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::pwm::Transaction as Pwm;

    use super::*;
    use crate::drivers::testing::MockPwm;

    #[test]
    fn creation_sets_50_hz_and_goes_limp() {
        let mut pwm = MockPwm::new(&[Pwm::set_duty_cycle(0)]);
        let servo = PwmServo::new(pwm.clone()).unwrap();
        assert_eq!(servo.pulse_range(), (500, 2_500));
        assert_eq!(pwm.done(), vec![50]);
    }

    #[test]
    fn pulse_width_is_a_fraction_of_20_ms() {
        let mut pwm = MockPwm::new(&[
            Pwm::set_duty_cycle(0),
            // max 20_000: one duty step per microsecond
            Pwm::max_duty_cycle(20_000),
            Pwm::set_duty_cycle(1_500),
            // max 65_535: 2_500 / 20_000 * 65_535 = 8191.875, truncated
            Pwm::max_duty_cycle(u16::MAX),
            Pwm::set_duty_cycle(8_191),
            Pwm::set_duty_cycle(0),
        ]);
        let mut servo = PwmServo::new(pwm.clone()).unwrap();
        servo.set_pulse_width_us(1_500).unwrap();
        servo.set_pulse_width_us(2_500).unwrap();
        servo.release().unwrap();
        assert_eq!(pwm.done(), vec![50]);
    }

    #[test]
    fn pulses_outside_the_range_are_refused_and_not_sent() {
        let mut pwm = MockPwm::new(&[Pwm::set_duty_cycle(0)]);
        let mut servo: Box<dyn ServoDriver> =
            Box::new(PwmServo::with_pulse_range(pwm.clone(), 1_000, 2_000).unwrap());
        for us in [999, 2_001, 0, u32::MAX] {
            let err = servo.set_pulse_width_us(us).unwrap_err();
            assert!(matches!(err, DeviceError::OutOfRange(_)), "{err}");
        }
        assert_eq!(pwm.done(), vec![50]);
    }

    #[test]
    fn impossible_pulse_ranges_are_refused() {
        for (lo, hi) in [(2_000, 1_000), (500, 20_001)] {
            let mut pwm = MockPwm::new(&[]);
            let err = PwmServo::with_pulse_range(pwm.clone(), lo, hi).unwrap_err();
            assert!(matches!(err, DeviceError::OutOfRange(_)), "{err}");
            assert_eq!(pwm.done(), Vec::<u32>::new());
        }
    }

    #[test]
    fn limits_map_angles_linearly() {
        let limits = ServoLimits::default();
        assert_eq!(limits.pulse_for_angle(0.0).unwrap(), 500);
        assert_eq!(limits.pulse_for_angle(90.0).unwrap(), 1_500);
        assert_eq!(limits.pulse_for_angle(180.0).unwrap(), 2_500);
        assert_eq!(limits.pulse_for_angle(45.0).unwrap(), 1_000);
        assert_eq!(limits.pulse_for_angle(0.1).unwrap(), 501);
    }

    #[test]
    fn limits_refuse_angles_outside_and_nan() {
        let limits = ServoLimits::default();
        for deg in [-0.1, 180.1, f32::NAN, f32::INFINITY] {
            assert!(
                matches!(limits.pulse_for_angle(deg), Err(DeviceError::OutOfRange(_))),
                "{deg}"
            );
        }
        let flat = ServoLimits {
            max_angle_deg: 0.0,
            ..ServoLimits::default()
        };
        assert!(flat.pulse_for_angle(0.0).is_err());
    }

    #[test]
    fn swapped_pulses_reverse_the_servo() {
        let reversed = ServoLimits {
            min_pulse_us: 2_400,
            max_pulse_us: 600,
            ..ServoLimits::default()
        };
        assert_eq!(reversed.pulse_for_angle(0.0).unwrap(), 2_400);
        assert_eq!(reversed.pulse_for_angle(180.0).unwrap(), 600);
        assert_eq!(reversed.pulse_for_angle(90.0).unwrap(), 1_500);
    }
}
