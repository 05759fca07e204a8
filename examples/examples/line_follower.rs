//! A line follower: a PID loop steers a two-wheeled robot along a line of tape.
//!
//! Actors: two motors (each with its dead-man watchdog), the line sensor (five reflectance
//! sensors read through an MCP3008, publishing where the line is), a status LED, and the
//! follower, which on a timer turns the latest line position into wheel speeds. When the line
//! is lost it turns towards the side it was last seen on until a sensor finds it again. The
//! wiring comes from the robot file (`compaktor-pi/robots/line_follower.toml` by default).
//!
//! By default it all runs in the simulated world on tokio's paused clock, on an oval track
//! (4 × 3 m arena, 7.3 m of 19 mm tape): it prints progress once per simulated second, a
//! summary at the end (laps, time off the line), and draws the path to
//! `target/line_follower.svg` (and the same picture to `target/line_follower.png`).
//!
//! ```text
//! cargo run --example line_follower                         # simulated, seed 1, 60 s
//! cargo run --example line_follower -- --seed 7 --duration 2m
//! cargo run --example line_follower -- --help
//! cargo run --release --example line_follower --features rppal -- --robot robot.toml
//! ```
//!
//! On a Pi (`backend = "rppal"` in the robot file) it runs in real time until Ctrl-C or
//! SIGTERM (or for `--duration`). Then the E-stop cuts both motors at once, and the actors stop
//! in reverse start order: the follower, the line sensor, the motors, the LED.
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
use compaktor_pi::actors::{Led, LineReading, LineSensor, Motor, MotorConfig, MotorError};
use compaktor_pi::config::{BackendKind, RobotConfig};
use compaktor_pi::firmware::{self, Ending, FirmwareArgs, Service};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::robot::runtime_for;
use compaktor_pi::safety::{EStop, EStopReport};
use compaktor_pi::sim::{World, WorldConfig};
use tokio::time::Instant;

/// The robot this example drives unless `--robot` names another.
pub const LINE_FOLLOWER_ROBOT: &str = include_str!("../../compaktor-pi/robots/line_follower.toml");

/// The PID gains. The error is the line position (-1.0 under the leftmost sensor ..= 1.0 under
/// the rightmost); the output is the steering, added to the left wheel's duty and taken from
/// the right one's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gains {
    /// Proportional: duty per unit of position.
    pub kp: f32,
    /// Integral: duty per unit of position and second.
    pub ki: f32,
    /// Derivative: duty per unit of position per second.
    pub kd: f32,
}

/// Tuned on the simulated oval.
pub const GAINS: Gains = Gains {
    kp: 0.35,
    ki: 0.1,
    kd: 0.02,
};
/// Duty of both wheels on a straight line (0.5: 0.25 m/s on the simulated robot).
pub const BASE: f32 = 0.5;
/// The integral term is held within this much duty (anti-windup).
const INTEGRAL_LIMIT: f32 = 0.15;
/// Duty of the wheels while searching for a lost line: turning on the spot.
const SEARCH: f32 = 0.3;
/// How often the follower decides (and feeds the motors' watchdogs).
pub const TICK: Duration = Duration::from_millis(20);
/// With no line reading for this long, the follower stops: driving blind is not allowed.
const BLIND_AFTER: Duration = Duration::from_millis(100);

/// What the follower is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On the line, steering with the PID.
    Follow,
    /// The line is lost: turning on the spot towards where it was last seen (left when `true`).
    Search {
        /// Turning left.
        left: bool,
    },
    /// No recent reading (or none yet), or the motors refused: wheels at 0.
    Halt,
}

/// What the follower reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    /// What it is doing.
    pub mode: Mode,
    /// The last line position, if the line was seen.
    pub position: Option<f32>,
    /// The last wheel duties, `[left, right]`.
    pub duties: [f32; 2],
    /// How many times it lost the line.
    pub lost: u32,
}

/// Steers along the line: the line sensor's readings in, wheel speeds out.
pub struct Follower {
    left: ActorRef<Motor>,
    right: ActorRef<Motor>,
    line: ActorRef<LineSensor>,
    led: Option<ActorRef<Led>>,
    gains: Gains,
    base: f32,
    /// The latest reading's position and when it came.
    reading: Option<(Option<f32>, Instant)>,
    /// ∫e dt.
    integral: f32,
    /// The error and time of the previous PID step, for the derivative.
    previous: Option<(f32, Instant)>,
    /// Where the line was last seen: left of the middle when `true`.
    last_side_left: bool,
    mode: Mode,
    duties: [f32; 2],
    lost: u32,
    /// Pulled when a drive motor stops: the other wheel must not drive on alone.
    estop: EStop,
    /// A drive motor has stopped: the follower drives no more.
    motor_lost: bool,
}

impl Follower {
    /// A follower driving `left` and `right` from `line`'s readings.
    pub fn new(
        left: ActorRef<Motor>,
        right: ActorRef<Motor>,
        line: ActorRef<LineSensor>,
        led: Option<ActorRef<Led>>,
        gains: Gains,
        base: f32,
        estop: EStop,
    ) -> Self {
        Follower {
            left,
            right,
            line,
            led,
            gains,
            base,
            reading: None,
            integral: 0.0,
            previous: None,
            last_side_left: true,
            mode: Mode::Halt,
            duties: [0.0; 2],
            lost: 0,
            estop,
            motor_lost: false,
        }
    }

    /// One PID step on the error `e` (the line position) at `now`: the wheel duties.
    fn pid(&mut self, e: f32, now: Instant) -> (f32, f32) {
        let Gains { kp, ki, kd } = self.gains;
        let derivative = match self.previous {
            Some((before, at)) if now > at => {
                let dt = (now - at).as_secs_f32();
                if ki > 0.0 {
                    let limit = INTEGRAL_LIMIT / ki;
                    self.integral = (self.integral + e * dt).clamp(-limit, limit);
                }
                (e - before) / dt
            }
            _ => 0.0,
        };
        self.previous = Some((e, now));
        let steering = kp * e + ki * self.integral + kd * derivative;
        (
            (self.base + steering).clamp(-1.0, 1.0),
            (self.base - steering).clamp(-1.0, 1.0),
        )
    }

    async fn drive(&self, left: f32, right: f32) -> Result<(), MotorError> {
        let timeout = Duration::from_millis(100);
        let (l, r) = tokio::join!(
            self.left.set_speed(left).timeout(timeout),
            self.right.set_speed(right).timeout(timeout)
        );
        for result in [l, r] {
            match result {
                Ok(()) => {}
                Err(AskError::Handler(e)) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "motor did not answer"),
            }
        }
        Ok(())
    }

    async fn show(&self, mode: Mode) {
        let Some(led) = &self.led else { return };
        let _ = match mode {
            Mode::Follow => led.set(true).tell().await,
            Mode::Search { .. } => {
                let fast = vec![Duration::from_millis(50); 2];
                led.blink(fast).tell().await
            }
            Mode::Halt => led.set(false).tell().await,
        };
    }
}

#[actor]
impl Follower {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), AskError<TopicError>> {
        // Death watch: a motor actor that stops (panic, kill, failure) must not leave the other
        // wheel driving.
        ctx.watch(&self.left, |me, notice| me.motor_stopped(notice));
        ctx.watch(&self.right, |me, notice| me.motor_stopped(notice));
        let readings = self.line.topic().await?;
        ctx.subscribe(&readings, |me, r| me.reading(r));
        // A control loop wants the latest reading, not a backlog: late ticks are skipped.
        ctx.every_with(TICK, MissedTick::Skip, |me| me.tick());
        Ok(())
    }

    /// A drive motor stopped: cut both at once through the E-stop and drive no more.
    #[handler]
    fn motor_stopped(&mut self, notice: Terminated) {
        tracing::error!(motor = %notice.actor, reason = %notice.reason, "a drive motor stopped; stopping both");
        self.motor_lost = true;
        self.mode = Mode::Halt;
        self.duties = [0.0; 2];
        self.estop
            .trigger(&format!("{} stopped: {}", notice.actor, notice.reason));
    }

    #[handler]
    fn reading(&mut self, reading: LineReading) {
        self.reading = Some((reading.position, Instant::now()));
    }

    /// One decision: follow, search or halt.
    #[handler]
    async fn tick(&mut self) {
        if self.motor_lost || self.estop.is_engaged() {
            self.duties = [0.0; 2];
            if self.mode != Mode::Halt {
                self.mode = Mode::Halt;
                self.show(Mode::Halt).await;
            }
            return;
        }
        let now = Instant::now();
        let previous = self.mode;
        let fresh = self
            .reading
            .filter(|&(_, at)| now - at < BLIND_AFTER)
            .map(|(position, _)| position);
        let (left, right) = match fresh {
            None => {
                self.mode = Mode::Halt;
                self.previous = None;
                (0.0, 0.0)
            }
            Some(Some(e)) => {
                self.mode = Mode::Follow;
                if e != 0.0 {
                    self.last_side_left = e < 0.0;
                }
                self.pid(e, now)
            }
            Some(None) => {
                if self.mode == Mode::Follow {
                    self.lost += 1;
                }
                let left = self.last_side_left;
                self.mode = Mode::Search { left };
                // Start the PID afresh on the line again: the derivative across the gap and
                // the integral from before it mean nothing now.
                self.previous = None;
                self.integral = 0.0;
                if left {
                    (-SEARCH, SEARCH)
                } else {
                    (SEARCH, -SEARCH)
                }
            }
        };
        self.duties = [left, right];
        if let Err(e) = self.drive(left, right).await {
            tracing::warn!(error = %e, "driving refused");
            self.mode = Mode::Halt;
        }
        if self.mode != previous {
            self.show(self.mode).await;
        }
    }

    /// What the follower is doing.
    #[handler]
    pub fn status(&self) -> Status {
        Status {
            mode: self.mode,
            position: self.reading.and_then(|(position, _)| position),
            duties: self.duties,
            lost: self.lost,
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The robot file (`None`: [`LINE_FOLLOWER_ROBOT`], simulated).
    pub robot: Option<PathBuf>,
    /// Seed of the simulated sensor noise.
    pub seed: u64,
    /// How long to run, in robot time (simulation), or until Ctrl-C when `None`.
    pub run_for: Option<Duration>,
    /// Where to draw the path as SVG, with a PNG of it beside it (simulation only).
    pub svg: Option<PathBuf>,
    /// Print progress once per second.
    pub progress: bool,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Robot time.
    pub time: Duration,
    /// Full laps of the track, in order (simulation).
    pub laps: u32,
    /// Laps as a fraction (simulation).
    pub track_progress: f64,
    /// Time with no sensor over the tape (simulation).
    pub off_line_time: Duration,
    /// Meters driven (simulation).
    pub distance: f64,
    /// Collisions (simulation).
    pub collisions: u32,
    /// Times the follower lost the line.
    pub lost: u32,
    /// Why the run ended.
    pub ending: Ending,
    /// The E-stop that cut the motors first when the robot was stopped.
    pub estop: EStopReport,
    /// Every actor and why it stopped, in the order they stopped (after the E-stop).
    pub stopped: Vec<(String, StopReason)>,
}

/// The running robot: what the example needs to watch. Its actors stop with its system
/// (`firmware::stop_robot`), the last started first.
pub struct Robot {
    /// The follower.
    pub follower: ActorRef<Follower>,
    /// The drive motors.
    pub motors: [ActorRef<Motor>; 2],
    /// The line sensor.
    pub line: ActorRef<LineSensor>,
    /// The E-stop shared by the motors.
    pub estop: EStop,
}

/// Opens the hardware and starts every actor: outputs and sensors first, the follower last.
pub async fn start_robot(
    system: &ActorSystem,
    config: &RobotConfig,
    world: Option<&World>,
) -> Result<Robot, Box<dyn Error>> {
    let sensor = config
        .line_sensor
        .as_ref()
        .ok_or("the robot file has no [line_sensor]")?;
    let mut hw = Hardware::open(config, world)?;
    let adc = hw.adc()?;
    let estop = EStop::new();

    let led = match config.leds.contains_key("status") {
        true => Some(
            system
                .builder(Led::new(hw.led("status")?))
                .name("led")
                .spawn()?,
        ),
        false => None,
    };
    let motor_config = |name: &str, invert: bool| MotorConfig {
        watchdog: Some(Duration::from_millis(config.drive.watchdog_ms)),
        ramp_per_second: config.drive.ramp_per_second,
        invert,
        ..MotorConfig::new(name)
    };
    let left_config = motor_config("left_motor", config.drive.left.invert);
    let (left_motor, right_motor) = hw.drive()?;
    let left = system
        .builder(Motor::new(left_motor, estop.clone(), left_config))
        .name("left_motor")
        .start()
        .await?;
    let right_config = motor_config("right_motor", config.drive.right.invert);
    let right = system
        .builder(Motor::new(right_motor, estop.clone(), right_config))
        .name("right_motor")
        .start()
        .await?;
    let line = LineSensor::new(
        adc,
        sensor.channels.clone(),
        sensor.threshold,
        Duration::from_millis(sensor.period_ms),
    );
    let line = system.builder(line).name("line_sensor").spawn()?;
    let follower = Follower::new(
        left.clone(),
        right.clone(),
        line.clone(),
        led,
        GAINS,
        BASE,
        estop.clone(),
    );
    let follower = system.builder(follower).name("follower").start().await?;
    Ok(Robot {
        follower,
        motors: [left, right],
        line,
        estop,
    })
}

/// Runs the robot for `options.run_for` (or until Ctrl-C), then stops it in reverse order.
pub async fn run(options: Options) -> Result<Summary, Box<dyn Error>> {
    let config = match &options.robot {
        Some(path) => RobotConfig::load(path)?,
        None => RobotConfig::from_toml(LINE_FOLLOWER_ROBOT)?,
    };
    let world = (config.backend == BackendKind::Sim)
        .then(|| World::new(WorldConfig::line_track(options.seed)));
    let physics = world.as_ref().map(World::start);
    let system = ActorSystem::new(config.name.clone());
    let robot = start_robot(&system, &config, world.as_ref()).await?;
    let started = Instant::now();
    let service = Service::from_env();
    service.ready();
    let _watchdog = service.spawn_watchdog(&system);

    let progress = async {
        let mut second = tokio::time::interval(Duration::from_secs(1));
        second.tick().await;
        loop {
            second.tick().await;
            if !options.progress {
                continue;
            }
            let Ok(status) = robot.follower.status().await else {
                continue;
            };
            let where_ = world.as_ref().map_or_else(String::new, |w| {
                let s = w.snapshot();
                format!(
                    "pose=({:4.2}, {:4.2}, {:4.0}°)  laps={} ({:4.2})  ",
                    s.pose.x,
                    s.pose.y,
                    s.pose.heading.to_degrees(),
                    s.stats.laps,
                    s.stats.track_progress
                )
            });
            let line = status
                .position
                .map_or_else(|| "  -  ".to_owned(), |p| format!("{p:+4.2}"));
            println!(
                "t={:5.1}s  {where_}line={line}  mode={:?}",
                started.elapsed().as_secs_f32(),
                status.mode
            );
        }
    };
    let ending = tokio::select! {
        () = progress => unreachable!("the progress loop never ends"),
        ending = firmware::run_until(options.run_for) => ending,
    };
    if ending == Ending::Signal {
        println!("signal: stopping");
    }

    service.stopping();
    // A follower that does not answer must not keep the robot from stopping.
    let lost = robot
        .follower
        .status()
        .timeout(Duration::from_millis(100))
        .await
        .map_or(0, |status| status.lost);
    let stopped = firmware::stop_robot(
        &system,
        &robot.estop,
        &ending.to_string(),
        Duration::from_secs(1),
    )
    .await;
    drop(physics);
    let mut summary = Summary {
        time: started.elapsed(),
        laps: 0,
        track_progress: 0.0,
        off_line_time: Duration::ZERO,
        distance: 0.0,
        collisions: 0,
        lost,
        ending,
        estop: stopped.estop.ok_or("pulling the E-stop panicked")?,
        stopped: stopped.actors,
    };
    if let Some(world) = &world {
        let stats = world.snapshot().stats;
        summary.laps = stats.laps;
        summary.track_progress = stats.track_progress;
        summary.off_line_time = stats.off_line_time;
        summary.distance = stats.distance;
        summary.collisions = stats.collisions;
        if let Some(path) = &options.svg {
            world.save_svg(path)?;
            // The same picture as PNG, for viewers without SVG (the examples' `png` feature).
            #[cfg(feature = "png")]
            world.save_png(path.with_extension("png"))?;
        }
    }
    Ok(summary)
}

/// A line follower: a PID loop steers a two-wheeled robot along a line of tape, on a simulated
/// oval track by default, or the robot a robot file describes.
#[derive(Debug, Parser)]
#[command(name = "line_follower")]
struct Cli {
    #[command(flatten)]
    firmware: FirmwareArgs,
    /// Where to draw the simulated path (SVG; the same picture as PNG beside it)
    #[arg(long, value_name = "FILE", default_value = "target/line_follower.svg")]
    svg: PathBuf,
    /// No progress lines, only the summary
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    firmware::exit(|| {
        let config = cli.firmware.robot_config(LINE_FOLLOWER_ROBOT)?;
        let simulated = config.backend == BackendKind::Sim;
        let options = Options {
            robot: cli.firmware.robot.clone(),
            seed: cli.firmware.seed,
            run_for: cli.firmware.run_for(config.backend),
            svg: Some(cli.svg.clone()),
            progress: !cli.quiet,
        };
        let runtime = runtime_for(config.backend)?;
        let summary = runtime.block_on(run(options.clone()))?;
        println!();
        println!("ran {:.1} s of robot time", summary.time.as_secs_f32());
        if simulated {
            println!(
                "{} laps ({:.2} of the track), {:.1} s off the line, lost it {} times, drove {:.1} m, {} collisions",
                summary.laps,
                summary.track_progress,
                summary.off_line_time.as_secs_f32(),
                summary.lost,
                summary.distance,
                summary.collisions
            );
            if let Some(svg) = &options.svg {
                println!("path drawn to {}", svg.display());
                #[cfg(feature = "png")]
                println!("and to {}", svg.with_extension("png").display());
            }
        }
        println!("stopped: {}", summary.estop);
        println!("then the actors, last started first:");
        for (actor, reason) in &summary.stopped {
            println!("  {actor}: {reason}");
        }
        Ok(())
    })
}
