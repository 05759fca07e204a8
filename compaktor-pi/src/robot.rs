//! Running a robot: actors started in order and stopped in reverse, so actuators stop before the
//! buses and sensors they use; and the signal handler that does it on Ctrl-C / SIGTERM.

use std::time::Duration;

use compaktor::{Actor, ActorRef, StopReason};

use crate::config::BackendKind;
use futures::future::BoxFuture;

/// An actor of any type, as far as stopping it goes.
trait Stoppable: Send + Sync {
    fn label(&self) -> String;
    fn stop(&self);
    fn kill(&self);
    fn stopped(&self) -> BoxFuture<'static, StopReason>;
}

impl<A: Actor> Stoppable for ActorRef<A> {
    fn label(&self) -> String {
        self.label().to_string()
    }
    fn stop(&self) {
        ActorRef::stop(self);
    }
    fn kill(&self) {
        ActorRef::kill(self);
    }
    fn stopped(&self) -> BoxFuture<'static, StopReason> {
        Box::pin(ActorRef::stopped(self))
    }
}

/// The actors of a robot in the order they were started.
///
/// ```
/// # use compaktor::prelude::*;
/// # use compaktor_pi::robot::StartOrder;
/// # struct Bus; #[actor] impl Bus {}
/// # struct Motor; #[actor] impl Motor {}
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let system = ActorSystem::new("robot");
/// let mut order = StartOrder::default();
/// order.push(&system.spawn(Bus));   // buses first
/// order.push(&system.spawn(Motor)); // then what uses them
/// let report = order.shutdown(std::time::Duration::from_secs(1)).await; // motor first
/// assert_eq!(report.len(), 2);
/// # }
/// ```
#[derive(Default)]
pub struct StartOrder {
    actors: Vec<Box<dyn Stoppable>>,
}

impl std::fmt::Debug for StartOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.actors.iter().map(|a| a.label()))
            .finish()
    }
}

impl StartOrder {
    /// Records an actor as started (after those pushed before it).
    pub fn push<A: Actor>(&mut self, actor: &ActorRef<A>) {
        self.actors.push(Box::new(actor.clone()));
    }

    /// Stops every actor in reverse start order, each after the one started after it has
    /// stopped; one that does not stop within `deadline` is killed. Returns each actor's label
    /// and stop reason, in the order they stopped.
    pub async fn shutdown(self, deadline: Duration) -> Vec<(String, StopReason)> {
        let mut report = Vec::with_capacity(self.actors.len());
        for actor in self.actors.into_iter().rev() {
            actor.stop();
            let reason = match tokio::time::timeout(deadline, actor.stopped()).await {
                Ok(reason) => reason,
                Err(_) => {
                    actor.kill();
                    actor.stopped().await
                }
            };
            tracing::info!(actor = %actor.label(), %reason, "stopped");
            report.push((actor.label(), reason));
        }
        report
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// The tokio runtime a robot on `backend` runs on. Real hardware gets a multi-thread runtime in
/// real time. The simulation gets a current-thread runtime; with the `sim-clock` feature its
/// clock is paused, so it runs as fast as the CPU allows and the same seed gives the same run
/// (the examples enable it). Without the feature the simulation runs in real time, and firmware
/// does not link tokio's `test-util`.
///
/// ```
/// use compaktor_pi::config::BackendKind;
/// use compaktor_pi::robot::runtime_for;
///
/// let runtime = runtime_for(BackendKind::Sim)?;
/// let robot_time = runtime.block_on(async {
///     let start = tokio::time::Instant::now();
///     tokio::time::sleep(std::time::Duration::from_millis(20)).await;
///     start.elapsed()
/// });
/// assert!(robot_time >= std::time::Duration::from_millis(20));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// If tokio cannot build the runtime (out of threads or file descriptors).
pub fn runtime_for(backend: BackendKind) -> std::io::Result<tokio::runtime::Runtime> {
    match backend {
        BackendKind::Sim => sim_runtime(),
        BackendKind::Rppal | BackendKind::Linux => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
}

/// The simulation's runtime: current-thread, on tokio's paused clock.
#[cfg(feature = "sim-clock")]
fn sim_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

/// The simulation's runtime: current-thread, in real time (no `sim-clock` feature).
#[cfg(not(feature = "sim-clock"))]
fn sim_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
