//! What a simulated world is made of: the arena, its obstacles and line track, the robot's
//! geometry and sensors, the seed — and the ready-made scenarios. Plain data; the running world
//! lives in `world`.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::geometry::{Obstacle, Point, Pose};
use super::track::LineTrack;

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

/// The robot: a round differential-drive body with an ultrasonic sensor, line sensors and an
/// IMU.
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
    /// The HC-SR04 on the front.
    pub ultrasonic: SonarModel,
    /// The reflectance sensors under the front edge.
    pub line_sensors: LineSensorModel,
    /// The MPU-6050.
    pub imu: ImuModel,
}

/// An HC-SR04 ultrasonic range finder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SonarModel {
    /// Mount position in the robot frame (x forward, y left), meters (default (0.10, 0)).
    pub offset: Point,
    /// Mount angle relative to the heading, radians, counter-clockwise (default 0).
    pub angle: f64,
    /// Farthest echo in meters (default 4.0; cheap modules manage 2-4 m).
    pub max_range: f64,
    /// Nearest measurable distance in meters (default 0.02).
    pub min_range: f64,
    /// Half the opening angle of the beam, radians (default 7.5°): three rays are cast, at
    /// -half, 0 and +half, and the nearest hit answers.
    pub cone_half_angle: f64,
    /// Standard deviation of the distance noise in meters (default 0.003).
    pub noise_std: f64,
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
            ultrasonic: SonarModel::default(),
            line_sensors: LineSensorModel::default(),
            imu: ImuModel::default(),
        }
    }
}

impl Default for SonarModel {
    fn default() -> Self {
        SonarModel {
            offset: Point::new(0.10, 0.0),
            angle: 0.0,
            max_range: 4.0,
            min_range: 0.02,
            cone_half_angle: 7.5_f64.to_radians(),
            noise_std: 0.003,
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
