//! Switching the drive motors off from outside the firmware: what `compaktor-safe-off` does
//! after the firmware process has ended, however it ended (systemd's `ExecStopPost`, see
//! `deploy/compaktor-robot.service`). Hardware PWM keeps its last duty when a process dies,
//! and pins keep their last level: only a command run afterwards, or the pull-down resistors
//! on the enable lines, makes "off" the state a dead firmware leaves behind.
//!
//! It opens only the motors' pins (direction, standby, enable), from the robot file (read and
//! validated before any pin is touched), and drives each low, going on past a pin that fails.

use std::fmt;

use crate::backend::OpenError;
use crate::config::{BackendKind, MotorWiring, RobotConfig};
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
        (BackendKind::Sim, Some(world)) => Ok(sim(world)),
        (BackendKind::Sim, None) => Err(OpenError::new(
            "sim",
            "the simulated world",
            "no world was given",
        )),
        #[cfg(feature = "rppal")]
        (BackendKind::Rppal, _) => Ok(real::rppal(&motors)),
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
    use crate::config::PwmWiring;

    #[cfg(feature = "rppal")]
    pub(super) fn rppal(motors: &[(&str, &MotorWiring)]) -> SafeOffReport {
        use crate::backend::rppal as pi;
        use embedded_hal::pwm::SetDutyCycle;

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
            if let PwmWiring::Hardware { channel } = wiring.pwm {
                let label = format!("{side} motor enable");
                let result = match channel {
                    0 => Ok(pi::Channel::Pwm0),
                    1 => Ok(pi::Channel::Pwm1),
                    n => Err(format!("hardware PWM channel {n} does not exist (0 or 1)")),
                }
                .and_then(|ch| pi::hardware_pwm(ch, 1_000, &label).map_err(|e| e.to_string()))
                .and_then(|mut pwm| {
                    // Duty 0; dropping it then disables the channel, whose pin idles low.
                    pwm.set_duty_cycle(0).map_err(|e| e.to_string())
                });
                report.step(format!("{label}: PWM channel {channel}"), result);
            }
        }
        report
    }

    #[cfg(feature = "linux")]
    pub(super) fn linux(config: &RobotConfig, motors: &[(&str, &MotorWiring)]) -> SafeOffReport {
        use crate::backend::linux as lx;

        let chip = config.gpio_chip.as_deref().unwrap_or("/dev/gpiochip0");
        let mut report = SafeOffReport::default();
        for (side, wiring) in motors {
            for (what, line) in pins(wiring) {
                let label = format!("{side} motor {what}");
                // Requested low; the kernel keeps the level once the line is released.
                let result = lx::output_line(chip, u32::from(line), &label)
                    .map(drop)
                    .map_err(|e| e.to_string());
                report.step(format!("{label}: {chip} line {line}"), result);
            }
            if let PwmWiring::Hardware { channel } = wiring.pwm {
                report.step(
                    format!("{side} motor enable: PWM channel {channel}"),
                    Err(
                        "the linux backend has no PWM output; IN1 = IN2 = low stops the \
                         motor, the pull-down holds the enable line low"
                            .into(),
                    ),
                );
            }
        }
        report
    }
}
