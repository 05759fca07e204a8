//! The sensor models that only look at the world: what the line sensors see, how far the
//! ultrasonic beam reaches, what the IMU feels, and the gaussian noise on top. The pins and
//! buses that carry the readings are elsewhere (`pins`, `ultrasonic`, `mpu6050`, `mcp3008`).

use rand::Rng;
use rand::rngs::SmallRng;

use super::config::WorldConfig;
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

/// The nearest surface the ultrasonic beam meets, meters, without noise or range limits.
pub(crate) fn beam_distance(config: &WorldConfig, pose: Pose) -> f64 {
    let us = &config.robot.ultrasonic;
    let origin = pose.to_world(us.offset);
    let (w, h) = (config.width, config.height);
    [-us.cone_half_angle, 0.0, us.cone_half_angle]
        .into_iter()
        .map(|spread| {
            let dir = Point::from_angle(pose.heading + us.angle + spread);
            let inside = origin.x >= 0.0 && origin.x <= w && origin.y >= 0.0 && origin.y <= h;
            let wall = if inside {
                wall_hit(w, h, origin, dir)
            } else {
                0.0
            };
            config
                .obstacles
                .iter()
                .filter_map(|o| o.ray_hit(origin, dir))
                .fold(wall, f64::min)
        })
        .fold(f64::INFINITY, f64::min)
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
    let gyro = [
        n(imu.gyro_noise_std),
        n(imu.gyro_noise_std),
        s.yaw_rate + n(imu.gyro_noise_std),
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

    #[test]
    fn beam_sees_the_nearest_thing() {
        let mut config = WorldConfig::empty(4.0, 3.0);
        let pose = Pose::new(1.0, 1.5, 0.0);
        // Wall at x = 4: sensor at x = 1.1.
        assert!((beam_distance(&config, pose) - 2.9).abs() < 1e-9);
        config.obstacles.push(Obstacle::Circle {
            center: Point::new(2.0, 1.5),
            radius: 0.2,
        });
        assert!((beam_distance(&config, pose) - 0.7).abs() < 1e-9);
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
