//! The wires between the world and its pins: shared signal state that a pin writes and the
//! physics reads (outputs, PWM), or that the world writes and pins read (inputs, with their
//! edges fanned out to every subscribed `SimEdgeInput`). Locks here are leaves: nothing is
//! locked while one of them is held.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::hal::{Edge, EdgeKind};
use crate::lock;

/// A digital output wire: its level and when it last changed.
#[derive(Debug)]
pub(crate) struct OutputLine {
    state: Mutex<OutputState>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputState {
    pub(crate) high: bool,
    /// When it last changed, on tokio's clock and on the wall clock (a driver may hold a pin
    /// with a blocking delay, which tokio's paused clock does not see).
    pub(crate) since: (tokio::time::Instant, std::time::Instant),
}

impl OutputLine {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(OutputLine {
            state: Mutex::new(OutputState {
                high: false,
                since: (tokio::time::Instant::now(), std::time::Instant::now()),
            }),
        })
    }

    pub(crate) fn is_high(&self) -> bool {
        lock(&self.state).high
    }

    /// Sets the level; returns the state before.
    pub(crate) fn set(&self, high: bool) -> OutputState {
        let mut s = lock(&self.state);
        let before = *s;
        if s.high != high {
            *s = OutputState {
                high,
                since: (tokio::time::Instant::now(), std::time::Instant::now()),
            };
        }
        before
    }
}

/// A PWM wire: duty (out of `max`) and frequency.
#[derive(Debug)]
pub(crate) struct PwmLine {
    state: Mutex<PwmState>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PwmState {
    pub(crate) duty: u16,
    pub(crate) max: u16,
    pub(crate) hz: u32,
}

impl PwmState {
    pub(crate) fn fraction(&self) -> f64 {
        f64::from(self.duty) / f64::from(self.max)
    }
}

impl PwmLine {
    pub(crate) fn new(max: u16, hz: u32) -> Arc<Self> {
        Arc::new(PwmLine {
            state: Mutex::new(PwmState { duty: 0, max, hz }),
        })
    }

    pub(crate) fn get(&self) -> PwmState {
        *lock(&self.state)
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut PwmState)) {
        f(&mut lock(&self.state));
    }
}

/// A digital input wire driven by the world; every level change becomes an [`Edge`] for each
/// subscriber.
#[derive(Debug)]
pub(crate) struct InputLine {
    state: Mutex<InputState>,
}

#[derive(Debug)]
struct InputState {
    high: bool,
    subscribers: Vec<mpsc::UnboundedSender<Edge>>,
}

impl InputLine {
    pub(crate) fn new(high: bool) -> Arc<Self> {
        Arc::new(InputLine {
            state: Mutex::new(InputState {
                high,
                subscribers: Vec::new(),
            }),
        })
    }

    pub(crate) fn is_high(&self) -> bool {
        lock(&self.state).high
    }

    /// A new receiver of this line's future edges.
    pub(crate) fn subscribe(&self) -> mpsc::UnboundedReceiver<Edge> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.state).subscribers.push(tx);
        rx
    }

    /// Drives the line; on a change, sends the edge stamped `at` to every live subscriber.
    pub(crate) fn set(&self, high: bool, at: Duration) {
        let mut s = lock(&self.state);
        if s.high == high {
            return;
        }
        s.high = high;
        let kind = if high {
            EdgeKind::Rising
        } else {
            EdgeKind::Falling
        };
        s.subscribers
            .retain(|tx| tx.send(Edge { kind, at }).is_ok());
    }
}
