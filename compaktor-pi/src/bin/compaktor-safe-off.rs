//! `compaktor-safe-off --robot robot.toml`: drives the drive motors' pins low (direction,
//! standby, enable PWM) after the firmware has ended, however it ended. systemd runs it as the
//! firmware unit's `ExecStopPost` (`deploy/compaktor-robot.service`). It reads and validates
//! the robot file before touching any pin, opens only the motor pins, and exits with 1 if any
//! pin could not be driven low (each is reported on its own line).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use compaktor_pi::config::{BackendKind, RobotConfig};
use compaktor_pi::firmware;
use compaktor_pi::safe_off::safe_off;

/// Switches a robot's drive motors off (pins low) after its firmware has ended: the
/// `ExecStopPost` of the firmware's systemd unit
#[derive(Debug, Parser)]
#[command(name = "compaktor-safe-off")]
struct Cli {
    /// The robot file the firmware ran with (TOML)
    #[arg(long, value_name = "FILE")]
    robot: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    firmware::exit(|| {
        let config = RobotConfig::load(&cli.robot)?;
        if config.backend == BackendKind::Sim {
            println!(
                "{}: a simulated robot has no pins to switch off",
                config.name
            );
            return Ok(());
        }
        let report = safe_off(&config, None)?;
        println!("{report}");
        if report.all_off() {
            Ok(())
        } else {
            Err(format!("{}: some motor pins could not be driven low", config.name).into())
        }
    })
}
