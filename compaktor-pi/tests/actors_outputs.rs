//! The output actors on the simulated world: the LED (set, toggle, blink patterns on a timer)
//! and the servo (angles within limits, release, safe state on stop). What they do shows in
//! `world.snapshot()`: `led` and `servo_pulse_us`.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{self, Led, ServoError};
use compaktor_pi::device::DeviceError;
use compaktor_pi::drivers::{self, Output, ServoLimits};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{World, WorldConfig};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn led(world: &World) -> Led {
    Led::new(Box::new(Output::new(world.led())))
}

/// Samples the LED every millisecond for `how_long` and returns when it changed (time since the
/// call, in ms) and to what.
async fn record_led(world: &World, how_long: Duration) -> Vec<(u64, bool)> {
    let began = Instant::now();
    let mut level = world.snapshot().led;
    let mut changes = Vec::new();
    while began.elapsed() < how_long {
        tokio::time::sleep(ms(1)).await;
        let now = world.snapshot().led;
        if now != level {
            level = now;
            changes.push((began.elapsed().as_millis() as u64, now));
        }
    }
    changes
}

#[tokio::test(start_paused = true)]
async fn led_set_and_toggle_drive_the_pin() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("outputs");
    let led = system.start(led(&world)).await.unwrap();
    assert!(!world.snapshot().led);

    led.set(true).await.unwrap();
    assert!(world.snapshot().led && led.is_on().await.unwrap());
    led.toggle().await.unwrap();
    assert!(!world.snapshot().led && !led.is_on().await.unwrap());
    led.toggle().await.unwrap();
    assert!(world.snapshot().led);

    // Off when the actor stops.
    led.stop();
    led.stopped().await;
    assert!(!world.snapshot().led);
}

#[tokio::test(start_paused = true)]
async fn led_blinks_at_the_pattern_times() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("outputs");
    let led = system.start(led(&world)).await.unwrap();

    led.blink(vec![ms(100), ms(200)]).await.unwrap();
    assert!(world.snapshot().led, "a pattern starts with its on phase");
    let changes = record_led(&world, ms(1_005)).await;
    let expected = [
        (100, false),
        (300, true),
        (400, false),
        (600, true),
        (700, false),
        (900, true),
        (1_000, false),
    ];
    // The sampling sleep and the actor's timer may wake at the same instant, in either order.
    assert_eq!(changes.len(), expected.len(), "{changes:?}");
    for ((at, on), (want_at, want_on)) in changes.iter().zip(expected) {
        assert_eq!(*on, want_on, "{changes:?}");
        assert!((want_at..=want_at + 1).contains(at), "{changes:?}");
    }

    // A new command ends the pattern.
    led.set(false).await.unwrap();
    assert_eq!(record_led(&world, ms(1_000)).await, []);
    assert!(!world.snapshot().led);

    // A new pattern replaces the old one at once; an empty one switches off.
    led.blink(vec![ms(50), ms(50)]).await.unwrap();
    led.blink(vec![ms(300), ms(300)]).await.unwrap();
    let changes = record_led(&world, ms(700)).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!((300..=301).contains(&changes[0].0), "{changes:?}");
    led.blink(Vec::new()).await.unwrap();
    assert!(!world.snapshot().led);
    assert_eq!(record_led(&world, ms(1_000)).await, []);
}

#[tokio::test(start_paused = true)]
async fn led_goes_off_when_killed_mid_pattern() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("outputs");
    let led = system.start(led(&world)).await.unwrap();
    led.blink(vec![ms(100), ms(100)]).await.unwrap();
    assert!(world.snapshot().led);
    led.kill();
    led.stopped().await;
    assert!(!world.snapshot().led);
    assert_eq!(record_led(&world, ms(500)).await, []);
}

// ---------------------------------------------------------------------------------------------
// Servo
// ---------------------------------------------------------------------------------------------

fn servo(world: &World, limits: ServoLimits) -> actors::Servo {
    let driver = drivers::PwmServo::new(world.servo()).unwrap();
    actors::Servo::new("pan", Box::new(driver), limits, EStop::new())
}

fn pulse(world: &World) -> Option<f64> {
    world.snapshot().servo_pulse_us.map(|us| us.round())
}

#[tokio::test(start_paused = true)]
async fn servo_moves_within_its_limits_and_refuses_beyond() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("outputs");
    let servo = system
        .start(servo(&world, ServoLimits::default())) // 0..=180° over 500..=2500 µs
        .await
        .unwrap();
    assert_eq!(pulse(&world), None, "no pulses until commanded");

    for (angle, us) in [
        (90.0, 1500.0),
        (0.0, 500.0),
        (180.0, 2500.0),
        (45.0, 1000.0),
    ] {
        servo.set_angle(angle).await.unwrap();
        assert_eq!(pulse(&world), Some(us), "{angle}°");
        assert_eq!(servo.angle().await.unwrap(), Some(angle));
    }

    for bad in [181.0, -0.5, f32::NAN] {
        let refused = servo.set_angle(bad).await;
        assert!(
            matches!(
                refused,
                Err(AskError::Handler(ServoError::Device(
                    DeviceError::OutOfRange(_)
                )))
            ),
            "{bad}: {refused:?}"
        );
        // Nothing moved.
        assert_eq!(pulse(&world), Some(1000.0));
        assert_eq!(servo.angle().await.unwrap(), Some(45.0));
    }

    servo.release().ask().await.unwrap(); // a tell; ask to wait until it is done
    assert_eq!(pulse(&world), None);
    assert_eq!(servo.angle().await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn servo_with_narrow_limits() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("outputs");
    let limits = ServoLimits {
        min_angle_deg: -45.0,
        max_angle_deg: 45.0,
        min_pulse_us: 1000,
        max_pulse_us: 2000,
    };
    let servo = system.start(servo(&world, limits)).await.unwrap();
    servo.set_angle(0.0).await.unwrap();
    assert_eq!(pulse(&world), Some(1500.0));
    servo.set_angle(-45.0).await.unwrap();
    assert_eq!(pulse(&world), Some(1000.0));
    assert!(servo.set_angle(60.0).await.is_err());
    assert_eq!(pulse(&world), Some(1000.0));
}

#[tokio::test(start_paused = true)]
async fn servo_is_released_when_it_stops() {
    for end in [
        ActorRef::stop as fn(&ActorRef<actors::Servo>),
        ActorRef::kill,
    ] {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let system = ActorSystem::new("outputs");
        let servo = system
            .start(servo(&world, ServoLimits::default()))
            .await
            .unwrap();
        servo.set_angle(120.0).await.unwrap();
        assert!(pulse(&world).is_some());
        end(&servo);
        servo.stopped().await;
        assert_eq!(pulse(&world), None);
    }
}

#[test]
fn dropping_a_servo_that_never_ran_releases_it() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let mut driver = drivers::PwmServo::new(world.servo()).unwrap();
    driver.set_pulse_width_us(1500).unwrap();
    assert_eq!(pulse(&world), Some(1500.0));
    drop(actors::Servo::new(
        "pan",
        Box::new(driver),
        ServoLimits::default(),
        EStop::new(),
    ));
    assert_eq!(pulse(&world), None);
}

#[tokio::test(start_paused = true)]
async fn led_patterns_must_alternate_and_one_step_means_symmetric() {
    let world = World::new(WorldConfig::empty(2.0, 2.0));
    let system = ActorSystem::new("test");
    let led = system.spawn(led(&world));
    let ms = Duration::from_millis;
    assert!(led.blink(vec![ms(100), Duration::ZERO]).await.is_err());
    assert!(led.blink(vec![ms(100), ms(100), ms(100)]).await.is_err());
    led.blink(vec![ms(100)]).await.unwrap();
    let changes = record_led(&world, ms(450)).await;
    let levels: Vec<bool> = changes.iter().map(|(_, on)| *on).collect();
    assert!(levels.len() >= 4, "{changes:?}");
    assert!(levels.windows(2).all(|w| w[0] != w[1]), "{changes:?}");
}

/// A ramp of NaN, 0 or below 0 would panic on the first ramp step, or never move: the motor
/// refuses to start, and leaves its bridge coasting.
#[tokio::test(start_paused = true)]
async fn a_motor_with_an_impossible_ramp_refuses_to_start() {
    use compaktor_pi::actors::{Motor, MotorConfig};
    use compaktor_pi::drivers::L298n;
    use compaktor_pi::sim::Side;

    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("ramp");
    for rate in [f32::NAN, -4.0, 0.0] {
        let pins = world.motor_pins(Side::Left);
        let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
        let config = MotorConfig {
            ramp_per_second: Some(rate),
            ..MotorConfig::new("left")
        };
        let started = system
            .start(Motor::new(Box::new(bridge), EStop::new(), config))
            .await;
        let err = started.err().unwrap().to_string();
        assert!(
            err.contains("ramp_per_second must be above 0"),
            "{rate}: {err}"
        );
        assert_eq!(world.motor_pins(Side::Left).enable.fraction(), 0.0);
    }
}
