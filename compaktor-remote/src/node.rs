//! [`RemoteNode`]: one system's place on the network. It claims the node's name, serves the
//! actors it exports (`export`), and makes proxies for actors other nodes export (`lookup`).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::remote::{RemoteActor, RemoteMessage, spawn_proxy};
use compaktor::{ActorRef, ActorSystem, StopReason};
use tokio::task::AbortHandle;

use crate::config::{NodeConfig, TransportChoice};
use crate::error::{ExportError, JoinError, LookupError};
use crate::presence::{self, Presence};
use crate::transport::memory::MemoryTransport;
use crate::transport::zenoh::ZenohTransport;
use crate::transport::{Declared, Transport};
use crate::wire::{self, Frame, Kind};
use crate::{export, import};

/// One system on the network: export actors under names, look up other nodes' actors.
///
/// ```
/// use compaktor::prelude::*;
/// use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode};
///
/// struct Sonar { cm: f32 }
///
/// #[actor(remote)]
/// impl Sonar {
///     #[handler]
///     fn distance(&self) -> f32 { self.cm }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = MemoryNetwork::new(); // `NodeConfig::lan(..)` on real robots
/// let robot = ActorSystem::new("robot-1");
/// let node = RemoteNode::join(&robot, NodeConfig::in_memory(&network, "robot-1")).await?;
/// node.export(&robot.spawn(Sonar { cm: 42.0 }), "sonar").await?;
///
/// let base = ActorSystem::new("base");
/// let base_node = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base")).await?;
/// let sonar: ActorRef<Sonar> = base_node.lookup("robot-1/sonar").await?;
/// assert_eq!(sonar.distance().timeout(Duration::from_secs(1)).await?, 42.0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteNode {
    inner: Arc<Inner>,
}

struct Inner {
    system: ActorSystem,
    config: NodeConfig,
    transport: Arc<dyn Transport>,
    exports: Mutex<HashMap<String, Export>>,
    stats: Arc<Stats>,
    next_sender: AtomicU64,
    next_export: AtomicU64,
    _presence: Box<dyn Declared>,
}

/// One served export: its key, its presence token, and the task that withdraws it when its
/// actor stops. Dropping it undeclares both.
struct Export {
    id: u64,
    _served: Box<dyn Declared>,
    _token: Box<dyn Declared>,
    on_stop: AbortHandle,
}

impl Drop for Export {
    fn drop(&mut self) {
        self.on_stop.abort();
    }
}

/// Counts of this node's remote traffic.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) dead_letters: AtomicU64,
}

impl Stats {
    pub(crate) fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn dead_letter(&self) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of a node's remote traffic, from [`RemoteNode::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RemoteStats {
    /// Calls sent to other nodes' actors.
    pub sent: u64,
    /// Frames received for this node's exports (including refused ones).
    pub received: u64,
    /// Frames refused: bad bytes (decode failures), another version or actor type, over the
    /// size limit.
    pub refused: u64,
    /// Calls that arrived for this node's exports but that their actor did not take: its
    /// mailbox was full (`MailboxFull`) or it had stopped (`Stopped`). Each is also a dead
    /// letter of this node's system, with that reason, as for a local `try_send`.
    pub dead_letters: u64,
}

impl fmt::Debug for RemoteNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteNode")
            .field("name", &self.inner.config.name)
            .field("system", &self.inner.system.name())
            .finish_non_exhaustive()
    }
}

/// Whether `name` can be one chunk of a key expression.
fn valid_chunk(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn export_key(node: &str, export: &str) -> String {
    format!("compaktor/{node}/{export}")
}

impl Inner {
    fn lock_exports(&self) -> std::sync::MutexGuard<'_, HashMap<String, Export>> {
        self.exports
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Withdraws export `name` (if it is still the one numbered `id`): says why on its farewell
/// key, then undeclares it, so that references elsewhere learn which way it ended.
async fn withdraw(inner: Arc<Inner>, name: String, id: u64, stopped: Option<StopReason>) {
    let export = {
        let mut exports = inner.lock_exports();
        if exports.get(&name).is_none_or(|e| e.id != id) {
            return;
        }
        exports.remove(&name)
    };
    let key = presence::farewell_key(&inner.config.name, &name);
    if let Err(e) = inner
        .transport
        .put(key, wire::farewell(stopped.as_ref()))
        .await
    {
        tracing::warn!(export = %name, error = %e, "the farewell of an export was not sent");
    }
    drop(export);
}

impl RemoteNode {
    /// Joins the network as `config`'s node name, for `system`.
    ///
    /// # Errors
    /// [`JoinError::NameTaken`] if another node has the name, [`JoinError::BadName`],
    /// [`JoinError::Transport`].
    pub async fn join(system: &ActorSystem, config: NodeConfig) -> Result<Self, JoinError> {
        if !valid_chunk(&config.name) {
            return Err(JoinError::BadName(config.name.clone()));
        }
        let transport: Arc<dyn Transport> = match &config.transport {
            TransportChoice::Memory(network) => {
                Arc::new(MemoryTransport::new(network.clone(), config.lease))
            }
            TransportChoice::Zenoh(options) => Arc::new(
                ZenohTransport::open(options, config.lease)
                    .await
                    .map_err(JoinError::Transport)?,
            ),
        };
        let presence = transport
            .claim(presence::node_key(&config.name), config.discovery)
            .await
            .map_err(JoinError::Transport)?
            .ok_or_else(|| JoinError::NameTaken(config.name.clone()))?;
        let seed = RandomState::new().hash_one(&config.name);
        Ok(RemoteNode {
            inner: Arc::new(Inner {
                system: system.clone(),
                transport,
                exports: Mutex::new(HashMap::new()),
                stats: Arc::default(),
                next_sender: AtomicU64::new(seed),
                next_export: AtomicU64::new(0),
                _presence: presence,
                config,
            }),
        })
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// Makes `actor` reachable from other nodes as `<this node>/<name>`. Only exported actors
    /// can be reached from the network. The export holds a reference to the actor. When the
    /// actor stops, the export is withdrawn, and references on other nodes end with
    /// `StopReason::Remote(RemoteEnd::ActorStopped)` carrying its reason (their watchers get
    /// `Terminated`, their links fire if it failed).
    ///
    /// # Errors
    /// [`ExportError::NameTaken`], [`ExportError::BadName`], [`ExportError::Transport`].
    pub async fn export<A: RemoteActor>(
        &self,
        actor: &ActorRef<A>,
        name: &str,
    ) -> Result<(), ExportError> {
        if !valid_chunk(name) {
            return Err(ExportError::BadName(name.to_owned()));
        }
        if self.lock_exports().contains_key(name) {
            return Err(ExportError::NameTaken(name.to_owned()));
        }
        let inner = &self.inner;
        // The token first: whoever can reach the export can also see it go.
        let token = inner
            .transport
            .token(presence::export_token_key(self.name(), name))
            .await
            .map_err(ExportError::Transport)?;
        let handler = export::start(
            actor.clone(),
            name.to_owned(),
            inner.config.max_frame,
            Arc::clone(&inner.stats),
        );
        let served = inner
            .transport
            .serve(export_key(self.name(), name), handler)
            .await
            .map_err(ExportError::Transport)?;
        let id = inner.next_export.fetch_add(1, Ordering::Relaxed);
        let stopped = actor.stopped();
        let node = Arc::downgrade(&self.inner);
        let export = name.to_owned();
        let on_stop = tokio::spawn(async move {
            let reason = stopped.await;
            if let Some(inner) = node.upgrade() {
                withdraw(inner, export, id, Some(reason)).await;
            }
        })
        .abort_handle();
        let export = Export {
            id,
            _served: served,
            _token: token,
            on_stop,
        };
        let mut exports = self.lock_exports();
        if exports.contains_key(name) {
            return Err(ExportError::NameTaken(name.to_owned()));
        }
        exports.insert(name.to_owned(), export);
        Ok(())
    }

    /// Stops serving the export `name`; false if there was none. The actor keeps running;
    /// references on other nodes end with `StopReason::Remote(RemoteEnd::Unexported)`.
    pub fn unexport(&self, name: &str) -> bool {
        let Some(id) = self.lock_exports().get(name).map(|e| e.id) else {
            return false;
        };
        tokio::spawn(withdraw(Arc::clone(&self.inner), name.to_owned(), id, None));
        true
    }

    fn lock_exports(&self) -> std::sync::MutexGuard<'_, HashMap<String, Export>> {
        self.inner.lock_exports()
    }

    /// A reference to the actor another node exports as `path` (`node/export`): the same
    /// `ActorRef<A>` as for a local actor, whose calls cross the network. Calls from one
    /// reference are handled in the order they were made, tells and asks interleaved.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] if no node exports `path` (within the node's discovery
    /// time), [`LookupError::WrongType`] if it is another actor type or handler set,
    /// [`LookupError::BadPath`], [`LookupError::ShuttingDown`], [`LookupError::Transport`].
    pub async fn lookup<A: RemoteActor>(&self, path: &str) -> Result<ActorRef<A>, LookupError> {
        let Some((node, export)) = path.split_once('/') else {
            return Err(LookupError::BadPath(path.to_owned()));
        };
        if !valid_chunk(node) || !valid_chunk(export) {
            return Err(LookupError::BadPath(path.to_owned()));
        }
        let inner = &self.inner;
        let key = export_key(node, export);
        let mut describe = Vec::with_capacity(wire::HEADER);
        Frame::encode(Kind::Describe, 0, 0, 0, &mut describe);
        let deadline = tokio::time::Instant::now() + inner.config.discovery;
        let answer = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let answer = inner
                .transport
                .query(
                    key.clone(),
                    describe.clone(),
                    left.max(Duration::from_millis(10)),
                )
                .await
                .map_err(LookupError::Transport)?;
            match answer {
                Some(answer) => break answer,
                None if inner.transport.settles() && !left.is_zero() => {
                    // The export may not have been seen here yet.
                    tokio::time::sleep(left.min(Duration::from_millis(25))).await;
                }
                None => return Err(LookupError::NotFound(path.to_owned())),
            }
        };
        let Some((fingerprint, actual)) = wire::parse_describe(&answer) else {
            return Err(LookupError::Transport(format!(
                "`{path}` answered a lookup with bytes this node does not understand"
            )));
        };
        if fingerprint != <A::Message as RemoteMessage>::FINGERPRINT {
            return Err(LookupError::WrongType {
                path: path.to_owned(),
                expected: std::any::type_name::<A>(),
                actual,
            });
        }
        let publisher = inner
            .transport
            .publisher(key.clone(), inner.config.discovery)
            .await
            .map_err(|_| LookupError::NotFound(path.to_owned()))?;
        let follow = presence::follow(&inner.transport, node, Some(export), inner.config.discovery)
            .await
            .map_err(LookupError::Transport)?
            .ok_or_else(|| LookupError::NotFound(path.to_owned()))?;
        let (proxy, inbox) = spawn_proxy::<A>(&inner.system, path.into(), A::MAILBOX)
            .map_err(|_| LookupError::ShuttingDown)?;
        let importer = import::Importer {
            transport: Arc::clone(&inner.transport),
            publisher,
            key,
            sender: inner
                .next_sender
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed),
            max_frame: inner.config.max_frame,
            ask_limit: inner.config.ask_limit,
            stats: Arc::clone(&inner.stats),
        };
        tokio::spawn(import::run(inbox, importer, follow));
        Ok(proxy)
    }

    /// Node `node`'s presence on the network, as a reference that ends when the node goes
    /// (its process ends or crashes, or it falls silent past its [lease](NodeConfig::lease)):
    /// watch or link it to act on the loss, e.g. to put a motor another node commands into
    /// its safe state (see [`Presence`]). The reference lives until the node goes or it is
    /// stopped, even once nobody holds it: `stop()` it when it is no longer needed.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] if no node of that name is seen within the discovery time,
    /// [`LookupError::BadPath`] for a name that cannot be a node's, [`LookupError::ShuttingDown`],
    /// [`LookupError::Transport`].
    pub async fn presence(&self, node: &str) -> Result<ActorRef<Presence>, LookupError> {
        if !valid_chunk(node) {
            return Err(LookupError::BadPath(node.to_owned()));
        }
        let inner = &self.inner;
        let follow = presence::follow(&inner.transport, node, None, inner.config.discovery)
            .await
            .map_err(LookupError::Transport)?
            .ok_or_else(|| LookupError::NotFound(node.to_owned()))?;
        let (proxy, inbox) = spawn_proxy::<Presence>(
            &inner.system,
            format!("{node} (presence)").into(),
            <Presence as compaktor::Actor>::MAILBOX,
        )
        .map_err(|_| LookupError::ShuttingDown)?;
        tokio::spawn(presence::run_presence(inbox, follow));
        Ok(proxy)
    }

    /// Counts of this node's remote traffic.
    pub fn stats(&self) -> RemoteStats {
        let stats = &self.inner.stats;
        RemoteStats {
            sent: stats.sent.load(Ordering::Relaxed),
            received: stats.received.load(Ordering::Relaxed),
            refused: stats.refused.load(Ordering::Relaxed),
            dead_letters: stats.dead_letters.load(Ordering::Relaxed),
        }
    }
}
