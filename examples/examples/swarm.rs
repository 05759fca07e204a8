//! Several robots as one nervous system: three simulated robots and a base station on one
//! Zenoh network.
//!
//! Each robot runs the obstacle avoider's actors in its own simulated arena (in real time),
//! publishes what it sees close ahead on the shared topic `obstacles`, and exports its sonar
//! (`<robot>/sonar`) and its pose (`<robot>/status`). The base station looks them up,
//! watches them, asks each robot for its pose once a second and prints a table, with the
//! sightings it heard from each. A robot that goes away shows as `lost` with the reason its
//! watch gave.
//!
//! ```text
//! cargo run --example swarm                          # everything in one process, 10 s
//! cargo run --example swarm -- --duration 30s
//! # one part per process, as on real robots (each on its own terminal):
//! cargo run --example swarm -- --role robot --name r1 --listen tcp/127.0.0.1:7447
//! cargo run --example swarm -- --role robot --name r2 --connect tcp/127.0.0.1:7447 --listen tcp/127.0.0.1:7448
//! cargo run --example swarm -- --role base --robots r1,r2 --connect tcp/127.0.0.1:7447 --connect tcp/127.0.0.1:7448
//! ```
//!
//! Multicast scouting is off: the nodes find each other by the endpoints given. On a LAN of
//! real robots, `NodeConfig::lan(name)` listens everywhere and scouts instead.

#[allow(dead_code)]
#[path = "obstacle_avoider.rs"]
mod obstacle_avoider;

use std::collections::BTreeMap;
use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use compaktor::prelude::*;
use compaktor_pi::config::{RobotConfig, STARTER_ROBOT};
use compaktor_pi::sim::{World, WorldConfig};
use compaktor_remote::{NodeConfig, RemoteNode};
use obstacle_avoider::{Mode, Planner, start_robot};
use serde::{Deserialize, Serialize};

/// Something seen close ahead by one robot: published on the shared topic `obstacles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObstacleSeen {
    /// The robot that saw it.
    pub robot: String,
    /// Where the robot was (meters).
    pub x: f64,
    /// Where the robot was (meters).
    pub y: f64,
    /// How far ahead (meters).
    pub metres: f32,
}

/// A robot's pose and what it is doing, as the base station asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseReport {
    /// Meters from the arena's left wall.
    pub x: f64,
    /// Meters from the arena's bottom wall.
    pub y: f64,
    /// Degrees counter-clockwise from +x.
    pub heading: f64,
    /// The planner's mode.
    pub mode: String,
    /// Collisions so far.
    pub collisions: u32,
}

/// Nearer than this ahead is worth telling the others.
const SIGHTING_BELOW_M: f32 = 0.5;
/// One sighting per robot per this long at most.
const SIGHTING_EVERY: Duration = Duration::from_secs(1);

/// A robot's sonar as other robots see it: the planner's last reading, and the sightings it
/// publishes.
pub struct Sonar {
    name: String,
    planner: ActorRef<Planner>,
    world: World,
    obstacles: Topic<ObstacleSeen>,
    ahead: Option<f32>,
    last_sighting: Option<tokio::time::Instant>,
}

#[actor(remote)]
impl Sonar {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(Duration::from_millis(100), |me| me.look());
    }

    /// Takes the planner's last reading; publishes a sighting when something is close.
    #[handler]
    async fn look(&mut self) {
        let Ok((_, range, _)) = self
            .planner
            .status()
            .timeout(Duration::from_millis(100))
            .await
        else {
            return;
        };
        self.ahead = range.and_then(|r| r.meters());
        let recent = self
            .last_sighting
            .is_some_and(|at| at.elapsed() < SIGHTING_EVERY);
        if let Some(metres) = self.ahead.filter(|m| *m < SIGHTING_BELOW_M)
            && !recent
        {
            let pose = self.world.snapshot().pose;
            self.last_sighting = Some(tokio::time::Instant::now());
            self.obstacles.publish(ObstacleSeen {
                robot: self.name.clone(),
                x: pose.x,
                y: pose.y,
                metres,
            });
        }
    }

    /// Meters to the nearest thing ahead; `None` when nothing is in range.
    #[handler]
    pub fn distance(&self) -> Option<f32> {
        self.ahead
    }
}

/// A robot's pose, for the base station.
pub struct Status {
    world: World,
    planner: ActorRef<Planner>,
}

#[actor(remote)]
impl Status {
    #[handler]
    pub async fn pose(&self) -> PoseReport {
        let snapshot = self.world.snapshot();
        let mode = match self.planner.status().await {
            Ok((mode, _, _)) => mode,
            Err(_) => Mode::Halt,
        };
        PoseReport {
            x: snapshot.pose.x,
            y: snapshot.pose.y,
            heading: snapshot.pose.heading.to_degrees(),
            mode: format!("{mode:?}"),
            collisions: snapshot.stats.collisions,
        }
    }
}

/// One simulated robot on the network; dropping it stops it.
pub struct SwarmRobot {
    /// Its actor system.
    pub system: ActorSystem,
    /// Its node.
    pub node: RemoteNode,
    _physics: compaktor_pi::sim::PhysicsHandle,
}

/// Starts robot `name` (arena `seed`) and joins it to the network with `config`.
pub async fn start_swarm_robot(
    name: &str,
    seed: u64,
    config: NodeConfig,
) -> Result<SwarmRobot, Box<dyn Error>> {
    let robot_config = RobotConfig::from_toml(STARTER_ROBOT)?;
    let world = World::new(WorldConfig::arena(seed));
    let physics = world.start();
    let system = ActorSystem::new(name);
    let robot = start_robot(&system, &robot_config, Some(&world), seed).await?;
    let node = RemoteNode::join(&system, config).await?;
    let obstacles = system.topic::<ObstacleSeen>("obstacles")?;
    node.share_topic(&obstacles).await?;
    let sonar = system.spawn(Sonar {
        name: name.to_owned(),
        planner: robot.planner.clone(),
        world: world.clone(),
        obstacles,
        ahead: None,
        last_sighting: None,
    });
    node.export(&sonar, "sonar").await?;
    let status = system.spawn(Status {
        world,
        planner: robot.planner,
    });
    node.export(&status, "status").await?;
    Ok(SwarmRobot {
        system,
        node,
        _physics: physics,
    })
}

/// What the base station knows of one robot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The last pose it reported.
    pub pose: Option<PoseReport>,
    /// Its sonar's last distance.
    pub ahead: Option<f32>,
    /// Sightings heard from it on the shared topic.
    pub sightings: u32,
    /// Poses it has answered with.
    pub answers: u32,
    /// Why it is gone, once its watch said so (its node went or left, or its status actor
    /// stopped); it is not asked any more.
    pub lost: Option<String>,
}

/// The base station: watches every robot, asks each for its pose once a second, counts the
/// sightings on the shared topic, prints a table. A robot whose presence goes (its process
/// ends, the network to it is cut past its lease, or it leaves) ends the watched reference:
/// its row says `lost` and why, and the others are asked on.
pub struct Base {
    robots: BTreeMap<String, (ActorRef<Status>, ActorRef<Sonar>)>,
    rows: BTreeMap<String, Row>,
    obstacles: Topic<ObstacleSeen>,
    print: bool,
    started: tokio::time::Instant,
}

#[actor]
impl Base {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        for (name, (status, _)) in &self.robots {
            let name = name.clone();
            ctx.watch(status, move |me, notice| me.lost(name.clone(), notice));
        }
        ctx.subscribe(&self.obstacles, |me, seen| me.seen(seen));
        ctx.every(Duration::from_secs(1), |me| me.tick());
    }

    #[handler]
    fn lost(&mut self, robot: String, notice: Terminated) {
        println!("base: {robot} is gone: {}", notice.reason);
        self.rows.entry(robot).or_default().lost = Some(notice.reason.to_string());
    }

    #[handler]
    fn seen(&mut self, seen: ObstacleSeen) {
        self.rows.entry(seen.robot).or_default().sightings += 1;
    }

    /// Asks every robot not lost for its pose (at once, each bounded), then prints the table.
    #[handler]
    async fn tick(&mut self) {
        let limit = Duration::from_millis(500);
        let rows = &self.rows;
        let asks = self
            .robots
            .iter()
            .filter(|(name, _)| rows.get(*name).is_none_or(|row| row.lost.is_none()))
            .map(|(name, (status, sonar))| async move {
                let pose = status.pose().timeout(limit).await.ok();
                let ahead = sonar.distance().timeout(limit).await.ok().flatten();
                (name.clone(), pose, ahead)
            });
        for (name, pose, ahead) in futures::future::join_all(asks).await {
            let row = self.rows.entry(name).or_default();
            if pose.is_some() {
                row.pose = pose;
                row.ahead = ahead;
                row.answers += 1;
            }
        }
        if self.print {
            println!("{}", self.table());
        }
    }

    /// The table as it stands.
    #[handler]
    pub fn rows(&self) -> BTreeMap<String, Row> {
        self.rows.clone()
    }
}

impl Base {
    fn table(&self) -> String {
        let mut out = format!(
            "t={:4.0}s  robot       x      y  heading  mode                       ahead  sightings\n",
            self.started.elapsed().as_secs_f32()
        );
        for name in self.robots.keys() {
            let row = self.rows.get(name).cloned().unwrap_or_default();
            let line = match (&row.lost, &row.pose) {
                (Some(reason), _) => format!("lost: {reason}"),
                (None, None) => "no answer yet".to_owned(),
                (None, Some(p)) => format!(
                    "{:5.2}  {:5.2}  {:6.0}°  {:<24}  {:>6}  {:>9}",
                    p.x,
                    p.y,
                    p.heading,
                    p.mode,
                    row.ahead.map_or("  -".to_owned(), |m| format!("{m:.2}m")),
                    row.sightings
                ),
            };
            out += &format!("         {name:<6}  {line}\n");
        }
        out
    }
}

/// Starts the base station for `robots` on `node`: looks each up (within the node's discovery
/// time) and starts watching them.
pub async fn start_base(
    system: &ActorSystem,
    node: &RemoteNode,
    robots: &[String],
    print: bool,
) -> Result<ActorRef<Base>, Box<dyn Error>> {
    let obstacles = system.topic::<ObstacleSeen>("obstacles")?;
    node.share_topic(&obstacles).await?;
    let mut refs = BTreeMap::new();
    for robot in robots {
        let status = node.lookup::<Status>(&format!("{robot}/status")).await?;
        let sonar = node.lookup::<Sonar>(&format!("{robot}/sonar")).await?;
        refs.insert(robot.clone(), (status, sonar));
    }
    let base = Base {
        robots: refs,
        rows: BTreeMap::new(),
        obstacles,
        print,
        started: tokio::time::Instant::now(),
    };
    Ok(system.builder(base).name("base").start().await?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Role {
    /// Three robots and the base station in this process.
    All,
    /// One robot.
    Robot,
    /// The base station.
    Base,
}

/// Three simulated robots and a base station on one Zenoh network.
#[derive(Debug, Parser)]
#[command(name = "swarm")]
struct Cli {
    /// What this process runs
    #[arg(long, value_enum, default_value = "all")]
    role: Role,
    /// The robot's node name (`--role robot`)
    #[arg(long, default_value = "r1")]
    name: String,
    /// The robots the base station watches (`--role base`)
    #[arg(long, value_delimiter = ',', default_value = "r1,r2,r3")]
    robots: Vec<String>,
    /// Zenoh endpoints to listen on (e.g. `tcp/127.0.0.1:7447`)
    #[arg(long)]
    listen: Vec<String>,
    /// Zenoh endpoints of peers to connect to
    #[arg(long)]
    connect: Vec<String>,
    /// Seed of the robot's arena (`--role robot`; robot N of `--role all` gets seed + N)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long to run (`10s`, `2m`); `--role robot` and `base` run until Ctrl-C without it
    #[arg(long, value_parser = humantime_like)]
    duration: Option<Duration>,
}

/// `10s`, `2m`, `500ms`.
fn humantime_like(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{text}`: use ms, s or m")),
    }
}

fn config(name: &str, listen: &[String], connect: &[String]) -> NodeConfig {
    let mut config = NodeConfig::zenoh(name).discovery(Duration::from_secs(2));
    for endpoint in listen {
        config = config.listen(endpoint);
    }
    for endpoint in connect {
        config = config.connect(endpoint);
    }
    config
}

/// A TCP port nobody listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn until(duration: Option<Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    match cli.role {
        Role::Robot => {
            let robot = start_swarm_robot(
                &cli.name,
                cli.seed,
                config(&cli.name, &cli.listen, &cli.connect),
            )
            .await?;
            println!("{}: driving; exported {0}/sonar and {0}/status", cli.name);
            until(cli.duration).await;
            drop(robot);
        }
        Role::Base => {
            let system = ActorSystem::new("base");
            let node = RemoteNode::join(&system, config("base", &cli.listen, &cli.connect)).await?;
            let base = start_base(&system, &node, &cli.robots, true).await?;
            until(cli.duration).await;
            base.stop();
        }
        Role::All => {
            // Each robot listens on a port of its own and connects to those before it; the
            // base station connects to all of them.
            let mut endpoints = Vec::new();
            let mut robots = Vec::new();
            for (i, name) in ["r1", "r2", "r3"].into_iter().enumerate() {
                let endpoint = format!("tcp/127.0.0.1:{}", free_port()?);
                let config = config(name, std::slice::from_ref(&endpoint), &endpoints);
                robots.push(start_swarm_robot(name, cli.seed + i as u64, config).await?);
                endpoints.push(endpoint);
            }
            let system = ActorSystem::new("base");
            let node = RemoteNode::join(&system, config("base", &[], &endpoints)).await?;
            let names: Vec<String> = ["r1", "r2", "r3"].map(String::from).to_vec();
            let base = start_base(&system, &node, &names, true).await?;
            until(Some(cli.duration.unwrap_or(Duration::from_secs(10)))).await;
            base.stop();
            let _ = base.stopped().await;
            drop(robots);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("swarm: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarm: {e}");
            ExitCode::FAILURE
        }
    }
}
