//! The robot file's schema and checks: one test per class of bad value.

use super::*;

/// The starter robot with `from` replaced by `to` (which must be there).
fn starter_with(from: &str, to: &str) -> String {
    assert!(STARTER_ROBOT.contains(from), "{from}");
    STARTER_ROBOT.replacen(from, to, 1)
}

/// The line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// The error of `text`, which must be [`ConfigError::Invalid`]: its key, line and problem.
fn invalid(text: &str) -> (String, usize, Problem) {
    match RobotConfig::from_toml(text) {
        Err(ConfigError::Invalid { key, line, problem }) => (key, line, problem),
        other => panic!("expected an invalid value, got {other:?}"),
    }
}

#[test]
fn the_starter_robot_parses() {
    let robot = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
    assert_eq!(robot.backend, BackendKind::Sim);
    assert_eq!(robot.drive.left.bridge, BridgeKind::L298n);
    assert_eq!(robot.drive.left.pwm, PwmWiring::Hardware { channel: 0 });
    assert_eq!(robot.drive.pwm_hz, 1000);
    assert_eq!(robot.sonars["front"].echo, 24);
    assert_eq!(robot.buttons["estop"].pin, 17);
    assert_eq!(robot.leds["status"].pin, 27);
}

#[test]
fn a_robot_has_several_devices_of_each_kind_by_name() {
    let robot = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
    let names = |keys: Vec<&String>| keys.into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(robot.sonars.keys().collect()),
        ["front", "left", "right"]
    );
    assert_eq!(names(robot.servos.keys().collect()), ["pan", "tilt"]);
    assert_eq!(names(robot.bumpers.keys().collect()), ["left", "right"]);
    assert_eq!(names(robot.buttons.keys().collect()), ["estop", "start"]);
    assert_eq!(names(robot.leds.keys().collect()), ["status", "warning"]);
    assert_eq!(robot.servos["tilt"].pwm, PwmWiring::Hardware { channel: 3 });
    assert!(robot.bumpers["left"].active_low);
}

fn explorer_with(from: &str, to: &str) -> String {
    assert!(EXPLORER_ROBOT.contains(from), "{from}");
    EXPLORER_ROBOT.replacen(from, to, 1)
}

#[test]
fn sonar_mounts_and_bumper_arcs_are_read() {
    let robot = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
    let left = robot.sonars["left"].mount.unwrap();
    assert_eq!((left.x, left.y, left.angle), (0.07, 0.07, 45.0));
    assert_eq!(robot.sonars["front"].mount, None);
    assert_eq!(robot.bumpers["right"].arc, [-120.0, 0.0]);
    // Left out: all round.
    let starter = starter_with(
        "[leds.status]",
        "[bumpers.front]\npin = 22\n\n[leds.status]",
    );
    let robot = RobotConfig::from_toml(&starter).unwrap();
    assert_eq!(robot.bumpers["front"].arc, [-180.0, 180.0]);
}

#[test]
fn the_rovers_encoders_are_read_and_checked() {
    let robot = RobotConfig::from_toml(ROVER_ROBOT).unwrap();
    let encoders = robot.encoders.unwrap();
    assert_eq!((encoders.left.a, encoders.left.b), (14, Some(15)));
    assert_eq!((encoders.lines, encoders.period_ms), (20, 50));
    let rover_with = |from: &str, to: &str| {
        assert!(ROVER_ROBOT.contains(from), "{from}");
        ROVER_ROBOT.replacen(from, to, 1)
    };
    let text = rover_with("wheel_diameter = 0.065", "wheel_diameter = 0.0");
    let (key, line, problem) = invalid(&text);
    assert_eq!(
        (key.as_str(), line),
        (
            "encoders.wheel_diameter",
            line_of(&text, "wheel_diameter = 0.0")
        )
    );
    assert!(matches!(problem, Problem::OutsideRange { .. }), "{problem}");
    let text = rover_with("lines = 20", "lines = 0");
    assert_eq!(invalid(&text).0, "encoders.lines");
    let text = rover_with("wheel_base = 0.15", "wheel_base = nan");
    assert!(matches!(invalid(&text).2, Problem::NotFinite { .. }));
    let text = rover_with("period_ms = 50 ", "period_ms = 0 ");
    assert_eq!(invalid(&text).0, "encoders.period_ms");
    // An encoder on the bumper's pin.
    let text = rover_with("right = { a = 25, b = 26 }", "right = { a = 25, b = 22 }");
    let err = RobotConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        err.contains("GPIO 22 is wired twice") && err.contains("encoders.right.b"),
        "{err}"
    );
    // Single channel: no `b`.
    let text = rover_with("left = { a = 14, b = 15 }", "left = { a = 14 }");
    let robot = RobotConfig::from_toml(&text).unwrap();
    assert_eq!(robot.encoders.unwrap().left.b, None);
}

#[test]
fn sonar_mounts_off_the_body_or_turned_too_far_are_refused() {
    let text = explorer_with("angle = 45.0", "angle = 270.0");
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "sonars.left.mount.angle");
    assert_eq!(line, line_of(&text, "angle = 270.0"));
    assert!(matches!(problem, Problem::OutsideRange { value, .. } if value == 270.0));
    let text = explorer_with("x = 0.07, y = -0.07", "x = 0.07, y = -7.0");
    let (key, _, problem) = invalid(&text);
    assert_eq!(key, "sonars.right.mount.y");
    assert_eq!(problem.to_string(), "must be within -1..=1 m, not -7");
    let text = explorer_with("angle = 45.0", "angle = nan");
    assert!(matches!(invalid(&text).2, Problem::NotFinite { .. }));
}

#[test]
fn bumper_arcs_out_of_order_or_past_half_a_turn_are_refused() {
    let text = explorer_with("arc = [0.0, 120.0]", "arc = [120.0, 0.0]");
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "bumpers.left.arc");
    assert_eq!(line, line_of(&text, "arc = [120.0, 0.0]"));
    assert!(matches!(problem, Problem::NotForThisDevice(_)), "{problem}");
    let text = explorer_with("arc = [-120.0, 0.0]", "arc = [-200.0, 0.0]");
    let (key, _, problem) = invalid(&text);
    assert_eq!(key, "bumpers.right.arc");
    assert!(matches!(problem, Problem::OutsideRange { .. }), "{problem}");
}

#[test]
fn the_motor_pwm_frequency_is_a_setting() {
    let robot = RobotConfig::from_toml(&starter_with("pwm_hz = 1000", "pwm_hz = 20000")).unwrap();
    assert_eq!(robot.drive.pwm_hz, 20_000);
    let text = starter_with("pwm_hz = 1000", "pwm_hz = 0");
    let (key, _, problem) = invalid(&text);
    assert_eq!(key, "drive.pwm_hz");
    assert_eq!(problem, Problem::NotPositive { value: 0.0 });
}

#[test]
fn a_gpio_the_board_lacks_is_refused_with_its_key_and_line() {
    let text = starter_with("pin = 27", "pin = 40");
    let err = RobotConfig::from_toml(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the robot file is not valid: line {}: `leds.status.pin`: GPIO 40 is not on the \
             Raspberry Pi's header (GPIO 0-27)",
            line_of(&text, "pin = 40")
        )
    );
    // On `linux` the number is a line of a chip this cannot know: opening checks it.
    let linux = text.replace("backend = \"sim\"", "backend = \"linux\"");
    assert!(RobotConfig::from_toml(&linux).is_ok());
}

#[test]
fn a_pwm_channel_out_of_range_is_refused() {
    let text = starter_with("channel = 1 }", "channel = 4 }");
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "drive.right.pwm.hardware.channel");
    assert_eq!(line, line_of(&text, "channel = 4"));
    assert_eq!(problem, Problem::NoSuchPwmChannel { channel: 4 });
    // All four Pi 5 channels are accepted.
    let ok = starter_with("channel = 1 }", "channel = 3 }");
    assert!(RobotConfig::from_toml(&ok).is_ok());
}

#[test]
fn a_ramp_that_is_negative_zero_or_nan_is_refused() {
    for (value, problem) in [
        ("-4.0", Problem::NotPositive { value: -4.0 }),
        ("0.0", Problem::NotPositive { value: 0.0 }),
    ] {
        let text = starter_with(
            "ramp_per_second = 4.0",
            &format!("ramp_per_second = {value}"),
        );
        let (key, line, got) = invalid(&text);
        assert_eq!(key, "drive.ramp_per_second");
        assert_eq!(line, line_of(&text, "ramp_per_second"));
        assert_eq!(got, problem);
    }
    for value in ["nan", "inf", "-inf"] {
        let text = starter_with(
            "ramp_per_second = 4.0",
            &format!("ramp_per_second = {value}"),
        );
        let (key, _, problem) = invalid(&text);
        assert_eq!(key, "drive.ramp_per_second");
        assert!(matches!(problem, Problem::NotFinite { .. }), "{problem:?}");
    }
}

#[test]
fn a_zero_period_is_refused() {
    let text = starter_with("watchdog_ms = 300", "watchdog_ms = 0");
    let (key, line, problem) = invalid(&text);
    assert_eq!(
        (key.as_str(), line),
        ("drive.watchdog_ms", line_of(&text, "watchdog_ms"))
    );
    assert_eq!(problem, Problem::NotPositive { value: 0.0 });
}

#[test]
fn a_sonar_period_too_short_for_the_hc_sr04_is_refused() {
    let text = starter_with("period_ms = 60", "period_ms = 1");
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "sonars.front.period_ms");
    assert_eq!(line, line_of(&text, "period_ms = 1"));
    assert_eq!(
        problem,
        Problem::TooShort {
            value_ms: 1,
            min_ms: 60,
            device: "HC-SR04"
        }
    );
}

const ADC: &str = "\n[adc]\nbus = 0\nchip_select = 0\n";

#[test]
fn an_adc_threshold_above_the_converters_range_is_refused() {
    let text = format!(
        "{STARTER_ROBOT}{ADC}[line_sensor]\nchannels = [0, 1]\nthreshold = 1024\nperiod_ms = 10\n"
    );
    let (key, line, problem) = invalid(&text);
    assert_eq!(
        (key.as_str(), line),
        ("line_sensor.threshold", line_of(&text, "threshold"))
    );
    assert_eq!(
        problem,
        Problem::AboveRange {
            value: 1024,
            max: 1023,
            device: "MCP3008"
        }
    );
}

#[test]
fn spi_buses_and_chip_selects_that_do_not_exist_are_refused() {
    let bus = format!("{STARTER_ROBOT}\n[adc]\nbus = 2\nchip_select = 0\n");
    let (key, line, problem) = invalid(&bus);
    assert_eq!((key.as_str(), line), ("adc.bus", line_of(&bus, "bus = 2")));
    assert!(matches!(
        problem,
        Problem::DoesNotExist {
            what: "SPI bus",
            value: 2,
            ..
        }
    ));
    let cs = format!("{STARTER_ROBOT}\n[adc]\nbus = 0\nchip_select = 2\n");
    let (key, _, problem) = invalid(&cs);
    assert_eq!(key, "adc.chip_select");
    assert!(matches!(
        problem,
        Problem::DoesNotExist {
            what: "chip select",
            value: 2,
            ..
        }
    ));
    // SPI1 has a third chip select (its pins are the starter robot's right motor's).
    let aux = format!("{STARTER_ROBOT}\n[adc]\nbus = 1\nchip_select = 2\n");
    let err = RobotConfig::from_toml(&aux).unwrap_err().to_string();
    assert!(err.contains("GPIO 20 (SPI1 MOSI) is wired twice"), "{err}");
}

#[test]
fn adc_channels_that_do_not_exist_are_refused_at_their_line() {
    let text = format!(
        "{STARTER_ROBOT}{ADC}[line_sensor]\nchannels = [\n  0,\n  9,\n]\nthreshold = 400\nperiod_ms = 10\n"
    );
    let (key, line, problem) = invalid(&text);
    assert_eq!(
        (key.as_str(), line),
        ("line_sensor.channels.1", line_of(&text, "  9,"))
    );
    assert!(matches!(problem, Problem::DoesNotExist { value: 9, .. }));
}

#[test]
fn a_line_sensor_without_its_adc_is_refused() {
    let text =
        format!("{STARTER_ROBOT}\n[line_sensor]\nchannels = [0]\nthreshold = 1\nperiod_ms = 10\n");
    let err = RobotConfig::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("add an `[adc]` section"), "{err}");
}

#[test]
fn servo_limits_out_of_order_or_nan_are_refused() {
    let servo = "\n[servos.pan]\npwm = { hardware = { channel = 2 } }\nmin_angle = -90.0\nmax_angle = 90.0\nmin_pulse_us = 500\nmax_pulse_us = 2500\n";
    assert!(RobotConfig::from_toml(&format!("{STARTER_ROBOT}{servo}")).is_ok());
    let backwards = format!(
        "{STARTER_ROBOT}{}",
        servo.replace("max_angle = 90.0", "max_angle = -90.0")
    );
    let (key, _, problem) = invalid(&backwards);
    assert_eq!(key, "servos.pan.max_angle");
    assert!(matches!(
        problem,
        Problem::NotAbove {
            other: "min_angle",
            ..
        }
    ));
    let nan = format!(
        "{STARTER_ROBOT}{}",
        servo.replace("min_angle = -90.0", "min_angle = nan")
    );
    let (key, _, problem) = invalid(&nan);
    assert_eq!(key, "servos.pan.min_angle");
    assert!(matches!(problem, Problem::NotFinite { .. }));
    let frame = format!("{STARTER_ROBOT}{}", servo.replace("2500", "25000"));
    let (key, _, problem) = invalid(&frame);
    assert_eq!(key, "servos.pan.max_pulse_us");
    assert!(matches!(problem, Problem::AboveRange { .. }));
}

#[test]
fn a_servo_on_a_motor_pwm_channel_is_a_conflict_naming_both() {
    let text = format!(
        "{STARTER_ROBOT}\n[servos.pan]\npwm = {{ hardware = {{ channel = 0 }} }}\nmin_angle = -90.0\nmax_angle = 90.0\nmin_pulse_us = 500\nmax_pulse_us = 2500\n"
    );
    let err = RobotConfig::from_toml(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the robot file is not valid: PWM channel 0 is wired twice: \
             `drive.left.pwm.hardware.channel` (line {}) and `servos.pan.pwm.hardware.channel` \
             (line {})",
            line_of(&text, "channel = 0"),
            text.lines().count()
                - text
                    .lines()
                    .rev()
                    .position(|l| l.contains("channel = 0"))
                    .unwrap()
        )
    );
}

#[test]
fn two_devices_on_one_gpio_are_a_conflict() {
    let text = format!("{STARTER_ROBOT}\n[leds.warning]\npin = 23\n");
    match RobotConfig::from_toml(&text).unwrap_err() {
        ConfigError::Conflict {
            resource,
            first,
            second,
            ..
        } => {
            assert_eq!(resource, "GPIO 23");
            assert_eq!(first, "sonars.front.trigger");
            assert_eq!(second, "leds.warning.pin");
        }
        other => panic!("{other:?}"),
    }
    // A device on the ADC's SPI pins.
    let text = format!("{STARTER_ROBOT}{ADC}[bumpers.front]\npin = 10\n");
    let err = RobotConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        err.contains("GPIO 10 (SPI0 MOSI) is wired twice")
            || err.contains("GPIO 10 is wired twice"),
        "{err}"
    );
}

#[test]
fn both_motors_of_one_tb6612fng_share_its_standby_pin() {
    let text = STARTER_ROBOT.replace("bridge = \"l298n\"", "bridge = \"tb6612fng\"\nstandby = 26");
    let robot = RobotConfig::from_toml(&text).unwrap();
    assert_eq!(robot.drive.right.standby, Some(26));
    let l298n = starter_with("in2 = 6", "in2 = 6\nstandby = 26");
    let (key, _, problem) = invalid(&l298n);
    assert_eq!(key, "drive.left.standby");
    assert!(matches!(problem, Problem::NotForThisDevice(_)));
}

#[test]
fn unknown_keys_are_named() {
    let text = STARTER_ROBOT.replace("watchdog_ms", "watchdog_mz");
    let err = RobotConfig::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("watchdog_mz"), "{err}");
}

#[test]
fn the_readme_robot_file_gives_the_errors_it_shows() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```toml\nname = \"explorer\"").unwrap() + "```toml\n".len();
    let text = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(RobotConfig::from_toml(text).is_ok());
    let shown = |needle: &str| {
        readme
            .lines()
            .find(|l| l.starts_with(needle))
            .unwrap()
            .to_owned()
    };
    let ramp = text.replace("ramp_per_second = 4.0", "ramp_per_second = -4.0");
    assert_eq!(
        RobotConfig::from_toml(&ramp).unwrap_err().to_string(),
        shown("the robot file is not valid: line")
    );
    let pan = text.replace("channel = 2", "channel = 0");
    assert_eq!(
        RobotConfig::from_toml(&pan).unwrap_err().to_string(),
        shown("the robot file is not valid: PWM channel 0")
    );
}

/// The boards robot with `from` replaced by `to` (which must be there).
fn boards_with(from: &str, to: &str) -> String {
    assert!(BOARDS_ROBOT.contains(from), "{from}");
    BOARDS_ROBOT.replacen(from, to, 1)
}

#[test]
fn motors_and_servos_on_pca9685_boards_and_the_battery_are_read() {
    let robot = RobotConfig::from_toml(BOARDS_ROBOT).unwrap();
    assert_eq!(
        robot.drive.right.pwm,
        PwmWiring::Pca9685 {
            address: 0x60,
            channel: 1,
            bus: 1
        }
    );
    assert_eq!(
        robot.servos["tilt"].pwm,
        PwmWiring::Pca9685 {
            address: 0x40,
            channel: 1,
            bus: 1
        }
    );
    let battery = robot.battery.unwrap();
    assert_eq!((battery.bus, battery.address), (1, 0x41));
    assert_eq!((battery.warn_below, battery.safe_below), (7.0, 6.6));
}

#[test]
fn pca9685_addresses_and_channels_that_do_not_exist_are_refused_at_their_line() {
    let text = boards_with(
        "address = 0x60, channel = 1",
        "address = 0x60, channel = 16",
    );
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "drive.right.pwm.pca9685.channel");
    assert_eq!(line, line_of(&text, "channel = 16"));
    assert_eq!(
        problem.to_string(),
        "PCA9685 channel 16 does not exist (channels 0-15)"
    );
    // 0x70 is every board's all-call address; 0x20 is below the PCA9685's range.
    for address in ["0x70", "0x20"] {
        let text = boards_with(
            "address = 0x40, channel = 0",
            &format!("address = {address}, channel = 0"),
        );
        let (key, line, problem) = invalid(&text);
        assert_eq!(key, "servos.pan.pwm.pca9685.address");
        assert_eq!(line, line_of(&text, &format!("address = {address}")));
        assert!(matches!(problem, Problem::DoesNotExist { .. }), "{problem}");
    }
}

#[test]
fn one_pca9685_channel_for_two_devices_is_a_conflict_naming_both() {
    let text = boards_with("address = 0x40, channel = 1", "address = 0x40, channel = 0");
    let err = RobotConfig::from_toml(&text).unwrap_err();
    let ConfigError::Conflict {
        resource,
        first,
        first_line,
        second,
        second_line,
    } = &err
    else {
        panic!("expected a conflict, got {err:?}");
    };
    assert_eq!(resource, "PCA9685 0x40 channel 0 on I2C1");
    assert_eq!(first, "servos.pan.pwm.pca9685.channel");
    assert_eq!(second, "servos.tilt.pwm.pca9685.channel");
    assert_eq!(*first_line, line_of(BOARDS_ROBOT, "[servos.pan]") + 1);
    assert_eq!(*second_line, line_of(BOARDS_ROBOT, "[servos.tilt]") + 1);
    // The same channel number on two boards is two channels.
    let text = boards_with("address = 0x40, channel = 1", "address = 0x41, channel = 0");
    let text = text.replace("address = 0x41       #", "address = 0x45       #");
    RobotConfig::from_toml(&text).unwrap();
}

#[test]
fn a_servo_on_the_motor_board_is_refused_for_its_frequency() {
    let text = boards_with("address = 0x40, channel = 1", "address = 0x60, channel = 5");
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "servos.tilt.pwm.pca9685");
    assert_eq!(line, line_of(&text, "address = 0x60, channel = 5"));
    assert_eq!(
        problem.to_string(),
        "the PCA9685 at 0x60 runs all its channels at one frequency: \
         `drive.left.pwm.pca9685` needs 1000 Hz, this 50 Hz"
    );
    // A motor frequency the board cannot make.
    let text = boards_with("pwm_hz = 1000", "pwm_hz = 20000");
    let (key, _, problem) = invalid(&text);
    assert_eq!(key, "drive.pwm_hz");
    assert!(matches!(problem, Problem::OutsideRange { .. }), "{problem}");
    // The same frequency on the hardware PWM is fine (a TB6612FNG takes 20 kHz).
    let text = STARTER_ROBOT.replacen("pwm_hz = 1000", "pwm_hz = 20000", 1);
    RobotConfig::from_toml(&text).unwrap();
}

#[test]
fn i2c_devices_share_the_bus_pins_but_not_an_address() {
    // The IMU, two PCA9685s and the INA219 all on bus 1: one SDA, one SCL.
    let text = format!("{BOARDS_ROBOT}\n[imu]\nbus = 1\naddress = 0x68\nperiod_ms = 10\n");
    RobotConfig::from_toml(&text).unwrap();
    // An LED on SDA.
    let text = boards_with("pin = 27", "pin = 2");
    let err = RobotConfig::from_toml(&text).unwrap_err().to_string();
    assert!(
        err.contains("GPIO 2 (SDA1) is wired twice")
            && err.contains("`drive.left.pwm.pca9685.bus`")
            && err.contains("`leds.status.pin`"),
        "{err}"
    );
    // The INA219 at the servo board's address.
    let text = boards_with("address = 0x41 ", "address = 0x40 ");
    let err = RobotConfig::from_toml(&text).unwrap_err();
    let ConfigError::Conflict {
        resource,
        first,
        second,
        second_line,
        ..
    } = &err
    else {
        panic!("expected a conflict, got {err:?}");
    };
    assert_eq!(resource, "I2C1 address 0x40");
    assert_eq!(first, "servos.pan.pwm.pca9685.address");
    assert_eq!(second, "battery.address");
    assert_eq!(*second_line, line_of(&text, "address = 0x40 "));
    // On another bus, the same address is another chip.
    let text = boards_with("address = 0x41 ", "bus = 3\naddress = 0x40 ");
    RobotConfig::from_toml(&text).unwrap();
}

#[test]
fn battery_thresholds_out_of_order_and_other_bad_values_are_refused() {
    let text = boards_with("warn_below = 7.0", "warn_below = 6.0");
    let (key, line, problem) = invalid(&text);
    assert_eq!(key, "battery.warn_below");
    assert_eq!(line, line_of(&text, "warn_below = 6.0"));
    assert_eq!(
        problem.to_string(),
        "must be above `safe_below` (6.6), not 6"
    );
    let text = boards_with("address = 0x41 ", "address = 0x50 ");
    let (key, _, problem) = invalid(&text);
    assert_eq!(key, "battery.address");
    assert_eq!(
        problem.to_string(),
        "INA219 address 80 does not exist (0x40-0x4F, set by A0 and A1)"
    );
    let text = boards_with("shunt_ohms = 0.1", "shunt_ohms = 0.0");
    assert_eq!(invalid(&text).0, "battery.shunt_ohms");
    let text = boards_with("safe_below = 6.6", "safe_below = nan");
    assert!(matches!(invalid(&text).2, Problem::NotFinite { .. }));
    let text = boards_with("warn_below = 7.0", "warn_below = 30.0");
    let (key, _, problem) = invalid(&text);
    assert_eq!(key, "battery.warn_below");
    assert!(matches!(problem, Problem::OutsideRange { .. }), "{problem}");
    let text = boards_with("period_ms = 500", "period_ms = 0");
    assert_eq!(invalid(&text).0, "battery.period_ms");
}
