//! The dead-man watchdog: a motor that gets no command within its window goes to its safe state
//! by itself (duty 0) and reports it with `MotorEvent::SafeState(SafeCause::Watchdog { .. })`.
//! The motor checks every quarter window, so it reacts between `window` and `window * 5 / 4`
//! after the last command.

use std::time::Duration;

use compaktor::TopicStream;
use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig, MotorEvent, SafeCause};
use compaktor_pi::drivers::L298n;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_millis(200);

fn sim_motor(world: &World, watchdog: Option<Duration>) -> Motor {
    let pins = world.motor_pins(Side::Left);
    let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    let config = MotorConfig {
        watchdog,
        ..MotorConfig::new("left")
    };
    Motor::new(Box::new(bridge), EStop::new(), config)
}

fn duty(world: &World) -> f64 {
    world.motor_pins(Side::Left).enable.fraction()
}

/// Waits for the next safe-state event, skipping speed changes.
async fn next_safe_state(events: &mut TopicStream<MotorEvent>) -> SafeCause {
    loop {
        match events.next().await.expect("the motor stopped") {
            MotorEvent::SafeState(cause) => return cause,
            MotorEvent::Speed(_) | MotorEvent::Braked => {}
        }
    }
}

/// Events already published, without waiting.
fn drain(events: &mut TopicStream<MotorEvent>) -> Vec<MotorEvent> {
    std::iter::from_fn(|| events.next().now_or_never().flatten()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_silent_motor_goes_safe_within_the_window_and_reports_it() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("watchdog");
    let motor = system.start(sim_motor(&world, Some(WINDOW))).await.unwrap();
    let mut events = motor.topic().await.unwrap().stream();

    // Start at an odd instant, so the command does not fall on a watchdog tick.
    tokio::time::sleep(Duration::from_millis(37)).await;
    motor.set_speed(0.5).await.unwrap();
    let last_command = Instant::now();
    assert!((duty(&world) - 0.5).abs() < 1e-6);

    let cause = tokio::time::timeout(WINDOW * 2, next_safe_state(&mut events))
        .await
        .expect("no watchdog trip within two windows");
    let reaction = last_command.elapsed();
    println!("watchdog reaction (paused clock, window {WINDOW:?}): {reaction:?}");

    let SafeCause::Watchdog { silent_for } = cause else {
        panic!("expected a watchdog trip, got {cause:?}");
    };
    assert!(silent_for > WINDOW, "{silent_for:?}");
    assert!(reaction > WINDOW, "tripped early: {reaction:?}");
    assert!(
        reaction <= WINDOW + WINDOW / 4,
        "tripped late: {reaction:?}"
    );
    assert_eq!(duty(&world), 0.0);
    assert_eq!(motor.speed().await.unwrap(), 0.0);
    assert!(
        motor.is_alive(),
        "the watchdog stops the motor, not the actor"
    );
}

/// Where the last command falls between two watchdog checks decides the reaction time: sweep
/// it over one check period and report the range.
#[tokio::test(start_paused = true)]
async fn reaction_time_over_every_command_phase() {
    let mut reactions = Vec::new();
    for offset_ms in (0..50).step_by(5) {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let system = ActorSystem::new("watchdog");
        let motor = system.start(sim_motor(&world, Some(WINDOW))).await.unwrap();
        let mut events = motor.topic().await.unwrap().stream();
        tokio::time::sleep(Duration::from_millis(offset_ms)).await;
        motor.set_speed(0.5).await.unwrap();
        let last_command = Instant::now();
        let cause = next_safe_state(&mut events).await;
        let reaction = last_command.elapsed();
        assert!(matches!(cause, SafeCause::Watchdog { .. }), "{cause:?}");
        assert_eq!(duty(&world), 0.0);
        assert!(
            reaction > WINDOW && reaction <= WINDOW + WINDOW / 4,
            "offset {offset_ms} ms: {reaction:?}"
        );
        reactions.push(reaction);
    }
    let (min, max) = (
        reactions.iter().min().unwrap(),
        reactions.iter().max().unwrap(),
    );
    println!(
        "watchdog reaction (paused clock, window {WINDOW:?}) over all phases: {min:?} ..= {max:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn commands_every_100ms_keep_it_running_for_2s() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("watchdog");
    let motor = system.start(sim_motor(&world, Some(WINDOW))).await.unwrap();
    let mut events = motor.topic().await.unwrap().stream();

    let began = Instant::now();
    let mut feed = tokio::time::interval(Duration::from_millis(100));
    while began.elapsed() < Duration::from_secs(2) {
        feed.tick().await;
        motor.set_speed(0.5).await.unwrap();
        assert!(
            (duty(&world) - 0.5).abs() < 1e-6,
            "at {:?}",
            began.elapsed()
        );
    }
    // Let a couple of watchdog checks run after the last command, still within the window.
    tokio::time::sleep(WINDOW / 2).await;
    assert!((duty(&world) - 0.5).abs() < 1e-6);
    assert_eq!(drain(&mut events), [MotorEvent::Speed(0.5)]);

    // Then silence trips it.
    let cause = next_safe_state(&mut events).await;
    assert!(matches!(cause, SafeCause::Watchdog { .. }), "{cause:?}");
    assert_eq!(duty(&world), 0.0);
}

#[tokio::test(start_paused = true)]
async fn a_new_command_rearms_the_watchdog() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("watchdog");
    let motor = system.start(sim_motor(&world, Some(WINDOW))).await.unwrap();
    let mut events = motor.topic().await.unwrap().stream();

    for round in 0..3 {
        motor.set_speed(-0.4).await.unwrap();
        assert!((duty(&world) - 0.4).abs() < 1e-6, "round {round}");
        let cause = next_safe_state(&mut events).await;
        assert!(matches!(cause, SafeCause::Watchdog { .. }), "{cause:?}");
        assert_eq!(duty(&world), 0.0);
    }
    // Once safe, it stays quiet: one report per trip, not one per check.
    tokio::time::sleep(WINDOW * 5).await;
    assert_eq!(drain(&mut events), []);
}

#[tokio::test(start_paused = true)]
async fn without_a_watchdog_a_silent_motor_keeps_going() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("watchdog");
    let motor = system.start(sim_motor(&world, None)).await.unwrap();
    let mut events = motor.topic().await.unwrap().stream();
    motor.set_speed(0.5).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!((duty(&world) - 0.5).abs() < 1e-6);
    assert_eq!(drain(&mut events), [MotorEvent::Speed(0.5)]);
}

/// The same trip on the real clock and a multi-thread runtime, to quote a wall-clock number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clock_reaction_time() {
    let window = Duration::from_millis(100);
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("watchdog");
    let motor = system.start(sim_motor(&world, Some(window))).await.unwrap();
    let mut events = motor.topic().await.unwrap().stream();

    motor.set_speed(0.5).await.unwrap();
    let last_command = std::time::Instant::now();
    let cause = tokio::time::timeout(window * 10, next_safe_state(&mut events))
        .await
        .expect("no watchdog trip within ten windows");
    let reaction = last_command.elapsed();
    println!("watchdog reaction (real clock, multi-thread, window {window:?}): {reaction:?}");
    assert!(matches!(cause, SafeCause::Watchdog { .. }), "{cause:?}");
    assert!(reaction > window, "tripped early: {reaction:?}");
    assert_eq!(duty(&world), 0.0);
}
