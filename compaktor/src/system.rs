//! [`ActorSystem`]: where actors are spawned, and where their dead letters are counted. The
//! supervision tree and path registry will grow here; how one actor runs lives in `runner`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures::stream::BoxStream;
use tokio::sync::oneshot;

use crate::actor_ref::{ActorCell, RefCore, Shared};
use crate::dead_letter::DeadLetterOffice;
use crate::{Actor, ActorId, ActorLabel, ActorRef, DeadLetter, Mailbox, SpawnError, runner};

/// Actor ids are unique in the process, across systems.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A group of actors: spawns them and keeps their dead letters. Cloning is cheap and gives
/// another handle to the same system.
///
/// ```
/// use compaktor::prelude::*;
///
/// struct Echo;
///
/// #[actor]
/// impl Echo {
///     #[handler]
///     fn echo(&self, text: String) -> String { text }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("robot");
/// let echo = system.builder(Echo).name("echo").mailbox(Mailbox::bounded(8)).start().await?;
/// assert_eq!(echo.name(), Some("echo"));
/// assert_eq!(echo.echo("hi".into()).await?, "hi");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ActorSystem {
    inner: Arc<SystemInner>,
}

struct SystemInner {
    name: Arc<str>,
    dead_letters: DeadLetterOffice,
    live: AtomicUsize,
}

impl ActorSystem {
    /// A new, empty system.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ActorSystem {
            inner: Arc::new(SystemInner {
                name: name.into(),
                dead_letters: DeadLetterOffice::new(),
                live: AtomicUsize::new(0),
            }),
        }
    }

    /// The system's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Spawns `actor` with its type's mailbox and returns its ref at once. The start hook runs
    /// on the actor's task; if it fails, the actor stops with [`StopReason::StartFailed`]
    /// (use [`ActorBuilder::start`] to wait for it and get the error).
    ///
    /// [`StopReason::StartFailed`]: crate::StopReason::StartFailed
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn<A: Actor>(&self, actor: A) -> ActorRef<A> {
        self.builder(actor).spawn()
    }

    /// Spawns `actor` and waits until its start hook has run.
    ///
    /// # Errors
    /// [`SpawnError::StartFailed`] if the start hook returned an error or panicked; the actor
    /// never handles a message.
    pub async fn start<A: Actor>(&self, actor: A) -> Result<ActorRef<A>, SpawnError> {
        self.builder(actor).start().await
    }

    /// Spawn options: a name, a mailbox.
    pub fn builder<A: Actor>(&self, actor: A) -> ActorBuilder<A> {
        ActorBuilder {
            system: self.clone(),
            actor,
            name: None,
            mailbox: A::MAILBOX,
        }
    }

    /// How many messages were never handled, since the system was made.
    pub fn dead_letter_count(&self) -> u64 {
        self.inner.dead_letters.count()
    }

    /// The dead letters from now on, as a stream. A subscriber that falls behind by more than
    /// 1024 skips the oldest; [`dead_letter_count`](Self::dead_letter_count) still counts them.
    pub fn dead_letters(&self) -> BoxStream<'static, DeadLetter> {
        self.inner.dead_letters.subscribe()
    }

    /// Actors spawned in this system that have not finished stopping.
    pub fn live_actors(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }

    pub(crate) fn dead_letter_office(&self) -> &DeadLetterOffice {
        &self.inner.dead_letters
    }

    pub(crate) fn actor_finished(&self) {
        self.inner.live.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorSystem")
            .field("name", &self.inner.name)
            .field("live_actors", &self.live_actors())
            .field("dead_letters", &self.dead_letter_count())
            .finish()
    }
}

/// Options for one spawn, from [`ActorSystem::builder`].
#[must_use = "call `.spawn()` or `.start().await` to run the actor"]
pub struct ActorBuilder<A: Actor> {
    system: ActorSystem,
    actor: A,
    name: Option<Arc<str>>,
    mailbox: Mailbox,
}

impl<A: Actor> ActorBuilder<A> {
    /// Names the actor (for logs, errors and dead letters).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Overrides the mailbox of the actor's type.
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// Spawns the actor and returns its ref at once.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(self) -> ActorRef<A> {
        self.launch(None)
    }

    /// Spawns the actor and waits until its start hook has run.
    ///
    /// # Errors
    /// [`SpawnError::StartFailed`] if the start hook returned an error or panicked.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn start(self) -> Result<ActorRef<A>, SpawnError> {
        let (tx, rx) = oneshot::channel();
        let actor = self.launch(Some(tx));
        match rx.await {
            Ok(Ok(())) => Ok(actor),
            Ok(Err(error)) => Err(SpawnError::StartFailed {
                actor: actor.label().clone(),
                error,
            }),
            Err(_) => Err(SpawnError::StartFailed {
                actor: actor.label().clone(),
                error: "the actor's task ended before its start hook finished".into(),
            }),
        }
    }

    fn launch(self, started: Option<runner::StartReport>) -> ActorRef<A> {
        let label = ActorLabel {
            id: ActorId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            name: self.name,
        };
        let (tx, rx) = self.mailbox.channel();
        let shared = Arc::new(Shared {
            tx,
            cell: ActorCell::new(label, self.system.clone()),
        });
        let actor_ref = ActorRef::from_core(RefCore::new(shared.clone()));
        self.system.inner.live.fetch_add(1, Ordering::AcqRel);
        // Boxed: the actor's future is large, and tokio moves an unboxed one several times.
        tokio::spawn(Box::pin(runner::run(self.actor, shared, rx, started)));
        actor_ref
    }
}

impl<A: Actor> fmt::Debug for ActorBuilder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorBuilder")
            .field("actor", &std::any::type_name::<A>())
            .field("name", &self.name)
            .field("mailbox", &self.mailbox)
            .finish()
    }
}
