//! Proxies: an [`ActorRef<A>`] whose mailbox is drained by a forwarding task instead of an
//! actor, the way a pool's router drains its own (`pool/router`). `compaktor-remote` puts the
//! network behind one; the local send path is the same code as for any actor.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

use crate::actor::cell::Control;
use crate::actor::mailbox::{Envelope, MailboxReceiver};
use crate::actor::shared::RefCore;
use crate::actor::shared::Shared;
use crate::task::{Next, next_envelope, shutdown};
use crate::{Actor, ActorRef, ActorSystem, Mailbox, SendError, SpawnError, StopReason};

/// The receiving end of a proxy's mailbox: the forwarding task takes each message from it in
/// order. Dropping it ends the proxy (see [`ProxyInbox::end`]).
pub struct ProxyInbox<A: Actor> {
    shared: Arc<Shared<A>>,
    rx: MailboxReceiver<A::Message>,
    registered: bool,
    reason: Option<StopReason>,
}

impl<A: Actor> std::fmt::Debug for ProxyInbox<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyInbox")
            .field("proxy", &self.shared.cell.label)
            .finish_non_exhaustive()
    }
}

/// A new `ActorRef<A>` in `system`, labelled `name` (not listed under a path), whose messages
/// come out of the returned [`ProxyInbox`] instead of reaching an actor.
///
/// # Errors
/// [`SpawnError::ShuttingDown`].
///
/// # Panics
/// Outside a tokio runtime.
pub fn spawn_proxy<A: Actor>(
    system: &ActorSystem,
    name: Arc<str>,
    mailbox: Mailbox,
) -> Result<(ActorRef<A>, ProxyInbox<A>), SpawnError> {
    if system.is_shutting_down() {
        return Err(SpawnError::ShuttingDown {
            system: system.name().into(),
        });
    }
    let (shared, rx) = system.new_actor::<A>(Some(name), None, mailbox);
    let control: Arc<dyn Control> = shared.clone();
    system.enroll_unlisted(control);
    shared.cell.set_phase(crate::ActorState::Running);
    let proxy = ActorRef::from_core(RefCore::new(Arc::clone(&shared)));
    Ok((
        proxy,
        ProxyInbox {
            shared,
            rx,
            registered: false,
            reason: None,
        },
    ))
}

impl<A: Actor> ProxyInbox<A> {
    /// The next message, in the order they were sent; `None` once the proxy must end (a stop,
    /// a kill, or no references left), then [`reason`](Self::reason) says why.
    pub async fn recv(&mut self) -> Option<A::Message> {
        if self.reason.is_some() {
            return None;
        }
        if !self.registered {
            // From now on every message, kill and release wakes this task.
            let (rx, tx) = (&mut self.rx, &self.shared.tx);
            poll_fn(|cx| Poll::Ready(rx.register(tx, cx.waker()))).await;
            self.registered = true;
        }
        let cell = &self.shared.cell;
        loop {
            match next_envelope(cell, &self.shared.tx, &mut self.rx).await {
                Next::Envelope(env) => match env {
                    Envelope::Stop => {
                        self.reason = Some(StopReason::Stopped);
                        return None;
                    }
                    env => {
                        if let Some(message) = env.into_message() {
                            return Some(message);
                        }
                    }
                },
                Next::Released => {
                    self.reason = Some(StopReason::Released);
                    return None;
                }
                Next::Control => {
                    if cell.is_killed() {
                        self.reason = Some(StopReason::Killed);
                        return None;
                    }
                    if let Some(reason) = cell.take_interrupt() {
                        self.reason = Some(reason);
                        return None;
                    }
                }
            }
        }
    }

    /// The next message if one is queued now, without waiting: `None` if none is, or once
    /// the proxy must end (a stop queued before it; then [`recv`](Self::recv) gives `None`
    /// too). Kills and releases are seen by `recv`. For a forwarding task that sends what
    /// is queued together.
    pub fn try_recv(&mut self) -> Option<A::Message> {
        if self.reason.is_some() {
            return None;
        }
        loop {
            match self.rx.try_recv(&self.shared.tx)? {
                Envelope::Stop => {
                    self.reason = Some(StopReason::Stopped);
                    return None;
                }
                env => {
                    if let Some(message) = env.into_message() {
                        return Some(message);
                    }
                }
            }
        }
    }

    /// Why [`recv`](Self::recv) gave `None`.
    pub fn reason(&self) -> Option<&StopReason> {
        self.reason.as_ref()
    }

    /// A reference to the proxy (for a forwarding task that ends it from elsewhere).
    pub fn proxy(&self) -> ActorRef<A> {
        ActorRef::from_core(RefCore::new(Arc::clone(&self.shared)))
    }

    /// Ends the proxy with `reason`: what is still queued becomes dead letters, `stopped()`
    /// resolves, watchers are told.
    pub fn end(mut self, reason: StopReason) {
        self.reason = Some(reason);
    }
}

impl<A: Actor> Drop for ProxyInbox<A> {
    fn drop(&mut self) {
        let reason = self.reason.take().unwrap_or(StopReason::Stopped);
        let cell = &self.shared.cell;
        cell.set_phase(crate::ActorState::Stopping);
        shutdown(&self.shared, &mut self.rx);
        cell.end_links(&reason);
        cell.system.actor_finished(cell, &reason);
        cell.finish(reason);
        self.shared.tx.forget_wakers();
    }
}

/// Puts `message` in `target`'s mailbox without waiting: a full mailbox or a stopped actor
/// refuses it, and the refusal is counted as a dead letter (as for `try_send`).
///
/// # Errors
/// [`SendError::Full`], [`SendError::Stopped`].
pub fn deliver<A: Actor>(target: &ActorRef<A>, message: A::Message) -> Result<(), SendError> {
    use crate::macro_support::Message as _;
    let handler = message.handler_name();
    let shared = target.shared();
    match shared.try_enqueue(Envelope::Message(message)) {
        Ok(()) => Ok(()),
        Err(crate::actor::shared::Refused::Stopped(env)) => {
            Err(shared.cell.stopped_with(handler, env))
        }
        Err(crate::actor::shared::Refused::Full(env)) => {
            // Nobody on this side can take the message back: the dead letter carries it.
            shared
                .cell
                .dead_envelope(handler, crate::DeadLetterReason::MailboxFull, env);
            Err(shared.full(handler))
        }
    }
}
