//! The HC-SR04 behind [`World::ultrasonic`]: when the trigger pin falls after a long enough
//! pulse, cast the beam, add noise, and play the echo pulse on the echo pin on tokio's clock —
//! rising 0.5 ms later, falling after the sound's round trip, each edge stamped with its exact
//! instant so measured widths do not depend on timer granularity.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use rand::Rng;

use super::sensors::{beam_echo, gaussian};
use super::world::World;

/// Speed of sound in air at 20 °C, m/s.
pub const SPEED_OF_SOUND: f64 = 343.0;
/// From the trigger's fall to the echo's rise (the module's 8-cycle burst and more).
const ECHO_DELAY: Duration = Duration::from_micros(500);
/// The echo pulse of a module that heard nothing.
const NO_ECHO: Duration = Duration::from_millis(38);

impl World {
    /// Sonar `index`'s trigger fell: measure and schedule the echo pulse (ignored while its
    /// echo is on). Now and then the answer is an outlier, anywhere in range.
    pub(crate) fn ping(&self, index: usize) {
        let now = Instant::now();
        let width = self.with_state(|s, config| {
            if s.echo_busy_until[index].is_some_and(|busy| now < busy) {
                return None;
            }
            let us = &config.robot.ultrasonic;
            let sonar = &config.robot.wiring.sonars[index];
            let outlier =
                us.outlier_probability > 0.0 && s.rng.random_bool(us.outlier_probability.min(1.0));
            let heard = if outlier {
                Some(
                    s.rng
                        .random_range(us.min_range..=us.max_range.max(us.min_range)),
                )
            } else {
                beam_echo(config, s.pose, sonar)
                    .map(|d| d + gaussian(&mut s.rng, us.noise_std))
                    .filter(|&d| d <= us.max_range)
            };
            let width = match heard {
                Some(d) => Duration::from_secs_f64(
                    2.0 * d.clamp(us.min_range, us.max_range) / SPEED_OF_SOUND,
                ),
                None => NO_ECHO,
            };
            s.echo_busy_until[index] = Some(now + ECHO_DELAY + width);
            Some(width)
        });
        let Some(width) = width else {
            return;
        };
        let echo = self.shared.io.sonars[index].1.clone();
        let rise = now.saturating_duration_since(self.shared.start) + ECHO_DELAY;
        let fall = rise + width;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    sleep_until(now + ECHO_DELAY).await;
                    echo.set(true, rise);
                    sleep_until(now + ECHO_DELAY + width).await;
                    echo.set(false, fall);
                });
            }
            // No clock to wait on: deliver the pulse at once, stamped as it would have been.
            Err(_) => {
                echo.set(true, rise);
                echo.set(false, fall);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal::digital::{InputPin, OutputPin};

    use super::*;
    use crate::hal::{EdgeInput, EdgeKind};
    use crate::sim::{Obstacle, Point, Pose, WorldConfig};

    /// What an HC-SR04 driver does: a 10 µs trigger pulse, then the echo's width.
    async fn measure(trigger: &mut impl OutputPin, echo: &mut impl EdgeInput) -> Duration {
        echo.clear_edges();
        trigger.set_high().unwrap();
        tokio::time::sleep(Duration::from_micros(10)).await;
        trigger.set_low().unwrap();
        let rise = echo.wait_for_edge().await.unwrap();
        let fall = echo.wait_for_edge().await.unwrap();
        assert_eq!(
            (rise.kind, fall.kind),
            (EdgeKind::Rising, EdgeKind::Falling)
        );
        fall.at - rise.at
    }

    fn facing_a_box_at(distance: f64) -> WorldConfig {
        let mut config = WorldConfig::empty(4.0, 3.0).ideal();
        config.start = Pose::new(1.0, 1.5, 0.0);
        // The sensor sits 0.10 m ahead of the center.
        let face = 1.1 + distance;
        config.obstacles.push(Obstacle::Rect {
            min: Point::new(face, 1.0),
            max: Point::new(face + 0.1, 2.0),
        });
        config
    }

    #[tokio::test(start_paused = true)]
    async fn echo_width_gives_the_distance_to_a_box() {
        let world = World::new(facing_a_box_at(0.8));
        let (mut trigger, mut echo) = world.ultrasonic();
        for _ in 0..5 {
            let width = measure(&mut trigger, &mut echo).await;
            let d = width.as_secs_f64() * SPEED_OF_SOUND / 2.0;
            assert!((d - 0.8).abs() < 0.02, "{d}");
            assert!(!echo.is_high().unwrap());
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn echo_rises_half_a_millisecond_after_the_trigger() {
        let world = World::new(facing_a_box_at(1.5));
        let (mut trigger, mut echo) = world.ultrasonic();
        trigger.set_high().unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        let fired = world.elapsed();
        trigger.set_low().unwrap();
        let rise = echo.wait_for_edge().await.unwrap();
        assert_eq!(rise.at - fired, ECHO_DELAY);
        assert!(echo.is_high().unwrap());
        // A trigger during the echo is ignored.
        trigger.set_high().unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        trigger.set_low().unwrap();
        let fall = echo.wait_for_edge().await.unwrap();
        assert_eq!(fall.kind, EdgeKind::Falling);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(100), echo.wait_for_edge())
                .await
                .is_err()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_in_range_gives_a_38_ms_pulse() {
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.start = Pose::new(0.5, 1.5, 0.0);
        config.robot.ultrasonic.max_range = 2.0;
        let world = World::new(config);
        let (mut trigger, mut echo) = world.ultrasonic();
        assert_eq!(measure(&mut trigger, &mut echo).await, NO_ECHO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_realistic_sonar_answers_outliers_now_and_then() {
        let mut config = facing_a_box_at(0.8);
        config.robot.ultrasonic.outlier_probability = 0.1;
        let world = World::new(config);
        let (mut trigger, mut echo) = world.ultrasonic();
        let mut outliers = 0;
        for _ in 0..200 {
            let d = measure(&mut trigger, &mut echo).await.as_secs_f64() * SPEED_OF_SOUND / 2.0;
            outliers += usize::from((d - 0.8).abs() > 0.02);
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        assert!((8..=40).contains(&outliers), "{outliers} outliers in 200");
    }

    #[tokio::test(start_paused = true)]
    async fn each_sonar_looks_from_its_own_mount() {
        use crate::config::{EXPLORER_ROBOT, RobotConfig};

        let explorer = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
        // A box 0.5 m ahead-left at 45°; the right sonar looks at open floor.
        let mut config = WorldConfig::empty(4.0, 3.0).ideal().wired_like(&explorer);
        config.start = Pose::new(1.0, 1.0, 0.0);
        let at =
            config.start.to_world(Point::new(0.07, 0.07)) + Point::from_angle(0.785).scale(0.6);
        config.obstacles.push(Obstacle::Circle {
            center: at,
            radius: 0.1,
        });
        let world = World::new(config);
        let distance = |w: Duration| w.as_secs_f64() * SPEED_OF_SOUND / 2.0;
        let (mut trigger, mut echo) = world.sonar("left").unwrap();
        let left = distance(measure(&mut trigger, &mut echo).await);
        assert!((left - 0.5).abs() < 0.02, "{left}");
        let (mut trigger, mut echo) = world.sonar("right").unwrap();
        let right = distance(measure(&mut trigger, &mut echo).await);
        assert!(right > 1.0, "{right}");
        // The robot file's pins reach the same sonar.
        let mut trigger = world.gpio_output(25).unwrap();
        let mut echo = world.gpio_input(8).unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        let again = distance(measure(&mut trigger, &mut echo).await);
        assert!((again - 0.5).abs() < 0.02, "{again}");
        assert!(world.sonar("back").is_none());
    }
}
