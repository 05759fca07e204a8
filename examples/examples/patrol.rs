//! Patrol: drive a square of 1 m sides by odometry alone, and say how far from the start the
//! robot closed it.
//!
//! Actors: two motors (each with its dead-man watchdog), odometry on the wheel encoders, and the
//! E-stop button when the robot file has one. The patrol itself is one async function, [`patrol`]:
//! four times, drive a side (holding the side's line by odometry, slowing down for the corner)
//! and turn left 90° in place, slowly. Nothing else tells the robot where it is: no sonar, no
//! gyro, no map. At the end it reports the closing error, how far from the start it ended: as
//! odometry believes it and, in simulation, as it truly is.
//!
//! In simulation (the rover, by default, on tokio's paused clock: the half minute of robot time
//! takes well under a second) odometry believes it closed the square to a centimetre or two,
//! and the truth is a good deal worse: wheels slip when they turn in place, so the encoders
//! count more turn than the robot made (the simulated robot's `slip`, as on a real floor),
//! each corner falls a little short of 90°, and the error grows corner by corner. Turning
//! slowly keeps it small; a gyro would catch it (see the `Odometry` actor).
//!
//! ```text
//! cargo run --example patrol                        # the simulated rover
//! cargo run --example patrol -- --side 0.5
//! cargo run --example patrol -- --help
//! cargo run --release --example patrol --features rppal -- --robot robot.toml   # [encoders]
//! ```
#![allow(
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    reason = "example code, not a library: its items are `pub` for its test, which includes \
              this file as a module"
)]

use std::convert::Infallible;
use std::error::Error;
use std::f64::consts::{FRAC_PI_2, PI, TAU};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use compaktor::prelude::*;
use compaktor_pi::actors::{
    Button, Motor, MotorConfig, MotorError, Odometry, OdometryConfig, PoseEstimate,
};
use compaktor_pi::config::{BackendKind, ROVER_ROBOT, RobotConfig};
use compaktor_pi::firmware::{self, Ending, FirmwareArgs};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::robot::runtime_for;
use compaktor_pi::safety::{EStop, EStopReport};
use compaktor_pi::sim::{Point, Pose, World, WorldConfig};

/// The side of the square, meters.
pub const SIDE_M: f64 = 1.0;
/// Driving a side: the duty, and the duty it slows down to for the corner.
pub const CRUISE: f64 = 0.5;
pub const APPROACH: f64 = 0.25;
/// It slows down over this last part of a side, meters.
const SLOW_DOWN_M: f64 = 0.15;
/// Turning in place: the duty of each wheel (one forward, one back), and the duty it slows
/// down to for the last part of the turn. Slow, because wheels slip more the faster they turn;
/// both above the motors' deadband.
pub const SPIN: f64 = 0.22;
pub const SPIN_SLOW: f64 = 0.18;
/// It slows the turn down over this last part of it, radians (20°).
const SLOW_TURN: f64 = 0.35;
/// A turn is done this close to its heading, radians (0.5°): about half the heading one
/// encoder count makes on the rover.
const TURN_DONE: f64 = 0.009;
/// Holding a side's line: duty difference per radian of heading error, and radians of heading
/// per meter off the line.
const HEADING_GAIN: f64 = 1.0;
const LINE_GAIN: f64 = 2.0;
/// At most this duty difference while driving a side.
const MAX_STEER: f64 = 0.15;
/// How often the patrol decides (and feeds the motors' watchdogs).
pub const TICK: Duration = Duration::from_millis(20);
/// After each side and each turn the robot stands this long, so the motors have stopped (their
/// ramp and lag) before the next move starts from where odometry says it is.
const SETTLE: Duration = Duration::from_millis(300);

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A robot file with `[encoders]` (`None`: the rover, simulated).
    pub robot: Option<PathBuf>,
    /// The simulated world, when the robot is simulated (`None`: [`arena`]). It is wired like
    /// the robot file.
    pub world: Option<WorldConfig>,
    /// The side of the square, meters.
    pub side: f64,
    /// Stop after this long even if the square is not closed (`None`: only on a signal).
    pub run_for: Option<Duration>,
    /// Print each corner.
    pub progress: bool,
}

/// The simulated world the patrol runs in by default: an empty 3 m × 3 m room, the robot 1 m
/// from its bottom-left corner, facing +x, so a square of up to 1 m turning left stays clear
/// of the walls.
pub fn arena() -> WorldConfig {
    let mut world = WorldConfig::empty(3.0, 3.0);
    world.start = Pose::new(1.0, 1.0, 0.0);
    world
}

/// How a patrol went.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Whether all four sides and corners were driven.
    pub completed: bool,
    /// What ended the run early, if something did: the run time, a signal, a motor that
    /// stopped, a command refused (the E-stop).
    pub interrupted: Option<String>,
    /// Odometry's pose after each corner (the last one is the end), in its own frame: it
    /// started at (0, 0) facing +x.
    pub corners: Vec<PoseEstimate>,
    /// How far from the start odometry believes the robot ended, meters.
    pub estimated_closing: f64,
    /// In simulation: how far from the start it truly ended, meters.
    pub true_closing: Option<f64>,
    /// In simulation: how far its true heading at the end is from the start's, degrees.
    pub true_heading_error: Option<f64>,
    /// In simulation: how far odometry's end position is from the true one, meters.
    pub odometry_error: Option<f64>,
    /// Robot time the run took.
    pub time: Duration,
    /// The E-stop that cut the motors at the end.
    pub estop: EStopReport,
    /// Every actor and why it stopped, in the order they stopped.
    pub stopped: Vec<(String, StopReason)>,
}

/// Why the patrol could not go on.
#[derive(Debug, thiserror::Error)]
pub enum PatrolError {
    /// A motor refused a command (the E-stop is engaged) or has stopped.
    #[error("a motor refused: {0}")]
    Motor(#[from] AskError<MotorError>),
    /// Odometry has stopped.
    #[error("odometry is gone: {0}")]
    Odometry(#[from] AskError<Infallible>),
}

/// The actors the patrol drives and reads.
pub struct Robot {
    pub left: ActorRef<Motor>,
    pub right: ActorRef<Motor>,
    pub odometry: ActorRef<Odometry>,
    pub estop: EStop,
}

impl Robot {
    async fn drive(&self, left: f64, right: f64) -> Result<(), PatrolError> {
        self.left.set_speed(left as f32).await?;
        self.right.set_speed(right as f32).await?;
        Ok(())
    }

    async fn pose(&self) -> Result<PoseEstimate, PatrolError> {
        Ok(self.odometry.pose().await?)
    }

    /// Stands still for [`SETTLE`], commanding speed 0 (which feeds the watchdogs).
    async fn settle(&self) -> Result<(), PatrolError> {
        let mut tick = tokio::time::interval(TICK);
        let until = tokio::time::Instant::now() + SETTLE;
        while tokio::time::Instant::now() < until {
            tick.tick().await;
            self.drive(0.0, 0.0).await?;
        }
        Ok(())
    }

    /// Drives from `from` along `heading` until odometry has come `length` along that line,
    /// steering back onto the line as it goes.
    async fn side(&self, from: Point, heading: f64, length: f64) -> Result<(), PatrolError> {
        let along_line = Point::from_angle(heading);
        let left_of_line = Point::from_angle(heading + FRAC_PI_2);
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            let pose = self.pose().await?;
            let offset = Point::new(pose.x, pose.y) - from;
            let remaining = length - offset.dot(along_line);
            if remaining <= 0.0 {
                break;
            }
            // Left of the line: aim a little right of the line's heading, and so on.
            let aim = heading - (LINE_GAIN * offset.dot(left_of_line)).atan();
            let steer = (HEADING_GAIN * wrap(aim - pose.heading)).clamp(-MAX_STEER, MAX_STEER);
            let speed = APPROACH + (CRUISE - APPROACH) * (remaining / SLOW_DOWN_M).min(1.0);
            self.drive(speed - steer, speed + steer).await?;
        }
        self.settle().await
    }

    /// Turns in place until odometry's heading is `heading`.
    async fn turn_to(&self, heading: f64) -> Result<(), PatrolError> {
        let mut tick = tokio::time::interval(TICK);
        let direction = wrap(heading - self.pose().await?.heading).signum();
        loop {
            tick.tick().await;
            let left_to_turn = wrap(heading - self.pose().await?.heading) * direction;
            if left_to_turn <= TURN_DONE {
                break;
            }
            let spin = SPIN_SLOW + (SPIN - SPIN_SLOW) * (left_to_turn / SLOW_TURN).min(1.0);
            self.drive(-spin * direction, spin * direction).await?;
        }
        self.settle().await
    }
}

/// Drives a square of `side` meters, turning left at each corner, by odometry alone: the
/// corners are where odometry says (0, 0), (side, 0), (side, side), (0, side) are. Calls
/// `corner` with odometry's pose after each corner's turn (the fourth: back at the start).
pub async fn patrol(
    robot: &Robot,
    side: f64,
    mut corner: impl FnMut(PoseEstimate),
) -> Result<(), PatrolError> {
    let corners =
        [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)].map(|(x, y)| Point::new(x, y));
    for (i, from) in corners.into_iter().enumerate() {
        let heading = i as f64 * FRAC_PI_2;
        robot.side(from, heading, side).await?;
        robot.turn_to(wrap(heading + FRAC_PI_2)).await?;
        corner(robot.pose().await?);
    }
    Ok(())
}

/// An angle in `(-π, π]`.
fn wrap(a: f64) -> f64 {
    let a = a.rem_euclid(TAU);
    if a > PI { a - TAU } else { a }
}

/// Where `pose` is as seen from `start` (x ahead of it, y to its left, heading from its
/// heading): the frame odometry counts in, since it starts at the start pose.
pub fn from_start(start: Pose, pose: Pose) -> Pose {
    let d = pose.position() - start.position();
    let (sin, cos) = start.heading.sin_cos();
    Pose::new(
        cos * d.x + sin * d.y,
        cos * d.y - sin * d.x,
        wrap(pose.heading - start.heading),
    )
}

/// Opens the motors and the encoders (and the E-stop button, if any) and starts their actors.
pub async fn start_robot(
    system: &ActorSystem,
    config: &RobotConfig,
    world: Option<&World>,
) -> Result<Robot, Box<dyn Error>> {
    let Some(encoders) = &config.encoders else {
        return Err(format!("{}: a patrol by odometry needs `[encoders]`", config.name).into());
    };
    let mut hw = Hardware::open(config, world)?;
    let estop = EStop::new();
    let motor = |name: &str, invert: bool| MotorConfig {
        watchdog: Some(Duration::from_millis(config.drive.watchdog_ms)),
        ramp_per_second: config.drive.ramp_per_second,
        invert,
        ..MotorConfig::new(name)
    };
    let (left, right) = hw.drive()?;
    let left = Motor::new(
        left,
        estop.clone(),
        motor("left_motor", config.drive.left.invert),
    );
    let left = system.builder(left).name("left_motor").start().await?;
    let right = Motor::new(
        right,
        estop.clone(),
        motor("right_motor", config.drive.right.invert),
    );
    let right = system.builder(right).name("right_motor").start().await?;
    let poses = system.topic::<PoseEstimate>("odometry")?;
    let odometry = Odometry::new(
        hw.encoders()?,
        None,
        OdometryConfig::from_robot(encoders),
        poses,
    );
    let odometry = system.builder(odometry).name("odometry").start().await?;
    if config.buttons.contains_key("estop") {
        let (source, debouncer) = hw.button("estop")?;
        // Started before anything drives: a button held down at boot has pulled the E-stop.
        let button = Button::new("estop", source, debouncer).triggers(estop.clone());
        system.builder(button).name("estop_button").start().await?;
    }
    Ok(Robot {
        left,
        right,
        odometry,
        estop,
    })
}

/// Drives the square (until it is closed, `options.run_for` is over, a signal comes or a motor
/// stops), then stops the robot: the E-stop first, then the actors in reverse start order.
pub async fn run(options: Options) -> Result<Summary, Box<dyn Error>> {
    let config = match &options.robot {
        Some(path) => RobotConfig::load(path)?,
        None => RobotConfig::from_toml(ROVER_ROBOT)?,
    };
    let world = (config.backend == BackendKind::Sim).then(|| {
        World::new(
            options
                .world
                .clone()
                .unwrap_or_else(arena)
                .wired_like(&config),
        )
    });
    let physics = world.as_ref().map(World::start);
    let system = ActorSystem::new(config.name.clone());
    let robot = start_robot(&system, &config, world.as_ref()).await?;
    let started = tokio::time::Instant::now();

    let mut corners = Vec::new();
    let on_corner = |pose: PoseEstimate| {
        if options.progress {
            // The truth in odometry's frame: seen from the start pose.
            let truly = world.as_ref().map_or_else(String::new, |w| {
                let p = from_start(w.config().start, w.snapshot().pose);
                format!(
                    "  truly ({:5.2}, {:5.2}, {:4.0}°)",
                    p.x,
                    p.y,
                    p.heading.to_degrees()
                )
            });
            println!(
                "t={:5.1}s  corner {}: odometry ({:5.2}, {:5.2}, {:4.0}°){truly}",
                started.elapsed().as_secs_f32(),
                corners.len() + 1,
                pose.x,
                pose.y,
                pose.heading.to_degrees(),
            );
        }
        corners.push(pose);
    };
    // Either motor stopping (a panic, a kill) ends the run at once: the E-stop then cuts the
    // other.
    let motor_stopped = async {
        let reason = tokio::select! {
            reason = robot.left.stopped() => ("left", reason),
            reason = robot.right.stopped() => ("right", reason),
        };
        format!("the {} motor stopped ({})", reason.0, reason.1)
    };
    let interrupted = tokio::select! {
        done = patrol(&robot, options.side, on_corner) => done.err().map(|e| e.to_string()),
        ending = firmware::run_until(options.run_for) => Some(match ending {
            Ending::TimeUp => "the run time was over before the square was closed".to_owned(),
            Ending::Signal => "Ctrl-C or SIGTERM".to_owned(),
        }),
        why = motor_stopped => Some(why),
    };
    let end = robot.odometry.pose().await.ok();
    let truth = world
        .as_ref()
        .map(|w| (w.config().start, w.snapshot().pose));

    let why = interrupted.as_deref().unwrap_or("the square is closed");
    let stopped = firmware::stop_robot(&system, &robot.estop, why, Duration::from_secs(1)).await;
    drop(physics);
    let estimated_closing = end.map_or(f64::NAN, |p| p.x.hypot(p.y));
    let mut summary = Summary {
        completed: interrupted.is_none(),
        interrupted,
        corners,
        estimated_closing,
        true_closing: None,
        true_heading_error: None,
        odometry_error: None,
        time: started.elapsed(),
        estop: stopped.estop.ok_or("pulling the E-stop panicked")?,
        stopped: stopped.actors,
    };
    if let Some((start, now)) = truth {
        summary.true_closing = Some(start.position().distance(now.position()));
        summary.true_heading_error = Some(wrap(now.heading - start.heading).to_degrees());
        // Odometry started at the world's start pose: its (x, y) are in the start's frame.
        summary.odometry_error = end.map(|p| {
            start
                .to_world(Point::new(p.x, p.y))
                .distance(now.position())
        });
    }
    Ok(summary)
}

/// Drives a square by odometry alone and reports how far from the start it ended: the rover,
/// simulated, by default, or a robot file's robot with wheel encoders.
#[derive(Debug, Parser)]
#[command(
    name = "patrol",
    mut_arg("duration", |a| a.help("Stop after this long even if the square is not closed, as `90s`, `2m` or plain seconds [default: 60s in simulation, none on hardware]")),
    mut_arg("seed", |a| a.hide(true)),
)]
pub struct Cli {
    /// `--robot`, `--duration`.
    #[command(flatten)]
    pub firmware: FirmwareArgs,
    /// The side of the square, meters
    #[arg(long, value_name = "M", default_value_t = SIDE_M)]
    pub side: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    firmware::exit(|| {
        if !(cli.side.is_finite() && cli.side > 0.0) {
            return Err(format!("`--side {}`: give a side longer than 0 m", cli.side).into());
        }
        let config = cli.firmware.robot_config(ROVER_ROBOT)?;
        let options = Options {
            robot: cli.firmware.robot.clone(),
            world: None,
            side: cli.side,
            run_for: cli.firmware.run_for(config.backend),
            progress: true,
        };
        let summary = runtime_for(config.backend)?.block_on(run(options))?;
        println!();
        match &summary.interrupted {
            None => println!(
                "closed a {} m square in {:.1} s",
                cli.side,
                summary.time.as_secs_f32()
            ),
            Some(why) => println!("did not close the square: {why}"),
        }
        println!(
            "closing error by odometry: {:.3} m (where the robot believes it ended)",
            summary.estimated_closing
        );
        if let (Some(truly), Some(heading), Some(odometry)) = (
            summary.true_closing,
            summary.true_heading_error,
            summary.odometry_error,
        ) {
            println!("closing error, truly:      {truly:.3} m and {heading:+.1}° of heading");
            println!("odometry ended {odometry:.3} m from the true position");
        }
        println!("stopped: {}", summary.estop);
        Ok(())
    })
}
