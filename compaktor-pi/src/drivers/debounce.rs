//! Buttons from bouncy edges: a mechanical contact chatters for a few milliseconds when pressed
//! or released. [`Debouncer`] turns timestamped [`Edge`]s into one [`ButtonEvent`] per press,
//! release and long press. Pure state: it reads no pin and starts no timer, so it works the same
//! on hardware and on tokio's paused clock.

use std::time::Duration;

use crate::hal::{Edge, EdgeKind};

/// What a button did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ButtonEvent {
    /// The button went down.
    Pressed,
    /// The button came up.
    Released,
    /// The button has been held down for the long-press time (once per press).
    LongPress,
}

/// Debounces one button from its edges.
///
/// An edge closer than `settle` to the last accepted edge is bounce and is ignored; so is an edge
/// that would not change the state (a second press while pressed). With `active_low` (a button
/// to ground with a pull-up, the usual wiring) a falling edge is a press.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use compaktor_pi::drivers::{ButtonEvent, Debouncer};
/// use compaktor_pi::hal::{Edge, EdgeKind};
///
/// let ms = Duration::from_millis;
/// let edge = |kind, at| Edge { kind, at: ms(at) };
/// let mut button = Debouncer::new(ms(20), ms(1_000), true);
///
/// assert_eq!(button.feed(edge(EdgeKind::Falling, 100)), Some(ButtonEvent::Pressed));
/// assert_eq!(button.feed(edge(EdgeKind::Rising, 102)), None); // bounce
/// assert_eq!(button.feed(edge(EdgeKind::Falling, 103)), None); // bounce
/// assert_eq!(button.poll_long_press(ms(900)), None);
/// assert_eq!(button.long_press_deadline(), Some(ms(1_100)));
/// assert_eq!(button.poll_long_press(ms(1_100)), Some(ButtonEvent::LongPress));
/// assert_eq!(button.poll_long_press(ms(1_500)), None); // once per press
/// assert_eq!(button.feed(edge(EdgeKind::Rising, 2_000)), Some(ButtonEvent::Released));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debouncer {
    /// Edges closer than this to the last accepted edge are bounce.
    pub settle: Duration,
    /// How long the button must be held for a [`ButtonEvent::LongPress`].
    pub long_press: Duration,
    /// Pressed is low (a falling edge presses), as with a button to ground and a pull-up.
    pub active_low: bool,
    /// When the last edge was accepted.
    last_accepted: Option<Duration>,
    /// When the current press began; `None` while released.
    pressed_at: Option<Duration>,
    /// Whether the current press has had its long press.
    long_press_sent: bool,
}

impl Default for Debouncer {
    /// 20 ms settle, 1 s long press, active low.
    fn default() -> Self {
        Debouncer::new(Duration::from_millis(20), Duration::from_secs(1), true)
    }
}

impl Debouncer {
    /// A debouncer for a button that is released now.
    pub fn new(settle: Duration, long_press: Duration, active_low: bool) -> Self {
        Debouncer {
            settle,
            long_press,
            active_low,
            last_accepted: None,
            pressed_at: None,
            long_press_sent: false,
        }
    }

    /// Whether the button is down, as far as the accepted edges tell.
    pub fn is_pressed(&self) -> bool {
        self.pressed_at.is_some()
    }

    /// Takes the pin's level when the button is first read (before any edge): a button held
    /// down at start is pressed, and [`ButtonEvent::Pressed`] is returned for it (a latching
    /// E-stop pressed at boot). It gets no long press, and the next edge is not bounce.
    ///
    /// ```
    /// use compaktor_pi::drivers::{ButtonEvent, Debouncer};
    ///
    /// let mut held = Debouncer::default(); // active low
    /// assert_eq!(held.start_level(false), Some(ButtonEvent::Pressed));
    /// assert!(held.is_pressed());
    /// assert_eq!(Debouncer::default().start_level(true), None);
    /// ```
    pub fn start_level(&mut self, high: bool) -> Option<ButtonEvent> {
        let pressed = high != self.active_low;
        self.last_accepted = None;
        self.long_press_sent = true;
        self.pressed_at = pressed.then_some(Duration::ZERO);
        pressed.then_some(ButtonEvent::Pressed)
    }

    /// Whether an edge goes the way a press does (falling, for an active-low button), bounce
    /// or not.
    pub fn is_press_edge(&self, edge: Edge) -> bool {
        (edge.kind == EdgeKind::Falling) == self.active_low
    }

    /// Feeds one edge; returns [`ButtonEvent::Pressed`] or [`ButtonEvent::Released`] when the
    /// edge is accepted, `None` for bounce and for edges that change nothing.
    pub fn feed(&mut self, edge: Edge) -> Option<ButtonEvent> {
        let pressed = self.is_press_edge(edge);
        self.accept(pressed, edge.at)
    }

    /// Compares the debounced state with the pin's level, read at `now`, and accepts the level
    /// if they differ and the last accepted edge has settled. Call it when an edge may have been
    /// lost (for example after ignoring the tail of a burst of bounce), so a stuck state heals.
    pub fn resync(&mut self, high: bool, now: Duration) -> Option<ButtonEvent> {
        self.accept(high != self.active_low, now)
    }

    /// Returns [`ButtonEvent::LongPress`] once per press, the first time it is called at or after
    /// [`long_press_deadline`](Self::long_press_deadline).
    pub fn poll_long_press(&mut self, now: Duration) -> Option<ButtonEvent> {
        let deadline = self.long_press_deadline()?;
        (now >= deadline).then(|| {
            self.long_press_sent = true;
            ButtonEvent::LongPress
        })
    }

    /// When the current press becomes a long press; `None` while released or once the long
    /// press has been reported. An actor sleeps until then and calls
    /// [`poll_long_press`](Self::poll_long_press).
    pub fn long_press_deadline(&self) -> Option<Duration> {
        match self.pressed_at {
            Some(at) if !self.long_press_sent => Some(at.saturating_add(self.long_press)),
            _ => None,
        }
    }

    fn accept(&mut self, pressed: bool, at: Duration) -> Option<ButtonEvent> {
        if let Some(last) = self.last_accepted {
            // Too close to the last accepted edge, or before it: bounce.
            match at.checked_sub(last) {
                Some(gap) if gap >= self.settle => {}
                _ => return None,
            }
        }
        if pressed == self.is_pressed() {
            return None;
        }
        self.last_accepted = Some(at);
        if pressed {
            self.pressed_at = Some(at);
            self.long_press_sent = false;
            Some(ButtonEvent::Pressed)
        } else {
            self.pressed_at = None;
            Some(ButtonEvent::Released)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn fall(at: u64) -> Edge {
        Edge {
            kind: EdgeKind::Falling,
            at: ms(at),
        }
    }

    fn rise(at: u64) -> Edge {
        Edge {
            kind: EdgeKind::Rising,
            at: ms(at),
        }
    }

    /// Feeds edges and collects the events.
    fn run(d: &mut Debouncer, edges: &[Edge]) -> Vec<ButtonEvent> {
        edges.iter().filter_map(|&e| d.feed(e)).collect()
    }

    #[test]
    fn bouncy_press_and_release_give_one_event_each() {
        let mut d = Debouncer::new(ms(20), ms(1_000), true);
        let edges = [
            fall(100),
            rise(101),
            fall(103),
            rise(104),
            fall(108), // press bounce
            rise(400),
            fall(401),
            rise(405), // release bounce
        ];
        assert_eq!(
            run(&mut d, &edges),
            [ButtonEvent::Pressed, ButtonEvent::Released]
        );
        assert!(!d.is_pressed());
    }

    #[test]
    fn active_high_buttons_press_on_rising_edges() {
        let mut d = Debouncer::new(ms(10), ms(500), false);
        assert_eq!(
            run(&mut d, &[rise(0), fall(3), rise(5), fall(200)]),
            [ButtonEvent::Pressed, ButtonEvent::Released]
        );
    }

    #[test]
    fn edges_exactly_settle_apart_are_accepted() {
        let mut d = Debouncer::new(ms(20), ms(1_000), true);
        assert_eq!(
            run(&mut d, &[fall(0), rise(19), rise(20), fall(40)]),
            [
                ButtonEvent::Pressed,
                ButtonEvent::Released,
                ButtonEvent::Pressed
            ]
        );
    }

    #[test]
    fn repeated_and_out_of_order_edges_change_nothing() {
        let mut d = Debouncer::default();
        assert_eq!(d.feed(rise(0)), None); // already released
        assert_eq!(d.feed(fall(100)), Some(ButtonEvent::Pressed));
        assert_eq!(d.feed(fall(200)), None); // already pressed
        assert_eq!(d.feed(rise(50)), None); // before the last accepted edge
        assert!(d.is_pressed());
    }

    #[test]
    fn long_press_fires_once_per_press_at_the_deadline() {
        let mut d = Debouncer::new(ms(20), ms(1_000), true);
        assert_eq!(d.poll_long_press(ms(5_000)), None); // not pressed
        assert_eq!(d.long_press_deadline(), None);

        d.feed(fall(100));
        assert_eq!(d.long_press_deadline(), Some(ms(1_100)));
        assert_eq!(d.poll_long_press(ms(1_099)), None);
        assert_eq!(d.poll_long_press(ms(1_100)), Some(ButtonEvent::LongPress));
        assert_eq!(d.poll_long_press(ms(1_200)), None);
        assert_eq!(d.long_press_deadline(), None);

        // releasing still reports the release; the next press gets its own long press
        assert_eq!(d.feed(rise(1_500)), Some(ButtonEvent::Released));
        assert_eq!(d.poll_long_press(ms(3_000)), None);
        d.feed(fall(2_000));
        assert_eq!(d.poll_long_press(ms(3_000)), Some(ButtonEvent::LongPress));
    }

    #[test]
    fn a_short_press_has_no_long_press() {
        let mut d = Debouncer::new(ms(20), ms(1_000), true);
        d.feed(fall(0));
        d.feed(rise(300));
        assert_eq!(d.poll_long_press(ms(2_000)), None);
    }

    #[test]
    fn bounce_during_a_long_hold_does_not_restart_it() {
        let mut d = Debouncer::new(ms(20), ms(1_000), true);
        let edges = [fall(0), rise(5), fall(8)];
        assert_eq!(run(&mut d, &edges), [ButtonEvent::Pressed]);
        assert_eq!(d.long_press_deadline(), Some(ms(1_000)));
    }

    #[test]
    fn resync_heals_a_lost_edge() {
        let mut d = Debouncer::new(ms(20), ms(1_000), true);
        d.feed(fall(0));
        // a noise spike was accepted as a release, and the re-press was lost in its bounce
        assert_eq!(d.feed(rise(30)), Some(ButtonEvent::Released));
        assert_eq!(d.feed(fall(31)), None);
        // the pin still reads low: too soon, then pressed again
        assert_eq!(d.resync(false, ms(40)), None);
        assert_eq!(d.resync(false, ms(60)), Some(ButtonEvent::Pressed));
        assert_eq!(d.resync(false, ms(100)), None);
    }
}
