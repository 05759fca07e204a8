//! What bridging costs a running robot: a simulated rover (two motors with their watchdogs,
//! the sonar every 60 ms, odometry, physics) runs in real time on a multi-threaded runtime, as
//! on a Pi, while a control loop commands both motors every 20 ms and times each command's
//! round trip (the control path: planner -> motor actors -> driver -> reply). The same run
//! is measured without the bridge and with it (every channel recorded to MCAP, the live
//! server up with a client subscribed to every channel), in
//! alternating rounds so a machine's changing load falls on both alike.
//!
//! ```text
//! cargo run --release -p compaktor-foxglove --example bridge_cost -- [SECONDS_PER_ROUND] [ROUNDS]
//! ```
//!
//! It prints, per setting: the command round trip's median, 99th percentile and maximum, how
//! late the control loop's ticks were (99th percentile), and the process's CPU time per
//! second of run (from `/proc/self/stat`, Linux). A measurement, not a test: nothing here
//! asserts a speed.
#![allow(missing_docs, reason = "an example program")]

use std::time::{Duration, Instant};

use compaktor::prelude::*;
use compaktor_foxglove::Bridge;
use compaktor_pi::actors::{
    Motor, MotorConfig, Odometry, OdometryConfig, PoseEstimate, Ultrasonic,
};
use compaktor_pi::config::{ROVER_ROBOT, RobotConfig};
use compaktor_pi::hardware::Hardware;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{World, WorldConfig};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The control loop's period.
const TICK: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Samples {
    /// Each command's round trip, both motors.
    round_trips: Vec<Duration>,
    /// How late each tick started.
    lateness: Vec<Duration>,
    /// CPU time used and wall time taken.
    cpu: Duration,
    wall: Duration,
}

impl Samples {
    fn add(&mut self, other: Samples) {
        self.round_trips.extend(other.round_trips);
        self.lateness.extend(other.lateness);
        self.cpu += other.cpu;
        self.wall += other.wall;
    }

    fn report(&mut self, what: &str) {
        self.round_trips.sort();
        self.lateness.sort();
        let at = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize];
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "{what:<16} command round trip: median {:6.0} µs, p99 {:6.0} µs, max {:7.0} µs \
             ({} commands); tick lateness p99 {:6.0} µs; CPU {:5.1} % of one core",
            us(at(&self.round_trips, 0.5)),
            us(at(&self.round_trips, 0.99)),
            us(*self.round_trips.last().unwrap()),
            self.round_trips.len(),
            us(at(&self.lateness, 0.99)),
            100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64()
        );
    }
}

/// The process's CPU time (user + system) so far: fields 14 and 15 of `/proc/self/stat`, in
/// clock ticks (100 per second on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux's /proc/self/stat");
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<u64> = after
        .split(' ')
        .skip(11)
        .take(2)
        .map(|f| f.parse().expect("a number of ticks"))
        .collect();
    Duration::from_millis((fields[0] + fields[1]) * 10)
}

struct Rover {
    system: ActorSystem,
    estop: EStop,
    world: World,
    motors: [ActorRef<Motor>; 2],
    sonar: ActorRef<Ultrasonic>,
    _odometry: ActorRef<Odometry>,
    poses: Topic<PoseEstimate>,
    _physics: compaktor_pi::sim::PhysicsHandle,
}

async fn rover() -> Result<Rover, Box<dyn std::error::Error>> {
    let config = RobotConfig::from_toml(ROVER_ROBOT)?;
    let world = World::new(WorldConfig::arena(1).wired_like(&config));
    let physics = world.start();
    let mut hw = Hardware::open(&config, Some(&world))?;
    let system = ActorSystem::new("rover");
    let estop = EStop::new();
    let (left, right) = hw.drive()?;
    let motor = |name: &str| MotorConfig {
        watchdog: Some(Duration::from_millis(config.drive.watchdog_ms)),
        ..MotorConfig::new(name)
    };
    let left = system
        .builder(Motor::new(left, estop.clone(), motor("left_motor")))
        .name("left_motor")
        .start()
        .await?;
    let right = system
        .builder(Motor::new(right, estop.clone(), motor("right_motor")))
        .name("right_motor")
        .start()
        .await?;
    let sonar = system
        .builder(Ultrasonic::new(
            hw.sonar("front")?,
            Duration::from_millis(60),
        ))
        .name("sonar")
        .start()
        .await?;
    let poses = system.topic::<PoseEstimate>("/odometry")?;
    let odometry = Odometry::new(
        hw.encoders()?,
        None,
        OdometryConfig::from_robot(config.encoders.as_ref().ok_or("no encoders")?),
        poses.clone(),
    );
    let odometry = system.builder(odometry).name("odometry").start().await?;
    Ok(Rover {
        system,
        estop,
        world,
        motors: [left, right],
        sonar,
        _odometry: odometry,
        poses,
        _physics: physics,
    })
}

/// Commands the motors every [`TICK`] for `run`, timing each command.
async fn control(rover: &Rover, run: Duration) -> Samples {
    let mut samples = Samples::default();
    let (cpu, wall) = (cpu_time(), Instant::now());
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0..(run.as_millis() / TICK.as_millis()) {
        let due = ticks.tick().await;
        samples.lateness.push(due.elapsed());
        // Slow turns in place: the robot stays clear of the walls.
        let duty = if n % 100 < 50 { 0.3 } else { -0.3 };
        let start = Instant::now();
        let (l, r) = tokio::join!(
            rover.motors[0].set_speed(duty),
            rover.motors[1].set_speed(-duty)
        );
        samples.round_trips.push(start.elapsed());
        l.expect("the left motor drives");
        r.expect("the right motor drives");
    }
    samples.cpu = cpu_time() - cpu;
    samples.wall = wall.elapsed();
    samples
}

/// A Foxglove client subscribed to every channel, counting what it receives.
async fn watch(port: u16) -> tokio::task::JoinHandle<u64> {
    let mut request = format!("ws://127.0.0.1:{port}")
        .into_client_request()
        .expect("a WebSocket address");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "foxglove.sdk.v1".parse().expect("a header value"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the live server answers");
    tokio::spawn(async move {
        let mut received = 0u64;
        let mut next_id = 1;
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text) => {
                    let message: serde_json::Value =
                        serde_json::from_str(&text).unwrap_or_default();
                    if message["op"] == "advertise" {
                        let subscriptions: Vec<serde_json::Value> = message["channels"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|c| {
                                next_id += 1;
                                serde_json::json!({ "id": next_id, "channelId": c["id"] })
                            })
                            .collect();
                        let subscribe = serde_json::json!({ "op": "subscribe", "subscriptions": subscriptions });
                        if ws.send(Message::text(subscribe.to_string())).await.is_err() {
                            break;
                        }
                    }
                }
                Message::Binary(_) => received += 1,
                _ => {}
            }
        }
        received
    })
}

async fn measure(secs: u64, rounds: u32) -> Result<(), Box<dyn std::error::Error>> {
    let rover = rover().await?;
    let run = Duration::from_secs(secs);
    let (mut without, mut with) = (Samples::default(), Samples::default());
    let (mut recorded, mut watched) = (0u64, 0u64);
    // Warm up: the first commands and the first readings.
    control(&rover, Duration::from_secs(1)).await;
    for round in 0..rounds {
        without.add(control(&rover, run).await);

        let path = std::env::temp_dir().join(format!(
            "compaktor-bridge-cost-{}-{round}.mcap",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let mut bridge = Bridge::new();
        for motor in &rover.motors {
            bridge.motor(&motor.topic().await?)?;
        }
        bridge
            .sonar(&rover.sonar.topic().await?)?
            .pose(&rover.poses)?
            .estop(&rover.estop, Duration::from_millis(100))?
            .health(&rover.system, Duration::from_millis(500))?
            .dead_letters(&rover.system)?
            .simulation(&rover.world, Duration::from_millis(50))?;
        bridge.record(&path)?;
        let live = bridge.serve("127.0.0.1:0".parse()?).await?;
        let client = watch(live.port()).await;
        // The client subscribes before the round is measured.
        tokio::time::sleep(Duration::from_millis(500)).await;
        with.add(control(&rover, run).await);
        let report = bridge.close().await?;
        recorded += report.channels.iter().map(|c| c.messages).sum::<u64>();
        watched += client.await?;
        let _ = std::fs::remove_file(&path);
    }
    println!(
        "{rounds} rounds of {secs} s each way, control loop every {} ms, on {} CPUs",
        TICK.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    without.report("without bridge");
    with.report("with bridge");
    println!("the bridge recorded {recorded} messages; the live client received {watched}");
    compaktor_pi::firmware::stop_robot(&rover.system, &rover.estop, "done", Duration::from_secs(1))
        .await;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let secs = args.next().map_or(Ok(10), |s| s.parse())?;
    let rounds = args.next().map_or(Ok(3), |s| s.parse())?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(measure(secs, rounds))
}
