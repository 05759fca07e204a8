//! Remote actors over the in-memory transport: the semantics of join, export, lookup, tell
//! and ask, and what happens to bad input.

mod common;

use std::time::Duration;

use common::{Log, Odd, Other, Secret};
use compaktor::prelude::*;
use compaktor::{DeadLetter, RemoteFailure};
use compaktor_remote::{
    ExportError, JoinError, LookupError, MemoryNetwork, NodeConfig, RemoteNode, RemoteStats,
};
use futures::StreamExt;

const T: Duration = Duration::from_secs(5);

async fn two_nodes(network: &MemoryNetwork) -> (ActorSystem, RemoteNode, ActorSystem, RemoteNode) {
    let robot = ActorSystem::new("robot");
    let node = RemoteNode::join(&robot, NodeConfig::in_memory(network, "robot-1"))
        .await
        .unwrap();
    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(&base, NodeConfig::in_memory(network, "base"))
        .await
        .unwrap();
    (robot, node, base, base_node)
}

#[tokio::test]
async fn tell_ask_and_typed_error_cross_the_network() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();

    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    remote.push(1).await.unwrap();
    assert_eq!(remote.push_and_count(2).timeout(T).await.unwrap(), 2);
    assert_eq!(remote.entries().timeout(T).await.unwrap(), vec![1, 2]);
    assert_eq!(remote.half(8).timeout(T).await.unwrap(), 4);
    assert_eq!(
        remote.half(7).timeout(T).await,
        Err(AskError::Handler(Odd(7)))
    );
    // `.ask()` on a tell waits until the remote actor handled it.
    remote.push(3).ask().timeout(T).await.unwrap();
    assert_eq!(log.entries().await.unwrap(), vec![1, 2, 3]);
    assert_eq!(base_node.stats().sent, 6);
    assert_eq!(node.stats().received, 6 + 1); // and the lookup's describe frame
}

#[tokio::test]
async fn tells_and_asks_from_one_reference_are_handled_in_order() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();

    // Asks are sent by tasks of their own, so on the wire they trail the tells queued after
    // them; the sequence numbers put them back in order.
    let mut pending = Vec::new();
    for n in 0..200u32 {
        if n % 3 == 0 {
            pending.push(remote.push_and_count(n).try_send().unwrap());
        } else {
            remote.push(n).await.unwrap();
        }
    }
    for reply in pending {
        reply.await.unwrap();
    }
    let handled = remote.entries().timeout(T).await.unwrap();
    assert_eq!(handled, (0..200).collect::<Vec<u32>>());
}

/// Tells queued together travel in one put (a batch), not one put each; asks queued among
/// them split the batches and everything is handled in the order it was sent.
#[tokio::test]
async fn tells_queued_together_go_in_one_put_in_order() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();

    // All queued before the reference's task runs (this runtime has one thread, and
    // `try_send` never yields).
    let before = network.tell_puts();
    for n in 0..100u32 {
        remote.push(n).try_send().unwrap();
    }
    assert_eq!(
        remote.entries().timeout(T).await.unwrap(),
        (0..100).collect::<Vec<u32>>()
    );
    assert_eq!(network.tell_puts() - before, 1, "one put for 100 tells");
    assert_eq!(base_node.stats().sent, 101);
    assert_eq!(node.stats().received, 101 + 1); // and the lookup's describe frame

    // Asks among queued tells: each ask sends the tells before it first.
    let before = network.tell_puts();
    let mut pending = Vec::new();
    for n in 100..200u32 {
        if n % 10 == 0 {
            pending.push(remote.push_and_count(n).try_send().unwrap());
        } else {
            remote.push(n).try_send().unwrap();
        }
    }
    for reply in pending {
        reply.await.unwrap();
    }
    assert_eq!(
        remote.entries().timeout(T).await.unwrap(),
        (0..200).collect::<Vec<u32>>()
    );
    // Nine tells after each of the ten asks: ten batches.
    assert_eq!(network.tell_puts() - before, 10);
    assert_eq!(node.stats().refused, 0);
}

#[tokio::test]
async fn remote_panic_and_stop_reach_the_asker_typed() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();

    match remote.explode().timeout(T).await {
        Err(AskError::Panicked {
            message, handler, ..
        }) => {
            assert_eq!(handler, "explode");
            assert!(message.contains("boom"), "{message}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    // The panicked actor stopped: the next ask is refused as stopped.
    assert!(matches!(
        remote.entries().timeout(T).await,
        Err(AskError::Stopped { .. })
    ));
}

#[tokio::test]
async fn asks_after_a_remote_stop_fail_as_stopped() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(remote.quit().timeout(T).await.unwrap(), 1);
    log.stopped().await;
    assert!(matches!(
        remote.entries().timeout(T).await,
        Err(AskError::Stopped { .. })
    ));
}

#[tokio::test]
async fn lookup_of_a_missing_name_or_another_type_is_a_typed_error() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    node.export(&robot.spawn(Log::default()), "log")
        .await
        .unwrap();

    assert_eq!(
        base_node
            .lookup::<Log>("robot-1/nothing")
            .await
            .unwrap_err(),
        LookupError::NotFound("robot-1/nothing".into())
    );
    assert_eq!(
        base_node.lookup::<Log>("robot-9/log").await.unwrap_err(),
        LookupError::NotFound("robot-9/log".into())
    );
    match base_node.lookup::<Other>("robot-1/log").await.unwrap_err() {
        LookupError::WrongType { actual, .. } => assert!(actual.ends_with("Log"), "{actual}"),
        other => panic!("expected WrongType, got {other:?}"),
    }
    assert!(matches!(
        base_node.lookup::<Log>("no-slash").await,
        Err(LookupError::BadPath(_))
    ));
}

#[tokio::test]
async fn two_nodes_of_one_name_and_two_exports_of_one_name_are_refused() {
    let network = MemoryNetwork::new();
    let (robot, node, base, _base_node) = two_nodes(&network).await;
    assert_eq!(
        RemoteNode::join(&base, NodeConfig::in_memory(&network, "robot-1"))
            .await
            .unwrap_err(),
        JoinError::NameTaken("robot-1".into())
    );
    assert!(matches!(
        RemoteNode::join(&base, NodeConfig::in_memory(&network, "a/b")).await,
        Err(JoinError::BadName(_))
    ));
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    assert_eq!(
        node.export(&log, "log").await.unwrap_err(),
        ExportError::NameTaken("log".into())
    );
    // The name is free again once its node is gone.
    drop(node);
    RemoteNode::join(&base, NodeConfig::in_memory(&network, "robot-1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn only_exported_actors_are_reachable() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let _secret = robot.builder(Secret).name("secret").spawn().unwrap();
    node.export(&robot.spawn(Log::default()), "log")
        .await
        .unwrap();
    for key in [
        "compaktor/robot-1/secret",
        "compaktor/robot-1/$1",
        "compaktor/robot-1",
    ] {
        assert_eq!(network.query_raw(key, vec![1; 40]).await, None, "{key}");
    }
    assert!(matches!(
        base_node.lookup::<Log>("robot-1/secret").await,
        Err(LookupError::NotFound(_))
    ));
    // Unexported: gone from the network, the actor keeps running.
    assert!(node.unexport("log"));
    assert!(matches!(
        base_node.lookup::<Log>("robot-1/log").await,
        Err(LookupError::NotFound(_))
    ));
}

#[tokio::test]
async fn bad_frames_are_refused_counted_and_harmless() {
    let network = MemoryNetwork::new();
    let (robot, node, _base, base_node) = two_nodes(&network).await;
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let key = "compaktor/robot-1/log";

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", vec![0xff; 64]),
        ("wrong version", {
            let mut f = vec![9u8, 1];
            f.extend([0; 24]);
            f
        }),
        ("truncated", vec![1, 1, 0, 0]),
        ("wrong fingerprint", {
            let mut f = vec![1u8, 1];
            f.extend(0xdead_beefu64.to_le_bytes());
            f.extend(77u64.to_le_bytes());
            f.extend(0u64.to_le_bytes());
            f.push(0);
            f
        }),
    ];
    for (what, bytes) in &cases {
        let answer = network.query_raw(key, bytes.clone()).await.expect(what);
        assert_eq!(answer[0], 6, "{what}: refused");
        let text = String::from_utf8_lossy(&answer[1..]);
        assert!(!text.is_empty(), "{what}");
        network.put_raw(key, bytes.clone());
    }
    // Each refused twice (as a query and as a put), logged and counted.
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    remote.push(5).await.unwrap();
    assert_eq!(remote.entries().timeout(T).await.unwrap(), vec![5]);
    assert_eq!(node.stats().refused, 2 * cases.len() as u64);
    assert!(log.is_alive());
}

#[tokio::test]
async fn an_oversized_call_is_refused_and_the_asker_told() {
    let network = MemoryNetwork::new();
    let robot = ActorSystem::new("robot");
    let node = RemoteNode::join(
        &robot,
        NodeConfig::in_memory(&network, "robot-1").max_frame(64),
    )
    .await
    .unwrap();
    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base"))
        .await
        .unwrap();
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();

    let big = "x".repeat(100);
    match remote.wait(big).timeout(T).await {
        Err(AskError::Remote { failure, .. }) => match *failure {
            RemoteFailure::Refused(why) => {
                assert!(why.contains("over this node's limit of 64"), "{why}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        },
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The sender's order goes on after the refused frame.
    remote.push(1).await.unwrap();
    assert_eq!(remote.entries().timeout(T).await.unwrap(), vec![1]);
    assert_eq!(node.stats().refused, 1);

    // Over the sender's own limit: refused before it is sent.
    let small = RemoteNode::join(
        &base,
        NodeConfig::in_memory(&network, "small").max_frame(40),
    )
    .await
    .unwrap();
    let remote: ActorRef<Log> = small.lookup("robot-1/log").await.unwrap();
    match remote.wait("y".repeat(50)).timeout(T).await {
        Err(AskError::Remote { failure, .. }) => {
            assert!(matches!(*failure, RemoteFailure::Codec(_)), "{failure:?}")
        }
        other => panic!("expected an encoding failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_tell_to_a_full_remote_mailbox_is_a_dead_letter_there() {
    let network = MemoryNetwork::new();
    let (robot, node, base, base_node) = two_nodes(&network).await;
    let log = robot
        .builder(Log::default())
        .mailbox(Mailbox::bounded(1))
        .spawn()
        .unwrap();
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();

    // Block the actor in a handler, fill its one slot, then tell once more.
    let _blocked = remote.wait("gate".into()).try_send().unwrap();
    tokio::time::timeout(T, async {
        loop {
            let busy = robot.health().iter().any(|h| {
                h.actor.id == log.id() && h.in_handler_for.is_some() && h.mailbox_len == 0
            });
            if busy {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the actor took the blocking call");
    let mut letters = robot.dead_letters();
    remote.push(1).await.unwrap();
    remote.push(2).await.unwrap();
    let letter: DeadLetter = tokio::time::timeout(T, letters.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.reason, compaktor::DeadLetterReason::MailboxFull);
    assert_eq!(letter.handler, "push");
    // And a full mailbox answers an ask with `Full`.
    assert!(matches!(
        remote.entries().timeout(T).await,
        Err(AskError::Full { capacity: 1, .. })
    ));

    // A flood of tells to the slow actor: each is a counted dead letter on the receiving
    // side; nothing queues up on either side.
    let received = node.stats().received;
    const FLOOD: u64 = 2_000;
    for n in 0..FLOOD {
        remote.push(n as u32).await.unwrap();
    }
    tokio::time::timeout(T, async {
        while node.stats().received < received + FLOOD {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every tell arrived");
    let stats = node.stats();
    // The one slot holds `push(1)`; `push(2)`, the ask and the flood were refused.
    assert_eq!(stats.dead_letters, FLOOD + 2);
    assert_eq!(stats.refused, 0);
    // The receiving system's own report says the same (next to its `health()`).
    assert_eq!(robot.remote_stats(), stats);
    assert_eq!(robot.remote_stats().dead_letters, FLOOD + 2);
    assert_eq!(
        robot.dead_letter_count_for(compaktor::DeadLetterReason::MailboxFull),
        FLOOD + 2
    );
    let log_health = robot.health().into_iter().find(|h| h.actor.id == log.id());
    assert_eq!(log_health.unwrap().mailbox_len, 1);
    let proxy_health = base
        .health()
        .into_iter()
        .find(|h| h.actor.id == remote.id());
    assert!(proxy_health.is_none_or(|h| h.mailbox_len == 0));
}

/// A system's remote traffic report, the sibling of its `health()`: its nodes' counts added
/// up (sent, received, refused), and a node that is gone no longer counted.
#[tokio::test]
async fn a_system_reports_its_nodes_remote_traffic() {
    let network = MemoryNetwork::new();
    let (robot, node, base, base_node) = two_nodes(&network).await;
    assert_eq!(robot.remote_stats(), RemoteStats::default());
    assert_eq!(
        ActorSystem::new("alone").remote_stats(),
        RemoteStats::default()
    );
    let log = robot.spawn(Log::default());
    node.export(&log, "log").await.unwrap();
    let remote: ActorRef<Log> = base_node.lookup("robot-1/log").await.unwrap();
    assert_eq!(remote.push_and_count(1).timeout(T).await.unwrap(), 1);

    // A second node of the base system sends a call too.
    let second = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base-2"))
        .await
        .unwrap();
    let again: ActorRef<Log> = second.lookup("robot-1/log").await.unwrap();
    assert_eq!(again.push_and_count(2).timeout(T).await.unwrap(), 2);
    // And bytes that do not decode reach the robot.
    network.put_raw("compaktor/robot-1/log", vec![0xde, 0xad]);
    tokio::time::timeout(T, async {
        while robot.remote_stats().refused == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the bad frame was refused");

    let report = base.remote_stats();
    assert_eq!(report.sent, 2);
    assert_eq!(report, base_node.stats() + second.stats());
    let report = robot.remote_stats();
    assert_eq!(report, node.stats());
    // Two lookups' describe frames, two calls, one bad frame.
    assert_eq!((report.received, report.refused), (2 + 2 + 1, 1));
    assert_eq!(report.dead_letters, 0);

    drop(second);
    assert_eq!(base.remote_stats(), base_node.stats());
}
