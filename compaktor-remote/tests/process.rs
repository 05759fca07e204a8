//! A real peer in another process, killed mid-ask: the ask fails within its timeout (at once,
//! when the peer's connection closes), the watcher is notified that the node is gone, and the
//! restarted peer is reached again through a fresh lookup.
//!
//! The peer is this test binary started again with `--exact peer` and the endpoint in
//! `COMPAKTOR_REMOTE_PEER` (so no extra binary or example is needed); as a plain test, `peer`
//! does nothing.

mod common;

use std::time::Duration;

use common::process::{TestProcess, free_port};
use common::{Log, watcher};
use compaktor::prelude::*;
use compaktor::{RemoteEnd, RemoteFailure};
use compaktor_remote::{NodeConfig, RemoteNode};

const PEER: &str = "COMPAKTOR_REMOTE_PEER";
const READY: &str = "compaktor-remote peer ready";
const T: Duration = Duration::from_secs(20);

/// The peer: a robot exporting a `Log` as `robot-1/log`, connected to the base's endpoint,
/// until it is killed.
#[test]
fn peer() {
    let Ok(endpoint) = std::env::var(PEER) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let robot = ActorSystem::new("robot");
        let node = RemoteNode::join(
            &robot,
            NodeConfig::zenoh("robot-1")
                .connect(&endpoint)
                .discovery(Duration::from_millis(500)),
        )
        .await
        .unwrap();
        node.export(&robot.spawn(Log::default()), "log")
            .await
            .unwrap();
        println!("{READY}");
        std::future::pending::<()>().await;
    });
}

/// Starts the peer and waits until it says it is ready.
async fn start_peer(endpoint: &str) -> TestProcess {
    TestProcess::start("peer", (PEER, endpoint), READY, T).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_process_killed_mid_ask_fails_the_ask_notifies_the_watcher_and_comes_back() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(
        &base,
        NodeConfig::zenoh("base")
            .listen(&endpoint)
            .discovery(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let mut peer = start_peer(&endpoint).await;

    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(remote.push_and_count(1).timeout(T).await.unwrap(), 1);
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();

    // An ask the peer will never answer (its handler sleeps for an hour), then the kill.
    let timeout = Duration::from_secs(15);
    let asking = remote.clone();
    let in_flight = tokio::spawn(async move { asking.wait("never".into()).timeout(timeout).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed = std::time::Instant::now();
    peer.kill();

    match in_flight.await.unwrap() {
        Err(AskError::Remote { failure, .. }) => {
            assert!(
                matches!(*failure, RemoteFailure::Unreachable(_)),
                "{failure:?}"
            )
        }
        other => panic!("expected the ask to fail as unreachable, got {other:?}"),
    }
    assert!(killed.elapsed() < timeout, "{:?}", killed.elapsed());
    let notice = tokio::time::timeout(T, notices.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notice.reason,
        StopReason::Remote(RemoteEnd::NodeGone {
            node: "robot-1".into()
        })
    );
    eprintln!("the kill was noticed after {:?}", killed.elapsed());

    // The peer is restarted under the same name: a fresh lookup reaches it.
    let mut peer = start_peer(&endpoint).await;
    let again: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(again.push_and_count(2).timeout(T).await.unwrap(), 1);
    peer.kill();
}
