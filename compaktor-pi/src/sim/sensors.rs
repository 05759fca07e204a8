//! The sensor models that only look at the world: what the line sensors see, how far the
//! ultrasonic beam reaches, what the IMU feels, and the gaussian noise on top. The pins and
//! buses that carry the readings are elsewhere (`pins`, `ultrasonic`, `mpu6050`, `mcp3008`).

use rand::Rng;
use rand::rngs::SmallRng;

use super::config::{SonarMount, WorldConfig};
use super::geometry::{Point, Pose, wall_hit};
use super::world::{World, WorldState};

/// Standard gravity, m/s².
pub(crate) const G: f64 = 9.806_65;

/// A sample of a normal distribution with mean 0 and standard deviation `std` (Box-Muller).
pub(crate) fn gaussian(rng: &mut SmallRng, std: f64) -> f64 {
    if std <= 0.0 {
        return 0.0;
    }
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// How much of line sensor `index`'s footprint sees tape, `0.0..=1.0` (no noise).
pub(crate) fn line_coverage(config: &WorldConfig, pose: Pose, index: usize) -> f64 {
    let Some(track) = &config.track else {
        return 0.0;
    };
    let sensors = &config.robot.line_sensors;
    let p = pose.to_world(sensors.position(index));
    let inside = track.width / 2.0 - track.distance(p);
    (inside / sensors.footprint.max(1e-6) + 0.5).clamp(0.0, 1.0)
}

/// Whether any line sensor sees mostly tape.
pub(crate) fn any_on_line(config: &WorldConfig, pose: Pose) -> bool {
    (0..config.robot.line_sensors.count).any(|i| line_coverage(config, pose, i) >= 0.5)
}

/// The middle of the line sensor row, in arena coordinates.
pub(crate) fn sensor_row(config: &WorldConfig, pose: Pose) -> Point {
    pose.to_world(Point::new(config.robot.line_sensors.forward_offset, 0.0))
}

/// Rays are cast this far apart across a sonar's beam, radians (2.5°).
const RAY_SPACING: f64 = 0.043_633_231;

/// Where the unit ray from `origin` first meets a wall or an obstacle: the distance and the
/// surface's outward normal there.
fn ray_cast(config: &WorldConfig, origin: Point, dir: Point) -> (f64, Point) {
    let (w, h) = (config.width, config.height);
    let inside = origin.x >= 0.0 && origin.x <= w && origin.y >= 0.0 && origin.y <= h;
    let mut nearest = if inside {
        let t = wall_hit(w, h, origin, dir);
        let hit = origin + dir.scale(t);
        // The wall the hit lies on: the one it is closest to.
        let normal = [
            (hit.x, Point::new(1.0, 0.0)),
            (w - hit.x, Point::new(-1.0, 0.0)),
            (hit.y, Point::new(0.0, 1.0)),
            (h - hit.y, Point::new(0.0, -1.0)),
        ]
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(Point::new(-dir.x, -dir.y), |(_, n)| n);
        (t, normal)
    } else {
        (0.0, Point::new(-dir.x, -dir.y))
    };
    for o in &config.obstacles {
        if let Some(t) = o.ray_hit(origin, dir)
            && t < nearest.0
        {
            nearest = (t, o.surface(origin + dir.scale(t)).normal);
        }
    }
    nearest
}

/// What one ping of `sonar` hears, without noise: the distance to the nearest surface inside
/// its beam that sends the sound back (met closer to head-on than `miss_angle`), meters;
/// `None` when nothing in the beam echoes. Range limits are the caller's.
pub(crate) fn beam_echo(config: &WorldConfig, pose: Pose, sonar: &SonarMount) -> Option<f64> {
    let us = &config.robot.ultrasonic;
    let origin = pose.to_world(sonar.offset);
    let half = us.cone_half_angle.max(0.0);
    let gaps = (2.0 * half / RAY_SPACING - 1e-6).ceil().max(1.0) as usize;
    let heard_within = us.miss_angle.cos();
    (0..=gaps)
        .filter_map(|i| {
            let spread = -half + 2.0 * half * i as f64 / gaps as f64;
            let dir = Point::from_angle(pose.heading + sonar.angle + spread);
            let (t, normal) = ray_cast(config, origin, dir);
            // cos of the angle between the ray coming back and the surface's normal.
            let head_on = -dir.dot(normal);
            (t <= 0.0 || us.miss_angle >= std::f64::consts::FRAC_PI_2 || head_on >= heard_within)
                .then_some(t)
        })
        .reduce(f64::min)
}

impl World {
    /// The digital line sensor `index`: tape under more than half its footprint.
    pub(crate) fn line_sensor_over_tape(&self, index: usize) -> bool {
        self.with_state(|s, config| line_coverage(config, s.pose, index) >= 0.5)
    }

    /// What MCP3008 channel `channel` reads now (line sensors on `0..count`, 0 elsewhere).
    pub(crate) fn adc_channel(&self, channel: u8) -> u16 {
        self.with_state(|s, config| {
            let sensors = &config.robot.line_sensors;
            let index = usize::from(channel);
            if index >= sensors.count {
                return 0;
            }
            let covered = line_coverage(config, s.pose, index);
            let (on, off) = (f64::from(sensors.on_line), f64::from(sensors.off_line));
            let value = off + (on - off) * covered + gaussian(&mut s.rng, sensors.noise_std);
            value.round().clamp(0.0, 1023.0) as u16
        })
    }
}

/// One IMU sample with noise: acceleration (m/s², x forward, y left, z up, with the +1 g the
/// accelerometer feels at rest) and angular rate (rad/s).
pub(crate) fn imu_sample(s: &mut WorldState, config: &WorldConfig) -> ([f64; 3], [f64; 3]) {
    let imu = &config.robot.imu;
    let rng = &mut s.rng;
    let mut n = |std| gaussian(rng, std);
    let accel = [
        s.accel.x + n(imu.accel_noise_std),
        s.accel.y + n(imu.accel_noise_std),
        G + n(imu.accel_noise_std),
    ];
    let bias = s.gyro_bias;
    let gyro = [
        bias[0] + n(imu.gyro_noise_std),
        bias[1] + n(imu.gyro_noise_std),
        s.yaw_rate + bias[2] + n(imu.gyro_noise_std),
    ];
    (accel, gyro)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::sim::Obstacle;

    #[test]
    fn gaussian_has_the_asked_spread() {
        let mut rng = SmallRng::seed_from_u64(3);
        let xs: Vec<f64> = (0..20_000).map(|_| gaussian(&mut rng, 2.0)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.05, "{var}");
    }

    fn front(config: &WorldConfig) -> SonarMount {
        config.robot.wiring.sonars[0].clone()
    }

    #[test]
    fn beam_sees_the_nearest_thing() {
        let mut config = WorldConfig::empty(4.0, 3.0).ideal();
        let pose = Pose::new(1.0, 1.5, 0.0);
        let sonar = front(&config);
        // Wall at x = 4: sensor at x = 1.1.
        assert!((beam_echo(&config, pose, &sonar).unwrap() - 2.9).abs() < 1e-9);
        config.obstacles.push(Obstacle::Circle {
            center: Point::new(2.0, 1.5),
            radius: 0.2,
        });
        assert!((beam_echo(&config, pose, &sonar).unwrap() - 0.7).abs() < 1e-9);
    }

    #[test]
    fn a_wide_beam_sees_a_post_off_its_axis() {
        // A post 1 m ahead and 0.2 m to the side: 11° off the axis, outside a ±7.5° beam,
        // inside the HC-SR04's ±15°.
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.obstacles.push(Obstacle::Circle {
            center: Point::new(2.1, 1.7),
            radius: 0.04,
        });
        let pose = Pose::new(1.0, 1.5, 0.0);
        let d = beam_echo(&config, pose, &front(&config)).unwrap();
        assert!((d - 0.98).abs() < 0.02, "{d}");
        let ideal = config.clone().ideal();
        let d = beam_echo(&ideal, pose, &front(&ideal)).unwrap();
        assert!((d - 2.9).abs() < 1e-9, "{d}");
    }

    #[test]
    fn a_wall_met_at_a_shallow_angle_is_not_heard() {
        // Along the bottom wall, 0.3 m from it, turned 10° towards it: the beam (±15°) meets
        // it at most 25° from grazing, far from head-on; the far wall is 2.9 m away, head-on
        // enough to echo.
        let config = WorldConfig::empty(4.0, 3.0);
        let pose = Pose::new(1.0, 0.3, -10_f64.to_radians());
        let sonar = front(&config);
        let far = beam_echo(&config, pose, &sonar).unwrap();
        assert!(far > 1.5, "{far}");
        // The ideal sonar hears the near wall.
        let ideal = config.clone().ideal();
        let near = beam_echo(&ideal, pose, &sonar).unwrap();
        assert!(near < 1.0, "{near}");
        // Turned 60°, the wall comes within 45° of head-on: heard.
        let steep = Pose::new(1.0, 0.6, -60_f64.to_radians());
        let d = beam_echo(&config, steep, &sonar).unwrap();
        assert!(d < 0.7, "{d}");
    }

    #[test]
    fn the_gyro_has_a_bias_that_drifts() {
        let mean_z = |world: &World| {
            let n = 2_000;
            let sum: f64 = (0..n)
                .map(|_| world.with_state(|s, config| imu_sample(s, config).1[2]))
                .sum();
            sum / f64::from(n)
        };
        // At rest an ideal gyro reads 0 on average; a real one its bias.
        let ideal = World::new(WorldConfig::empty(4.0, 3.0).ideal());
        assert!(mean_z(&ideal).abs() < 2e-4);
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.robot.imu.gyro_drift = 0.002;
        let world = World::new(config);
        let before = mean_z(&world);
        assert!(before.abs() > 2e-3, "bias {before}");
        assert!((before - world.with_state(|s, _| s.gyro_bias[2])).abs() < 2e-4);
        // Ten minutes standing still later, it reads something else.
        for _ in 0..120_000 {
            world.step();
        }
        let after = mean_z(&world);
        assert!((after - before).abs() > 5e-3, "{before} then {after}");
        assert_eq!(world.snapshot().pose, world.config().start);
    }

    #[test]
    fn line_sensors_straddle_the_tape() {
        let config = WorldConfig::line_track(0);
        let pose = config.start;
        // At the start the middle sensor sits on the tape, the outer ones off it.
        assert!(line_coverage(&config, pose, 2) > 0.9);
        assert_eq!(line_coverage(&config, pose, 0), 0.0);
        assert_eq!(line_coverage(&config, pose, 4), 0.0);
        assert!(any_on_line(&config, pose));
    }
}
