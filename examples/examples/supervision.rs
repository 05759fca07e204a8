//! A sensor driver crashes and comes back by itself, its device reopened, while the rest of the
//! robot keeps running.
//!
//! The robot is one supervising actor, `/robot`, whose children start in order: the status LED
//! (a heartbeat), the two drive motors, the planner and the sonar driver. The sonar driver owns
//! the HC-SR04 and measures every 60 ms; its bus is flaky, and on every 30th read of an opened
//! device the driver panics. Its supervisor (one-for-one, at most 5 restarts in 10 s, waiting
//! 100 ms, then 200, 400… up to 1 s) makes a new driver from the child's factory, which opens
//! the device again; the new instance's `#[on_restart]` hook reports why and how often. The
//! planner, the motors and the LED never notice, except that the planner stops the motors while
//! it has no fresh distance (blind). At the end `system.shutdown` stops every actor, children
//! before their parent and in reverse start order, and reports what it did.
//!
//! It runs in the simulated world on tokio's paused clock: 10 s of robot time take a fraction
//! of a second. Driver panics are printed on one line each (the default hook adds a note), and
//! the runtime's log (at `info` unless `RUST_LOG` says otherwise) shows each restart decision.
//!
//! ```text
//! cargo run --example supervision                          # 10 s, a glitch every 30 reads
//! cargo run --example supervision -- --duration 30s --glitch-every 20
//! cargo run --example supervision -- --glitch-every 2      # too often: the robot gives up
//! ```
//!
//! Past the limit the supervisor stops the sonar for good and fails itself
//! (`StopReason::Escalated`), stopping its other children too: the motors end at duty 0.
#![allow(
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    reason = "example code, not a library: its items are `pub` for its test, which includes \
              this file as a module"
)]

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use compaktor::ShutdownReport;
use compaktor::prelude::*;
use compaktor_pi::actors::{Distance, Led, Motor, MotorConfig};
use compaktor_pi::config::BackendKind;
use compaktor_pi::device::{DeviceError, Range, RangeFinder};
use compaktor_pi::drivers::{HcSr04, L298n, Output, TokioDelay};
use compaktor_pi::firmware::{self, parse_duration};
use compaktor_pi::robot::{runtime_for, shutdown_signal};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::BoxFuture;
use tokio::time::Instant;

/// How often the sonar driver measures (the HC-SR04 needs 60 ms for its echoes to die out).
pub const SONAR_PERIOD: Duration = Duration::from_millis(60);
/// How often the planner decides (and feeds the motors' watchdogs).
pub const TICK: Duration = Duration::from_millis(50);
/// With no distance for this long, the planner stops the motors: it does not drive blind.
pub const BLIND_AFTER: Duration = Duration::from_millis(300);
/// The supervisor's limit: more restarts than this within [`RESTART_WINDOW`] and it gives up.
pub const MAX_RESTARTS: u32 = 5;
/// See [`MAX_RESTARTS`].
pub const RESTART_WINDOW: Duration = Duration::from_secs(10);

/// Closer than this ahead, the planner turns.
const TURN_BELOW_M: f32 = 0.6;
/// It turns until the way ahead is this clear.
const CLEAR_ABOVE_M: f32 = 1.2;
const CRUISE: f32 = 0.5;
const SPIN: f32 = 0.4;
/// The LED's heartbeat: on, off, on, off (ms).
const HEARTBEAT_MS: [u64; 4] = [100, 100, 100, 700];

// ---------------------------------------------------------------------------------------------
// The flaky device and its driver actor: the part that crashes.
// ---------------------------------------------------------------------------------------------

/// The HC-SR04 on a flaky bus: the `glitch_every`-th read of an opened device finds the echo
/// line stuck, and the driver panics (as a driver that `unwrap`s a bus error would).
pub struct FlakySonar {
    sensor: Box<dyn RangeFinder>,
    reads: u32,
    glitch_every: u32,
}

impl FlakySonar {
    /// Opens the world's HC-SR04.
    pub fn open(world: &World, glitch_every: u32) -> Self {
        let (trigger, echo) = world.ultrasonic();
        FlakySonar {
            sensor: Box::new(HcSr04::new(trigger, echo, TokioDelay)),
            reads: 0,
            glitch_every,
        }
    }
}

impl RangeFinder for FlakySonar {
    fn measure(&mut self) -> BoxFuture<'_, Result<Range, DeviceError>> {
        self.reads += 1;
        if self.reads.is_multiple_of(self.glitch_every) {
            panic!("bus glitch: echo line stuck high on read {}", self.reads);
        }
        self.sensor.measure()
    }
}

/// A restart of the sonar driver, as its new instance saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Restarted {
    /// When the new instance started.
    pub at: Instant,
    /// How many times the driver has been restarted, this time included.
    pub count: u32,
    /// Why the previous instance ended.
    pub reason: StopReason,
}

/// The sonar driver: measures every [`SONAR_PERIOD`] and tells the planner each distance.
pub struct SonarDriver {
    sensor: Box<dyn RangeFinder>,
    planner: ActorRef<Planner>,
    restarts: mpsc::UnboundedSender<Restarted>,
}

#[actor]
impl SonarDriver {
    /// A new instance, made by the factory after the previous one failed.
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) {
        let _ = self.restarts.unbounded_send(Restarted {
            at: Instant::now(),
            count: info.count,
            reason: info.reason.clone(),
        });
    }

    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every_with(SONAR_PERIOD, MissedTick::Skip, |me| me.measure());
    }

    #[handler]
    async fn measure(&mut self) {
        match self.sensor.measure().await {
            Ok(range) => {
                let reading = Distance {
                    range,
                    at: Instant::now(),
                };
                let _ = self.planner.distance(reading).await;
            }
            Err(e) => tracing::debug!(error = %e, "no distance this time"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The planner: the part that keeps running.
// ---------------------------------------------------------------------------------------------

/// What the planner is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Straight ahead.
    Cruise,
    /// Spinning in place until the way ahead is clear.
    Turn,
    /// No fresh distance: motors at 0.
    Blind,
}

/// What the planner has done so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannerStatus {
    /// What it is doing now.
    pub mode: Mode,
    /// The latest distance.
    pub last: Option<Distance>,
    /// Distances received.
    pub readings: u64,
    /// Decisions taken (one per [`TICK`]).
    pub ticks: u64,
    /// Decisions taken blind.
    pub blind_ticks: u64,
}

/// Drives the motors from the sonar's distances.
pub struct Planner {
    left: ActorRef<Motor>,
    right: ActorRef<Motor>,
    status: PlannerStatus,
}

impl Planner {
    /// A planner driving `left` and `right`.
    pub fn new(left: ActorRef<Motor>, right: ActorRef<Motor>) -> Self {
        Planner {
            left,
            right,
            status: PlannerStatus {
                mode: Mode::Blind,
                last: None,
                readings: 0,
                ticks: 0,
                blind_ticks: 0,
            },
        }
    }
}

#[actor]
impl Planner {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(TICK, |me| me.tick());
    }

    /// A distance from the sonar driver.
    #[handler]
    pub fn distance(&mut self, reading: Distance) {
        self.status.last = Some(reading);
        self.status.readings += 1;
    }

    #[handler]
    async fn tick(&mut self) {
        let status = &mut self.status;
        let fresh = status
            .last
            .filter(|d| d.at.elapsed() < BLIND_AFTER)
            .map(|d| d.range.clearance());
        status.mode = match (status.mode, fresh) {
            (_, None) => Mode::Blind,
            (Mode::Turn, Some(d)) if d < CLEAR_ABOVE_M => Mode::Turn,
            (Mode::Cruise | Mode::Blind, Some(d)) if d < TURN_BELOW_M => Mode::Turn,
            (_, Some(_)) => Mode::Cruise,
        };
        status.ticks += 1;
        let (left, right) = match status.mode {
            Mode::Cruise => (CRUISE, CRUISE),
            Mode::Turn => (SPIN, -SPIN),
            Mode::Blind => {
                status.blind_ticks += 1;
                (0.0, 0.0)
            }
        };
        let timeout = Duration::from_millis(100);
        let (l, r) = tokio::join!(
            self.left.set_speed(left).timeout(timeout),
            self.right.set_speed(right).timeout(timeout)
        );
        if let Err(e) = l.and(r) {
            tracing::warn!(error = %e, "a motor refused");
        }
    }

    /// What the planner has done so far.
    #[handler]
    pub fn status(&self) -> PlannerStatus {
        self.status
    }
}

// ---------------------------------------------------------------------------------------------
// The robot: the supervisor, and the factories its children are made (and remade) from.
// ---------------------------------------------------------------------------------------------

/// The supervising actor: starts the robot's devices as its children.
pub struct Robot {
    world: World,
    estop: EStop,
    glitch_every: u32,
    restarts: mpsc::UnboundedSender<Restarted>,
}

#[actor]
impl Robot {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.supervise(
            Supervision::one_for_one()
                .max_restarts(MAX_RESTARTS, RESTART_WINDOW)
                .backoff(Backoff::exponential(
                    Duration::from_millis(100),
                    Duration::from_secs(1),
                )),
        );
        let world = self.world.clone();
        let led = ctx
            .child(move || Led::new(Box::new(Output::new(world.led()))))
            .name("led")
            .start()
            .await?;
        let heartbeat = HEARTBEAT_MS.map(Duration::from_millis).to_vec();
        if let Err(e) = led.blink(heartbeat).await {
            tracing::warn!(error = %e, "no heartbeat");
        }

        let mut motors = Vec::new();
        for (side, name) in [(Side::Left, "left_motor"), (Side::Right, "right_motor")] {
            let (world, estop) = (self.world.clone(), self.estop.clone());
            let factory = move || {
                let pins = world.motor_pins(side);
                let bridge = L298n::new(pins.in1, pins.in2, pins.enable)
                    .expect("the simulated bridge always opens");
                let config = MotorConfig {
                    watchdog: Some(Duration::from_millis(300)),
                    ..MotorConfig::new(name)
                };
                Motor::new(Box::new(bridge), estop.clone(), config)
            };
            motors.push(ctx.child(factory).name(name).start().await?);
        }
        let (left, right) = (motors[0].clone(), motors[1].clone());
        let planner = ctx
            .child(move || Planner::new(left.clone(), right.clone()))
            .name("planner")
            .start()
            .await?;

        // The device is opened in the factory, so every restart opens it afresh.
        let (world, glitch_every) = (self.world.clone(), self.glitch_every);
        let restarts = self.restarts.clone();
        ctx.child(move || SonarDriver {
            sensor: Box::new(FlakySonar::open(&world, glitch_every)),
            planner: planner.clone(),
            restarts: restarts.clone(),
        })
        .name("sonar")
        .start()
        .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Running it.
// ---------------------------------------------------------------------------------------------

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to run, in robot time.
    pub run_for: Duration,
    /// The sonar's bus glitches on every this many reads of an opened device.
    pub glitch_every: u32,
    /// Print what happens.
    pub progress: bool,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Robot time.
    pub time: Duration,
    /// Every restart of the sonar driver: when (since the start), its count, and why.
    pub restarts: Vec<(Duration, u32, StopReason)>,
    /// The planner at the end.
    pub planner: PlannerStatus,
    /// When the last distance came (since the start).
    pub last_reading: Option<Duration>,
    /// The robot's paths before the shutdown.
    pub paths: Vec<String>,
    /// Why the robot stopped, if it stopped before the end (it gave up on its sonar).
    pub robot_failed: Option<StopReason>,
    /// Meters driven.
    pub distance: f64,
    /// Collisions.
    pub collisions: u32,
    /// The motors' duty cycles after the shutdown.
    pub duty_at_end: [f64; 2],
    /// What the shutdown did.
    pub shutdown: ShutdownReport,
}

/// Runs the robot for `options.run_for` (or until Ctrl-C), then shuts the system down.
pub async fn run(options: Options) -> Result<Summary, Box<dyn Error>> {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let physics = world.start();
    let system = ActorSystem::new("supervision");
    let (restarts_tx, mut restarts) = mpsc::unbounded();
    let robot = Robot {
        world: world.clone(),
        estop: EStop::new(),
        glitch_every: options.glitch_every.max(2),
        restarts: restarts_tx,
    };
    let robot = system.builder(robot).name("robot").start().await?;
    let started = Instant::now();
    let paths: Vec<String> = system.paths().iter().map(|p| p.to_string()).collect();
    let planner = system
        .lookup::<Planner>("/robot/planner")
        .ok_or("no planner")?;
    if options.progress {
        println!("started {}", paths.join(", "));
    }

    let mut last_status = planner.status().await?;
    let mut seen = Vec::new();
    let mut robot_failed = None;
    let mut second =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    let until = tokio::time::sleep(options.run_for);
    tokio::pin!(until);
    let robot_stopped = robot.stopped();
    tokio::pin!(robot_stopped);
    loop {
        tokio::select! {
            () = &mut until => break,
            () = shutdown_signal() => {
                println!("signal: stopping");
                break;
            }
            reason = &mut robot_stopped => {
                println!("the robot stopped: {reason}");
                robot_failed = Some(reason);
                break;
            }
            Some(restart) = restarts.next() => {
                let at = restart.at - started;
                if options.progress {
                    println!(
                        "t={:5.2}s  sonar restarted (#{}): {}; device reopened",
                        at.as_secs_f32(),
                        restart.count,
                        restart.reason
                    );
                }
                seen.push((at, restart.count, restart.reason));
            }
            _ = second.tick() => {
                if let Ok(status) = planner.status().await {
                    last_status = status;
                }
                if options.progress {
                    let status = last_status;
                    let pose = world.snapshot().pose;
                    let ahead = status
                        .last
                        .map_or_else(|| "  -  ".to_owned(), |d| d.range.to_string());
                    println!(
                        "t={:5.2}s  pose=({:4.2}, {:4.2}, {:4.0}°)  ahead={ahead}  readings={:3}  mode={:?}",
                        started.elapsed().as_secs_f32(),
                        pose.x,
                        pose.y,
                        pose.heading.to_degrees(),
                        status.readings,
                        status.mode,
                    );
                }
            }
        }
    }
    let time = started.elapsed();
    // The planner's final word, or the last one it gave if the robot failed meanwhile.
    let status = planner.status().await.unwrap_or(last_status);

    let shutdown = system.shutdown(Duration::from_secs(2)).await;
    physics.stop();
    let stats = world.snapshot().stats;
    let duty = |side| world.motor_pins(side).enable.fraction();
    Ok(Summary {
        time,
        restarts: seen,
        planner: status,
        last_reading: status.last.map(|d| d.at - started),
        paths,
        robot_failed,
        distance: stats.distance,
        collisions: stats.collisions,
        duty_at_end: [duty(Side::Left), duty(Side::Right)],
        shutdown,
    })
}

/// A sensor driver crashes and comes back by itself, its device reopened, while the rest of
/// the simulated robot keeps running.
#[derive(Debug, Parser)]
#[command(name = "supervision")]
struct Cli {
    /// How long to run, in robot time, as `10s`, `2m` or plain seconds
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// The sonar's bus glitches on every this many reads of an opened device (at least 2)
    #[arg(long, value_name = "N", default_value_t = 30)]
    glitch_every: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    firmware::exit(|| run_cli(&cli))
}

fn run_cli(cli: &Cli) -> Result<(), Box<dyn Error>> {
    // The driver's panics are part of the show: one line each, not the default hook's three.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" ({l})"));
        eprintln!("           panic: {message}{at}");
    }));
    let options = Options {
        run_for: cli.duration,
        glitch_every: cli.glitch_every,
        progress: true,
    };
    let runtime = runtime_for(BackendKind::Sim)?;
    let summary = runtime.block_on(run(options))?;
    let p = &summary.planner;
    println!();
    println!(
        "ran {:.1} s of robot time: {} sonar restarts, {} distances, {} planner decisions \
         ({} blind, motors at 0)",
        summary.time.as_secs_f32(),
        summary.restarts.len(),
        p.readings,
        p.ticks,
        p.blind_ticks
    );
    if let Some(last) = summary.last_reading {
        println!("last distance at t={:.2}s", last.as_secs_f32());
    }
    println!(
        "drove {:.1} m, {} collisions; motor duty after shutdown: {:.1} / {:.1}",
        summary.distance, summary.collisions, summary.duty_at_end[0], summary.duty_at_end[1]
    );
    let s = &summary.shutdown;
    println!(
        "shutdown: {} actors stopped, {} killed, {} dead letters, {} still running, in {} ms",
        s.stopped,
        s.killed,
        s.dead_letters,
        s.still_running,
        s.elapsed.as_millis()
    );
    Ok(())
}
