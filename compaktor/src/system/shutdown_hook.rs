//! Steps that run when a system's shutdown begins, before any actor is told to stop
//! ([`ActorSystem::on_shutdown`]): a robot's safety step (every motor to its safe state at
//! once) must not wait for the actors to stop one by one. The shutdown itself lives in
//! `shutdown`.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

use crate::ActorSystem;

type Step = Box<dyn FnOnce() + Send>;

/// A system's shutdown steps, in the order they were registered.
#[derive(Default)]
pub(crate) struct ShutdownHooks {
    steps: Mutex<Vec<(String, Step)>>,
}

impl ShutdownHooks {
    /// Runs every step registered so far, once, in registration order. A step that panics is
    /// logged and counted, and the others still run. Returns the names of those that panicked.
    pub(crate) fn run(&self) -> Vec<String> {
        let steps = std::mem::take(&mut *self.steps.lock().unwrap_or_else(PoisonError::into_inner));
        let mut panicked = Vec::new();
        for (name, step) in steps {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(step)) {
                let message = crate::actor::stop_reason::panic_message(payload.as_ref());
                tracing::error!(step = %name, %message, "a shutdown step panicked");
                panicked.push(name);
            }
        }
        panicked
    }
}

impl fmt::Debug for ShutdownHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = self.steps.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_list()
            .entries(steps.iter().map(|(name, _)| name))
            .finish()
    }
}

impl ActorSystem {
    /// Registers `step`, named `name` for logs and the report, to run when
    /// [`shutdown`](Self::shutdown) begins: before any actor is told to stop, in the order the
    /// steps were registered, each once. A robot registers its safety step here (its E-stop:
    /// every motor at duty 0 at once), so the motors are safe before the planner, the sensors
    /// and the motors' own actors stop one by one. A step that panics is logged at error level
    /// and named in [`ShutdownReport::panicked_steps`](crate::ShutdownReport::panicked_steps);
    /// the other steps and the shutdown still run.
    ///
    /// A step registered after the shutdown began runs at the next `shutdown` call.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use compaktor::prelude::*;
    /// use std::time::Duration;
    ///
    /// struct Planner { log: Arc<Mutex<Vec<&'static str>>> }
    /// #[actor]
    /// impl Planner {
    ///     #[on_stop]
    ///     fn stopped(&mut self) { self.log.lock().unwrap().push("planner stopped"); }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let system = ActorSystem::new("robot");
    /// let _planner = system.spawn(Planner { log: log.clone() });
    /// let safety = log.clone();
    /// system.on_shutdown("motors off", move || safety.lock().unwrap().push("motors off"));
    ///
    /// system.shutdown(Duration::from_secs(1)).await;
    /// assert_eq!(*log.lock().unwrap(), ["motors off", "planner stopped"]);
    /// # }
    /// ```
    pub fn on_shutdown(&self, name: impl Into<String>, step: impl FnOnce() + Send + 'static) {
        self.shutdown_hooks()
            .steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.into(), Box::new(step)));
    }
}
