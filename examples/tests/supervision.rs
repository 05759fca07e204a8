//! The supervision example, run as a test: the sonar driver's crashes are restarted with its
//! device reopened while the planner and motors keep running; past the restart limit the robot
//! gives up with its motors at zero.

#[allow(dead_code)]
#[path = "../examples/supervision.rs"]
mod supervision;

use std::time::Duration;

use compaktor::StopReason;
use supervision::{MAX_RESTARTS, Options, SONAR_PERIOD, TICK, run};

#[tokio::test(start_paused = true)]
async fn the_sonar_restarts_and_the_robot_keeps_running() {
    let run_for = Duration::from_secs(10);
    let summary = run(Options {
        run_for,
        glitch_every: 30,
        progress: false,
    })
    .await
    .unwrap();

    // Every glitch restarted the driver: counted 1, 2, 3…, each for the panic of its
    // predecessor, and each on read 30 of its device: the factory opened a fresh one.
    assert!(summary.restarts.len() >= 3, "{summary:#?}");
    for (i, (at, count, reason)) in summary.restarts.iter().enumerate() {
        assert_eq!(*count as usize, i + 1, "{summary:#?}");
        assert!(
            matches!(reason, StopReason::Panicked { handler: "measure", message }
                if message == "bus glitch: echo line stuck high on read 30"),
            "restart {count} at {at:?}: {reason:?}"
        );
    }
    assert!(summary.robot_failed.is_none(), "{summary:#?}");

    // Distances kept coming, also after the last restart, and most reads got through.
    let (last_restart, ..) = summary.restarts.last().unwrap();
    let last_reading = summary.last_reading.expect("readings");
    assert!(last_reading > *last_restart, "{summary:#?}");
    let reads = (run_for.as_millis() / SONAR_PERIOD.as_millis()) as u64;
    assert!(summary.planner.readings > reads * 3 / 4, "{summary:#?}");

    // The planner never stopped deciding, and the robot drove: halted only while blind.
    let ticks = (run_for.as_millis() / TICK.as_millis()) as u64;
    assert!(summary.planner.ticks >= ticks - 1, "{summary:#?}");
    assert!(summary.planner.blind_ticks < ticks / 5, "{summary:#?}");
    assert!(summary.distance > 1.5, "{summary:#?}");
    assert_eq!(summary.collisions, 0, "{summary:#?}");
    assert_eq!(
        summary.paths,
        [
            "/robot",
            "/robot/led",
            "/robot/left_motor",
            "/robot/planner",
            "/robot/right_motor",
            "/robot/sonar"
        ]
    );

    // The shutdown stopped all six, in time, and the motors are at zero.
    let report = &summary.shutdown;
    assert_eq!(report.stopped, 6, "{report:?}");
    assert_eq!(
        (report.killed, report.still_running, report.deadline_passed),
        (0, 0, false),
        "{report:?}"
    );
    assert_eq!(summary.duty_at_end, [0.0, 0.0]);
}

#[tokio::test(start_paused = true)]
async fn past_the_restart_limit_the_robot_gives_up_with_its_motors_at_zero() {
    let summary = run(Options {
        run_for: Duration::from_secs(10),
        glitch_every: 2,
        progress: false,
    })
    .await
    .unwrap();

    assert_eq!(
        summary.restarts.len(),
        MAX_RESTARTS as usize,
        "{summary:#?}"
    );
    let failed = summary.robot_failed.as_ref().expect("the robot gave up");
    assert!(
        matches!(failed, StopReason::Escalated { child, reason }
            if child.name.as_deref() == Some("sonar")
                && matches!(**reason, StopReason::Panicked { handler: "measure", .. })),
        "{failed:?}"
    );
    assert!(summary.time < Duration::from_secs(10), "{summary:#?}");
    // Its children stopped with it: nothing was left for the shutdown, motors at zero.
    assert_eq!(summary.shutdown.stopped, 0, "{:?}", summary.shutdown);
    assert_eq!(summary.shutdown.still_running, 0, "{:?}", summary.shutdown);
    assert_eq!(summary.duty_at_end, [0.0, 0.0]);
}
