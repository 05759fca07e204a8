//! The line follower example, run as a test: over seeded tracks it goes round the oval with
//! hardly a moment off the line; at the sharp corners of a square track it loses the line and
//! finds it again by turning towards where it was last seen; killing the follower stops the
//! motors within the watchdog window.

#[allow(dead_code)]
#[path = "../examples/line_follower.rs"]
mod line_follower;

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{MotorEvent, SafeCause};
use compaktor_pi::config::RobotConfig;
use compaktor_pi::sim::{LineTrack, Point, Pose, Side, World, WorldConfig};
use futures::StreamExt;
use line_follower::{LINE_FOLLOWER_ROBOT, Mode, Options, run, start_robot};

fn options(seed: u64, secs: u64) -> Options {
    Options {
        robot: None,
        seed,
        run_for: Some(Duration::from_secs(secs)),
        svg: None,
        progress: false,
    }
}

/// On the realistic robot (the example's world is `WorldConfig::line_track`, whose motors have
/// a deadband and do not match), laps and the time off the line stay within bounds.
#[tokio::test(start_paused = true)]
async fn goes_round_the_oval_over_seeded_tracks() {
    let model = WorldConfig::line_track(1).robot;
    assert!(
        model.deadband >= 0.1 && model.mismatch.abs() >= 0.05,
        "{model:?}"
    );
    for seed in 1..=4 {
        let summary = run(options(seed, 60)).await.unwrap();
        // 0.25 m/s on 7.3 m of track: a lap takes about 30 s.
        assert!(summary.laps >= 1, "seed {seed}: {summary:?}");
        assert!(summary.track_progress > 1.5, "seed {seed}: {summary:?}");
        assert!(
            summary.off_line_time < Duration::from_millis(500),
            "seed {seed}: {summary:?}"
        );
        assert_eq!(summary.lost, 0, "seed {seed}: {summary:?}");
        assert_eq!(summary.collisions, 0, "seed {seed}: {summary:?}");
        // Stopped in reverse start order: the follower first, the LED (started first) last.
        let order: Vec<&str> = summary.stopped.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(order.len(), 5, "{order:?}");
        assert!(
            order[0].contains("follower") && order[4].contains("led"),
            "{order:?}"
        );
    }
}

/// A square of tape, counter-clockwise from the middle of its bottom side: its corners are too
/// sharp to steer round, so the robot overshoots each one and has to search.
fn square_track(seed: u64) -> WorldConfig {
    let mut config = WorldConfig::empty(4.0, 3.0);
    config.seed = seed;
    let (x0, x1, y0, y1) = (0.8, 3.2, 0.7, 2.3);
    let track = LineTrack {
        points: vec![
            Point::new(2.0, y0),
            Point::new(x1, y0),
            Point::new(x1, y1),
            Point::new(x0, y1),
            Point::new(x0, y0),
        ],
        width: 0.019,
    };
    config.start = Pose::new(2.0, y0, 0.0);
    config.track = Some(track);
    config
}

#[tokio::test(start_paused = true)]
async fn finds_the_line_again_after_sharp_corners() {
    let config = RobotConfig::from_toml(LINE_FOLLOWER_ROBOT).unwrap();
    let world = World::new(square_track(2));
    let _physics = world.start();
    let system = ActorSystem::new("test");
    let robot = start_robot(&system, &config, Some(&world)).await.unwrap();

    let mut searched_right = false;
    for _ in 0..90 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let status = robot.follower.status().await.unwrap();
        searched_right |= status.mode == (Mode::Search { left: false });
    }
    let status = robot.follower.status().await.unwrap();
    let stats = world.snapshot().stats;
    system.shutdown(Duration::from_secs(1)).await;
    if let Ok(path) = std::env::var("LINE_FOLLOWER_SVG") {
        world.save_svg(path).unwrap();
    }
    // 8 m of track in 45 s: round once, losing the line at (nearly) every corner.
    assert!(status.lost >= 3, "{status:?} {stats:?}");
    assert!(!searched_right, "every corner turns left");
    assert!(stats.laps >= 1, "{status:?} {stats:?}");
    assert!(
        stats.off_line_time < Duration::from_secs(5),
        "{status:?} {stats:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn killing_the_follower_stops_the_motors_within_the_watchdog_window() {
    let config = RobotConfig::from_toml(LINE_FOLLOWER_ROBOT).unwrap();
    let window = Duration::from_millis(config.drive.watchdog_ms);
    let world = World::new(WorldConfig::line_track(3));
    let _physics = world.start();
    let system = ActorSystem::new("test");
    let robot = start_robot(&system, &config, Some(&world)).await.unwrap();
    let mut events = robot.motors[0].topic().await.unwrap().stream();

    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = world.snapshot();
    assert!(
        before.wheel_speeds[0].abs() > 0.05,
        "the robot should be moving: {before:?}"
    );

    robot.follower.kill();
    let killed_at = tokio::time::Instant::now();
    let tripped = loop {
        match tokio::time::timeout(window * 2, events.next()).await {
            Ok(Some(MotorEvent::SafeState(SafeCause::Watchdog { .. }))) => {
                break killed_at.elapsed();
            }
            Ok(Some(_)) => continue,
            other => panic!("no watchdog trip: {other:?}"),
        }
    };
    assert!(
        tripped <= window + window / 4 + Duration::from_millis(60),
        "{tripped:?}"
    );
    // The line sensor keeps running: only the motors' dead-man switch stopped them.
    assert!(robot.line.last().await.unwrap().is_some());
    let left = world.motor_pins(Side::Left).enable.fraction();
    let right = world.motor_pins(Side::Right).enable.fraction();
    assert_eq!((left, right), (0.0, 0.0));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let speeds = world.snapshot().wheel_speeds;
    assert!(speeds.iter().all(|v| v.abs() < 1e-6), "{speeds:?}");
    println!("watchdog stopped the motors {tripped:?} after the follower was killed");
}

#[tokio::test(start_paused = true)]
async fn a_motor_that_dies_stops_the_other_wheel_too() {
    let config = RobotConfig::from_toml(LINE_FOLLOWER_ROBOT).unwrap();
    let world = World::new(WorldConfig::line_track(3));
    let _physics = world.start();
    let system = ActorSystem::new("test");
    let robot = start_robot(&system, &config, Some(&world)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let left = || world.motor_pins(Side::Left).enable.fraction();
    assert!(left() > 0.05, "the robot should be moving");

    robot.motors[1].kill();
    robot.motors[1].stopped().await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(left(), 0.0, "the left wheel drove on alone");
    assert!(robot.estop.is_engaged());
    let status = robot.follower.status().await.unwrap();
    assert_eq!(status.mode, Mode::Halt);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(left(), 0.0);
}
