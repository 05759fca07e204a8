//! The E-stop: one call puts every registered actuator in its safe state at once, on the
//! caller's thread, ahead of whatever is queued in the actors' mailboxes, and reports how long
//! it took. Queued and later commands are refused until `reset()`.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{self, Button, Motor, MotorConfig, MotorError, ServoError};
use compaktor_pi::device::DeviceError;
use compaktor_pi::drivers::{self, ButtonEvent, Debouncer, EdgeDevice, L298n, ServoLimits};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::{FutureExt, StreamExt};

fn motor_config(name: &str) -> MotorConfig {
    MotorConfig {
        watchdog: None, // these tests are about the E-stop alone
        ..MotorConfig::new(name)
    }
}

fn sim_motor(world: &World, side: Side, estop: &EStop, config: MotorConfig) -> Motor {
    let pins = world.motor_pins(side);
    let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    Motor::new(Box::new(bridge), estop.clone(), config)
}

fn sim_servo(world: &World, estop: &EStop) -> actors::Servo {
    let driver = drivers::PwmServo::new(world.servo()).unwrap();
    actors::Servo::new(
        "pan",
        Box::new(driver),
        ServoLimits::default(),
        estop.clone(),
    )
}

fn duty(world: &World, side: Side) -> f64 {
    world.motor_pins(side).enable.fraction()
}

#[track_caller]
fn assert_duty(world: &World, side: Side, expected: f64) {
    let duty = duty(world, side);
    assert!(
        (duty - expected).abs() < 1e-6,
        "{side:?} duty {duty}, expected {expected}"
    );
}

/// `#[tokio::test]` runs on a current-thread runtime: between two `.await`s of this test no
/// actor runs, so whatever the E-stop changed before the next `.await` it changed by itself,
/// not through a mailbox.
#[tokio::test(start_paused = true)]
async fn estop_cuts_every_actuator_ahead_of_queued_commands() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("estop");
    let estop = EStop::new();
    let left = system
        .builder(sim_motor(&world, Side::Left, &estop, motor_config("left")))
        .mailbox(Mailbox::bounded(4))
        .start()
        .await
        .unwrap();
    let right = system
        .start(sim_motor(
            &world,
            Side::Right,
            &estop,
            motor_config("right"),
        ))
        .await
        .unwrap();
    let servo = system.start(sim_servo(&world, &estop)).await.unwrap();
    assert_eq!(estop.actuators(), ["left", "right", "pan"]);

    left.set_speed(0.6).await.unwrap();
    right.set_speed(-0.6).await.unwrap();
    servo.set_angle(90.0).await.unwrap();
    assert_duty(&world, Side::Left, 0.6);
    assert_duty(&world, Side::Right, 0.6);
    assert_eq!(world.snapshot().servo_pulse_us, Some(1500.0));

    // Fill the left motor's mailbox to the brim, and queue some on the right one and the servo.
    let mut queued = Vec::new();
    loop {
        match left.set_speed(0.9).try_send() {
            Ok(reply) => queued.push(reply),
            Err(AskError::Full { capacity, .. }) => {
                assert_eq!(capacity, 4);
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(queued.len(), 4);
    for _ in 0..8 {
        queued.push(right.set_speed(0.9).try_send().unwrap());
    }
    let mut servo_queued = servo.set_angle(180.0).try_send().unwrap();

    // Pull it: no `.await` from here until the checks, so no actor has run.
    let report = estop.trigger("test: hand on the big red button");
    assert_duty(&world, Side::Left, 0.0);
    assert_duty(&world, Side::Right, 0.0);
    assert_eq!(world.snapshot().servo_pulse_us, None);
    assert!(
        queued
            .iter_mut()
            .all(|reply| reply.now_or_never().is_none()),
        "the queued commands were still waiting while the E-stop acted"
    );
    assert!(estop.is_engaged());
    assert!(report.all_safe(), "{report}");
    let names: Vec<&str> = report.actuators.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["left", "right", "pan"]);
    assert_eq!(report.reason, "test: hand on the big red button");
    println!(
        "E-stop latency (3 actuators, current-thread runtime): {:?}",
        report.latency
    );
    println!("{report}");

    // Now let the queued commands run: each one is refused, nothing moves.
    for reply in queued {
        assert!(matches!(
            reply.await,
            Err(AskError::Handler(MotorError::EStopEngaged))
        ));
    }
    assert!(matches!(
        (&mut servo_queued).await,
        Err(AskError::Handler(ServoError::EStopEngaged))
    ));
    assert_duty(&world, Side::Left, 0.0);
    assert_duty(&world, Side::Right, 0.0);
    assert_eq!(world.snapshot().servo_pulse_us, None);
    // Later drive commands too; the safe actions (brake, coast) are still allowed.
    assert!(matches!(
        left.set_speed(0.2).await,
        Err(AskError::Handler(MotorError::EStopEngaged))
    ));
    right.brake().await.unwrap();
    right.coast().await.unwrap();
    assert_duty(&world, Side::Right, 0.0);
    // The motor's own state caught up with the E-stop that cut it behind its back.
    assert_eq!(left.speed().await.unwrap(), 0.0);

    // After a reset the actuators stay safe until commanded, then work again.
    estop.reset();
    assert!(!estop.is_engaged());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_duty(&world, Side::Left, 0.0);
    assert_duty(&world, Side::Right, 0.0);
    left.set_speed(0.3).await.unwrap();
    right.set_speed(0.9).await.unwrap();
    servo.set_angle(0.0).await.unwrap();
    assert_duty(&world, Side::Left, 0.3);
    assert_duty(&world, Side::Right, 0.9);
    assert_eq!(world.snapshot().servo_pulse_us, Some(500.0));
}

/// With a ramp, the motor moves towards its target in steps on a timer. An E-stop in the middle
/// of a ramp must not be undone by the next step, nor resumed after a reset.
#[tokio::test(start_paused = true)]
async fn estop_during_a_ramp_stays_cut() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("estop");
    let estop = EStop::new();
    let config = MotorConfig {
        ramp_per_second: Some(2.0), // 0 -> 0.8 in 400 ms
        ..motor_config("left")
    };
    let motor = system
        .start(sim_motor(&world, Side::Left, &estop, config))
        .await
        .unwrap();
    motor.set_speed(0.8).await.unwrap();
    tokio::time::sleep(Duration::from_millis(105)).await;
    let ramping = duty(&world, Side::Left);
    assert!(ramping > 0.1 && ramping < 0.8, "{ramping}");

    let report = estop.trigger("test");
    assert!(report.all_safe());
    assert_duty(&world, Side::Left, 0.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_duty(&world, Side::Left, 0.0);

    estop.reset();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_duty(&world, Side::Left, 0.0); // safe until commanded
    motor.set_speed(0.4).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_duty(&world, Side::Left, 0.4);
}

#[tokio::test(start_paused = true)]
async fn a_failing_actuator_is_named_in_the_report() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("estop");
    let estop = EStop::new();
    let motor = system
        .start(sim_motor(&world, Side::Left, &estop, motor_config("left")))
        .await
        .unwrap();
    let _relay = estop.register("relay", || Err(DeviceError::Pin("relay coil open".into())));
    motor.set_speed(0.5).await.unwrap();

    let report = estop.trigger("test");
    assert!(!report.all_safe());
    assert_duty(&world, Side::Left, 0.0); // the others still went safe
    let text = report.to_string();
    assert!(text.contains("1 actuators safe"), "{text}");
    assert!(
        text.contains("relay FAILED: pin error: relay coil open"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn stopped_actuators_leave_the_estop() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("estop");
    let estop = EStop::new();
    let left = system
        .start(sim_motor(&world, Side::Left, &estop, motor_config("left")))
        .await
        .unwrap();
    let servo = system.start(sim_servo(&world, &estop)).await.unwrap();
    assert_eq!(estop.actuators(), ["left", "pan"]);
    left.stop();
    left.stopped().await;
    assert_eq!(estop.actuators(), ["pan"]);
    servo.kill();
    servo.stopped().await;
    assert!(estop.actuators().is_empty());
    assert!(estop.trigger("nothing left").actuators.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_button_press_pulls_the_estop() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("estop");
    let estop = EStop::new();
    let motor = system
        .start(sim_motor(&world, Side::Left, &estop, motor_config("left")))
        .await
        .unwrap();
    let (pin, finger) = world.button();
    let button = system
        .start(
            Button::new(
                "big red",
                Box::new(EdgeDevice::new(pin)),
                Debouncer::default(),
            )
            .triggers(estop.clone()),
        )
        .await
        .unwrap();
    let mut presses = button.topic().await.unwrap().stream();
    motor.set_speed(0.7).await.unwrap();
    assert_duty(&world, Side::Left, 0.7);

    finger.press();
    assert_eq!(presses.next().await, Some(ButtonEvent::Pressed));
    assert!(estop.is_engaged());
    assert_duty(&world, Side::Left, 0.0);
    assert!(matches!(
        motor.set_speed(0.7).await,
        Err(AskError::Handler(MotorError::EStopEngaged))
    ));
}

/// On a multi-thread runtime the motor's handler runs on another worker while the E-stop is
/// pulled. Whatever the interleaving, once the motor has handled what was in flight, its duty
/// must be 0: a command that passed its E-stop check just before the trigger must not land after
/// the safe-state action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_wins_against_commands_in_flight_on_other_workers() {
    let mut latencies = Vec::new();
    for round in 0..200 {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let system = ActorSystem::new("estop");
        let estop = EStop::new();
        let motor = system
            .start(sim_motor(&world, Side::Left, &estop, motor_config("left")))
            .await
            .unwrap();
        let hammer = {
            let motor = motor.clone();
            tokio::spawn(async move {
                // Commands until the E-stop refuses them.
                while motor.set_speed(0.9).await.is_ok() {}
            })
        };
        // Let the hammering get going.
        while duty(&world, Side::Left) == 0.0 {
            tokio::task::yield_now().await;
        }
        let report = estop.trigger("race");
        assert!(report.all_safe());
        latencies.push(report.latency);
        hammer.await.unwrap();
        // Everything in flight is handled once this ask comes back.
        motor.speed().await.unwrap();
        assert_eq!(duty(&world, Side::Left), 0.0, "round {round}");
    }
    latencies.sort();
    println!(
        "E-stop latency (1 motor, multi-thread runtime, 200 runs): median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}

/// The same race for the servo: a move in flight on another worker must not land after the
/// E-stop released the servo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_wins_against_servo_moves_in_flight() {
    for round in 0..200 {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let system = ActorSystem::new("estop");
        let estop = EStop::new();
        let servo = system.start(sim_servo(&world, &estop)).await.unwrap();
        let hammer = {
            let servo = servo.clone();
            tokio::spawn(async move { while servo.set_angle(45.0).await.is_ok() {} })
        };
        while world.snapshot().servo_pulse_us.is_none() {
            tokio::task::yield_now().await;
        }
        assert!(estop.trigger("race").all_safe());
        hammer.await.unwrap();
        servo.angle().await.unwrap();
        assert_eq!(world.snapshot().servo_pulse_us, None, "round {round}");
    }
}
