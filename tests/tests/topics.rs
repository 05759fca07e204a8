//! Pub/sub topics: every subscriber gets every value in order; stopped subscribers leave by
//! themselves; a slow subscriber never holds up the publisher and what it misses is counted;
//! latest-value subscriptions; unsubscribing; names and types.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::testkit::{advance, settle};
use compaktor::{DeadLetter, DeadLetterReason, prelude::*};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::Semaphore;

type Log = Arc<Mutex<Vec<u32>>>;

/// A subscriber that logs what it handles. With a gate, each value waits for a permit first
/// (a stuck driver); `Gate::open` lets everything through.
struct Listener {
    log: Log,
    gate: Option<Arc<Semaphore>>,
}

#[actor]
impl Listener {
    #[handler]
    fn follow(&mut self, topic: Topic<u32>, lag: usize, ctx: &mut Context<Self>) -> Subscription {
        ctx.subscribe_with(&topic, lag, |me, value| me.on_value(value))
    }

    #[handler]
    fn follow_latest(&mut self, topic: Topic<u32>, ctx: &mut Context<Self>) -> Subscription {
        ctx.subscribe_latest(&topic, |me, value| me.on_value(value))
    }

    #[handler]
    async fn on_value(&mut self, value: u32) {
        if let Some(gate) = &self.gate {
            let _permit = gate
                .acquire()
                .await
                .expect("the gate is never closed for good");
        }
        self.log.lock().unwrap().push(value);
    }
}

struct Gate(Arc<Semaphore>);

impl Gate {
    fn closed() -> Self {
        Gate(Arc::new(Semaphore::new(0)))
    }

    fn open(&self) {
        self.0.add_permits(1);
    }
}

fn listener(system: &ActorSystem, gate: Option<&Gate>) -> (ActorRef<Listener>, Log) {
    listener_with(system, gate, Mailbox::DEFAULT)
}

fn listener_with(
    system: &ActorSystem,
    gate: Option<&Gate>,
    mailbox: Mailbox,
) -> (ActorRef<Listener>, Log) {
    let log = Log::default();
    let actor = system
        .builder(Listener {
            log: log.clone(),
            gate: gate.map(|g| g.0.clone()),
        })
        .mailbox(mailbox)
        .spawn()
        .expect("unnamed");
    (actor, log)
}

fn seen(log: &Log) -> Vec<u32> {
    log.lock().unwrap().clone()
}

/// Lets (paused) time pass until `done`, or fails after a simulated minute.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..60_000 {
        if done() {
            return;
        }
        advance(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The next `n` dead letters.
async fn letters(stream: &mut BoxStream<'static, DeadLetter>, n: usize) -> Vec<DeadLetter> {
    let mut out = Vec::new();
    for _ in 0..n {
        let letter = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a dead letter in time")
            .expect("the dead-letter stream is open");
        out.push(letter);
    }
    out
}

const PAYLOAD: &str = "u32";

#[tokio::test(start_paused = true)]
async fn every_subscriber_gets_every_value_in_order() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("numbers").unwrap();
    let listeners: Vec<_> = (0..3).map(|_| listener(&system, None)).collect();
    for (actor, _) in &listeners {
        actor.follow(topic.clone(), 64).await.unwrap();
    }
    assert_eq!(topic.subscriber_count(), 3);

    // A publisher that lets the subscribers run now and then, as a sensor loop does.
    for batch in 0..20 {
        for value in batch * 50..(batch + 1) * 50 {
            assert_eq!(topic.publish(value), 3, "value {value} reached everyone");
        }
        settle().await;
    }
    until("everyone has 1000 values", || {
        listeners.iter().all(|(_, log)| seen(log).len() == 1000)
    })
    .await;
    for (_, log) in &listeners {
        assert_eq!(seen(log), (0..1000).collect::<Vec<_>>());
    }
    assert_eq!(system.dead_letter_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stopped_subscriber_is_removed_and_the_others_keep_receiving() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("numbers").unwrap();
    let (a, a_log) = listener(&system, None);
    let (b, b_log) = listener(&system, None);
    let (c, c_log) = listener(&system, None);
    let subscriptions = [
        a.follow(topic.clone(), 64).await.unwrap(),
        b.follow(topic.clone(), 64).await.unwrap(),
        c.follow(topic.clone(), 64).await.unwrap(),
    ];
    assert_eq!(topic.publish(1), 3);
    until("all have 1", || {
        [&a_log, &b_log, &c_log].iter().all(|l| seen(l) == [1])
    })
    .await;

    b.stop();
    assert_eq!(b.stopped().await, StopReason::Stopped);
    assert_eq!(
        topic.subscriber_count(),
        2,
        "gone as soon as it has stopped"
    );
    assert!(!subscriptions[1].is_active());
    c.kill();
    c.stopped().await;
    assert_eq!(topic.subscriber_count(), 1);

    assert_eq!(topic.publish(2), 1);
    until("a has 2", || seen(&a_log) == [1, 2]).await;
    settle().await;
    assert_eq!(seen(&b_log), [1]);
    assert_eq!(seen(&c_log), [1]);
    assert!(subscriptions[0].is_active());
    assert_eq!(system.dead_letter_count(), 0, "no one lost a value");

    // The last one leaves by being released: no ref left.
    drop(a);
    until("the topic is empty", || topic.subscriber_count() == 0).await;
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stopping_subscriber_gets_no_new_values() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("numbers").unwrap();
    let gate = Gate::closed();
    let (a, log) = listener(&system, Some(&gate));
    a.follow(topic.clone(), 64).await.unwrap();
    topic.publish(0);
    settle().await; // stuck handling 0

    a.stop(); // still handling 0, but on its way out
    assert_eq!(topic.subscriber_count(), 0);
    assert_eq!(topic.publish(1), 0);
    gate.open();
    assert_eq!(a.stopped().await, StopReason::Stopped);
    assert_eq!(seen(&log), [0]);
    assert_eq!(system.dead_letter_count(), 1, "the publish to no one");
}

#[tokio::test(start_paused = true)]
async fn lagged_values_are_counted_exactly_as_dead_letters_for_the_slow_subscriber() {
    let system = ActorSystem::new("test");
    let mut dead = system.dead_letters();
    let topic = system.topic::<u32>("numbers").unwrap();
    let gate = Gate::closed();
    let (slow, slow_log) = listener(&system, Some(&gate));
    let (fast, fast_log) = listener(&system, None);
    slow.follow(topic.clone(), 4).await.unwrap();
    fast.follow(topic.clone(), 1000).await.unwrap();

    assert_eq!(topic.publish(0), 2);
    settle().await; // the slow one is now stuck handling 0
    // A burst with no await in between: its feeding task cannot run, so exactly 4 values (its
    // lag bound) wait for it, and the other 96 are dropped for it alone.
    let reached: Vec<usize> = (1..=100).map(|value| topic.publish(value)).collect();
    assert_eq!(reached[..4], [2; 4]);
    assert!(reached[4..].iter().all(|&r| r == 1));

    let lagged = letters(&mut dead, 96).await;
    for letter in &lagged {
        assert_eq!(letter.reason, DeadLetterReason::Lagged);
        assert_eq!(&letter.recipient, slow.label());
        assert_eq!(letter.handler, PAYLOAD);
    }
    assert_eq!(system.dead_letter_count(), 96);

    until("fast has everything", || seen(&fast_log).len() == 101).await;
    assert_eq!(seen(&fast_log), (0..=100).collect::<Vec<_>>());
    assert!(seen(&slow_log).is_empty());
    gate.open();
    until("slow has caught up", || seen(&slow_log).len() == 5).await;
    settle().await;
    assert_eq!(seen(&slow_log), [0, 1, 2, 3, 4]);
    assert_eq!(system.dead_letter_count(), 96);
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_never_blocks_the_publisher() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("numbers").unwrap();
    let gate = Gate::closed();
    let (slow, slow_log) = listener_with(&system, Some(&gate), Mailbox::bounded(2));
    let (fast, fast_log) = listener(&system, None);
    slow.follow(topic.clone(), 4).await.unwrap();
    fast.follow(topic.clone(), 1000).await.unwrap();

    // The publisher yields after each value, so the slow one's feed fills its mailbox and
    // then waits for room; the publisher still finishes while the slow one is stuck.
    let publisher = tokio::spawn({
        let topic = topic.clone();
        async move {
            for value in 0..200 {
                topic.publish(value);
                tokio::task::yield_now().await;
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(1), publisher)
        .await
        .expect("the publisher was never held up")
        .unwrap();
    assert!(seen(&slow_log).is_empty(), "the slow one is still stuck");
    until("fast has everything", || seen(&fast_log).len() == 200).await;
    assert_eq!(seen(&fast_log), (0..200).collect::<Vec<_>>());

    gate.open();
    settle().await;
    advance(Duration::from_millis(10)).await;
    let handled = seen(&slow_log);
    let lagged = system.dead_letter_count() as usize;
    // What the slow one missed is the newest, never a gap: it handled a prefix, in order.
    assert_eq!(handled, (0..handled.len() as u32).collect::<Vec<_>>());
    assert!(lagged > 0 && handled.len() < 10, "it fell behind");
    assert_eq!(
        handled.len() + lagged,
        200,
        "every value handled or counted"
    );
}

#[tokio::test(start_paused = true)]
async fn publishing_with_no_subscriber_is_a_dead_letter() {
    let system = ActorSystem::new("test");
    let mut dead = system.dead_letters();
    let topic = system.topic::<u32>("obstacles").unwrap();
    assert_eq!(topic.publish(7), 0);
    let [letter] = letters(&mut dead, 1).await.try_into().unwrap();
    assert_eq!(letter.reason, DeadLetterReason::NoSubscriber);
    assert_eq!(letter.recipient.id.as_u64(), 0);
    assert_eq!(letter.recipient.name.as_deref(), Some("obstacles"));
    assert_eq!(letter.handler, PAYLOAD);

    // Also once the last subscriber has gone.
    let (a, _) = listener(&system, None);
    a.follow(topic.clone(), 64).await.unwrap();
    assert_eq!(topic.publish(8), 1);
    settle().await; // handled
    a.kill();
    a.stopped().await;
    assert_eq!(topic.publish(9), 0);
    let [letter] = letters(&mut dead, 1).await.try_into().unwrap();
    assert_eq!(letter.reason, DeadLetterReason::NoSubscriber);
    assert_eq!(system.dead_letter_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_latest_value_subscriber_sees_only_the_newest_after_a_burst() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("range").unwrap();
    let gate = Gate::closed();
    let (display, log) = listener(&system, Some(&gate));
    display.follow_latest(topic.clone()).await.unwrap();

    assert_eq!(topic.publish(0), 1);
    settle().await; // stuck handling 0
    for value in 1..=100 {
        assert_eq!(topic.publish(value), 1);
        settle().await; // its feed runs between values, and still sends nothing more
    }
    gate.open();
    until("the newest arrived", || seen(&log).last() == Some(&100)).await;
    advance(Duration::from_millis(10)).await;
    assert_eq!(seen(&log), [0, 100]);

    // An actor that keeps up sees every value.
    for value in 101..=103 {
        topic.publish(value);
        settle().await;
    }
    assert_eq!(seen(&log), [0, 100, 101, 102, 103]);
    assert_eq!(
        system.dead_letter_count(),
        0,
        "replaced values are not dead letters"
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_name_is_the_same_topic_and_another_type_is_an_error() {
    let system = ActorSystem::new("test");
    let first = system.topic::<u32>("speed").unwrap();
    let again = system.topic::<u32>("speed").unwrap();
    let (a, log) = listener(&system, None);
    a.follow(first.clone(), 64).await.unwrap();
    assert_eq!(again.subscriber_count(), 1);
    assert_eq!(again.publish(5), 1);
    until("a has 5", || seen(&log) == [5]).await;

    let err = system.topic::<i64>("speed").unwrap_err();
    assert_eq!(
        err,
        TopicError::WrongType {
            name: "speed".into(),
            expected: "i64",
            actual: "u32",
        }
    );
    assert_eq!(
        err.to_string(),
        "the topic `speed` carries `u32`, not `i64`; use another name"
    );
    // Names belong to a system.
    let other = ActorSystem::new("other");
    assert!(other.topic::<i64>("speed").is_ok());
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_subscription_stops_delivery_at_once() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("numbers").unwrap();
    let gate = Gate::closed();
    let (a, log) = listener(&system, Some(&gate));
    let subscription = a.follow(topic.clone(), 64).await.unwrap();
    assert!(subscription.is_active());
    assert_eq!(subscription.topic(), "numbers");

    topic.publish(0);
    settle().await; // stuck handling 0
    topic.publish(1);
    topic.publish(2);
    settle().await; // 1 and 2 are in its mailbox
    subscription.cancel();
    assert!(!subscription.is_active());
    assert_eq!(topic.subscriber_count(), 0);

    gate.open();
    advance(Duration::from_millis(10)).await;
    assert_eq!(
        seen(&log),
        [0],
        "values queued before the cancel are skipped"
    );
    assert_eq!(topic.publish(3), 0);
    advance(Duration::from_millis(10)).await;
    assert_eq!(seen(&log), [0]);
    assert_eq!(system.dead_letter_count(), 1, "only the publish to no one");
    assert!(a.is_alive());
}

#[tokio::test(start_paused = true)]
async fn values_waiting_for_a_subscriber_that_is_killed_are_dead_letters() {
    let system = ActorSystem::new("test");
    let mut dead = system.dead_letters();
    let topic = system.topic::<u32>("numbers").unwrap();
    let gate = Gate::closed();
    let (a, log) = listener_with(&system, Some(&gate), Mailbox::bounded(2));
    a.follow(topic.clone(), 4).await.unwrap();
    topic.publish(0);
    settle().await; // stuck handling 0
    for value in 1..=10 {
        topic.publish(value);
        settle().await;
    }
    a.kill();
    a.stopped().await;
    settle().await;

    // 2 in the mailbox, 1 waiting for room, 4 in the lag buffer: 7 dropped; 3 lagged.
    let letters = letters(&mut dead, 10).await;
    let lagged = letters
        .iter()
        .filter(|l| l.reason == DeadLetterReason::Lagged)
        .count();
    assert_eq!(lagged, 3);
    assert!(letters.iter().all(|l| &l.recipient == a.label()));
    assert_eq!(system.dead_letter_count(), 10, "each value once");
    assert!(seen(&log).is_empty());
    assert_eq!(topic.subscriber_count(), 0);
}

// ---- restarts ----------------------------------------------------------------------------

/// Subscribes from its start hook, so a restarted instance subscribes again.
struct Sub {
    log: Log,
}

#[actor]
impl Sub {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        let topic = ctx.system().topic::<u32>("numbers")?;
        ctx.subscribe(&topic, |me, value| me.on_value(value));
        Ok(())
    }

    #[handler]
    fn on_value(&mut self, value: u32) {
        self.log.lock().unwrap().push(value);
    }

    #[handler]
    fn crash(&mut self) {
        panic!("sensor glitch");
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

struct Team {
    log: Log,
}

#[actor]
impl Team {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        let log = self.log.clone();
        ctx.child(move || Sub { log: log.clone() })
            .name("sub")
            .start()
            .await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_restarted_subscriber_is_subscribed_once() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("numbers").unwrap();
    let log = Log::default();
    let _team = system
        .builder(Team { log: log.clone() })
        .name("team")
        .start()
        .await
        .unwrap();
    let sub = system.lookup::<Sub>("/team/sub").unwrap();
    assert_eq!(topic.publish(1), 1);
    until("1 arrived", || seen(&log) == [1]).await;
    sub.crash().await.unwrap();
    while sub.restarts().await.unwrap() == 0 {
        advance(Duration::from_millis(1)).await;
    }
    advance(Duration::from_millis(10)).await;
    assert_eq!(topic.subscriber_count(), 1);
    assert_eq!(topic.publish(2), 1);
    until("2 arrived", || seen(&log) == [1, 2]).await;
    advance(Duration::from_millis(10)).await;
    assert_eq!(seen(&log), [1, 2], "handled once, by the new instance");
}

/// Counts the topic's subscribers from its start hook, right after subscribing, and from its
/// stop hook (as 100 + the count).
struct Recount {
    counts: Log,
}

#[actor]
impl Recount {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        let topic = ctx.system().topic::<u32>("recount")?;
        ctx.subscribe(&topic, |me, value| me.on_value(value));
        let count = u32::try_from(topic.subscriber_count()).unwrap();
        self.counts.lock().unwrap().push(count);
        Ok(())
    }

    #[on_stop]
    fn stop(&mut self, ctx: &mut Context<Self>) {
        let topic = ctx.system().topic::<u32>("recount").unwrap();
        let count = u32::try_from(topic.subscriber_count()).unwrap();
        self.counts.lock().unwrap().push(100 + count);
    }

    #[handler]
    fn on_value(&mut self, _value: u32) {}

    #[handler]
    fn crash(&mut self) {
        panic!("sensor glitch");
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

struct RecountTeam {
    counts: Log,
}

#[actor]
impl RecountTeam {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        let counts = self.counts.clone();
        ctx.child(move || Recount {
            counts: counts.clone(),
        })
        .name("recount")
        .start()
        .await?;
        Ok(())
    }
}

/// An instance's subscription leaves the topic when the instance ends, before its stop hook
/// runs: nothing is offered to it after that, and a restarted subscriber's new instance is
/// the topic's only subscription from the moment it subscribes.
#[tokio::test(start_paused = true)]
async fn a_restarted_subscribers_old_subscription_leaves_when_its_instance_ends() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("recount").unwrap();
    let counts = Log::default();
    let _team = system
        .builder(RecountTeam {
            counts: counts.clone(),
        })
        .name("team")
        .start()
        .await
        .unwrap();
    let recount = system.lookup::<Recount>("/team/recount").unwrap();
    for round in 1..=3 {
        recount.crash().await.unwrap();
        assert_eq!(recount.restarts().await.unwrap(), round);
        assert_eq!(topic.subscriber_count(), 1, "round {round}");
    }
    assert_eq!(
        seen(&counts),
        [1, 100, 1, 100, 1, 100, 1],
        "seen by each instance's start hook, and by its stop hook (+100)"
    );
    assert_eq!(topic.publish(7), 1);
}

/// What a restart-heavy subscriber handles and what is counted as lost add up to what was
/// published, exactly: no value is handled and also counted as a dead letter.
struct Flaky {
    handled: Arc<std::sync::atomic::AtomicU64>,
}

/// The message of `Flaky`'s planned panics, kept off the test output.
const FLAKY_PANIC: &str = "planned subscriber panic";

#[actor]
impl Flaky {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        let topic = ctx.system().topic::<u32>("flaky")?;
        ctx.subscribe_with(&topic, 100_000, |me, value| me.on_value(value));
        Ok(())
    }

    #[handler]
    fn on_value(&mut self, value: u32) {
        self.handled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if value.is_multiple_of(10) {
            panic!("{FLAKY_PANIC} at {value}");
        }
    }
}

struct FlakyTeam {
    handled: Arc<std::sync::atomic::AtomicU64>,
}

#[actor]
impl FlakyTeam {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.supervise(Supervision::one_for_one().max_restarts(1_000_000, Duration::from_secs(1)));
        let handled = self.handled.clone();
        ctx.child(move || Flaky {
            handled: handled.clone(),
        })
        .name("flaky")
        .start()
        .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_heavy_subscriber_loses_exactly_what_it_does_not_handle() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if !message.is_some_and(|m| m.starts_with(FLAKY_PANIC)) {
                previous(info);
            }
        }));
    });
    // A double count needs a value published while the ended instance's subscription is
    // still there: a race, so several rounds.
    for round in 0..20 {
        restart_heavy_round(round).await;
    }
}

async fn restart_heavy_round(round: u32) {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("flaky").unwrap();
    let handled = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let team = system
        .builder(FlakyTeam {
            handled: handled.clone(),
        })
        .name("team")
        .start()
        .await
        .unwrap();
    let flaky = system.lookup::<Flaky>("/team/flaky").unwrap();
    const PUBLISHED: u32 = 5_000;
    for value in 1..=PUBLISHED {
        topic.publish(value);
        tokio::task::yield_now().await;
    }
    // Everything published is handled or lost, soon: wait for that (a double count gets
    // there too, and fails below).
    let accounted =
        || handled.load(std::sync::atomic::Ordering::SeqCst) + system.dead_letter_count();
    let began = std::time::Instant::now();
    while accounted() < u64::from(PUBLISHED) {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "{} accounted",
            accounted()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    team.stop();
    team.stopped().await;
    assert!(!flaky.is_alive());
    let handled = handled.load(std::sync::atomic::Ordering::SeqCst);
    let lost = system.dead_letter_count();
    assert!(handled > 0, "{handled} handled");
    assert_eq!(
        handled + lost,
        u64::from(PUBLISHED),
        "round {round}: {handled} handled (panics included) + {lost} dead letters"
    );
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Topic<u32>>();
    send_sync::<Subscription>();
    send_sync::<TopicError>();
}
