//! Topics shared across nodes: values cross both ways, never echo back, feed latest-value
//! subscriptions, and bad frames are refused and counted. On the in-memory transport and on
//! real Zenoh sessions (loopback TCP, multicast scouting off).

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode, ShareError};
use serde::{Deserialize, Serialize};

const T: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sighting {
    robot: String,
    n: u32,
}

fn sighting(robot: &str, n: u32) -> Sighting {
    Sighting {
        robot: robot.into(),
        n,
    }
}

/// Records what a topic brings, in order.
#[derive(Default)]
struct Seen {
    values: Vec<Sighting>,
}

#[actor]
impl Seen {
    #[handler]
    fn listen(&mut self, topic: Topic<Sighting>, ctx: &mut Context<Self>) {
        ctx.subscribe(&topic, |me, value| me.record(value));
    }
    #[handler]
    fn follow(&mut self, topic: Topic<Sighting>, ctx: &mut Context<Self>) {
        ctx.subscribe_latest(&topic, |me, value| me.show(value));
    }
    #[handler]
    fn record(&mut self, value: Sighting) {
        self.values.push(value);
    }
    /// A slow screen.
    #[handler]
    async fn show(&mut self, value: Sighting) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.values.push(value);
    }
    #[handler]
    fn values(&self) -> Vec<Sighting> {
        self.values.clone()
    }
}

/// One system on the network with a shared `obstacles` topic and a subscriber to it.
struct Robot {
    system: ActorSystem,
    node: RemoteNode,
    topic: Topic<Sighting>,
    seen: ActorRef<Seen>,
}

impl Robot {
    async fn join(config: NodeConfig) -> Robot {
        let name = config.name().to_owned();
        let system = ActorSystem::new(name.as_str());
        let node = RemoteNode::join(&system, config).await.unwrap();
        let topic = system.topic::<Sighting>("obstacles").unwrap();
        node.share_topic(&topic).await.unwrap();
        let seen = system.spawn(Seen::default());
        seen.listen(topic.clone()).ask().await.unwrap();
        Robot {
            system,
            node,
            topic,
            seen,
        }
    }

    fn publish(&self, n: u32) {
        self.topic.publish(sighting(self.node.name(), n));
    }

    async fn values(&self) -> Vec<Sighting> {
        self.seen.values().timeout(T).await.unwrap()
    }

    /// Waits (bounded) until this robot's subscriber has seen `value`.
    async fn sees(&self, value: &Sighting) {
        tokio::time::timeout(T, async {
            while !self.values().await.contains(value) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} never saw {value:?}", self.node.name()));
    }
}

/// Publishes on each robot in turn; each value reaches all the others exactly once, and
/// nothing comes back: an echo would be queued before the robot's next own value and show
/// up in every list.
async fn round(robots: &[Robot]) {
    let mut expected = Vec::new();
    for (i, from) in robots.iter().enumerate() {
        let value = sighting(from.node.name(), i as u32);
        from.publish(i as u32);
        for robot in robots {
            robot.sees(&value).await;
        }
        expected.push(value);
    }
    // The first robot once more: what it got from the others is handled by then.
    let last = sighting(robots[0].node.name(), 99);
    robots[0].publish(99);
    for robot in robots {
        robot.sees(&last).await;
    }
    expected.push(last);
    for robot in robots {
        assert_eq!(robot.values().await, expected, "at {}", robot.node.name());
    }
}

#[tokio::test]
async fn values_reach_every_node_that_shares_the_topic_and_never_echo() {
    let network = MemoryNetwork::new();
    let mut robots = Vec::new();
    for name in ["r1", "r2", "r3"] {
        robots.push(Robot::join(NodeConfig::in_memory(&network, name)).await);
    }
    round(&robots).await;
    // r1 sent two values, and received one from each other robot.
    let stats = robots[0].node.stats();
    assert_eq!((stats.topic_sent, stats.topic_received), (2, 2));
    assert_eq!(robots[1].node.stats().topic_received, 3);
    // A node that did not share the topic hears nothing of it.
    let quiet = ActorSystem::new("quiet");
    let _quiet_node = RemoteNode::join(&quiet, NodeConfig::in_memory(&network, "quiet"))
        .await
        .unwrap();
    let unshared = quiet.topic::<Sighting>("obstacles").unwrap();
    let seen = quiet.spawn(Seen::default());
    seen.listen(unshared).ask().await.unwrap();
    robots[0].publish(100);
    robots[1].sees(&sighting("r1", 100)).await;
    assert!(seen.values().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn latest_value_subscriptions_follow_the_network() {
    let network = MemoryNetwork::new();
    let r1 = Robot::join(NodeConfig::in_memory(&network, "r1")).await;
    let r2 = Robot::join(NodeConfig::in_memory(&network, "r2")).await;
    let screen = r2.system.spawn(Seen::default());
    screen.follow(r2.topic.clone()).ask().await.unwrap();
    for n in 0..50 {
        r1.publish(n);
        tokio::time::sleep(Duration::from_millis(10)).await; // faster than the screen
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shown = screen.values().await.unwrap();
    assert_eq!(shown.last(), Some(&sighting("r1", 49))); // it ends on the newest value
    assert!(shown.len() < 10, "{}", shown.len()); // and skipped most of the others
    assert!(shown.windows(2).all(|w| w[0].n < w[1].n));
    // The every-value subscriber on r2 got them all.
    assert_eq!(r2.values().await.len(), 50);
}

#[tokio::test]
async fn bad_topic_frames_are_refused_and_counted_and_the_topic_goes_on() {
    let network = MemoryNetwork::new();
    let r1 = Robot::join(NodeConfig::in_memory(&network, "r1")).await;
    let r2 = Robot::join(NodeConfig::in_memory(&network, "r2").max_frame(64)).await;
    // Garbage, a truncated frame, a frame of another version.
    network.put_raw("compaktor-topic/obstacles", vec![0xff; 40]);
    network.put_raw("compaktor-topic/obstacles", vec![1, 3, 0]);
    network.put_raw("compaktor-topic/obstacles", vec![9; 30]);
    // A node that shares `obstacles` with another payload type.
    let other = ActorSystem::new("other");
    let other_node = RemoteNode::join(&other, NodeConfig::in_memory(&network, "other"))
        .await
        .unwrap();
    let strings = other.topic::<String>("obstacles").unwrap();
    other_node.share_topic(&strings).await.unwrap();
    strings.publish("a wall".into());
    // A value over r2's frame limit (r1 may send it: its limit is the default).
    r1.topic.publish(sighting(&"x".repeat(100), 1));
    let fine = sighting("r1", 2);
    r1.topic.publish(fine.clone());
    r2.sees(&fine).await;
    assert_eq!(r2.values().await, [fine]);
    // r1 and other refused each other's values, and r1 the garbage too.
    assert_eq!(r2.node.stats().refused, 3 + 1 + 1);
    assert_eq!(r2.node.stats().topic_received, 1);
    assert_eq!(r1.node.stats().refused, 3 + 1);
    assert_eq!(r1.node.stats().topic_dropped, 0);
    // r2 keeps working, and so does its node.
    r2.publish(3);
    r1.sees(&sighting("r2", 3)).await;
}

#[tokio::test]
async fn values_over_the_limit_are_dropped_and_counted_on_the_sending_side() {
    let network = MemoryNetwork::new();
    let r1 = Robot::join(NodeConfig::in_memory(&network, "r1").max_frame(64)).await;
    let r2 = Robot::join(NodeConfig::in_memory(&network, "r2")).await;
    r1.topic.publish(sighting(&"x".repeat(100), 1));
    r1.publish(2);
    r2.sees(&sighting("r1", 2)).await;
    assert_eq!(r2.values().await, [sighting("r1", 2)]);
    assert_eq!(r1.node.stats().topic_dropped, 1);
    assert_eq!(r1.node.stats().topic_sent, 1);
    assert_eq!(r1.values().await.len(), 2); // both still reached r1's own subscriber
}

#[tokio::test]
async fn sharing_is_per_topic_and_ends_with_unshare() {
    let network = MemoryNetwork::new();
    let system = ActorSystem::new("r1");
    let node = RemoteNode::join(&system, NodeConfig::in_memory(&network, "r1"))
        .await
        .unwrap();
    let topic = system.topic::<u32>("battery").unwrap();
    // Published with no subscriber here: a dead letter while the topic is local...
    topic.publish(1);
    assert_eq!(system.dead_letter_count(), 1);
    // ...not while it is shared: other nodes may hear it.
    node.share_topic(&topic).await.unwrap();
    node.share_topic(&topic).await.unwrap(); // again: nothing changes
    topic.publish(2);
    assert_eq!(system.dead_letter_count(), 1);
    assert!(node.unshare_topic("battery"));
    assert!(!node.unshare_topic("battery"));
    topic.publish(3);
    assert_eq!(system.dead_letter_count(), 2);
    // Names that cannot be keys, and a second node of the same system.
    let bad = system.topic::<u32>("a/*").unwrap();
    assert_eq!(
        node.share_topic(&bad).await,
        Err(ShareError::BadName("a/*".into()))
    );
    let nested = system.topic::<u32>("sensors/front").unwrap();
    node.share_topic(&nested).await.unwrap();
    let second = RemoteNode::join(&system, NodeConfig::in_memory(&network, "r1b"))
        .await
        .unwrap();
    assert_eq!(
        second.share_topic(&nested).await,
        Err(ShareError::SharedElsewhere("sensors/front".into()))
    );
    // Dropping the node stops sharing.
    drop(node);
    nested.publish(4);
    assert_eq!(system.dead_letter_count(), 3);
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_cross_zenoh_both_ways_without_echo_and_feed_latest_values() {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let r1 = Robot::join(NodeConfig::zenoh("r1").listen(&endpoint)).await;
    let r2 = Robot::join(NodeConfig::zenoh("r2").connect(&endpoint)).await;
    // Zenoh delivers to the subscribers a publisher has seen: wait until each side has
    // heard the other once (values numbered from 1000 up), then count exactly.
    for (from, to) in [(&r1, &r2), (&r2, &r1)] {
        tokio::time::timeout(T, async {
            let mut n = 1000;
            while to.values().await.is_empty() {
                from.publish(n);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the nodes never heard each other");
    }
    let skip = |values: Vec<Sighting>| -> Vec<Sighting> {
        values.into_iter().filter(|v| v.n < 1000).collect()
    };
    r1.publish(1);
    r2.sees(&sighting("r1", 1)).await;
    r2.publish(2);
    r1.sees(&sighting("r2", 2)).await;
    r1.publish(3);
    r2.sees(&sighting("r1", 3)).await;
    let expected = vec![sighting("r1", 1), sighting("r2", 2), sighting("r1", 3)];
    assert_eq!(skip(r1.values().await), expected);
    assert_eq!(skip(r2.values().await), expected);

    let screen = r2.system.spawn(Seen::default());
    screen.follow(r2.topic.clone()).ask().await.unwrap();
    for n in 10..60 {
        r1.publish(n);
    }
    let newest = sighting("r1", 59);
    tokio::time::timeout(T, async {
        while screen.values().await.unwrap().last() != Some(&newest) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the latest value never arrived");
    let shown = screen.values().await.unwrap();
    assert!(shown.windows(2).all(|w| w[0].n < w[1].n));
    assert!(shown.len() < 50, "{}", shown.len());
    assert_eq!(r1.node.stats().refused + r2.node.stats().refused, 0);
}
