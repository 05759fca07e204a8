//! Remote actors over real Zenoh sessions in this process (peer mode, loopback TCP or a Unix
//! socket, multicast scouting off): no server to start.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Log, Odd, watcher};
use compaktor::prelude::*;
use compaktor::{RemoteEnd, RemoteFailure};
use compaktor_remote::{JoinError, LookupError, NodeConfig, RemoteNode};

const T: Duration = Duration::from_secs(10);

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two nodes, the second connected to the first at `endpoint`.
async fn pair(endpoint: &str) -> (ActorSystem, RemoteNode, ActorSystem, RemoteNode) {
    let robot = ActorSystem::new("robot");
    let node = RemoteNode::join(
        &robot,
        NodeConfig::zenoh("robot-1")
            .listen(endpoint)
            .discovery(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(
        &base,
        NodeConfig::zenoh("base")
            .connect(endpoint)
            .discovery(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    (robot, node, base, base_node)
}

async fn exercise(node: &RemoteNode, robot: &ActorSystem, base_node: &RemoteNode) {
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();

    let mut pending = Vec::new();
    for n in 0..100u32 {
        if n % 4 == 0 {
            pending.push(remote.push_and_count(n).try_send().unwrap());
        } else {
            remote.push(n).await.unwrap();
        }
    }
    for reply in pending {
        reply.await.unwrap();
    }
    assert_eq!(
        remote.entries().timeout(T).await.unwrap(),
        (0..100).collect::<Vec<u32>>()
    );
    assert_eq!(remote.half(10).timeout(T).await.unwrap(), 5);
    assert_eq!(
        remote.half(3).timeout(T).await,
        Err(AskError::Handler(Odd(3)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_loopback_tell_ask_order_and_typed_error() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let (robot, node, _base, base_node) = pair(&endpoint).await;
    exercise(&node, &robot, &base_node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_tell_ask_order_and_typed_error() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = std::env::temp_dir().join(format!("compaktor-{}-{nanos}.sock", std::process::id()));
    let endpoint = format!("unixsock-stream/{}", path.display());
    let (robot, node, _base, base_node) = pair(&endpoint).await;
    exercise(&node, &robot, &base_node).await;
    drop((node, base_node));
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_export_wrong_name_and_duplicate_node_over_zenoh() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let (robot, node, base, base_node) = pair(&endpoint).await;
    node.export(&robot.spawn(Log::default()), "log")
        .await
        .unwrap();
    // Found once the export is seen; then a missing one is a typed error after the
    // discovery time, not a hang.
    base_node.lookup::<Log>("robot-1/log").await.unwrap();
    assert_eq!(
        base_node
            .lookup::<Log>("robot-1/nothing")
            .await
            .unwrap_err(),
        LookupError::NotFound("robot-1/nothing".into())
    );
    let twin = RemoteNode::join(
        &base,
        NodeConfig::zenoh("robot-1")
            .connect(&endpoint)
            .discovery(Duration::from_secs(2)),
    )
    .await;
    assert_eq!(twin.unwrap_err(), JoinError::NameTaken("robot-1".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_over_zenoh_learns_the_remote_actor_stopped_and_why() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let (robot, node, base, base_node) = pair(&endpoint).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();

    assert_eq!(remote.quit().timeout(T).await.unwrap(), 1);
    let notice = tokio::time::timeout(T, notices.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notice.reason,
        StopReason::Remote(RemoteEnd::ActorStopped {
            node: "robot-1".into(),
            reason: "stopped on request".into(),
            failure: false,
        })
    );
}

/// The robot's node leaves the network while an ask is in flight: the ask fails as
/// unreachable long before its timeout, and the watcher learns the node left (its goodbye).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_leaves_fails_asks_in_flight_and_notifies_watchers() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let (robot, node, base, base_node) = pair(&endpoint).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();

    let asking = remote.clone();
    let long = Duration::from_secs(120);
    let in_flight = tokio::spawn(async move { asking.wait("never".into()).timeout(long).await });
    tokio::time::timeout(T, async {
        while !robot
            .health()
            .iter()
            .any(|h| h.actor.id == log.id() && h.in_handler_for.is_some())
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the call reached the robot");

    let left = std::time::Instant::now();
    drop(node); // the robot says goodbye, its session closes; its actor runs on, unreachable
    match tokio::time::timeout(T, in_flight).await.unwrap().unwrap() {
        Err(AskError::Remote { failure, .. }) => {
            assert!(
                matches!(*failure, RemoteFailure::Unreachable(_)),
                "{failure:?}"
            )
        }
        other => panic!("expected the ask to fail as unreachable, got {other:?}"),
    }
    let notice = tokio::time::timeout(T, notices.recv())
        .await
        .unwrap()
        .unwrap();
    // The goodbye token went up before its other tokens went: the reason says it left.
    assert_eq!(
        notice.reason,
        StopReason::Remote(RemoteEnd::NodeLeft {
            node: "robot-1".into()
        })
    );
    eprintln!("node left noticed after {:?}", left.elapsed());
    assert!(left.elapsed() < T);
}

/// A TCP relay between two endpoints that can be cut like a cable: once cut it forwards
/// nothing and keeps every socket open, so neither side sees a close, only silence.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Relay {
    fn to(target: u16) -> Relay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let relay_cut = Arc::clone(&cut);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let cut = Arc::clone(&relay_cut);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 {
                                return;
                            }
                            if !cut.load(Ordering::SeqCst) && to.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        Relay { port, cut }
    }
}

/// The cable between the robot and the base is cut (no socket closes): the base's reference
/// ends as `NodeGone` after the robot's lease, and an ask in flight fails then, long before
/// its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_cable_over_zenoh_ends_references_after_the_lease() {
    let lease = Duration::from_millis(600);
    let robot_port = free_port();
    let robot = ActorSystem::new("robot");
    let node = RemoteNode::join(
        &robot,
        NodeConfig::zenoh("robot-1")
            .listen(format!("tcp/127.0.0.1:{robot_port}"))
            .lease(lease)
            .discovery(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    let relay = Relay::to(robot_port);
    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(
        &base,
        NodeConfig::zenoh("base")
            .connect(format!("tcp/127.0.0.1:{}", relay.port))
            .lease(lease)
            .discovery(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(remote.push_and_count(1).timeout(T).await.unwrap(), 1);
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();
    let asking = remote.clone();
    let in_flight = tokio::spawn(async move { asking.wait("never".into()).timeout(T).await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let cut = std::time::Instant::now();
    relay.cut.store(true, Ordering::SeqCst);
    let notice = tokio::time::timeout(T, notices.recv())
        .await
        .unwrap()
        .unwrap();
    let noticed = cut.elapsed();
    assert_eq!(
        notice.reason,
        StopReason::Remote(RemoteEnd::NodeGone {
            node: "robot-1".into()
        })
    );
    assert!(matches!(
        in_flight.await.unwrap(),
        Err(AskError::Remote { .. })
    ));
    eprintln!("the cut was noticed after {noticed:?} (lease {lease:?})");
    // Silence, not a closed socket: it takes about the lease, and far less than the timeout.
    assert!(noticed >= lease / 2, "{noticed:?}");
    assert!(noticed < lease * 5, "{noticed:?}");
    drop(node);
}
