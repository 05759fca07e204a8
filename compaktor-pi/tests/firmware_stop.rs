//! The firmware runner stops a robot safely: the E-stop first, so the motors are at duty 0
//! before any actor stops, then the actors in reverse start order; and it pings systemd's
//! watchdog only while no actor is stuck in a handler.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig};
use compaktor_pi::drivers::L298n;
use compaktor_pi::firmware::{Notice, Service, stop_robot};
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};

fn motor(world: &World, side: Side, estop: &EStop, name: &str) -> Motor {
    let pins = world.motor_pins(side);
    let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    let config = MotorConfig {
        watchdog: None,
        ..MotorConfig::new(name)
    };
    Motor::new(Box::new(bridge), estop.clone(), config)
}

/// What the robot looked like when the first actor (the planner, say) stopped.
type Seen = Arc<Mutex<Option<([f64; 2], bool)>>>;

/// Started last, so stopped first; records the motors' duties and the E-stop as it stops.
struct Planner {
    world: World,
    estop: EStop,
    seen: Seen,
}

#[actor]
impl Planner {
    #[on_stop]
    fn stopped(&mut self) {
        let duty = |side| self.world.motor_pins(side).enable.fraction();
        *self.seen.lock().unwrap() = Some((
            [duty(Side::Left), duty(Side::Right)],
            self.estop.is_engaged(),
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn the_estop_cuts_the_motors_before_any_actor_stops() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("robot");
    let estop = EStop::new();
    let left = system
        .builder(motor(&world, Side::Left, &estop, "left"))
        .name("left_motor")
        .start()
        .await
        .unwrap();
    let right = system
        .builder(motor(&world, Side::Right, &estop, "right"))
        .name("right_motor")
        .start()
        .await
        .unwrap();
    let seen = Seen::default();
    let planner = Planner {
        world: world.clone(),
        estop: estop.clone(),
        seen: seen.clone(),
    };
    let _planner = system
        .builder(planner)
        .name("planner")
        .start()
        .await
        .unwrap();
    left.set_speed(0.5).await.unwrap();
    right.set_speed(0.5).await.unwrap();

    let stopped = stop_robot(&system, &estop, "SIGTERM", Duration::from_secs(1)).await;
    let cut = stopped.estop.expect("the E-stop step ran");

    let (duties, engaged) = seen.lock().unwrap().expect("the planner stopped");
    assert_eq!(
        duties,
        [0.0, 0.0],
        "the motors still drove when the planner stopped"
    );
    assert!(engaged);
    assert_eq!(cut.reason, "stopping: SIGTERM");
    assert!(cut.all_safe());
    let cut: Vec<&str> = cut.actuators.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(cut, ["left", "right"]);
    let order: Vec<&str> = stopped.actors.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(order.len(), 3);
    assert!(
        order[0].contains("planner") && order[1].contains("right") && order[2].contains("left"),
        "{order:?}"
    );
}

/// An actor that can be made to hang in a handler.
struct Driver;

#[actor]
impl Driver {
    #[handler]
    async fn hang(&mut self) {
        std::future::pending::<()>().await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_is_pinged_only_while_no_actor_is_stuck() {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let log = notices.clone();
    let service = Service::with_sink(Some(Duration::from_millis(200)), move |n| {
        log.lock().unwrap().push((tokio::time::Instant::now(), n));
    });
    let pings = || {
        notices
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n)| *n == Notice::Watchdog)
            .count()
    };
    let system = ActorSystem::new("robot");
    let driver = system.spawn(Driver);
    service.ready();
    let task = service
        .spawn_watchdog(&system)
        .expect("a watchdog was asked for");

    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(pings(), 11, "every 100 ms from the start");

    driver.hang().await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let when_stuck = pings();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pings(), when_stuck, "pinged while an actor was stuck");
    assert!(when_stuck <= 14, "{when_stuck}");

    driver.kill();
    driver.stopped().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pings() >= when_stuck + 4, "the pings did not resume");

    drop(task);
    let after = pings();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pings(), after);
    assert_eq!(notices.lock().unwrap()[0].1, Notice::Ready);
}

#[tokio::test]
async fn no_watchdog_no_task() {
    let service = Service::with_sink(None, |_| {});
    assert!(service.spawn_watchdog(&ActorSystem::new("robot")).is_none());
}
