//! The odometry actor: where the robot is, from its wheel encoders (and its gyro, when it has
//! one), published on a [`Topic`] at a set rate.
//!
//! Both wheels' encoder edges are counted ([`EncoderCounter`]); every 10 ms the counts since
//! the last update become a distance for each wheel, and the pose moves by their mean along
//! the heading. The heading turns by the wheels' difference over the wheel base — unless a
//! gyro is there and the robot turns fast ([`FAST_TURN`]) or the gyro disagrees with the
//! wheels for a while ([`GYRO_TRUST`]): then the wheels slip (a fast turn, a wheel spinning
//! against a wall) and the gyro's turn is taken (Borenstein's "gyrodometry"); otherwise the
//! wheels' is, which does not drift. The gyro's bias is learnt whenever the wheels stand still.
//! The MPU-6050 reads at most 250 °/s (4.4 rad/s): faster spins saturate it.

use std::sync::Mutex;
use std::time::Duration;

use compaktor::prelude::*;
use futures::stream;
use tokio::time::Instant;

use crate::config::EncodersConfig;
use crate::device::{DeviceError, EdgeSource, Imu, WheelEncoder};
use crate::drivers::{Channel, EncoderCounter, counts_per_rev};
use crate::hal::Edge;
use crate::sync::lock;

/// How often the pose is brought up to date.
pub const UPDATE: Duration = Duration::from_millis(10);
/// Edges are decoded once they are this old, so the other channel's edges of the same instant
/// have arrived.
const SETTLE: Duration = Duration::from_millis(2);
/// When the gyro's turn rate and the wheels' differ by more than this (rad/s), the wheels
/// slipped and the gyro is believed.
pub const GYRO_TRUST: f64 = 0.15;
/// Turning faster than this (rad/s), wheels slip: the gyro's turn is taken.
pub const FAST_TURN: f64 = 0.5;
/// How fast the gyro bias estimate follows the readings while the robot stands still.
const BIAS_GAIN: f64 = 0.05;
/// No count for this many updates (100 ms) is standing still: the gyro's reading is its bias.
const STILL_UPDATES: u32 = 10;
/// ... if it is this close to the bias learnt so far (rad/s): farther, the robot turns.
const STILL_RATE: f64 = 0.05;
/// How much of each update's disagreement between gyro and wheels enters its running mean
/// (a count is a big step of turn in 10 ms: one update alone says little).
const DISAGREEMENT_GAIN: f64 = 0.1;

/// Where odometry thinks the robot is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PoseEstimate {
    /// Meters along x from where odometry started (or was [reset](Odometry::reset) to).
    pub x: f64,
    /// Meters along y.
    pub y: f64,
    /// Radians counter-clockwise from +x, in `(-π, π]`.
    pub heading: f64,
    /// Meters driven so far (forward and backward both count).
    pub distance: f64,
    /// Time since odometry started.
    pub at: Duration,
}

/// The wheel geometry odometry turns counts into motion with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OdometryConfig {
    /// Encoder lines per wheel revolution, per channel.
    pub lines: u32,
    /// Wheel diameter, meters.
    pub wheel_diameter: f64,
    /// Distance between the wheels' contact points, meters.
    pub wheel_base: f64,
    /// How often the pose is published.
    pub period: Duration,
}

impl OdometryConfig {
    /// The geometry and rate of a robot file's `[encoders]`.
    pub fn from_robot(encoders: &EncodersConfig) -> Self {
        OdometryConfig {
            lines: encoders.lines,
            wheel_diameter: f64::from(encoders.wheel_diameter),
            wheel_base: f64::from(encoders.wheel_base),
            period: Duration::from_millis(encoders.period_ms),
        }
    }
}

/// One wheel: its counter and how many meters a count is.
#[derive(Debug)]
struct Wheel {
    counter: EncoderCounter,
    meters_per_count: f64,
    last: i64,
}

/// Odometry as an actor: counts both wheels' encoder edges and publishes a [`PoseEstimate`]
/// on its topic every `period`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use compaktor::prelude::*;
/// use compaktor_pi::actors::{Odometry, OdometryConfig, PoseEstimate};
/// use compaktor_pi::config::{RobotConfig, ROVER_ROBOT};
/// use compaktor_pi::hardware::Hardware;
/// use compaktor_pi::sim::{Side, World, WorldConfig};
/// use embedded_hal::digital::OutputPin;
/// use embedded_hal::pwm::SetDutyCycle;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let robot = RobotConfig::from_toml(ROVER_ROBOT)?;
/// let world = World::new(WorldConfig::empty(4.0, 3.0).wired_like(&robot));
/// let _physics = world.start();
/// let mut hardware = Hardware::open(&robot, Some(&world))?;
/// let system = ActorSystem::new("rover");
/// let poses = system.topic::<PoseEstimate>("odometry")?;
/// let config = OdometryConfig::from_robot(robot.encoders.as_ref().unwrap());
/// let odometry = system.spawn(Odometry::new(hardware.encoders()?, None, config, poses));
///
/// for side in [Side::Left, Side::Right] {
///     let mut motor = world.motor_pins(side);
///     motor.in1.set_high()?;
///     motor.enable.set_duty_cycle_percent(60)?;
/// }
/// tokio::time::sleep(Duration::from_secs(2)).await;
/// let estimate = odometry.pose().await?;
/// let truth = world.snapshot().pose.x - world.config().start.x;
/// assert!((estimate.x - truth).abs() < 0.03, "{estimate:?}, truly {truth:.2} m");
/// # Ok(()) }
/// ```
pub struct Odometry {
    encoders: Option<[WheelEncoder; 2]>,
    imu: Option<Mutex<Box<dyn Imu>>>,
    config: OdometryConfig,
    topic: Topic<PoseEstimate>,
    wheels: [Wheel; 2],
    pose: PoseEstimate,
    /// The edges' clock when the actor started, and tokio's then.
    clock: Option<(Duration, Instant)>,
    started: Instant,
    last_update: Instant,
    gyro_bias: Option<f64>,
    /// The gyro's last rate, rad/s.
    last_rate: Option<f64>,
    /// Updates in a row without a count.
    still: u32,
    /// Running mean of gyro minus wheel turn rate, rad/s.
    disagreement: f64,
    last_published: Option<Instant>,
    /// Updates in which the gyro overruled the wheels.
    slips: u64,
    /// Edges or IMU samples that could not be read.
    read_errors: u64,
}

impl Odometry {
    /// Odometry on both wheels' `encoders` (`[left, right]`) and, if given, the `imu`'s gyro,
    /// publishing on `topic`. It starts at `(0, 0)` facing +x.
    pub fn new(
        encoders: [WheelEncoder; 2],
        imu: Option<Box<dyn Imu>>,
        config: OdometryConfig,
        topic: Topic<PoseEstimate>,
    ) -> Self {
        let wheel = |encoder: &WheelEncoder| {
            let quadrature = encoder.b.is_some();
            let counter = if quadrature {
                EncoderCounter::quadrature()
            } else {
                EncoderCounter::single_channel()
            };
            let per_rev = counts_per_rev(config.lines, quadrature);
            Wheel {
                counter,
                meters_per_count: std::f64::consts::PI * config.wheel_diameter / per_rev,
                last: 0,
            }
        };
        let wheels = [wheel(&encoders[0]), wheel(&encoders[1])];
        let now = Instant::now();
        Odometry {
            encoders: Some(encoders),
            imu: imu.map(Mutex::new),
            config,
            topic,
            wheels,
            pose: PoseEstimate::default(),
            clock: None,
            started: now,
            last_update: now,
            gyro_bias: None,
            still: 0,
            last_rate: None,
            disagreement: 0.0,
            last_published: None,
            slips: 0,
            read_errors: 0,
        }
    }

    /// The edges' clock now, or `None` when the inputs have none (then every edge received is
    /// decoded at once).
    fn edge_clock(&self) -> Option<Duration> {
        self.clock.map(|(then, at)| then + at.elapsed())
    }

    /// Moves the pose by what the wheels (and the gyro) saw since the last update.
    fn advance(&mut self, gyro_z: Option<f64>) {
        let dt = self.last_update.elapsed().as_secs_f64();
        self.last_update = Instant::now();
        let until = self.edge_clock().map(|now| now.saturating_sub(SETTLE));
        let [left, right] = self.wheels.each_mut().map(|wheel| {
            match until {
                Some(until) => wheel.counter.settle(until),
                None => wheel.counter.settle_all(),
            }
            let count = wheel.counter.count();
            let moved = (count - wheel.last) as f64 * wheel.meters_per_count;
            wheel.last = count;
            moved
        });
        let forward = (left + right) / 2.0;
        let wheel_turn = (right - left) / self.config.wheel_base;
        let last_rate = std::mem::replace(&mut self.last_rate, gyro_z);
        self.still = if left == 0.0 && right == 0.0 {
            self.still.saturating_add(1)
        } else {
            0
        };
        let turn = match gyro_z {
            // The wheels have not moved for a while and the gyro agrees (a wheel that just
            // started has not made its first count yet, but the gyro sees it turning).
            Some(rate)
                if self.still >= STILL_UPDATES
                    && (rate - self.gyro_bias.unwrap_or(rate)).abs() < STILL_RATE =>
            {
                // Standing still: whatever the gyro says is its bias.
                let bias = self.gyro_bias.get_or_insert(rate);
                *bias += (rate - *bias) * BIAS_GAIN;
                self.disagreement = 0.0;
                0.0
            }
            Some(rate) if dt > 0.0 => {
                // The trapezoid between this sample and the last.
                let mean = (rate + last_rate.unwrap_or(rate)) / 2.0;
                let gyro_turn = (mean - self.gyro_bias.unwrap_or(0.0)) * dt;
                let apart = (gyro_turn - wheel_turn) / dt;
                self.disagreement += (apart - self.disagreement) * DISAGREEMENT_GAIN;
                if self.disagreement.abs() > GYRO_TRUST || (gyro_turn / dt).abs() > FAST_TURN {
                    self.slips += 1;
                    gyro_turn
                } else {
                    wheel_turn
                }
            }
            _ => wheel_turn,
        };
        let mid = self.pose.heading + turn / 2.0;
        self.pose.x += forward * mid.cos();
        self.pose.y += forward * mid.sin();
        self.pose.heading = wrap(self.pose.heading + turn);
        self.pose.distance += forward.abs();
        self.pose.at = self.started.elapsed();
    }
}

fn wrap(a: f64) -> f64 {
    let a = a.rem_euclid(std::f64::consts::TAU);
    if a > std::f64::consts::PI {
        a - std::f64::consts::TAU
    } else {
        a
    }
}

#[actor]
impl Odometry {
    /// Reads the channels' levels and starts counting their edges.
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        let Some(encoders) = self.encoders.take() else {
            return;
        };
        self.started = Instant::now();
        self.last_update = self.started;
        for (side, encoder) in encoders.into_iter().enumerate() {
            let WheelEncoder { mut a, mut b } = encoder;
            if self.clock.is_none() {
                self.clock = a.now().map(|now| (now, Instant::now()));
            }
            let level = |source: &mut Box<dyn EdgeSource>| source.is_high().unwrap_or(false);
            let (level_a, level_b) = (level(&mut a), b.as_mut().is_some_and(level));
            let counter = &mut self.wheels[side].counter;
            *counter = counter.clone().with_levels(level_a, level_b);
            for (channel, source) in [(Channel::A, Some(a)), (Channel::B, b)] {
                let Some(source) = source else { continue };
                let edges = stream::unfold(source, |mut source| async move {
                    let edge = source.next_edge().await;
                    Some((edge, source))
                });
                ctx.attach_stream(edges, move |me, edge| me.edge(side, channel, edge));
            }
        }
        ctx.every(UPDATE, |me| me.update());
    }

    #[handler]
    fn edge(&mut self, side: usize, channel: Channel, edge: Result<Edge, DeviceError>) {
        match edge {
            Ok(edge) => self.wheels[side].counter.push(channel, edge),
            Err(e) => {
                self.read_errors += 1;
                tracing::warn!(wheel = side, ?channel, error = %e, "encoder edge lost");
            }
        }
    }

    /// Brings the pose up to date (every [`UPDATE`]) and publishes it every `period`.
    ///
    /// The gyro is read right here, not on the blocking pool: its rate must be the rate at the
    /// instant the counts are taken, and the read is one 14-byte I2C transfer (about 0.4 ms at
    /// 400 kHz).
    #[handler]
    fn update(&mut self) {
        let gyro_z = match &self.imu {
            Some(imu) => match lock(imu).read() {
                Ok(sample) => Some(f64::from(sample.gyro[2])),
                Err(e) => {
                    self.read_errors += 1;
                    tracing::warn!(error = %e, "gyro not read; odometry uses the wheels alone");
                    None
                }
            },
            None => None,
        };
        self.advance(gyro_z);
        let due = self
            .last_published
            .is_none_or(|at| at.elapsed() >= self.config.period);
        if due {
            self.last_published = Some(Instant::now());
            self.topic.publish(self.pose);
        }
    }

    /// The pose now.
    #[handler]
    pub fn pose(&self) -> PoseEstimate {
        self.pose
    }

    /// Starts again from `x`, `y`, `heading` (the distance driven is kept).
    #[handler]
    pub fn reset(&mut self, x: f64, y: f64, heading: f64) {
        self.pose.x = x;
        self.pose.y = y;
        self.pose.heading = wrap(heading);
    }

    /// Which way each single-channel encoder's wheel turns, from the motor commands (a
    /// quadrature encoder sees it itself).
    #[handler]
    pub fn set_directions(&mut self, left_forward: bool, right_forward: bool) {
        self.wheels[0].counter.set_direction(left_forward);
        self.wheels[1].counter.set_direction(right_forward);
    }

    /// The gyro's bias as learnt while standing still, rad/s (`None` before the robot first
    /// stood still for 100 ms, or without a gyro).
    #[handler]
    pub fn gyro_bias(&self) -> Option<f64> {
        self.gyro_bias
    }

    /// How many updates took the gyro's turn over the wheels' (they slipped).
    #[handler]
    pub fn slips(&self) -> u64 {
        self.slips
    }

    /// Encoder edges lost by the counters (a level repeated) and inputs that failed to read.
    #[handler]
    pub fn errors(&self) -> u64 {
        self.read_errors + self.wheels.iter().map(|w| w.counter.errors()).sum::<u64>()
    }
}

impl std::fmt::Debug for Odometry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Odometry")
            .field("pose", &self.pose)
            .field("gyro", &self.imu.is_some())
            .finish_non_exhaustive()
    }
}
