//! The E-stop's report gives the latency from the button's edge (its timestamp) to the last
//! actuator's safe state, and is logged at warn level. Its own test binary: the log is
//! captured with a subscriber, which other tests logging on other threads would disturb.

mod log_capture;

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Button, Motor, MotorConfig};
use compaktor_pi::drivers::{Debouncer, EdgeDevice, L298n};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};

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

#[tokio::test(start_paused = true)]
async fn the_latency_is_reported_from_the_buttons_edge_and_logged_at_warn() {
    let (log, _guard) = log_capture::capture();

    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("latency");
    let estop = EStop::new();
    let (pin, finger) = world.button();
    let motor = system.start(motor(&world, &estop)).await.unwrap();
    let button = Button::new(
        "estop",
        Box::new(EdgeDevice::new(pin)),
        Debouncer::default(),
    )
    .triggers(estop.clone());
    let _button = system.start(button).await.unwrap();
    motor.set_speed(0.5).await.unwrap();

    // The edge is stamped now; the button actor only gets to it 7 ms later (a busy runtime).
    finger.press();
    tokio::time::advance(Duration::from_millis(7)).await;
    while !estop.is_engaged() {
        tokio::task::yield_now().await;
    }
    let report = estop.last_report().unwrap();
    let whole = report.since_cause.expect("the edge's time is known");
    assert!(whole >= Duration::from_millis(7), "{report}");
    assert!(
        whole < Duration::from_millis(7) + Duration::from_millis(100),
        "{report}"
    );
    assert!(whole >= report.latency);
    assert_eq!(duty(&world), 0.0);

    let text = log.text();
    let line = text
        .lines()
        .find(|l| l.contains("E-stop (estop pressed)"))
        .unwrap_or_else(|| panic!("no E-stop line in the log:\n{text}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("after the cause"), "{line}");
    println!("{line}");
}
