//! What callers get back when a send, an ask or a spawn does not work out. Every error names the
//! actor and the handler so a robot's log says what went wrong where.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::actor::Handlers as _;
use crate::{Actor, ActorId, ActorRef, Tell};

/// Which actor an error is about: its id and, if it has one, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorLabel {
    /// The actor's id.
    pub id: ActorId,
    /// The actor's name, if it was given one at spawn.
    pub name: Option<Arc<str>>,
}

impl fmt::Display for ActorLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "actor `{name}` ({})", self.id),
            None => write!(f, "actor {}", self.id),
        }
    }
}

/// A tell that was not delivered. The message is counted as a
/// [dead letter](crate::ActorSystem::dead_letters) as well.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The actor has stopped (or is stopping): nothing will handle the message.
    #[error("{actor} has stopped; `{handler}` was not delivered")]
    Stopped {
        /// The recipient.
        actor: ActorLabel,
        /// The handler the message was for.
        handler: &'static str,
    },
    /// `try_send` found the bounded mailbox full.
    #[error(
        "{actor} has a full mailbox ({capacity} messages); `{handler}` was not delivered \
         (await the send to wait for room, or give the actor a larger mailbox)"
    )]
    Full {
        /// The recipient.
        actor: ActorLabel,
        /// The handler the message was for.
        handler: &'static str,
        /// The mailbox capacity.
        capacity: usize,
    },
    /// An actor sent to itself while its own mailbox was full: waiting for room would wait
    /// forever, because only this actor can make room.
    #[error(
        "{actor} sent `{handler}` to itself while its own mailbox is full; waiting for room would \
         deadlock (use a larger mailbox, or a timer)"
    )]
    WouldDeadlock {
        /// The actor that sent to itself.
        actor: ActorLabel,
        /// The handler the message was for.
        handler: &'static str,
    },
    /// A blocking send (`blocking_send`, `Ask::blocking`, `Recipient::blocking_tell`) was made
    /// on a thread inside a tokio runtime. Blocking a thread that runs tasks can wait forever
    /// (on a current-thread runtime the actor would never run), so it is refused every time,
    /// whether or not the mailbox has room. tokio cannot tell a `spawn_blocking` thread from
    /// one running tasks, so it is refused there too.
    #[error(
        "`{handler}` for {actor} was sent with a blocking call on a thread inside a tokio runtime, \
         where blocking could deadlock; `.await` the send instead (in `spawn_blocking`, use \
         `tokio::runtime::Handle::current().block_on(..)`)"
    )]
    BlockingInRuntime {
        /// The recipient.
        actor: ActorLabel,
        /// The handler the message was for.
        handler: &'static str,
    },
}

/// A [`Tell::try_send`](crate::Tell::try_send) that did not deliver: why (a [`SendError`],
/// also what [`Display`](fmt::Display) shows), and the message itself, given back so nothing is
/// lost: send it again with [`resend`](Self::resend), or take it with
/// [`into_message`](Self::into_message). It is counted as a dead letter (one that does not
/// carry the message, which is here).
///
/// `?` turns it into a `Box<dyn Error + Send + Sync>`, or into a [`SendError`] (dropping the
/// message).
///
/// ```
/// use compaktor::prelude::*;
///
/// struct Logger { lines: Vec<String> }
///
/// #[actor(mailbox = 1)]
/// impl Logger {
///     #[handler]
///     fn log(&mut self, line: String) { self.lines.push(line); }
///     #[handler]
///     fn lines(&self) -> Vec<String> { self.lines.clone() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("robot");
/// let logger = system.spawn(Logger { lines: Vec::new() });
/// logger.log("first".into()).try_send()?;
/// // The actor has not run yet: its one slot is taken.
/// let full = logger.log("second".into()).try_send().unwrap_err();
/// assert!(full.is_full());
/// full.resend(&logger).await?; // waits for room this time
/// assert_eq!(logger.lines().await?, ["first", "second"]);
/// # Ok(()) }
/// ```
pub struct TrySendError<A: Actor, R = (), E = Infallible> {
    error: SendError,
    /// Behind a `Mutex` only so that the error is `Sync` (a message need only be `Send`); it
    /// is never locked, only taken out by value.
    message: Mutex<A::Message>,
    reply: PhantomData<fn() -> (R, E)>,
}

impl<A: Actor, R: Send + 'static, E: Send + 'static> TrySendError<A, R, E> {
    pub(crate) fn new(error: SendError, message: A::Message) -> Self {
        TrySendError {
            error,
            message: Mutex::new(message),
            reply: PhantomData,
        }
    }

    /// Why it was not delivered: [`SendError::Full`] or [`SendError::Stopped`].
    pub fn error(&self) -> &SendError {
        &self.error
    }

    /// Whether the mailbox was full (a later send may succeed).
    pub fn is_full(&self) -> bool {
        matches!(self.error, SendError::Full { .. })
    }

    /// Whether the actor had stopped (no send to it will succeed).
    pub fn is_stopped(&self) -> bool {
        matches!(self.error, SendError::Stopped { .. })
    }

    /// The reason, dropping the message.
    pub fn into_error(self) -> SendError {
        self.error
    }

    /// The message: the enum `#[actor]` generates for the actor (`<A as Actor>::Message`), in
    /// the variant of its handler, holding its arguments.
    pub fn into_message(self) -> A::Message {
        self.message
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The same handler call again, to `to` (the actor it was for, or another of its type,
    /// such as another worker): a [`Tell`] to await, `try_send` or `ask` as before.
    pub fn resend(self, to: &ActorRef<A>) -> Tell<'_, A, R, E> {
        let handler = match &self.error {
            SendError::Stopped { handler, .. }
            | SendError::Full { handler, .. }
            | SendError::WouldDeadlock { handler, .. }
            | SendError::BlockingInRuntime { handler, .. } => *handler,
        };
        Tell::__new(to.__core(), handler, self.into_message())
    }
}

impl<A: Actor, R, E> fmt::Debug for TrySendError<A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrySendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<A: Actor, R, E> fmt::Display for TrySendError<A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<A: Actor, R, E> std::error::Error for TrySendError<A, R, E> {}

impl<A: Actor, R, E> From<TrySendError<A, R, E>> for SendError {
    fn from(e: TrySendError<A, R, E>) -> Self {
        e.error
    }
}

/// A [`Recipient::try_tell`](crate::Recipient::try_tell) that did not deliver: why (a
/// [`SendError`], also what [`Display`](fmt::Display) shows), and the value itself, given back
/// whole ([`into_value`](Self::into_value)): a recipient makes its message only once the
/// mailbox has room for it. It is counted as a dead letter, one without a message, whose
/// `handler` is the payload's type name (the handler was not called).
///
/// `?` turns it into a `Box<dyn Error + Send + Sync>`, or into a [`SendError`] (dropping the
/// value).
///
/// ```
/// use compaktor::prelude::*;
///
/// struct Logger { lines: Vec<String> }
///
/// #[actor(mailbox = 1)]
/// impl Logger {
///     #[handler]
///     fn log(&mut self, line: String) { self.lines.push(line); }
///     #[handler]
///     fn lines(&self) -> Vec<String> { self.lines.clone() }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("robot");
/// let logger = system.spawn(Logger { lines: Vec::new() });
/// let log: Recipient<String> = Recipient::new(&logger, |me, line| me.log(line));
/// log.try_tell("first".into())?;
/// // The actor has not run yet: its one slot is taken.
/// let full = log.try_tell("second".into()).unwrap_err();
/// assert!(full.is_full());
/// log.tell(full.into_value()).await?; // waits for room this time
/// assert_eq!(logger.lines().await?, ["first", "second"]);
/// # Ok(()) }
/// ```
pub struct TryTellError<T> {
    error: SendError,
    /// Behind a `Mutex` only so that the error is `Sync` (a value need only be `Send`); it is
    /// never locked, only taken out by value.
    value: Mutex<T>,
}

impl<T> TryTellError<T> {
    pub(crate) fn new(error: SendError, value: T) -> Self {
        TryTellError {
            error,
            value: Mutex::new(value),
        }
    }

    /// Why it was not delivered: [`SendError::Full`] or [`SendError::Stopped`].
    pub fn error(&self) -> &SendError {
        &self.error
    }

    /// Whether the mailbox was full (a later send may succeed).
    pub fn is_full(&self) -> bool {
        matches!(self.error, SendError::Full { .. })
    }

    /// Whether the actor had stopped (no send to it will succeed).
    pub fn is_stopped(&self) -> bool {
        matches!(self.error, SendError::Stopped { .. })
    }

    /// The reason, dropping the value.
    pub fn into_error(self) -> SendError {
        self.error
    }

    /// The value, as it was given to `try_tell`.
    pub fn into_value(self) -> T {
        self.value
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> fmt::Debug for TryTellError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryTellError")
            .field("error", &self.error)
            .field("value", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T> fmt::Display for TryTellError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T> std::error::Error for TryTellError<T> {}

impl<T> From<TryTellError<T>> for SendError {
    fn from(e: TryTellError<T>) -> Self {
        e.error
    }
}

/// An ask that got no reply value.
///
/// `E` is the handler's own error type (`Infallible` for handlers that cannot fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AskError<E> {
    /// The handler ran and returned this `Err`; it is also this error's
    /// [`source`](std::error::Error::source).
    #[error("the handler returned an error: {0}")]
    Handler(#[source] E),
    /// The actor has stopped, or stopped before it replied.
    #[error("{actor} stopped before `{handler}` replied")]
    Stopped {
        /// The actor asked.
        actor: ActorLabel,
        /// The handler asked.
        handler: &'static str,
    },
    /// `try_send` found the bounded mailbox full.
    #[error("{actor} has a full mailbox ({capacity} messages); `{handler}` was not asked")]
    Full {
        /// The actor asked.
        actor: ActorLabel,
        /// The handler asked.
        handler: &'static str,
        /// The mailbox capacity.
        capacity: usize,
    },
    /// No reply within the time given to [`Ask::timeout`](crate::Ask::timeout). The actor keeps
    /// working; its late reply goes nowhere.
    #[error("{actor} did not answer `{handler}` within {after:?}")]
    Timeout {
        /// The actor asked.
        actor: ActorLabel,
        /// The handler asked.
        handler: &'static str,
        /// The time that was allowed.
        after: Duration,
    },
    /// The handler panicked; the actor stopped.
    #[error("{actor} panicked in `{handler}`: {message}")]
    Panicked {
        /// The actor asked.
        actor: ActorLabel,
        /// The handler that panicked.
        handler: &'static str,
        /// The panic message.
        message: String,
    },
    /// An actor asked itself from inside its own handler. It handles one message at a time, so
    /// the ask could never be answered; call the method directly instead.
    #[error(
        "{actor} asked itself `{handler}` from inside a handler, which would deadlock; \
         call the method on `self` instead"
    )]
    SelfAsk {
        /// The actor.
        actor: ActorLabel,
        /// The handler it asked.
        handler: &'static str,
    },
    /// The actor sent to itself while its own mailbox is full.
    #[error(
        "{actor} asked itself `{handler}` while its own mailbox is full; waiting would deadlock"
    )]
    WouldDeadlock {
        /// The actor.
        actor: ActorLabel,
        /// The handler it asked.
        handler: &'static str,
    },
    /// The actor is in another system, and the call or its answer did not make it across
    /// (see [`RemoteFailure`]).
    #[error("{actor} (remote) did not answer `{handler}`: {failure}")]
    Remote {
        /// The actor asked (its local proxy).
        actor: ActorLabel,
        /// The handler asked.
        handler: &'static str,
        /// What went wrong (boxed: rare, and it would widen every ask's result).
        failure: Box<RemoteFailure>,
    },
    /// An ask made inside a handler would close a cycle of actors waiting on each other's
    /// replies (A asks B while B asks A, or a pool worker asks its own pool): none of them
    /// could ever reply, so it is refused when it is made, instead of waiting until its
    /// timeout. A pool counts as waiting on each of its workers, as any of them may get the
    /// message. Tell instead of asking somewhere in the cycle, or reply later from a task.
    #[error(
        "asking `{handler}` of {actor} would deadlock: it closes a cycle of actors waiting on \
         each other's replies ({}); tell instead of asking somewhere in the cycle",
        cycle_text(.cycle)
    )]
    Cycle {
        /// The actor asked.
        actor: ActorLabel,
        /// The handler asked.
        handler: &'static str,
        /// The actors in the cycle, the asker first: each waits on the next, the last on the
        /// asker.
        cycle: Vec<ActorLabel>,
    },
    /// [`Ask::blocking`](crate::Ask::blocking) was called on a thread inside a tokio runtime
    /// (see [`SendError::BlockingInRuntime`]).
    #[error(
        "`{handler}` of {actor} was asked with a blocking call on a thread inside a tokio \
         runtime, where blocking could deadlock; `.await` the ask instead"
    )]
    BlockingInRuntime {
        /// The actor asked.
        actor: ActorLabel,
        /// The handler asked.
        handler: &'static str,
    },
    /// Asked through a pool that had no worker (all removed, or all ended for good).
    #[error("pool {pool} has no worker to handle `{handler}` (add one with `add_worker`)")]
    NoWorker {
        /// The pool.
        pool: ActorLabel,
        /// The handler asked.
        handler: &'static str,
    },
}

impl<E> From<SendError> for AskError<E> {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Stopped { actor, handler } => AskError::Stopped { actor, handler },
            SendError::Full {
                actor,
                handler,
                capacity,
            } => AskError::Full {
                actor,
                handler,
                capacity,
            },
            SendError::WouldDeadlock { actor, handler } => {
                AskError::WouldDeadlock { actor, handler }
            }
            SendError::BlockingInRuntime { actor, handler } => {
                AskError::BlockingInRuntime { actor, handler }
            }
        }
    }
}

/// `a asks b asks a`: a cycle of asks, the first one again at the end.
fn cycle_text(cycle: &[ActorLabel]) -> String {
    let mut text = String::new();
    for label in cycle.iter().chain(cycle.first()) {
        if !text.is_empty() {
            text.push_str(" asks ");
        }
        text.push_str(&label.to_string());
    }
    text
}

/// A spawn whose actor did not start.
///
/// [`StartFailed`](SpawnError::StartFailed) keeps the start hook's own error:
/// [`source`](std::error::Error::source) returns it, so its type and its source chain reach
/// the caller.
///
/// ```
/// use std::error::Error as _;
///
/// use compaktor::prelude::*;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("no IMU on the bus")]
/// struct NoImu;
///
/// struct Imu;
///
/// #[actor]
/// impl Imu {
///     #[on_start]
///     fn probe(&mut self) -> Result<(), NoImu> {
///         Err(NoImu)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let system = ActorSystem::new("robot");
/// let error = system.builder(Imu).name("imu").start().await.unwrap_err();
/// assert!(matches!(error, SpawnError::StartFailed { .. }));
/// assert!(error.source().unwrap().is::<NoImu>());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// The start hook returned an error or panicked (or the factory panicked); the actor never
    /// handled a message. The hook's error itself is this one's
    /// [`source`](std::error::Error::source).
    StartFailed {
        /// The actor.
        actor: ActorLabel,
        /// The start hook's error, or the panic.
        error: StartError,
    },
    /// Another running actor already has this path: names are unique among siblings.
    NameTaken {
        /// The path asked for.
        path: Arc<str>,
    },
    /// The parent (or pool) is stopping, or has stopped, and takes no new children.
    ParentStopping {
        /// The parent.
        parent: ActorLabel,
    },
    /// The system is shutting down and takes no new actors.
    ShuttingDown {
        /// The system's name.
        system: Arc<str>,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::StartFailed { actor, error } => {
                write!(f, "{actor} failed to start: {error}")
            }
            SpawnError::NameTaken { path } => {
                write!(
                    f,
                    "the path `{path}` is taken by a running actor; choose another name"
                )
            }
            SpawnError::ParentStopping { parent } => {
                write!(f, "{parent} is stopping; it takes no new children")
            }
            SpawnError::ShuttingDown { system } => write!(
                f,
                "actor system `{system}` is shutting down; no new actors are started"
            ),
        }
    }
}

// Written out instead of derived: the source is the hook's error itself (so callers can
// downcast it), not the `StartError` around it, which `#[source]` would give.
impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::StartFailed { error, .. } => Some(error.get_ref()),
            _ => None,
        }
    }
}

/// Why an actor did not start: the error its start hook (`#[on_start]`) returned, kept whole,
/// or the panic of the hook or of the factory. In [`SpawnError::StartFailed`] and
/// [`StopReason::StartFailed`](crate::StopReason::StartFailed).
///
/// It is transparent: it shows the hook's error's message, and its
/// [`source`](std::error::Error::source) is that error's source. [`get_ref`](Self::get_ref)
/// and [`downcast_ref`](Self::downcast_ref) give the error itself. Cloning shares it.
///
/// Two start errors are equal when their messages are (a hook's error need not be
/// `PartialEq`); `StartError::from("no device")` compares equal to a hook's error that says
/// `no device`.
///
/// ```
/// use compaktor::StartError;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("no device on /dev/i2c-1")]
/// struct NoDevice;
///
/// let error = StartError::new(NoDevice);
/// assert!(error.downcast_ref::<NoDevice>().is_some());
/// assert_eq!(error.to_string(), "no device on /dev/i2c-1");
/// assert_eq!(error, StartError::from("no device on /dev/i2c-1"));
/// ```
#[derive(Clone)]
pub struct StartError(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl StartError {
    /// Wraps a start hook's error (any error type, a `String` or a `&str`).
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        StartError(Arc::from(error.into()))
    }

    /// The start hook's error (for a panic, an error carrying the panic message).
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The start hook's error as a `T`, if it is one.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// A panic (of the start hook, or of the factory that made the actor), by its message.
    pub(crate) fn panicked(message: String) -> Self {
        StartError::new(message)
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for StartError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for StartError {}

impl From<String> for StartError {
    fn from(message: String) -> Self {
        StartError::new(message)
    }
}

impl From<&str> for StartError {
    fn from(message: &str) -> Self {
        StartError::new(message)
    }
}

/// Why [`ActorSystem::try_lookup`](crate::ActorSystem::try_lookup) found no actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No running actor has this path.
    #[error("no running actor at `{path}`")]
    NotFound {
        /// The path looked up.
        path: Arc<str>,
    },
    /// The actor at this path is of another type.
    #[error("the actor at `{path}` is a `{actual}`, not a `{expected}`")]
    WrongType {
        /// The path looked up.
        path: Arc<str>,
        /// The type asked for.
        expected: &'static str,
        /// The actor's type.
        actual: &'static str,
    },
}

/// A handler call's encoding failed (sending side) or its bytes did not decode (receiving
/// side). The text says which argument or part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// An argument or a reply could not be encoded.
    #[error("cannot encode {what}: {error}")]
    Encode {
        /// Which value.
        what: &'static str,
        /// The encoder's message.
        error: String,
    },
    /// Bytes did not decode as what they claim to be.
    #[error("cannot decode {what}: {error}")]
    Decode {
        /// Which value.
        what: &'static str,
        /// The decoder's message.
        error: String,
    },
    /// The handler index is not one of this actor's handlers.
    #[error("no handler number {0}")]
    UnknownHandler(u32),
    /// Bytes were left over after the last argument.
    #[error("{0} bytes left over after the last argument")]
    TrailingBytes(usize),
}

/// Why a remote call got no answer from the actor: the asker sees it as
/// [`AskError::Remote`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteFailure {
    /// No answer came back from the network (the peer is gone, the network is cut, or the
    /// answer took longer than the node's ask limit).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The receiving node refused the call (bad bytes, an unknown export, another actor
    /// type, a frame over its size limit).
    #[error("refused by the remote node: {0}")]
    Refused(String),
    /// The call or its answer could not be encoded or decoded here.
    #[error("{0}")]
    Codec(CodecError),
}
