//! [`Recipient`]: an address for one payload type, whatever the actor behind it, so a sensor can
//! send to "whoever takes a `Distance`". Built from an [`ActorRef`] and one of its handlers;
//! the sends themselves are the ordinary `Tell` paths of `tell`. Fan-out to many actors by
//! name lives in `topic`.

use std::fmt;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::actor::dead_letter::DeadLetterReason;
use crate::actor::mailbox::{Envelope, TrySend};
use crate::{Actor, ActorId, ActorLabel, ActorRef, SendError, Tell, TryTellError};

/// Sends `T` to one actor, of any type, through a handler that takes a `T`.
///
/// Make one with [`Recipient::new`] from an [`ActorRef`] and a closure that calls the handler:
/// `Recipient::new(&brake, |me, d| me.distance(d))`. Recipients of different actor types have
/// the same type, so they go in one `Vec`, a field, or a sensor's list of listeners.
///
/// A recipient holds an [`ActorRef`]: like one, it keeps its actor alive (the actor stops
/// when its last ref or recipient is dropped), and it is cheap to clone, `Send` and `Sync`.
/// Sends go to the actor's mailbox exactly as the handler method's own `Tell` would, with the
/// same backpressure, errors and dead letters.
///
/// ```
/// use compaktor::prelude::*;
///
/// #[derive(Debug, Clone, Copy)]
/// struct Distance(f32);
///
/// struct Brake { engaged: bool }
/// #[actor]
/// impl Brake {
///     #[handler]
///     fn distance(&mut self, d: Distance) { self.engaged = d.0 < 0.2; }
///     #[handler]
///     fn engaged(&self) -> bool { self.engaged }
/// }
///
/// struct Logger { lines: Vec<String> }
/// #[actor]
/// impl Logger {
///     #[handler]
///     fn log_distance(&mut self, d: Distance) { self.lines.push(format!("{:.2} m", d.0)); }
///     #[handler]
///     fn lines(&self) -> Vec<String> { self.lines.clone() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("rover");
/// let brake = system.spawn(Brake { engaged: false });
/// let logger = system.spawn(Logger { lines: Vec::new() });
///
/// // The sonar knows neither actor type, only that they take a `Distance`.
/// let listeners: Vec<Recipient<Distance>> = vec![
///     Recipient::new(&brake, |me, d| me.distance(d)),
///     Recipient::new(&logger, |me, d| me.log_distance(d)),
/// ];
/// for listener in &listeners {
///     listener.tell(Distance(0.15)).await?;
/// }
/// assert!(brake.engaged().await?);
/// assert_eq!(logger.lines().await?, ["0.15 m"]);
/// # Ok(()) }
/// ```
pub struct Recipient<T> {
    inner: Arc<dyn Deliver<T>>,
}

impl<T: Send + 'static> Recipient<T> {
    /// A recipient that sends each `T` to `actor` through the handler `make` calls, e.g.
    /// `|me, d| me.distance(d)`; for a handler that returns a value, tell it with
    /// `|me, d| me.log_distance(d).tell()`. `make` is given `actor` and calls one of its
    /// handler methods; the message it makes goes to `actor`. The recipient holds a clone of
    /// `actor`, so it keeps the actor alive.
    pub fn new<A, F, R, E>(actor: &ActorRef<A>, make: F) -> Self
    where
        A: Actor,
        F: for<'r> Fn(&'r ActorRef<A>, T) -> Tell<'r, A, R, E> + Send + Sync + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        Recipient {
            inner: Arc::new(Bound {
                actor: actor.clone(),
                make,
                reply: PhantomData,
            }),
        }
    }

    /// Sends `value`, waiting for room if the mailbox is full (backpressure), like awaiting
    /// the handler method's `Tell`.
    ///
    /// # Errors
    /// [`SendError::Stopped`] if the actor has stopped, or [`SendError::WouldDeadlock`] if an
    /// actor sends to itself while its own mailbox is full. The value is counted as a dead
    /// letter as well.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes may or may not have queued the value.
    pub async fn tell(&self, value: T) -> Result<(), SendError> {
        self.inner.tell(value).await
    }

    /// Sends `value` without waiting. The message is made (the closure given to
    /// [`new`](Self::new) called) only once a place in the mailbox is held for it, so a value
    /// that cannot go is given back whole.
    ///
    /// # Errors
    /// A [`TryTellError`] whose [`error`](TryTellError::error) is [`SendError::Full`] if the
    /// bounded mailbox is full, [`SendError::Stopped`] if the actor has stopped, and which
    /// gives the value back ([`TryTellError::into_value`]). Either way it is counted as a dead
    /// letter (see [`TryTellError`]).
    pub fn try_tell(&self, value: T) -> Result<(), TryTellError<T>> {
        self.inner.try_tell(value)
    }

    /// Sends `value` from a thread that is not running async code (a driver thread, a GPIO
    /// interrupt callback), blocking it until there is room.
    ///
    /// # Errors
    /// [`SendError::Stopped`] if the actor has stopped, or stops while this waits;
    /// [`SendError::BlockingInRuntime`] when called on a thread inside a tokio runtime (async
    /// code, or a `spawn_blocking` closure): use [`tell`](Self::tell) there. Either way the
    /// value is counted as a dead letter.
    pub fn blocking_tell(&self, value: T) -> Result<(), SendError> {
        self.inner.blocking_tell(value)
    }

    /// The id of the actor behind this recipient.
    pub fn id(&self) -> ActorId {
        self.inner.label().id
    }

    /// The id and name of the actor behind this recipient.
    pub fn label(&self) -> &ActorLabel {
        self.inner.label()
    }

    /// Whether the actor still takes messages (it has not begun to stop).
    pub fn is_alive(&self) -> bool {
        self.inner.is_alive()
    }

    /// The type name of the actor behind this recipient, for logs.
    pub fn actor_type(&self) -> &'static str {
        self.inner.actor_type()
    }
}

impl<T> Clone for Recipient<T> {
    fn clone(&self) -> Self {
        Recipient {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: 'static> fmt::Debug for Recipient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipient")
            .field("payload", &std::any::type_name::<T>())
            .field("actor", &self.inner.actor_type())
            .field("id", &self.inner.label().id)
            .field("name", &self.inner.label().name)
            .finish()
    }
}

/// One actor and one of its handlers, with the actor's type erased.
trait Deliver<T>: Send + Sync + 'static {
    fn tell(&self, value: T) -> BoxFuture<'_, Result<(), SendError>>;
    fn try_tell(&self, value: T) -> Result<(), TryTellError<T>>;
    fn blocking_tell(&self, value: T) -> Result<(), SendError>;
    fn label(&self) -> &ActorLabel;
    fn is_alive(&self) -> bool;
    fn actor_type(&self) -> &'static str;
}

struct Bound<A: Actor, F, R, E> {
    actor: ActorRef<A>,
    make: F,
    reply: PhantomData<fn() -> (R, E)>,
}

impl<A, F, T, R, E> Deliver<T> for Bound<A, F, R, E>
where
    A: Actor,
    F: for<'r> Fn(&'r ActorRef<A>, T) -> Tell<'r, A, R, E> + Send + Sync + 'static,
    R: Send + 'static,
    E: Send + 'static,
{
    fn tell(&self, value: T) -> BoxFuture<'_, Result<(), SendError>> {
        Box::pin((self.make)(&self.actor, value).into_future())
    }

    fn try_tell(&self, value: T) -> Result<(), TryTellError<T>> {
        // A place first, then the message: a refused value has not been moved into one.
        let shared = self.actor.shared();
        let place = match shared.cell.is_running() {
            true => shared.tx.try_reserve(),
            false => Err(TrySend::Closed(())),
        };
        let place = match place {
            Ok(place) => place,
            Err(refused) => {
                let handler = std::any::type_name::<T>();
                let error = match refused {
                    TrySend::Full(()) => shared.full_error(handler),
                    TrySend::Closed(()) => shared.cell.stopped_error(handler),
                };
                return Err(TryTellError::new(error, value));
            }
        };
        let (_, handler, message) = (self.make)(&self.actor, value).into_parts();
        if let Err(env) = place.send(Envelope::Message(message)) {
            // The actor stopped between the place and the message: as for a message queued
            // just before its stop, the send went through and the message is a dead letter
            // that carries it.
            shared
                .cell
                .dead_envelope(handler, DeadLetterReason::Dropped, env);
        }
        Ok(())
    }

    fn blocking_tell(&self, value: T) -> Result<(), SendError> {
        (self.make)(&self.actor, value).blocking_send()
    }

    fn label(&self) -> &ActorLabel {
        self.actor.label()
    }

    fn is_alive(&self) -> bool {
        self.actor.is_alive()
    }

    fn actor_type(&self) -> &'static str {
        std::any::type_name::<A>()
    }
}
