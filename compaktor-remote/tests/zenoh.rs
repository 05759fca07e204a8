//! Remote actors over real Zenoh sessions in this process (peer mode, loopback TCP or a Unix
//! socket, multicast scouting off): no server to start.

mod common;

use common::{Log, Odd};
use compaktor::prelude::*;
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
