//! The HC-SR04 ultrasonic distance sensor: a 10 µs pulse on TRIG starts a ping; ECHO then stays
//! high for as long as the sound took to come back. The width is measured from the timestamps
//! of the two echo edges (the kernel's, on Linux), not from when a task woke up.
//!
//! Timeouts use tokio's clock, so the simulation (which runs on tokio's paused clock) and real
//! hardware behave the same.

use core::future::Future;
use std::time::Duration;

use embedded_hal::digital::OutputPin;
use futures::future::BoxFuture;

use crate::device::{DeviceError, Range, RangeFinder};
use crate::hal::{Edge, EdgeInput, EdgeKind};

/// Speed of sound in dry air at 20 °C, in m/s.
const SPEED_OF_SOUND_M_PER_S: f32 = 343.0;

/// An async delay whose futures are `Send`, which [`RangeFinder`] needs (its futures are boxed
/// and `Send`).
///
/// `embedded_hal_async::delay::DelayNs` cannot promise `Send` futures on stable Rust (that needs
/// return-type notation), so [`HcSr04`] is a [`RangeFinder`] only with a delay implementing
/// this trait. [`TokioDelay`] does; for another delay, forward to it:
///
/// ```
/// use compaktor_pi::drivers::SendDelay;
///
/// struct MyDelay;
/// impl SendDelay for MyDelay {
///     async fn wait_us(&mut self, us: u32) {
///         tokio::time::sleep(std::time::Duration::from_micros(us.into())).await
///     }
/// }
/// ```
pub trait SendDelay: Send + 'static {
    /// Waits at least `us` microseconds.
    fn wait_us(&mut self, us: u32) -> impl Future<Output = ()> + Send;
}

/// An async delay on tokio's clock (`tokio::time::sleep`).
///
/// Tokio's timer has millisecond resolution, so a 10 µs trigger pulse lasts up to about a
/// millisecond; the HC-SR04 starts its ping when TRIG falls, so a longer pulse is harmless. On
/// the simulation's paused clock the pulse takes no real time at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokioDelay;

impl embedded_hal_async::delay::DelayNs for TokioDelay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(ns.into())).await;
    }
}

impl SendDelay for TokioDelay {
    fn wait_us(&mut self, us: u32) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(Duration::from_micros(us.into()))
    }
}

/// An HC-SR04 ultrasonic distance sensor: TRIG on an output pin, ECHO on an [`EdgeInput`].
///
/// Wire ECHO through a divider (it is a 5 V signal) and keep measurements at least 60 ms apart,
/// so one ping's echoes do not answer the next.
///
/// # Examples
///
/// ```no_run
/// # async fn example(
/// #     trig: compaktor_pi::drivers::NoPin,
/// #     echo: impl compaktor_pi::hal::EdgeInput + Send + 'static,
/// # ) -> Result<(), compaktor_pi::device::DeviceError> {
/// use compaktor_pi::device::{Range, RangeFinder};
/// use compaktor_pi::drivers::{HcSr04, TokioDelay};
///
/// // `trig`: an output pin; `echo`: an edge input, from a backend.
/// let mut sonar = HcSr04::new(trig, echo, TokioDelay);
/// match sonar.measure().await? {
///     Range::Distance(meters) => println!("obstacle at {meters:.2} m"),
///     Range::OutOfRange => println!("nothing within 4 m"),
/// }
///
/// // Actors hold range finders as trait objects.
/// let mut sonar: Box<dyn RangeFinder> = Box::new(sonar);
/// let range = sonar.measure().await?;
/// # let _ = range;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct HcSr04<T, E, D = TokioDelay> {
    trigger: T,
    echo: E,
    delay: D,
    timeout: Duration,
    max_echo: Duration,
    /// The last echo outlasted the wait (nothing in range): it may still be high, and the
    /// module ignores TRIG until it falls.
    echo_on: bool,
}

impl<T, E, D> HcSr04<T, E, D> {
    /// The trigger pulse width, in microseconds.
    pub const TRIGGER_US: u32 = 10;

    /// Takes the pins and the delay used for the trigger pulse. Waits 30 ms for the echo to
    /// start, and reads an echo longer than 25 ms (about 4.3 m, past the sensor's range) as
    /// nothing in range.
    pub fn new(trigger: T, echo: E, delay: D) -> Self {
        HcSr04 {
            trigger,
            echo,
            delay,
            timeout: Duration::from_millis(30),
            max_echo: Duration::from_millis(25),
            echo_on: false,
        }
    }

    /// Sets how long to wait for the echo to start, and for it to end when that is longer than
    /// the longest echo accepted (30 ms by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the longest echo read as a distance (25 ms, about 4.3 m, by default); a longer one
    /// is [`Range::OutOfRange`].
    pub fn with_max_echo(mut self, max_echo: Duration) -> Self {
        self.max_echo = max_echo;
        self
    }

    /// Gives the pins and the delay back.
    pub fn release(self) -> (T, E, D) {
        (self.trigger, self.echo, self.delay)
    }
}

impl<T, E, D> HcSr04<T, E, D>
where
    T: OutputPin,
    E: EdgeInput,
    D: embedded_hal_async::delay::DelayNs,
{
    /// One measurement: drops stale echo edges, pulses TRIG for 10 µs, then times ECHO's
    /// rising and falling edges. The distance is [`Range::Distance`], in meters; an echo longer
    /// than the longest accepted, or one still high when the wait for its end runs out, is
    /// [`Range::OutOfRange`] (with nothing in range the HC-SR04 holds ECHO high for about
    /// 38 ms). After such an echo, the next measurement first waits for it to end, since the
    /// module ignores TRIG while ECHO is high.
    ///
    /// # Errors
    ///
    /// - [`DeviceError::Timeout`] if the echo does not start within the timeout (no sensor, a
    ///   loose wire, or a module whose ECHO is stuck high);
    /// - [`DeviceError::Protocol`] if the falling edge is timestamped before the rising one;
    /// - [`DeviceError::Pin`] if a pin fails.
    ///
    /// # Cancel safety
    ///
    /// Cancelling may leave TRIG high; the next measurement sets it low after its pulse.
    pub async fn measure(&mut self) -> Result<Range, DeviceError> {
        end_of_echo(&mut self.echo, self.timeout, &mut self.echo_on).await?;
        let pulse = self.delay.delay_us(Self::TRIGGER_US);
        ping(
            &mut self.trigger,
            &mut self.echo,
            pulse,
            self.timeout,
            self.max_echo,
            &mut self.echo_on,
        )
        .await
    }
}

/// Sends one ping and times the echo; `pulse` is the trigger pulse's delay, not yet started.
/// `echo_on` is set when the echo outlasts its wait (see [`end_of_echo`]).
async fn ping<T, E>(
    trigger: &mut T,
    echo: &mut E,
    pulse: impl Future<Output = ()>,
    timeout: Duration,
    max_echo: Duration,
    echo_on: &mut bool,
) -> Result<Range, DeviceError>
where
    T: OutputPin,
    E: EdgeInput,
{
    echo.clear_edges();
    trigger
        .set_high()
        .map_err(|e| DeviceError::Pin(format!("HC-SR04 TRIG: {e:?}")))?;
    pulse.await;
    trigger
        .set_low()
        .map_err(|e| DeviceError::Pin(format!("HC-SR04 TRIG: {e:?}")))?;

    let rising = next_edge_of(echo, EdgeKind::Rising, timeout).await?;
    // The echo started, so the sensor is there: an echo that outlasts the wait is the module
    // hearing nothing, not a failure.
    let falling = match next_edge_of(echo, EdgeKind::Falling, timeout.max(max_echo)).await {
        Ok(falling) => falling,
        Err(DeviceError::Timeout(_)) => {
            *echo_on = true;
            return Ok(Range::OutOfRange);
        }
        Err(e) => return Err(e),
    };
    let width = falling.at.checked_sub(rising.at).ok_or_else(|| {
        DeviceError::Protocol(format!(
            "HC-SR04 echo fell at {:?}, before it rose at {:?}",
            falling.at, rising.at
        ))
    })?;
    if width > max_echo {
        return Ok(Range::OutOfRange);
    }
    Ok(Range::Distance(
        width.as_secs_f32() * SPEED_OF_SOUND_M_PER_S / 2.0,
    ))
}

/// If the previous echo outlasted its wait (`echo_on`), waits for it to end (its fall may be
/// queued already): the module ignores a trigger while its echo is on. Call it before the
/// trigger pulse's delay is created, or the pulse is over before it starts. An echo that never
/// falls fails the next ping (no rising edge).
async fn end_of_echo<E: EdgeInput>(
    echo: &mut E,
    timeout: Duration,
    echo_on: &mut bool,
) -> Result<(), DeviceError> {
    if std::mem::take(echo_on) {
        match next_edge_of(echo, EdgeKind::Falling, timeout).await {
            Ok(_) | Err(DeviceError::Timeout(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits for the next edge of `kind`, skipping edges of the other kind, for at most `timeout`.
async fn next_edge_of<E: EdgeInput>(
    echo: &mut E,
    kind: EdgeKind,
    timeout: Duration,
) -> Result<Edge, DeviceError> {
    let wait = async {
        loop {
            let edge = echo
                .wait_for_edge()
                .await
                .map_err(|e| DeviceError::Pin(format!("HC-SR04 ECHO: {e:?}")))?;
            if edge.kind == kind {
                return Ok(edge);
            }
        }
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| DeviceError::Timeout(timeout))?
}

impl<T, E, D> RangeFinder for HcSr04<T, E, D>
where
    T: OutputPin + Send + 'static,
    E: EdgeInput + Send + 'static,
    D: SendDelay,
{
    fn measure(&mut self) -> BoxFuture<'_, Result<Range, DeviceError>> {
        Box::pin(async move {
            end_of_echo(&mut self.echo, self.timeout, &mut self.echo_on).await?;
            let pulse = self.delay.wait_us(Self::TRIGGER_US);
            ping(
                &mut self.trigger,
                &mut self.echo,
                pulse,
                self.timeout,
                self.max_echo,
                &mut self.echo_on,
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Delay};
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};

    use super::*;
    use crate::drivers::testing::{MockEdges, falling, rising};

    impl SendDelay for CheckedDelay {
        async fn wait_us(&mut self, us: u32) {
            embedded_hal_async::delay::DelayNs::delay_us(self, us).await;
        }
    }

    fn trigger_pulse() -> PinMock {
        PinMock::new(&[Pin::set(State::High), Pin::set(State::Low)])
    }

    fn ten_us() -> CheckedDelay {
        CheckedDelay::new(&[Delay::async_delay_us(10)])
    }

    fn meters(range: Range) -> f32 {
        range.meters().expect("a distance, not out of range")
    }

    #[tokio::test(start_paused = true)]
    async fn distance_is_half_the_echo_width_times_the_speed_of_sound() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        // 5.831 ms echo: 1.0 m there and back
        let echo = MockEdges::new(&[rising(1_000), falling(6_831)]);
        let mut sonar = HcSr04::new(trig.clone(), echo, delay.clone());

        let m = meters(sonar.measure().await.unwrap());
        assert!((m - 1.0).abs() < 1e-3, "{m}");

        let (_, echo, _) = sonar.release();
        assert_eq!(echo.clears, 1);
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn stale_edges_are_cleared_and_stray_fallings_skipped() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let echo = MockEdges::new(&[falling(50), rising(100), falling(1_266)])
            .with_stale(&[rising(0), falling(20_000)]);
        let mut sonar = HcSr04::new(trig.clone(), echo, delay.clone());

        // 1.166 ms: 0.2 m
        let m = meters(sonar.measure().await.unwrap());
        assert!((m - 0.2).abs() < 1e-3, "{m}");
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn no_echo_times_out_on_tokio_time() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let mut sonar = HcSr04::new(trig.clone(), MockEdges::new(&[]), delay.clone());

        let start = tokio::time::Instant::now();
        let err = sonar.measure().await.unwrap_err();
        assert_eq!(err, DeviceError::Timeout(Duration::from_millis(30)));
        assert_eq!(start.elapsed(), Duration::from_millis(30));
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn an_echo_that_outlasts_the_wait_is_out_of_range() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let echo = MockEdges::new(&[rising(0)]);
        let mut sonar =
            HcSr04::new(trig.clone(), echo, delay.clone()).with_timeout(Duration::from_millis(40));

        let start = tokio::time::Instant::now();
        assert_eq!(sonar.measure().await, Ok(Range::OutOfRange));
        assert_eq!(start.elapsed(), Duration::from_millis(40));
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_timeout_still_waits_out_the_longest_echo() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let echo = MockEdges::new(&[rising(0)]);
        let mut sonar =
            HcSr04::new(trig.clone(), echo, delay.clone()).with_timeout(Duration::from_millis(5));

        // The echo could still fall in range until the longest accepted echo (25 ms) is over.
        let start = tokio::time::Instant::now();
        assert_eq!(sonar.measure().await, Ok(Range::OutOfRange));
        assert_eq!(start.elapsed(), Duration::from_millis(25));
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn long_echoes_are_out_of_range() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        // the sensor's "nothing there" answer: about 38 ms
        let echo = MockEdges::new(&[rising(0), falling(38_000)]);
        let mut sonar = HcSr04::new(trig.clone(), echo, delay.clone());

        assert_eq!(sonar.measure().await, Ok(Range::OutOfRange));
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn the_longest_accepted_echo_is_still_a_distance() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let echo = MockEdges::new(&[rising(0), falling(20_000)]);
        let mut sonar =
            HcSr04::new(trig.clone(), echo, delay.clone()).with_max_echo(Duration::from_millis(20));

        // 20 ms there and back: 3.43 m
        let m = meters(sonar.measure().await.unwrap());
        assert!((m - 3.43).abs() < 1e-3, "{m}");
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn open_floor_in_the_simulation_is_out_of_range() {
        // 6.9 m of floor ahead of the sensor, past its 4 m: the module's 38 ms pulse, which
        // falls after the driver stopped waiting.
        let mut config = crate::sim::WorldConfig::empty(8.0, 3.0);
        config.start = crate::sim::Pose::new(1.0, 1.5, 0.0);
        let world = crate::sim::World::new(config);
        let (trigger, echo) = world.ultrasonic();
        let mut sonar = HcSr04::new(trigger, echo, TokioDelay);
        for _ in 0..3 {
            assert_eq!(sonar.measure().await, Ok(Range::OutOfRange));
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        // Back to back: each ping waits for the last 38 ms echo to end (the module ignores a
        // trigger until then), so none is lost.
        for _ in 0..3 {
            assert_eq!(sonar.measure().await, Ok(Range::OutOfRange));
        }

        // A box 2 m ahead is a distance again.
        let mut config = crate::sim::WorldConfig::empty(8.0, 3.0);
        config.start = crate::sim::Pose::new(1.0, 1.5, 0.0);
        config.obstacles.push(crate::sim::Obstacle::Rect {
            min: crate::sim::Point::new(3.1, 1.0),
            max: crate::sim::Point::new(3.2, 2.0),
        });
        let world = crate::sim::World::new(config);
        let (trigger, echo) = world.ultrasonic();
        let mut sonar = HcSr04::new(trigger, echo, TokioDelay);
        let m = meters(sonar.measure().await.unwrap());
        assert!((m - 2.0).abs() < 0.02, "{m}");
    }

    #[tokio::test(start_paused = true)]
    async fn echo_falling_before_rising_is_a_protocol_error() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let echo = MockEdges::new(&[rising(500), falling(400)]);
        let mut sonar = HcSr04::new(trig.clone(), echo, delay.clone());

        let err = sonar.measure().await.unwrap_err();
        assert!(matches!(err, DeviceError::Protocol(_)), "{err}");
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn works_as_a_boxed_range_finder_with_a_send_future() {
        let (mut trig, mut delay) = (trigger_pulse(), ten_us());
        let echo = MockEdges::new(&[rising(0), falling(2_915)]);
        let mut sonar: Box<dyn RangeFinder> =
            Box::new(HcSr04::new(trig.clone(), echo, delay.clone()));

        // Spawning proves the future is Send.
        let m = tokio::spawn(async move { sonar.measure().await })
            .await
            .unwrap()
            .unwrap();
        let m = meters(m);
        assert!((m - 0.5).abs() < 1e-3, "{m}");
        trig.done();
        delay.done();
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_delay_pulses_on_tokio_time() {
        let mut trig = trigger_pulse();
        let echo = MockEdges::new(&[rising(0), falling(583)]);
        let mut sonar = HcSr04::new(trig.clone(), echo, TokioDelay);

        let m = meters(RangeFinder::measure(&mut sonar).await.unwrap());
        assert!((m - 0.1).abs() < 1e-3, "{m}");
        trig.done();

        let mut trig = trigger_pulse();
        let mut sonar = HcSr04::new(trig.clone(), MockEdges::new(&[]), TokioDelay)
            .with_timeout(Duration::from_millis(5));
        let start = tokio::time::Instant::now();
        let m = sonar.measure().await;
        assert_eq!(m, Err(DeviceError::Timeout(Duration::from_millis(5))));
        // the pulse (rounded up to tokio's 1 ms tick) plus one timeout
        assert!(
            start.elapsed() >= Duration::from_millis(5),
            "{:?}",
            start.elapsed()
        );
        trig.done();
    }
}
