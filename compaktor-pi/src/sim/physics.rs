//! The physics: a tokio task that every 5 ms of tokio time reads the motor pins as an L298N,
//! turns wheel speeds into motion (differential drive, first-order motor lag), keeps the round
//! body out of walls and obstacles, drives the bumper, records the path and updates the stats.
//! [`PhysicsHandle`] stops it.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::config::WorldConfig;
use super::geometry::{Point, Pose, walls, wrap_angle};
use super::sensors::{any_on_line, gaussian, sensor_row};
use super::world::{MotorLines, PathPoint, World, WorldState};

/// Simulated time per physics step.
pub const STEP: Duration = Duration::from_millis(5);
/// The path gets a point every this many steps (50 ms).
const PATH_EVERY: u64 = 10;
/// Closer than `body_radius` plus this to a surface counts as touching it, meters.
const CONTACT_SLACK: f64 = 0.000_5;

/// The running physics task of a [`World`]. Dropping the handle stops it, like
/// [`stop`](PhysicsHandle::stop).
#[derive(Debug)]
#[must_use = "the physics stops when the handle is dropped"]
pub struct PhysicsHandle {
    task: JoinHandle<()>,
}

impl PhysicsHandle {
    /// Stops the physics; the world keeps its last state.
    pub fn stop(self) {}

    /// Whether the task still steps (false after a newer [`World::start`] took over).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for PhysicsHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl World {
    /// Spawns the physics task: one [`STEP`] of simulation every 5 ms of tokio time (catching
    /// up if it falls behind), so a paused clock runs it deterministically. Starting again
    /// hands the world to the new task; the old one stops.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(&self) -> PhysicsHandle {
        let epoch = self.with_state(|s, _| {
            s.epoch += 1;
            s.epoch
        });
        let world = self.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + STEP, STEP);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
            loop {
                ticks.tick().await;
                if world.with_state(|s, _| s.epoch) != epoch {
                    break;
                }
                world.step();
            }
        });
        PhysicsHandle { task }
    }

    /// Advances the simulation by one [`STEP`] right now, without the clock (for tests and
    /// tools that drive time themselves; do not mix with a running [`World::start`]).
    pub fn step(&self) {
        let io = &self.shared.io;
        let commands = io.motors.each_ref().map(bridge_output);
        let (travel, pressed) = self.with_state(|s, config| {
            let before = s.wheel_travel;
            let pressed = advance(s, config, commands, STEP);
            ((before, s.wheel_travel), pressed)
        });
        if let Some(encoders) = &io.encoders {
            let robot = &self.shared.config.robot;
            let end = self.elapsed();
            for (side, lines) in encoders.iter().enumerate() {
                let quadrature = lines.b.is_some();
                let per_meter = crate::drivers::counts_per_rev(robot.encoder_lines, quadrature)
                    / (std::f64::consts::PI * robot.wheel_diameter);
                let count = |travel: f64| (travel * per_meter).floor() as i64;
                let (from, to) = (count(travel.0[side]), count(travel.1[side]));
                let steps = (to - from).unsigned_abs();
                let step = if to > from { 1 } else { -1 };
                for k in 1..=steps {
                    let at = end.saturating_sub(STEP.mul_f64(1.0 - k as f64 / (steps + 1) as f64));
                    let position = from + step * k as i64;
                    match &lines.b {
                        // Gray code (A, B): 00, 10, 11, 01 going forward.
                        Some(b) => {
                            let phase = position.rem_euclid(4);
                            lines.a.set(phase == 1 || phase == 2, at);
                            b.set(phase >= 2, at);
                        }
                        None => lines.a.set(position.rem_euclid(2) == 1, at),
                    }
                }
            }
        }
        for (line, pressed) in io.bumpers.iter().zip(pressed) {
            // The microswitch closes to ground (active low, with a pull-up).
            line.set(!pressed, self.elapsed());
        }
    }
}

/// What an L298N channel drives: the duty with the sign of IN1/IN2, 0 when they are equal.
fn bridge_output(lines: &MotorLines) -> f64 {
    let duty = lines.enable.get().fraction();
    match (lines.in1.is_high(), lines.in2.is_high()) {
        (true, false) => duty,
        (false, true) => -duty,
        _ => 0.0,
    }
}

/// One step of `dt`; returns whether each bumper is pressed.
fn advance(
    s: &mut WorldState,
    config: &WorldConfig,
    commands: [f64; 2],
    dt: Duration,
) -> Vec<bool> {
    let robot = &config.robot;
    let secs = dt.as_secs_f64();
    let follow = if robot.motor_time_constant > 0.0 {
        1.0 - (-secs / robot.motor_time_constant).exp()
    } else {
        1.0
    };
    for (side, (speed, command)) in s.wheel_speeds.iter_mut().zip(commands).enumerate() {
        *speed += (robot.wheel_speed(side, command) - *speed) * follow;
    }
    // The rims turn as far as the wheels roll, and further when turning fast: they slip.
    let turn_rate = (s.wheel_speeds[1] - s.wheel_speeds[0]) / robot.wheel_base;
    for (travel, speed) in s.wheel_travel.iter_mut().zip(s.wheel_speeds) {
        *travel += speed * secs * (1.0 + robot.slip * turn_rate.abs());
    }
    // The gyro's bias wanders.
    let wander = robot.imu.gyro_drift * secs.sqrt();
    for bias in &mut s.gyro_bias {
        *bias += gaussian(&mut s.rng, wander);
    }
    // The battery drains with the motors' duty.
    s.battery_current = robot.battery.current(commands);
    s.battery_used_ah += s.battery_current * secs / 3600.0;
    let [left, right] = s.wheel_speeds;
    let v = (left + right) / 2.0;
    let omega = (right - left) / robot.wheel_base;

    let before = s.pose;
    let turn = omega * secs;
    let (dx, dy) = if turn.abs() < 1e-9 {
        let (sin, cos) = before.heading.sin_cos();
        (v * secs * cos, v * secs * sin)
    } else {
        let r = v / omega;
        let h = before.heading;
        (
            r * ((h + turn).sin() - h.sin()),
            -r * ((h + turn).cos() - h.cos()),
        )
    };
    let mut p = Point::new(before.x + dx, before.y + dy);
    let contact = keep_out(config, &mut p);
    s.pose = Pose::new(p.x, p.y, wrap_angle(before.heading + turn));

    let moved = p - before.position();
    let velocity = moved.dot(Point::from_angle(before.heading + turn / 2.0)) / secs;
    s.accel = Point::new((velocity - s.velocity) / secs, velocity * omega);
    s.velocity = velocity;
    s.yaw_rate = omega;

    let clearance = clearance(config, p);
    let turning = s.tracker.motion(p, velocity, omega, clearance, dt);
    let touching = contact.is_some();
    if let Some(at) = contact
        && !s.in_contact
    {
        s.tracker.collision();
        s.collision_points.push(at);
    }
    s.in_contact = touching;
    // Where on the rim the body touches, relative to the heading.
    let bearing = contact.map(|at| {
        let towards = at - p;
        wrap_angle(towards.y.atan2(towards.x) - s.pose.heading)
    });
    s.bumpers = (robot.wiring.bumpers.iter())
        .map(|b| bearing.is_some_and(|a| b.arc.0 <= a && a <= b.arc.1))
        .collect();

    s.on_line = any_on_line(config, s.pose);
    let row = sensor_row(config, s.pose);
    s.tracker
        .step(config, before.position(), p, dt, row, s.on_line);
    s.steps += 1;
    if s.steps.is_multiple_of(PATH_EVERY) {
        s.path.push(PathPoint {
            time: s.tracker.stats.time,
            pose: s.pose,
            turning,
        });
    }
    s.bumpers.clone()
}

/// How far the body centered at `p` is from the nearest wall or obstacle, meters.
fn clearance(config: &WorldConfig, p: Point) -> f64 {
    let walls = walls(config.width, config.height, p).map(|s| s.distance);
    let obstacles = config.obstacles.iter().map(|o| o.surface(p).distance);
    walls
        .into_iter()
        .chain(obstacles)
        .fold(f64::INFINITY, f64::min)
        - config.robot.body_radius
}

/// Pushes the body centered at `p` out of every wall and obstacle it overlaps (motion into a
/// surface stops, motion along it stays); returns the touching point, if it touches one.
fn keep_out(config: &WorldConfig, p: &mut Point) -> Option<Point> {
    let radius = config.robot.body_radius;
    let count = 4 + config.obstacles.len();
    let surface = |i: usize, p: Point| match i {
        0..4 => walls(config.width, config.height, p)[i],
        _ => config.obstacles[i - 4].surface(p),
    };
    for _ in 0..4 {
        let mut pushed = false;
        for i in 0..count {
            let s = surface(i, *p);
            if s.distance < radius {
                *p = *p + s.normal.scale(radius - s.distance);
                pushed = true;
            }
        }
        if !pushed {
            break;
        }
    }
    (0..count)
        .map(|i| surface(i, *p))
        .filter(|s| s.distance <= radius + CONTACT_SLACK)
        .min_by(|a, b| a.distance.total_cmp(&b.distance))
        .map(|s| *p - s.normal.scale(s.distance))
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use embedded_hal::digital::{InputPin, OutputPin};
    use embedded_hal::pwm::SetDutyCycle;
    use tokio::time::sleep;

    use super::*;
    use crate::hal::{EdgeInput, EdgeKind};
    use crate::sim::{MotorPins, Side};

    /// Drives one wheel like the L298N driver: sign picks IN1/IN2, magnitude the duty.
    fn drive(motor: &mut MotorPins, speed: f64) {
        let forward = speed >= 0.0;
        motor.in1.set_state(forward.into()).unwrap();
        motor.in2.set_state((!forward).into()).unwrap();
        let duty = (speed.abs().min(1.0) * f64::from(motor.enable.max_duty_cycle())) as u16;
        motor.enable.set_duty_cycle(duty).unwrap();
    }

    fn no_lag(config: WorldConfig) -> WorldConfig {
        let mut config = config.ideal();
        config.robot.motor_time_constant = 0.0;
        config
    }

    #[tokio::test(start_paused = true)]
    async fn straight_at_half_duty_for_two_seconds() {
        let world = World::new(WorldConfig::empty(4.0, 3.0).ideal());
        let start = world.config().start;
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), 0.5);
        drive(&mut world.motor_pins(Side::Right), 0.5);
        sleep(Duration::from_secs(2)).await;
        let s = world.snapshot();
        // 0.5 × 0.5 m/s × 2 s = 0.5 m, less the 50 ms motor lag (12.5 mm).
        let travelled = s.pose.x - start.x;
        assert!((travelled - 0.5).abs() < 0.025, "{travelled}");
        assert!((s.pose.y - start.y).abs() < 1e-9 && s.pose.heading.abs() < 1e-9);
        assert!((s.stats.distance - travelled).abs() < 0.005);
        assert!((s.velocity - 0.25).abs() < 1e-3 && s.wheel_speeds[0] > 0.249);
        assert_eq!(s.stats.collisions, 0);
        // From cell (8, 6) into (9, 6).
        assert_eq!(s.stats.cells_visited, 2);
        let path = world.path();
        assert!((39..=41).contains(&path.len()), "{}", path.len());
    }

    #[tokio::test(start_paused = true)]
    async fn motor_lag_is_first_order() {
        let world = World::new(WorldConfig::empty(4.0, 3.0).ideal());
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), 1.0);
        drive(&mut world.motor_pins(Side::Right), 1.0);
        // One time constant: 63 % of 0.5 m/s.
        sleep(Duration::from_millis(50)).await;
        let v = world.snapshot().velocity;
        assert!((v - 0.5 * (1.0 - (-1.0f64).exp())).abs() < 0.02, "{v}");
        // Accelerating shows as forward acceleration.
        assert!(world.with_state(|s, _| s.accel.x) > 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn turning_in_place_changes_heading_by_omega_t() {
        let world = World::new(no_lag(WorldConfig::empty(4.0, 3.0)));
        let start = world.config().start;
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), -0.5);
        drive(&mut world.motor_pins(Side::Right), 0.5);
        sleep(Duration::from_millis(600)).await;
        let s = world.snapshot();
        // All of it turning in place (but the first step), 1.4 m from the nearest wall.
        assert!(s.stats.turning_in_place >= s.time - STEP, "{:?}", s.stats);
        assert!(
            (s.stats.closest_approach - 1.4).abs() < 1e-9,
            "{:?}",
            s.stats
        );
        // ω = (0.25 - -0.25) / 0.15 = 3.33 rad/s.
        let expected = 0.5 / 0.15 * s.time.as_secs_f64();
        assert!(
            (s.pose.heading - expected).abs() < 1e-9,
            "{}",
            s.pose.heading
        );
        assert!((s.time.as_secs_f64() - 0.6).abs() <= 0.005 + 1e-9);
        assert!((s.yaw_rate - 0.5 / 0.15).abs() < 1e-9);
        assert!(s.pose.position().distance(start.position()) < 1e-9);
        // Braking (both inputs high) stops it.
        let mut left = world.motor_pins(Side::Left);
        left.in1.set_high().unwrap();
        left.in2.set_high().unwrap();
        let mut right = world.motor_pins(Side::Right);
        right.in2.set_high().unwrap();
        sleep(Duration::from_millis(100)).await;
        let before = world.snapshot().pose.heading;
        sleep(Duration::from_millis(100)).await;
        assert_eq!(world.snapshot().pose.heading, before);
        assert!(before.abs() <= PI);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_a_wall_counts_a_collision_and_bumps() {
        let mut config = WorldConfig::empty(2.0, 1.0).ideal();
        config.start = Pose::new(0.5, 0.5, 0.0);
        let world = World::new(config);
        let mut bumper = world.bumper();
        let _physics = world.start();
        let mut left = world.motor_pins(Side::Left);
        let mut right = world.motor_pins(Side::Right);
        drive(&mut left, 1.0);
        drive(&mut right, 1.0);

        // 1.4 m to go at 0.5 m/s: contact after about 2.85 s.
        let hit = bumper.wait_for_edge().await.unwrap();
        assert_eq!(hit.kind, EdgeKind::Falling);
        assert!((2.8..2.95).contains(&hit.at.as_secs_f64()), "{hit:?}");
        assert!(bumper.is_low().unwrap());
        sleep(Duration::from_secs(2)).await;
        let s = world.snapshot();
        assert!(s.stats.closest_approach < 1e-9, "{:?}", s.stats);
        assert_eq!(s.stats.turning_in_place, Duration::ZERO);
        assert!((s.pose.x - 1.9).abs() < 1e-9, "{}", s.pose.x);
        assert!(s.bumper && s.velocity.abs() < 1e-9);
        assert_eq!(s.stats.collisions, 1);
        let contact = world.collision_points()[0];
        assert!((contact.x - 2.0).abs() < 1e-9 && (contact.y - 0.5).abs() < 1e-9);

        drive(&mut left, -0.5);
        drive(&mut right, -0.5);
        let free = bumper.wait_for_edge().await.unwrap();
        assert_eq!(free.kind, EdgeKind::Rising);
        assert!(free.at > hit.at + Duration::from_secs(2));
        sleep(Duration::from_millis(500)).await;
        assert!(!world.snapshot().bumper);
        assert_eq!(world.snapshot().stats.collisions, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn slides_along_a_wall_and_stays_inside_corners() {
        let mut config = WorldConfig::empty(1.0, 1.0).ideal();
        config.start = Pose::new(0.5, 0.5, PI / 4.0);
        let world = World::new(config);
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), 1.0);
        drive(&mut world.motor_pins(Side::Right), 1.0);
        sleep(Duration::from_secs(3)).await;
        let p = world.snapshot().pose;
        assert!(
            (p.x - 0.9).abs() < 1e-6 && (p.y - 0.9).abs() < 1e-6,
            "{p:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_freezes_the_world_and_a_new_start_takes_over() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let first = world.start();
        drive(&mut world.motor_pins(Side::Left), 0.5);
        drive(&mut world.motor_pins(Side::Right), 0.5);
        sleep(Duration::from_millis(500)).await;
        let second = world.start();
        sleep(Duration::from_millis(20)).await;
        assert!(!first.is_running() && second.is_running());
        second.stop();
        let frozen = world.snapshot();
        sleep(Duration::from_millis(500)).await;
        assert_eq!(world.snapshot(), frozen);
        // 0.5 s + 20 ms of steps (give or take the step on a shared tick), not twice as many.
        let t = frozen.time.as_secs_f64();
        assert!((0.505..=0.525).contains(&t), "{t}");
    }

    #[tokio::test(start_paused = true)]
    async fn below_the_deadband_the_wheels_do_not_turn() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), 0.1);
        drive(&mut world.motor_pins(Side::Right), 0.1);
        sleep(Duration::from_secs(1)).await;
        let s = world.snapshot();
        assert_eq!(s.wheel_speeds, [0.0, 0.0]);
        assert_eq!(s.stats.distance, 0.0);
        // Above it, the speed grows from 0: (0.56 - 0.12) / 0.88 = half speed, give or take
        // the mismatch.
        drive(&mut world.motor_pins(Side::Left), 0.56);
        drive(&mut world.motor_pins(Side::Right), 0.56);
        sleep(Duration::from_secs(1)).await;
        let [left, right] = world.snapshot().wheel_speeds;
        assert!((left - 0.25 * 0.975).abs() < 1e-3, "{left}");
        assert!((right - 0.25 * 1.025).abs() < 1e-3, "{right}");
    }

    #[tokio::test(start_paused = true)]
    async fn mismatched_motors_drift_off_a_straight_line() {
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.start = Pose::new(0.5, 1.5, 0.0);
        let world = World::new(config);
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), 0.6);
        drive(&mut world.motor_pins(Side::Right), 0.6);
        sleep(Duration::from_secs(6)).await;
        let p = world.snapshot().pose;
        // The right wheel runs 5 % faster: 1.6 m driven, curving left by some 23°.
        assert!(p.heading > 18_f64.to_radians(), "{p:?}");
        assert!(p.y > 1.5 + 0.2, "{p:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn each_bumper_feels_only_its_own_arc() {
        use crate::config::{EXPLORER_ROBOT, RobotConfig};

        let explorer = RobotConfig::from_toml(EXPLORER_ROBOT).unwrap();
        let mut config = WorldConfig::empty(2.0, 2.0).ideal().wired_like(&explorer);
        // Facing the right wall, turned 30° left of it: the wall is met on the right side.
        config.start = Pose::new(1.5, 1.0, 30_f64.to_radians());
        let world = World::new(config);
        let mut left = world.bumper_named("left").unwrap();
        let mut right = world.bumper_named("right").unwrap();
        let _physics = world.start();
        drive(&mut world.motor_pins(Side::Left), 0.5);
        drive(&mut world.motor_pins(Side::Right), 0.5);
        let hit = right.wait_for_edge().await.unwrap();
        assert_eq!(hit.kind, EdgeKind::Falling);
        assert!(left.is_high().unwrap() && right.is_low().unwrap());
        let pressed = world.snapshot().bumpers;
        assert_eq!(pressed, [("left".into(), false), ("right".into(), true)]);
        // The robot file's pin reaches the same switch.
        assert!(world.gpio_input(26).unwrap().is_low().unwrap());
        assert!(world.gpio_input(22).unwrap().is_high().unwrap());
    }

    /// A proportional line follower on the MCP3008 readings, as the firmware would do it.
    #[tokio::test(start_paused = true)]
    async fn a_line_follower_completes_a_lap() {
        use embedded_hal::spi::SpiDevice;

        let world = World::new(WorldConfig::line_track(11));
        let _physics = world.start();
        let mut adc = world.adc();
        let mut left = world.motor_pins(Side::Left);
        let mut right = world.motor_pins(Side::Right);
        let mut last_error = 0.0;
        while world.snapshot().time < Duration::from_secs(60) {
            let mut weighted = 0.0;
            let mut total = 0.0;
            for ch in 0..5u8 {
                let mut frame = [0x01, (0x08 | ch) << 4, 0x00];
                adc.transfer_in_place(&mut frame).unwrap();
                let value = f64::from(u16::from(frame[1] & 3) << 8 | u16::from(frame[2]));
                let weight = (value - 100.0).max(0.0);
                // Sensor 0 is leftmost: positive error means the line is to the left.
                weighted += weight * (2.0 - f64::from(ch));
                total += weight;
            }
            let error = if total > 200.0 {
                weighted / total
            } else {
                last_error
            };
            last_error = error;
            drive(&mut left, 0.4 - 0.15 * error);
            drive(&mut right, 0.4 + 0.15 * error);
            sleep(Duration::from_millis(10)).await;
        }
        if let Ok(path) = std::env::var("SIM_SVG_DUMP") {
            world.save_svg(path).unwrap();
        }
        let s = world.snapshot().stats;
        assert!(s.laps >= 1, "{s:?}");
        assert!(s.off_line_time < Duration::from_secs(2), "{s:?}");
        assert_eq!(s.collisions, 0);
    }
}
