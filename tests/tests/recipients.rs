//! Recipients: one payload type, any actor behind it. A sensor sends to every actor that takes
//! a `Distance` without knowing their types; sends fail, typed and counted, once the actor has
//! stopped; a recipient keeps its actor alive like an `ActorRef`.

use std::time::Duration;

use compaktor::testkit::{TestProbe, settle};
use compaktor::{DeadLetterReason, prelude::*};
use futures::StreamExt;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Distance(f32);

struct Brake {
    engaged: bool,
}

#[actor]
impl Brake {
    #[handler]
    fn distance(&mut self, d: Distance) {
        self.engaged = d.0 < 0.2;
    }

    #[handler]
    fn engaged(&self) -> bool {
        self.engaged
    }
}

struct Logger {
    lines: Vec<String>,
}

#[actor]
impl Logger {
    /// A handler with another name, and a reply nobody waits for.
    #[handler]
    fn log_distance(&mut self, d: Distance) -> usize {
        self.lines.push(format!("{:.2} m", d.0));
        self.lines.len()
    }

    #[handler]
    fn lines(&self) -> Vec<String> {
        self.lines.clone()
    }
}

/// Knows only recipients of `Distance`.
struct Sonar {
    listeners: Vec<Recipient<Distance>>,
}

#[actor]
impl Sonar {
    #[handler]
    async fn echo(&mut self, metres: f32) -> Result<(), SendError> {
        for listener in &self.listeners {
            listener.tell(Distance(metres)).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn recipients_of_different_actor_types_share_one_vec() {
    let system = ActorSystem::new("test");
    let brake = system.spawn(Brake { engaged: false });
    let logger = system.spawn(Logger { lines: Vec::new() });
    let listeners = vec![
        Recipient::new(&brake, |me, d| me.distance(d)),
        Recipient::new(&logger, |me, d| me.log_distance(d).tell()),
    ];
    assert_eq!(listeners[0].id(), brake.id());
    assert_eq!(listeners[1].label(), logger.label());
    let sonar = system.spawn(Sonar { listeners });

    sonar.echo(1.5).await.unwrap();
    sonar.echo(0.1).await.unwrap();
    assert!(brake.engaged().await.unwrap());
    assert_eq!(logger.lines().await.unwrap(), ["1.50 m", "0.10 m"]);
    assert_eq!(system.dead_letter_count(), 0);
}

#[tokio::test]
async fn a_recipient_of_a_stopped_actor_returns_stopped_and_counts_a_dead_letter() {
    let system = ActorSystem::new("test");
    let mut dead = system.dead_letters();
    let brake = system
        .builder(Brake { engaged: false })
        .name("brake")
        .spawn()
        .unwrap();
    let recipient = Recipient::new(&brake, |me, d| me.distance(d));
    recipient.tell(Distance(1.0)).await.unwrap();
    assert!(!brake.engaged().await.unwrap()); // handled
    brake.kill();
    brake.stopped().await;
    assert!(!recipient.is_alive());

    let err = recipient.tell(Distance(0.1)).await.unwrap_err();
    assert_eq!(
        err,
        SendError::Stopped {
            actor: brake.label().clone(),
            handler: "distance",
        }
    );
    let refused = recipient.try_tell(Distance(0.1)).unwrap_err();
    assert!(refused.is_stopped(), "{refused}");
    assert_eq!(refused.into_value(), Distance(0.1));
    assert_eq!(system.dead_letter_count(), 2);
    let letter = tokio::time::timeout(Duration::from_secs(5), dead.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.reason, DeadLetterReason::Stopped);
    assert_eq!(letter.recipient.name.as_deref(), Some("brake"));
    assert_eq!(letter.handler, "distance");
}

#[tokio::test]
async fn a_recipient_keeps_its_actor_alive_until_dropped() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<Distance>::new(&system);
    let recipient = Recipient::new(probe.actor_ref(), |me, d| me.record(d));

    let brake = system.spawn(Brake { engaged: false });
    let stopped = brake.stopped();
    let brake_recipient = Recipient::new(&brake, |me, d| me.distance(d));
    drop(brake);
    settle().await;
    assert!(brake_recipient.is_alive(), "the recipient holds a ref");
    brake_recipient.tell(Distance(0.1)).await.unwrap();
    drop(brake_recipient);
    assert_eq!(stopped.await, StopReason::Released);

    recipient.tell(Distance(2.0)).await.unwrap();
    probe.expect_eq(Distance(2.0), Duration::from_secs(5)).await;
}

/// A payload that is not `Clone`: what comes back is the value itself, not a copy.
#[derive(Debug, PartialEq)]
struct Reading(Box<f32>);

struct Gauge {
    readings: Vec<f32>,
}

#[actor]
impl Gauge {
    #[handler]
    fn reading(&mut self, r: Reading) {
        self.readings.push(*r.0);
    }

    #[handler]
    fn readings(&self) -> Vec<f32> {
        self.readings.clone()
    }
}

#[tokio::test]
async fn try_tell_fails_fast_on_a_full_mailbox_and_gives_the_value_back() {
    let system = ActorSystem::new("test");
    let mut dead = system.dead_letters();
    let gauge = system
        .builder(Gauge {
            readings: Vec::new(),
        })
        .mailbox(Mailbox::bounded(1))
        .spawn()
        .unwrap();
    let recipient = Recipient::new(&gauge, |me, r| me.reading(r));
    // The current-thread runtime does not run the actor in between.
    recipient.try_tell(Reading(Box::new(1.0))).unwrap();
    let full = recipient.try_tell(Reading(Box::new(2.0))).unwrap_err();
    assert!(full.is_full());
    assert!(matches!(full.error(), SendError::Full { capacity: 1, .. }));
    let back = full.into_value();
    assert_eq!(back, Reading(Box::new(2.0)));
    // Counted, as a letter without a message (the sender has it), naming the payload.
    assert_eq!(
        system.dead_letter_count_for(DeadLetterReason::MailboxFull),
        1
    );
    let letter = dead.next().await.unwrap();
    assert!(letter.handler.ends_with("Reading"), "{}", letter.handler);
    assert!(!letter.has_message());
    // Sent again once there is room, it is handled like any other.
    recipient.tell(back).await.unwrap();
    assert_eq!(gauge.readings().await.unwrap(), [1.0, 2.0]);

    // A stopped actor gives it back too.
    gauge.kill();
    gauge.stopped().await;
    let stopped = recipient.try_tell(Reading(Box::new(3.0))).unwrap_err();
    assert!(stopped.is_stopped());
    assert_eq!(stopped.into_value(), Reading(Box::new(3.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_tell_serves_a_driver_thread() {
    let system = ActorSystem::new("test");
    let logger = system.spawn(Logger { lines: Vec::new() });
    let recipient = Recipient::new(&logger, |me, d| me.log_distance(d).tell());
    let driver = std::thread::spawn(move || {
        for cm in [30, 20, 10] {
            recipient
                .blocking_tell(Distance(cm as f32 / 100.0))
                .unwrap();
        }
    });
    tokio::task::spawn_blocking(move || driver.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        logger.lines().await.unwrap(),
        ["0.30 m", "0.20 m", "0.10 m"]
    );
}

#[tokio::test]
async fn a_recipient_is_cheap_to_clone_and_prints_its_actor() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send_sync_clone::<Recipient<Distance>>();

    let system = ActorSystem::new("test");
    let brake = system
        .builder(Brake { engaged: false })
        .name("brake")
        .spawn()
        .unwrap();
    let recipient = Recipient::new(&brake, |me, d| me.distance(d));
    let copy = recipient.clone();
    assert_eq!(copy.id(), recipient.id());
    assert!(copy.actor_type().ends_with("Brake"));
    let printed = format!("{recipient:?}");
    assert!(printed.contains("Distance"), "{printed}");
    assert!(printed.contains("Brake"), "{printed}");
    assert!(printed.contains("brake"), "{printed}");
}
