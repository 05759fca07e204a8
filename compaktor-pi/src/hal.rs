//! The two hardware traits robots need and embedded-hal 1.0 lacks: inputs that report edges with
//! timestamps (ultrasonic echo widths, encoders, debouncing) and PWM outputs whose frequency can
//! be set (servos at 50 Hz, motors at kHz). Everything else is plain embedded-hal; the backends
//! (`sim`, `backend::rppal`, `backend::linux`) implement these.

use std::time::Duration;

use embedded_hal::digital::ErrorType;
use embedded_hal::pwm::SetDutyCycle;

/// Which way a digital input changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// Low to high.
    Rising,
    /// High to low.
    Falling,
}

/// One change of a digital input, with the time it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Which way it changed.
    pub kind: EdgeKind,
    /// When, on a monotonic clock (the kernel's event timestamp on Linux; tokio's clock in the
    /// simulation). Only differences between two edges of one input are meaningful.
    pub at: Duration,
}

/// A digital input that reports edges with timestamps, so pulse widths are measured by the
/// kernel (or the simulation), not by when a task happened to wake up.
pub trait EdgeInput: ErrorType {
    /// Waits for the next edge. Edges that happen while nobody waits are queued, oldest first.
    fn wait_for_edge(&mut self) -> impl Future<Output = Result<Edge, Self::Error>> + Send;

    /// Drops queued edges (before starting a measurement).
    fn clear_edges(&mut self);

    /// Now, on the clock the edges are stamped with, if this input can read it: an edge's age
    /// is `now() - edge.at` (how long ago the button was pressed, for the E-stop's latency).
    fn now(&self) -> Option<Duration> {
        None
    }
}

/// A PWM output whose frequency can be set: servos want 50 Hz, DC motors kHz.
pub trait PwmOutput: SetDutyCycle {
    /// Sets the PWM frequency in hertz. The duty cycle, as a fraction, is kept.
    fn set_frequency(&mut self, hz: u32) -> Result<(), Self::Error>;

    /// The current PWM frequency in hertz.
    fn frequency(&self) -> u32;
}
