//! [`ActorSystem`]: where actors are spawned, looked up by path, and counted (live, dead
//! letters). The tree's data lives in `registry`, its shutdown in `shutdown`, its health
//! reports in `health`; children in `tree`; how one actor runs lives in `task`. The dead-letter
//! office it keeps lives in `actor::dead_letter`, where every layer records to it.

pub(crate) mod health;
pub(crate) mod registry;
pub(crate) mod shutdown;
pub(crate) mod shutdown_hook;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use futures::stream::BoxStream;
use tokio::sync::oneshot;

use crate::actor::cell::ActorCell;
use crate::actor::cell::Control;
use crate::actor::dead_letter::DeadLetterOffice;
use crate::actor::mailbox::MailboxReceiver;
use crate::actor::shared::RefCore;
use crate::actor::shared::Shared;
use crate::system::health::BusySince;
use crate::system::registry::Registry;
use crate::task::{self, Factory};
use crate::tree::node::{ChildTerms, StartReport, SupervisorNode};
use crate::{
    Actor, ActorId, ActorLabel, ActorRef, DeadLetter, DeadLetterReason, LookupError, Mailbox,
    RestartPolicy, SpawnError, StopReason, Supervision,
};

/// Actor ids are unique in the process, across systems.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new actor id.
fn next_id() -> ActorId {
    ActorId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A group of actors: spawns them, keeps their tree of paths and their dead letters, and shuts
/// them down in order. Cloning is cheap and gives another handle to the same system.
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
/// assert_eq!(echo.path(), "/echo");
/// assert_eq!(echo.echo("hi".into()).await?, "hi");
/// assert_eq!(system.lookup::<Echo>("/echo"), Some(echo));
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
    registry: Registry,
    shutting_down: AtomicBool,
    /// Ends so far, by kind, for the shutdown report.
    ended_killed: AtomicU64,
    ended_otherwise: AtomicU64,
    busy_since: BusySince,
    topics: crate::patterns::topic::TopicRegistry,
    shutdown_hooks: self::shutdown_hook::ShutdownHooks,
    /// The runtime of the first spawn, for work queued from outside any runtime (a stop sent
    /// to a full mailbox from a plain thread). One per system, not one per actor.
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    /// The nodes counting this system's remote traffic (`remote_stats`).
    #[cfg(feature = "remote")]
    traffic: crate::remote::traffic::TrafficSources,
}

impl ActorSystem {
    /// A new, empty system.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ActorSystem {
            inner: Arc::new(SystemInner {
                name: name.into(),
                dead_letters: DeadLetterOffice::new(),
                live: AtomicUsize::new(0),
                registry: Registry::default(),
                shutting_down: AtomicBool::new(false),
                ended_killed: AtomicU64::new(0),
                ended_otherwise: AtomicU64::new(0),
                busy_since: BusySince::default(),
                topics: crate::patterns::topic::TopicRegistry::default(),
                shutdown_hooks: self::shutdown_hook::ShutdownHooks::default(),
                runtime: std::sync::OnceLock::new(),
                #[cfg(feature = "remote")]
                traffic: Default::default(),
            }),
        }
    }

    /// The system's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Spawns `actor`, unnamed, with its type's mailbox, and returns its ref at once. The start
    /// hook runs on the actor's task; if it fails, the actor stops with
    /// [`StopReason::StartFailed`] (use [`ActorBuilder::start`] to wait for it and get the
    /// error). After [`shutdown`](Self::shutdown) the actor is killed at once.
    ///
    /// Spawned from a value, the actor cannot be remade: a panic or a failure
    /// ([`FailureAction::Fail`]) stops it for good. Spawn it with
    /// [`spawn_with`](Self::spawn_with) to have it restarted instead.
    ///
    /// [`StopReason::StartFailed`]: crate::StopReason::StartFailed
    /// [`FailureAction::Fail`]: crate::FailureAction::Fail
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn<A: Actor>(&self, actor: A) -> ActorRef<A> {
        match self
            .builder(actor)
            .into_spawn()
            .and_then(|s| s.launch(None))
        {
            Ok(actor) => actor,
            Err(e) => unreachable!("an unnamed spawn from a value cannot fail: {e}"),
        }
    }

    /// Spawns a top-level actor made by `factory`, which makes it again after each failure, as
    /// for a child ([`Context::child`](crate::Context::child)): a panic, a failed start or a
    /// failure ([`FailureAction::Fail`](crate::FailureAction::Fail)) restarts it with fresh
    /// state, keeping its mailbox and every `ActorRef` to it. The system supervises it
    /// one-for-one, at most 3 restarts in 5 seconds (past that it stops with its last
    /// failure); [`builder_with`](Self::builder_with) sets the limit, the backoff, the
    /// [`RestartPolicy`](crate::RestartPolicy), a name and a mailbox.
    ///
    /// Like a child, it lives until it is stopped ([`ActorRef::stop`], [`ActorRef::kill`],
    /// [`shutdown`](Self::shutdown)): dropping its refs does not stop it.
    ///
    /// ```
    /// use compaktor::prelude::*;
    ///
    /// struct Sensor { reads: u32 }
    ///
    /// impl Sensor {
    ///     fn open() -> Self { Sensor { reads: 0 } } // where the bus would be opened
    /// }
    ///
    /// #[actor]
    /// impl Sensor {
    ///     #[handler]
    ///     fn read(&mut self) -> u32 {
    ///         self.reads += 1;
    ///         if self.reads == 2 { panic!("bus glitch"); }
    ///         self.reads
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("robot");
    /// let sensor = system.spawn_with(Sensor::open)?;
    /// assert_eq!(sensor.read().await?, 1);
    /// assert!(matches!(sensor.read().await, Err(AskError::Panicked { .. })));
    /// // Made again by its factory: fresh state, same ref.
    /// assert_eq!(sensor.read().await?, 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`SpawnError::StartFailed`] if the factory panicked; [`SpawnError::ShuttingDown`] after
    /// [`shutdown`](Self::shutdown).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn_with<A, F>(&self, factory: F) -> Result<ActorRef<A>, SpawnError>
    where
        A: Actor,
        F: FnMut() -> A + Send + 'static,
    {
        self.builder_with(factory).spawn()
    }

    /// Spawns `actor` and waits until its start hook has run.
    ///
    /// # Errors
    /// [`SpawnError::StartFailed`] if the start hook returned an error or panicked; the actor
    /// never handles a message. [`SpawnError::ShuttingDown`] after
    /// [`shutdown`](Self::shutdown).
    pub async fn start<A: Actor>(&self, actor: A) -> Result<ActorRef<A>, SpawnError> {
        self.builder(actor).start().await
    }

    /// Spawn options for an actor spawned from a value: a name, a mailbox. It cannot be
    /// remade, so a failure stops it (see [`spawn`](Self::spawn)).
    pub fn builder<A: Actor>(&self, actor: A) -> ActorBuilder<A> {
        self.builder_of(Make::Value(actor))
    }

    /// Spawn options for a top-level actor made (and remade after each failure) by
    /// `factory`: a name, a mailbox, its supervision and restart policy. See
    /// [`spawn_with`](Self::spawn_with).
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use std::time::Duration;
    ///
    /// struct Lidar;
    /// #[actor]
    /// impl Lidar {
    ///     #[handler]
    ///     fn scan(&self) -> u32 { 360 }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("robot");
    /// let lidar = system
    ///     .builder_with(|| Lidar)
    ///     .name("lidar")
    ///     .supervise(Supervision::one_for_one().max_restarts(10, Duration::from_secs(60)))
    ///     .restart(RestartPolicy::Transient)
    ///     .start()
    ///     .await?;
    /// assert_eq!(lidar.scan().await?, 360);
    /// # Ok(()) }
    /// ```
    pub fn builder_with<A, F>(&self, factory: F) -> ActorBuilder<A>
    where
        A: Actor,
        F: FnMut() -> A + Send + 'static,
    {
        self.builder_of(Make::Factory(Box::new(factory)))
    }

    fn builder_of<A: Actor>(&self, make: Make<A>) -> ActorBuilder<A> {
        ActorBuilder {
            system: self.clone(),
            make,
            name: None,
            mailbox: A::MAILBOX,
            supervision: Supervision::default(),
            terms: ChildTerms {
                restart: RestartPolicy::default(),
                shutdown: std::time::Duration::from_secs(5),
            },
        }
    }

    /// The running actor at `path` (`/robot/drive/left_motor`), if it is an `A`. `None` if no
    /// actor has that path, it has stopped, or it is of another type; see
    /// [`try_lookup`](Self::try_lookup) to know which.
    pub fn lookup<A: Actor>(&self, path: &str) -> Option<ActorRef<A>> {
        self.try_lookup(path).ok()
    }

    /// Like [`lookup`](Self::lookup), saying why there is no actor.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] or [`LookupError::WrongType`].
    pub fn try_lookup<A: Actor>(&self, path: &str) -> Result<ActorRef<A>, LookupError> {
        let not_found = || LookupError::NotFound { path: path.into() };
        let control = self.inner.registry.get(path).ok_or_else(not_found)?;
        if !control.cell().is_running() {
            return Err(not_found());
        }
        let actual = control.actor_type();
        let shared =
            control
                .into_any()
                .downcast::<Shared<A>>()
                .map_err(|_| LookupError::WrongType {
                    path: path.into(),
                    expected: std::any::type_name::<A>(),
                    actual,
                })?;
        Ok(ActorRef::from_core(RefCore::new(shared)))
    }

    /// The paths of the named actors now running, sorted.
    pub fn paths(&self) -> Vec<Arc<str>> {
        self.inner.registry.paths()
    }

    /// How many messages were never handled, since the system was made.
    pub fn dead_letter_count(&self) -> u64 {
        self.inner.dead_letters.count()
    }

    /// How many messages were never handled for `reason`, since the system was made.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use compaktor::DeadLetterReason;
    ///
    /// struct Idle;
    /// #[actor] impl Idle { #[handler] fn ping(&self) {} }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let system = ActorSystem::new("letters");
    /// let idle = system.spawn(Idle);
    /// idle.kill();
    /// idle.stopped().await;
    /// assert!(idle.ping().await.is_err());
    /// assert_eq!(system.dead_letter_count_for(DeadLetterReason::Stopped), 1);
    /// assert_eq!(system.dead_letter_count(), 1);
    /// # }
    /// ```
    pub fn dead_letter_count_for(&self, reason: DeadLetterReason) -> u64 {
        self.inner.dead_letters.count_for(reason)
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

    /// Whether [`shutdown`](Self::shutdown) has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn dead_letter_office(&self) -> &DeadLetterOffice {
        &self.inner.dead_letters
    }

    pub(crate) fn busy_since(&self) -> &BusySince {
        &self.inner.busy_since
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub(crate) fn topics(&self) -> &crate::patterns::topic::TopicRegistry {
        &self.inner.topics
    }

    #[cfg(feature = "remote")]
    pub(crate) fn traffic_sources(&self) -> &crate::remote::traffic::TrafficSources {
        &self.inner.traffic
    }

    pub(crate) fn shutdown_hooks(&self) -> &crate::system::shutdown_hook::ShutdownHooks {
        &self.inner.shutdown_hooks
    }

    pub(crate) fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
    }

    /// (killed, ended otherwise) so far.
    pub(crate) fn ends(&self) -> (u64, u64) {
        (
            self.inner.ended_killed.load(Ordering::Acquire),
            self.inner.ended_otherwise.load(Ordering::Acquire),
        )
    }

    /// A new actor's shared part (cell and mailbox sender) and its mailbox's receiver; not in
    /// the tree until [`enroll`](Self::enroll)ed. A top-level actor has no `parent_path`.
    pub(crate) fn new_actor<A: Actor>(
        &self,
        name: Option<Arc<str>>,
        parent_path: Option<Arc<str>>,
        mailbox: Mailbox,
    ) -> (Arc<Shared<A>>, MailboxReceiver<A::Message>) {
        self.inner
            .runtime
            .get_or_init(tokio::runtime::Handle::current);
        let label = ActorLabel {
            id: next_id(),
            name,
        };
        let top_level = parent_path.is_none();
        let (tx, rx) = mailbox.queue();
        let cell = ActorCell::new(label, parent_path, top_level, self.clone());
        (Arc::new(Shared { tx, cell }), rx)
    }

    /// Puts a new actor in the tree: its path if it is named, the index of running actors, the
    /// live count.
    ///
    /// # Errors
    /// [`SpawnError::NameTaken`] if a running actor has its path; nothing is recorded then.
    pub(crate) fn enroll(&self, control: Arc<dyn Control>) -> Result<(), SpawnError> {
        let cell = control.cell();
        let registry = self.registry();
        if cell.label.name.is_some() && !registry.register(cell.path(), &control) {
            return Err(SpawnError::NameTaken {
                path: Arc::clone(cell.path()),
            });
        }
        registry.add(control);
        self.inner.live.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Puts a remote actor's proxy in the index of running actors (so health and shutdown
    /// see it), without a path: its name is the remote export's, not a place in this tree.
    #[cfg(feature = "remote")]
    pub(crate) fn enroll_unlisted(&self, control: Arc<dyn Control>) {
        self.registry().add(control);
        self.inner.live.fetch_add(1, Ordering::AcqRel);
    }

    /// Spawns `work` on the runtime this thread is in, or else on the system's first.
    pub(crate) fn spawn_anywhere(&self, work: impl Future<Output = ()> + Send + 'static) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(work)),
            Err(_) => {
                let runtime = self.inner.runtime.get().expect("an actor was spawned");
                drop(runtime.spawn(work));
            }
        }
    }

    pub(crate) fn actor_finished(&self, cell: &ActorCell, reason: &StopReason) {
        // An unnamed actor's path is made on first use: not here.
        let path = cell.label.name.as_ref().map(|_| &**cell.path());
        self.inner.registry.remove(cell, path);
        let ended = if *reason == StopReason::Killed {
            &self.inner.ended_killed
        } else {
            &self.inner.ended_otherwise
        };
        ended.fetch_add(1, Ordering::AcqRel);
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

/// Options for one top-level spawn, from [`ActorSystem::builder`] (from a value) or
/// [`ActorSystem::builder_with`] (from a factory, restarted after a failure). Children are
/// spawned from their parent's context instead ([`Context::child`](crate::Context::child)).
#[must_use = "call `.spawn()` or `.start().await` to run the actor"]
pub struct ActorBuilder<A: Actor> {
    system: ActorSystem,
    make: Make<A>,
    name: Option<Arc<str>>,
    mailbox: Mailbox,
    /// For an actor made by a factory: how the system supervises it.
    supervision: Supervision,
    terms: ChildTerms,
}

/// Where a top-level actor comes from.
enum Make<A> {
    /// A value: one instance, never remade.
    Value(A),
    /// A factory, called at spawn and again at each restart.
    Factory(Factory<A>),
}

impl<A: Actor> ActorBuilder<A> {
    /// Names the actor (for logs, errors, dead letters, and its path `/name`). A name taken by
    /// another top-level actor is refused with [`SpawnError::NameTaken`].
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Overrides the mailbox of the actor's type.
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// How the system supervises an actor made by a factory
    /// ([`ActorSystem::builder_with`]): its restart limit and backoff (one-for-one, at most 3
    /// restarts in 5 seconds unless set). Past the limit the actor stops with its last failure.
    /// An actor spawned from a value is never restarted, so for it this changes nothing.
    pub fn supervise(mut self, supervision: Supervision) -> Self {
        self.supervision = supervision;
        self
    }

    /// When an actor made by a factory ([`ActorSystem::builder_with`]) is restarted;
    /// [`RestartPolicy::Permanent`] unless set. A stop from outside is final for every policy.
    /// An actor spawned from a value is never restarted, so for it this changes nothing.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.terms.restart = policy;
        self
    }

    /// Spawns the actor and returns its ref at once.
    ///
    /// # Errors
    /// [`SpawnError::NameTaken`] if another running actor has its path;
    /// [`SpawnError::ShuttingDown`] after [`ActorSystem::shutdown`];
    /// [`SpawnError::StartFailed`] if its factory panicked.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(self) -> Result<ActorRef<A>, SpawnError> {
        self.refuse_after_shutdown()?.into_spawn()?.launch(None)
    }

    /// Spawns the actor and waits until its start hook has run.
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn), and [`SpawnError::StartFailed`] if the start hook returned an
    /// error or panicked.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn start(self) -> Result<ActorRef<A>, SpawnError> {
        self.refuse_after_shutdown()?.into_spawn()?.start().await
    }

    fn refuse_after_shutdown(self) -> Result<Self, SpawnError> {
        if self.system.is_shutting_down() {
            return Err(SpawnError::ShuttingDown {
                system: self.system.inner.name.clone(),
            });
        }
        Ok(self)
    }

    /// The spawn: from a factory, its first instance made now (a panic there is a failed
    /// start) and a node of its own through which the system supervises it.
    fn into_spawn(self) -> Result<Spawn<A>, SpawnError> {
        let (actor, supervision) = match self.make {
            Make::Value(actor) => (actor, None),
            Make::Factory(mut factory) => {
                let actor = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut factory))
                    .map_err(|payload| SpawnError::StartFailed {
                        actor: ActorLabel {
                            id: ActorId(0),
                            name: self.name.clone(),
                        },
                        error: crate::StartError::panicked(format!(
                            "the factory panicked: {}",
                            crate::actor::stop_reason::panic_message(&*payload)
                        )),
                    })?;
                let node = SupervisorNode::top_level(self.system.clone(), self.supervision);
                (actor, Some((node, factory, self.terms)))
            }
        };
        Ok(Spawn {
            system: self.system,
            actor,
            name: self.name,
            mailbox: self.mailbox,
            parent_path: None,
            supervision,
        })
    }
}

impl<A: Actor> fmt::Debug for ActorBuilder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorBuilder")
            .field("actor", &std::any::type_name::<A>())
            .field("factory", &matches!(self.make, Make::Factory(_)))
            .field("name", &self.name)
            .field("mailbox", &self.mailbox)
            .field("supervision", &self.supervision)
            .field("restart", &self.terms.restart)
            .finish()
    }
}

/// One spawn, top-level or child, ready to launch.
pub(crate) struct Spawn<A: Actor> {
    pub(crate) system: ActorSystem,
    pub(crate) actor: A,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) mailbox: Mailbox,
    /// `None` for a top-level actor.
    pub(crate) parent_path: Option<Arc<str>>,
    pub(crate) supervision: Option<(Arc<SupervisorNode>, Factory<A>, ChildTerms)>,
}

impl<A: Actor> Spawn<A> {
    /// Waits until the start hook has run.
    pub(crate) async fn start(self) -> Result<ActorRef<A>, SpawnError> {
        let (tx, rx) = oneshot::channel();
        let actor = self.launch(Some(tx))?;
        match rx.await {
            Ok(Ok(())) => Ok(actor),
            Ok(Err(error)) => Err(SpawnError::StartFailed {
                actor: actor.label().clone(),
                error,
            }),
            Err(_) => Err(SpawnError::StartFailed {
                actor: actor.label().clone(),
                error: crate::StartError::from(
                    "the actor's task ended before its start hook finished",
                ),
            }),
        }
    }

    pub(crate) fn launch(self, started: Option<StartReport>) -> Result<ActorRef<A>, SpawnError> {
        let (shared, rx) = self
            .system
            .new_actor::<A>(self.name, self.parent_path, self.mailbox);
        let control: Arc<dyn Control> = shared.clone();
        let (factory, parent) = match self.supervision {
            Some((parent, factory, terms)) => {
                parent.adopt(Arc::clone(&control), terms)?;
                (Some(factory), Some(parent))
            }
            None => (None, None),
        };
        if let Err(e) = self.system.enroll(control) {
            if let Some(parent) = &parent {
                parent.forget(shared.cell.id());
            }
            return Err(e);
        }
        if self.system.is_shutting_down() {
            Control::kill(&*shared);
        }
        let actor_ref = ActorRef::from_core(RefCore::new(shared.clone()));
        let launch = task::Launch {
            actor: self.actor,
            factory,
            parent,
            started,
        };
        task::spawn(launch, shared, rx);
        Ok(actor_ref)
    }
}
