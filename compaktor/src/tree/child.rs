//! [`ChildBuilder`]: spawning a supervised child from its parent's [`Context`]. What the
//! supervisor does with it lives in `tree::node`; how it runs and restarts lives in `task`.
//!
//! [`Context`]: crate::Context

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::system::Spawn;
use crate::task::Factory;
use crate::tree::node::{ChildTerms, SupervisorNode};
use crate::{Actor, ActorRef, Mailbox, RestartPolicy, SpawnError};

/// Options for one child, from [`Context::child`](crate::Context::child).
///
/// The child is made by its factory, first at spawn and again at every restart, so the factory
/// is where hardware is opened. A restart keeps the child's mailbox and every `ActorRef` to it.
/// The child lives until it is stopped or its parent stops (its parent holds it; dropping the
/// returned refs does not stop it).
///
/// ```
/// use compaktor::prelude::*;
/// use std::time::Duration;
///
/// struct Sensor { reads: u32 }
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
/// struct Robot { sensor: Option<ActorRef<Sensor>> }
///
/// #[actor]
/// impl Robot {
///     #[on_start]
///     async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
///         ctx.supervise(Supervision::one_for_one().max_restarts(3, Duration::from_secs(10)));
///         self.sensor = Some(ctx.child(|| Sensor { reads: 0 }).name("sensor").start().await?);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("robot");
/// let _robot = system.builder(Robot { sensor: None }).name("robot").start().await?;
/// let sensor = system.lookup::<Sensor>("/robot/sensor").expect("registered");
/// assert_eq!(sensor.read().await?, 1);
/// assert!(matches!(sensor.read().await, Err(AskError::Panicked { .. })));
/// // Restarted by its parent with fresh state; the same ref still works.
/// assert_eq!(sensor.read().await?, 1);
/// # Ok(()) }
/// ```
#[must_use = "call `.spawn()` or `.start().await` to run the child"]
pub struct ChildBuilder<A: Actor> {
    parent: Arc<SupervisorNode>,
    parent_path: Arc<str>,
    factory: Factory<A>,
    name: Option<Arc<str>>,
    mailbox: Mailbox,
    terms: ChildTerms,
}

impl<A: Actor> ChildBuilder<A> {
    pub(crate) fn new(
        parent: Arc<SupervisorNode>,
        parent_path: Arc<str>,
        factory: Factory<A>,
    ) -> Self {
        ChildBuilder {
            parent,
            parent_path,
            factory,
            name: None,
            mailbox: A::MAILBOX,
            terms: ChildTerms {
                restart: RestartPolicy::default(),
                shutdown: Duration::from_secs(5),
            },
        }
    }

    /// Names the child; its path is the parent's path and this name. A name taken by a
    /// sibling is refused with [`SpawnError::NameTaken`].
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Overrides the mailbox of the child's type.
    pub fn mailbox(mut self, mailbox: Mailbox) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// When the child is restarted; [`RestartPolicy::Permanent`] unless set.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.terms.restart = policy;
        self
    }

    /// How long the child may take to stop (its queued messages, its stop hook) when its
    /// parent stops or restarts it, before it is killed. 5 seconds unless set.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.terms.shutdown = timeout;
        self
    }

    /// Spawns the child and returns its ref at once. A failing start hook counts as a failure
    /// its supervisor acts on.
    ///
    /// # Errors
    /// [`SpawnError::NameTaken`] if a sibling has the name; [`SpawnError::ShuttingDown`] once
    /// the system shuts down; [`SpawnError::StartFailed`] if the factory panicked.
    pub fn spawn(self) -> Result<ActorRef<A>, SpawnError> {
        self.into_spawn()?.launch(None)
    }

    /// Spawns the child and waits until its start hook has run. A failing first start is
    /// returned here and not retried.
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn), and [`SpawnError::StartFailed`] if the start hook failed.
    pub async fn start(self) -> Result<ActorRef<A>, SpawnError> {
        self.into_spawn()?.start().await
    }

    fn into_spawn(mut self) -> Result<Spawn<A>, SpawnError> {
        let system = self.parent.system().clone();
        if system.is_shutting_down() {
            return Err(SpawnError::ShuttingDown {
                system: system.name().into(),
            });
        }
        let actor = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut self.factory))
            .map_err(|payload| SpawnError::StartFailed {
                actor: crate::ActorLabel {
                    id: crate::ActorId(0),
                    name: self.name.clone(),
                },
                error: crate::StartError::panicked(format!(
                    "the factory panicked: {}",
                    crate::actor::stop_reason::panic_message(&*payload)
                )),
            })?;
        Ok(Spawn {
            system,
            actor,
            name: self.name,
            mailbox: self.mailbox,
            parent_path: Some(self.parent_path),
            supervision: Some((self.parent, self.factory, self.terms)),
        })
    }
}

impl<A: Actor> fmt::Debug for ChildBuilder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildBuilder")
            .field("actor", &std::any::type_name::<A>())
            .field("parent", &self.parent_path)
            .field("name", &self.name)
            .field("mailbox", &self.mailbox)
            .field("restart", &self.terms.restart)
            .finish()
    }
}
