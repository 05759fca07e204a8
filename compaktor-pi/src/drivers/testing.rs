//! Test doubles for our own traits ([`PwmOutput`], [`EdgeInput`]), which embedded-hal-mock cannot
//! know about. Duty cycles still go through embedded-hal-mock's PWM mock, so tests stay
//! transaction-exact.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_hal::digital::{ErrorType, InputPin};
use embedded_hal::pwm::SetDutyCycle;
use embedded_hal_mock::eh1::MockError;
use embedded_hal_mock::eh1::pwm;

use crate::hal::{Edge, EdgeInput, EdgeKind, PwmOutput};

/// embedded-hal-mock's PWM mock plus a frequency, with every `set_frequency` call logged.
#[derive(Debug, Clone)]
pub(crate) struct MockPwm {
    pub(crate) pwm: pwm::Mock,
    hz: u32,
    pub(crate) frequencies: Arc<Mutex<Vec<u32>>>,
}

impl MockPwm {
    pub(crate) fn new(expectations: &[pwm::Transaction]) -> Self {
        MockPwm {
            pwm: pwm::Mock::new(expectations),
            hz: 1_000,
            frequencies: Arc::default(),
        }
    }

    /// Checks that every duty-cycle expectation was used; returns the frequencies set.
    pub(crate) fn done(&mut self) -> Vec<u32> {
        self.pwm.done();
        self.frequencies.lock().unwrap().clone()
    }
}

impl embedded_hal::pwm::ErrorType for MockPwm {
    type Error = MockError;
}

impl SetDutyCycle for MockPwm {
    fn max_duty_cycle(&self) -> u16 {
        self.pwm.max_duty_cycle()
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Self::Error> {
        self.pwm.set_duty_cycle(duty)
    }
}

impl PwmOutput for MockPwm {
    fn set_frequency(&mut self, hz: u32) -> Result<(), Self::Error> {
        self.hz = hz;
        self.frequencies.lock().unwrap().push(hz);
        Ok(())
    }

    fn frequency(&self) -> u32 {
        self.hz
    }
}

/// A scripted edge input. Edges in `stale` are dropped by `clear_edges`; edges in `script` are
/// served in order afterwards; when both are empty, `wait_for_edge` never returns (so timeouts
/// fire on tokio's paused clock).
#[derive(Debug, Default)]
pub(crate) struct MockEdges {
    stale: VecDeque<Edge>,
    script: VecDeque<Edge>,
    pub(crate) clears: usize,
    pub(crate) level: bool,
}

impl MockEdges {
    pub(crate) fn new(script: &[Edge]) -> Self {
        MockEdges {
            script: script.iter().copied().collect(),
            ..MockEdges::default()
        }
    }

    pub(crate) fn with_stale(mut self, stale: &[Edge]) -> Self {
        self.stale = stale.iter().copied().collect();
        self
    }
}

impl ErrorType for MockEdges {
    type Error = MockError;
}

impl InputPin for MockEdges {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.level)
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.level)
    }
}

impl EdgeInput for MockEdges {
    async fn wait_for_edge(&mut self) -> Result<Edge, Self::Error> {
        let next = self.stale.pop_front().or_else(|| self.script.pop_front());
        match next {
            Some(edge) => {
                self.level = edge.kind == EdgeKind::Rising;
                Ok(edge)
            }
            None => std::future::pending().await,
        }
    }

    fn clear_edges(&mut self) {
        self.clears += 1;
        self.stale.clear();
    }
}

/// A rising edge at `us` microseconds.
pub(crate) fn rising(us: u64) -> Edge {
    Edge {
        kind: EdgeKind::Rising,
        at: Duration::from_micros(us),
    }
}

/// A falling edge at `us` microseconds.
pub(crate) fn falling(us: u64) -> Edge {
    Edge {
        kind: EdgeKind::Falling,
        at: Duration::from_micros(us),
    }
}
