//! Switching the drive motors off from outside the firmware: what `compaktor-safe-off` does
//! after the firmware process has ended, however it ended (systemd's `ExecStopPost`, see
//! `deploy/compaktor-robot.service`). Hardware PWM keeps its last duty when a process dies,
//! and pins keep their last level: only a command run afterwards, or the pull-down resistors
//! on the enable lines, makes "off" the state a dead firmware leaves behind.
//!
//! It opens only the motors' pins (direction, standby, enable), from the robot file (read and
//! validated before any pin is touched), and drives each low, going on past a pin that fails.
//! On the `linux` backend a hardware-PWM enable line is zeroed and disabled through the
//! kernel's PWM sysfs interface ([`sysfs_pwm_off`]). A PCA9685 board keeps its outputs when the
//! process dies too: every board a motor or servo of the file is wired to gets all 16 channels
//! full off over I2C ([`pca9685::all_off`](crate::drivers::pca9685::all_off)).

use std::fmt;
use std::path::Path;

use crate::backend::OpenError;
use crate::backend::sysfs_pwm::{PI_PWM_CHIPS, SysfsPwm, find_pwm_chip};
use crate::config::{BackendKind, MotorWiring, PwmWiring, RobotConfig};
use crate::sim::World;

/// What [`safe_off`] did to each pin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SafeOffReport {
    /// Each pin (`left motor in1: GPIO 5`) and whether it was driven low.
    pub steps: Vec<(String, Result<(), String>)>,
}

impl SafeOffReport {
    /// Whether every pin was driven low.
    pub fn all_off(&self) -> bool {
        self.steps.iter().all(|(_, r)| r.is_ok())
    }

    fn step(&mut self, what: String, result: Result<(), String>) {
        self.steps.push((what, result));
    }
}

impl fmt::Display for SafeOffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (what, result)) in self.steps.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match result {
                Ok(()) => write!(f, "{what}: low")?,
                Err(e) => write!(f, "{what}: FAILED: {e}")?,
            }
        }
        Ok(())
    }
}

/// Drives the motor pins of `config` low on its backend (`world` for `sim`: its motors' pins).
///
/// # Errors
/// [`OpenError`] if the backend is not compiled in, or `sim` without a world. A pin that
/// cannot be opened or driven is a failed step of the report, not an error: the others are
/// still switched off.
pub fn safe_off(config: &RobotConfig, world: Option<&World>) -> Result<SafeOffReport, OpenError> {
    let motors = [("left", &config.drive.left), ("right", &config.drive.right)];
    match (config.backend, world) {
        (BackendKind::Sim, Some(world)) => {
            let mut report = sim(world);
            boards_off(config, &mut report, |_bus, _label| Ok(world.i2c()));
            Ok(report)
        }
        (BackendKind::Sim, None) => Err(OpenError::new(
            "sim",
            "the simulated world",
            "no world was given",
        )),
        #[cfg(feature = "rppal")]
        (BackendKind::Rppal, _) => Ok(real::rppal(config, &motors)),
        #[cfg(feature = "linux")]
        (BackendKind::Linux, _) => Ok(real::linux(config, &motors)),
        #[allow(unreachable_patterns)]
        (other, _) => {
            let _ = motors;
            let name = match other {
                BackendKind::Sim => "sim",
                BackendKind::Rppal => "rppal",
                BackendKind::Linux => "linux",
            };
            Err(OpenError::new(
                name,
                "the backend",
                format!("it is not compiled in; build with `--features {name}`"),
            ))
        }
    }
}

/// The simulated motors: direction pins low, duty 0.
fn sim(world: &World) -> SafeOffReport {
    use embedded_hal::digital::OutputPin;
    use embedded_hal::pwm::SetDutyCycle;

    let mut report = SafeOffReport::default();
    for (name, side) in [
        ("left", crate::sim::Side::Left),
        ("right", crate::sim::Side::Right),
    ] {
        let mut pins = world.motor_pins(side);
        let _ = pins.in1.set_low(); // infallible
        report.step(format!("{name} motor in1"), Ok(()));
        let _ = pins.in2.set_low();
        report.step(format!("{name} motor in2"), Ok(()));
        let duty = pins.enable.set_duty_cycle(0).map_err(|e| e.to_string());
        report.step(format!("{name} motor enable"), duty);
    }
    report
}

/// Zeroes and disables the hardware PWM of each drive motor's enable line through the kernel's
/// PWM sysfs interface under `root` (normally
/// [`SYSFS_PWM`](crate::backend::sysfs_pwm::SYSFS_PWM)): the PWM half of [`safe_off`] on the
/// `linux` backend. The chip is the robot file's `pwm_chip`, or the one found by its label
/// ([`find_pwm_chip`]). Motors on software PWM have no step here (their enable pin is a GPIO).
///
/// ```
/// use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
/// use compaktor_pi::safe_off::sysfs_pwm_off;
///
/// let config = RobotConfig::from_toml(STARTER_ROBOT)?;
/// let report = sysfs_pwm_off(&config, "/nonexistent/sys/class/pwm".as_ref());
/// assert!(!report.all_off()); // no PWM chip there: each enable line is a failed step
/// assert_eq!(report.steps.len(), 2);
/// # Ok::<(), compaktor_pi::config::ConfigError>(())
/// ```
pub fn sysfs_pwm_off(config: &RobotConfig, root: &Path) -> SafeOffReport {
    let mut report = SafeOffReport::default();
    for (side, wiring) in [("left", &config.drive.left), ("right", &config.drive.right)] {
        let PwmWiring::Hardware { channel } = wiring.pwm else {
            continue;
        };
        let label = format!("{side} motor enable");
        let chip = config
            .pwm_chip
            .or_else(|| find_pwm_chip(root, PI_PWM_CHIPS));
        let Some(chip) = chip else {
            report.step(
                format!("{label}: PWM channel {channel}"),
                Err(format!(
                    "no PWM chip is known under {}; set `pwm_chip` in the robot file",
                    root.display()
                )),
            );
            continue;
        };
        // Opening sets duty 0; dropping it writes duty 0 again and disables the channel.
        let result = SysfsPwm::open(root, chip, channel, config.drive.pwm_hz, &label)
            .map(drop)
            .map_err(|e| e.to_string());
        report.step(format!("{label}: pwmchip{chip} channel {channel}"), result);
    }
    report
}

/// The PCA9685 boards the drive motors and servos of `config` are wired to, `(bus, address)`,
/// each once.
fn pca9685_boards(config: &RobotConfig) -> Vec<(u8, u8)> {
    let mut boards: Vec<(u8, u8)> = [config.drive.left.pwm, config.drive.right.pwm]
        .into_iter()
        .chain(config.servos.values().map(|s| s.pwm))
        .filter_map(|pwm| match pwm {
            PwmWiring::Pca9685 { address, bus, .. } => Some((bus, address)),
            _ => None,
        })
        .collect();
    boards.sort_unstable();
    boards.dedup();
    boards
}

/// Every channel of each PCA9685 board of `config` full off, on the bus `open` opens; a step
/// each.
fn boards_off<I2C: embedded_hal::i2c::I2c>(
    config: &RobotConfig,
    report: &mut SafeOffReport,
    open: impl Fn(u8, &str) -> Result<I2C, OpenError>,
) {
    for (bus, address) in pca9685_boards(config) {
        let label = format!("PCA9685 {address:#04x}");
        let result = open(bus, &label)
            .map_err(|e| e.to_string())
            .and_then(|i2c| {
                crate::drivers::pca9685::all_off(i2c, address).map_err(|e| e.to_string())
            });
        report.step(format!("{label} on I2C bus {bus}: all 16 channels"), result);
    }
}

/// The GPIO numbers of one motor's wiring that must go low, named.
#[cfg_attr(not(any(feature = "rppal", feature = "linux")), allow(dead_code))]
fn pins(wiring: &MotorWiring) -> Vec<(&'static str, u8)> {
    let mut pins = vec![("in1", wiring.in1), ("in2", wiring.in2)];
    if let Some(stby) = wiring.standby {
        pins.push(("stby", stby));
    }
    if let crate::config::PwmWiring::Software { pin } = wiring.pwm {
        pins.push(("pwm", pin));
    }
    pins
}

#[cfg(any(feature = "rppal", feature = "linux"))]
mod real {
    //! The real backends: each pin opened as an output driven low.

    use super::*;

    #[cfg(feature = "rppal")]
    pub(super) fn rppal(config: &RobotConfig, motors: &[(&str, &MotorWiring)]) -> SafeOffReport {
        use crate::backend::rppal as pi;

        let mut report = SafeOffReport::default();
        for (side, wiring) in motors {
            for (what, bcm) in pins(wiring) {
                let label = format!("{side} motor {what}");
                let result = pi::output_pin(bcm, &label)
                    .map(|mut pin| {
                        // Keep driving low after this process exits (rppal would otherwise
                        // make it an input again, floating).
                        pin.set_reset_on_drop(false);
                    })
                    .map_err(|e| e.to_string());
                report.step(format!("{label}: GPIO {bcm}"), result);
            }
        }
        // rppal's hardware PWM is the kernel's PWM sysfs interface too: zeroed there, on the
        // chip the robot file names or the one found by its label, any of its channels.
        let pwm = sysfs_pwm_off(config, crate::backend::sysfs_pwm::SYSFS_PWM.as_ref());
        report.steps.extend(pwm.steps);
        boards_off(config, &mut report, pi::i2c);
        report
    }

    #[cfg(feature = "linux")]
    pub(super) fn linux(config: &RobotConfig, motors: &[(&str, &MotorWiring)]) -> SafeOffReport {
        use crate::backend::linux as lx;

        let mut report = SafeOffReport::default();
        for (side, wiring) in motors {
            for (what, gpio) in pins(wiring) {
                let label = format!("{side} motor {what}");
                // Found as the firmware finds it (by the chip, or by the line's name
                // `GPIO{n}`); requested low, and the kernel keeps the level once released.
                let result = lx::find_line(config.gpio_chip.as_deref(), gpio, &label)
                    .and_then(|(chip, offset)| lx::output_line(chip, offset, &label))
                    .map(drop)
                    .map_err(|e| e.to_string());
                report.step(format!("{label}: GPIO {gpio}"), result);
            }
        }
        let pwm = sysfs_pwm_off(config, crate::backend::sysfs_pwm::SYSFS_PWM.as_ref());
        report.steps.extend(pwm.steps);
        boards_off(config, &mut report, |bus, label| {
            lx::i2c(format!("/dev/i2c-{bus}"), label)
        });
        report
    }
}
