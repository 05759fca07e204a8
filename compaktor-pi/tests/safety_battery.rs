//! The low-battery policy end to end: the INA219 driver reads the simulated battery, which
//! drains as the motors drive; the `Battery` actor warns (a log line, `Low` on its topic) at
//! one voltage and puts the robot in its safe state through the E-stop at a lower one.

mod log_capture;

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{
    Battery, BatteryLevel, BatteryPolicy, BatteryReading, Motor, MotorConfig, MotorError,
};
use compaktor_pi::config::{BOARDS_ROBOT, RobotConfig};
use compaktor_pi::device::PowerMonitor;
use compaktor_pi::drivers::Ina219;
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::StreamExt;

/// The boards robot in a world whose battery (20 mAh) runs down in half a minute of driving.
fn small_battery() -> (RobotConfig, World) {
    let config = RobotConfig::from_toml(BOARDS_ROBOT).unwrap();
    let mut world = WorldConfig::empty(4.0, 4.0).ideal().wired_like(&config);
    world.robot.battery.capacity_ah = 0.02;
    (config, World::new(world))
}

#[tokio::test(start_paused = true)]
async fn the_ina219_driver_reads_the_simulated_battery() {
    let (_, world) = small_battery();
    let _physics = world.start();
    let mut monitor = Ina219::new(world.i2c(), 0x41, 0.1).unwrap();
    let idle = monitor.read().unwrap();
    // Full, drawing 0.25 A: 8.4 V less 0.025 V of sag, to the INA219's 4 mV and 10 µV steps.
    assert!((idle.voltage - 8.375).abs() < 0.005, "{idle:?}");
    assert!((idle.current - 0.25).abs() < 0.001, "{idle:?}");
    for side in [Side::Left, Side::Right] {
        use embedded_hal::digital::OutputPin;
        use embedded_hal::pwm::SetDutyCycle;
        let mut pins = world.motor_pins(side);
        pins.in1.set_high().unwrap();
        pins.enable.set_duty_cycle_percent(50).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let driving = monitor.read().unwrap();
    let truth = world.battery();
    assert!((driving.current - 1.25).abs() < 0.001, "{driving:?}");
    assert!(
        (f64::from(driving.voltage) - truth.voltage).abs() < 0.005,
        "{driving:?} {truth:?}"
    );
    // 10 s at 1.25 A is 3.5 mAh of the 20: the voltage has fallen with it.
    assert!((truth.used_ah - 0.00347).abs() < 0.0001, "{truth:?}");
    assert!(driving.voltage < idle.voltage - 0.4, "{driving:?}");
    // Something else at that address is not taken for an INA219.
    assert!(Ina219::new(world.i2c(), 0x44, 0.1).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_draining_battery_warns_then_puts_the_robot_in_its_safe_state() {
    let (log, _guard) = log_capture::capture();

    let (config, world) = small_battery();
    let _physics = world.start();
    let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
    let system = ActorSystem::new("battery");
    let estop = EStop::new();
    let (left, right) = hardware.drive().unwrap();
    let no_watchdog = |name: &str| MotorConfig {
        watchdog: None,
        ..MotorConfig::new(name)
    };
    let left = system
        .start(Motor::new(left, estop.clone(), no_watchdog("left")))
        .await
        .unwrap();
    let right = system
        .start(Motor::new(right, estop.clone(), no_watchdog("right")))
        .await
        .unwrap();
    let policy = BatteryPolicy::from_config(config.battery.as_ref().unwrap());
    assert_eq!((policy.warn_below, policy.safe_below), (7.0, 6.6));
    let battery = system
        .start(Battery::new(
            hardware.battery().unwrap(),
            estop.clone(),
            policy,
        ))
        .await
        .unwrap();
    let readings = battery.topic().await.unwrap().stream();
    // Spinning in place at full duty: 2.25 A.
    left.set_speed(1.0).await.unwrap();
    right.set_speed(-1.0).await.unwrap();

    let mut seen: Vec<BatteryReading> = Vec::new();
    let mut readings = std::pin::pin!(readings);
    while !estop.is_engaged() {
        let reading = tokio::time::timeout(Duration::from_secs(5), readings.next())
            .await
            .expect("a reading every 500 ms")
            .unwrap();
        seen.push(reading);
        assert!(
            seen.len() < 200,
            "no safe state after 100 s: {:?}",
            seen.last()
        );
    }

    // Warned first, below 7 V but above 6.6 V, three readings in a row.
    let low = seen
        .iter()
        .position(|r| r.level == BatteryLevel::Low)
        .expect("a warning before the safe state");
    let critical = seen
        .iter()
        .position(|r| r.level == BatteryLevel::Critical)
        .unwrap();
    assert!(low + 3 <= critical, "{seen:?}");
    assert!(
        seen[low - 2..=low].iter().all(|r| r.voltage < 7.0),
        "{seen:?}"
    );
    assert!(seen[..low - 2].iter().all(|r| r.level == BatteryLevel::Ok));
    assert!(seen[low].voltage >= 6.6, "{seen:?}");
    assert!(
        seen[critical - 2..=critical]
            .iter()
            .all(|r| r.voltage < 6.6)
    );
    assert!(
        seen.iter().all(|r| (r.current - 2.25).abs() < 0.01),
        "{seen:?}"
    );
    let logged = log.text();
    assert!(
        logged.contains("WARN") && logged.contains("battery low"),
        "{logged}"
    );

    // The safe state: the E-stop, as a button pulls it.
    let report = estop.last_report().unwrap();
    let reason = &report.reason;
    assert!(
        reason.starts_with("battery critical: ") && reason.ends_with(" V, below 6.6 V"),
        "{reason}"
    );
    assert!(report.all_safe() && report.actuators.len() == 2, "{report}");
    for side in [Side::Left, Side::Right] {
        assert_eq!(world.motor_pins(side).enable.fraction(), 0.0, "{side:?}");
    }
    assert!(matches!(
        left.set_speed(1.0).await,
        Err(AskError::Handler(MotorError::EStopEngaged))
    ));
    // With the motors off the voltage recovers, and the level stays critical.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let last = battery.last().await.unwrap().unwrap();
    assert!(
        last.voltage > 6.6 && last.level == BatteryLevel::Critical,
        "{last:?}"
    );
    system.shutdown(Duration::from_secs(1)).await;
}
