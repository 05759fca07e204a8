//! A robot stops with the runtime's `ActorSystem::shutdown`: its safety step
//! (`ActorSystem::on_shutdown`, the E-stop) runs before any actor is told to stop, even when an
//! actor hangs; the actors stop in reverse start order, each only after the one started after
//! it has stopped (actuators before the sensors and buses they use); what does not stop within
//! the deadline is killed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig, Ultrasonic};
use compaktor_pi::drivers::{HcSr04, L298n, TokioDelay};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use tokio::time::Instant;

type Log = Arc<Mutex<Vec<(&'static str, Option<bool>)>>>;

/// A part of the robot that logs its stop, and whether the part it uses was still running then.
struct Part {
    name: &'static str,
    uses: Option<ActorRef<Part>>,
    log: Log,
}

#[actor]
impl Part {
    /// Never returns: the actor is busy until killed.
    #[handler]
    async fn hang(&mut self) {
        std::future::pending::<()>().await;
    }

    #[on_stop]
    fn stopped(&mut self) {
        let uses_alive = self.uses.as_ref().map(|u| u.is_alive());
        self.log.lock().unwrap().push((self.name, uses_alive));
    }
}

async fn start_parts(system: &ActorSystem, log: &Log) -> [ActorRef<Part>; 3] {
    let mut last: Option<ActorRef<Part>> = None;
    let mut parts = Vec::new();
    for name in ["i2c bus", "imu", "motor"] {
        let part = system
            .builder(Part {
                name,
                uses: last.clone(),
                log: log.clone(),
            })
            .name(name)
            .start()
            .await
            .unwrap();
        last = Some(part.clone());
        parts.push(part);
    }
    parts.try_into().unwrap()
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_in_reverse_start_order() {
    let system = ActorSystem::new("robot");
    let log = Log::default();
    let parts = start_parts(&system, &log).await;

    let report = system.shutdown(Duration::from_secs(1)).await;

    let labels: Vec<String> = parts.iter().rev().map(|p| p.label().to_string()).collect();
    let reported: Vec<String> = report
        .ended
        .iter()
        .map(|(label, _)| label.to_string())
        .collect();
    assert_eq!(reported, labels);
    assert!(
        report.ended.iter().all(|(_, r)| *r == StopReason::Stopped),
        "{report:?}"
    );
    // Each stopped while the part it uses was still running.
    assert_eq!(
        *log.lock().unwrap(),
        [
            ("motor", Some(true)),
            ("imu", Some(true)),
            ("i2c bus", None)
        ]
    );
    assert!(parts.iter().all(|p| !p.is_alive()));
}

#[tokio::test(start_paused = true)]
async fn an_actor_that_does_not_stop_in_time_is_killed() {
    let system = ActorSystem::new("robot");
    let log = Log::default();
    let [_bus, imu, _motor] = start_parts(&system, &log).await;
    imu.hang().await.unwrap(); // busy for good: the poison pill waits behind it
    let safety = log.clone();
    system.on_shutdown("E-stop", move || {
        safety.lock().unwrap().push(("E-stop", None))
    });

    let began = Instant::now();
    let report = system.shutdown(Duration::from_millis(100)).await;
    assert_eq!(began.elapsed(), Duration::from_millis(100));
    assert!(report.deadline_passed);
    // The motor stopped in time; at the deadline the hung IMU and the bus behind it were
    // killed.
    let reasons: Vec<&StopReason> = report.ended.iter().map(|(_, r)| r).collect();
    assert_eq!(
        reasons,
        [
            &StopReason::Stopped,
            &StopReason::Killed,
            &StopReason::Killed
        ]
    );
    assert_eq!((report.stopped, report.killed), (1, 2));
    // The safety step ran first, before any actor stopped, although one hangs.
    let names: Vec<&str> = log.lock().unwrap().iter().map(|(n, _)| *n).collect();
    assert_eq!(names[..2], ["E-stop", "motor"]);
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutting_down_a_robot_leaves_its_motors_at_duty_zero() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("robot");
    let estop = EStop::new();
    let pulled = estop.clone();
    system.on_shutdown("E-stop", move || {
        pulled.trigger("shutdown");
    });

    let (trigger, echo) = world.ultrasonic();
    let sonar = system
        .start(Ultrasonic::new(
            Box::new(HcSr04::new(trigger, echo, TokioDelay)),
            Duration::from_millis(60),
        ))
        .await
        .unwrap();
    let mut motors = Vec::new();
    for (side, name) in [(Side::Left, "left"), (Side::Right, "right")] {
        let pins = world.motor_pins(side);
        let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
        let motor = system
            .builder(Motor::new(
                Box::new(bridge),
                estop.clone(),
                MotorConfig::new(name),
            ))
            .name(name)
            .start()
            .await
            .unwrap();
        motor.set_speed(0.5).await.unwrap();
        motors.push(motor);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(world.snapshot().velocity > 0.1);

    let report = system.shutdown(Duration::from_secs(1)).await;
    let names: Vec<Option<&str>> = report
        .ended
        .iter()
        .map(|(label, _)| {
            ["right", "left"]
                .into_iter()
                .find(|n| label.to_string().contains(&format!("`{n}`")))
        })
        .collect();
    assert_eq!(names, [Some("right"), Some("left"), None]);
    let cut = estop.last_report().expect("the E-stop step ran");
    assert_eq!(cut.reason, "shutdown");
    assert!(cut.all_safe());
    for side in [Side::Left, Side::Right] {
        assert_eq!(world.motor_pins(side).enable.fraction(), 0.0);
    }
    assert!(estop.actuators().is_empty());
    assert!(!sonar.is_alive());
    assert_eq!(system.live_actors(), 0);
}
