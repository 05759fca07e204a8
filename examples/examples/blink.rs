//! Hello world for robots: one actor, one LED, a blink pattern.
//!
//! The [`Led`] actor owns the pin and blinks a heartbeat (on 100 ms, off 100 ms, on 100 ms,
//! off 700 ms) on its own timer; this program only starts it, watches the LED for a few
//! seconds, printing each change of level, and stops it, which switches the LED off. By default
//! the LED is the simulated world's, on tokio's paused clock: three seconds of robot time take
//! a few milliseconds. The LED is sampled every 50 ms, midway between the pattern's steps, so a
//! change shows up 25 ms after it happened.
//!
//! ```text
//! cargo run --example blink                         # simulated LED, 3 s
//! cargo run --example blink -- --duration 10s
//! cargo run --example blink -- --help
//! cargo run --release --example blink --features rppal -- --robot robot.toml   # [led] pin
//! ```
#![allow(
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    reason = "example code, not a library: its items are `pub` for its test, which includes \
              this file as a module"
)]

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use compaktor::prelude::*;
use compaktor_pi::actors::Led;
use compaktor_pi::config::{BackendKind, RobotConfig};
use compaktor_pi::device::DigitalOutput;
use compaktor_pi::drivers::Output;
use compaktor_pi::firmware::{self, Ending, FirmwareArgs};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::robot::runtime_for;
use compaktor_pi::sim::{World, WorldConfig};

/// The heartbeat: on, off, on, off (ms), repeated.
pub const HEARTBEAT_MS: [u64; 4] = [100, 100, 100, 700];
/// How long it blinks unless `--duration` says otherwise.
pub const BLINK_FOR: Duration = Duration::from_secs(3);
/// How often the LED is looked at.
pub const POLL: Duration = Duration::from_millis(50);

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A robot file with an `[led]` (`None`: the simulated LED).
    pub robot: Option<PathBuf>,
    /// On, off, on, off… durations, repeated.
    pub pattern: Vec<Duration>,
    /// How long to blink.
    pub run_for: Duration,
    /// Print each change.
    pub progress: bool,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Summary {
    /// When the LED was seen to change, and to which level (it starts off).
    pub changes: Vec<(Duration, bool)>,
    /// The simulated LED's level after the actor stopped (`None` on real hardware).
    pub on_at_end: Option<bool>,
    /// Why the LED actor stopped.
    pub stopped: StopReason,
}

/// Blinks `options.pattern` for `options.run_for` (or until Ctrl-C), then stops the LED.
pub async fn run(options: Options) -> Result<Summary, Box<dyn Error>> {
    // The LED: the robot file's, or the simulated world's pin.
    let mut world = None;
    let output: Box<dyn DigitalOutput> = match &options.robot {
        Some(path) => {
            let config = RobotConfig::load(path)?;
            if config.backend == BackendKind::Sim {
                world = Some(World::new(WorldConfig::empty(4.0, 3.0)));
            }
            // Opens the LED alone: blinking needs no motor.
            Hardware::open(&config, world.as_ref())?.led("status")?
        }
        None => {
            let sim = World::new(WorldConfig::empty(4.0, 3.0));
            let pin = sim.led();
            world = Some(sim);
            Box::new(Output::new(pin))
        }
    };

    let system = ActorSystem::new("blink");
    let led = system.builder(Led::new(output)).name("led").spawn()?;
    let started = tokio::time::Instant::now();
    led.blink(options.pattern.clone()).await?;

    // The level as the world sees it (the pin), or as the actor knows it on real hardware.
    let level = async || match &world {
        Some(world) => world.snapshot().led,
        None => led.is_on().await.unwrap_or(false),
    };
    let mut changes = Vec::new();
    let mut seen = false;
    let watch = async {
        let mut poll = tokio::time::interval_at(started + POLL / 2, POLL);
        loop {
            let on = level().await;
            if on != seen {
                seen = on;
                let at = started.elapsed();
                changes.push((at, on));
                if options.progress {
                    let state = if on { "on" } else { "off" };
                    println!("t={:6.3}s  LED {state}", at.as_secs_f32());
                }
            }
            poll.tick().await;
        }
    };
    tokio::select! {
        () = watch => {}
        ending = firmware::run_until(Some(options.run_for)) => {
            if ending == Ending::Signal {
                println!("signal: stopping");
            }
        }
    }

    led.stop();
    let stopped = led.stopped().await;
    Ok(Summary {
        changes,
        on_at_end: world.as_ref().map(|w| w.snapshot().led),
        stopped,
    })
}

/// Hello world for robots: one actor blinks an LED (the simulated one by default, or the
/// `[led]` of a robot file).
#[derive(Debug, Parser)]
#[command(
    name = "blink",
    mut_arg("duration", |a| a.help("How long to blink, as `10s`, `1500ms` or plain seconds [default: 3s]")),
    mut_arg("seed", |a| a.hide(true)),
)]
struct Cli {
    #[command(flatten)]
    firmware: FirmwareArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    firmware::exit(|| {
        let backend = match &cli.firmware.robot {
            Some(path) => RobotConfig::load(path)?.backend,
            None => BackendKind::Sim,
        };
        let options = Options {
            robot: cli.firmware.robot.clone(),
            pattern: HEARTBEAT_MS.map(Duration::from_millis).to_vec(),
            run_for: cli.firmware.duration.unwrap_or(BLINK_FOR),
            progress: true,
        };
        let runtime = runtime_for(backend)?;
        let summary = runtime.block_on(run(options))?;
        let end = match summary.on_at_end {
            Some(true) => ", still on!",
            Some(false) => ", off",
            None => "",
        };
        println!(
            "{} changes; the LED actor stopped ({}){end}",
            summary.changes.len(),
            summary.stopped
        );
        Ok(())
    })
}
