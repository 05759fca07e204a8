//! Faults over the in-memory transport, on tokio's paused clock: a remote actor that stops, a
//! node that dies, a cut link, an unexport; what watchers, links and asks in flight see, and
//! that a fresh lookup reaches the actor again once it is back.

mod common;

use std::time::Duration;

use common::{Log, watcher};
use compaktor::prelude::*;
use compaktor::{RemoteEnd, RemoteFailure, Terminated};
use compaktor_remote::{LookupError, MemoryNetwork, NodeConfig, RemoteNode};
use tokio::time::Instant;

const T: Duration = Duration::from_secs(60);

async fn join(network: &MemoryNetwork, name: &str, lease: Duration) -> (ActorSystem, RemoteNode) {
    let system = ActorSystem::new(name);
    let node = RemoteNode::join(&system, NodeConfig::in_memory(network, name).lease(lease))
        .await
        .unwrap();
    (system, node)
}

/// A robot exporting a `Log` as `log`, and a base station with a reference to it.
async fn robot_and_base(
    network: &MemoryNetwork,
) -> (
    ActorSystem,
    RemoteNode,
    ActorRef<Log>,
    ActorSystem,
    RemoteNode,
    ActorRef<Log>,
) {
    let (robot, node) = join(network, "robot-1", Duration::from_millis(300)).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let (base, base_node) = join(network, "base", Duration::from_millis(300)).await;
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    (robot, node, log, base, base_node, remote)
}

async fn next(notices: &mut tokio::sync::mpsc::UnboundedReceiver<Terminated>) -> Terminated {
    tokio::time::timeout(T, notices.recv())
        .await
        .expect("a notice within the bound")
        .expect("the watcher runs")
}

/// Waits until `actor` of `system` is inside a handler (an ask is in flight there).
async fn busy<A: Actor>(system: &ActorSystem, actor: &ActorRef<A>) {
    tokio::time::timeout(T, async {
        while !system
            .health()
            .iter()
            .any(|h| h.actor.id == actor.id() && h.in_handler_for.is_some())
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the actor took the call");
}

#[tokio::test(start_paused = true)]
async fn a_watcher_learns_that_the_remote_actor_stopped_and_why() {
    let network = MemoryNetwork::new();
    let (_robot, _node, log, base, _base_node, remote) = robot_and_base(&network).await;
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();

    log.stop();
    let notice = next(&mut notices).await;
    let expected = StopReason::Remote(RemoteEnd::ActorStopped {
        node: "robot-1".into(),
        reason: "stopped on request".into(),
        failure: false,
    });
    assert_eq!(notice.reason, expected);
    assert_eq!(remote.stopped().await, expected);
    // A later call is refused here, as for any stopped actor.
    assert!(matches!(
        remote.entries().await,
        Err(AskError::Stopped { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_remote_failure_reaches_watchers_and_links_as_a_failure() {
    let network = MemoryNetwork::new();
    let (_robot, _node, _log, base, _base_node, remote) = robot_and_base(&network).await;
    let (watching, mut notices) = watcher(&base);
    let (linked, _) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();
    linked.link(remote.clone()).await.unwrap();
    watching.watch_linked(linked.clone()).await.unwrap();

    assert!(matches!(
        remote.explode().timeout(T).await,
        Err(AskError::Panicked { .. })
    ));
    let mut reasons = [next(&mut notices).await, next(&mut notices).await];
    reasons.sort_by_key(|t| t.actor.id != remote.id());
    let StopReason::Remote(RemoteEnd::ActorStopped {
        node,
        reason,
        failure,
    }) = &reasons[0].reason
    else {
        panic!("expected the remote actor's stop, got {:?}", reasons[0]);
    };
    assert_eq!(node, "robot-1");
    assert!(failure);
    assert!(reason.contains("boom"), "{reason}");
    // The linked actor failed with it, naming the remote reference.
    match &reasons[1].reason {
        StopReason::LinkFailed { peer, reason } => {
            assert_eq!(peer.id, remote.id());
            assert!(reason.is_failure());
        }
        other => panic!("expected a link failure, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_dead_node_fails_asks_in_flight_at_once_and_comes_back_through_a_fresh_lookup() {
    let network = MemoryNetwork::new();
    let (robot, _node, log, base, base_node, remote) = robot_and_base(&network).await;
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();

    let started = Instant::now();
    let asking = remote.clone();
    let in_flight = tokio::spawn(async move { asking.wait("never".into()).timeout(T).await });
    busy(&robot, &log).await;
    assert!(network.kill("robot-1"));

    let gone = StopReason::Remote(RemoteEnd::NodeGone {
        node: "robot-1".into(),
    });
    match in_flight.await.unwrap() {
        Err(AskError::Remote { failure, .. }) => match *failure {
            RemoteFailure::Unreachable(why) => assert!(why.contains("robot-1"), "{why}"),
            other => panic!("expected unreachable, got {other:?}"),
        },
        other => panic!("expected the ask to fail as unreachable, got {other:?}"),
    }
    // At once, not at the ask's timeout (the clock is paused: nothing else moves it).
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(next(&mut notices).await.reason, gone);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(gone.is_failure());

    // The robot comes back under the same names: a fresh lookup reaches it.
    let (robot2, node2) = join(&network, "robot-1", Duration::from_millis(300)).await;
    node2
        .export(&robot2.spawn(Log::default()), "log")
        .await
        .unwrap();
    let again: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(again.push_and_count(7).timeout(T).await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cut_link_ends_references_after_the_lease_and_heals() {
    let network = MemoryNetwork::new();
    let (robot, _node, log, base, base_node, remote) = robot_and_base(&network).await;
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();
    let asking = remote.clone();
    let in_flight = tokio::spawn(async move { asking.wait("never".into()).timeout(T).await });
    busy(&robot, &log).await;

    let cut = Instant::now();
    assert!(network.cut("robot-1", "base"));
    let notice = next(&mut notices).await;
    assert_eq!(
        notice.reason,
        StopReason::Remote(RemoteEnd::NodeGone {
            node: "robot-1".into()
        })
    );
    // Exactly the robot's lease after the cut.
    assert_eq!(cut.elapsed(), Duration::from_millis(300));
    assert!(matches!(
        in_flight.await.unwrap(),
        Err(AskError::Remote { .. })
    ));
    assert_eq!(cut.elapsed(), Duration::from_millis(300));

    network.heal("robot-1", "base");
    // The robot's actor is still in the call that was cut off: let it finish.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let again: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    again.push(5).await.unwrap();
    assert_eq!(again.entries().timeout(T).await.unwrap(), vec![5]);
}

#[tokio::test(start_paused = true)]
async fn unexport_ends_references_as_unexported_and_the_actor_runs_on() {
    let network = MemoryNetwork::new();
    let (_robot, node, log, base, _base_node, remote) = robot_and_base(&network).await;
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();
    assert!(node.unexport("log"));
    assert_eq!(
        next(&mut notices).await.reason,
        StopReason::Remote(RemoteEnd::Unexported {
            node: "robot-1".into()
        })
    );
    assert!(log.is_alive());
}

#[tokio::test(start_paused = true)]
async fn a_node_presence_ends_when_the_node_dies_and_is_not_found_when_absent() {
    let network = MemoryNetwork::new();
    let (_robot, node) = join(&network, "robot-1", Duration::from_millis(300)).await;
    let (_base, _base_node) = join(&network, "base", Duration::from_millis(300)).await;
    let (watching, mut notices) = watcher(&_robot);
    let base = node.presence("base").await.unwrap();
    watching.watch_node(base.clone()).await.unwrap();
    assert!(matches!(
        node.presence("nobody").await,
        Err(LookupError::NotFound(_))
    ));

    let killed = Instant::now();
    network.kill("base");
    let notice = next(&mut notices).await;
    assert_eq!(
        notice.reason,
        StopReason::Remote(RemoteEnd::NodeGone {
            node: "base".into()
        })
    );
    assert_eq!(killed.elapsed(), Duration::ZERO);
}

/// How a robot can leave the network cleanly: `leave()`, dropping its node's last handle, or
/// shutting its system down.
#[derive(Debug, Clone, Copy)]
enum Leaving {
    Leave,
    Drop,
    Shutdown,
}

/// A robot that leaves cleanly says goodbye: the base's watchers of its actor and of its
/// presence learn `NodeLeft` at once (not `NodeGone`, not at a lease's end, and not the
/// actor's own stop during a shutdown), and an ask in flight fails at once.
async fn a_node_that_leaves_says_goodbye(how: Leaving) {
    let network = MemoryNetwork::new();
    let (robot, node, log, base, base_node, remote) = robot_and_base(&network).await;
    let (watching, mut notices) = watcher(&base);
    watching.watch(remote.clone()).await.unwrap();
    let (watching_node, mut node_notices) = watcher(&base);
    let presence = base_node.presence("robot-1").await.unwrap();
    watching_node.watch_node(presence).await.unwrap();
    let asking = remote.clone();
    let in_flight = tokio::spawn(async move { asking.wait("never".into()).timeout(T).await });
    busy(&robot, &log).await;

    let started = Instant::now();
    match how {
        Leaving::Leave => {
            node.leave();
            // Left: nothing more is exported, and leaving again does nothing.
            assert_eq!(
                node.export(&log, "again").await,
                Err(compaktor_remote::ExportError::Left)
            );
            assert!(matches!(
                node.lookup::<Log>("base/x").await,
                Err(LookupError::Left)
            ));
            node.leave();
        }
        Leaving::Drop => drop(node),
        Leaving::Shutdown => {
            // In the background: it waits up to its bound for the busy actor.
            let robot = robot.clone();
            tokio::spawn(async move { robot.shutdown(Duration::from_secs(1)).await });
        }
    }

    let left = StopReason::Remote(RemoteEnd::NodeLeft {
        node: "robot-1".into(),
    });
    assert_eq!(next(&mut notices).await.reason, left, "{how:?}");
    assert_eq!(next(&mut node_notices).await.reason, left, "{how:?}");
    match in_flight.await.unwrap() {
        Err(AskError::Remote { failure, .. }) => match *failure {
            RemoteFailure::Unreachable(why) => assert!(why.contains("left"), "{why}"),
            other => panic!("expected unreachable, got {other:?}"),
        },
        other => panic!("{how:?}: expected the ask to fail as unreachable, got {other:?}"),
    }
    // At once: well inside the 300 ms lease (the clock is paused).
    assert!(started.elapsed() < Duration::from_millis(300), "{how:?}");
    // A failure, as a lost node is: links fire, so a robot commanded from there stops.
    assert!(left.is_failure());
    // The name is free again.
    let (_again, _again_node) = join(&network, "robot-1", Duration::from_millis(300)).await;
}

#[tokio::test(start_paused = true)]
async fn a_node_that_leaves_says_goodbye_and_references_end_at_once() {
    a_node_that_leaves_says_goodbye(Leaving::Leave).await;
}

#[tokio::test(start_paused = true)]
async fn dropping_a_nodes_last_handle_says_goodbye() {
    a_node_that_leaves_says_goodbye(Leaving::Drop).await;
}

#[tokio::test(start_paused = true)]
async fn a_system_shutdown_says_goodbye_before_its_actors_stop() {
    a_node_that_leaves_says_goodbye(Leaving::Shutdown).await;
}

/// An ask whose asker gives up (its timeout) drops its query at once: it does not wait for
/// the node's ask limit, and the give-up is counted.
#[tokio::test(start_paused = true)]
async fn an_abandoned_ask_drops_its_query() {
    let network = MemoryNetwork::new();
    let (robot, node) = join(&network, "robot-1", Duration::from_millis(300)).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(
        &base,
        NodeConfig::in_memory(&network, "base").ask_limit(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(network.queries_waiting(), 0);

    // Never answered (the handler sleeps an hour): the asker gives up after a second.
    let asked = Instant::now();
    assert!(matches!(
        remote
            .wait("never".into())
            .timeout(Duration::from_secs(1))
            .await,
        Err(AskError::Timeout { .. })
    ));
    // Its query goes at once, long before the 30 s ask limit.
    tokio::time::timeout(Duration::from_secs(5), async {
        while network.queries_waiting() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the abandoned ask's query was dropped");
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert_eq!(base_node.stats().abandoned, 1);
    assert_eq!(base.remote_stats().abandoned, 1);

    // A dropped ask future is abandoned too.
    let asking = remote.clone();
    let dropped = tokio::spawn(async move { asking.wait("never".into()).await });
    tokio::time::timeout(Duration::from_secs(5), async {
        while network.queries_waiting() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the second ask's query waits");
    dropped.abort();
    tokio::time::timeout(Duration::from_secs(5), async {
        while network.queries_waiting() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the dropped ask's query was dropped");
    assert_eq!(base_node.stats().abandoned, 2);
}
