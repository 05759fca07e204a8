//! The obstacle avoider example, run as a test: over seeded arenas it never collides and
//! covers ground; killing its planner stops the motors within the watchdog window.

#[allow(dead_code)]
#[path = "../examples/obstacle_avoider.rs"]
mod obstacle_avoider;

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{MotorEvent, SafeCause};
use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
use compaktor_pi::device::Range;
use compaktor_pi::sim::{Pose, Side, World, WorldConfig};
use futures::StreamExt;
use obstacle_avoider::{Mode, Options, run, start_robot};

fn options(seed: u64, secs: u64) -> Options {
    Options {
        robot: None,
        seed,
        run_for: Some(Duration::from_secs(secs)),
        svg: None,
        progress: false,
    }
}

#[tokio::test(start_paused = true)]
async fn never_collides_and_covers_ground_over_seeded_arenas() {
    let mut total = 0.0;
    for seed in 1..=10 {
        let summary = run(options(seed, 90)).await.unwrap();
        assert_eq!(summary.collisions, 0, "seed {seed}: {summary:?}");
        assert!(summary.distance > 3.0, "seed {seed} drove only {summary:?}");
        assert!(summary.turns > 3, "seed {seed}: {summary:?}");
        assert!(summary.coverage > 0.05, "seed {seed}: {summary:?}");
        total += summary.distance;
        // Stopped in reverse start order: the planner first, the LED (started first) last.
        let order: Vec<&str> = summary.stopped.iter().map(|(a, _)| a.as_str()).collect();
        assert!(order[0].contains("planner") && order[order.len() - 1].contains("led"));
    }
    assert!(total > 100.0, "10 runs of 90 s drove {total:.1} m in all");
}

#[tokio::test(start_paused = true)]
async fn killing_the_planner_stops_the_motors_within_the_watchdog_window() {
    let config = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
    let window = Duration::from_millis(config.drive.watchdog_ms);
    let world = World::new(WorldConfig::arena(3));
    let _physics = world.start();
    let system = ActorSystem::new("test");
    let robot = start_robot(&system, &config, Some(&world), 3)
        .await
        .unwrap();
    let mut events = robot.motors[0].subscribe().await.unwrap();

    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = world.snapshot();
    assert!(
        before.wheel_speeds[0].abs() > 0.05,
        "the robot should be moving: {before:?}"
    );

    robot.planner.kill();
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
    let left = world.motor_pins(Side::Left).enable.fraction();
    let right = world.motor_pins(Side::Right).enable.fraction();
    assert_eq!((left, right), (0.0, 0.0));
    println!("watchdog stopped the motors {tripped:?} after the planner was killed");
}

#[tokio::test(start_paused = true)]
async fn open_floor_past_the_sonars_range_is_driven_into_not_a_halt() {
    // 8 m x 8 m and nothing in it, the robot at the middle of one side facing the other: 6.9 m
    // of open floor ahead, past the HC-SR04's 4 m, so the sonar reads "out of range" there.
    let mut arena = WorldConfig::empty(8.0, 8.0);
    arena.start = Pose::new(1.0, 4.0, 0.0);
    let world = World::new(arena);
    let _physics = world.start();
    let config = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
    let system = ActorSystem::new("test");
    let robot = start_robot(&system, &config, Some(&world), 1)
        .await
        .unwrap();

    // Let it look around once (it starts halted, then turns and sweeps before driving).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut halted, mut out_of_range, mut cruising) = (0, 0, 0);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (mode, last, _) = robot.planner.status().await.unwrap();
        halted += u32::from(mode == Mode::Halt);
        out_of_range += u32::from(last == Some(Range::OutOfRange));
        cruising += u32::from(mode == Mode::Cruise);
    }
    let stats = world.snapshot().stats;
    assert!(out_of_range > 0, "the sonar never read out of range");
    assert_eq!(halted, 0, "halted {halted} times in 10 s of open floor");
    assert!(cruising > 0, "never cruised");
    assert!(stats.distance > 1.0, "drove only {:.2} m", stats.distance);
    assert_eq!(stats.collisions, 0);
    robot.order.shutdown(Duration::from_secs(1)).await;
}
