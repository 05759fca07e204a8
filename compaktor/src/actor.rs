//! The actor itself, the ground the other layers stand on: the [`Actor`] trait (written by
//! `#[actor]`) and actor identity here; below, the cell every reference shares (`cell`), the
//! allocation that holds it beside the mailbox and the send paths into it (`shared`,
//! `mailbox`), how an actor ends (`stop_reason`), what it could not deliver (`dead_letter`),
//! and which actor this thread is running (`running`). What a handler does with a message
//! lives in `macro_support`; the task that runs an actor lives in `task`.

pub(crate) mod cell;
pub(crate) mod dead_letter;
pub(crate) mod mailbox;
pub(crate) mod running;
pub(crate) mod shared;
pub(crate) mod stop_reason;

use std::fmt;
use std::future::Future;

use crate::actor::shared::RefCore;
use crate::macro_support::{Message, Outcome};
use crate::{Context, FailureAction, HandlerFailure, Mailbox, RestartInfo, StopReason};

/// A unique number for every actor spawned in this process.
///
/// ```
/// # use compaktor::prelude::*;
/// # struct Idle;
/// # #[actor] impl Idle {}
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let system = ActorSystem::new("ids");
/// let a = system.spawn(Idle);
/// let b = system.spawn(Idle);
/// assert_ne!(a.id(), b.id());
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), derive(PartialEq, Eq, PartialOrd, Ord, Hash))]
pub struct ActorId(pub(crate) u64);

// In unit tests, ids count their comparisons, so a test can see how much a walk over the
// actors does (a search through a list of ids shows up as quadratic work); see `health`.
#[cfg(test)]
impl PartialEq for ActorId {
    fn eq(&self, other: &Self) -> bool {
        count_work();
        self.0 == other.0
    }
}

#[cfg(test)]
impl Eq for ActorId {}

#[cfg(test)]
impl std::hash::Hash for ActorId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

#[cfg(test)]
impl PartialOrd for ActorId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
impl Ord for ActorId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        count_work();
        self.0.cmp(&other.0)
    }
}

#[cfg(test)]
thread_local! {
    /// Steps of work done on this thread by health reports (and id comparisons anywhere):
    /// what the tests of `system::health` measure instead of time.
    pub(crate) static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one step of work (see [`WORK`]).
#[cfg(test)]
pub(crate) fn count_work() {
    WORK.with(|w| w.set(w.get() + 1));
}

impl ActorId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An actor: state that handles one message at a time.
///
/// Do not implement this by hand: put [`#[actor]`](macro@crate::actor) on the impl block that holds
/// your `#[handler]` methods, and it writes this impl, the message enum and the typed methods on
/// [`ActorRef`](crate::ActorRef). The hooks below are filled from `#[on_start]`, `#[on_stop]`,
/// `#[on_failure]` and `#[on_restart]` methods of that block.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an actor",
    label = "not an actor",
    note = "put `#[actor]` on an `impl {Self} {{ .. }}` block that has `#[handler]` methods"
)]
pub trait Actor: Sized + Send + 'static {
    /// The message enum generated from the handlers (`<Counter as Actor>::Message`, or the name
    /// given with `#[actor(message = CounterMsg)]`). Hidden: its variants are not public API.
    #[doc(hidden)]
    type Message: Message;
    /// The generated struct whose methods an `ActorRef<Self>` derefs to.
    #[doc(hidden)]
    type Handlers: Handlers<Self>;

    /// The mailbox used when the spawn does not choose one (`#[actor(mailbox = N)]`).
    const MAILBOX: Mailbox = Mailbox::DEFAULT;

    /// Whether it has an `on_start` or `on_restart` hook (else starting runs none). Generated.
    #[doc(hidden)]
    const HAS_START_HOOKS: bool = true;

    /// Whether it has an `on_stop` hook (else stopping runs none). Generated.
    #[doc(hidden)]
    const HAS_STOP_HOOK: bool = true;

    /// Handles one message if its handler has no `.await`, at once; gives the message back
    /// for an `async` handler, which [`handle`](Self::handle) runs. Generated: a `match` over
    /// [`Self::Message`], so a plain handler costs no future.
    #[doc(hidden)]
    fn handle_now(
        &mut self,
        message: Self::Message,
        ctx: &mut Context<Self>,
    ) -> Result<Outcome, Self::Message> {
        let _ = ctx;
        Err(message)
    }

    /// Handles one message. Generated: a `match` over [`Self::Message`].
    #[doc(hidden)]
    fn handle(
        &mut self,
        message: Self::Message,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Outcome> + Send;

    /// Runs before the first message; an error ends the actor before it handles anything and is
    /// reported by [`ActorBuilder::start`](crate::ActorBuilder::start).
    fn on_start(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = Result<(), crate::StartError>> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// Runs once when the actor stops, for any reason (also after a panic or a kill). If it
    /// panics, the actor ends with [`StopReason::StopHookPanicked`] around the reason it had.
    fn on_stop(
        &mut self,
        ctx: &mut Context<Self>,
        reason: &StopReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// Runs first on an instance its supervisor made after the previous one ended (before
    /// [`on_start`](Self::on_start), which runs on every instance), with why and how often.
    fn on_restart(
        &mut self,
        ctx: &mut Context<Self>,
        info: &RestartInfo,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, info);
        async {}
    }

    /// Decides what happens after a told handler returned `Err`. The default,
    /// [`FailureAction::Fail`], has an actor made by a factory restarted and stops one spawned
    /// from a value with [`StopReason::Failed`].
    fn on_failure(
        &mut self,
        ctx: &mut Context<Self>,
        failure: &HandlerFailure,
    ) -> impl Future<Output = FailureAction> + Send {
        let _ = (ctx, failure);
        async { FailureAction::Fail }
    }
}

/// The generated struct that holds an actor's handler methods.
#[doc(hidden)]
pub trait Handlers<A: Actor>: Send + Sync + 'static {
    fn __from_core(core: RefCore<A>) -> Self;
    fn __core(&self) -> &RefCore<A>;
}
