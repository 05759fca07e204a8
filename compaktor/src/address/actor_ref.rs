//! [`ActorRef`]: the typed address of one actor, as a user holds it; [`RefCore`], the counted
//! reference inside it that keeps the actor running; and [`Handlers`], the trait of the struct
//! `#[actor]` generates to carry the handler methods. What the ref points at lives in
//! `actor::shared`; the `Tell` and `Ask` its methods return live in `tell` and `ask`.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use crate::actor::Handlers as _;
use crate::actor::cell::{ActorCell, Control, Stopped};
use crate::actor::shared::RefCore;
use crate::actor::shared::Shared;
use crate::{Actor, ActorId, ActorLabel, ActorSystem, StopReason};

/// The typed address of an actor of type `A`.
///
/// Its methods are the actor's `#[handler]` methods (through `Deref` to a struct `#[actor]`
/// generates, so nothing needs importing) plus the lifecycle methods below. Cloning is cheap;
/// the actor stops, after draining its mailbox, when the last `ActorRef` is dropped.
///
/// ```
/// use compaktor::prelude::*;
///
/// struct Lamp { on: bool }
///
/// #[actor]
/// impl Lamp {
///     #[handler]
///     fn switch(&mut self, on: bool) { self.on = on; }
///     #[handler]
///     fn is_on(&self) -> bool { self.on }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("house");
/// let lamp: ActorRef<Lamp> = system.spawn(Lamp { on: false });
/// lamp.switch(true).await?;
/// assert!(lamp.is_on().await?);
/// lamp.kill();
/// assert_eq!(lamp.stopped().await, StopReason::Killed);
/// assert!(!lamp.is_alive());
/// # Ok(()) }
/// ```
pub struct ActorRef<A: Actor> {
    handlers: A::Handlers,
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn from_core(core: RefCore<A>) -> Self {
        ActorRef {
            handlers: A::Handlers::__from_core(core),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared<A>> {
        &self.handlers.__core().shared
    }

    fn cell(&self) -> &ActorCell {
        &self.shared().cell
    }

    /// The actor's unique id.
    pub fn id(&self) -> ActorId {
        self.cell().id()
    }

    /// The name given at spawn, if any.
    pub fn name(&self) -> Option<&str> {
        self.cell().label.name.as_deref()
    }

    /// The actor's id and name, as errors print them.
    pub fn label(&self) -> &ActorLabel {
        &self.cell().label
    }

    /// Where the actor sits in its system's tree, from its parents' names and its own:
    /// `/robot/drive/left_motor`. An unnamed actor's part is `$` and its id number.
    pub fn path(&self) -> &str {
        self.cell().path()
    }

    /// The system the actor belongs to.
    pub fn system(&self) -> &ActorSystem {
        &self.cell().system
    }

    /// Whether the actor still takes messages (it has not begun to stop).
    pub fn is_alive(&self) -> bool {
        self.cell().is_running()
    }

    /// Sends the poison pill: messages queued before it are handled, then the stop hook runs
    /// once, then the actor is gone. Sends made after this fail with
    /// [`SendError::Stopped`](crate::SendError::Stopped). Calling it again, or on a stopped actor, does nothing.
    ///
    /// Never waits: if the mailbox is full, the pill is queued by a task behind the messages
    /// already waiting.
    pub fn stop(&self) {
        Control::stop(Arc::clone(self.shared()));
    }

    /// Stops the actor at once: the handler in progress is dropped at its next `.await`, queued
    /// asks get [`AskError::Stopped`](crate::AskError::Stopped), every queued message is counted
    /// as a dead letter, then the stop hook runs with [`StopReason::Killed`].
    pub fn kill(&self) {
        self.shared().kill();
    }

    /// Resolves with the stop reason once the actor has stopped, its stop hook has run and its
    /// state has been dropped. Does not keep the actor alive while waiting.
    ///
    /// # Cancel safety
    /// Dropping the future before it resolves gives up the wait and frees what it held.
    pub fn stopped(&self) -> impl Future<Output = StopReason> + Send + 'static {
        Stopped::new(Arc::clone(self.shared()))
    }
}

impl<A: Actor> Deref for ActorRef<A> {
    type Target = A::Handlers;

    fn deref(&self) -> &A::Handlers {
        &self.handlers
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef::from_core(self.handlers.__core().clone())
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("actor", &std::any::type_name::<A>())
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}
