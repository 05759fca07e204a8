//! Odometry on the realistic simulated robot: wheel encoders counted from their edges, fused
//! with the gyro, against the world's true pose. The motors are mismatched, the wheels slip on
//! fast turns, the gyro has a drifting bias.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Odometry, OdometryConfig, PoseEstimate};
use compaktor_pi::config::{ROVER_ROBOT, RobotConfig};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::sim::{MotorPins, Pose, Side, World, WorldConfig};
use embedded_hal::digital::OutputPin;
use embedded_hal::pwm::SetDutyCycle;

fn rover() -> RobotConfig {
    RobotConfig::from_toml(ROVER_ROBOT).unwrap()
}

/// A signed duty on one L298N channel.
fn drive(motor: &mut MotorPins, speed: f64) {
    let forward = speed >= 0.0;
    motor.in1.set_state(forward.into()).unwrap();
    motor.in2.set_state((!forward).into()).unwrap();
    let duty = (speed.abs().min(1.0) * f64::from(motor.enable.max_duty_cycle())) as u16;
    motor.enable.set_duty_cycle(duty).unwrap();
}

struct Rig {
    world: World,
    odometry: ActorRef<Odometry>,
    poses: Topic<PoseEstimate>,
    _system: ActorSystem,
    _physics: compaktor_pi::sim::PhysicsHandle,
}

/// The rover in a big empty arena, odometry (with the gyro when `gyro`) started at the
/// world's start pose.
async fn rig(gyro: bool) -> Rig {
    let robot = rover();
    let mut arena = WorldConfig::empty(10.0, 10.0).wired_like(&robot);
    arena.start = Pose::new(5.0, 5.0, 0.0);
    arena.seed = 4;
    let world = World::new(arena);
    let physics = world.start();
    let mut hardware = Hardware::open(&robot, Some(&world)).unwrap();
    let imu = gyro.then(|| {
        let mut imu = compaktor_pi::drivers::Mpu6050::new(world.imu());
        imu.init().unwrap();
        Box::new(imu) as Box<dyn compaktor_pi::device::Imu>
    });
    let system = ActorSystem::new("odometry");
    let poses = system.topic::<PoseEstimate>("odometry").unwrap();
    let config = OdometryConfig::from_robot(robot.encoders.as_ref().unwrap());
    let odometry = system
        .start(Odometry::new(
            hardware.encoders().unwrap(),
            imu,
            config,
            poses.clone(),
        ))
        .await
        .unwrap();
    let start = world.config().start;
    odometry
        .reset(start.x, start.y, start.heading)
        .await
        .unwrap();
    Rig {
        world,
        odometry,
        poses,
        _system: system,
        _physics: physics,
    }
}

impl Rig {
    async fn run(&self, left: f64, right: f64, secs: f64) {
        drive(&mut self.world.motor_pins(Side::Left), left);
        drive(&mut self.world.motor_pins(Side::Right), right);
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }

    /// Position error in meters and heading error in degrees, estimate against truth.
    async fn error(&self) -> (f64, f64) {
        let estimate = self.odometry.pose().await.unwrap();
        let truth = self.world.snapshot().pose;
        let position = (estimate.x - truth.x).hypot(estimate.y - truth.y);
        let heading = (estimate.heading - truth.heading + std::f64::consts::PI)
            .rem_euclid(std::f64::consts::TAU)
            - std::f64::consts::PI;
        (position, heading.to_degrees().abs())
    }
}

#[tokio::test(start_paused = true)]
async fn the_estimate_follows_a_drifting_robot_on_gentle_curves() {
    let rig = rig(false).await;
    // Straight (it curves: the motors do not match), a gentle left, a gentle right, back up.
    rig.run(0.6, 0.6, 3.0).await;
    rig.run(0.5, 0.62, 3.0).await;
    rig.run(0.62, 0.5, 3.0).await;
    rig.run(-0.5, -0.5, 2.0).await;
    rig.run(0.0, 0.0, 0.5).await;
    let truth = rig.world.snapshot();
    assert!(
        truth.stats.distance > 2.5 && truth.stats.max_distance_from_start > 1.0,
        "the robot should have gone somewhere: {truth:?}"
    );
    let (position, heading) = rig.error().await;
    println!(
        "after {:.2} m: {position:.3} m and {heading:.2}° off",
        truth.stats.distance
    );
    assert!(position < 0.05, "{position:.3} m off");
    assert!(heading < 3.0, "{heading:.1}° off");
    let estimate = rig.odometry.pose().await.unwrap();
    assert!(
        (estimate.distance - truth.stats.distance).abs() < 0.05 * truth.stats.distance,
        "{estimate:?} against {:.2} m",
        truth.stats.distance
    );
    assert_eq!(rig.odometry.errors().await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_gyro_catches_what_the_wheels_miss_on_fast_turns() {
    let mut errors = Vec::new();
    for gyro in [false, true] {
        let rig = rig(gyro).await;
        // Stand still first (the gyro's bias is learnt), then spin fast both ways (3.6 rad/s,
        // within the MPU-6050's ±250 °/s), and drive.
        rig.run(0.0, 0.0, 1.0).await;
        for _ in 0..3 {
            rig.run(-0.6, 0.6, 1.5).await;
            rig.run(0.6, 0.6, 1.0).await;
            rig.run(0.6, -0.6, 1.0).await;
        }
        rig.run(0.0, 0.0, 0.5).await;
        let slips = rig.odometry.slips().await.unwrap();
        errors.push((rig.error().await, slips));
    }
    println!("wheels alone, then with the gyro (error, slips): {errors:?}");
    let [((_, wheels_only), _), ((position, fused), slips)] = errors[..] else {
        unreachable!()
    };
    // The wheels slip on a fast spin: the wheels alone get the heading badly wrong.
    assert!(wheels_only > 30.0, "wheels alone: {wheels_only:.1}° off");
    assert!(
        fused < 5.0,
        "with the gyro: {fused:.1}° off ({position:.2} m)"
    );
    assert!(slips > 0);
}

#[tokio::test(start_paused = true)]
async fn the_pose_is_published_at_the_set_rate() {
    struct Listener {
        seen: Vec<PoseEstimate>,
    }
    #[actor]
    impl Listener {
        #[handler]
        fn listen(&mut self, topic: Topic<PoseEstimate>, ctx: &mut Context<Self>) {
            ctx.subscribe(&topic, |me, pose| me.heard(pose));
        }
        #[handler]
        fn heard(&mut self, pose: PoseEstimate) {
            self.seen.push(pose);
        }
        #[handler]
        fn seen(&self) -> Vec<PoseEstimate> {
            self.seen.clone()
        }
    }
    let rig = rig(false).await;
    let system = ActorSystem::new("listener");
    let listener = system.spawn(Listener { seen: Vec::new() });
    listener.listen(rig.poses.clone()).ask().await.unwrap();
    rig.run(0.6, 0.6, 1.0).await;
    let seen = listener.seen().await.unwrap();
    // 50 ms apart: 20 in a second, give or take the first.
    assert!((19..=21).contains(&seen.len()), "{}", seen.len());
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            (Duration::from_millis(49)..=Duration::from_millis(51)).contains(&gap),
            "{gap:?}"
        );
    }
    assert!(seen.last().unwrap().x > seen[0].x + 0.1);
}
