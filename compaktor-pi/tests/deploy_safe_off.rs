//! When the firmware dies hard (SIGKILL, out of memory, abort), systemd runs
//! `compaktor-safe-off` (the unit's `ExecStopPost`): it drives the motor pins low. Here against
//! the simulated backend, the command itself, and the unit file with `systemd-analyze verify`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig};
use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safe_off::{safe_off, sysfs_pwm_off};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};

const SAFE_OFF: &str = env!("CARGO_BIN_EXE_compaktor-safe-off");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(start_paused = true)]
async fn safe_off_drives_the_motor_pins_low_behind_a_dead_firmware() {
    let config = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let mut hw = Hardware::open(&config, Some(&world)).unwrap();
    let (left_motor, right_motor) = hw.drive().unwrap();
    let system = ActorSystem::new("firmware");
    let estop = EStop::new();
    let no_watchdog = |name| MotorConfig {
        watchdog: None,
        ..MotorConfig::new(name)
    };
    let left = system
        .start(Motor::new(left_motor, estop.clone(), no_watchdog("left")))
        .await
        .unwrap();
    let right = system
        .start(Motor::new(right_motor, estop.clone(), no_watchdog("right")))
        .await
        .unwrap();
    left.set_speed(0.6).await.unwrap();
    right.set_speed(-0.8).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The firmware "dies" hard: no safe state runs (nothing is stopped or dropped), the pins
    // keep their levels and nothing will command the motors again.
    std::mem::forget(system);
    std::mem::forget((left, right));
    let pins = |side| world.motor_pins(side);
    assert!(pins(Side::Left).enable.fraction() > 0.5);
    assert!(pins(Side::Right).in2.level() || pins(Side::Right).in1.level());

    let report = safe_off(&config, Some(&world)).unwrap();

    assert!(report.all_off(), "{report}");
    assert_eq!(report.steps.len(), 6, "{report}");
    for side in [Side::Left, Side::Right] {
        let p = pins(side);
        assert_eq!(p.enable.fraction(), 0.0, "{side:?}");
        assert!(!p.in1.level() && !p.in2.level(), "{side:?}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let speeds = world.snapshot().wheel_speeds;
    assert!(speeds.iter().all(|v| v.abs() < 1e-6), "{speeds:?}");
    println!("{report}");
}

/// A directory that looks like `/sys/class/pwm` after a firmware died driving: chip 0 is the
/// Pi 5's RP1 PWM (found by its label), channels 0 and 1 exported, enabled, at 60 % of 1 kHz.
fn dead_firmware_sysfs(name: &str) -> PathBuf {
    let root = scratch(name);
    let _ = std::fs::remove_dir_all(&root);
    let chip = root.join("pwmchip0");
    std::fs::create_dir_all(chip.join("device/of_node")).unwrap();
    std::fs::write(
        chip.join("device/of_node/compatible"),
        "raspberrypi,rp1-pwm\0",
    )
    .unwrap();
    std::fs::write(chip.join("npwm"), "4\n").unwrap();
    std::fs::write(chip.join("export"), "").unwrap();
    for channel in 0..4 {
        let dir = chip.join(format!("pwm{channel}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, value) in [
            ("period", "1000000"),
            ("duty_cycle", "600000"),
            ("enable", "1"),
        ] {
            std::fs::write(dir.join(file), value).unwrap();
        }
    }
    root
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap()
}

/// On the `linux` (and `rppal`) backend, safe-off zeroes and disables the enable lines'
/// hardware PWM through the kernel's sysfs interface, on the chip found by its label.
#[test]
fn safe_off_zeroes_and_disables_the_motor_pwm_through_sysfs() {
    let root = dead_firmware_sysfs("safe_off_sysfs");
    let config = RobotConfig::from_toml(STARTER_ROBOT).unwrap(); // enable on channels 0 and 1

    let report = sysfs_pwm_off(&config, &root);

    assert!(report.all_off(), "{report}");
    let steps: Vec<&str> = report.steps.iter().map(|(what, _)| what.as_str()).collect();
    assert_eq!(
        steps,
        [
            "left motor enable: pwmchip0 channel 0",
            "right motor enable: pwmchip0 channel 1"
        ]
    );
    for channel in ["pwm0", "pwm1"] {
        assert_eq!(read(&root, &format!("pwmchip0/{channel}/duty_cycle")), "0");
        assert_eq!(read(&root, &format!("pwmchip0/{channel}/enable")), "0");
    }
    // Only the motors' channels are touched.
    assert_eq!(read(&root, "pwmchip0/pwm2/duty_cycle"), "600000");
    assert_eq!(read(&root, "pwmchip0/pwm2/enable"), "1");
    let _ = std::fs::remove_dir_all(&root);
}

/// A PWM chip that is not there is a failed step naming it (and the command exits 1), not a
/// silent pass; a motor on software PWM has no PWM step (its enable pin is a GPIO).
#[test]
fn safe_off_reports_a_missing_pwm_chip_and_skips_software_pwm() {
    let root = dead_firmware_sysfs("safe_off_sysfs_missing");
    let named = STARTER_ROBOT.replace("[drive]\n", "pwm_chip = 3\n[drive]\n");
    let config = RobotConfig::from_toml(&named).unwrap();
    assert_eq!(config.pwm_chip, Some(3));
    let report = sysfs_pwm_off(&config, &root);
    assert!(!report.all_off());
    assert_eq!(report.steps.len(), 2);
    let (what, result) = &report.steps[0];
    assert_eq!(what, "left motor enable: pwmchip3 channel 0");
    assert!(
        result.as_ref().unwrap_err().contains("pwmchip3"),
        "{report}"
    );

    let mut software = RobotConfig::from_toml(STARTER_ROBOT).unwrap();
    software.drive.left.pwm = compaktor_pi::config::PwmWiring::Software { pin: 26 };
    let report = sysfs_pwm_off(&software, &root);
    assert_eq!(report.steps.len(), 1, "{report}");
    assert!(report.steps[0].0.starts_with("right motor enable"));
    let _ = std::fs::remove_dir_all(&root);
}

fn robot_file(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("robot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[test]
fn the_command_validates_the_robot_file_before_touching_a_pin() {
    let dir = scratch("safe_off_cli");
    let bad = STARTER_ROBOT.replace("watchdog_ms = 300", "watchdog_ms = 0");
    let out = Command::new(SAFE_OFF)
        .args(["--robot".as_ref(), robot_file(&dir, &bad).as_os_str()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("error: the robot file is not valid"),
        "{stderr}"
    );
    assert!(stderr.contains("drive.watchdog_ms"), "{stderr}");

    let out = Command::new(SAFE_OFF)
        .args([
            "--robot".as_ref(),
            robot_file(&dir, STARTER_ROBOT).as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no pins to switch off"), "{stdout}");

    let out = Command::new(SAFE_OFF).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--robot <FILE>") && help.contains("ExecStopPost"),
        "{help}"
    );
    let out = Command::new(SAFE_OFF).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--robot is required");
}

/// Built without the `rppal` feature, a Pi robot file is refused with the way to fix it
/// (with it, off a Pi, every pin is reported as failed and the exit code is 1).
#[test]
fn a_pi_robot_file_never_passes_silently() {
    let dir = scratch("safe_off_rppal");
    let pi = STARTER_ROBOT.replace("backend = \"sim\"", "backend = \"rppal\"");
    let out = Command::new(SAFE_OFF)
        .args(["--robot".as_ref(), robot_file(&dir, &pi).as_os_str()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("rppal"), "{text}");
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(repo().join("deploy/compaktor-robot.service")).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStopPost=/usr/local/bin/compaktor-safe-off --robot /etc/compaktor/robot.toml",
        "ExecStart=/usr/local/bin/obstacle_avoider --robot /etc/compaktor/robot.toml",
        "KillSignal=SIGTERM",
        "Restart=on-failure",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "{line} missing");
    }
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        println!("skipped: systemd-analyze is not installed (apt-get install systemd)");
        return;
    };
    assert!(version.status.success());
    // `verify` checks that the commands exist: point them at this build's safe-off and a
    // stand-in firmware.
    let dir = scratch("systemd_unit");
    std::fs::create_dir_all(&dir).unwrap();
    let firmware = dir.join("obstacle_avoider");
    std::fs::write(&firmware, "#!/bin/sh\nexit 0\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&firmware, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let unit = unit
        .replace(
            "/usr/local/bin/obstacle_avoider",
            firmware.to_str().unwrap(),
        )
        .replace("/usr/local/bin/compaktor-safe-off", SAFE_OFF);
    let path = dir.join("compaktor-robot.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    // Unknown keys and bad values are only warnings: none may mention the unit.
    assert!(!said.contains("compaktor-robot.service"), "{said}");
}
