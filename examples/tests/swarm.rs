//! The swarm example in two processes, as on real robots: a robot in a child process (this
//! test binary run again, for the `child_robot` test only) and the base station here, over
//! loopback TCP with multicast scouting off.

#[allow(dead_code)]
#[path = "../examples/swarm.rs"]
mod swarm;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor_remote::{NodeConfig, RemoteNode};

/// Set for the child process: the endpoint its robot listens on.
const CHILD: &str = "COMPAKTOR_SWARM_CHILD_ENDPOINT";

/// Kills the child when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The robot process: does nothing unless started by the two-process test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_robot() {
    let Ok(endpoint) = std::env::var(CHILD) else {
        return;
    };
    let robot = swarm::start_swarm_robot("r1", 1, NodeConfig::zenoh("r1").listen(&endpoint))
        .await
        .expect("the robot starts");
    println!("robot ready");
    // The parent kills this process; the bound is for a parent that died first.
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(robot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_and_the_base_station_in_two_processes() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_robot", "--nocapture", "--test-threads=1"])
            .env(CHILD, &endpoint)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("robot ready"))
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .expect("the robot process started within a minute")
            .unwrap(),
        "the robot process ended before it was ready"
    );

    let system = ActorSystem::new("base");
    let node = RemoteNode::join(
        &system,
        NodeConfig::zenoh("base")
            .connect(&endpoint)
            .discovery(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let base = swarm::start_base(&system, &node, &["r1".to_owned()], false)
        .await
        .unwrap();
    // The base asks once a second: a pose from the other process arrives.
    let pose = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(pose) = base
                .rows()
                .await
                .unwrap()
                .get("r1")
                .and_then(|r| r.pose.clone())
            {
                return pose;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("r1's pose reached the base station");
    assert!(
        (0.0..=4.0).contains(&pose.x) && (0.0..=3.0).contains(&pose.y),
        "{pose:?}"
    );
    assert_eq!(node.stats().refused, 0);
    drop(child);
}
