//! `Hardware::open`: a robot file and a simulated world give working devices; a backend that was
//! not compiled in, or a missing world, gives an `OpenError` that names it.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig, MotorEvent, SafeCause};
use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
use compaktor_pi::drivers::ButtonEvent;
use compaktor_pi::hal::EdgeKind;
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Pose, Side, World, WorldConfig};
use futures::StreamExt;

fn starter() -> RobotConfig {
    RobotConfig::from_toml(STARTER_ROBOT).unwrap()
}

/// 0.90 m between the ultrasonic sensor and the east wall.
fn facing_the_wall() -> World {
    let mut config = WorldConfig::empty(4.0, 3.0);
    config.start = Pose::new(3.0, 1.5, 0.0);
    World::new(config)
}

/// Duty and direction of one simulated L298N channel: positive forward.
fn drive(world: &World, side: Side) -> f64 {
    let pins = world.motor_pins(side);
    let duty = pins.enable.fraction();
    match (pins.in1.level(), pins.in2.level()) {
        (true, false) => duty,
        (false, true) => -duty,
        _ => 0.0,
    }
}

#[tokio::test(start_paused = true)]
async fn the_starter_robot_opens_working_devices_on_the_simulation() {
    let world = facing_the_wall();
    let _physics = world.start();
    let mut hw = Hardware::open(&starter(), Some(&world)).unwrap();
    assert_eq!(
        format!("{hw:?}"),
        "Hardware { robot: \"starter\", backend: \"sim\", .. }"
    );
    let (mut left_motor, mut right_motor) = hw.drive().unwrap();

    // Motors: each bridge drives its own wheel.
    left_motor.set_speed(0.5).unwrap();
    right_motor.set_speed(-0.25).unwrap();
    assert!((drive(&world, Side::Left) - 0.5).abs() < 1e-6);
    assert!((drive(&world, Side::Right) + 0.25).abs() < 1e-6);
    left_motor.coast().unwrap();
    right_motor.brake().unwrap();
    assert_eq!(drive(&world, Side::Left), 0.0);
    assert_eq!(drive(&world, Side::Right), 0.0);

    // Ultrasonic.
    let range = hw.sonar("front").unwrap().measure().await.unwrap();
    assert!((range.clearance() - 0.90).abs() < 0.03, "{range:?}");

    // LED.
    let mut led = hw.led("status").unwrap();
    led.set(true).unwrap();
    assert!(world.snapshot().led);
    led.set(false).unwrap();
    assert!(!world.snapshot().led);

    // Button: the robot file's debouncing, and edges from the simulated finger.
    let (mut source, mut debouncer) = hw.button("estop").unwrap();
    assert_eq!(debouncer.settle, Duration::from_millis(20));
    assert_eq!(debouncer.long_press, Duration::from_secs(1));
    assert!(debouncer.active_low);
    assert!(source.is_high().unwrap());
    let (_, finger) = world.button();
    finger.press();
    let edge = source.next_edge().await.unwrap();
    assert_eq!(edge.kind, EdgeKind::Falling);
    assert_eq!(debouncer.feed(edge), Some(ButtonEvent::Pressed));
}

#[tokio::test(start_paused = true)]
async fn the_starter_robot_drives_through_its_actors() {
    let world = facing_the_wall();
    let _physics = world.start();
    let robot = starter();
    let (left_motor, right_motor) = Hardware::open(&robot, Some(&world))
        .unwrap()
        .drive()
        .unwrap();
    let system = ActorSystem::new("starter");
    let config = |name: &str| MotorConfig {
        watchdog: Some(Duration::from_millis(robot.drive.watchdog_ms)),
        ramp_per_second: robot.drive.ramp_per_second,
        ..MotorConfig::new(name)
    };
    let estop = EStop::new();
    let left = system
        .start(Motor::new(left_motor, estop.clone(), config("left")))
        .await
        .unwrap();
    let right = system
        .start(Motor::new(right_motor, estop.clone(), config("right")))
        .await
        .unwrap();
    let mut events = left.topic().await.unwrap().stream();

    // Forward for one second, feeding the 300 ms watchdog; the ramp (4/s) takes 100 ms to 0.4.
    for _ in 0..10 {
        left.set_speed(0.4).await.unwrap();
        right.set_speed(0.4).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!((drive(&world, Side::Left) - 0.4).abs() < 1e-6);
    let moved = world.snapshot().pose.x - 3.0;
    assert!((0.15..0.25).contains(&moved), "{moved}");

    // Then silence: the watchdog stops both.
    let cause = loop {
        if let MotorEvent::SafeState(cause) = events.next().await.unwrap() {
            break cause;
        }
    };
    assert!(matches!(cause, SafeCause::Watchdog { .. }), "{cause:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(drive(&world, Side::Left), 0.0);
    assert_eq!(drive(&world, Side::Right), 0.0);
}

#[tokio::test(start_paused = true)]
async fn a_robot_with_every_device_opens_on_the_simulation() {
    let text = r#"
        name = "everything"
        backend = "sim"

        [drive]
        watchdog_ms = 300

        [drive.left]
        bridge = "l298n"
        in1 = 5
        in2 = 6
        pwm = { hardware = { channel = 0 } }

        [drive.right]
        bridge = "tb6612fng"
        in1 = 16
        in2 = 20
        standby = 26
        pwm = { software = { pin = 13 } }  # the simulated robot's right enable (PWM1's pin)

        [servos.pan]
        pwm = { hardware = { channel = 2 } }
        min_angle = -90.0
        max_angle = 90.0
        min_pulse_us = 1000
        max_pulse_us = 2000

        [imu]
        bus = 1
        address = 0x68
        period_ms = 10

        [adc]
        bus = 0
        chip_select = 0

        [line_sensor]
        channels = [0, 1, 2, 3, 4]
        threshold = 500
        period_ms = 10
    "#;
    let robot = RobotConfig::from_toml(text).unwrap();
    let world = World::new(WorldConfig::line_track(2));
    let _physics = world.start();
    let mut hw = Hardware::open(&robot, Some(&world)).unwrap();

    // The TB6612FNG is simulated as an L298N too.
    let (_, mut right) = hw.drive().unwrap();
    right.set_speed(0.3).unwrap();
    assert!((drive(&world, Side::Right) - 0.3).abs() < 1e-6);

    let (mut servo, limits) = hw.servo("pan").unwrap();
    assert_eq!((limits.min_angle_deg, limits.max_angle_deg), (-90.0, 90.0));
    servo
        .set_pulse_width_us(limits.pulse_for_angle(0.0).unwrap())
        .unwrap();
    assert_eq!(
        world.snapshot().servo_pulse_us.map(f64::round),
        Some(1500.0)
    );
    assert!(
        servo.set_pulse_width_us(2100).is_err(),
        "beyond the robot file's pulse range"
    );

    let sample = hw.imu().unwrap().read().unwrap();
    assert!((sample.accel[2] - 9.81).abs() < 0.3, "{sample:?}");

    let mut adc = hw.adc().unwrap();
    assert_eq!(adc.channels(), 8);
    assert!(
        adc.read(2).unwrap() > 800,
        "the middle line sensor is on the tape"
    );
    assert!(hw.sonar("front").is_err() && hw.button("estop").is_err() && hw.led("status").is_err());
}

#[tokio::test(start_paused = true)]
async fn an_imu_at_the_wrong_address_is_named() {
    let text = STARTER_ROBOT.to_owned() + "\n[imu]\nbus = 1\naddress = 0x69\nperiod_ms = 10\n";
    let robot = RobotConfig::from_toml(&text).unwrap();
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let mut hw = Hardware::open(&robot, Some(&world)).unwrap();
    let err = hw.imu().err().unwrap();
    assert_eq!((err.backend, err.device.as_str()), ("sim", "imu"));
    assert!(
        err.to_string().starts_with("sim: cannot open imu: "),
        "{err}"
    );
}

#[test]
fn sim_without_a_world_is_refused() {
    let err = Hardware::open(&starter(), None).unwrap_err();
    assert_eq!(err.backend, "sim");
    assert!(err.to_string().contains("no world was given"), "{err}");
}

#[cfg(not(feature = "rppal"))]
#[test]
fn rppal_without_its_feature_names_the_backend() {
    let text = STARTER_ROBOT.replace(r#"backend = "sim""#, r#"backend = "rppal""#);
    let robot = RobotConfig::from_toml(&text).unwrap();
    // A world given or not, the backend the file names is the one that must open.
    let world_less = Hardware::open(&robot, None).unwrap_err();
    let err = {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        Hardware::open(&robot, Some(&world)).unwrap_err()
    };
    assert_eq!(err, world_less);
    assert_eq!(err.backend, "rppal");
    let text = err.to_string();
    assert!(text.starts_with("rppal: "), "{text}");
    assert!(text.contains("--features rppal"), "{text}");
}

#[cfg(not(feature = "linux"))]
#[test]
fn linux_without_its_feature_names_the_backend() {
    let text = STARTER_ROBOT.replace(r#"backend = "sim""#, r#"backend = "linux""#);
    let robot = RobotConfig::from_toml(&text).unwrap();
    let err = Hardware::open(&robot, None).unwrap_err();
    assert_eq!(err.backend, "linux");
    assert!(err.to_string().contains("--features linux"), "{err}");
}
