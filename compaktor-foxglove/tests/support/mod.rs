//! A simulated rover for the tests: two motors (with their dead-man watchdogs), the front
//! sonar and odometry on the wheel encoders, in the seeded arena, driven by a fixed pattern
//! (forward, then spin) from a task; everything bridged to Foxglove.
#![allow(
    unreachable_pub,
    dead_code,
    reason = "a module of each test binary, shared by path; each uses a part of it"
)]

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_foxglove::Bridge;
use compaktor_pi::actors::{
    Distance, Motor, MotorConfig, MotorEvent, Odometry, OdometryConfig, PoseEstimate, Ultrasonic,
};
use compaktor_pi::config::{ROVER_ROBOT, RobotConfig};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{PhysicsHandle, World, WorldConfig};

pub struct Rover {
    pub system: ActorSystem,
    pub world: World,
    pub estop: EStop,
    /// The actors stop when their last `ActorRef` is dropped.
    _actors: (ActorRef<Ultrasonic>, ActorRef<Odometry>),
    /// The drive motors (left, right), with the rover's 300 ms watchdog.
    pub motors: [ActorRef<Motor>; 2],
    pub motor_topics: [Topic<MotorEvent>; 2],
    pub sonar: Topic<Distance>,
    pub poses: Topic<PoseEstimate>,
    _physics: PhysicsHandle,
    driver: Option<tokio::task::JoinHandle<()>>,
}

impl Rover {
    /// A rover driven by a fixed pattern.
    pub async fn start(seed: u64) -> Rover {
        Rover::start_with(seed, true).await
    }

    /// A rover nobody drives (yet), when `pattern` is false.
    pub async fn start_with(seed: u64, pattern: bool) -> Rover {
        let config = RobotConfig::from_toml(ROVER_ROBOT).unwrap();
        let world = World::new(WorldConfig::arena(seed).wired_like(&config));
        let physics = world.start();
        let mut hw = Hardware::open(&config, Some(&world)).unwrap();
        let system = ActorSystem::new("rover");
        let estop = EStop::new();
        let (left, right) = hw.drive().unwrap();
        let motor_config = |name: &str| MotorConfig {
            watchdog: Some(Duration::from_millis(config.drive.watchdog_ms)),
            ramp_per_second: config.drive.ramp_per_second,
            ..MotorConfig::new(name)
        };
        let left = system
            .builder(Motor::new(left, estop.clone(), motor_config("left_motor")))
            .name("left_motor")
            .start()
            .await
            .unwrap();
        let right = system
            .builder(Motor::new(
                right,
                estop.clone(),
                motor_config("right_motor"),
            ))
            .name("right_motor")
            .start()
            .await
            .unwrap();
        let sonar_actor = system
            .builder(Ultrasonic::new(
                hw.sonar("front").unwrap(),
                Duration::from_millis(60),
            ))
            .name("sonar")
            .start()
            .await
            .unwrap();
        let poses = system.topic::<PoseEstimate>("/odometry").unwrap();
        let odometry_config = OdometryConfig::from_robot(config.encoders.as_ref().unwrap());
        let odometry = system
            .builder(Odometry::new(
                hw.encoders().unwrap(),
                None,
                odometry_config,
                poses.clone(),
            ))
            .name("odometry")
            .start()
            .await
            .unwrap();
        let motor_topics = [left.topic().await.unwrap(), right.topic().await.unwrap()];
        let sonar = sonar_actor.topic().await.unwrap();
        let driver = pattern.then(|| tokio::spawn(drive([left.clone(), right.clone()])));
        Rover {
            system,
            world,
            estop,
            _actors: (sonar_actor, odometry),
            motors: [left, right],
            motor_topics,
            sonar,
            poses,
            _physics: physics,
            driver,
        }
    }

    /// Bridges everything the rover has.
    pub fn bridge(&self, bridge: &mut Bridge) {
        let every = Duration::from_millis(50);
        bridge
            .motor(&self.motor_topics[0])
            .unwrap()
            .motor(&self.motor_topics[1])
            .unwrap()
            .sonar(&self.sonar)
            .unwrap()
            .pose(&self.poses)
            .unwrap()
            .estop(&self.estop, Duration::from_millis(100))
            .unwrap()
            .health(&self.system, Duration::from_millis(500))
            .unwrap()
            .dead_letters(&self.system)
            .unwrap()
            .simulation(&self.world, every)
            .unwrap();
    }

    /// Stops driving and every actor (the E-stop first).
    pub async fn stop(self) {
        if let Some(driver) = &self.driver {
            driver.abort();
        }
        compaktor_pi::firmware::stop_robot(
            &self.system,
            &self.estop,
            "test over",
            Duration::from_secs(1),
        )
        .await;
    }
}

/// Forward for two seconds, then a spin for one, over and over, every 50 ms (the motors'
/// watchdogs want a command within 300 ms).
async fn drive(motors: [ActorRef<Motor>; 2]) {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    for n in 0u64.. {
        tick.tick().await;
        let (l, r) = if n % 60 < 40 { (0.5, 0.5) } else { (0.4, -0.4) };
        let _ = motors[0].set_speed(l).await;
        let _ = motors[1].set_speed(r).await;
    }
}
