//! A pool's task: takes each message from the pool's mailbox and hands it to a worker by the
//! pool's [`Routing`]; stops the workers, then itself, on a stop, a kill, a failure the
//! workers' supervision escalated, or when the pool's last reference is gone.

use std::future::poll_fn;
use std::hash::{BuildHasher, RandomState};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use super::{PoolState, Routing};
use crate::actor::cell::ActorCell;
use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::{Envelope, MailboxReceiver, TrySend};
use crate::actor::shared::Shared;
use crate::macro_support::Message;
use crate::macro_support::refuse;
use crate::task::{Next, next_envelope, shutdown};
use crate::tree::node::SupervisorNode;
use crate::{Actor, ActorRef, StopReason};

/// The pool's own mailbox, in the router's task. If that task is dropped before its end (its
/// runtime was dropped without a shutdown), the pool ends as an actor's task does: its mailbox
/// closes, so senders waiting for room and askers whose messages wait there get `Stopped`, and
/// `stopped()` resolves with `Killed`.
struct Front<A: Actor> {
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
}

impl<A: Actor> Drop for Front<A> {
    fn drop(&mut self) {
        let cell = &self.shared.cell;
        if !cell.is_finished() {
            shutdown(&self.shared, &mut self.rx);
            cell.system.actor_finished(cell, &StopReason::Killed);
            cell.finish(StopReason::Killed);
            self.shared.tx.forget_wakers();
        }
    }
}

pub(super) async fn run<A: Actor>(
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
    pool: Arc<PoolState<A>>,
    node: Arc<SupervisorNode>,
) {
    let mut front = Front { shared, rx };
    let Front { shared, rx } = &mut front;
    let shared = &*shared;
    let cell = &shared.cell;
    // From now on every message, kill and release wakes this task, also while it waits for a
    // worker.
    poll_fn(|cx| Poll::Ready(rx.register(&shared.tx, cx.waker()))).await;
    let mut router = Router {
        pool: &pool,
        cursor: 0,
        random: RandomState::new().hash_one(cell.id()) | 1,
        forwarded: Vec::new(),
    };
    let reason = loop {
        let next = next_envelope(cell, &shared.tx, rx).await;
        let message = match next {
            Next::Envelope(Envelope::Message(message)) => message,
            Next::Envelope(Envelope::Sourced(sourced)) => {
                let (message, _) = *sourced;
                message
            }
            Next::Envelope(Envelope::Stop) => break StopReason::Stopped,
            Next::Released => break StopReason::Released,
            Next::Control => {
                if cell.is_killed() {
                    break StopReason::Killed;
                }
                if let Some(reason) = cell.take_interrupt() {
                    break reason;
                }
                continue;
            }
        };
        if !router.deliver(cell, message).await {
            // Killed, or failed (an escalation from the workers) while waiting for a worker.
            match cell.take_interrupt() {
                Some(reason) if !cell.is_killed() => break reason,
                _ => break StopReason::Killed,
            }
        }
    };
    tracing::debug!(%reason, "pool stopping");
    cell.set_phase(crate::ActorState::Stopping);
    node.set_closed(true);
    pool.lock().clear();
    node.stop_children(cell.is_killed()).await;
    // What is left waits for workers that are gone.
    shutdown(shared, rx);
    cell.system.actor_finished(cell, &reason);
    cell.finish(reason);
    shared.tx.forget_wakers();
}

struct Router<'a, A: Actor> {
    pool: &'a PoolState<A>,
    /// The worker to try first for the next message (round-robin and balancing).
    cursor: usize,
    random: u64,
    /// Messages handed to each worker (by id), for balancing.
    forwarded: Vec<(crate::ActorId, u64)>,
}

impl<A: Actor> Router<'_, A> {
    /// Hands `message` to a worker, waiting for one (balancing) or for room in its mailbox.
    /// False if the pool was killed meanwhile.
    async fn deliver(&mut self, cell: &ActorCell, mut message: A::Message) -> bool {
        let handler = message.handler_name();
        if self.pool.routing == Routing::Broadcast {
            let workers = self.pool.live().clone();
            if workers.len() > 1 {
                if let Some(first) = message.copy_tell() {
                    // A copy for each worker but the last, which gets the original.
                    let mut copies = vec![first];
                    while copies.len() < workers.len() - 1 {
                        copies.push(message.copy_tell().expect("copied once already"));
                    }
                    let last = &workers[workers.len() - 1];
                    let each = workers.iter().zip(copies).chain([(last, message)]);
                    for (worker, message) in each {
                        match send_to(cell, worker, message, handler).await {
                            Sent::Delivered => {}
                            // Ended meanwhile: that copy will not be handled.
                            Sent::Closed(copy) => worker.shared().cell.dead_letter_of(
                                handler,
                                DeadLetterReason::Stopped,
                                copy,
                            ),
                            Sent::Killed => return false,
                        }
                    }
                    return true;
                }
                tracing::warn!(
                    handler,
                    "an ask, or a tell that cannot be copied, goes to one worker of a broadcast pool"
                );
            }
        }
        loop {
            let key = match self.pool.routing {
                Routing::ConsistentHash => message.routing_key(),
                _ => None,
            };
            let Some(worker) = self.pick(cell, key).await else {
                // Killed (or failed) while waiting for an idle worker.
                cell.dead_letter_of(handler, DeadLetterReason::Dropped, message);
                return false;
            };
            let Some(worker) = worker else {
                refuse(&mut message);
                cell.dead_letter_of(handler, DeadLetterReason::NoWorker, message);
                return true;
            };
            match send_to(cell, &worker, message, handler).await {
                Sent::Delivered => {
                    self.count(&worker);
                    return true;
                }
                Sent::Killed => return false,
                Sent::Closed(back) => {
                    // That worker ended for good: forget it and try another.
                    self.pool.lock().retain(|w| w.id() != worker.id());
                    message = back;
                }
            }
        }
    }

    fn count(&mut self, worker: &ActorRef<A>) {
        if self.pool.routing != Routing::Balancing {
            return;
        }
        match self.forwarded.iter_mut().find(|(id, _)| *id == worker.id()) {
            Some((_, n)) => *n += 1,
            None => self.forwarded.push((worker.id(), 1)),
        }
    }

    /// The next worker: `Some(None)` if the pool has none, `None` if the pool was killed
    /// while waiting for an idle one.
    async fn pick(&mut self, cell: &ActorCell, key: Option<u64>) -> Option<Option<ActorRef<A>>> {
        loop {
            let mut idle = pin!(self.pool.idle.notified());
            idle.as_mut().enable();
            {
                let workers = self.pool.live();
                if workers.is_empty() {
                    return Some(None);
                }
                let n = workers.len();
                match (self.pool.routing, key) {
                    (Routing::ConsistentHash, Some(key)) => {
                        return Some(super::by_key(&workers, key).cloned());
                    }
                    (Routing::RoundRobin | Routing::ConsistentHash | Routing::Broadcast, _) => {
                        let turn = self.cursor % n;
                        self.cursor = turn + 1;
                        return Some(Some(workers[turn].clone()));
                    }
                    (Routing::Random, _) => {
                        // xorshift64: enough to spread work; not for anything secret.
                        self.random ^= self.random << 13;
                        self.random ^= self.random >> 7;
                        self.random ^= self.random << 17;
                        return Some(Some(workers[(self.random % n as u64) as usize].clone()));
                    }
                    (Routing::Balancing, _) => {
                        self.forwarded
                            .retain(|(id, _)| workers.iter().any(|w| w.id() == *id));
                        // Start after the last one picked, so idle workers share the work.
                        for step in 0..n {
                            let turn = (self.cursor + step) % n;
                            let worker = &workers[turn];
                            if self.is_idle(worker) {
                                self.cursor = turn + 1;
                                return Some(Some(worker.clone()));
                            }
                        }
                    }
                }
            }
            // Every worker is busy: wait until one finishes a message.
            until_killed(cell, idle).await?;
        }
    }

    fn is_idle(&self, worker: &ActorRef<A>) -> bool {
        let (handled, busy) = worker.shared().cell.progress();
        let forwarded = self
            .forwarded
            .iter()
            .find(|(id, _)| *id == worker.id())
            .map_or(0, |(_, n)| *n);
        let cell = &worker.shared().cell;
        !busy
            && handled >= forwarded
            && cell.phase() == crate::ActorState::Running
            && worker.is_alive()
    }
}

/// How a hand-over to one worker went.
enum Sent<M> {
    Delivered,
    /// The worker has ended for good; the message comes back.
    Closed(M),
    /// The pool was killed (or failed) while waiting for room; the message is a dead letter.
    Killed,
}

/// Hands `message` to `worker`, waiting for room in its mailbox (backpressure).
async fn send_to<A: Actor>(
    cell: &ActorCell,
    worker: &ActorRef<A>,
    message: A::Message,
    handler: &'static str,
) -> Sent<A::Message> {
    let shared = worker.shared();
    let tx = &shared.tx;
    let env = match tx.try_send(Envelope::Message(message)) {
        Ok(()) => return Sent::Delivered,
        Err(TrySend::Full(env)) => env,
        Err(TrySend::Closed(env)) => return Sent::closed(env),
    };
    let mut waiter = tx.waiter(env);
    let sent = {
        let send = pin!(poll_fn(|cx| waiter.poll_send(cx)));
        until_killed(cell, send).await
    };
    match sent {
        Some(Ok(())) => Sent::Delivered,
        Some(Err(env)) => Sent::closed(env),
        None => {
            // The send is given up: its message is a dead letter that carries it.
            if let Some(env) = waiter.take_back() {
                cell.dead_envelope(handler, DeadLetterReason::Dropped, env);
            }
            Sent::Killed
        }
    }
}

impl<M> Sent<M> {
    fn closed(env: Envelope<M>) -> Self {
        Sent::Closed(
            env.into_message()
                .expect("a message envelope comes back as a message"),
        )
    }
}

/// Runs `work` unless the pool is killed or fails first.
async fn until_killed<F: std::future::Future>(
    cell: &ActorCell,
    mut work: std::pin::Pin<&mut F>,
) -> Option<F::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        // The router's waker is registered with the pool's mailbox (see `task`): a kill
        // wakes it.
        if cell.is_signalled() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}
