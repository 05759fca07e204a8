//! How actors end and fail: [`StopReason`], [`HandlerFailure`] and [`FailureAction`], and the
//! notices of an end that watchers and linked actors get ([`Terminated`], [`LinkExit`]). Who acts on
//! them lives in `task` and `tree::node`.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::ActorLabel;

/// Why an actor stopped. [`ActorRef::stopped`](crate::ActorRef::stopped) resolves with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Stopped on request: the poison pill ([`ActorRef::stop`](crate::ActorRef::stop)) or
    /// [`Context::stop`](crate::Context::stop).
    Stopped,
    /// Every [`ActorRef`](crate::ActorRef) was dropped and the mailbox was drained.
    Released,
    /// [`ActorRef::kill`](crate::ActorRef::kill): stopped at once.
    Killed,
    /// The start hook returned an error (or panicked); the actor never handled a message. The
    /// [`StartError`](crate::StartError) keeps the hook's own error.
    StartFailed(crate::StartError),
    /// A handler panicked.
    Panicked {
        /// The handler that panicked.
        handler: &'static str,
        /// The panic message.
        message: String,
    },
    /// A told handler returned `Err` and the failure hook did not resume.
    Failed {
        /// The handler that failed.
        handler: &'static str,
        /// The error, as its `Display` text.
        error: String,
    },
    /// A child failed more often than this actor's [`Supervision`](crate::Supervision) allows
    /// (or its failure hook chose [`FailureAction::Escalate`]), so this supervisor failed too.
    Escalated {
        /// The child.
        child: ActorLabel,
        /// Why the child ended.
        reason: Box<StopReason>,
    },
    /// An actor linked to this one ([`Context::link`](crate::Context::link)) failed, and this
    /// one does not trap exits.
    LinkFailed {
        /// The linked actor.
        peer: ActorLabel,
        /// Why it ended.
        reason: Box<StopReason>,
    },
    /// A closure this actor gave to a timer, a stream, a topic subscription, a watch or an
    /// exit trap panicked (or the attached stream itself did). The source has ended; the
    /// instance fails once its current handler returns, as after a handler's panic (a
    /// supervisor restarts it per its policy).
    SourcePanicked {
        /// The source whose closure panicked.
        source: MessageSource,
        /// The panic message.
        message: String,
    },
    /// The instance ended with `reason`, then its `#[on_stop]` hook panicked. The state was
    /// still dropped (a motor's safe state in its `Drop` ran), and what the supervisor does is
    /// what it would have done for `reason`: the instance was ending already.
    StopHookPanicked {
        /// How the instance ended before its stop hook ran.
        reason: Box<StopReason>,
        /// The panic message.
        message: String,
    },
    /// Stopped by its supervisor to be restarted together with a sibling that failed
    /// ([`Strategy::OneForAll`](crate::Strategy::OneForAll) and
    /// [`Strategy::RestForOne`](crate::Strategy::RestForOne)).
    SiblingFailed {
        /// The sibling whose failure restarts this actor.
        sibling: ActorLabel,
    },
    /// This reference is to an actor on another node (from `compaktor-remote`'s `lookup`),
    /// and it ended: [`RemoteEnd`] says whether the actor stopped there, was no longer
    /// exported, or its whole node went away.
    Remote(RemoteEnd),
}

/// How a reference to an actor on another node ended: what [`StopReason::Remote`] holds.
///
/// ```
/// use compaktor::{RemoteEnd, StopReason};
/// let lost = StopReason::Remote(RemoteEnd::NodeGone { node: "robot-1".into() });
/// assert!(lost.is_failure());
/// let done = StopReason::Remote(RemoteEnd::ActorStopped {
///     node: "robot-1".into(),
///     reason: "stopped on request".into(),
///     failure: false,
/// });
/// assert!(!done.is_failure());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteEnd {
    /// The actor stopped on its node (its node said so before withdrawing it).
    ActorStopped {
        /// The node it ran on.
        node: String,
        /// Its [`StopReason`] there, as text.
        reason: String,
        /// Whether that reason was a failure ([`StopReason::is_failure`] there).
        failure: bool,
    },
    /// Its node stopped exporting it (`unexport`); the actor may still run there.
    Unexported {
        /// The node.
        node: String,
    },
    /// Its node is gone from the network without a word: its process ended or crashed, or
    /// the network to it was cut for longer than the node's lease. From this side the two
    /// cannot be told apart (a dead process and a cut cable both fall silent); a crashed
    /// process is usually noticed at once (its sockets close), a cut at the lease's end.
    NodeGone {
        /// The node.
        node: String,
    },
    /// Its node left the network and said goodbye first (`RemoteNode::leave`, its last
    /// handle dropped, or its system shut down): known at once, not after a lease. Like
    /// [`NodeGone`](Self::NodeGone) a failure for links: the actor did not stop of its own
    /// accord, and a robot commanded from that node must react the same whether it crashed
    /// or left.
    NodeLeft {
        /// The node.
        node: String,
    },
}

impl fmt::Display for RemoteEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteEnd::ActorStopped { node, reason, .. } => {
                write!(f, "the remote actor on node `{node}` ended: {reason}")
            }
            RemoteEnd::Unexported { node } => {
                write!(f, "node `{node}` no longer exports the actor")
            }
            RemoteEnd::NodeGone { node } => write!(
                f,
                "node `{node}` is gone from the network (its process ended or the network to it \
                 was cut)"
            ),
            RemoteEnd::NodeLeft { node } => {
                write!(f, "node `{node}` left the network (it said goodbye)")
            }
        }
    }
}

impl StopReason {
    /// Whether the actor ended because something went wrong (panic, error, failed start, a
    /// panicking message source or stop hook).
    ///
    /// ```
    /// use compaktor::StopReason;
    /// assert!(!StopReason::Stopped.is_failure());
    /// assert!(StopReason::StartFailed("no device".into()).is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            StopReason::StartFailed(_)
                | StopReason::Panicked { .. }
                | StopReason::Failed { .. }
                | StopReason::Escalated { .. }
                | StopReason::LinkFailed { .. }
                | StopReason::StopHookPanicked { .. }
                | StopReason::SourcePanicked { .. }
                | StopReason::Remote(RemoteEnd::NodeGone { .. })
                | StopReason::Remote(RemoteEnd::NodeLeft { .. })
                | StopReason::Remote(RemoteEnd::ActorStopped { failure: true, .. })
        )
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Stopped => f.write_str("stopped on request"),
            StopReason::Released => f.write_str("stopped after its last reference was dropped"),
            StopReason::Killed => f.write_str("killed"),
            StopReason::StartFailed(e) => write!(f, "start hook failed: {e}"),
            StopReason::Panicked { handler, message } => {
                write!(f, "handler `{handler}` panicked: {message}")
            }
            StopReason::Failed { handler, error } => {
                write!(f, "handler `{handler}` failed: {error}")
            }
            StopReason::Escalated { child, reason } => {
                write!(f, "its child {child} failed too often ({reason})")
            }
            StopReason::LinkFailed { peer, reason } => {
                write!(f, "linked {peer} failed ({reason})")
            }
            StopReason::SourcePanicked { source, message } => {
                write!(f, "{source} panicked: {message}")
            }
            StopReason::StopHookPanicked { reason, message } => {
                write!(f, "{reason}, then its stop hook panicked: {message}")
            }
            StopReason::SiblingFailed { sibling } => {
                write!(f, "restarted with its sibling {sibling}")
            }
            StopReason::Remote(end) => end.fmt(f),
        }
    }
}

/// Where messages an actor did not get from a sender come from: what
/// [`StopReason::SourcePanicked`] names. Each is a task beside the actor that runs a closure the
/// actor gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageSource {
    /// A [`Context::send_after`](crate::Context::send_after) timer's closure.
    SendAfter,
    /// A periodic timer's closure ([`Context::every`](crate::Context::every) or
    /// [`every_with`](crate::Context::every_with)).
    Every,
    /// A stream from [`Context::attach_stream`](crate::Context::attach_stream), or its closure.
    Stream,
    /// The closure of a subscription to the topic of this name
    /// ([`Context::subscribe`](crate::Context::subscribe) and its siblings).
    Subscription(std::sync::Arc<str>),
    /// A [`Context::watch`](crate::Context::watch) notice's closure.
    Watch,
    /// The closure of [`Context::trap_exits`](crate::Context::trap_exits).
    TrapExits,
}

impl fmt::Display for MessageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageSource::SendAfter => f.write_str("timer `send_after` closure"),
            MessageSource::Every => f.write_str("timer `every` closure"),
            MessageSource::Stream => f.write_str("attached stream"),
            MessageSource::Subscription(topic) => {
                write!(f, "topic `{topic}` subscription closure")
            }
            MessageSource::Watch => f.write_str("watch notice closure"),
            MessageSource::TrapExits => f.write_str("exit trap closure"),
        }
    }
}

/// A told handler's `Err` (or a panic), handed to the actor's failure hook.
///
/// ```
/// use compaktor::prelude::*;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("sensor not answering")]
/// struct Timeout;
///
/// struct Sensor { misses: u32 }
///
/// #[actor]
/// impl Sensor {
///     #[handler]
///     fn poll(&mut self) -> Result<(), Timeout> { Err(Timeout) }
///
///     /// Keep running on the first two misses, stop on the third.
///     #[on_failure]
///     fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
///         assert_eq!(failure.handler(), "poll");
///         assert!(failure.error::<Timeout>().is_some());
///         self.misses += 1;
///         if self.misses < 3 { FailureAction::Resume } else { FailureAction::Stop }
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let system = ActorSystem::new("failures");
/// let sensor = system.spawn(Sensor { misses: 0 });
/// for _ in 0..3 { sensor.poll().tell().await.unwrap(); }
/// assert!(matches!(sensor.stopped().await, StopReason::Failed { handler: "poll", .. }));
/// # }
/// ```
pub struct HandlerFailure {
    handler: &'static str,
    message: String,
    error: Box<dyn Any + Send + Sync>,
}

impl HandlerFailure {
    pub(crate) fn new<E: fmt::Display + Send + Sync + 'static>(
        handler: &'static str,
        error: E,
    ) -> Self {
        HandlerFailure {
            handler,
            message: error.to_string(),
            error: Box::new(error),
        }
    }

    /// The handler that returned the error.
    pub fn handler(&self) -> &'static str {
        self.handler
    }

    /// The error's `Display` text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error itself, if it is an `E`.
    pub fn error<E: 'static>(&self) -> Option<&E> {
        self.error.downcast_ref()
    }

    pub(crate) fn to_stop_reason(&self) -> StopReason {
        StopReason::Failed {
            handler: self.handler,
            error: self.message.clone(),
        }
    }
}

impl fmt::Debug for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerFailure")
            .field("handler", &self.handler)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "handler `{}` failed: {}", self.handler, self.message)
    }
}

/// What the failure hook decides after a told handler returned `Err`. In each case but
/// `Resume` the instance ends with [`StopReason::Failed`].
///
/// Whether a failure ([`Fail`](Self::Fail), the default) is followed by a restart depends on
/// how the actor was spawned, as only an actor with a factory can be made again: a child
/// ([`Context::child`](crate::Context::child)), a pool worker, and a top-level actor spawned
/// with [`ActorSystem::spawn_with`](crate::ActorSystem::spawn_with) are restarted by their
/// restart policy, within their restart limit; a top-level actor spawned from a value
/// ([`ActorSystem::spawn`](crate::ActorSystem::spawn)) stops for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailureAction {
    /// Keep the state and handle the next message.
    Resume,
    /// A failure, for its supervisor to act on. An actor made by a factory (a child, a pool
    /// worker, a top-level actor from `spawn_with`) is restarted with fresh state, keeping its
    /// mailbox and refs (within its restart limit, unless its restart policy says otherwise).
    /// An actor spawned from a value cannot be remade: it stops, and its queued messages become
    /// dead letters. The default.
    #[default]
    Fail,
    /// Stop for good, even under a supervisor that would restart it.
    Stop,
    /// Stop for good and fail the supervisor as well ([`StopReason::Escalated`]), for an error
    /// only a restart of the whole group can fix.
    Escalate,
}

/// The text of a panic payload (`panic!("..")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// The notice a watcher gets when the actor it watches has ended for good (restarts by a
/// supervisor do not end an actor).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Terminated {
    /// The actor that ended.
    pub actor: ActorLabel,
    /// Its path in the system's tree.
    pub path: Arc<str>,
    /// Why it ended.
    pub reason: StopReason,
}

/// The notice an actor that traps exits gets when an instance of a linked actor ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkExit {
    /// The linked actor.
    pub actor: ActorLabel,
    /// Why its instance ended.
    pub reason: StopReason,
}
