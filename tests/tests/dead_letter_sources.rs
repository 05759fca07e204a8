//! Every source of dead letters hands over the lost message where it exists: a pool's router
//! (no worker, killed while it waited for an idle worker or for room), an ask refused because
//! it would deadlock (to the actor itself, or closing a cycle), and a topic (no subscriber, a
//! lagging subscriber, values still on their way to a subscriber that stops), and a stream
//! whose actor restarts while an item waits for room. A subscriber takes the message and sends
//! it again.

use std::sync::Arc;
use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::settle;
use compaktor::{DeadLetterReason, StopReason};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::Notify;

/// A pool worker with a mailbox of one.
struct Crane {
    lifted: Vec<u32>,
}

#[actor(mailbox = 1)]
impl Crane {
    /// Waits for `gate` (forever, if it is never opened).
    #[handler]
    async fn hold(&self, gate: Arc<Notify>) {
        gate.notified().await;
    }

    #[handler]
    fn lift(&mut self, load: u32) {
        self.lifted.push(load);
    }

    #[handler]
    fn lifted(&self) -> Vec<u32> {
        self.lifted.clone()
    }

    /// Asks itself: refused, as it would wait forever.
    #[handler]
    async fn ask_myself(&self, ctx: &mut Context<Self>) -> bool {
        let me = ctx.actor_ref();
        matches!(me.lifted().await, Err(AskError::SelfAsk { .. }))
    }
}

type CraneMsg = <Crane as Actor>::Message;

fn crane() -> Crane {
    Crane { lifted: Vec::new() }
}

fn load(message: &CraneMsg) -> Option<u32> {
    match message {
        CraneMsg::Lift(load, _) => Some(*load),
        _ => None,
    }
}

/// The next dead letter for `handler`, skipping others.
async fn letter_for(letters: &mut BoxStream<'static, DeadLetter>, handler: &str) -> DeadLetter {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let letter = letters.next().await.expect("the stream goes on");
            if letter.handler == handler {
                return letter;
            }
        }
    })
    .await
    .expect("a dead letter in time")
}

#[tokio::test(start_paused = true)]
async fn a_pool_without_workers_hands_over_the_message_to_send_again() {
    let system = ActorSystem::new("test");
    let pool = system.pool(1, crane).spawn().unwrap();
    let mut letters = system.dead_letters();
    let removed = pool.remove_worker().expect("one worker");
    removed.stopped().await;

    pool.lift(4).await.expect("the pool takes it");
    let letter = letter_for(&mut letters, "lift").await;
    assert_eq!(letter.reason, DeadLetterReason::NoWorker);
    assert_eq!(&letter.recipient, pool.label());
    assert_eq!(letter.with_message::<Crane, _>(load), Some(Some(4)));

    // An ask still gets its typed answer at once, and its letter carries the call too.
    assert!(matches!(
        pool.lifted().await,
        Err(AskError::NoWorker { .. })
    ));
    let asked = letter_for(&mut letters, "lifted").await;
    assert!(asked.with_message::<Crane, _>(|_| ()).is_some());

    // Sent again once there is a worker, it is handled.
    pool.add_worker().unwrap();
    letter
        .resend_to(&pool.actor_ref())
        .expect("the letter has it")
        .await
        .unwrap();
    // Asked through the pool, behind the resent tell, of its only worker.
    assert_eq!(pool.lifted().await.unwrap(), [4]);
    assert!(!letter.has_message(), "taken once");
}

#[tokio::test(start_paused = true)]
async fn a_pool_killed_while_it_waits_for_an_idle_worker_hands_over_the_message() {
    let system = ActorSystem::new("test");
    let pool = system
        .pool(1, crane)
        .routing(Routing::Balancing)
        .spawn()
        .unwrap();
    let mut letters = system.dead_letters();
    pool.hold(Arc::new(Notify::new())).await.unwrap();
    settle().await; // the only worker is busy
    pool.lift(3).await.unwrap();
    settle().await; // the router holds it, waiting for an idle worker
    pool.kill();
    assert_eq!(pool.stopped().await, StopReason::Killed);
    let letter = letter_for(&mut letters, "lift").await;
    assert_eq!(letter.reason, DeadLetterReason::Dropped);
    assert_eq!(&letter.recipient, pool.label());
    let message = letter
        .take_message::<Crane>()
        .expect("it carries the message");
    assert_eq!(load(&message), Some(3));
}

#[tokio::test(start_paused = true)]
async fn a_pool_killed_while_it_waits_for_room_in_a_worker_hands_over_the_message() {
    let system = ActorSystem::new("test");
    let pool = system.pool(1, crane).spawn().unwrap();
    let mut letters = system.dead_letters();
    pool.hold(Arc::new(Notify::new())).await.unwrap();
    settle().await; // the worker is in `hold`
    pool.lift(1).await.unwrap(); // fills the worker's mailbox of one
    pool.lift(2).await.unwrap();
    settle().await; // the router waits for room with `lift(2)`
    pool.kill();
    assert_eq!(pool.stopped().await, StopReason::Killed);
    let mut from_pool = None;
    while from_pool.is_none() {
        let letter = letter_for(&mut letters, "lift").await;
        if &letter.recipient == pool.label() {
            from_pool = Some(letter);
        }
    }
    let letter = from_pool.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::Dropped);
    assert_eq!(letter.with_message::<Crane, _>(load), Some(Some(2)));
}

#[tokio::test(start_paused = true)]
async fn an_ask_to_the_actor_itself_is_refused_with_its_message_in_the_letter() {
    let system = ActorSystem::new("test");
    let crane = system.spawn(crane());
    let mut letters = system.dead_letters();
    assert!(crane.ask_myself().await.unwrap());
    let letter = letter_for(&mut letters, "lifted").await;
    assert_eq!(letter.reason, DeadLetterReason::WouldDeadlock);
    let message = letter
        .take_message::<Crane>()
        .expect("it carries the message");
    assert!(matches!(message, CraneMsg::Lifted(_)));
}

struct Node {
    next: Option<ActorRef<Node>>,
}

#[actor]
impl Node {
    #[handler]
    fn link(&mut self, next: ActorRef<Node>) {
        self.next = Some(next);
    }

    /// Asks the next node to relay `hops - 1`: whether an ask on the way closed a cycle.
    #[handler]
    async fn relay(&self, hops: u32) -> bool {
        let Some(next) = self.next.as_ref().filter(|_| hops > 0) else {
            return false;
        };
        match next.relay(hops - 1).timeout(Duration::from_secs(5)).await {
            Ok(cycle) => cycle,
            Err(AskError::Cycle { .. }) => true,
            Err(other) => panic!("{other}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_ask_that_closes_a_cycle_is_refused_with_its_message_in_the_letter() {
    let system = ActorSystem::new("test");
    let a = system.spawn(Node { next: None });
    let b = system.spawn(Node { next: None });
    a.link(b.clone()).ask().await.unwrap();
    b.link(a.clone()).ask().await.unwrap();
    let mut letters = system.dead_letters();
    // a asks b to relay 3, and b asks a to relay 2: that ask is refused.
    assert!(a.relay(4).timeout(Duration::from_secs(10)).await.unwrap());
    let letter = letter_for(&mut letters, "relay").await;
    assert_eq!(letter.reason, DeadLetterReason::WouldDeadlock);
    assert_eq!(&letter.recipient, a.label());
    type NodeMsg = <Node as Actor>::Message;
    let hops = letter.with_message::<Node, _>(|message| match message {
        NodeMsg::Relay(hops, _) => Some(*hops),
        _ => None,
    });
    assert_eq!(hops, Some(Some(2)));
}

#[tokio::test(start_paused = true)]
async fn a_value_published_to_no_one_is_in_its_letter_to_publish_again() {
    let system = ActorSystem::new("test");
    let volts = system.topic::<f32>("battery_volts").unwrap();
    let mut letters = system.dead_letters();
    assert_eq!(volts.publish(11.9), 0);
    let letter = letter_for(&mut letters, "f32").await;
    assert_eq!(letter.reason, DeadLetterReason::NoSubscriber);
    assert_eq!(letter.with_payload::<f32, _>(|v| *v), Some(11.9));
    assert!(
        letter.take_message::<Crane>().is_none(),
        "not an actor's message"
    );
    assert!(letter.take_payload::<u32>().is_none(), "not a `u32`");
    assert_eq!(letter.take_payload::<f32>(), Some(11.9));
    assert_eq!(letter.take_payload::<f32>(), None, "taken once");
}

/// A slow subscriber with a mailbox of one.
struct Listener {
    heard: Vec<u32>,
}

#[actor(mailbox = 1)]
impl Listener {
    /// Subscribes with room for one value beyond the mailbox.
    #[handler]
    fn listen(&mut self, topic: Topic<u32>, ctx: &mut Context<Self>) {
        ctx.subscribe_with(&topic, 1, |me, value| me.hear(value));
    }

    #[handler]
    async fn hold(&self, gate: Arc<Notify>) {
        gate.notified().await;
    }

    #[handler]
    fn hear(&mut self, value: u32) {
        self.heard.push(value);
    }
}

#[tokio::test(start_paused = true)]
async fn values_lost_by_a_lagging_or_stopping_subscriber_are_in_their_letters() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("ticks").unwrap();
    let listener = system.spawn(Listener { heard: Vec::new() });
    listener.listen(topic.clone()).ask().await.unwrap();
    listener.hold(Arc::new(Notify::new())).await.unwrap();
    settle().await; // busy for good
    let mut letters = system.dead_letters();
    for value in 1..=3 {
        // 1 goes into the mailbox, 2 waits for room there, 3 waits in the inbox.
        assert_eq!(topic.publish(value), 1);
        settle().await;
    }
    assert_eq!(topic.publish(4), 0);
    let lagged = letter_for(&mut letters, "u32").await;
    assert_eq!(lagged.reason, DeadLetterReason::Lagged);
    assert_eq!(&lagged.recipient, listener.label());
    assert_eq!(lagged.take_payload::<u32>(), Some(4));

    // It stops: the value in its inbox and the one on its way are dead letters that carry
    // them (as does the one in its mailbox).
    listener.kill();
    listener.stopped().await;
    settle().await;
    let mut lost = Vec::new();
    while lost.len() < 3 {
        let letter = tokio::time::timeout(Duration::from_secs(5), letters.next())
            .await
            .expect("a dead letter in time")
            .expect("the stream goes on");
        assert_eq!(letter.reason, DeadLetterReason::Dropped);
        type ListenerMsg = <Listener as Actor>::Message;
        let value =
            letter
                .take_payload::<u32>()
                .or_else(|| match letter.take_message::<Listener>()? {
                    ListenerMsg::Hear(value, _) => Some(value),
                    _ => None,
                });
        lost.push(value);
    }
    lost.sort();
    assert_eq!(lost, [Some(1), Some(2), Some(3)]);
}

/// A sensor fed by a stream, with a mailbox of one, whose bus can reset (a panic).
struct Probe {
    seen: Vec<u32>,
}

#[actor(mailbox = 1)]
impl Probe {
    #[handler]
    fn attach(
        &mut self,
        samples: futures::channel::mpsc::UnboundedReceiver<u32>,
        ctx: &mut Context<Self>,
    ) {
        ctx.attach_stream(samples, |me, sample| me.see(sample));
    }

    /// Busy until `gate` opens, then fails.
    #[handler]
    async fn reset(&self, gate: Arc<Notify>) {
        gate.notified().await;
        panic!("bus reset");
    }

    #[handler]
    fn see(&mut self, sample: u32) {
        self.seen.push(sample);
    }

    #[handler]
    fn seen(&self) -> Vec<u32> {
        self.seen.clone()
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_item_waiting_for_room_when_its_actor_restarts_is_in_its_letter() {
    let system = ActorSystem::new("test");
    let probe = system.spawn_with(|| Probe { seen: Vec::new() }).unwrap();
    let (samples, rx) = futures::channel::mpsc::unbounded();
    probe.attach(rx).ask().await.unwrap();
    let gate = Arc::new(Notify::new());
    probe.reset(Arc::clone(&gate)).await.unwrap();
    settle().await; // busy
    let mut letters = system.dead_letters();
    samples.unbounded_send(1).unwrap(); // into the mailbox of one
    settle().await;
    samples.unbounded_send(2).unwrap(); // waits for room
    settle().await;
    gate.notify_one(); // the bus resets: the instance fails, and its stream with it
    let letter = letter_for(&mut letters, "see").await;
    assert_eq!(letter.reason, DeadLetterReason::Dropped);
    type ProbeMsg = <Probe as Actor>::Message;
    let sample = letter.with_message::<Probe, _>(|message| match message {
        ProbeMsg::See(sample, _) => Some(*sample),
        _ => None,
    });
    assert_eq!(sample, Some(Some(2)));
    // The next instance handles what stayed in the mailbox.
    assert_eq!(probe.seen().await.unwrap(), [1]);
}
