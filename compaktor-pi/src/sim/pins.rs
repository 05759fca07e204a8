//! Simulated GPIO and PWM pins, bound to a [`World`]: they implement the embedded-hal 1.0
//! digital and PWM traits plus [`crate::hal`]'s [`EdgeInput`] and [`PwmOutput`], so the real
//! drivers run on them unchanged. The world hands them out (`World::motor_pins`, `World::led`,
//! …); the buses (I2C, SPI) live in `bus`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use embedded_hal::digital::{self, InputPin, OutputPin, StatefulOutputPin};
use embedded_hal::pwm::{self, SetDutyCycle};
use tokio::sync::mpsc;

use super::lines::{InputLine, OutputLine, PwmLine};
use super::world::World;
use crate::hal::{Edge, EdgeInput, PwmOutput};

/// Why a simulated pin refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// A duty cycle above [`SetDutyCycle::max_duty_cycle`] was asked for.
    #[error("duty cycle {duty} is above the maximum {max}")]
    DutyOutOfRange {
        /// What was asked for.
        duty: u16,
        /// The maximum.
        max: u16,
    },
    /// A PWM frequency of 0 Hz was asked for.
    #[error("a PWM frequency must be above 0 Hz")]
    ZeroFrequency,
    /// The world no longer drives this input.
    #[error("the simulated world behind this input is gone")]
    Disconnected,
}

impl digital::Error for PinError {
    fn kind(&self) -> digital::ErrorKind {
        digital::ErrorKind::Other
    }
}

impl pwm::Error for PinError {
    fn kind(&self) -> pwm::ErrorKind {
        pwm::ErrorKind::Other
    }
}

/// A simulated digital output (motor direction, LED, ultrasonic trigger). The world reads its
/// level; [`StatefulOutputPin`] reads it back.
///
/// The ultrasonic trigger (from [`World::ultrasonic`]) also fires a measurement when it falls
/// after being high for at least 10 µs, on tokio's clock or the wall clock, whichever saw
/// longer — so both `tokio::time::sleep` and a blocking `DelayNs` work.
#[derive(Debug)]
pub struct SimOutputPin {
    line: Arc<OutputLine>,
    /// The world and the sonar this pin triggers.
    trigger: Option<(World, usize)>,
}

impl SimOutputPin {
    pub(crate) fn new(line: Arc<OutputLine>) -> Self {
        SimOutputPin {
            line,
            trigger: None,
        }
    }

    /// A pin wired to nothing in the world.
    pub(crate) fn unconnected() -> Self {
        SimOutputPin::new(OutputLine::new())
    }

    pub(crate) fn trigger(line: Arc<OutputLine>, world: World, sonar: usize) -> Self {
        SimOutputPin {
            line,
            trigger: Some((world, sonar)),
        }
    }

    /// The level the pin drives now.
    pub fn level(&self) -> bool {
        self.line.is_high()
    }
}

/// The shortest trigger pulse an HC-SR04 answers.
const MIN_TRIGGER: Duration = Duration::from_micros(10);

impl digital::ErrorType for SimOutputPin {
    type Error = Infallible;
}

impl OutputPin for SimOutputPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        let before = self.line.set(false);
        if let Some((world, sonar)) = &self.trigger
            && before.high
        {
            let held = before.since.0.elapsed().max(before.since.1.elapsed());
            if held >= MIN_TRIGGER {
                world.ping(*sonar);
            }
        }
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.line.set(true);
        Ok(())
    }
}

impl StatefulOutputPin for SimOutputPin {
    fn is_set_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.line.is_high())
    }

    fn is_set_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.line.is_high())
    }
}

/// A simulated PWM channel: duty out of [`SimPwm::MAX_DUTY`] and a frequency, both read by the
/// world (motor enable pins, the servo).
#[derive(Debug)]
pub struct SimPwm {
    line: Arc<PwmLine>,
}

impl SimPwm {
    /// The duty cycle resolution: `max_duty_cycle()` of every simulated PWM.
    pub const MAX_DUTY: u16 = 10_000;

    pub(crate) fn new(line: Arc<PwmLine>) -> Self {
        SimPwm { line }
    }

    /// A PWM output wired to nothing in the world.
    pub(crate) fn unconnected() -> Self {
        SimPwm::new(PwmLine::new(Self::MAX_DUTY, 1_000))
    }

    /// The duty cycle as a fraction in `0.0..=1.0`.
    pub fn fraction(&self) -> f64 {
        self.line.get().fraction()
    }
}

impl pwm::ErrorType for SimPwm {
    type Error = PinError;
}

impl SetDutyCycle for SimPwm {
    fn max_duty_cycle(&self) -> u16 {
        self.line.get().max
    }

    /// # Errors
    ///
    /// [`PinError::DutyOutOfRange`] above `max_duty_cycle()`.
    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), PinError> {
        let max = self.max_duty_cycle();
        if duty > max {
            return Err(PinError::DutyOutOfRange { duty, max });
        }
        self.line.update(|s| s.duty = duty);
        Ok(())
    }
}

impl PwmOutput for SimPwm {
    /// # Errors
    ///
    /// [`PinError::ZeroFrequency`] for 0 Hz.
    fn set_frequency(&mut self, hz: u32) -> Result<(), PinError> {
        if hz == 0 {
            return Err(PinError::ZeroFrequency);
        }
        self.line.update(|s| s.hz = hz);
        Ok(())
    }

    fn frequency(&self) -> u32 {
        self.line.get().hz
    }
}

/// A simulated digital input whose level the world computes when read (the digital outputs of
/// the line sensors, from [`World::line_sensor_pins`]: high over the tape).
#[derive(Debug)]
pub struct SimInputPin {
    source: InputSource,
}

#[derive(Debug)]
enum InputSource {
    LineSensor { world: World, index: usize },
}

impl SimInputPin {
    pub(crate) fn line_sensor(world: World, index: usize) -> Self {
        SimInputPin {
            source: InputSource::LineSensor { world, index },
        }
    }

    fn level(&self) -> bool {
        match &self.source {
            InputSource::LineSensor { world, index } => world.line_sensor_over_tape(*index),
        }
    }
}

impl digital::ErrorType for SimInputPin {
    type Error = Infallible;
}

impl InputPin for SimInputPin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.level())
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.level())
    }
}

/// A simulated input that reports timestamped edges (ultrasonic echo, bumper, button): the
/// world pushes [`Edge`]s stamped on tokio's clock, relative to the world's creation, into a
/// channel this pin reads. Edges queue while nobody waits.
#[derive(Debug)]
pub struct SimEdgeInput {
    line: Arc<InputLine>,
    edges: mpsc::UnboundedReceiver<Edge>,
    /// The world's creation: edges are stamped relative to it.
    epoch: tokio::time::Instant,
}

impl SimEdgeInput {
    pub(crate) fn new(line: Arc<InputLine>, epoch: tokio::time::Instant) -> Self {
        let edges = line.subscribe();
        SimEdgeInput { line, edges, epoch }
    }

    /// An input wired to nothing, held at `level` by its pull resistor: it never changes.
    pub(crate) fn unconnected(level: bool) -> Self {
        SimEdgeInput::new(InputLine::new(level), tokio::time::Instant::now())
    }
}

impl digital::ErrorType for SimEdgeInput {
    type Error = PinError;
}

impl InputPin for SimEdgeInput {
    fn is_high(&mut self) -> Result<bool, PinError> {
        Ok(self.line.is_high())
    }

    fn is_low(&mut self) -> Result<bool, PinError> {
        Ok(!self.line.is_high())
    }
}

impl EdgeInput for SimEdgeInput {
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped wait loses no edge.
    async fn wait_for_edge(&mut self) -> Result<Edge, PinError> {
        self.edges.recv().await.ok_or(PinError::Disconnected)
    }

    fn clear_edges(&mut self) {
        while self.edges.try_recv().is_ok() {}
    }

    /// The world's time (tokio's clock since the world was made), as the edges are stamped.
    fn now(&self) -> Option<Duration> {
        Some(self.epoch.elapsed())
    }
}

/// The finger on a simulated button (from [`World::button`] or [`World::button_named`]). The button's contact goes to
/// ground with a pull-up, the usual wiring: a closed contact pulls the input low, an open one
/// (or a cut wire) lets it float high.
///
/// A normally-open button (the default) closes its contact when pressed:
/// [`press`](ButtonPresser::press) makes a falling edge, [`release`](ButtonPresser::release) a
/// rising one. A [`normally_closed`](ButtonPresser::normally_closed) one, the usual E-stop,
/// opens it when pressed, so pressing makes a rising edge, and so does a cut wire.
#[derive(Debug, Clone)]
pub struct ButtonPresser {
    line: Arc<InputLine>,
    world: World,
    normally_closed: bool,
}

impl ButtonPresser {
    pub(crate) fn new(line: Arc<InputLine>, world: World) -> Self {
        ButtonPresser {
            line,
            world,
            normally_closed: false,
        }
    }

    /// The same button, wired normally closed: its contact closes now (the input goes low, as
    /// for a released E-stop), and pressing opens it.
    pub fn normally_closed(mut self) -> Self {
        self.normally_closed = true;
        self.release();
        self
    }

    /// Presses the button. Pressing a pressed button does nothing.
    pub fn press(&self) {
        self.line.set(self.normally_closed, self.world.elapsed());
    }

    /// Releases the button.
    pub fn release(&self) {
        self.line.set(!self.normally_closed, self.world.elapsed());
    }

    /// Cuts the wire to the button: the pull-up holds the input high for good (pressed, for a
    /// normally-closed button; released, for a normally-open one, whose presses are lost).
    pub fn cut_wire(&self) {
        self.line.set(true, self.world.elapsed());
    }

    /// Presses, holds for `hold` of tokio time, releases.
    pub async fn click(&self, hold: Duration) {
        self.press();
        tokio::time::sleep(hold).await;
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::EdgeKind;
    use crate::sim::WorldConfig;

    #[tokio::test(start_paused = true)]
    async fn button_is_active_low_with_timestamped_edges() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let (mut button, finger) = world.button();
        assert!(button.is_high().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
        finger.click(Duration::from_millis(30)).await;
        let press = button.wait_for_edge().await.unwrap();
        let release = button.wait_for_edge().await.unwrap();
        assert_eq!(press.kind, EdgeKind::Falling);
        assert_eq!(release.kind, EdgeKind::Rising);
        assert_eq!(press.at, Duration::from_millis(100));
        assert_eq!(release.at - press.at, Duration::from_millis(30));
        // Queued edges can be dropped; repeated presses make one edge.
        finger.press();
        finger.press();
        assert!(button.is_low().unwrap());
        button.clear_edges();
        finger.release();
        assert_eq!(button.wait_for_edge().await.unwrap().kind, EdgeKind::Rising);
    }

    #[test]
    fn led_and_servo_show_in_the_snapshot() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let mut led = world.led();
        let mut servo = world.servo();
        assert!(!world.snapshot().led);
        assert_eq!(world.snapshot().servo_pulse_us, None);
        led.set_high().unwrap();
        assert!(led.is_set_high().unwrap() && world.snapshot().led);
        led.toggle().unwrap();
        assert!(!world.snapshot().led);

        // 1.5 ms of a 20 ms period.
        assert_eq!(servo.frequency(), 50);
        servo.set_duty_cycle_fraction(1500, 20_000).unwrap();
        assert!((servo.fraction() - 0.075).abs() < 1e-9);
        let pulse = world.snapshot().servo_pulse_us.unwrap();
        assert!((pulse - 1500.0).abs() < 1e-6, "{pulse}");
    }

    #[test]
    fn pwm_refuses_what_hardware_cannot_do() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let mut pwm = world.motor_pins(crate::sim::Side::Left).enable;
        assert_eq!(pwm.max_duty_cycle(), SimPwm::MAX_DUTY);
        assert_eq!(pwm.frequency(), 1_000);
        assert_eq!(
            pwm.set_duty_cycle(10_001),
            Err(PinError::DutyOutOfRange {
                duty: 10_001,
                max: 10_000
            })
        );
        assert_eq!(pwm.set_frequency(0), Err(PinError::ZeroFrequency));
        pwm.set_frequency(20_000).unwrap();
        pwm.set_duty_cycle_fully_on().unwrap();
        assert_eq!((pwm.frequency(), pwm.fraction()), (20_000, 1.0));
    }

    #[test]
    fn digital_line_sensors_see_the_tape() {
        let world = World::new(WorldConfig::line_track(0));
        let levels: Vec<bool> = world
            .line_sensor_pins()
            .iter_mut()
            .map(|p| p.is_high().unwrap())
            .collect();
        assert_eq!(levels, [false, false, true, false, false]);
    }
}
