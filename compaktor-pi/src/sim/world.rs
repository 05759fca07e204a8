//! The running world: [`World`], a cheap-to-clone handle on the robot's state, its wires, and
//! the accessors that hand out pins and buses bound to it. The physics step lives in `physics`,
//! the sensor models in `sensors`, `ultrasonic`, `mpu6050` and `mcp3008`, drawing in `render`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::bus::BusError;
use super::config::WorldConfig;
use super::geometry::{Point, Pose};
use super::ina219::{Ina219Registers, Measured};
use super::lines::{InputLine, OutputLine, PwmLine};
use super::mcp3008::SimSpi;
use super::mpu6050::{Mpu6050Registers, SimI2c};
use super::pca9685::Pca9685Registers;
use super::pins::{ButtonPresser, SimEdgeInput, SimInputPin, SimOutputPin, SimPwm};
use super::stats::{Stats, StatsTracker};
use crate::lock;

/// A simulated 2-D world with one differential-drive robot in it, on tokio's clock.
///
/// `World` is a handle: clones share the same world, and it is `Send + Sync`. Pins and buses
/// handed out by the accessors drive and sense the robot; [`World::start`] runs the physics.
///
/// # Examples
///
/// ```
/// use compaktor_pi::sim::{Side, World, WorldConfig};
/// use embedded_hal::digital::OutputPin;
/// use embedded_hal::pwm::SetDutyCycle;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let world = World::new(WorldConfig::empty(4.0, 3.0));
/// let physics = world.start();
/// for side in [Side::Left, Side::Right] {
///     let mut motor = world.motor_pins(side);
///     motor.in1.set_high().unwrap();
///     motor.enable.set_duty_cycle_fraction(1, 2).unwrap();
/// }
/// tokio::time::sleep(std::time::Duration::from_secs(1)).await;
/// physics.stop();
/// assert!(world.snapshot().stats.distance > 0.2);
/// # }
/// ```
#[derive(Clone)]
pub struct World {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of a [`World`] points at.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: WorldConfig,
    /// Time zero of every edge timestamp.
    pub(crate) start: tokio::time::Instant,
    pub(crate) io: Io,
    pub(crate) state: Mutex<WorldState>,
}

/// The wires between the world and its pins.
#[derive(Debug)]
pub(crate) struct Io {
    pub(crate) motors: [MotorLines; 2],
    /// Each sonar's trigger and echo, in the order of `wiring.sonars`.
    pub(crate) sonars: Vec<(Arc<OutputLine>, Arc<InputLine>)>,
    /// In the order of `wiring.bumpers`.
    pub(crate) bumpers: Vec<Arc<InputLine>>,
    /// In the order of `wiring.buttons`.
    pub(crate) buttons: Vec<Arc<InputLine>>,
    /// In the order of `wiring.leds`.
    pub(crate) leds: Vec<Arc<OutputLine>>,
    /// In the order of `wiring.servos`.
    pub(crate) servos: Vec<Arc<PwmLine>>,
    /// Each wheel's encoder channels A and B (B `None` for a single channel).
    pub(crate) encoders: Option<[EncoderLines; 2]>,
}

/// One wheel encoder's output wires.
#[derive(Debug)]
pub(crate) struct EncoderLines {
    pub(crate) a: Arc<InputLine>,
    pub(crate) b: Option<Arc<InputLine>>,
}

/// One L298N channel's wires.
#[derive(Debug)]
pub(crate) struct MotorLines {
    pub(crate) in1: Arc<OutputLine>,
    pub(crate) in2: Arc<OutputLine>,
    pub(crate) enable: Arc<PwmLine>,
}

/// Everything that changes as the world runs.
#[derive(Debug)]
pub(crate) struct WorldState {
    pub(crate) pose: Pose,
    /// Actual wheel ground speeds (after the motor lag), m/s, `[left, right]`.
    pub(crate) wheel_speeds: [f64; 2],
    /// Forward speed of the body, m/s.
    pub(crate) velocity: f64,
    /// Turn rate of the body, rad/s, counter-clockwise.
    pub(crate) yaw_rate: f64,
    /// Acceleration of the body in its own frame (x forward, y left), m/s².
    pub(crate) accel: Point,
    pub(crate) in_contact: bool,
    /// How far each wheel's rim has turned, meters (more than the ground moved when it slips),
    /// `[left, right]`.
    pub(crate) wheel_travel: [f64; 2],
    /// Whether each bumper is pressed, in the order of `wiring.bumpers`.
    pub(crate) bumpers: Vec<bool>,
    /// The gyro's bias now, rad/s on x, y, z: drawn from the seed, then wandering.
    pub(crate) gyro_bias: [f64; 3],
    pub(crate) on_line: bool,
    pub(crate) tracker: StatsTracker,
    pub(crate) path: Vec<PathPoint>,
    pub(crate) collision_points: Vec<Point>,
    /// Where the robot thinks it has been (odometry), as firmware reported it.
    pub(crate) estimates: Vec<Point>,
    /// What the firmware said it was doing, from where on.
    pub(crate) modes: Vec<ModeMark>,
    pub(crate) rng: SmallRng,
    pub(crate) imu: Mpu6050Registers,
    /// Each PCA9685 board the wiring has, by I2C address.
    pub(crate) pca9685: Vec<(u8, Pca9685Registers)>,
    /// The INA219 on the battery's lead.
    pub(crate) ina219: Ina219Registers,
    /// Charge drawn from the battery so far, Ah.
    pub(crate) battery_used_ah: f64,
    /// What the robot draws now, A.
    pub(crate) battery_current: f64,
    /// Each HC-SR04 ignores triggers until its echo is over.
    pub(crate) echo_busy_until: Vec<Option<tokio::time::Instant>>,
    /// Which `start()` owns the physics; older tasks stop when it changes.
    pub(crate) epoch: u64,
    pub(crate) steps: u64,
}

/// Which wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The left wheel.
    Left,
    /// The right wheel.
    Right,
}

/// The three pins of one L298N channel. The physics reads them as the real bridge: IN1 high and
/// IN2 low drive forward at the enable duty, the opposite backward, both equal stop (brake or
/// coast, both stop the wheel in the simulation).
#[derive(Debug)]
pub struct MotorPins {
    /// IN1 (IN3 for the second channel).
    pub in1: SimOutputPin,
    /// IN2 (IN4 for the second channel).
    pub in2: SimOutputPin,
    /// ENA (ENB): the PWM that sets the speed; starts at 1 kHz, duty 0.
    pub enable: SimPwm,
}

/// One point of the recorded path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPoint {
    /// Simulated time.
    pub time: Duration,
    /// Where the robot was.
    pub pose: Pose,
    /// Whether it was turning in place (see [`Stats::turning_in_place`]).
    pub turning: bool,
}

/// Where the firmware said it began doing something (see [`World::record_mode`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeMark {
    /// Simulated time.
    pub time: Duration,
    /// Where the robot truly was then.
    pub at: Point,
    /// What it began doing, as the firmware names it (`"cruise"`, `"turn"`, ...).
    pub mode: String,
}

/// The world at one instant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Where the robot is.
    pub pose: Pose,
    /// Simulated time since the physics started (advances only while it runs).
    pub time: Duration,
    /// How the run went so far.
    pub stats: Stats,
    /// Wheel ground speeds, m/s, `[left, right]`.
    pub wheel_speeds: [f64; 2],
    /// Forward speed of the body, m/s.
    pub velocity: f64,
    /// Turn rate, rad/s, counter-clockwise.
    pub yaw_rate: f64,
    /// Whether the body touches a wall or an obstacle.
    pub bumper: bool,
    /// Which bumpers are pressed, by name, in the order of the wiring.
    pub bumpers: Vec<(String, bool)>,
    /// Whether any line sensor sees tape.
    pub on_line: bool,
    /// The first LED's level (`false` when the robot has none).
    pub led: bool,
    /// Every LED's level (lit: `true`), by name, in the order of the wiring.
    pub leds: Vec<(String, bool)>,
    /// The first servo's pulse width in µs, `None` while it gets no pulses.
    pub servo_pulse_us: Option<f64>,
    /// Every servo's pulse width in µs, by name, in the order of the wiring.
    pub servo_pulses_us: Vec<(String, Option<f64>)>,
}

/// The Pi's fixed wiring, in BCM GPIO numbers.
mod wiring {
    /// The GPIO of hardware PWM channel 0, 1, 2, 3.
    pub(super) const PWM_GPIO: [u8; 4] = [12, 13, 18, 19];
}

/// The battery of the simulated robot at one moment ([`World::battery`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryState {
    /// At its terminals, V (less under load).
    pub voltage: f64,
    /// Drawn now, A.
    pub current: f64,
    /// Charge used since the world was built, Ah.
    pub used_ah: f64,
}

/// A PCA9685 board, reset, for each address the wiring puts a motor or servo on.
fn pca9685_boards(wiring: &super::Wiring) -> Vec<(u8, Pca9685Registers)> {
    let mut addresses: Vec<u8> = (wiring.motor_pwm.iter())
        .chain(wiring.servos.iter().map(|s| &s.pwm))
        .filter_map(|pwm| match *pwm {
            crate::config::PwmWiring::Pca9685 { address, .. } => Some(address),
            _ => None,
        })
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    (addresses.into_iter())
        .map(|a| (a, Pca9685Registers::default()))
        .collect()
}

/// Motor enable PWMs start at this frequency.
const MOTOR_PWM_HZ: u32 = 1_000;
/// The servo PWM starts at this frequency.
const SERVO_PWM_HZ: u32 = 50;

impl World {
    /// Builds the world; the robot stands at `config.start`, nothing moves until
    /// [`World::start`]. Edge timestamps count from now, on tokio's clock.
    pub fn new(config: WorldConfig) -> World {
        let motor = || MotorLines {
            in1: OutputLine::new(),
            in2: OutputLine::new(),
            enable: PwmLine::new(SimPwm::MAX_DUTY, MOTOR_PWM_HZ),
        };
        let wiring = &config.robot.wiring;
        let io = Io {
            motors: [motor(), motor()],
            sonars: (wiring.sonars.iter())
                .map(|_| (OutputLine::new(), InputLine::new(false)))
                .collect(),
            bumpers: wiring
                .bumpers
                .iter()
                .map(|_| InputLine::new(true))
                .collect(),
            buttons: (wiring.buttons.iter())
                .map(|_| InputLine::new(true))
                .collect(),
            leds: wiring.leds.iter().map(|_| OutputLine::new()).collect(),
            servos: (wiring.servos.iter())
                .map(|_| PwmLine::new(SimPwm::MAX_DUTY, SERVO_PWM_HZ))
                .collect(),
            encoders: wiring.encoders.map(|pins| {
                pins.map(|p| EncoderLines {
                    a: InputLine::new(false),
                    b: p.b.map(|_| InputLine::new(false)),
                })
            }),
        };
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let bias = config.robot.imu.gyro_bias_std;
        let gyro_bias = [(); 3].map(|()| super::sensors::gaussian(&mut rng, bias));
        let state = WorldState {
            pose: config.start,
            wheel_speeds: [0.0; 2],
            velocity: 0.0,
            yaw_rate: 0.0,
            accel: Point::default(),
            in_contact: false,
            bumpers: vec![false; wiring.bumpers.len()],
            wheel_travel: [0.0; 2],
            gyro_bias,
            on_line: false,
            tracker: StatsTracker::new(&config),
            path: vec![PathPoint {
                time: Duration::ZERO,
                pose: config.start,
                turning: false,
            }],
            collision_points: Vec::new(),
            estimates: Vec::new(),
            modes: Vec::new(),
            rng,
            imu: Mpu6050Registers::default(),
            pca9685: pca9685_boards(wiring),
            ina219: Ina219Registers::default(),
            battery_used_ah: 0.0,
            battery_current: config.robot.battery.current([0.0; 2]),
            echo_busy_until: vec![None; wiring.sonars.len()],
            epoch: 0,
            steps: 0,
        };
        let world = World {
            shared: Arc::new(Shared {
                config,
                start: tokio::time::Instant::now(),
                io,
                state: Mutex::new(state),
            }),
        };
        world.with_state(|s, config| s.on_line = super::sensors::any_on_line(config, s.pose));
        world
    }

    /// The configuration the world was built from.
    pub fn config(&self) -> &WorldConfig {
        &self.shared.config
    }

    /// Tokio time since the world was built: the clock of every [`Edge`](crate::hal::Edge).
    pub fn elapsed(&self) -> Duration {
        self.shared.start.elapsed()
    }

    /// Runs `f` on the locked state. Never call back into the world from `f`.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut WorldState, &WorldConfig) -> R) -> R {
        let mut guard = lock(&self.shared.state);
        f(&mut guard, &self.shared.config)
    }

    /// The world now.
    pub fn snapshot(&self) -> Snapshot {
        let io = &self.shared.io;
        let wiring = &self.shared.config.robot.wiring;
        let servo_pulses_us: Vec<(String, Option<f64>)> = (wiring.servos.iter())
            .zip(&io.servos)
            .map(|(mount, line)| {
                let pwm = line.get();
                let pulse = (pwm.duty > 0).then(|| pwm.fraction() * 1e6 / f64::from(pwm.hz));
                (mount.name.clone(), pulse)
            })
            .collect();
        let servo_pulse_us = servo_pulses_us.first().and_then(|(_, pulse)| *pulse);
        let leds: Vec<(String, bool)> = (wiring.leds.iter())
            .zip(&io.leds)
            .map(|(mount, line)| (mount.name.clone(), line.is_high()))
            .collect();
        let led = leds.first().is_some_and(|(_, lit)| *lit);
        self.with_state(|s, config| Snapshot {
            pose: s.pose,
            time: s.tracker.stats.time,
            stats: s.tracker.stats.clone(),
            wheel_speeds: s.wheel_speeds,
            velocity: s.velocity,
            yaw_rate: s.yaw_rate,
            bumper: s.in_contact,
            bumpers: (config.robot.wiring.bumpers.iter())
                .zip(&s.bumpers)
                .map(|(mount, &pressed)| (mount.name.clone(), pressed))
                .collect(),
            on_line: s.on_line,
            led,
            leds,
            servo_pulse_us,
            servo_pulses_us,
        })
    }

    /// The path so far: the pose every 50 ms of simulated time, starting with the start pose.
    pub fn path(&self) -> Vec<PathPoint> {
        self.with_state(|s, _| s.path.clone())
    }

    /// Records where the robot thinks it is (an odometry estimate, in arena coordinates);
    /// [`World::to_svg`] draws these beside the true path. Firmware under test reports them.
    pub fn record_estimate(&self, at: Point) {
        self.with_state(|s, _| s.estimates.push(at));
    }

    /// Records that the firmware began doing `mode` (a planner's mode: `"cruise"`, `"turn"`,
    /// ...) here and now; [`World::to_svg`] marks each change along the path, one colour per
    /// mode. The same mode again is not a change and is not recorded.
    pub fn record_mode(&self, mode: &str) {
        self.with_state(|s, _| {
            if s.modes.last().is_some_and(|m| m.mode == mode) {
                return;
            }
            s.modes.push(ModeMark {
                time: s.tracker.stats.time,
                at: s.pose.position(),
                mode: mode.to_owned(),
            });
        });
    }

    /// The mode changes recorded so far.
    pub fn modes(&self) -> Vec<ModeMark> {
        self.with_state(|s, _| s.modes.clone())
    }

    /// The estimates recorded so far.
    pub fn estimates(&self) -> Vec<Point> {
        self.with_state(|s, _| s.estimates.clone())
    }

    /// Where each collision happened (the touching point on the wall or obstacle).
    pub fn collision_points(&self) -> Vec<Point> {
        self.with_state(|s, _| s.collision_points.clone())
    }

    /// The pins of one L298N channel driving the `side` wheel. Every call returns pins on the
    /// same wires.
    pub fn motor_pins(&self, side: Side) -> MotorPins {
        let lines = &self.shared.io.motors[side as usize];
        MotorPins {
            in1: SimOutputPin::new(lines.in1.clone()),
            in2: SimOutputPin::new(lines.in2.clone()),
            enable: SimPwm::new(lines.enable.clone()),
        }
    }

    /// The first HC-SR04's trigger and echo pins (see [`World::sonar`]).
    ///
    /// # Panics
    ///
    /// When the robot has no sonar.
    pub fn ultrasonic(&self) -> (SimOutputPin, SimEdgeInput) {
        self.sonar_at(0)
    }

    /// The trigger and echo pins of the HC-SR04 `name` of the wiring, or `None`. When the
    /// trigger falls after at least 10 µs high, the world casts the beam from the sensor's
    /// mount and raises the echo 0.5 ms later for the round trip `2·d / 343 m/s` (with noise);
    /// with nothing that echoes in range, the echo is a 38 ms pulse, as on the real module.
    /// Triggers during an echo are ignored.
    pub fn sonar(&self, name: &str) -> Option<(SimOutputPin, SimEdgeInput)> {
        let wiring = &self.shared.config.robot.wiring;
        let index = wiring.sonars.iter().position(|s| s.name == name)?;
        Some(self.sonar_at(index))
    }

    fn sonar_at(&self, index: usize) -> (SimOutputPin, SimEdgeInput) {
        let (trigger, echo) = &self.shared.io.sonars[index];
        (
            SimOutputPin::trigger(trigger.clone(), self.clone(), index),
            SimEdgeInput::new(echo.clone(), self.shared.start),
        )
    }

    /// The first bumper switch (see [`World::bumper_named`]), or an input that never changes
    /// when the robot has none.
    pub fn bumper(&self) -> SimEdgeInput {
        match self.shared.io.bumpers.first() {
            Some(line) => SimEdgeInput::new(line.clone(), self.shared.start),
            None => SimEdgeInput::unconnected(true),
        }
    }

    /// The bumper switch `name` of the wiring, or `None`. It is wired like a microswitch to
    /// ground with a pull-up: low while the body touches a wall or an obstacle within the
    /// bumper's arc, an edge each time that contact starts or ends.
    pub fn bumper_named(&self, name: &str) -> Option<SimEdgeInput> {
        let wiring = &self.shared.config.robot.wiring;
        let index = wiring.bumpers.iter().position(|b| b.name == name)?;
        let line = self.shared.io.bumpers[index].clone();
        Some(SimEdgeInput::new(line, self.shared.start))
    }

    /// The first push button (see [`World::button_named`]) and the finger that presses it.
    ///
    /// # Panics
    ///
    /// When the robot has no button.
    pub fn button(&self) -> (SimEdgeInput, ButtonPresser) {
        self.button_at(0)
    }

    /// The push button `name` of the wiring and the finger that presses it, or `None`. It is
    /// wired to ground with a pull-up (active low: high when released), an edge each time its
    /// contact closes or opens.
    pub fn button_named(&self, name: &str) -> Option<(SimEdgeInput, ButtonPresser)> {
        let wiring = &self.shared.config.robot.wiring;
        let index = wiring.buttons.iter().position(|b| b.name == name)?;
        Some(self.button_at(index))
    }

    fn button_at(&self, index: usize) -> (SimEdgeInput, ButtonPresser) {
        let line = self.shared.io.buttons[index].clone();
        (
            SimEdgeInput::new(line.clone(), self.shared.start),
            ButtonPresser::new(line, self.clone()),
        )
    }

    /// The finger on the button wired to BCM `gpio`, if one is.
    pub(crate) fn button_on(&self, gpio: u8) -> Option<ButtonPresser> {
        let wiring = &self.shared.config.robot.wiring;
        let index = wiring.buttons.iter().position(|b| b.pin == gpio)?;
        Some(self.button_at(index).1)
    }

    /// The first LED (see [`World::led_named`]); [`Snapshot::led`] shows it.
    ///
    /// # Panics
    ///
    /// When the robot has no LED.
    pub fn led(&self) -> SimOutputPin {
        SimOutputPin::new(self.shared.io.leds[0].clone())
    }

    /// The LED `name` of the wiring (lit while high), or `None`; [`Snapshot::leds`] shows it.
    pub fn led_named(&self, name: &str) -> Option<SimOutputPin> {
        let wiring = &self.shared.config.robot.wiring;
        let index = wiring.leds.iter().position(|l| l.name == name)?;
        Some(SimOutputPin::new(self.shared.io.leds[index].clone()))
    }

    /// The first servo's PWM (starts at 50 Hz, no pulses); [`Snapshot::servo_pulse_us`] shows
    /// it.
    ///
    /// # Panics
    ///
    /// When the robot has no servo.
    pub fn servo(&self) -> SimPwm {
        SimPwm::new(self.shared.io.servos[0].clone())
    }

    /// The I2C bus with the MPU-6050 at 0x68 (the same bus as [`World::i2c`]).
    pub fn imu(&self) -> SimI2c {
        SimI2c::new(self.clone())
    }

    /// The robot's I2C bus: the MPU-6050 at 0x68, each PCA9685 board its
    /// [`Wiring`](super::Wiring) puts a motor or servo on, and the INA219 on the battery's
    /// lead (`battery_monitor`, 0x41 by default).
    pub fn i2c(&self) -> SimI2c {
        SimI2c::new(self.clone())
    }

    /// The battery now: its voltage, the current drawn, the charge used.
    pub fn battery(&self) -> BatteryState {
        self.with_state(|s, config| {
            let model = &config.robot.battery;
            BatteryState {
                voltage: model.voltage(s.battery_used_ah, s.battery_current),
                current: s.battery_current,
                used_ah: s.battery_used_ah,
            }
        })
    }

    /// One I2C transaction with a chip other than the MPU-6050: a PCA9685 board (whose
    /// outputs then reach the motors and servos wired to it) or the INA219.
    pub(crate) fn other_i2c(
        &self,
        address: u8,
        operations: &mut [embedded_hal::i2c::Operation<'_>],
    ) -> Result<(), BusError> {
        use embedded_hal::i2c::Operation;

        let io = &self.shared.io;
        self.with_state(|s, config| {
            let wiring = &config.robot.wiring;
            if let Some((_, board)) = s.pca9685.iter_mut().find(|(a, _)| *a == address) {
                for op in operations {
                    match op {
                        Operation::Write(bytes) => board.write(bytes),
                        Operation::Read(buf) => board.read(buf),
                    }
                }
                // The lines are leaves: locking one under the state's lock is fine.
                let lines = (wiring
                    .motor_pwm
                    .iter()
                    .zip(io.motors.iter().map(|m| &m.enable)))
                .chain(wiring.servos.iter().map(|s| &s.pwm).zip(&io.servos));
                for (pwm, line) in lines {
                    if let crate::config::PwmWiring::Pca9685 {
                        address: at,
                        channel,
                        ..
                    } = *pwm
                        && at == address
                    {
                        let duty = (board.duty(channel) * 4096.0).round() as u16;
                        let hz = board.frequency();
                        line.update(|l| {
                            l.duty = duty;
                            l.max = 4096;
                            l.hz = hz;
                        });
                    }
                }
                return Ok(());
            }
            if wiring.battery_monitor == Some(address) {
                let model = &config.robot.battery;
                let measured = Measured {
                    shunt_v: s.battery_current * model.shunt_ohms,
                    bus_v: model.voltage(s.battery_used_ah, s.battery_current),
                };
                for op in operations {
                    match op {
                        Operation::Write(bytes) => s.ina219.write(bytes),
                        Operation::Read(buf) => s.ina219.read(buf, measured),
                    }
                }
                return Ok(());
            }
            Err(BusError::NoDevice { address })
        })
    }

    /// The SPI device of the MCP3008 whose channels `0..count` are the line sensors.
    pub fn adc(&self) -> SimSpi {
        SimSpi::new(self.clone())
    }

    /// The output wired to BCM `gpio` on the simulated robot (see [`World::gpio_input`] for
    /// the whole wiring), or `None` when nothing there listens.
    pub fn gpio_output(&self, gpio: u8) -> Option<SimOutputPin> {
        let io = &self.shared.io;
        let sonars = &self.shared.config.robot.wiring.sonars;
        if let Some(index) = sonars.iter().position(|s| s.trigger == gpio) {
            return Some(self.sonar_at(index).0);
        }
        let leds = &self.shared.config.robot.wiring.leds;
        if let Some(index) = leds.iter().position(|l| l.pin == gpio) {
            return Some(SimOutputPin::new(io.leds[index].clone()));
        }
        let direction = &self.shared.config.robot.wiring.motor_direction;
        let (motor, input) = (0..2)
            .flat_map(|motor| (0..2).map(move |input| (motor, input)))
            .find(|&(motor, input)| direction[motor][input] == gpio)?;
        let motor = &io.motors[motor];
        let line = if input == 0 { &motor.in1 } else { &motor.in2 };
        Some(SimOutputPin::new(line.clone()))
    }

    /// The input wired to BCM `gpio` on the simulated robot, or `None` when nothing drives it.
    ///
    /// Motors, sonars, bumpers, buttons, LEDs and servos are where the robot's
    /// [`Wiring`](super::Wiring) puts them: by default like the starter robot
    /// (`robots/starter.toml`), left motor IN1/IN2 on GPIO 5/6 and its enable on PWM channel 0
    /// (GPIO 12), right motor on GPIO 16/20 and PWM channel 1 (GPIO 13), the HC-SR04 on
    /// TRIG/ECHO GPIO 23/24, a bumper on GPIO 22, the button `estop` on GPIO 17, the LED
    /// `status` on GPIO 27 and a servo on PWM channel 2 (GPIO 18);
    /// [`WorldConfig::wired_like`](super::WorldConfig::wired_like) takes them from a robot
    /// file. A robot file that says otherwise finds nothing there, as on a real robot.
    pub fn gpio_input(&self, gpio: u8) -> Option<SimEdgeInput> {
        let io = &self.shared.io;
        let wiring = &self.shared.config.robot.wiring;
        let encoder_line = |i: usize, pins: &super::EncoderPins| {
            let lines = io.encoders.as_ref()?.get(i)?;
            if pins.a == gpio {
                Some(&lines.a)
            } else if pins.b == Some(gpio) {
                lines.b.as_ref()
            } else {
                None
            }
        };
        let encoder = (wiring.encoders.iter())
            .flat_map(|pins| pins.iter().enumerate())
            .find_map(|(i, pins)| encoder_line(i, pins));
        let line = if let Some(i) = wiring.buttons.iter().position(|b| b.pin == gpio) {
            &io.buttons[i]
        } else if let Some(line) = encoder {
            line
        } else if let Some(i) = wiring.sonars.iter().position(|s| s.echo == gpio) {
            &io.sonars[i].1
        } else if let Some(i) = wiring.bumpers.iter().position(|b| b.pin == gpio) {
            &io.bumpers[i]
        } else {
            return None;
        };
        Some(SimEdgeInput::new(line.clone(), self.shared.start))
    }

    /// The hardware PWM `channel` of the simulated robot, or `None` when nothing is on it.
    pub fn pwm_channel(&self, channel: u8) -> Option<SimPwm> {
        let io = &self.shared.io;
        let servos = &self.shared.config.robot.wiring.servos;
        let hardware = crate::config::PwmWiring::Hardware { channel };
        let motor_pwm = &self.shared.config.robot.wiring.motor_pwm;
        let line = if let Some(i) = motor_pwm.iter().position(|p| *p == hardware) {
            &io.motors[i].enable
        } else {
            let i = servos.iter().position(|s| s.pwm == hardware)?;
            &io.servos[i]
        };
        Some(SimPwm::new(line.clone()))
    }

    /// Software PWM on BCM `gpio`: a servo wired to software PWM there, or the hardware
    /// channel on that pin (GPIO 12, 13, 18 and 19 are channels 0-3), or `None`.
    pub fn pwm_pin(&self, gpio: u8) -> Option<SimPwm> {
        let servos = &self.shared.config.robot.wiring.servos;
        let software = crate::config::PwmWiring::Software { pin: gpio };
        if let Some(i) = servos.iter().position(|s| s.pwm == software) {
            return Some(SimPwm::new(self.shared.io.servos[i].clone()));
        }
        let channel = wiring::PWM_GPIO.iter().position(|&g| g == gpio)?;
        self.pwm_channel(channel as u8)
    }

    /// The `side` wheel's encoder channels A and B (B `None` for a single-channel encoder), or
    /// `None` when the robot has no encoders. Channel A leads B when the wheel turns forward;
    /// a single channel changes level at every count. Edges are stamped within the physics
    /// step they happen in.
    pub fn encoder(&self, side: Side) -> Option<(SimEdgeInput, Option<SimEdgeInput>)> {
        let lines = &self.shared.io.encoders.as_ref()?[side as usize];
        let input = |line: &Arc<InputLine>| SimEdgeInput::new(line.clone(), self.shared.start);
        Some((input(&lines.a), lines.b.as_ref().map(input)))
    }

    /// How far each wheel's rim has turned so far, meters, `[left, right]`: what a perfect
    /// encoder counts, slip included.
    pub fn wheel_travel(&self) -> [f64; 2] {
        self.with_state(|s, _| s.wheel_travel)
    }

    /// The line sensors as digital inputs (high over the tape), sensor 0 leftmost.
    pub fn line_sensor_pins(&self) -> Vec<SimInputPin> {
        (0..self.shared.config.robot.line_sensors.count)
            .map(|i| SimInputPin::line_sensor(self.clone(), i))
            .collect()
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (pose, time) = self.with_state(|s, _| (s.pose, s.tracker.stats.time));
        f.debug_struct("World")
            .field("pose", &pose)
            .field("time", &time)
            .finish_non_exhaustive()
    }
}
