//! Safety: the E-stop that puts every actuator in its safe state at once, ahead of any queued
//! work. Actuator actors register their safe-state action here when they start; each action
//! reaches the hardware directly (not through the mailbox), so a motor stops even while its actor
//! is busy or its mailbox is full. The dead-man watchdog lives with each actuator actor.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::device::DeviceError;
use crate::lock;

type SafeAction = Arc<dyn Fn() -> Result<(), DeviceError> + Send + Sync>;

/// The robot's emergency stop. Clone it into every actuator and into whatever may pull it (a
/// button, a planner, a signal handler).
///
/// ```
/// use compaktor_pi::safety::EStop;
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
///
/// let estop = EStop::new();
/// let stopped = Arc::new(AtomicBool::new(false));
/// let flag = stopped.clone();
/// let _registration = estop.register("left motor", move || {
///     flag.store(true, Ordering::SeqCst); // duty 0 on the real pin
///     Ok(())
/// });
/// let report = estop.trigger("bumper hit");
/// assert!(stopped.load(Ordering::SeqCst));
/// assert!(estop.is_engaged());
/// assert_eq!(report.actuators.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct EStop {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    engaged: AtomicBool,
    next_id: AtomicU64,
    actuators: Mutex<Vec<(u64, String, SafeAction)>>,
    last_report: Mutex<Option<EStopReport>>,
}

impl EStop {
    /// A new, released E-stop with no actuators.
    pub fn new() -> Self {
        EStop::default()
    }

    /// Registers an actuator's safe-state action. It runs on [`trigger`](Self::trigger) until
    /// the returned registration is dropped.
    pub fn register(
        &self,
        name: impl Into<String>,
        action: impl Fn() -> Result<(), DeviceError> + Send + Sync + 'static,
    ) -> Registration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.actuators_list()
            .push((id, name.into(), Arc::new(action)));
        Registration {
            estop: self.clone(),
            id,
        }
    }

    /// Puts every registered actuator in its safe state now, on the calling thread, and keeps
    /// the E-stop engaged (actuators refuse commands) until [`reset`](Self::reset). The report
    /// is logged at warn level and kept ([`last_report`](Self::last_report)).
    pub fn trigger(&self, reason: &str) -> EStopReport {
        self.trigger_since(reason, None)
    }

    /// As [`trigger`](Self::trigger), for a cause that happened `ago` before this call (a
    /// button's edge, stamped by the kernel): the report's
    /// [`since_cause`](EStopReport::since_cause) is the whole latency, from the cause to the
    /// last actuator's safe state.
    ///
    /// ```
    /// use std::time::Duration;
    /// use compaktor_pi::safety::EStop;
    ///
    /// let estop = EStop::new();
    /// let _motor = estop.register("motor", || Ok(()));
    /// let report = estop.trigger_since("bumper hit", Some(Duration::from_millis(3)));
    /// let whole = report.since_cause.unwrap();
    /// assert_eq!(whole, Duration::from_millis(3) + report.latency);
    /// assert!(estop.last_report().is_some());
    /// ```
    pub fn trigger_since(&self, reason: &str, ago: Option<Duration>) -> EStopReport {
        let started = Instant::now();
        self.inner.engaged.store(true, Ordering::SeqCst);
        let actions: Vec<(String, SafeAction)> = self
            .actuators_list()
            .iter()
            .map(|(_, name, action)| (name.clone(), action.clone()))
            .collect();
        let actuators = actions
            .into_iter()
            .map(|(name, action)| (name, action()))
            .collect();
        let latency = started.elapsed();
        let report = EStopReport {
            reason: reason.to_owned(),
            latency,
            since_cause: ago.map(|ago| ago + latency),
            actuators,
        };
        tracing::warn!(%report, "E-stop");
        *lock(&self.inner.last_report) = Some(report.clone());
        report
    }

    /// The report of the last [`trigger`](Self::trigger), if it was ever pulled: what stopped
    /// the robot, and how fast.
    pub fn last_report(&self) -> Option<EStopReport> {
        lock(&self.inner.last_report).clone()
    }

    /// Whether the E-stop is engaged.
    pub fn is_engaged(&self) -> bool {
        self.inner.engaged.load(Ordering::SeqCst)
    }

    /// Releases the E-stop: actuators take commands again (they stay in their safe state until
    /// commanded).
    pub fn reset(&self) {
        self.inner.engaged.store(false, Ordering::SeqCst);
    }

    /// Names of the registered actuators.
    pub fn actuators(&self) -> Vec<String> {
        self.actuators_list()
            .iter()
            .map(|(_, name, _)| name.clone())
            .collect()
    }

    fn actuators_list(&self) -> std::sync::MutexGuard<'_, Vec<(u64, String, SafeAction)>> {
        lock(&self.inner.actuators)
    }
}

impl fmt::Debug for EStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EStop")
            .field("engaged", &self.is_engaged())
            .field("actuators", &self.actuators())
            .finish()
    }
}

/// Keeps an actuator registered with the E-stop; dropping it unregisters.
#[derive(Debug)]
#[must_use = "dropping the registration unregisters the actuator at once"]
pub struct Registration {
    estop: EStop,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.estop
            .actuators_list()
            .retain(|(id, _, _)| *id != self.id);
    }
}

/// What an E-stop did.
#[derive(Debug, Clone)]
pub struct EStopReport {
    /// Why it was pulled.
    pub reason: String,
    /// From the call until every actuator's safe-state action had returned.
    pub latency: Duration,
    /// From the cause (a button's edge, as the kernel stamped it) until every actuator's
    /// safe-state action had returned, when the cause's time is known
    /// ([`EStop::trigger_since`]).
    pub since_cause: Option<Duration>,
    /// Each actuator and how its safe-state action went.
    pub actuators: Vec<(String, Result<(), DeviceError>)>,
}

impl EStopReport {
    /// Whether every actuator reached its safe state.
    pub fn all_safe(&self) -> bool {
        self.actuators.iter().all(|(_, r)| r.is_ok())
    }
}

impl fmt::Display for EStopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "E-stop ({}): {} actuators safe in {:?}",
            self.reason,
            self.actuators.iter().filter(|(_, r)| r.is_ok()).count(),
            self.latency
        )?;
        if let Some(whole) = self.since_cause {
            write!(f, ", {whole:?} after the cause")?;
        }
        for (name, result) in &self.actuators {
            if let Err(e) = result {
                write!(f, "; {name} FAILED: {e}")?;
            }
        }
        Ok(())
    }
}
