//! Running a robot: the signal handler (Ctrl-C / SIGTERM) and the runtime for sim or hardware.
//! Stopping the actors is the runtime's [`ActorSystem::shutdown`](compaktor::ActorSystem::shutdown)
//! (the newest actor first, so actuators stop before the buses and sensors they use), with the
//! E-stop as its first step ([`crate::firmware::stop_robot`]).

use crate::config::BackendKind;

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
