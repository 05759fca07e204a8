//! The swarm example in two processes, as on real robots: robot `r1` in a child process (this
//! test binary run again, for the `child_robot` test only), robot `r2` and the base station
//! here, over loopback TCP with multicast scouting off. Killing `r1`'s process shows it as
//! lost on the base station's table while `r2` is asked on.

#[allow(dead_code)]
#[path = "../examples/swarm.rs"]
mod swarm;

// The process helper of compaktor-remote's own process test, shared by path.
#[path = "../../compaktor-remote/tests/common/process.rs"]
mod process;

use std::collections::BTreeMap;
use std::time::Duration;

use compaktor::RemoteEnd;
use compaktor::prelude::*;
use compaktor_remote::{NodeConfig, RemoteNode};
use process::{TestProcess, free_port};

/// Set for the child process: the endpoint its robot listens on.
const CHILD: &str = "COMPAKTOR_SWARM_CHILD_ENDPOINT";
const READY: &str = "robot ready";
/// Generous: the machine may be loaded.
const T: Duration = Duration::from_secs(30);

/// The robot process: does nothing unless started by the two-process test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_robot() {
    let Ok(endpoint) = std::env::var(CHILD) else {
        return;
    };
    let robot = swarm::start_swarm_robot("r1", 1, NodeConfig::zenoh("r1").listen(&endpoint))
        .await
        .expect("the robot starts");
    println!("{READY}");
    // The parent kills this process; the bound is for a parent that died first.
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(robot);
}

/// Polls the base station's table until `done` holds for it (bounded by `T`).
async fn table_until(
    base: &ActorRef<swarm::Base>,
    what: &str,
    done: impl Fn(&BTreeMap<String, swarm::Row>) -> bool,
) -> BTreeMap<String, swarm::Row> {
    tokio::time::timeout(T, async {
        loop {
            let rows = base.rows().await.unwrap();
            if done(&rows) {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the base station's table: {what}, within {T:?}"))
}

fn answers(rows: &BTreeMap<String, swarm::Row>, robot: &str) -> u32 {
    rows.get(robot).map_or(0, |row| row.answers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_robot_process_shows_as_lost_while_the_others_are_asked_on() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let mut child = TestProcess::start("child_robot", (CHILD, &endpoint), READY, T * 2).await;
    // r2 listens on a port of its own, so it stays reachable when r1's process is gone.
    let endpoint2 = format!("tcp/127.0.0.1:{}", free_port());
    let r2 = swarm::start_swarm_robot(
        "r2",
        2,
        NodeConfig::zenoh("r2")
            .listen(&endpoint2)
            .connect(&endpoint)
            .discovery(Duration::from_secs(5)),
    )
    .await
    .unwrap();

    let system = ActorSystem::new("base");
    let node = RemoteNode::join(
        &system,
        NodeConfig::zenoh("base")
            .connect(&endpoint)
            .connect(&endpoint2)
            .discovery(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let robots = ["r1".to_owned(), "r2".to_owned()];
    let base = swarm::start_base(&system, &node, &robots, false)
        .await
        .unwrap();
    // The base asks once a second: poses from the other process and from here arrive.
    let rows = table_until(&base, "both robots answered", |rows| {
        answers(rows, "r1") > 0 && answers(rows, "r2") > 0
    })
    .await;
    let pose = rows["r1"].pose.clone().unwrap();
    assert!(
        (0.0..=4.0).contains(&pose.x) && (0.0..=3.0).contains(&pose.y),
        "{pose:?}"
    );
    assert!(rows.values().all(|row| row.lost.is_none()), "{rows:?}");

    // r1's process dies (SIGKILL: no goodbye).
    child.kill();
    let rows = table_until(&base, "r1 lost", |rows| {
        rows.get("r1").is_some_and(|row| row.lost.is_some())
    })
    .await;
    let gone = StopReason::Remote(RemoteEnd::NodeGone { node: "r1".into() }).to_string();
    assert_eq!(rows["r1"].lost.as_deref(), Some(gone.as_str()));
    assert!(rows["r2"].lost.is_none(), "{rows:?}");

    // r2 is asked on, and answers; r1 is asked no more.
    let (r1_then, r2_then) = (answers(&rows, "r1"), answers(&rows, "r2"));
    let rows = table_until(&base, "r2 answered twice more", |rows| {
        answers(rows, "r2") >= r2_then + 2
    })
    .await;
    assert_eq!(answers(&rows, "r1"), r1_then);
    assert!(rows["r2"].lost.is_none(), "{rows:?}");
    assert_eq!(node.stats().refused, 0);
    assert_eq!(system.remote_stats(), node.stats());
    drop(r2);
}
