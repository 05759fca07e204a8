//! An E-stop button acts on the raw level, ahead of debouncing: held down at start it keeps the
//! robot stopped, every edge towards pressed pulls the E-stop (even a press that comes together
//! with a release), an input that cannot be read is a stop, a normally-closed button stops the
//! robot when its wire breaks; and the E-stop cannot be reset while its button is still held
//! (since boot or again), its normally-closed contact open, or its input unreadable. (The
//! latency from the edge: `safety_estop_latency.rs`.)

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Button, Motor, MotorConfig, MotorError};
use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
use compaktor_pi::device::{DeviceError, EdgeSource};
use compaktor_pi::drivers::{Debouncer, EdgeDevice, L298n};
use compaktor_pi::hal::Edge;
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safety::{EStop, ResetError};
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::future::BoxFuture;

fn motor(world: &World, estop: &EStop) -> Motor {
    let pins = world.motor_pins(Side::Left);
    let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    let config = MotorConfig {
        watchdog: None,
        ..MotorConfig::new("left")
    };
    Motor::new(Box::new(bridge), estop.clone(), config)
}

fn duty(world: &World) -> f64 {
    world.motor_pins(Side::Left).enable.fraction()
}

async fn refused(motor: &ActorRef<Motor>) -> bool {
    matches!(
        motor.set_speed(0.5).await,
        Err(AskError::Handler(MotorError::EStopEngaged))
    )
}

#[tokio::test(start_paused = true)]
async fn a_latching_estop_held_at_boot_keeps_the_robot_stopped() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("boot");
    let estop = EStop::new();
    let (pin, finger) = world.button();
    finger.press(); // latched down before the firmware starts: no edge will ever come
    let motor = system.start(motor(&world, &estop)).await.unwrap();
    let button = Button::new(
        "estop",
        Box::new(EdgeDevice::new(pin)),
        Debouncer::default(),
    )
    .triggers(estop.clone());
    let button = system.start(button).await.unwrap();

    assert!(estop.is_engaged());
    assert!(refused(&motor).await);
    assert_eq!(duty(&world), 0.0);
    let report = estop.last_report().unwrap();
    assert_eq!(report.reason, "estop held down at start");
    assert!(button.is_pressed().await.unwrap());
    assert_eq!(button.presses().await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_released_button_at_boot_lets_the_robot_drive() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("boot");
    let estop = EStop::new();
    let (pin, _finger) = world.button();
    let motor = system.start(motor(&world, &estop)).await.unwrap();
    let button = Button::new(
        "estop",
        Box::new(EdgeDevice::new(pin)),
        Debouncer::default(),
    )
    .triggers(estop.clone());
    let button = system.start(button).await.unwrap();
    assert!(!estop.is_engaged());
    motor.set_speed(0.5).await.unwrap();
    assert_eq!(duty(&world), 0.5);
    assert_eq!(button.presses().await.unwrap(), 0);
}

/// A latching E-stop held down since boot: a reset is refused, with the input named, and the
/// motors stay at duty 0; once it is released, the reset goes through and the robot drives.
#[tokio::test(start_paused = true)]
async fn a_reset_is_refused_while_the_estop_held_at_boot_is_still_down() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("boot");
    let estop = EStop::new();
    let (pin, finger) = world.button();
    finger.press();
    let motor = system.start(motor(&world, &estop)).await.unwrap();
    let button = Button::new(
        "estop",
        Box::new(EdgeDevice::new(pin)),
        Debouncer::default(),
    )
    .triggers(estop.clone());
    let _button = system.start(button).await.unwrap();
    assert!(estop.is_engaged());

    let refusal = estop.reset().unwrap_err();
    assert_eq!(
        refusal,
        ResetError::InputAsserted {
            inputs: vec!["estop".into()]
        }
    );
    assert_eq!(
        refusal.to_string(),
        "the E-stop stays engaged: input `estop` is still asserted; release it before resetting"
    );
    assert!(estop.is_engaged());
    assert!(refused(&motor).await);
    assert_eq!(duty(&world), 0.0);

    finger.release();
    tokio::time::sleep(Duration::from_millis(1)).await;
    estop.reset().unwrap();
    motor.set_speed(0.5).await.unwrap();
    assert_eq!(duty(&world), 0.5);

    // Pressed again: engaged, and no reset while it is held.
    finger.press();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(estop.is_engaged());
    assert!(estop.reset().is_err());
    assert_eq!(duty(&world), 0.0);
}

/// The button was pressed (E-stop), released, and the E-stop reset before the debouncer had
/// taken the release; then it is pressed again within the settle time. The debouncer takes that
/// press for bounce, but the E-stop must act on it at once.
#[tokio::test(start_paused = true)]
async fn a_press_right_after_a_release_pulls_the_estop_at_once() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("together");
    let estop = EStop::new();
    let (pin, finger) = world.button();
    let motor = system.start(motor(&world, &estop)).await.unwrap();
    let settle = Duration::from_millis(20);
    let debouncer = Debouncer::new(settle, Duration::from_secs(1), true);
    let button =
        Button::new("estop", Box::new(EdgeDevice::new(pin)), debouncer).triggers(estop.clone());
    let _button = system.start(button).await.unwrap();

    finger.press();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(estop.is_engaged());
    assert!(estop.reset().is_err(), "reset while held");
    finger.release();
    tokio::time::sleep(Duration::from_millis(1)).await; // the raw release, not yet debounced
    estop.reset().unwrap();
    motor.set_speed(0.6).await.unwrap();
    assert_eq!(duty(&world), 0.6);

    finger.press(); // within the settle time of the release
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(estop.is_engaged(), "the second press was not acted on");
    assert_eq!(duty(&world), 0.0);
    assert!(refused(&motor).await);
}

fn nc_robot() -> RobotConfig {
    let text = STARTER_ROBOT.replace(
        "active_low = true",
        "active_low = true\nnormally_closed = true",
    );
    let config = RobotConfig::from_toml(&text).unwrap();
    assert!(config.buttons["estop"].normally_closed);
    config
}

/// Starts the robot file's left motor and its button as an E-stop.
async fn start_from_file(
    mut hw: Hardware,
) -> (ActorSystem, EStop, ActorRef<Motor>, ActorRef<Button>) {
    let system = ActorSystem::new("nc");
    let estop = EStop::new();
    let config = MotorConfig {
        watchdog: None,
        ..MotorConfig::new("left")
    };
    let (left, _right) = hw.drive().unwrap();
    let motor = system
        .start(Motor::new(left, estop.clone(), config))
        .await
        .unwrap();
    let (source, debouncer) = hw.button("estop").unwrap();
    let button = Button::new("estop", source, debouncer).triggers(estop.clone());
    let button = system.start(button).await.unwrap();
    (system, estop, motor, button)
}

#[tokio::test(start_paused = true)]
async fn a_normally_closed_estop_stops_on_a_press_and_on_a_broken_wire() {
    let config = nc_robot();
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let hw = Hardware::open(&config, Some(&world)).unwrap();
    let (_system, estop, motor, button) = start_from_file(hw).await;
    let finger = world.button().1.normally_closed();

    // Released: the contact is closed, the robot drives.
    assert!(!estop.is_engaged());
    motor.set_speed(0.5).await.unwrap();
    assert_eq!(duty(&world), 0.5);

    // Pressed: the contact opens (a rising edge), the E-stop engages, and stays engaged while
    // the contact is open.
    finger.press();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(estop.is_engaged());
    assert_eq!(duty(&world), 0.0);
    assert!(estop.reset().is_err(), "reset while the contact is open");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(button.is_pressed().await.unwrap());
    finger.release();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!button.is_pressed().await.unwrap());
    estop.reset().unwrap();
    motor.set_speed(0.5).await.unwrap();
    assert_eq!(duty(&world), 0.5);

    // The wire breaks: the pull-up reads as pressed, the robot stops.
    finger.cut_wire();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(estop.is_engaged());
    assert_eq!(duty(&world), 0.0);
    assert!(refused(&motor).await);
    assert!(estop.reset().is_err(), "reset with the wire broken");
}

#[tokio::test(start_paused = true)]
async fn a_normally_closed_estop_with_a_wire_broken_before_boot_keeps_the_robot_stopped() {
    let config = nc_robot();
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let hw = Hardware::open(&config, Some(&world)).unwrap(); // the contact closes
    world.button().1.cut_wire(); // and the wire breaks before the firmware starts
    let (_system, estop, motor, _button) = start_from_file(hw).await;
    assert!(estop.is_engaged());
    assert_eq!(
        estop.last_report().unwrap().reason,
        "estop held down at start"
    );
    assert!(refused(&motor).await);
    assert!(estop.reset().is_err(), "reset with the wire broken");
    assert!(refused(&motor).await);
}

/// An input that reads at start (released) but whose edges fail, or that cannot be read at all.
struct Broken {
    level: Result<bool, DeviceError>,
}

impl EdgeSource for Broken {
    fn is_high(&mut self) -> Result<bool, DeviceError> {
        self.level.clone()
    }
    fn next_edge(&mut self) -> BoxFuture<'_, Result<Edge, DeviceError>> {
        Box::pin(async { Err(DeviceError::Pin("the edge thread stopped".into())) })
    }
}

#[tokio::test(start_paused = true)]
async fn an_estop_button_that_cannot_be_read_stops_the_robot() {
    for (level, reason) in [
        (
            Err(DeviceError::Pin("permission denied".into())),
            "estop cannot be read: pin error: permission denied",
        ),
        (
            Ok(true),
            "estop cannot be read: pin error: the edge thread stopped",
        ),
    ] {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let system = ActorSystem::new("broken");
        let estop = EStop::new();
        let motor = system.start(motor(&world, &estop)).await.unwrap();
        let source = Box::new(Broken { level });
        let button = Button::new("estop", source, Debouncer::default()).triggers(estop.clone());
        let _button = system.start(button).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(estop.is_engaged(), "{reason}");
        assert_eq!(estop.last_report().unwrap().reason, reason);
        assert!(refused(&motor).await);
        assert!(
            estop.reset().is_err(),
            "reset with the input unreadable: {reason}"
        );
    }
}
