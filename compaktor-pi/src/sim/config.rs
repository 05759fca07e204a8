//! What a simulated world is made of: the arena, its obstacles and line track, the robot's
//! geometry and sensors, the seed — and the ready-made scenarios. Plain data; the running world
//! lives in `world`.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::geometry::{Obstacle, Point, Pose};
use super::track::LineTrack;
use crate::config::PwmWiring;

/// Everything a [`World`](super::World) is built from. Fields are public: start from a scenario
/// ([`WorldConfig::arena`], [`WorldConfig::line_track`], [`WorldConfig::empty`]) and change what
/// the test needs.
///
/// # Examples
///
/// ```
/// use compaktor_pi::sim::{Obstacle, Point, Pose, WorldConfig};
///
/// let mut config = WorldConfig::empty(2.0, 1.0);
/// config.start = Pose::new(0.3, 0.5, 0.0);
/// config.obstacles.push(Obstacle::Circle { center: Point::new(1.5, 0.5), radius: 0.1 });
/// assert_eq!(config.obstacles.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorldConfig {
    /// Arena width (x) in meters; walls stand at x = 0 and x = width.
    pub width: f64,
    /// Arena height (y) in meters; walls stand at y = 0 and y = height.
    pub height: f64,
    /// Solid things inside the arena.
    pub obstacles: Vec<Obstacle>,
    /// A line to follow, if any.
    pub track: Option<LineTrack>,
    /// Where the robot starts.
    pub start: Pose,
    /// The robot's geometry, motors and sensors.
    pub robot: RobotModel,
    /// Seed of every random thing in the world (sensor noise; obstacle placement in
    /// [`WorldConfig::arena`]).
    pub seed: u64,
}

/// The robot: a round differential-drive body with ultrasonic sensors, bumpers, servos, line
/// sensors and an IMU.
///
/// The default robot is a realistic one, not a flattering one: its motors have a deadband and do
/// not match (it drifts when both get the same duty), its sonars have a wide beam that misses
/// walls met at a shallow angle and now and then answers nonsense, its gyro has a bias that
/// drifts. [`RobotModel::ideal`] turns all of that off, for tests of the kinematics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RobotModel {
    /// Distance between the two wheels in meters (default 0.15).
    pub wheel_base: f64,
    /// Radius of the round body in meters (default 0.10); this is what collides.
    pub body_radius: f64,
    /// Wheel ground speed in m/s at duty 1.0 (default 0.5).
    pub max_wheel_speed: f64,
    /// First-order lag of the wheel speed in seconds; 0 for none (default 0.05).
    pub motor_time_constant: f64,
    /// Duty below which a wheel does not turn at all, `0.0..1.0` (default 0.12); above it the
    /// speed grows linearly from 0 to `max_wheel_speed` at duty 1.0.
    pub deadband: f64,
    /// How much faster the right wheel runs than the left at the same duty, as a fraction
    /// (default 0.05: the right runs 2.5 % fast, the left 2.5 % slow, so the robot curves left).
    /// Negative: the left is faster.
    pub mismatch: f64,
    /// Lines per wheel revolution of each wheel encoder's disc, per channel (default 20).
    pub encoder_lines: u32,
    /// Wheel diameter in meters, what encoder counts are turned into distance with (default
    /// 0.065).
    pub wheel_diameter: f64,
    /// Wheel slip on turns: the encoders count this fraction more than the ground moved, per
    /// rad/s of turn rate (default 0.06: a fast spin in place, 3 rad/s, overcounts by 18 %).
    pub slip: f64,
    /// How every HC-SR04 senses (range, beam, noise); where each one sits is in `wiring`.
    pub ultrasonic: SonarModel,
    /// The reflectance sensors under the front edge.
    pub line_sensors: LineSensorModel,
    /// The MPU-6050.
    pub imu: ImuModel,
    /// The battery the INA219 watches: it drains as the motors drive.
    pub battery: BatteryModel,
    /// Which pins the sonars, bumpers, buttons, LEDs and servos are wired to, and where they
    /// sit on the body.
    pub wiring: Wiring,
}

/// How an HC-SR04 ultrasonic range finder senses. Where each one is mounted is its
/// [`SonarMount`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SonarModel {
    /// Farthest echo in meters (default 4.0; cheap modules manage 2-4 m). Farther, or no echo
    /// at all, is the module's 38 ms "nothing heard" pulse, which drivers report as out of
    /// range.
    pub max_range: f64,
    /// Nearest measurable distance in meters (default 0.02).
    pub min_range: f64,
    /// Half the opening angle of the beam, radians (default 15°, the HC-SR04's datasheet
    /// figure): rays are cast every 2.5° across it and the nearest surface that echoes answers.
    pub cone_half_angle: f64,
    /// A surface met more than this far from head-on (angle between the ray and the surface's
    /// normal, radians) reflects the sound away and is not heard (default 60°); `π/2` or more:
    /// every surface echoes.
    pub miss_angle: f64,
    /// Chance that one measurement is an outlier: a distance anywhere in range, whatever is
    /// there (default 0.02).
    pub outlier_probability: f64,
    /// Standard deviation of the distance noise in meters (default 0.003).
    pub noise_std: f64,
}

/// The simulated robot's wiring of its named devices: which pins each sonar, bumper, button,
/// LED and servo uses and where it sits, the motors' direction pins and PWM, and the battery
/// monitor's address (see [`World::gpio_input`](super::World::gpio_input)).
///
/// The default is the starter robot's: motor IN1/IN2 on GPIO 5/6 (left) and 16/20 (right),
/// one sonar `front`, one bumper `front` all round the body, one button `estop` on GPIO 17,
/// one LED `status` on GPIO 27, one servo `pan` on PWM channel 2. [`WorldConfig::wired_like`] rewires it from a robot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Wiring {
    /// HC-SR04s; [`World::ultrasonic`](super::World::ultrasonic) is the first.
    pub sonars: Vec<SonarMount>,
    /// Bumper switches; [`World::bumper`](super::World::bumper) is the first.
    pub bumpers: Vec<BumperMount>,
    /// Push buttons; [`World::button`](super::World::button) is the first.
    pub buttons: Vec<ButtonMount>,
    /// LEDs; [`World::led`](super::World::led) is the first.
    pub leds: Vec<LedMount>,
    /// Servos; [`World::servo`](super::World::servo) is the first.
    pub servos: Vec<ServoMount>,
    /// The left and right wheel encoders, if the robot has them.
    pub encoders: Option<[EncoderPins; 2]>,
    /// The BCM GPIOs of the left and right motors' direction inputs, `[in1, in2]` each
    /// (default the starter's: 5/6 and 16/20).
    pub motor_direction: [[u8; 2]; 2],
    /// The PWM of the left and right motors' speed inputs (default hardware channels 0 and
    /// 1); a motor on a PCA9685 channel follows that board's output.
    pub motor_pwm: [PwmWiring; 2],
    /// The I2C address of the INA219 on the battery's lead (default 0x41, A0 bridged, so a
    /// PCA9685 keeps its default 0x40), if the robot has
    /// one.
    pub battery_monitor: Option<u8>,
}

/// The robot's battery, as its INA219 sees it: a voltage that falls linearly from `full_v`
/// to `empty_v` as the charge is used, less the sag of the current through its internal
/// resistance, and a current that grows with the motors' duty.
///
/// The default is a 2S LiPo of 2 Ah behind a 0.1 Ω shunt: 8.4 V full, 6.0 V empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatteryModel {
    /// Charge when full, Ah.
    pub capacity_ah: f64,
    /// Open-circuit voltage when full, V.
    pub full_v: f64,
    /// Open-circuit voltage when empty, V.
    pub empty_v: f64,
    /// What the electronics draw with the motors off, A.
    pub idle_a: f64,
    /// What one motor draws at full duty, A (in proportion below).
    pub motor_a: f64,
    /// Internal resistance, Ω: the voltage sags under load.
    pub internal_ohms: f64,
    /// The INA219's shunt resistor, Ω.
    pub shunt_ohms: f64,
}

impl Default for BatteryModel {
    fn default() -> Self {
        BatteryModel {
            capacity_ah: 2.0,
            full_v: 8.4,
            empty_v: 6.0,
            idle_a: 0.25,
            motor_a: 1.0,
            internal_ohms: 0.1,
            shunt_ohms: 0.1,
        }
    }
}

impl BatteryModel {
    /// What the robot draws with motor duties `commands` (signed), A.
    pub(crate) fn current(&self, commands: [f64; 2]) -> f64 {
        self.idle_a + self.motor_a * commands.iter().map(|c| c.abs().min(1.0)).sum::<f64>()
    }

    /// The voltage at the terminals after `used_ah` of the charge, drawing `current`, V.
    pub(crate) fn voltage(&self, used_ah: f64, current: f64) -> f64 {
        let left = if self.capacity_ah > 0.0 {
            (1.0 - used_ah / self.capacity_ah).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (self.empty_v + (self.full_v - self.empty_v) * left - current * self.internal_ohms).max(0.0)
    }
}

/// One wheel encoder's pins: A, and B for a quadrature encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderPins {
    /// Channel A's GPIO.
    pub a: u8,
    /// Channel B's GPIO; `None` for a single-channel encoder.
    pub b: Option<u8>,
}

/// One HC-SR04: its pins and where it looks from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SonarMount {
    /// Its name (the robot file's `[sonars.<name>]`).
    pub name: String,
    /// TRIG GPIO.
    pub trigger: u8,
    /// ECHO GPIO.
    pub echo: u8,
    /// Position in the robot frame (x forward, y left), meters.
    pub offset: Point,
    /// Direction it looks, relative to the heading, radians, counter-clockwise.
    pub angle: f64,
}

/// One bumper switch: its pin and the part of the body's rim it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BumperMount {
    /// Its name (the robot file's `[bumpers.<name>]`).
    pub name: String,
    /// The GPIO (the microswitch closes to ground: low while pressed).
    pub pin: u8,
    /// The arc of the rim it covers, from `arc.0` to `arc.1` radians relative to the heading,
    /// counter-clockwise (`(-π, π)` is all round).
    pub arc: (f64, f64),
}

/// One push button: its pin. Its contact goes to ground with a pull-up (low while a
/// normally-open button is pressed); [`ButtonPresser`](super::ButtonPresser) presses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonMount {
    /// Its name (the robot file's `[buttons.<name>]`).
    pub name: String,
    /// The GPIO.
    pub pin: u8,
}

/// One LED: the pin that lights it (high is lit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedMount {
    /// Its name (the robot file's `[leds.<name>]`).
    pub name: String,
    /// The GPIO.
    pub pin: u8,
}

/// One servo: the PWM it listens to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServoMount {
    /// Its name (the robot file's `[servos.<name>]`).
    pub name: String,
    /// Its PWM: a hardware channel (0-3 on GPIO 12, 13, 18, 19) or software PWM on a GPIO.
    pub pwm: PwmWiring,
}

/// A row of reflectance sensors across the front, read through the MCP3008 (channel `i` is
/// sensor `i`, sensor 0 leftmost) or as digital inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineSensorModel {
    /// Number of sensors (default 5; at most 8 fit on the MCP3008).
    pub count: usize,
    /// Distance between neighbouring sensors in meters (default 0.015).
    pub spacing: f64,
    /// How far ahead of the wheel axle the row sits, meters (default 0.08).
    pub forward_offset: f64,
    /// Diameter of the patch of floor one sensor sees, meters (default 0.006): readings blend
    /// smoothly across the tape's edge over this width.
    pub footprint: f64,
    /// ADC reading over the tape (default 900).
    pub on_line: u16,
    /// ADC reading over bare floor (default 100).
    pub off_line: u16,
    /// Standard deviation of the ADC noise in counts (default 8).
    pub noise_std: f64,
}

/// An MPU-6050 lying flat, x forward, y left, z up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImuModel {
    /// Standard deviation of the accelerometer noise in m/s² (default 0.05).
    pub accel_noise_std: f64,
    /// Standard deviation of the gyro noise in rad/s (default 0.002).
    pub gyro_noise_std: f64,
    /// Standard deviation of the gyro's bias at start-up, rad/s, on each axis (default 0.02,
    /// about 1°/s, an uncalibrated MPU-6050's): drawn from the seed.
    pub gyro_bias_std: f64,
    /// How fast the bias wanders (a random walk), rad/s per √s (default 0.000 5).
    pub gyro_drift: f64,
    /// Die temperature reported, °C (default 25).
    pub temperature: f64,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig::empty(4.0, 3.0)
    }
}

impl Default for RobotModel {
    fn default() -> Self {
        RobotModel {
            wheel_base: 0.15,
            body_radius: 0.10,
            max_wheel_speed: 0.5,
            motor_time_constant: 0.05,
            deadband: 0.12,
            mismatch: 0.05,
            encoder_lines: 20,
            wheel_diameter: 0.065,
            slip: 0.06,
            ultrasonic: SonarModel::default(),
            line_sensors: LineSensorModel::default(),
            imu: ImuModel::default(),
            battery: BatteryModel::default(),
            wiring: Wiring::default(),
        }
    }
}

impl RobotModel {
    /// The robot without the imperfections of real hardware: no deadband, matched motors, no
    /// wheel slip, a
    /// narrow sonar beam (±7.5°) that hears every surface and never lies, a gyro without bias.
    /// Noise stays. For tests of the kinematics; planners are tested on the default robot.
    pub fn ideal() -> Self {
        let mut robot = RobotModel {
            deadband: 0.0,
            mismatch: 0.0,
            slip: 0.0,
            ..RobotModel::default()
        };
        robot.ultrasonic.cone_half_angle = 7.5_f64.to_radians();
        robot.ultrasonic.miss_angle = std::f64::consts::FRAC_PI_2;
        robot.ultrasonic.outlier_probability = 0.0;
        robot.imu.gyro_bias_std = 0.0;
        robot.imu.gyro_drift = 0.0;
        robot
    }

    /// The speed the `side` wheel (0 left, 1 right) settles at for `command` (a signed duty),
    /// m/s: deadband, mismatch and the top speed applied.
    pub(crate) fn wheel_speed(&self, side: usize, command: f64) -> f64 {
        let duty = command.abs().min(1.0);
        let deadband = self.deadband.clamp(0.0, 0.99);
        let moving = ((duty - deadband) / (1.0 - deadband)).max(0.0);
        let gain = if side == 0 {
            1.0 - self.mismatch / 2.0
        } else {
            1.0 + self.mismatch / 2.0
        };
        command.signum() * moving * gain * self.max_wheel_speed
    }
}

impl Default for SonarModel {
    fn default() -> Self {
        SonarModel {
            max_range: 4.0,
            min_range: 0.02,
            cone_half_angle: 15_f64.to_radians(),
            miss_angle: 60_f64.to_radians(),
            outlier_probability: 0.02,
            noise_std: 0.003,
        }
    }
}

impl Default for Wiring {
    fn default() -> Self {
        Wiring {
            sonars: vec![SonarMount {
                name: "front".into(),
                trigger: 23,
                echo: 24,
                offset: Point::new(0.10, 0.0),
                angle: 0.0,
            }],
            bumpers: vec![BumperMount {
                name: "front".into(),
                pin: 22,
                arc: (-std::f64::consts::PI, std::f64::consts::PI),
            }],
            buttons: vec![ButtonMount {
                name: "estop".into(),
                pin: 17,
            }],
            leds: vec![LedMount {
                name: "status".into(),
                pin: 27,
            }],
            servos: vec![ServoMount {
                name: "pan".into(),
                pwm: PwmWiring::Hardware { channel: 2 },
            }],
            encoders: Some([
                EncoderPins { a: 14, b: Some(15) },
                EncoderPins { a: 25, b: Some(26) },
            ]),
            motor_direction: [[5, 6], [16, 20]],
            motor_pwm: [
                PwmWiring::Hardware { channel: 0 },
                PwmWiring::Hardware { channel: 1 },
            ],
            battery_monitor: Some(0x41),
        }
    }
}

impl Default for LineSensorModel {
    fn default() -> Self {
        LineSensorModel {
            count: 5,
            spacing: 0.015,
            forward_offset: 0.08,
            footprint: 0.006,
            on_line: 900,
            off_line: 100,
            noise_std: 8.0,
        }
    }
}

impl Default for ImuModel {
    fn default() -> Self {
        ImuModel {
            accel_noise_std: 0.05,
            gyro_noise_std: 0.002,
            gyro_bias_std: 0.02,
            gyro_drift: 0.000_5,
            temperature: 25.0,
        }
    }
}

impl LineSensorModel {
    /// Where sensor `index` sits in the robot frame (x forward, y left); sensor 0 is leftmost.
    pub fn position(&self, index: usize) -> Point {
        let middle = (self.count as f64 - 1.0) / 2.0;
        Point::new(self.forward_offset, (middle - index as f64) * self.spacing)
    }
}

impl WorldConfig {
    /// The same world with an [ideal](RobotModel::ideal) robot in it (its wiring kept).
    pub fn ideal(mut self) -> Self {
        let wiring = std::mem::take(&mut self.robot.wiring);
        self.robot = RobotModel {
            wiring,
            ..RobotModel::ideal()
        };
        self
    }

    /// The same world with its robot's sonars, bumpers, buttons, LEDs, servos, encoders, motor
    /// PWM and battery monitor wired as the robot file `robot` says: the file's pins, each sonar
    /// at its `mount` (the front, looking ahead, when the file gives none), each bumper over its
    /// `arc` (all round by default), each button and LED by name on its pin, a simulated
    /// PCA9685 for each board a motor or servo is wired to, the INA219 at the file's
    /// `[battery]` address behind its shunt. A device the file wires differently from the
    /// simulated robot then behaves as on a real robot; a file without bumpers (buttons, LEDs,
    /// a battery monitor) gets none.
    ///
    /// ```
    /// use compaktor_pi::config::{EXPLORER_ROBOT, RobotConfig};
    /// use compaktor_pi::sim::WorldConfig;
    ///
    /// let explorer = RobotConfig::from_toml(EXPLORER_ROBOT)?;
    /// let world = WorldConfig::arena(1).wired_like(&explorer);
    /// let sonars: Vec<&str> = world.robot.wiring.sonars.iter().map(|s| s.name.as_str()).collect();
    /// assert_eq!(sonars, ["front", "left", "right"]);
    /// assert_eq!(world.robot.wiring.servos.len(), 2);
    /// let buttons: Vec<(&str, u8)> =
    ///     world.robot.wiring.buttons.iter().map(|b| (b.name.as_str(), b.pin)).collect();
    /// assert_eq!(buttons, [("estop", 4), ("start", 17)]);
    /// # Ok::<(), compaktor_pi::config::ConfigError>(())
    /// ```
    pub fn wired_like(mut self, robot: &crate::config::RobotConfig) -> Self {
        let degrees = |d: f32| f64::from(d).to_radians();
        self.robot.wiring = Wiring {
            sonars: robot
                .sonars
                .iter()
                .map(|(name, s)| {
                    let mount = s.mount.unwrap_or_default();
                    SonarMount {
                        name: name.clone(),
                        trigger: s.trigger,
                        echo: s.echo,
                        offset: Point::new(f64::from(mount.x), f64::from(mount.y)),
                        angle: degrees(mount.angle),
                    }
                })
                .collect(),
            bumpers: robot
                .bumpers
                .iter()
                .map(|(name, b)| BumperMount {
                    name: name.clone(),
                    pin: b.pin,
                    arc: (degrees(b.arc[0]), degrees(b.arc[1])),
                })
                .collect(),
            buttons: (robot.buttons.iter())
                .map(|(name, b)| ButtonMount {
                    name: name.clone(),
                    pin: b.pin,
                })
                .collect(),
            leds: (robot.leds.iter())
                .map(|(name, l)| LedMount {
                    name: name.clone(),
                    pin: l.pin,
                })
                .collect(),
            servos: robot
                .servos
                .iter()
                .map(|(name, s)| ServoMount {
                    name: name.clone(),
                    pwm: s.pwm,
                })
                .collect(),
            encoders: robot.encoders.as_ref().map(|e| {
                [&e.left, &e.right].map(|pins| EncoderPins {
                    a: pins.a,
                    b: pins.b,
                })
            }),
            motor_direction: [&robot.drive.left, &robot.drive.right].map(|m| [m.in1, m.in2]),
            motor_pwm: [robot.drive.left.pwm, robot.drive.right.pwm],
            battery_monitor: robot.battery.as_ref().map(|b| b.address),
        };
        if let Some(battery) = &robot.battery {
            self.robot.battery.shunt_ohms = f64::from(battery.shunt_ohms);
        }
        if let Some(encoders) = &robot.encoders {
            self.robot.encoder_lines = encoders.lines;
            self.robot.wheel_diameter = f64::from(encoders.wheel_diameter);
            self.robot.wheel_base = f64::from(encoders.wheel_base);
        }
        self
    }

    /// A bare `width` × `height` arena, the robot in the middle facing +x, seed 0.
    pub fn empty(width: f64, height: f64) -> Self {
        WorldConfig {
            width,
            height,
            obstacles: Vec::new(),
            track: None,
            start: Pose::new(width / 2.0, height / 2.0, 0.0),
            robot: RobotModel::default(),
            seed: 0,
        }
    }

    /// A 4 × 3 m arena with eight obstacles (posts and boxes) placed from `seed`, none within
    /// 0.3 m of the robot's starting body (in the middle, facing +x) nor of each other's edges.
    /// The same seed gives the same arena.
    pub fn arena(seed: u64) -> Self {
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.seed = seed;
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x0b57_ac1e);
        let keep_clear = config.robot.body_radius + 0.3;
        let mut tries = 0;
        while config.obstacles.len() < 8 && tries < 1000 {
            tries += 1;
            let candidate = random_obstacle(&mut rng, config.width, config.height);
            let start = config.start.position();
            let clear_of_start = !candidate.overlaps_circle(start, keep_clear);
            let clear_of_others = config
                .obstacles
                .iter()
                .all(|o| !overlaps(o, &candidate, 0.25));
            if clear_of_start && clear_of_others {
                config.obstacles.push(candidate);
            }
        }
        config
    }

    /// A 4 × 3 m arena with an oval track of 19 mm tape (semi-axes 1.4 × 0.9 m, about 7.3 m
    /// long); the robot starts on the bottom of the oval, facing counter-clockwise along it.
    /// The seed drives the sensor noise.
    pub fn line_track(seed: u64) -> Self {
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.seed = seed;
        let track = LineTrack::oval(Point::new(2.0, 1.5), 1.4, 0.9, 0.019, 96);
        config.start = Pose::new(track.points[0].x, track.points[0].y, 0.0);
        config.track = Some(track);
        config
    }
}

fn random_obstacle(rng: &mut SmallRng, width: f64, height: f64) -> Obstacle {
    let margin = 0.2;
    let x = rng.random_range(margin..width - margin);
    let y = rng.random_range(margin..height - margin);
    if rng.random_bool(0.5) {
        Obstacle::Circle {
            center: Point::new(x, y),
            radius: rng.random_range(0.05..0.2),
        }
    } else {
        let (w, h) = (rng.random_range(0.1..0.5), rng.random_range(0.1..0.5));
        Obstacle::Rect {
            min: Point::new(x - w / 2.0, y - h / 2.0),
            max: Point::new(x + w / 2.0, y + h / 2.0),
        }
    }
}

/// Whether two obstacles come closer than `gap` (conservatively, through bounding circles).
fn overlaps(a: &Obstacle, b: &Obstacle, gap: f64) -> bool {
    let bound = |o: &Obstacle| match *o {
        Obstacle::Circle { center, radius } => (center, radius),
        Obstacle::Rect { min, max } => (
            Point::new((min.x + max.x) / 2.0, (min.y + max.y) / 2.0),
            min.distance(max) / 2.0,
        ),
    };
    let ((ca, ra), (cb, rb)) = (bound(a), bound(b));
    ca.distance(cb) < ra + rb + gap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_obstacles() {
        assert_eq!(WorldConfig::arena(7), WorldConfig::arena(7));
        assert_ne!(
            WorldConfig::arena(7).obstacles,
            WorldConfig::arena(8).obstacles
        );
    }

    #[test]
    fn arena_keeps_the_start_clear() {
        for seed in 0..50 {
            let config = WorldConfig::arena(seed);
            assert!(config.obstacles.len() >= 4, "seed {seed}");
            let start = config.start.position();
            for o in &config.obstacles {
                assert!(!o.overlaps_circle(start, config.robot.body_radius + 0.3));
            }
        }
    }

    #[test]
    fn line_track_starts_on_the_line() {
        let config = WorldConfig::line_track(1);
        let track = config.track.as_ref().unwrap();
        assert!(track.distance(config.start.position()) < 1e-9);
        assert!((track.length() - 7.3).abs() < 0.05);
        let middle = config.robot.line_sensors.position(2);
        assert_eq!(middle, Point::new(0.08, 0.0));
        assert!(config.robot.line_sensors.position(0).y > 0.0);
    }
}
