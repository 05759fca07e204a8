//! The simulation's clock: paused (as fast as the CPU allows) with the `sim-clock` feature, real
//! time without it, so firmware built without the feature does not need tokio's `test-util`.

use std::time::Duration;

use compaktor_pi::config::BackendKind;
use compaktor_pi::robot::runtime_for;

/// Sleeps `robot_time` on the simulation's runtime; returns the robot time and the real time it
/// took, or `None` if it took more than a minute of real time.
fn real_time_of(robot_time: Duration) -> Option<(Duration, Duration)> {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = runtime_for(BackendKind::Sim).unwrap();
        let real = std::time::Instant::now();
        let robot = runtime.block_on(async {
            let start = tokio::time::Instant::now();
            tokio::time::sleep(robot_time).await;
            start.elapsed()
        });
        let _ = done.send((robot, real.elapsed()));
    });
    finished.recv_timeout(Duration::from_secs(60)).ok()
}

#[cfg(feature = "sim-clock")]
#[test]
fn with_sim_clock_an_hour_of_robot_time_passes_at_once() {
    let (robot, real) =
        real_time_of(Duration::from_secs(3600)).expect("an hour of robot time took a minute");
    assert!(robot >= Duration::from_secs(3600), "{robot:?}");
    assert!(real < Duration::from_secs(60), "{real:?}");
}

#[cfg(not(feature = "sim-clock"))]
#[test]
fn without_sim_clock_the_simulation_runs_in_real_time() {
    let (robot, real) = real_time_of(Duration::from_millis(5)).expect("5 ms took a minute");
    assert!(robot >= Duration::from_millis(5), "{robot:?}");
    assert!(real >= Duration::from_millis(5), "{real:?}");
}
