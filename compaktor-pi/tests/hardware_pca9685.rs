//! PCA9685 boards end to end: the robot file wires motors and servos to board channels, the
//! real driver code (`pwm-pca9685` behind `PwmOutput`) talks to the simulated chip byte by
//! byte, and what it writes reaches the simulated motors and servos; the E-stop and the
//! safe-off after the firmware leave every channel off.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig, Servo};
use compaktor_pi::config::{BOARDS_ROBOT, RobotConfig};
use compaktor_pi::hal::PwmOutput;
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safe_off::safe_off;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use embedded_hal::i2c::I2c;

/// The boards robot, and a simulated one wired like it (boards at 0x60 and 0x40).
fn boards_robot() -> (RobotConfig, World) {
    let config = RobotConfig::from_toml(BOARDS_ROBOT).unwrap();
    let world = World::new(WorldConfig::empty(4.0, 4.0).ideal().wired_like(&config));
    (config, world)
}

/// Channel `channel`'s four registers (ON_L, ON_H, OFF_L, OFF_H) on the board at `address`,
/// read over the simulated bus.
fn channel_registers(world: &World, address: u8, channel: u8) -> [u8; 4] {
    let mut regs = [0; 4];
    world
        .i2c()
        .write_read(address, &[0x06 + 4 * channel], &mut regs)
        .unwrap();
    regs
}

/// Whether channel `channel` of the board at `address` is full off (LEDn_OFF_H bit 4).
fn full_off(world: &World, address: u8, channel: u8) -> bool {
    channel_registers(world, address, channel)[3] & 0x10 != 0
}

fn servo_pulse(world: &World, name: &str) -> Option<f64> {
    let pulses = world.snapshot().servo_pulses_us;
    pulses.into_iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test(start_paused = true)]
async fn duty_written_to_a_board_channel_reaches_the_simulated_motor_and_servo() {
    let (config, world) = boards_robot();
    let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
    let (mut left, mut right) = hardware.drive().unwrap();
    left.set_speed(0.6).unwrap();
    right.set_speed(-0.3).unwrap();

    // In the chip's registers: on at 0, off at 60 % of 4096 counts.
    let regs = channel_registers(&world, 0x60, 0);
    let off = u16::from_le_bytes([regs[2], regs[3]]);
    assert_eq!(&regs[..2], [0, 0]);
    assert!((i32::from(off) - 2458).abs() <= 1, "{regs:?}");
    // On the motors' speed inputs, at the board's frequency (25 MHz / 4096 / 6 for 1 kHz).
    let enable = world.motor_pins(Side::Left).enable;
    assert!(
        (enable.fraction() - 0.6).abs() < 0.001,
        "{}",
        enable.fraction()
    );
    assert_eq!(enable.frequency(), 1017);
    let right_enable = world.motor_pins(Side::Right).enable;
    assert!((right_enable.fraction() - 0.3).abs() < 0.001);
    // And the wheels turn that way.
    let _physics = world.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let [l, r] = world.snapshot().wheel_speeds;
    assert!(l > 0.25 && r < -0.1, "{l} {r}");

    // The servos on the other board, at 50 Hz.
    let (mut pan, _) = hardware.servo("pan").unwrap();
    let (mut tilt, _) = hardware.servo("tilt").unwrap();
    pan.set_pulse_width_us(1500).unwrap();
    tilt.set_pulse_width_us(1200).unwrap();
    let pan_us = servo_pulse(&world, "pan").unwrap();
    let tilt_us = servo_pulse(&world, "tilt").unwrap();
    assert!((pan_us - 1500.0).abs() < 6.0, "{pan_us}");
    assert!((tilt_us - 1200.0).abs() < 6.0, "{tilt_us}");
    // The motor board kept its frequency: each board has its own.
    assert_eq!(world.motor_pins(Side::Left).enable.frequency(), 1017);
}

#[tokio::test(start_paused = true)]
async fn a_board_that_does_not_answer_is_an_open_error_naming_it() {
    let config = RobotConfig::from_toml(BOARDS_ROBOT).unwrap();
    // The simulated robot as the starter is wired: no board at 0x60.
    let world = World::new(WorldConfig::empty(4.0, 4.0));
    let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
    let err = hardware.drive().err().unwrap().to_string();
    assert_eq!(
        err,
        "sim: cannot open PCA9685 0x60 on I2C bus 1 (motor left): bus error: \
         PCA9685 0x60: I2C(NoDevice { address: 96 })"
    );
}

#[tokio::test(start_paused = true)]
async fn the_estop_turns_board_channels_off_like_any_pwm_output() {
    let (config, world) = boards_robot();
    let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
    let system = ActorSystem::new("boards");
    let estop = EStop::new();
    let (left, right) = hardware.drive().unwrap();
    let left = system
        .start(Motor::new(left, estop.clone(), MotorConfig::new("left")))
        .await
        .unwrap();
    let right = system
        .start(Motor::new(right, estop.clone(), MotorConfig::new("right")))
        .await
        .unwrap();
    let (pan, limits) = hardware.servo("pan").unwrap();
    let pan = system
        .start(Servo::new("pan", pan, limits, estop.clone()))
        .await
        .unwrap();
    left.set_speed(0.8).await.unwrap();
    right.set_speed(0.8).await.unwrap();
    pan.set_angle(30.0).await.unwrap();
    assert!(world.motor_pins(Side::Left).enable.fraction() > 0.7);
    assert!(!full_off(&world, 0x60, 0) && !full_off(&world, 0x40, 0));
    assert!(servo_pulse(&world, "pan").is_some());

    let report = estop.trigger("test");

    assert!(report.all_safe(), "{report}");
    for side in [Side::Left, Side::Right] {
        assert_eq!(world.motor_pins(side).enable.fraction(), 0.0, "{side:?}");
    }
    assert!(full_off(&world, 0x60, 0) && full_off(&world, 0x60, 1));
    assert!(full_off(&world, 0x40, 0));
    assert_eq!(servo_pulse(&world, "pan"), None);
    system.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn the_safe_off_after_the_firmware_turns_every_board_channel_off() {
    let (config, world) = boards_robot();
    {
        // A firmware that dies driving: its drivers are forgotten, nothing runs its safe state.
        let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
        let (mut left, mut right) = hardware.drive().unwrap();
        left.set_speed(0.7).unwrap();
        right.set_speed(0.7).unwrap();
        let (mut tilt, _) = hardware.servo("tilt").unwrap();
        tilt.set_pulse_width_us(1500).unwrap();
        std::mem::forget((left, right, tilt, hardware));
    }
    assert!(servo_pulse(&world, "tilt").is_some());
    assert!(!full_off(&world, 0x60, 1));

    let report = safe_off(&config, Some(&world)).unwrap();

    assert!(report.all_off(), "{report}");
    let steps: Vec<&str> = report.steps.iter().map(|(s, _)| s.as_str()).collect();
    assert!(
        steps.contains(&"PCA9685 0x40 on I2C bus 1: all 16 channels")
            && steps.contains(&"PCA9685 0x60 on I2C bus 1: all 16 channels"),
        "{report}"
    );
    assert!((0..16).all(|c| full_off(&world, 0x60, c) && full_off(&world, 0x40, c)));
    assert_eq!(servo_pulse(&world, "tilt"), None);
    for side in [Side::Left, Side::Right] {
        assert_eq!(world.motor_pins(side).enable.fraction(), 0.0, "{side:?}");
    }
}
