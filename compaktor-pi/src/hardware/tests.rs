//! Opening only what a program asks for, and the simulation honouring the file's pins.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::config::{EXPLORER_ROBOT, STARTER_ROBOT};
use crate::hal::PwmOutput;
use crate::sim::WorldConfig;

/// An opener that records what it was asked for; motors cannot be opened (their pins are taken
/// or missing), everything else can.
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Led;

impl DigitalOutput for Led {
    fn set(&mut self, _: bool) -> Result<(), DeviceError> {
        Ok(())
    }
}

fn unavailable(what: String) -> OpenError {
    OpenError::new("test", what, "the pin is taken")
}

impl Opener for Recorder {
    fn backend(&self) -> &'static str {
        "test"
    }
    fn motor(
        &mut self,
        side: &str,
        _: &MotorWiring,
        _: bool,
        _: u32,
    ) -> Result<Box<dyn MotorDriver>, OpenError> {
        self.0.lock().unwrap().push(format!("motor {side}"));
        Err(unavailable(format!("motor {side}")))
    }
    fn sonar(&mut self, name: &str, _: &SonarConfig) -> Result<Box<dyn RangeFinder>, OpenError> {
        self.0.lock().unwrap().push(format!("sonar {name}"));
        Err(unavailable(name.into()))
    }
    fn switch(&mut self, gpio: u8, _: bool, _: &str) -> Result<Box<dyn EdgeSource>, OpenError> {
        self.0.lock().unwrap().push(format!("switch {gpio}"));
        Err(unavailable(gpio.to_string()))
    }
    fn output(&mut self, gpio: u8, label: &str) -> Result<Box<dyn DigitalOutput>, OpenError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("output {gpio} ({label})"));
        Ok(Box::new(Led))
    }
    fn servo(&mut self, name: &str, _: &ServoConfig) -> Result<Box<dyn ServoDriver>, OpenError> {
        self.0.lock().unwrap().push(format!("servo {name}"));
        Err(unavailable(name.into()))
    }
    fn imu(&mut self, _: &ImuConfig) -> Result<Box<dyn Imu>, OpenError> {
        Err(unavailable("imu".into()))
    }
    fn adc(&mut self, _: &AdcConfig) -> Result<Box<dyn Adc>, OpenError> {
        Err(unavailable("adc".into()))
    }
    fn battery(&mut self, _: &BatteryConfig) -> Result<Box<dyn PowerMonitor>, OpenError> {
        Err(unavailable("battery".into()))
    }
}

#[test]
fn a_program_that_asks_for_the_led_opens_only_the_led() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let mut hardware = Hardware {
        config: RobotConfig::from_toml(STARTER_ROBOT).unwrap(),
        opener: Box::new(Recorder(asked.clone())),
    };
    // The motors' pins are unavailable, and blinking does not care.
    let mut led = hardware.led("status").unwrap();
    led.set(true).unwrap();
    assert_eq!(*asked.lock().unwrap(), ["output 27 (led status)"]);
    // A program that does drive finds out, naming the motor.
    let err = hardware.drive().err().unwrap();
    assert_eq!(
        err.to_string(),
        "test: cannot open motor left: the pin is taken"
    );
    // A device the file does not have is named with the section to add.
    let err = hardware.led("warning").err().unwrap();
    assert_eq!(
        err.to_string(),
        "test: cannot open LED warning: the robot file has no `[leds.warning]`"
    );
}

#[test]
fn a_robot_built_in_code_is_checked_before_anything_opens() {
    let mut config = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
    config.drive.ramp_per_second = Some(f32::NAN);
    let world = World::new(WorldConfig::empty(4.0, 4.0));
    let err = Hardware::open(&config, Some(&world)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sim: cannot open the robot: the robot file is not valid: line 0: \
         `drive.ramp_per_second`: NaN is not a number the robot can use"
    );
}

/// The starter robot with `from` replaced by `to`, opened in a fresh arena.
fn simulated(from: &str, to: &str) -> (World, Hardware) {
    assert!(STARTER_ROBOT.contains(from), "{from}");
    let config = RobotConfig::from_toml(&STARTER_ROBOT.replacen(from, to, 1)).unwrap();
    let world = World::new(WorldConfig::empty(4.0, 4.0));
    let hardware = Hardware::open(&config, Some(&world)).unwrap();
    (world, hardware)
}

#[tokio::test(start_paused = true)]
async fn a_led_on_the_wrong_pin_stays_dark_in_simulation() {
    let (world, mut hardware) = simulated("pin = 27", "pin = 27");
    hardware.led("status").unwrap().set(true).unwrap();
    assert!(world.snapshot().led);
    let (world, mut hardware) = simulated("pin = 27", "pin = 22");
    hardware.led("status").unwrap().set(true).unwrap();
    assert!(
        !world.snapshot().led,
        "GPIO 22 is not the simulated robot's LED"
    );
}

#[tokio::test(start_paused = true)]
async fn swapped_motor_wires_drive_the_wheel_backwards_in_simulation() {
    for (in1, forward) in [("in1 = 5\nin2 = 6", true), ("in1 = 6\nin2 = 5", false)] {
        let (world, mut hardware) = simulated("in1 = 5\nin2 = 6", in1);
        let _physics = world.start();
        let (mut left, mut right) = hardware.drive().unwrap();
        left.set_speed(0.5).unwrap();
        right.set_speed(0.5).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let [left_speed, right_speed] = world.snapshot().wheel_speeds;
        assert!(right_speed > 0.1, "{right_speed}");
        assert_eq!(left_speed > 0.1, forward, "{in1}: {left_speed}");
        assert_eq!(left_speed < -0.1, !forward, "{in1}: {left_speed}");
    }
}

/// A robot whose left motor's direction inputs are on GPIO 7/8 drives in a simulation wired
/// like its file; the starter's simulated robot (IN1/IN2 on 5/6) leaves that wheel still.
#[tokio::test(start_paused = true)]
async fn the_motors_direction_pins_are_the_files_in_simulation() {
    let text = STARTER_ROBOT.replacen("in1 = 5\nin2 = 6", "in1 = 7\nin2 = 8", 1);
    let firmware = RobotConfig::from_toml(&text).unwrap();
    for (world_config, drives) in [
        (WorldConfig::empty(4.0, 4.0).wired_like(&firmware), true),
        (WorldConfig::empty(4.0, 4.0), false),
    ] {
        let world = World::new(world_config);
        let mut hardware = Hardware::open(&firmware, Some(&world)).unwrap();
        let _physics = world.start();
        let (mut left, mut right) = hardware.drive().unwrap();
        left.set_speed(0.5).unwrap();
        right.set_speed(0.5).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let [left_speed, right_speed] = world.snapshot().wheel_speeds;
        assert!(right_speed > 0.1, "{right_speed}");
        assert_eq!(left_speed > 0.1, drives, "{left_speed}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_motor_pwm_runs_at_the_files_frequency() {
    let (world, mut hardware) = simulated("pwm_hz = 1000", "pwm_hz = 20000");
    let _drive = hardware.drive().unwrap();
    for channel in [0, 1] {
        assert_eq!(world.pwm_channel(channel).unwrap().frequency(), 20_000);
    }
}

#[tokio::test(start_paused = true)]
async fn devices_are_opened_by_name_on_their_pins() {
    let config = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
    let mut world_config = WorldConfig::empty(2.0, 1.0);
    world_config.start = crate::sim::Pose::new(1.7, 0.5, 0.0);
    // The starter's wiring, without the encoders (the right one's B is on GPIO 26).
    world_config.robot.wiring.encoders = None;
    let world = World::new(world_config);
    let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
    // The pan servo is on the simulated robot's servo channel (2); tilt is on 3, where the
    // simulated robot has nothing.
    let (mut pan, _) = hardware.servo("pan").unwrap();
    pan.set_pulse_width_us(1500).unwrap();
    let pulse = world.snapshot().servo_pulse_us.unwrap();
    assert!((pulse - 1500.0).abs() < 1.0, "{pulse}");
    let (mut tilt, _) = hardware.servo("tilt").unwrap();
    tilt.set_pulse_width_us(1000).unwrap();
    assert!((world.snapshot().servo_pulse_us.unwrap() - pulse).abs() < 1e-9);
    // The left bumper (GPIO 22) closes when the robot drives into the wall.
    let (mut bumper, _) = hardware.bumper("left").unwrap();
    let (mut right_bumper, _) = hardware.bumper("right").unwrap();
    assert!(bumper.is_high().unwrap());
    let _physics = world.start();
    let (mut left, mut right) = hardware.drive().unwrap();
    for motor in [&mut left, &mut right] {
        motor.set_speed(1.0).unwrap();
    }
    let edge = bumper.next_edge().await.unwrap();
    assert_eq!(edge.kind, crate::hal::EdgeKind::Falling);
    assert!(world.snapshot().bumper);
    // GPIO 26 is wired to nothing in the simulation: it stays at its pull-up.
    assert!(right_bumper.is_high().unwrap());
}

/// The explorer's two buttons and two LEDs each reach the simulated robot on their own pin, by
/// name, when the world is wired like its robot file (the E-stop on GPIO 4, the warning LED on
/// GPIO 21: neither is a pin of the starter robot).
#[tokio::test(start_paused = true)]
async fn every_button_and_led_of_the_file_is_on_its_own_pin_in_simulation() {
    let config = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
    let world = World::new(WorldConfig::empty(4.0, 3.0).wired_like(&config));
    let mut hardware = Hardware::open(&config, Some(&world)).unwrap();
    let leds =
        |status: bool, warning: bool| vec![("status".into(), status), ("warning".into(), warning)];

    let mut warning = hardware.led("warning").unwrap();
    let mut status = hardware.led("status").unwrap();
    assert_eq!(world.snapshot().leds, leds(false, false));
    warning.set(true).unwrap();
    assert_eq!(world.snapshot().leds, leds(false, true));
    assert!(!world.snapshot().led, "the first LED is `status`");
    status.set(true).unwrap();
    warning.set(false).unwrap();
    assert_eq!(world.snapshot().leds, leds(true, false));
    assert!(world.snapshot().led);

    let (mut estop, _) = hardware.button("estop").unwrap();
    let (mut start, _) = hardware.button("start").unwrap();
    for (pressed, other) in [("estop", "start"), ("start", "estop")] {
        let (_, finger) = world.button_named(pressed).unwrap();
        finger.press();
        let (source, quiet) = match pressed {
            "estop" => (&mut estop, &mut start),
            _ => (&mut start, &mut estop),
        };
        let edge = tokio::time::timeout(Duration::from_millis(100), source.next_edge())
            .await
            .unwrap_or_else(|_| panic!("pressing {pressed} reached nothing"))
            .unwrap();
        assert_eq!(edge.kind, crate::hal::EdgeKind::Falling, "{pressed}");
        assert!(
            quiet.is_high().unwrap(),
            "pressing {pressed} pressed {other}"
        );
        finger.release();
        let _release = source.next_edge().await.unwrap();
    }
}

/// Firmware whose robot file puts the E-stop on another pin (GPIO 9) than the robot has it
/// (GPIO 4) opens it unconnected in simulation: pressing the robot's E-stop reaches nothing,
/// as on the robot.
#[tokio::test(start_paused = true)]
async fn a_button_on_a_pin_the_robot_does_not_wire_stays_released_in_simulation() {
    let robot = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
    let world = World::new(WorldConfig::empty(4.0, 3.0).wired_like(&robot));
    let (_, finger) = world.button_named("estop").unwrap();
    let wired = "[buttons.estop]\npin = 4";
    assert!(EXPLORER_ROBOT.contains(wired));
    for (pin, reached) in [(4, true), (9, false)] {
        let text = EXPLORER_ROBOT.replacen(wired, &format!("[buttons.estop]\npin = {pin}"), 1);
        let firmware = RobotConfig::from_toml(&text).unwrap();
        let mut hardware = Hardware::open(&firmware, Some(&world)).unwrap();
        let (mut estop, _) = hardware.button("estop").unwrap();
        finger.press();
        let edge = tokio::time::timeout(Duration::from_millis(100), estop.next_edge()).await;
        assert_eq!(edge.is_ok(), reached, "E-stop on GPIO {pin}");
        assert_eq!(!estop.is_high().unwrap(), reached, "E-stop on GPIO {pin}");
        finger.release();
    }
}
