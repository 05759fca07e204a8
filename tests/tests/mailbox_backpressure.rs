//! Bounded mailboxes: awaited sends wait for room, `try_send` fails fast with `Full`, a blocking
//! path for plain threads, unbounded on request; and one message at a time, in order.

use std::sync::Arc;
use std::time::Duration;

use compaktor::prelude::*;
use tokio::sync::{Semaphore, oneshot};

/// Holds its mailbox still until the test opens the gate.
struct Gated {
    seen: Vec<u32>,
}

#[actor(mailbox = 2)]
impl Gated {
    #[handler]
    async fn wait_for(&mut self, entered: oneshot::Sender<()>, gate: oneshot::Receiver<()>) {
        let _ = entered.send(());
        let _ = gate.await;
    }

    #[handler]
    fn push(&mut self, n: u32) {
        self.seen.push(n);
    }

    #[handler]
    fn seen(&self) -> Vec<u32> {
        self.seen.clone()
    }

    /// Fills its own full mailbox: must be refused, not deadlock.
    #[handler]
    async fn flood_myself(&mut self, ctx: &mut Context<Self>) -> Vec<String> {
        let me = ctx.actor_ref();
        let mut errors = Vec::new();
        for n in 0..4 {
            if let Err(e) = me.push(n).await {
                errors.push(e.to_string());
            }
        }
        errors
    }
}

async fn gated(system: &ActorSystem) -> (ActorRef<Gated>, oneshot::Sender<()>) {
    let actor = system.spawn(Gated { seen: Vec::new() });
    let (open, gate) = oneshot::channel();
    let (entered_tx, entered) = oneshot::channel();
    actor.wait_for(entered_tx, gate).await.unwrap();
    // The actor holds the gate: its mailbox is empty and nothing more is handled.
    entered.await.unwrap();
    (actor, open)
}

#[tokio::test]
async fn try_send_fails_fast_when_full_and_counts_a_dead_letter() {
    let system = ActorSystem::new("test");
    let (actor, open) = gated(&system).await;
    actor.push(1).try_send().unwrap();
    actor.push(2).try_send().unwrap();
    let before = system.dead_letter_count();
    match actor.push(3).try_send().map_err(SendError::from) {
        Err(SendError::Full {
            capacity, handler, ..
        }) => {
            assert_eq!(capacity, 2);
            assert_eq!(handler, "push");
        }
        other => panic!("expected Full, got {other:?}"),
    }
    assert_eq!(system.dead_letter_count(), before + 1);
    open.send(()).unwrap();
    assert_eq!(actor.seen().await.unwrap(), [1, 2]);
}

/// With capacity n and the actor held in a handler, exactly n messages wait behind it, whether
/// the actor had taken some of them along with the one it handles (its batch) or none.
#[tokio::test]
async fn the_capacity_bounds_every_waiting_message_however_the_actor_took_them() {
    const CAPACITY: usize = 4;
    for taken_along in 0..CAPACITY {
        let system = ActorSystem::new("test");
        let actor = system
            .builder(Gated { seen: Vec::new() })
            .mailbox(Mailbox::bounded(CAPACITY))
            .spawn()
            .unwrap();
        let (open, gate) = oneshot::channel();
        let (entered_tx, entered) = oneshot::channel();
        // On this current-thread runtime the actor has not run yet: the gate and
        // `taken_along` pushes are queued together, and it takes them in one go.
        actor.wait_for(entered_tx, gate).try_send().unwrap();
        for n in 0..taken_along {
            actor.push(n as u32).try_send().unwrap();
        }
        entered.await.unwrap();
        // The actor is in the gate's handler: `taken_along` messages wait in its batch.
        let mut accepted = 0;
        let full = loop {
            match actor.push(100 + accepted).try_send() {
                Ok(()) => accepted += 1,
                Err(e) => break e.into_error(),
            }
        };
        assert!(
            matches!(
                full,
                SendError::Full {
                    capacity: CAPACITY,
                    ..
                }
            ),
            "{full}"
        );
        assert_eq!(
            taken_along + accepted as usize,
            CAPACITY,
            "with {taken_along} taken along, {accepted} more were accepted"
        );
        open.send(()).unwrap();
        let expected: Vec<u32> = (0..taken_along as u32).chain(100..100 + accepted).collect();
        assert_eq!(actor.seen().await.unwrap(), expected);
    }
}

/// The generated message type of `Gated`, however `#[actor]` names it.
type GatedMsg = <Gated as Actor>::Message;

fn pushed(message: &GatedMsg) -> Option<u32> {
    match message {
        GatedMsg::Push(n, _) => Some(*n),
        _ => None,
    }
}

#[tokio::test]
async fn try_send_on_a_full_mailbox_gives_the_message_back_to_resend() {
    let system = ActorSystem::new("test");
    let (actor, open) = gated(&system).await;
    actor.push(1).try_send().unwrap();
    actor.push(2).try_send().unwrap();
    let full = actor.push(3).try_send().unwrap_err();
    assert!(full.is_full() && !full.is_stopped());
    assert!(matches!(
        full.error(),
        SendError::Full {
            capacity: 2,
            handler: "push",
            ..
        }
    ));
    // Resent, awaited: it waits for room this time.
    let resend = tokio::spawn({
        let actor = actor.clone();
        async move { full.resend(&actor).await }
    });
    open.send(()).unwrap();
    resend.await.unwrap().unwrap();
    assert_eq!(actor.seen().await.unwrap(), [1, 2, 3]);

    // Or taken apart: the handler's arguments are in the message.
    let (actor, _open) = gated(&system).await;
    actor.push(1).try_send().unwrap();
    actor.push(2).try_send().unwrap();
    let message = actor.push(42).try_send().unwrap_err().into_message();
    assert_eq!(pushed(&message), Some(42));
}

#[tokio::test]
async fn try_send_to_a_stopped_actor_gives_the_message_back_to_send_elsewhere() {
    let system = ActorSystem::new("test");
    let gone = system.spawn(Gated { seen: Vec::new() });
    gone.kill();
    gone.stopped().await;
    let before = system.dead_letter_count();
    let stopped = gone.push(7).try_send().unwrap_err();
    assert!(stopped.is_stopped());
    assert_eq!(system.dead_letter_count(), before + 1);
    let standby = system.spawn(Gated { seen: Vec::new() });
    stopped.resend(&standby).try_send().unwrap();
    assert_eq!(standby.seen().await.unwrap(), [7]);
}

#[tokio::test]
async fn a_try_send_error_goes_into_a_boxed_error_with_question_mark() {
    async fn send(actor: &ActorRef<Gated>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        actor.push(1).try_send()?;
        Ok(())
    }
    let system = ActorSystem::new("test");
    let (actor, _open) = gated(&system).await;
    send(&actor).await.unwrap();
    send(&actor).await.unwrap();
    let error = send(&actor).await.unwrap_err();
    assert!(
        error.to_string().contains("full mailbox (2 messages)"),
        "{error}"
    );
}

#[tokio::test]
async fn an_awaited_send_waits_for_room() {
    let system = ActorSystem::new("test");
    let (actor, open) = gated(&system).await;
    actor.push(1).await.unwrap();
    actor.push(2).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(50), actor.push(9)).await;
    assert!(waiting.is_err(), "the mailbox is full: the send must wait");
    let sender = {
        let actor = actor.clone();
        tokio::spawn(async move { actor.push(3).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!sender.is_finished());
    open.send(()).unwrap();
    sender.await.unwrap().unwrap();
    assert_eq!(actor.seen().await.unwrap(), [1, 2, 3]);
}

#[tokio::test]
async fn a_send_to_ones_own_full_mailbox_is_refused() {
    let system = ActorSystem::new("test");
    let actor = system.spawn(Gated { seen: Vec::new() });
    let errors = actor
        .flood_myself()
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("to itself while its own mailbox is full"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_send_serves_plain_threads_with_backpressure() {
    let system = ActorSystem::new("test");
    let (actor, open) = gated(&system).await;
    let thread_actor = actor.clone();
    let thread = std::thread::spawn(move || {
        for n in 0..10 {
            thread_actor.push(n).blocking_send().unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!thread.is_finished(), "the thread waits for room");
    open.send(()).unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!(actor.seen().await.unwrap(), (0..10).collect::<Vec<_>>());
}

#[tokio::test]
async fn unbounded_is_opt_in_at_spawn() {
    let system = ActorSystem::new("test");
    let actor = system
        .builder(Gated { seen: Vec::new() })
        .mailbox(Mailbox::unbounded())
        .spawn()
        .expect("unique name");
    let (open, gate) = oneshot::channel();
    let (entered, _) = oneshot::channel();
    actor.wait_for(entered, gate).await.unwrap();
    for n in 0..5_000 {
        actor.push(n).try_send().unwrap();
    }
    open.send(()).unwrap();
    assert_eq!(actor.seen().await.unwrap().len(), 5_000);
}

struct Overlap {
    busy: bool,
    handled: u32,
    order: Vec<(u32, u32)>,
}

#[actor]
impl Overlap {
    /// Yields in the middle: another message must not start meanwhile.
    #[handler]
    async fn work(&mut self, sender: u32, seq: u32) {
        assert!(!self.busy, "two messages handled at once");
        self.busy = true;
        tokio::task::yield_now().await;
        self.order.push((sender, seq));
        self.handled += 1;
        self.busy = false;
    }

    #[handler]
    fn order(&self) -> (u32, Vec<(u32, u32)>) {
        (self.handled, self.order.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_message_at_a_time_in_send_order_per_sender() {
    let system = ActorSystem::new("test");
    let actor = system.spawn(Overlap {
        busy: false,
        handled: 0,
        order: Vec::new(),
    });
    let start = Arc::new(Semaphore::new(0));
    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let (actor, start) = (actor.clone(), start.clone());
            tokio::spawn(async move {
                let _go = start.acquire().await.unwrap();
                for seq in 0..500 {
                    actor.work(sender, seq).await.unwrap();
                }
            })
        })
        .collect();
    start.add_permits(8);
    for s in senders {
        s.await.unwrap();
    }
    let (handled, order) = actor.order().await.unwrap();
    assert_eq!(handled, 8 * 500);
    for sender in 0..8 {
        let seqs: Vec<u32> = order
            .iter()
            .filter(|(s, _)| *s == sender)
            .map(|(_, q)| *q)
            .collect();
        assert_eq!(seqs, (0..500).collect::<Vec<_>>(), "sender {sender}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_from_a_plain_thread_waits_behind_a_full_mailbox_without_blocking() {
    let system = ActorSystem::new("test");
    let (actor, open) = gated(&system).await;
    actor.push(1).try_send().unwrap();
    actor.push(2).try_send().unwrap();
    assert!(actor.push(3).try_send().is_err(), "the mailbox is full");
    // No runtime on that thread: the pill is queued by a task on the system's runtime, and
    // `stop` returns at once.
    let stopper = actor.clone();
    std::thread::spawn(move || stopper.stop()).join().unwrap();
    assert!(
        actor.push(4).try_send().is_err(),
        "a stopping actor takes no more"
    );
    open.send(()).unwrap();
    assert_eq!(actor.stopped().await, StopReason::Stopped);
    // What was queued before the stop was handled, not dropped: only the two refused sends
    // are dead letters.
    assert_eq!(system.dead_letter_count(), 2);
}
