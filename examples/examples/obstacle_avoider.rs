//! The main job: a two-wheeled robot wanders around without hitting anything.
//!
//! Actors: two motors (each with its dead-man watchdog), the ultrasonic sensor, a status LED, a
//! button that pulls the E-stop, odometry and a bumper when the robot file has them (the rover,
//! the default, has both), and the planner, which turns when something is ahead or when a near
//! echo it heard lately lies in its path, holds its heading by odometry, escapes tight corners
//! and backs off when bumped. By default it all runs
//! in the simulated world on tokio's paused clock (a minute of robot time takes about a
//! second), prints progress once per simulated second, and draws the path (the true one,
//! odometry's, the planner's modes) to `target/obstacle_avoider.svg` and, the same picture,
//! `target/obstacle_avoider.png`.
//!
//! ```text
//! cargo run --example obstacle_avoider                         # simulated, seed 1, 60 s
//! cargo run --example obstacle_avoider -- --seed 7 --duration 2m
//! cargo run --example obstacle_avoider -- --help
//! cargo run --release --example obstacle_avoider --features rppal -- --robot robot.toml
//! cargo run --example obstacle_avoider -- --record target/run.mcap   # replay it in Foxglove
//! cargo run --example obstacle_avoider -- --foxglove                 # live: ws://127.0.0.1:8765
//! cargo run --example obstacle_avoider -- --phone                    # http://127.0.0.1:8080
//! ```
//!
//! With `--record FILE` every channel (both motors' duties, the sonar, the E-stop, the actors'
//! health, dead letters, the log lines the console shows, and in simulation the true pose and
//! the arena) is written to an MCAP file for Foxglove; with `--foxglove [ADDR]` the same
//! channels are served live to the Foxglove app (a simulation then runs in real time, so there
//! is something to watch). Both come from `compaktor-foxglove` (the examples' `foxglove`
//! feature, on by default).
//! With `--phone [ADDR]` the robot serves a page for a phone's browser: its status, the actor
//! tree, an E-stop button and a joystick (driving needs the token in the address it prints;
//! while the phone drives the planner sends the motors nothing, and the motors' watchdogs stop
//! the robot if the phone goes silent; the page's *Auto* button hands the robot back).
//!
//! On a Pi (`backend = "rppal"` in the robot file) it runs in real time until Ctrl-C or
//! SIGTERM (or for `--duration`). Then the E-stop cuts both motors at once, and the actors stop
//! in reverse start order: the planner, the E-stop button, the bumper, odometry, the sonar,
//! the motors, the LED.
//! Under systemd (`deploy/compaktor-robot.service`) it tells systemd when it is ready and
//! pings its watchdog.
#![allow(
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    reason = "example code, not a library: its items are `pub` for its test, which includes \
              this file as a module"
)]

use std::collections::VecDeque;
use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use compaktor::prelude::*;
use compaktor_pi::actors::{
    Button, Distance, Led, Motor, MotorConfig, MotorError, Odometry, OdometryConfig, PoseEstimate,
    Ultrasonic,
};
use compaktor_pi::config::{BackendKind, ROVER_ROBOT, RobotConfig};
use compaktor_pi::device::Range;
use compaktor_pi::drivers::ButtonEvent;
use compaktor_pi::firmware::{self, Ending, FirmwareArgs, Service};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::robot::runtime_for;
use compaktor_pi::safety::{EStop, EStopReport};
use compaktor_pi::sim::{Point, World, WorldConfig};
use futures::StreamExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Cruising, anything closer than this ahead makes the robot turn away.
const TURN_BELOW_M: f32 = 0.85;
/// Turning, a reading farther than this is a clear direction.
const CLEAR_ABOVE_M: f32 = 0.95;
/// After an escape (see [`Mode::Escape`]) the robot cruises until something is this close.
const STOP_BELOW_M: f32 = 0.45;
/// Cruising and turning duties.
const CRUISE: f32 = 0.5;
const SPIN: f32 = 0.4;
/// How often the planner decides (and feeds the motors' watchdogs).
const TICK: Duration = Duration::from_millis(50);
/// With no distance for this long, the planner stops: driving blind is not allowed.
const BLIND_AFTER: Duration = Duration::from_millis(300);

/// Clear readings needed while sweeping, before turning back to the middle of the clear sector.
/// A direction is only taken once a wide sector around it is clear, so nothing close beside the
/// robot's path goes unseen.
const SWEEP_TICKS: u32 = 6;
/// Ticks spent turning back to the middle of the swept sector (half of it, plus the ramp's lag).
const CENTER_TICKS: u32 = SWEEP_TICKS / 2 + 2;
/// In a tight spot no sector is that wide: every this many ticks of spinning, one clear reading
/// fewer is asked for (down to 2).
const RELAX_EVERY: u32 = 40;
/// Turning to a chosen heading ends this close to it, radians.
const FACE_WITHIN: f64 = 0.07;
/// Turning in place this much (a full turn, radians) without getting anywhere is being stuck:
/// the robot then heads for the clearest direction it saw instead of waiting for a wide one.
const STUCK_AFTER_TURNING: f64 = std::f64::consts::TAU;
/// Driving this far (meters, from where the last look-around began) is getting somewhere.
const PROGRESS_M: f64 = 0.3;
/// Cruising holds its heading (the motors do not match: left alone the robot curves):
/// duty difference per radian off, and at most this much difference.
const HOLD_GAIN: f64 = 0.8;
const HOLD_MAX: f64 = 0.1;
/// A bumper press backs the robot off this far (meters) ...
const BACK_OFF_M: f64 = 0.12;
/// ... or for at most this many ticks.
const BACK_TICKS: u32 = 20;
/// Echoes nearer than this (meters from the sonar) are remembered where they were heard (in
/// odometry's frame, or dead reckoning's) for [`ECHO_MEMORY`]: the sonar hears only what is
/// ahead, and a post it heard while turning may later stand beside the path, out of the beam,
/// or be a wall met too shallow for an echo. Not longer: without a gyro the heading drifts on
/// every spin (the wheels slip), and old echoes drift with it.
const REMEMBER_BELOW_M: f32 = 0.6;
const ECHO_MEMORY: Duration = Duration::from_secs(8);
/// The front sonar sits this far ahead of the axle (the robot files' default mount), meters.
const SONAR_AHEAD_M: f64 = 0.10;
/// A remembered echo blocks the way when it lies in the corridor the body sweeps over the next
/// this many meters: the body's radius plus a margin either side.
const CORRIDOR_AHEAD_M: f64 = 0.35;
const CORRIDOR_HALF_WIDTH_M: f64 = 0.10 + 0.04;
/// Without encoders the planner dead-reckons from its own commands: a wheel's speed at duty
/// 1.0 (m/s) and the distance between the wheels (m) of the starter robot.
const NOMINAL_WHEEL_SPEED: f64 = 0.45;
const NOMINAL_WHEEL_BASE: f64 = 0.15;

/// What the planner is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Driving straight ahead.
    Cruise,
    /// Spinning in place (left when `true`) until the way ahead is clear.
    Turn { left: bool },
    /// Still spinning, counting clear readings: the clear sector must be wide.
    Sweep { left: bool, clear: u32 },
    /// Spinning back to the middle of the clear sector.
    Center { left: bool, ticks: u32 },
    /// A full turn found no wide clear sector: turning in place to the clearest direction
    /// seen, to drive there.
    Escape { left: bool },
    /// A bumper was hit: backing off before turning away.
    Back,
    /// No recent distance reading, or the E-stop is engaged: motors at 0.
    Halt,
}

impl Mode {
    /// What the mode is called in the path picture: `"cruise"`, `"turn"`, `"sweep"`,
    /// `"center"`, `"escape"`, `"back"` or `"halt"`.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Cruise => "cruise",
            Mode::Turn { .. } => "turn",
            Mode::Sweep { .. } => "sweep",
            Mode::Center { .. } => "center",
            Mode::Escape { .. } => "escape",
            Mode::Back => "back",
            Mode::Halt => "halt",
        }
    }
}

/// Where the robot thinks it is: odometry's pose when it has encoders, else dead-reckoned from
/// the planner's own commands (good enough to measure its turns roughly).
#[derive(Debug, Clone, Copy, Default)]
struct Whereabouts {
    x: f64,
    y: f64,
    heading: f64,
}

impl Whereabouts {
    fn distance(&self, from: (f64, f64)) -> f64 {
        (self.x - from.0).hypot(self.y - from.1)
    }
}

/// Where an echo came from, and when it was heard.
#[derive(Debug, Clone, Copy)]
struct Echo {
    heard: tokio::time::Instant,
    x: f64,
    y: f64,
}

/// `a` wrapped into `(-π, π]`.
fn wrap(a: f64) -> f64 {
    let a = a.rem_euclid(std::f64::consts::TAU);
    if a > std::f64::consts::PI {
        a - std::f64::consts::TAU
    } else {
        a
    }
}

/// Decides where to go from the distance readings, the odometry and the bumpers.
pub struct Planner {
    left: ActorRef<Motor>,
    right: ActorRef<Motor>,
    sonar: ActorRef<Ultrasonic>,
    led: Option<ActorRef<Led>>,
    mode: Mode,
    last: Option<Distance>,
    rng: SmallRng,
    turns: u32,
    /// Pulled when a drive motor or the E-stop button stops: the other wheel must not drive
    /// on alone, and the robot must not drive without its E-stop.
    estop: EStop,
    /// The button that pulls the E-stop, watched like the motors.
    estop_button: Option<ActorRef<Button>>,
    /// A drive motor or the E-stop button has stopped: the planner drives no more.
    motor_lost: bool,
    /// Odometry's poses, when the robot has encoders.
    odometry: Option<Topic<PoseEstimate>>,
    /// Bumper events, when the robot has bumpers.
    bumpers: Vec<Topic<ButtonEvent>>,
    /// Where the robot is now, and its heading at the previous tick.
    now: Whereabouts,
    last_heading: f64,
    /// Radians turned in place since the robot last got somewhere.
    turned: f64,
    /// Where getting somewhere is measured from.
    progress_from: (f64, f64),
    /// The clearest reading while turning since then, and the heading it was taken at.
    best: Option<(f32, f64)>,
    /// Ticks spent spinning since the last cruise.
    spinning: u32,
    /// The previous tick's clearance, while spinning.
    previous_reading: Option<f32>,
    /// The heading [`Mode::Escape`] turns to.
    target: f64,
    /// The heading cruising holds: where it was when the cruise began.
    cruise_heading: f64,
    /// Cruising turns away below this: [`TURN_BELOW_M`], or [`STOP_BELOW_M`] after an escape.
    turn_below: f32,
    /// A bumper was pressed since the last tick.
    bumped: bool,
    /// Where backing off began, and ticks spent backing.
    back_from: (f64, f64),
    back_ticks: u32,
    /// The last (left, right) duties commanded, for dead reckoning without encoders.
    command: (f32, f32),
    /// Mode changes, for whoever draws the path.
    modes: Option<Topic<Mode>>,
    /// Near echoes heard lately, oldest first.
    echoes: VecDeque<Echo>,
    /// Whether the phone page has the wheel: then the planner sends the motors nothing.
    #[cfg(feature = "foxglove")]
    teleop: Option<compaktor_foxglove::phone::Teleop>,
}

impl Planner {
    /// A planner driving `left` and `right` from `sonar`'s readings.
    pub fn new(
        left: ActorRef<Motor>,
        right: ActorRef<Motor>,
        sonar: ActorRef<Ultrasonic>,
        led: Option<ActorRef<Led>>,
        estop: EStop,
        seed: u64,
    ) -> Self {
        Planner {
            left,
            right,
            sonar,
            led,
            mode: Mode::Halt,
            last: None,
            rng: SmallRng::seed_from_u64(seed),
            turns: 0,
            estop,
            estop_button: None,
            motor_lost: false,
            odometry: None,
            bumpers: Vec::new(),
            now: Whereabouts::default(),
            last_heading: 0.0,
            turned: 0.0,
            progress_from: (0.0, 0.0),
            best: None,
            spinning: 0,
            previous_reading: None,
            target: 0.0,
            cruise_heading: 0.0,
            turn_below: TURN_BELOW_M,
            bumped: false,
            back_from: (0.0, 0.0),
            back_ticks: 0,
            command: (0.0, 0.0),
            modes: None,
            echoes: VecDeque::new(),
            #[cfg(feature = "foxglove")]
            teleop: None,
        }
    }

    /// Watches `button`, the robot's E-stop button, too: if it stops, so does the robot.
    pub fn with_estop_button(mut self, button: ActorRef<Button>) -> Self {
        self.estop_button = Some(button);
        self
    }

    /// Measures its turns and progress with odometry's `poses` instead of dead reckoning.
    pub fn with_odometry(mut self, poses: Topic<PoseEstimate>) -> Self {
        self.odometry = Some(poses);
        self
    }

    /// Backs off and turns away when a bumper publishing on `events` is pressed.
    pub fn with_bumper(mut self, events: Topic<ButtonEvent>) -> Self {
        self.bumpers.push(events);
        self
    }

    /// Publishes each new mode on `modes` (the path picture shows them).
    pub fn with_mode_topic(mut self, modes: Topic<Mode>) -> Self {
        self.modes = Some(modes);
        self
    }

    /// Hands the wheel to the phone page while `teleop` says it drives.
    #[cfg(feature = "foxglove")]
    pub fn with_teleop(mut self, teleop: compaktor_foxglove::phone::Teleop) -> Self {
        self.teleop = Some(teleop);
        self
    }

    /// Whether the phone page drives now.
    fn phone_drives(&self) -> bool {
        #[cfg(feature = "foxglove")]
        if let Some(teleop) = &self.teleop {
            return teleop.phone_drives();
        }
        false
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

    async fn show(&self, pattern: &[u64]) {
        if let Some(led) = &self.led {
            let pattern = pattern
                .iter()
                .map(|&ms| Duration::from_millis(ms))
                .collect();
            let _ = led.blink(pattern).tell().await;
        }
    }

    /// Dead reckoning from the last command, when there is no odometry.
    fn reckon(&mut self) {
        if self.odometry.is_some() {
            return;
        }
        let speed = |duty: f32| f64::from(duty) * NOMINAL_WHEEL_SPEED;
        let (l, r) = (speed(self.command.0), speed(self.command.1));
        let dt = TICK.as_secs_f64();
        let h = self.now.heading;
        self.now.x += (l + r) / 2.0 * h.cos() * dt;
        self.now.y += (l + r) / 2.0 * h.sin() * dt;
        self.now.heading = wrap(h + (r - l) / NOMINAL_WHEEL_BASE * dt);
    }

    /// Whether a remembered echo lies in the corridor the body would sweep driving straight
    /// ahead from here: then the way is blocked, whatever the sonar reads now.
    fn corridor_blocked(&self) -> bool {
        let (sin, cos) = self.now.heading.sin_cos();
        self.echoes.iter().any(|echo| {
            let (dx, dy) = (echo.x - self.now.x, echo.y - self.now.y);
            let ahead = dx * cos + dy * sin;
            let beside = -dx * sin + dy * cos;
            (0.0..CORRIDOR_AHEAD_M).contains(&ahead) && beside.abs() < CORRIDOR_HALF_WIDTH_M
        })
    }

    /// Starts measuring progress (and the turns made without it) from here.
    fn got_somewhere(&mut self) {
        self.progress_from = (self.now.x, self.now.y);
        self.turned = 0.0;
        self.best = None;
    }

    /// The next mode, from the current one and the clearance ahead.
    fn decide(&mut self, clearance: f32) -> Mode {
        let spin_left = |rng: &mut SmallRng| rng.random_bool(0.5);
        let heading = self.now.heading;
        let blocked = self.corridor_blocked();
        let clear = clearance > CLEAR_ABOVE_M && !blocked;
        let wide = SWEEP_TICKS
            .saturating_sub(self.spinning / RELAX_EVERY)
            .max(2);
        match self.mode {
            // Starting, or after a halt: look around before driving anywhere.
            Mode::Halt => Mode::Turn {
                left: spin_left(&mut self.rng),
            },
            Mode::Back => {
                let backed = self.now.distance(self.back_from) >= BACK_OFF_M;
                if backed || self.back_ticks >= BACK_TICKS {
                    self.turns += 1;
                    Mode::Turn {
                        left: spin_left(&mut self.rng),
                    }
                } else {
                    Mode::Back
                }
            }
            Mode::Cruise | Mode::Center { .. } if clearance < self.turn_below || blocked => {
                self.turns += 1;
                self.turn_below = TURN_BELOW_M;
                Mode::Turn {
                    left: spin_left(&mut self.rng),
                }
            }
            Mode::Cruise => Mode::Cruise,
            Mode::Turn { .. } | Mode::Sweep { .. } if self.turned >= STUCK_AFTER_TURNING => {
                // A full turn and no wide clear sector: head for the clearest direction seen,
                // and cruise until something is really close.
                let (best, towards) = self.best.unwrap_or((clearance, heading));
                tracing::debug!(best, "no wide clear sector; heading for the clearest");
                self.target = towards;
                self.turn_below = STOP_BELOW_M;
                self.turned = 0.0;
                self.best = None;
                let to_go = wrap(towards - heading);
                if to_go.abs() <= FACE_WITHIN {
                    Mode::Cruise
                } else {
                    Mode::Escape { left: to_go > 0.0 }
                }
            }
            Mode::Turn { left } | Mode::Sweep { left, .. } if !clear => Mode::Turn { left },
            Mode::Turn { left } => Mode::Sweep { left, clear: 1 },
            Mode::Sweep { left, clear } if clear < wide => Mode::Sweep {
                left,
                clear: clear + 1,
            },
            Mode::Sweep { left, .. } => Mode::Center {
                left,
                ticks: CENTER_TICKS,
            },
            Mode::Center { left, ticks } if ticks > 1 => Mode::Center {
                left,
                ticks: ticks - 1,
            },
            Mode::Center { .. } => Mode::Cruise,
            Mode::Escape { left } => {
                let to_go = wrap(self.target - heading);
                // Close enough, or past it.
                if to_go.abs() <= FACE_WITHIN || (to_go > 0.0) != left {
                    Mode::Cruise
                } else {
                    Mode::Escape { left }
                }
            }
        }
    }
}

#[actor]
impl Planner {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), AskError<TopicError>> {
        // Death watch: a motor actor that stops (panic, kill, failure) must not leave the other
        // wheel driving.
        ctx.watch(&self.left, |me, notice| me.motor_stopped(notice));
        ctx.watch(&self.right, |me, notice| me.motor_stopped(notice));
        // Without its E-stop button the robot must not drive either.
        if let Some(button) = &self.estop_button {
            ctx.watch(button, |me, notice| me.motor_stopped(notice));
        }
        let readings = self.sonar.topic().await?;
        ctx.subscribe(&readings, |me, d| me.distance(d));
        if let Some(poses) = &self.odometry {
            ctx.subscribe(poses, |me, pose| me.pose(pose));
        }
        for bumper in &self.bumpers {
            ctx.subscribe(bumper, |me, event| me.bumper(event));
        }
        ctx.every(TICK, |me| me.tick());
        Ok(())
    }

    /// A drive motor (or the E-stop button) stopped: cut both motors at once through the
    /// E-stop and drive no more.
    #[handler]
    fn motor_stopped(&mut self, notice: Terminated) {
        tracing::error!(actor = %notice.actor, reason = %notice.reason, "a drive motor or the E-stop button stopped; stopping both motors");
        self.motor_lost = true;
        self.mode = Mode::Halt;
        self.estop
            .trigger(&format!("{} stopped: {}", notice.actor, notice.reason));
    }

    #[handler]
    fn distance(&mut self, reading: Distance) {
        self.last = Some(reading);
        while (self.echoes.front()).is_some_and(|e| e.heard.elapsed() > ECHO_MEMORY) {
            self.echoes.pop_front();
        }
        if let Range::Distance(m) = reading.range
            && m < REMEMBER_BELOW_M
        {
            // On the beam's axis: the echo may have come from up to 15° either side.
            let reach = SONAR_AHEAD_M + f64::from(m);
            let (sin, cos) = self.now.heading.sin_cos();
            self.echoes.push_back(Echo {
                heard: tokio::time::Instant::now(),
                x: self.now.x + reach * cos,
                y: self.now.y + reach * sin,
            });
        }
    }

    #[handler]
    fn pose(&mut self, pose: PoseEstimate) {
        self.now = Whereabouts {
            x: pose.x,
            y: pose.y,
            heading: pose.heading,
        };
    }

    #[handler]
    fn bumper(&mut self, event: ButtonEvent) {
        if event == ButtonEvent::Pressed {
            self.bumped = true;
        }
    }

    /// One decision: cruise, turn, back off or halt.
    #[handler]
    async fn tick(&mut self) {
        if self.motor_lost || self.estop.is_engaged() || self.phone_drives() {
            // The phone's commands alone drive the motors now (their watchdogs stop them when
            // the phone goes silent): nothing from here.
            self.command = (0.0, 0.0);
            if self.mode != Mode::Halt {
                self.mode = Mode::Halt;
                if let Some(modes) = &self.modes {
                    modes.publish(self.mode);
                }
                self.show(&[]).await;
            }
            return;
        }
        self.reckon();
        let heading = self.now.heading;
        let moved = wrap(heading - self.last_heading);
        self.last_heading = heading;
        let fresh = self
            .last
            .filter(|d| d.at.elapsed() < BLIND_AFTER)
            // Nothing in range is open space: clear as far as the sensor can tell.
            .map(|d| d.range.clearance());
        let previous = self.mode;
        let bumped = std::mem::take(&mut self.bumped);
        self.mode = match fresh {
            None => Mode::Halt,
            Some(_) if bumped && previous != Mode::Halt => {
                self.back_from = (self.now.x, self.now.y);
                self.back_ticks = 0;
                Mode::Back
            }
            Some(d) => {
                let spinning = matches!(previous, Mode::Turn { .. } | Mode::Sweep { .. });
                // Two readings in a row vouch for a direction: one may be an outlier.
                let confirmed = self.previous_reading.map_or(0.0, |p| p.min(d));
                self.previous_reading = spinning.then_some(d);
                if spinning {
                    self.turned += moved.abs();
                    let open = !self.corridor_blocked();
                    if open && self.best.is_none_or(|(best, _)| confirmed > best) {
                        self.best = Some((confirmed, heading));
                    }
                }
                if self.now.distance(self.progress_from) >= PROGRESS_M {
                    self.got_somewhere();
                }
                self.decide(d)
            }
        };
        self.spinning = match self.mode {
            Mode::Turn { .. } | Mode::Sweep { .. } => self.spinning + 1,
            _ => 0,
        };
        let spin = |left: bool| if left { (-SPIN, SPIN) } else { (SPIN, -SPIN) };
        if self.mode == Mode::Cruise && previous != Mode::Cruise {
            self.cruise_heading = match previous {
                Mode::Escape { .. } => self.target,
                _ => heading,
            };
        }
        let (l, r) = match self.mode {
            Mode::Cruise => {
                let off = wrap(self.cruise_heading - heading);
                let steer = (HOLD_GAIN * off).clamp(-HOLD_MAX, HOLD_MAX) as f32;
                (CRUISE - steer, CRUISE + steer)
            }
            Mode::Turn { left } | Mode::Sweep { left, .. } | Mode::Escape { left } => spin(left),
            Mode::Center { left, .. } => spin(!left),
            Mode::Back => {
                self.back_ticks += 1;
                (-CRUISE, -CRUISE)
            }
            Mode::Halt => (0.0, 0.0),
        };
        self.command = (l, r);
        if let Err(e) = self.drive(l, r).await {
            tracing::warn!(error = %e, "driving refused");
            self.mode = Mode::Halt;
            self.command = (0.0, 0.0);
        }
        if self.mode != previous {
            if let Some(modes) = &self.modes {
                modes.publish(self.mode);
            }
            match self.mode {
                Mode::Cruise => self.show(&[900, 100]).await,
                Mode::Halt => self.show(&[]).await,
                _ => self.show(&[100, 100]).await,
            }
        }
    }

    /// What the planner is doing, the last reading and how many turns it made.
    #[handler]
    pub fn status(&self) -> (Mode, Option<Range>, u32) {
        (self.mode, self.last.map(|d| d.range), self.turns)
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The robot file (`None`: the starter robot in simulation).
    pub robot: Option<PathBuf>,
    /// Seed of the simulated arena and of the planner's choices.
    pub seed: u64,
    /// How long to run, in robot time (simulation), or until Ctrl-C when `None`.
    pub run_for: Option<Duration>,
    /// Where to draw the path as SVG, with a PNG of it beside it (simulation only).
    pub svg: Option<PathBuf>,
    /// Print progress once per second.
    pub progress: bool,
    /// `--record` and `--foxglove`: what to show Foxglove.
    #[cfg(feature = "foxglove")]
    pub foxglove: compaktor_foxglove::FoxgloveArgs,
    /// `--phone`: where to serve the phone page.
    #[cfg(feature = "foxglove")]
    pub phone: compaktor_foxglove::phone::PhoneArgs,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Robot time.
    pub time: Duration,
    /// Meters driven (simulation).
    pub distance: f64,
    /// Collisions (simulation).
    pub collisions: u32,
    /// Fraction of the arena's 0.25 m cells visited (simulation).
    pub coverage: f64,
    /// Turns the planner made.
    pub turns: u32,
    /// Time spent turning in place (simulation).
    pub turning_in_place: Duration,
    /// The closest the body came to a wall or an obstacle, meters (simulation).
    pub closest_approach: f64,
    /// How far odometry's position was from the true one at the end, meters (simulation, a
    /// robot with encoders).
    pub odometry_error: Option<f64>,
    /// Why the run ended.
    pub ending: Ending,
    /// The E-stop that cut the motors first when the robot was stopped.
    pub estop: EStopReport,
    /// Every actor and why it stopped, in the order they stopped (after the E-stop).
    pub stopped: Vec<(String, StopReason)>,
    /// What went to Foxglove, if anything did.
    #[cfg(feature = "foxglove")]
    pub foxglove: Option<compaktor_foxglove::BridgeReport>,
}

/// The running robot: what the example needs to watch. Its actors stop with its system
/// (`firmware::stop_robot`), the last started first.
pub struct Robot {
    /// The planner.
    pub planner: ActorRef<Planner>,
    /// The drive motors.
    pub motors: [ActorRef<Motor>; 2],
    /// The front sonar.
    pub sonar: ActorRef<Ultrasonic>,
    /// The E-stop shared by the actuators and the button.
    pub estop: EStop,
    /// Odometry, when the robot has encoders, and its poses.
    pub odometry: Option<ActorRef<Odometry>>,
    pub poses: Option<Topic<PoseEstimate>>,
    /// The bumpers' actors.
    pub bumpers: Vec<ActorRef<Button>>,
    /// The planner's mode changes.
    pub modes: Topic<Mode>,
    /// Whether the phone page drives (the planner hands off while it does).
    #[cfg(feature = "foxglove")]
    pub teleop: compaktor_foxglove::phone::Teleop,
}

/// Opens the hardware and starts every actor: outputs and sensors first, the planner last.
pub async fn start_robot(
    system: &ActorSystem,
    config: &RobotConfig,
    world: Option<&World>,
    seed: u64,
) -> Result<Robot, Box<dyn Error>> {
    let mut hw = Hardware::open(config, world)?;
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
    let period = Duration::from_millis(config.sonars.get("front").map_or(60, |s| s.period_ms));
    let sensor = hw.sonar("front")?;
    let sonar = system
        .builder(Ultrasonic::new(sensor, period))
        .name("sonar")
        .spawn()?;
    let modes = system.topic::<Mode>("planner/modes")?;
    let mut planner = Planner::new(
        left.clone(),
        right.clone(),
        sonar.clone(),
        led,
        estop.clone(),
        seed,
    )
    .with_mode_topic(modes.clone());
    #[cfg(feature = "foxglove")]
    let teleop = compaktor_foxglove::phone::Teleop::default();
    #[cfg(feature = "foxglove")]
    {
        planner = planner.with_teleop(teleop.clone());
    }
    let (mut poses, mut odometry_ref) = (None, None);
    if let Some(encoders) = &config.encoders {
        let topic = system.topic::<PoseEstimate>("odometry")?.keep_latest();
        let odometry = Odometry::new(
            hw.encoders()?,
            None,
            OdometryConfig::from_robot(encoders),
            topic.clone(),
        );
        odometry_ref = Some(system.builder(odometry).name("odometry").start().await?);
        planner = planner.with_odometry(topic.clone());
        poses = Some(topic);
    }
    let mut bumpers = Vec::new();
    for name in config.bumpers.keys() {
        let (source, debouncer) = hw.bumper(name)?;
        let bumper = Button::new(format!("bumper {name}"), source, debouncer);
        let bumper = system
            .builder(bumper)
            .name(format!("bumper_{name}"))
            .start()
            .await?;
        planner = planner.with_bumper(bumper.topic().await?);
        bumpers.push(bumper);
    }
    if config.buttons.contains_key("estop") {
        let (source, debouncer) = hw.button("estop")?;
        // Started (not just spawned) before the planner: a button held down at boot has
        // pulled the E-stop before anything drives.
        let button = Button::new("button", source, debouncer).triggers(estop.clone());
        let button = system.builder(button).name("estop_button").start().await?;
        planner = planner.with_estop_button(button);
    }
    let planner = system.builder(planner).name("planner").start().await?;
    Ok(Robot {
        planner,
        motors: [left, right],
        sonar,
        estop,
        odometry: odometry_ref,
        poses,
        bumpers,
        modes,
        #[cfg(feature = "foxglove")]
        teleop,
    })
}

/// Runs the robot for `options.run_for` (or until Ctrl-C / SIGTERM), then stops it: the E-stop
/// first, then the actors in reverse start order.
pub async fn run(options: Options) -> Result<Summary, Box<dyn Error>> {
    let until = firmware::run_until(options.run_for);
    run_until(options, until).await
}

/// [`run`], until `until` ends the run.
pub async fn run_until(
    options: Options,
    until: impl Future<Output = Ending>,
) -> Result<Summary, Box<dyn Error>> {
    let config = match &options.robot {
        Some(path) => RobotConfig::load(path)?,
        None => RobotConfig::from_toml(ROVER_ROBOT)?,
    };
    // The simulated robot is wired as the robot file says.
    let world = (config.backend == BackendKind::Sim)
        .then(|| World::new(WorldConfig::arena(options.seed).wired_like(&config)));
    let physics = world.as_ref().map(World::start);
    let system = ActorSystem::new(config.name.clone());
    let robot = start_robot(&system, &config, world.as_ref(), options.seed).await?;
    #[cfg(feature = "foxglove")]
    let bridge = bridge(&options.foxglove, &system, &robot, world.as_ref()).await?;
    #[cfg(feature = "foxglove")]
    let phone = phone(&options.phone, &system, &robot).await?;
    let started = tokio::time::Instant::now();
    let service = Service::from_env();
    service.ready();
    let _watchdog = service.spawn_watchdog(&system);
    // The planner's modes and odometry's path, drawn beside the true one: odometry starts at
    // (0, 0) facing +x, which is the world's start pose.
    let mut recorders = Vec::new();
    if let Some(world) = &world {
        let (w, mut modes) = (world.clone(), robot.modes.stream());
        recorders.push(tokio::spawn(async move {
            while let Some(mode) = modes.next().await {
                w.record_mode(mode.label());
            }
        }));
        if let Some(poses) = &robot.poses {
            let (w, mut poses) = (world.clone(), poses.stream());
            let start = world.config().start;
            recorders.push(tokio::spawn(async move {
                while let Some(pose) = poses.next().await {
                    w.record_estimate(start.to_world(Point::new(pose.x, pose.y)));
                }
            }));
        }
    }
    let estimate = || {
        let pose = robot.poses.as_ref()?.latest()?;
        let start = world.as_ref()?.config().start;
        Some(start.to_world(Point::new(pose.x, pose.y)))
    };

    let progress = async {
        let mut second = tokio::time::interval(Duration::from_secs(1));
        second.tick().await;
        loop {
            second.tick().await;
            if options.progress {
                let (mode, distance, _) =
                    robot
                        .planner
                        .status()
                        .await
                        .unwrap_or((Mode::Halt, None, 0));
                let where_ = world.as_ref().map_or_else(String::new, |w| {
                    let p = w.snapshot().pose;
                    format!(
                        "pose=({:4.2}, {:4.2}, {:4.0}°)  ",
                        p.x,
                        p.y,
                        p.heading.to_degrees()
                    )
                });
                let thinks = estimate().map_or_else(String::new, |p| {
                    format!("odometry=({:4.2}, {:4.2})  ", p.x, p.y)
                });
                let ahead = distance.map_or_else(|| "  -  ".to_owned(), |d| d.to_string());
                println!(
                    "t={:5.1}s  {where_}{thinks}ahead={ahead}  mode={mode:?}",
                    started.elapsed().as_secs_f32()
                );
            }
        }
    };
    let ending = tokio::select! {
        () = progress => unreachable!("the progress loop never ends"),
        ending = until => ending,
    };
    if ending == Ending::Signal {
        println!("signal: stopping");
    }

    service.stopping();
    // A planner that does not answer must not keep the robot from stopping.
    let turns = robot
        .planner
        .status()
        .timeout(Duration::from_millis(100))
        .await
        .map_or(0, |(_, _, turns)| turns);
    let stopped = firmware::stop_robot(
        &system,
        &robot.estop,
        &ending.to_string(),
        Duration::from_secs(1),
    )
    .await;
    drop(physics);
    for recorder in recorders {
        recorder.abort();
    }
    #[cfg(feature = "foxglove")]
    if let Some(phone) = phone {
        phone.stop().await;
    }
    #[cfg(feature = "foxglove")]
    let foxglove = match bridge {
        Some(bridge) => Some(bridge.close().await?),
        None => None,
    };
    let mut summary = Summary {
        time: started.elapsed(),
        distance: 0.0,
        collisions: 0,
        coverage: 0.0,
        turning_in_place: Duration::ZERO,
        closest_approach: f64::INFINITY,
        odometry_error: None,
        turns,
        ending,
        estop: stopped.estop.ok_or("pulling the E-stop panicked")?,
        stopped: stopped.actors,
        #[cfg(feature = "foxglove")]
        foxglove,
    };
    if let Some(world) = &world {
        let stats = world.snapshot().stats;
        summary.distance = stats.distance;
        summary.collisions = stats.collisions;
        summary.coverage = stats.coverage;
        summary.turning_in_place = stats.turning_in_place;
        summary.closest_approach = stats.closest_approach;
        summary.odometry_error = estimate().map(|p| p.distance(world.snapshot().pose.position()));
        if let Some(path) = &options.svg {
            world.save_svg(path)?;
            // The same picture as PNG, for viewers without SVG (the examples' `png` feature).
            #[cfg(feature = "png")]
            world.save_png(path.with_extension("png"))?;
        }
    }
    Ok(summary)
}

/// Shows the robot to Foxglove as `args` ask (`None` when they ask for nothing): both motors,
/// the sonar, the E-stop, the actors' health and dead letters, and the simulated world.
#[cfg(feature = "foxglove")]
pub async fn bridge(
    args: &compaktor_foxglove::FoxgloveArgs,
    system: &ActorSystem,
    robot: &Robot,
    world: Option<&World>,
) -> Result<Option<compaktor_foxglove::Bridge>, Box<dyn Error>> {
    if args.is_off() {
        return Ok(None);
    }
    let mut bridge = compaktor_foxglove::Bridge::new();
    for motor in &robot.motors {
        bridge.motor(&motor.topic().await?)?;
    }
    bridge
        .sonar(&robot.sonar.topic().await?)?
        .estop(&robot.estop, Duration::from_millis(100))?
        .health(system, Duration::from_millis(500))?
        .dead_letters(system)?;
    if let Some(world) = world {
        bridge.simulation(world, Duration::from_millis(50))?;
    }
    if let Some(addr) = args.start(&mut bridge).await? {
        println!("Foxglove: open a connection to ws://{addr} (Foxglove WebSocket)");
    }
    Ok(Some(bridge))
}

/// Serves the phone page if `args` ask for it: the E-stop, both motors (the joystick), the
/// pose estimate, the planner's mode and every actor's health.
#[cfg(feature = "foxglove")]
pub async fn phone(
    args: &compaktor_foxglove::phone::PhoneArgs,
    system: &ActorSystem,
    robot: &Robot,
) -> Result<Option<compaktor_foxglove::phone::PhoneServer>, Box<dyn Error>> {
    let Some(addr) = args.phone else {
        return Ok(None);
    };
    let [left, right] = robot.motors.clone();
    let mut phone = compaktor_foxglove::phone::Phone::new(system, &robot.estop)?
        .with_teleop(robot.teleop.clone())
        .drive(left, right)
        .mode(&robot.modes, |mode| mode.label().to_owned());
    if let Some(poses) = &robot.poses {
        phone = phone.pose(poses);
    }
    let server = phone.serve(addr).await?;
    println!(
        "phone page: {} (driving and releasing the E-stop need the token in it)",
        server.url()
    );
    Ok(Some(server))
}

/// A two-wheeled robot that wanders around without hitting anything: the starter robot in a
/// simulated arena by default, or the robot a robot file describes.
#[derive(Debug, Parser)]
#[command(name = "obstacle_avoider")]
pub struct Cli {
    /// `--robot`, `--seed`, `--duration`.
    #[command(flatten)]
    pub firmware: FirmwareArgs,
    /// Where to draw the simulated path (SVG; the same picture as PNG beside it)
    #[arg(
        long,
        value_name = "FILE",
        default_value = "target/obstacle_avoider.svg"
    )]
    pub svg: PathBuf,
    /// No progress lines, only the summary
    #[arg(long)]
    pub quiet: bool,
    /// `--record`, `--foxglove`.
    #[cfg(feature = "foxglove")]
    #[command(flatten)]
    pub foxglove: compaktor_foxglove::FoxgloveArgs,
    /// `--phone`.
    #[cfg(feature = "foxglove")]
    #[command(flatten)]
    pub phone: compaktor_foxglove::phone::PhoneArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    firmware::exit(|| {
        let config = cli.firmware.robot_config(ROVER_ROBOT)?;
        let simulated = config.backend == BackendKind::Sim;
        let options = Options {
            robot: cli.firmware.robot.clone(),
            seed: cli.firmware.seed,
            run_for: cli.firmware.run_for(config.backend),
            svg: Some(cli.svg.clone()),
            progress: !cli.quiet,
            #[cfg(feature = "foxglove")]
            foxglove: cli.foxglove.clone(),
            #[cfg(feature = "foxglove")]
            phone: cli.phone.clone(),
        };
        #[cfg(feature = "foxglove")]
        let live_simulation =
            simulated && (cli.foxglove.foxglove.is_some() || cli.phone.phone.is_some());
        #[cfg(not(feature = "foxglove"))]
        let live_simulation = false;
        let runtime = match live_simulation {
            // Watched live (or driven from a phone): the simulation runs in real time, not on
            // the paused clock.
            true => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            false => runtime_for(config.backend)?,
        };
        let summary = runtime.block_on(run(options.clone()))?;
        println!();
        println!("ran {:.1} s of robot time", summary.time.as_secs_f32());
        if simulated {
            println!(
                "drove {:.1} m, {} turns, {} collisions, visited {:.0}% of the arena",
                summary.distance,
                summary.turns,
                summary.collisions,
                summary.coverage * 100.0
            );
            println!(
                "turned in place for {:.1} s, came within {:.2} m of an obstacle",
                summary.turning_in_place.as_secs_f32(),
                summary.closest_approach
            );
            if let Some(error) = summary.odometry_error {
                println!("odometry ended {error:.2} m from the true position");
            }
            if let Some(svg) = &options.svg {
                println!("path drawn to {}", svg.display());
                #[cfg(feature = "png")]
                println!("and to {}", svg.with_extension("png").display());
            }
        }
        #[cfg(feature = "foxglove")]
        if let Some(report) = &summary.foxglove {
            let messages: u64 = report.channels.iter().map(|c| c.messages).sum();
            if let Some(path) = &report.recording {
                println!(
                    "recorded {messages} messages on {} channels to {} (open it in Foxglove)",
                    report.channels.len(),
                    path.display()
                );
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
