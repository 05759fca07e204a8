//! Pools: N supervised workers made by one factory behind one address. [`PoolBuilder`] spawns
//! them, [`Pool`] is the handle (it derefs to an [`ActorRef`], so calling code cannot tell a
//! pool from one actor). How each message picks its worker lives in `pool/router`.

mod router;

use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::actor::cell::Control;
use crate::actor::shared::RefCore;
use crate::system::Spawn;
use crate::tree::node::{ChildTerms, SupervisorNode};
use crate::{
    Actor, ActorId, ActorRef, ActorSystem, Mailbox, RestartPolicy, SendError, SpawnError,
    Supervision, Tell,
};

/// How a pool picks the worker for each message sent through its handler methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Routing {
    /// Each worker in turn, starting with the first. The turn moves when a message is routed,
    /// so concurrent asks spread over all workers. The default.
    #[default]
    RoundRobin,
    /// A random worker per message.
    Random,
    /// The next message goes to a worker with nothing to do; while all are busy it waits in
    /// the pool's mailbox. A slow worker never sits on queued work.
    Balancing,
    /// By the handler argument marked `#[key]`: the same key always reaches the same worker
    /// while the pool's workers stay the same, and adding or removing a worker moves only
    /// about 1/n of the keys (rendezvous hashing). Messages of handlers without a `#[key]`
    /// go round-robin. [`Pool::for_key`] names the worker a key goes to.
    ///
    /// ```
    /// use compaktor::prelude::*;
    ///
    /// struct Tracker { seen: Vec<(u32, f32)> }
    ///
    /// #[actor]
    /// impl Tracker {
    ///     /// All positions of one robot reach the same tracker, which answers with its id.
    ///     #[handler]
    ///     fn position(&mut self, #[key] robot: u32, x: f32, ctx: &mut Context<Self>) -> ActorId {
    ///         self.seen.push((robot, x));
    ///         ctx.id()
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("fleet");
    /// let trackers = system
    ///     .pool(4, || Tracker { seen: Vec::new() })
    ///     .routing(Routing::ConsistentHash)
    ///     .spawn()?;
    /// let first = trackers.position(7, 0.5).await?;
    /// for step in 1..10 {
    ///     assert_eq!(trackers.position(7, step as f32).await?, first);
    /// }
    /// assert_eq!(trackers.for_key(&7u32).map(|w| w.id()), Some(first));
    /// # Ok(()) }
    /// ```
    ConsistentHash,
    /// Every worker gets a copy of each tell (a stop command for every motor controller). A
    /// tell whose arguments are not all `Clone`, and every ask (it has one reply), goes to one
    /// worker, round-robin, with a warning in the log; use [`Pool::broadcast`] to ask each.
    Broadcast,
}

type SharedFactory<A> = Arc<dyn Fn() -> A + Send + Sync>;

/// What a pool's handle and its router share.
pub(crate) struct PoolState<A: Actor> {
    workers: Mutex<Vec<ActorRef<A>>>,
    /// Told by a balancing pool's workers each time they finish a message.
    idle: Arc<tokio::sync::Notify>,
    routing: Routing,
    /// The pool's cell's address, as ask cycles know it (see `ask/cycle`).
    address: usize,
}

impl<A: Actor> crate::address::ask::cycle::PoolMembers for PoolState<A> {
    fn worker_at(&self, address: usize) -> Option<crate::ActorLabel> {
        self.lock()
            .iter()
            .find(|w| crate::address::ask::cycle::address(&w.shared().cell) == address)
            .map(|w| w.label().clone())
    }
}

impl<A: Actor> Drop for PoolState<A> {
    fn drop(&mut self) {
        crate::address::ask::cycle::forget_pool(self.address);
    }
}

impl<A: Actor> PoolState<A> {
    fn lock(&self) -> MutexGuard<'_, Vec<ActorRef<A>>> {
        self.workers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The worker list without workers that ended for good (a temporary worker that failed,
    /// one stopped from outside).
    fn live(&self) -> MutexGuard<'_, Vec<ActorRef<A>>> {
        let mut workers = self.lock();
        workers.retain(ActorRef::is_alive);
        workers
    }
}

/// Options for a pool, from [`ActorSystem::pool`].
#[must_use = "call `.spawn()` to start the pool"]
pub struct PoolBuilder<A: Actor> {
    system: ActorSystem,
    factory: SharedFactory<A>,
    size: usize,
    routing: Routing,
    name: Option<Arc<str>>,
    mailbox: Mailbox,
    supervision: Supervision,
    restart: RestartPolicy,
}

impl ActorSystem {
    /// A pool of `size` workers, each made (and remade after a failure) by `factory`.
    ///
    /// ```
    /// use compaktor::prelude::*;
    ///
    /// struct Planner { id: usize }
    ///
    /// #[actor]
    /// impl Planner {
    ///     #[handler]
    ///     fn plan(&self, goal: u32) -> (usize, u32) { (self.id, goal * 2) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = ActorSystem::new("robot");
    /// let next = std::sync::atomic::AtomicUsize::new(0);
    /// let planners = system
    ///     .pool(3, move || Planner { id: next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) })
    ///     .routing(Routing::RoundRobin)
    ///     .name("planners")
    ///     .spawn()?;
    /// // Called like one actor: the pool derefs to an `ActorRef<Planner>`.
    /// let (first, value) = planners.plan(21).await?;
    /// assert_eq!(value, 42);
    /// let (second, _) = planners.plan(1).await?;
    /// assert_ne!(first, second);
    /// assert_eq!(planners.workers().len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn pool<A, F>(&self, size: usize, factory: F) -> PoolBuilder<A>
    where
        A: Actor,
        F: Fn() -> A + Send + Sync + 'static,
    {
        PoolBuilder {
            system: self.clone(),
            factory: Arc::new(factory),
            size,
            routing: Routing::default(),
            name: None,
            mailbox: A::MAILBOX,
            supervision: Supervision::default(),
            restart: RestartPolicy::Permanent,
        }
    }
}

impl<A: Actor> PoolBuilder<A> {
    /// How messages pick their worker.
    pub fn routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// Names the pool (its path is `/name`, its workers `/name/$id`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The pool's own mailbox, where messages wait for a worker (each worker has its type's).
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// How the pool supervises its workers (one-for-one, 3 restarts in 5 s unless set). Past
    /// the limit the pool itself fails and stops.
    pub fn supervise(mut self, supervision: Supervision) -> Self {
        self.supervision = supervision;
        self
    }

    /// When a worker is restarted ([`RestartPolicy::Permanent`] unless set).
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Starts the pool's router and its workers.
    ///
    /// # Errors
    /// [`SpawnError::NameTaken`], [`SpawnError::ShuttingDown`].
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(self) -> Result<Pool<A>, SpawnError> {
        if self.system.is_shutting_down() {
            return Err(SpawnError::ShuttingDown {
                system: self.system.name().into(),
            });
        }
        let (shared, rx) = self.system.new_actor::<A>(self.name, None, self.mailbox);
        let control: Arc<dyn Control> = shared.clone();
        self.system.enroll(Arc::clone(&control))?;
        let node = SupervisorNode::new(control);
        node.set_supervision(self.supervision);
        let state = Arc::new(PoolState {
            workers: Mutex::new(Vec::new()),
            idle: Arc::new(tokio::sync::Notify::new()),
            routing: self.routing,
            address: crate::address::ask::cycle::address(&shared.cell),
        });
        let members: Arc<dyn crate::address::ask::cycle::PoolMembers> = state.clone();
        crate::address::ask::cycle::register_pool(&shared.cell, Arc::downgrade(&members));
        let pool = Pool {
            front: ActorRef::from_core(RefCore::new(Arc::clone(&shared))),
            state: Arc::clone(&state),
            node: Arc::clone(&node),
            factory: self.factory,
            terms: ChildTerms {
                restart: self.restart,
                shutdown: Duration::from_secs(5),
            },
        };
        shared.cell.set_phase(crate::ActorState::Running);
        tokio::spawn(Box::pin(router::run(shared, rx, state, node)));
        for _ in 0..self.size {
            if let Err(e) = pool.add_worker() {
                // The router stops the workers already started and frees the name.
                pool.kill();
                return Err(e);
            }
        }
        Ok(pool)
    }
}

impl<A: Actor> fmt::Debug for PoolBuilder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("actor", &std::any::type_name::<A>())
            .field("size", &self.size)
            .field("routing", &self.routing)
            .field("name", &self.name)
            .finish()
    }
}

/// A pool of workers of type `A` behind one address.
///
/// It derefs to an [`ActorRef<A>`]: call the actor's handler methods on it, pass `&pool` where
/// an `&ActorRef<A>` is wanted, or keep [`actor::shared`](Self::actor_ref). `stop()`, `kill()` and
/// `stopped()` act on the pool, whose workers stop before it. Workers are supervised by the
/// pool; asks sent while it has none get [`AskError::NoWorker`](crate::AskError::NoWorker).
pub struct Pool<A: Actor> {
    front: ActorRef<A>,
    state: Arc<PoolState<A>>,
    node: Arc<SupervisorNode>,
    factory: SharedFactory<A>,
    terms: ChildTerms,
}

impl<A: Actor> Pool<A> {
    /// The pool's address, as a plain `ActorRef`.
    pub fn actor_ref(&self) -> ActorRef<A> {
        self.front.clone()
    }

    /// The workers now in the pool, oldest first.
    pub fn workers(&self) -> Vec<ActorRef<A>> {
        self.state.live().clone()
    }

    /// Starts one more worker.
    ///
    /// # Errors
    /// [`SpawnError::ParentStopping`] once the pool is stopping; [`SpawnError::ShuttingDown`];
    /// [`SpawnError::StartFailed`] if the factory panicked.
    pub fn add_worker(&self) -> Result<ActorRef<A>, SpawnError> {
        if self.front.system().is_shutting_down() {
            return Err(SpawnError::ShuttingDown {
                system: self.front.system().name().into(),
            });
        }
        let factory = Arc::clone(&self.factory);
        let actor = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| factory())).map_err(
            |payload| SpawnError::StartFailed {
                actor: self.front.label().clone(),
                error: crate::StartError::panicked(format!(
                    "the worker factory panicked: {}",
                    crate::actor::stop_reason::panic_message(&*payload)
                )),
            },
        )?;
        let remake = Arc::clone(&self.factory);
        let worker = Spawn {
            system: self.front.system().clone(),
            actor,
            name: None,
            mailbox: A::MAILBOX,
            parent_path: Some(Arc::clone(self.front.shared().cell.path())),
            supervision: Some((
                Arc::clone(&self.node),
                Box::new(move || remake()),
                self.terms,
            )),
        }
        .launch(None)?;
        let _ = worker
            .shared()
            .cell
            .on_idle
            .set(Arc::clone(&self.state.idle));
        self.state.lock().push(worker.clone());
        Ok(worker)
    }

    /// Takes the newest worker out of the pool and stops it (what it has queued is handled
    /// first). `None` if the pool is empty.
    pub fn remove_worker(&self) -> Option<ActorRef<A>> {
        let worker = self.state.live().pop()?;
        worker.stop();
        Some(worker)
    }

    /// The worker for `key` by consistent hashing: the same key reaches the same worker while
    /// the pool's workers stay the same, and adding or removing one moves only about 1/n of
    /// the keys. `None` if the pool is empty.
    pub fn for_key<K: Hash + ?Sized>(&self, key: &K) -> Option<ActorRef<A>> {
        let workers = self.state.live();
        by_key(&workers, crate::macro_support::routing_key(key)).cloned()
    }

    /// Sends a copy to every worker: `make` builds each one, e.g.
    /// `pool.broadcast(|w| w.set_speed(0.0)).await`. One result per worker, in pool order.
    pub async fn broadcast<F, R, E>(&self, make: F) -> Vec<Result<(), SendError>>
    where
        F: for<'r> Fn(&'r ActorRef<A>) -> Tell<'r, A, R, E>,
        R: Send + 'static,
        E: Send + 'static,
    {
        let workers = self.workers();
        let mut results = Vec::with_capacity(workers.len());
        for worker in &workers {
            results.push(make(worker).await);
        }
        results
    }

    /// The worker with id `id`, if it is in the pool.
    pub fn worker(&self, id: ActorId) -> Option<ActorRef<A>> {
        self.state.live().iter().find(|w| w.id() == id).cloned()
    }
}

/// Rendezvous hashing: the worker with the highest score for this key's hash.
pub(crate) fn by_key<A: Actor>(workers: &[ActorRef<A>], key: u64) -> Option<&ActorRef<A>> {
    workers
        .iter()
        .max_by_key(|worker| crate::macro_support::routing_key(&(key, worker.id())))
}

impl<A: Actor> Deref for Pool<A> {
    type Target = ActorRef<A>;

    fn deref(&self) -> &ActorRef<A> {
        &self.front
    }
}

impl<A: Actor> Clone for Pool<A> {
    fn clone(&self) -> Self {
        Pool {
            front: self.front.clone(),
            state: Arc::clone(&self.state),
            node: Arc::clone(&self.node),
            factory: Arc::clone(&self.factory),
            terms: self.terms,
        }
    }
}

impl<A: Actor> fmt::Debug for Pool<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("actor", &std::any::type_name::<A>())
            .field("id", &self.front.id())
            .field("routing", &self.state.routing)
            .field("workers", &self.state.lock().len())
            .finish()
    }
}
