//! Mailboxes: the queue in front of each actor, bounded by default. What is queued is an
//! [`Envelope`]; the typed send paths that fill it live in `tell` and `ask`.
//!
//! The queue is our own rather than tokio's mpsc, and lives inline in the actor's shared
//! allocation: a mutex around one inline message slot and a `VecDeque` that allocates nothing
//! until two messages wait (an idle actor is small), senders that only touch a waiter list when
//! the mailbox is full, and a receiver that takes everything queued in one lock. Who waits on
//! the mailbox (the actor's task, also for its kills and releases) is kept under the same lock
//! (see `mailbox/wake`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use self::wake::Wakers;

mod wake;

/// How many messages an actor's mailbox holds, chosen per actor type with
/// `#[actor(mailbox = 64)]` / `#[actor(mailbox = unbounded)]`, or per actor at spawn with
/// [`ActorBuilder::mailbox`](crate::ActorBuilder::mailbox).
///
/// A bounded mailbox gives backpressure: an awaited send waits for room, a `try_send` fails
/// fast with [`SendError::Full`](crate::SendError::Full). The capacity bounds every message
/// waiting, however the actor takes them: with `mailbox = n` and the actor busy in a handler,
/// at most `n` more messages wait behind that one, and the next `try_send` is `Full`. (The
/// actor takes what waits in one go and works through it; those it has taken but not yet
/// handled still count.)
///
/// ```
/// use compaktor::Mailbox;
/// assert_eq!(Mailbox::bounded(64).capacity(), Some(64));
/// assert_eq!(Mailbox::unbounded().capacity(), None);
/// assert_eq!(Mailbox::DEFAULT, Mailbox::bounded(1024));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mailbox {
    capacity: Option<usize>,
}

impl Mailbox {
    /// The mailbox of an actor that chose none: bounded, 1024 messages.
    pub const DEFAULT: Mailbox = Mailbox::bounded(1024);

    /// A mailbox that holds at most `capacity` messages (at least 1).
    pub const fn bounded(capacity: usize) -> Self {
        Mailbox {
            capacity: Some(if capacity == 0 { 1 } else { capacity }),
        }
    }

    /// A mailbox without a limit. Senders never wait; a slow actor grows its queue without bound.
    pub const fn unbounded() -> Self {
        Mailbox { capacity: None }
    }

    /// The capacity, or `None` when unbounded.
    pub const fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// A new queue (kept inline in what the senders share, not in an allocation of its own)
    /// and its receiver's side.
    pub(crate) fn queue<M>(self) -> (Queue<M>, MailboxReceiver<M>) {
        let queue = Queue {
            state: Mutex::new(State {
                next: None,
                items: VecDeque::new(),
                closed: false,
                reserved: 0,
                waiting: None,
                wakers: Wakers::default(),
            }),
            has_next: AtomicBool::new(false),
            capacity: self.capacity.unwrap_or(usize::MAX),
            in_hand: AtomicUsize::new(0),
        };
        let receiver = MailboxReceiver {
            batch: VecDeque::new(),
            closed: false,
            registered: None,
        };
        (queue, receiver)
    }
}

/// What travels through a mailbox.
pub(crate) enum Envelope<M> {
    /// A handler call.
    Message(M),
    /// A handler call from a timer or stream: skipped if that source was cancelled after it was
    /// queued, and reported back to the source once handled.
    /// Boxed: rare, and it would otherwise make every mailbox slot a pointer wider.
    Sourced(Box<(M, Arc<SourceState>)>),
    /// The poison pill.
    Stop,
}

impl<M> Envelope<M> {
    /// The message, unless this is a pill (also from a cancelled source: for a dead letter).
    pub(crate) fn into_inner(self) -> Option<M> {
        match self {
            Envelope::Message(m) => Some(m),
            Envelope::Sourced(sourced) => Some(sourced.0),
            Envelope::Stop => None,
        }
    }

    /// The message, unless this is a pill or comes from a cancelled source.
    pub(crate) fn into_message(self) -> Option<M> {
        match self {
            Envelope::Message(m) => Some(m),
            Envelope::Sourced(sourced) => {
                let (m, source) = *sourced;
                (!source.is_cancelled()).then_some(m)
            }
            Envelope::Stop => None,
        }
    }
}

/// Shared by a timer or stream task and the messages it queued.
#[derive(Debug, Default)]
pub(crate) struct SourceState {
    cancelled: AtomicBool,
    /// Signalled each time one of its messages has been handled, so a periodic timer keeps at
    /// most one tick in flight and its missed-tick policy sees how late the actor is.
    handled: Notify,
}

impl SourceState {
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    pub(crate) fn mark_handled(&self) {
        self.handled.notify_one();
    }

    pub(crate) async fn wait_handled(&self) {
        self.handled.notified().await;
    }
}

pub(crate) enum TrySend<M> {
    Full(M),
    Closed(M),
}

/// The queue behind one mailbox: many senders, one receiver (the actor's task, which holds
/// the [`MailboxReceiver`] and passes the queue to it).
///
/// A mutex around a message slot and a `VecDeque`, which allocates nothing until two messages
/// wait (an idle actor costs a few words), and a receiver that takes everything queued in one lock and works
/// through it as a batch. The capacity bounds what waits in the queue and in the batch
/// together (`in_hand` counts the batch).
///
/// `repr(C)`, and placed right after the cell's hot fields in the actor's shared allocation:
/// what one send and one receive touch lies together (see `actor_ref::Shared`).
#[repr(C)]
pub(crate) struct Queue<M> {
    state: Mutex<State<M>>,
    /// Whether `state.next` holds a message (so whether anything waits): written under the
    /// lock, read without it by the receiver, which so looks at an empty mailbox without
    /// taking the lock.
    has_next: AtomicBool,
    /// `usize::MAX` when unbounded. Read only when a message already waits.
    capacity: usize,
    /// How many messages the receiver holds in its batch, not yet handled: they count against
    /// the capacity, and health reports them. Only the receiver writes it (plain stores, no
    /// read-modify-write on the hot path): under the lock when it takes a batch, so a sender
    /// (which reads it under the lock) never sees the queue emptied without the batch counted;
    /// without the lock as it works through the batch, which only ever lowers it (a sender
    /// that reads an older, higher count sees less room, never more).
    in_hand: AtomicUsize,
}

/// In declaration order (`repr(C)`), what a send and a receive touch first, so that they
/// share as few cache lines as can be.
#[repr(C)]
struct State<M> {
    closed: bool,
    /// The oldest waiting message when it is alone, kept inline: an actor sent one message at
    /// a time (an ask, a token in a ring) never allocates a queue.
    next: Option<Envelope<M>>,
    /// The rest, oldest first. Empty whenever `next` is (see [`State::push`]), so a send to an
    /// idle actor does not look at it.
    items: VecDeque<Envelope<M>>,
    /// Places held for messages not made yet (see [`Reserved`]): they count against the
    /// capacity.
    reserved: usize,
    /// Senders waiting for room: made when the mailbox first fills.
    waiting: Option<Box<Waiting>>,
    /// The actor's task, woken by every send, kill and release.
    wakers: Wakers,
}

/// Senders waiting for room, oldest first, each with its ticket.
#[derive(Default)]
struct Waiting {
    list: VecDeque<(u64, Waker)>,
    next_ticket: u64,
}

impl<M> State<M> {
    /// Queues `env` behind the others: in `next` when there are none.
    #[inline]
    fn push(&mut self, env: Envelope<M>) {
        if self.next.is_none() {
            self.next = Some(env);
        } else {
            self.items.push_back(env);
        }
    }

    /// The oldest message; the next one moves up into `next`.
    fn pop(&mut self) -> Option<Envelope<M>> {
        let env = self.next.take();
        if env.is_some() {
            self.next = self.items.pop_front();
        }
        env
    }

    fn len(&self) -> usize {
        usize::from(self.next.is_some()) + self.items.len()
    }

    fn has_waiting(&self) -> bool {
        self.waiting.as_ref().is_some_and(|w| !w.list.is_empty())
    }

    /// The waiting senders' list, made on first use.
    fn waiting(&mut self) -> &mut Waiting {
        self.waiting.get_or_insert_with(Box::default)
    }
}

impl<M> Queue<M> {
    #[inline]
    fn lock(&self) -> MutexGuard<'_, State<M>> {
        // Nothing panics while holding it; if something did, the queue is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether one more message fits: those queued, those in the receiver's batch and the
    /// places held are fewer than the capacity. An empty queue with no place held always has
    /// room, as the batch is at most `capacity - 1` (it was taken from a full queue, less the
    /// message being handled).
    fn has_room(&self, state: &State<M>) -> bool {
        (state.next.is_none() && state.reserved == 0)
            || state
                .len()
                .saturating_add(state.reserved)
                .saturating_add(self.in_hand.load(Ordering::Relaxed))
                < self.capacity
    }
}

impl<M> Queue<M> {
    /// Queues `env` now, and wakes the actor's task.
    #[inline]
    pub(crate) fn try_send(&self, env: Envelope<M>) -> Result<(), TrySend<Envelope<M>>> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySend::Closed(env));
        }
        if !self.has_room(&state) {
            return Err(TrySend::Full(env));
        }
        state.push(env);
        self.has_next.store(true, Ordering::Release);
        state.wakers.wake();
        Ok(())
    }

    /// Holds a place for a message that is made only once it is sure to fit, so that a
    /// refused send loses nothing (a [`Recipient`](crate::Recipient) gives its value back).
    /// `Err` says why there is no place: [`TrySend::Full`] or [`TrySend::Closed`].
    pub(crate) fn try_reserve(&self) -> Result<Reserved<'_, M>, TrySend<()>> {
        let mut state = self.lock();
        if state.closed {
            return Err(TrySend::Closed(()));
        }
        if !self.has_room(&state) {
            return Err(TrySend::Full(()));
        }
        state.reserved += 1;
        Ok(Reserved {
            queue: self,
            held: true,
        })
    }

    /// Wakes whoever waits on the mailbox, to look at the actor's signals (a kill, an
    /// interrupt) or references again: what it looks at was changed before this call.
    pub(crate) fn wake(&self) {
        self.lock().wakers.wake();
    }

    /// Registers `waker` to be woken by the next send or [`wake`](Self::wake). The actor's
    /// task registers once and stays registered.
    pub(crate) fn register(&self, waker: &Waker) {
        self.lock().wakers.register(waker);
    }

    /// Forgets every waker: the actor's task has ended (its memory is freed now, not when
    /// the last reference goes).
    pub(crate) fn forget_wakers(&self) {
        let wakers = self.lock().wakers.take();
        drop(wakers);
    }

    /// Waits for room. `Err` gives the envelope back when the mailbox is closed.
    ///
    /// Cancel safe: dropped before it completes, it has not queued the message, and passes on a
    /// wake-up it was given, so no other waiting sender is left asleep.
    pub(crate) async fn send(&self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        let mut waiter = Waiter {
            queue: self,
            ticket: None,
            env: Some(env),
        };
        std::future::poll_fn(|cx| waiter.poll_send(cx)).await
    }

    /// A send waiting for room, to poll by hand: unlike [`send`](Self::send), whoever gives
    /// it up can [take its envelope back](Waiter::take_back).
    pub(crate) fn waiter(&self, env: Envelope<M>) -> Waiter<'_, M> {
        Waiter {
            queue: self,
            ticket: None,
            env: Some(env),
        }
    }

    /// Blocks the calling thread until there is room. Must not be called from async code: it
    /// would block a runtime thread.
    pub(crate) fn blocking_send(&self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        futures::executor::block_on(self.send(env))
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        (self.capacity != usize::MAX).then_some(self.capacity)
    }

    /// How many senders wait for room.
    #[cfg(test)]
    pub(crate) fn waiting_senders(&self) -> usize {
        self.lock().waiting.as_ref().map_or(0, |w| w.list.len())
    }

    /// Messages waiting, those the actor has taken in its current batch included.
    pub(crate) fn len(&self) -> usize {
        self.lock().len() + self.in_hand.load(Ordering::Relaxed)
    }
}

/// A place held in a mailbox ([`Queue::try_reserve`]) until a message is sent into it, or
/// this is dropped (then the place goes to a sender waiting for room, if there is one).
pub(crate) struct Reserved<'a, M> {
    queue: &'a Queue<M>,
    held: bool,
}

impl<M> Reserved<'_, M> {
    /// Queues `env` in the place held, and wakes the actor's task. `Err` gives it back if the
    /// mailbox was closed meanwhile.
    pub(crate) fn send(mut self, env: Envelope<M>) -> Result<(), Envelope<M>> {
        self.held = false;
        let mut state = self.queue.lock();
        state.reserved -= 1;
        if state.closed {
            return Err(env);
        }
        state.push(env);
        self.queue.has_next.store(true, Ordering::Release);
        state.wakers.wake();
        Ok(())
    }
}

impl<M> Drop for Reserved<'_, M> {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let mut state = self.queue.lock();
        state.reserved -= 1;
        let next = state.waiting.as_mut().and_then(|w| w.list.pop_front());
        drop(state);
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }
}

/// One sender waiting for room.
pub(crate) struct Waiter<'a, M> {
    queue: &'a Queue<M>,
    ticket: Option<u64>,
    env: Option<Envelope<M>>,
}

impl<M> Waiter<'_, M> {
    /// The envelope, if it has not been sent (a send given up): for a dead letter.
    pub(crate) fn take_back(&mut self) -> Option<Envelope<M>> {
        self.env.take()
    }

    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Envelope<M>>> {
        let mut state = self.queue.lock();
        let env = self
            .env
            .take()
            .expect("a send is not polled after it completed");
        if state.closed {
            self.forget_ticket(&mut state);
            return Poll::Ready(Err(env));
        }
        if self.queue.has_room(&state) {
            self.forget_ticket(&mut state);
            state.push(env);
            self.queue.has_next.store(true, Ordering::Release);
            state.wakers.wake();
            return Poll::Ready(Ok(()));
        }
        self.env = Some(env);
        let waker = cx.waker().clone();
        let waiting = state.waiting();
        match self
            .ticket
            .and_then(|t| waiting.list.iter_mut().find(|(id, _)| *id == t))
        {
            Some(entry) => entry.1 = waker,
            None => {
                let ticket = waiting.next_ticket;
                waiting.next_ticket += 1;
                waiting.list.push_back((ticket, waker));
                self.ticket = Some(ticket);
            }
        }
        Poll::Pending
    }

    fn forget_ticket(&mut self, state: &mut State<M>) {
        if let Some(ticket) = self.ticket.take() {
            state.waiting().list.retain(|(id, _)| *id != ticket);
        }
    }
}

impl<M> Drop for Waiter<'_, M> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let mut state = self.queue.lock();
        let has_room = self.queue.has_room(&state);
        let waiting = state.waiting();
        let before = waiting.list.len();
        waiting.list.retain(|(id, _)| *id != ticket);
        // Not in the list: it was woken for room it will now not use. Pass the wake-up on.
        let next = (waiting.list.len() == before && has_room)
            .then(|| waiting.list.pop_front())
            .flatten();
        drop(state);
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }
}

/// The receiving side of a mailbox, owned by the actor's task; its methods take the queue.
pub(crate) struct MailboxReceiver<M> {
    /// Messages taken from the queue in one lock, being worked through.
    batch: VecDeque<Envelope<M>>,
    /// Whether [`close`](Self::close) has run (kept here so a second call costs nothing).
    closed: bool,
    /// The waker the queue keeps and every send wakes (see `mailbox/wake`), once registered:
    /// while the task polls with it, an empty mailbox is looked at without the lock.
    registered: Option<Waker>,
}

impl<M> MailboxReceiver<M> {
    /// The next message; `None` once closed and empty. Takes part in tokio's cooperative
    /// budget, so a busy actor still lets its neighbours on the same thread run.
    /// Registers `cx`'s waker with the queue when there is nothing.
    #[inline]
    pub(crate) fn poll_recv(
        &mut self,
        queue: &Queue<M>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Envelope<M>>> {
        if !self.batch.is_empty() {
            let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
            let env = self.batch.pop_front();
            queue.in_hand.store(self.batch.len(), Ordering::Relaxed);
            coop.made_progress();
            return Poll::Ready(env);
        }
        if !queue.has_next.load(Ordering::Acquire) {
            // Nothing waits (`items` is empty whenever `next` is). Only this receiver closes
            // the queue, so it knows without the lock.
            if self.closed {
                return Poll::Ready(None);
            }
            // Every send wakes the kept waker. Any other registers, and looks again, under
            // the lock the senders push under, so no send between the two is missed.
            if self
                .registered
                .as_ref()
                .is_some_and(|kept| kept.will_wake(cx.waker()))
                || !self.register(queue, cx.waker())
            {
                return Poll::Pending;
            }
        }
        // Only a message taken spends the budget (waiting for one costs nothing).
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        coop.made_progress();
        let mut state = queue.lock();
        match state.next.take() {
            Some(env) => {
                // The oldest; the rest are swapped out whole as the batch, so each buffer
                // keeps its capacity.
                if !state.items.is_empty() {
                    std::mem::swap(&mut state.items, &mut self.batch);
                }
                queue.has_next.store(false, Ordering::Release);
                self.taken(queue, state, env)
            }
            None => Poll::Ready(None), // not reached: only this receiver takes messages
        }
    }

    /// Registers `waker` with the queue (the first one registered is kept: see
    /// `mailbox/wake`); whether a message waits.
    #[cold]
    pub(crate) fn register(&mut self, queue: &Queue<M>, waker: &Waker) -> bool {
        let mut state = queue.lock();
        if state.wakers.register(waker) {
            self.registered = Some(waker.clone());
        }
        state.next.is_some()
    }

    /// `env` was taken from the queue, and the batch filled from it: the batch is counted
    /// (under the lock, see `Queue::in_hand`), and as many waiting senders woken as there is
    /// room beside it.
    ///
    /// Waiting senders are woken here only, when the receiver comes back to the queue, not
    /// as it works through a batch: a sender waits only while the queue holds a message (an
    /// empty queue has room), so the receiver does come back, and the batch hand-over costs
    /// nothing more per message.
    fn taken(
        &mut self,
        queue: &Queue<M>,
        mut state: MutexGuard<'_, State<M>>,
        env: Envelope<M>,
    ) -> Poll<Option<Envelope<M>>> {
        queue.in_hand.store(self.batch.len(), Ordering::Relaxed);
        if !state.has_waiting() {
            drop(state);
        } else {
            let room = queue
                .capacity
                .saturating_sub(self.batch.len() + state.reserved);
            let waiting = state.waiting();
            let n = waiting.list.len().min(room);
            let woken: Vec<Waker> = waiting.list.drain(..n).map(|(_, w)| w).collect();
            drop(state);
            woken.into_iter().for_each(Waker::wake);
        }
        Poll::Ready(Some(env))
    }

    /// Whether nothing is queued. (`poll_recv` may also be pending because the task used up
    /// its cooperative budget, with messages still queued.)
    pub(crate) fn is_empty(&self, queue: &Queue<M>) -> bool {
        self.batch.is_empty() && !queue.has_next.load(Ordering::Acquire)
    }

    /// A message if one is queued, without waiting.
    pub(crate) fn try_recv(&mut self, queue: &Queue<M>) -> Option<Envelope<M>> {
        if let Some(env) = self.batch.pop_front() {
            queue.in_hand.store(self.batch.len(), Ordering::Relaxed);
            return Some(env);
        }
        {
            let mut state = queue.lock();
            let env = state.pop();
            queue
                .has_next
                .store(state.next.is_some(), Ordering::Release);
            env
        }
    }

    /// Whether [`close`](Self::close) has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Refuses new messages; those already queued can still be received. Waiting senders get
    /// their message back.
    pub(crate) fn close(&mut self, queue: &Queue<M>) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let waiting = {
            let mut state = queue.lock();
            state.closed = true;
            state.waiting.take().map(|w| w.list).unwrap_or_default()
        };
        waiting.into_iter().for_each(|(_, w)| w.wake());
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::atomic::AtomicUsize;

    use futures::task::{ArcWake, waker};

    use super::*;

    /// A waker that counts its wakes (also used by `mailbox/wake`'s tests).
    #[derive(Default)]
    pub(super) struct Wakes(AtomicUsize);

    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A counting waker and the count it adds to.
    pub(super) fn counted() -> (Arc<Wakes>, Waker) {
        let wakes = Arc::new(Wakes::default());
        (wakes.clone(), waker(wakes))
    }

    pub(super) fn wakes(w: &Arc<Wakes>) -> usize {
        w.0.load(Ordering::SeqCst)
    }

    #[test]
    fn a_woken_sender_that_gives_up_passes_the_room_on() {
        let (tx, mut rx) = Mailbox::bounded(1).queue::<u32>();
        assert!(tx.try_send(Envelope::Message(0)).is_ok());
        let (wake_a, wake_b, wake_rx) = (
            Arc::<Wakes>::default(),
            Arc::<Wakes>::default(),
            Arc::<Wakes>::default(),
        );
        let mut a = Box::pin(tx.send(Envelope::Message(1)));
        let mut b = pin!(tx.send(Envelope::Message(2)));
        let waker_a = waker(Arc::clone(&wake_a));
        let waker_b = waker(Arc::clone(&wake_b));
        assert!(
            a.as_mut()
                .poll(&mut Context::from_waker(&waker_a))
                .is_pending()
        );
        assert!(
            b.as_mut()
                .poll(&mut Context::from_waker(&waker_b))
                .is_pending()
        );

        // The actor takes the waiting message: room for one, and the oldest sender is woken.
        let waker_rx = waker(Arc::clone(&wake_rx));
        let got = rx.poll_recv(&tx, &mut Context::from_waker(&waker_rx));
        assert!(matches!(got, Poll::Ready(Some(Envelope::Message(0)))));
        assert_eq!((wakes(&wake_a), wakes(&wake_b)), (1, 0));

        // It gives up without sending: the wake-up goes to the next one, who gets the room.
        drop(a);
        assert_eq!(wakes(&wake_b), 1);
        let sent = b.as_mut().poll(&mut Context::from_waker(&waker_b));
        assert!(matches!(sent, Poll::Ready(Ok(()))));
        assert!(matches!(rx.try_recv(&tx), Some(Envelope::Message(2))));
    }

    #[test]
    fn closing_gives_waiting_senders_their_message_back() {
        let (tx, mut rx) = Mailbox::bounded(1).queue::<u32>();
        assert!(tx.try_send(Envelope::Message(0)).is_ok());
        let wake = Arc::<Wakes>::default();
        let w = waker(Arc::clone(&wake));
        let mut send = pin!(tx.send(Envelope::Message(1)));
        assert!(
            send.as_mut()
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
        rx.close(&tx);
        assert_eq!(wakes(&wake), 1);
        let back = send.as_mut().poll(&mut Context::from_waker(&w));
        assert!(matches!(back, Poll::Ready(Err(Envelope::Message(1)))));
        // What was queued before the close can still be received.
        assert!(matches!(rx.try_recv(&tx), Some(Envelope::Message(0))));
        assert!(matches!(
            tx.try_send(Envelope::Message(3)),
            Err(TrySend::Closed(_))
        ));
    }

    #[test]
    fn messages_come_out_in_order_whether_alone_or_queued() {
        let (tx, mut rx) = Mailbox::unbounded().queue::<u32>();
        let w = waker(Arc::<Wakes>::default());
        let mut cx = Context::from_waker(&w);
        let mut next = |rx: &mut MailboxReceiver<u32>| match rx.poll_recv(&tx, &mut cx) {
            Poll::Ready(Some(Envelope::Message(n))) => Some(n),
            _ => None,
        };
        // A lone message is kept inline: no queue buffer is allocated for it.
        assert!(tx.try_send(Envelope::Message(1)).is_ok());
        assert_eq!(tx.lock().items.capacity(), 0);
        assert_eq!(next(&mut rx), Some(1));
        assert_eq!(next(&mut rx), None);
        // Queued behind one: the first comes out first, then the rest in order, also when more
        // arrive while the rest are being worked through.
        for n in 2..=4 {
            assert!(tx.try_send(Envelope::Message(n)).is_ok());
        }
        assert_eq!(next(&mut rx), Some(2));
        assert!(tx.try_send(Envelope::Message(5)).is_ok());
        let rest: Vec<u32> = std::iter::from_fn(|| next(&mut rx)).collect();
        assert_eq!(rest, [3, 4, 5]);
    }

    #[test]
    fn a_waiting_receiver_registers_once_and_is_woken_by_every_send_until_forgotten() {
        let (tx, mut rx) = Mailbox::unbounded().queue::<u32>();
        let wake = Arc::<Wakes>::default();
        let w = waker(Arc::clone(&wake));
        let mut cx = Context::from_waker(&w);
        assert!(rx.poll_recv(&tx, &mut cx).is_pending());
        for n in 0..3 {
            assert!(tx.try_send(Envelope::Message(n)).is_ok());
            assert_eq!(wakes(&wake), n as usize + 1);
            assert!(matches!(rx.poll_recv(&tx, &mut cx), Poll::Ready(Some(_))));
            assert!(rx.poll_recv(&tx, &mut cx).is_pending());
        }
        // A kill or release wakes it the same way.
        tx.wake();
        assert_eq!(wakes(&wake), 4);
        // Once its task has ended, nothing wakes it.
        tx.forget_wakers();
        assert!(tx.try_send(Envelope::Message(9)).is_ok());
        tx.wake();
        assert_eq!(wakes(&wake), 4);
    }

    #[test]
    fn the_batch_in_hand_counts_against_the_capacity() {
        let (tx, mut rx) = Mailbox::bounded(3).queue::<u32>();
        let w = waker(Arc::<Wakes>::default());
        let mut cx = Context::from_waker(&w);
        for n in 0..3 {
            assert!(tx.try_send(Envelope::Message(n)).is_ok());
        }
        assert!(matches!(
            tx.try_send(Envelope::Message(9)),
            Err(TrySend::Full(_))
        ));
        // The actor takes 0 to handle and 1, 2 as its batch: two wait, room for one.
        assert!(matches!(
            rx.poll_recv(&tx, &mut cx),
            Poll::Ready(Some(Envelope::Message(0)))
        ));
        assert!(tx.try_send(Envelope::Message(3)).is_ok());
        assert!(matches!(
            tx.try_send(Envelope::Message(9)),
            Err(TrySend::Full(_))
        ));
        assert_eq!(tx.len(), 3);
        // Each message taken from the batch makes room for one.
        assert!(matches!(
            rx.poll_recv(&tx, &mut cx),
            Poll::Ready(Some(Envelope::Message(1)))
        ));
        assert!(tx.try_send(Envelope::Message(4)).is_ok());
        assert!(matches!(
            tx.try_send(Envelope::Message(9)),
            Err(TrySend::Full(_))
        ));
        let rest: Vec<u32> = std::iter::from_fn(|| match rx.poll_recv(&tx, &mut cx) {
            Poll::Ready(Some(Envelope::Message(n))) => Some(n),
            _ => None,
        })
        .collect();
        assert_eq!(rest, [2, 3, 4]);
    }

    #[test]
    fn a_sender_waiting_behind_a_batch_is_woken_when_the_actor_comes_back_for_more() {
        let (tx, mut rx) = Mailbox::bounded(2).queue::<u32>();
        let w = waker(Arc::<Wakes>::default());
        let mut cx = Context::from_waker(&w);
        assert!(tx.try_send(Envelope::Message(0)).is_ok());
        assert!(tx.try_send(Envelope::Message(1)).is_ok());
        assert!(matches!(
            rx.poll_recv(&tx, &mut cx),
            Poll::Ready(Some(Envelope::Message(0)))
        ));
        assert!(tx.try_send(Envelope::Message(2)).is_ok()); // 1 in hand, 2 queued: full
        let (wake, sender_waker) = counted();
        let mut send = pin!(tx.send(Envelope::Message(3)));
        let mut sender_cx = Context::from_waker(&sender_waker);
        assert!(send.as_mut().poll(&mut sender_cx).is_pending());
        // Taking 1 from the batch frees room, but the sender is only woken once the actor
        // comes back to the queue (it holds 2, so it will).
        assert!(matches!(
            rx.poll_recv(&tx, &mut cx),
            Poll::Ready(Some(Envelope::Message(1)))
        ));
        assert_eq!(wakes(&wake), 0);
        assert!(matches!(
            rx.poll_recv(&tx, &mut cx),
            Poll::Ready(Some(Envelope::Message(2)))
        ));
        assert_eq!(wakes(&wake), 1);
        assert!(matches!(
            send.as_mut().poll(&mut sender_cx),
            Poll::Ready(Ok(()))
        ));
        assert!(matches!(
            rx.poll_recv(&tx, &mut cx),
            Poll::Ready(Some(Envelope::Message(3)))
        ));
    }

    #[test]
    fn a_held_place_counts_against_the_capacity_until_it_is_used() {
        let (tx, mut rx) = Mailbox::bounded(2).queue::<u32>();
        let held = tx.try_reserve().ok().expect("room");
        assert!(tx.try_send(Envelope::Message(0)).is_ok());
        // One queued and one place held: full, for a send and for another place.
        assert!(matches!(
            tx.try_send(Envelope::Message(9)),
            Err(TrySend::Full(_))
        ));
        assert!(matches!(tx.try_reserve(), Err(TrySend::Full(()))));
        assert!(held.send(Envelope::Message(1)).is_ok());
        assert!(matches!(
            tx.try_send(Envelope::Message(9)),
            Err(TrySend::Full(_))
        ));
        assert!(matches!(rx.try_recv(&tx), Some(Envelope::Message(0))));
        assert!(matches!(rx.try_recv(&tx), Some(Envelope::Message(1))));
        // Alone in an empty mailbox, a held place still counts.
        let (tx, _rx) = Mailbox::bounded(1).queue::<u32>();
        let _held = tx.try_reserve().ok().expect("room");
        assert!(matches!(
            tx.try_send(Envelope::Message(9)),
            Err(TrySend::Full(_))
        ));
    }

    #[test]
    fn a_place_given_up_goes_to_a_waiting_sender() {
        let (tx, mut rx) = Mailbox::bounded(2).queue::<u32>();
        assert!(tx.try_send(Envelope::Message(0)).is_ok());
        let held = tx.try_reserve().ok().expect("room");
        let (wake, sender_waker) = counted();
        let mut sender_cx = Context::from_waker(&sender_waker);
        let mut send = pin!(tx.send(Envelope::Message(1)));
        assert!(send.as_mut().poll(&mut sender_cx).is_pending());
        drop(held);
        assert_eq!(wakes(&wake), 1);
        assert!(matches!(
            send.as_mut().poll(&mut sender_cx),
            Poll::Ready(Ok(()))
        ));
        assert!(matches!(rx.try_recv(&tx), Some(Envelope::Message(0))));
        assert!(matches!(rx.try_recv(&tx), Some(Envelope::Message(1))));
    }

    #[test]
    fn a_place_held_when_the_mailbox_closes_gives_its_message_back() {
        let (tx, mut rx) = Mailbox::bounded(2).queue::<u32>();
        let held = tx.try_reserve().ok().expect("room");
        rx.close(&tx);
        assert!(matches!(tx.try_reserve(), Err(TrySend::Closed(()))));
        assert!(matches!(
            held.send(Envelope::Message(7)),
            Err(Envelope::Message(7))
        ));
        assert!(rx.try_recv(&tx).is_none());
    }

    #[test]
    fn a_message_sent_before_the_first_wait_is_found_without_a_wake() {
        let (tx, mut rx) = Mailbox::unbounded().queue::<u32>();
        let w = waker(Arc::<Wakes>::default());
        assert!(tx.try_send(Envelope::Message(7)).is_ok());
        let got = rx.poll_recv(&tx, &mut Context::from_waker(&w));
        assert!(matches!(got, Poll::Ready(Some(Envelope::Message(7)))));
    }
}
