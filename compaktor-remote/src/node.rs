//! [`RemoteNode`]: one system's place on the network. It claims the node's name, serves the
//! actors it exports (`export`), and makes proxies for actors other nodes export (`lookup`).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use compaktor::remote::serde::{Serialize, de::DeserializeOwned};
use compaktor::remote::{
    RemoteActor, RemoteMessage, RemoteStats, TrafficSource, report_traffic, spawn_proxy,
};
use compaktor::{ActorRef, ActorSystem, StopReason, Topic};
use tokio::task::AbortHandle;

use crate::config::{NodeConfig, TransportChoice};
use crate::error::{ExportError, JoinError, LookupError, ShareError};
use crate::presence::{self, Presence};
use crate::stats::Stats;
use crate::transport::memory::MemoryTransport;
use crate::transport::zenoh::ZenohTransport;
use crate::transport::{Declared, Transport};
use crate::wire::{self, Frame, Kind};
use crate::{export, import, topic};

/// One system on the network: export actors under names, look up other nodes' actors.
///
/// ```
/// use compaktor::prelude::*;
/// use std::time::Duration;
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
    topics: Mutex<HashMap<String, topic::Shared>>,
    stats: Arc<Stats>,
    next_sender: AtomicU64,
    next_export: AtomicU64,
    /// This node's id in topic frames.
    origin: u64,
    /// The node's presence token while it is on the network; taken when it leaves.
    presence: Mutex<Option<Box<dyn Declared>>>,
}

/// What a node holds on the network, taken from it when it leaves.
struct OnNetwork {
    presence: Box<dyn Declared>,
    exports: HashMap<String, Export>,
    topics: HashMap<String, topic::Shared>,
}

impl Inner {
    /// Takes what the node holds on the network; `None` if it has left already.
    fn take_network(&self) -> Option<OnNetwork> {
        let mut on_network = self.lock_presence();
        let presence = on_network.take()?;
        let exports = std::mem::take(&mut *self.lock_exports());
        let topics = std::mem::take(
            &mut *self
                .topics
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        drop(on_network);
        Some(OnNetwork {
            presence,
            exports,
            topics,
        })
    }

    /// The presence token; `None` once the node has left. Locked before the exports or the
    /// topics when both are.
    fn lock_presence(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn Declared>>> {
        self.presence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn has_left(&self) -> bool {
        self.lock_presence().is_none()
    }

    /// Leaves the network if it has not: says goodbye, then withdraws everything it held.
    /// The goodbye token goes up first, so every node following this one sees it before the
    /// presence and export tokens go (one node's declarations arrive in order), and ends its
    /// references with `RemoteEnd::NodeLeft` at once.
    fn leave(&self) {
        let Some(held) = self.take_network() else {
            return;
        };
        let name = &self.config.name;
        let bye = match self.transport.token(presence::goodbye_key(name)) {
            Ok(bye) => Some(bye),
            Err(e) => {
                tracing::warn!(node = %name, error = %e, "the node's goodbye was not said");
                None
            }
        };
        let OnNetwork {
            presence,
            exports,
            topics,
        } = held;
        drop(exports);
        drop(topics);
        drop(presence);
        // Last: a node of this name may join again afterwards.
        drop(bye);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.leave();
    }
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

impl TrafficSource for Inner {
    fn traffic(&self) -> RemoteStats {
        self.stats.snapshot()
    }
}

impl fmt::Debug for RemoteNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteNode")
            .field("name", &self.inner.config.name)
            .field("system", &self.inner.system.name())
            .finish_non_exhaustive()
    }
}

/// Whether `name` is `/`-separated chunks, each a valid chunk (a topic name).
fn valid_path(name: &str) -> bool {
    name.split('/').all(valid_chunk)
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
        let inner = Arc::new(Inner {
            system: system.clone(),
            transport,
            exports: Mutex::new(HashMap::new()),
            topics: Mutex::new(HashMap::new()),
            origin: RandomState::new().hash_one((&config.name, seed)),
            stats: Arc::default(),
            next_sender: AtomicU64::new(seed),
            next_export: AtomicU64::new(0),
            presence: Mutex::new(Some(presence)),
            config,
        });
        let source: Weak<dyn TrafficSource> = Arc::downgrade(&inner) as Weak<Inner>;
        report_traffic(system, source);
        let node = Arc::downgrade(&inner);
        system.on_shutdown(
            format!("node `{}` leaves the network", inner.config.name),
            move || {
                if let Some(inner) = node.upgrade() {
                    inner.leave();
                }
            },
        );
        Ok(RemoteNode { inner })
    }

    /// Leaves the network, saying goodbye first: other nodes' references to this node's
    /// actors and presence end at once with `StopReason::Remote(RemoteEnd::NodeLeft)` (their
    /// watchers get `Terminated`, their links fire, their asks in flight fail), not when a
    /// lease runs out. Every export and shared topic is withdrawn and the node's name is free
    /// again. The same happens when the node's last handle is dropped, and when its system
    /// shuts down (first thing, with the safety steps), so a robot whose commander leaves
    /// learns it at once. Afterwards `export`, `lookup`, `presence` and `share_topic` fail
    /// with their `Left` error; references this node looked up before keep working while a
    /// handle of it lives. Leaving twice does nothing.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use compaktor::RemoteEnd;
    /// use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let network = MemoryNetwork::new();
    /// let (base, robot) = (ActorSystem::new("base"), ActorSystem::new("robot"));
    /// let base_node = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base")).await?;
    /// let robot_node = RemoteNode::join(&robot, NodeConfig::in_memory(&network, "robot-1")).await?;
    /// let commander = robot_node.presence("base").await?;
    ///
    /// base_node.leave();
    /// let reason = commander.stopped().await;
    /// assert_eq!(reason, StopReason::Remote(RemoteEnd::NodeLeft { node: "base".into() }));
    /// # Ok(()) }
    /// ```
    pub fn leave(&self) {
        self.inner.leave();
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
    /// [`ExportError::NameTaken`], [`ExportError::BadName`], [`ExportError::Transport`],
    /// [`ExportError::Left`].
    pub async fn export<A: RemoteActor>(
        &self,
        actor: &ActorRef<A>,
        name: &str,
    ) -> Result<(), ExportError> {
        if !valid_chunk(name) {
            return Err(ExportError::BadName(name.to_owned()));
        }
        if self.inner.has_left() {
            return Err(ExportError::Left);
        }
        if self.lock_exports().contains_key(name) {
            return Err(ExportError::NameTaken(name.to_owned()));
        }
        let inner = &self.inner;
        // The token first: whoever can reach the export can also see it go.
        let token = inner
            .transport
            .token(presence::export_token_key(self.name(), name))
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
        // Held while it is added (as `take_network` holds it while taking them), so a leave
        // meanwhile cannot miss it.
        let on_network = self.inner.lock_presence();
        if on_network.is_none() {
            return Err(ExportError::Left);
        }
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
    /// [`LookupError::BadPath`], [`LookupError::ShuttingDown`], [`LookupError::Transport`],
    /// [`LookupError::Left`].
    pub async fn lookup<A: RemoteActor>(&self, path: &str) -> Result<ActorRef<A>, LookupError> {
        let Some((node, export)) = path.split_once('/') else {
            return Err(LookupError::BadPath(path.to_owned()));
        };
        if !valid_chunk(node) || !valid_chunk(export) {
            return Err(LookupError::BadPath(path.to_owned()));
        }
        if self.inner.has_left() {
            return Err(LookupError::Left);
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
    /// [`LookupError::Transport`], [`LookupError::Left`].
    pub async fn presence(&self, node: &str) -> Result<ActorRef<Presence>, LookupError> {
        if !valid_chunk(node) {
            return Err(LookupError::BadPath(node.to_owned()));
        }
        if self.inner.has_left() {
            return Err(LookupError::Left);
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

    /// Shares `topic` with every node that shares a topic of the same name: values
    /// published on it here reach their subscribers too, and theirs reach this system's
    /// subscribers (both every-value and latest-value subscriptions). A value is never sent
    /// back to where it came from, so nodes do not echo each other.
    ///
    /// - Publishing still never waits: each value is encoded at once and queued for the
    ///   network; a value that cannot go (over the frame limit, or the queue of 1024 is
    ///   full) is logged and counted in [`RemoteStats::topic_dropped`].
    /// - Values from the network that do not decode, or are of another payload type (by
    ///   the type's name without its module path), are refused, logged and counted in
    ///   [`RemoteStats::refused`]; the topic goes on.
    /// - Delivery is like Zenoh's: values reach the nodes that share the topic *now*;
    ///   a node that joins later gets the values published after it was seen. Values from
    ///   one node arrive in the order they were published.
    /// - Sharing a topic this node shares already does nothing. The topic stays shared as
    ///   long as the node (or until [`unshare_topic`](Self::unshare_topic)).
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode};
    ///
    /// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    /// struct ObstacleSeen { metres: f32 }
    ///
    /// struct Planner { seen: Vec<ObstacleSeen> }
    ///
    /// #[actor]
    /// impl Planner {
    ///     #[handler]
    ///     fn listen(&mut self, topic: Topic<ObstacleSeen>, ctx: &mut Context<Self>) {
    ///         ctx.subscribe(&topic, |me, seen| me.on_obstacle(seen));
    ///     }
    ///     #[handler]
    ///     fn on_obstacle(&mut self, seen: ObstacleSeen) { self.seen.push(seen); }
    ///     #[handler]
    ///     fn seen(&self) -> Vec<ObstacleSeen> { self.seen.clone() }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let network = MemoryNetwork::new(); // `NodeConfig::lan(..)` on real robots
    /// let (r1, r2) = (ActorSystem::new("r1"), ActorSystem::new("r2"));
    /// let n1 = RemoteNode::join(&r1, NodeConfig::in_memory(&network, "r1")).await?;
    /// let n2 = RemoteNode::join(&r2, NodeConfig::in_memory(&network, "r2")).await?;
    /// let on_r1 = r1.topic::<ObstacleSeen>("obstacles")?;
    /// let on_r2 = r2.topic::<ObstacleSeen>("obstacles")?;
    /// n1.share_topic(&on_r1).await?;
    /// n2.share_topic(&on_r2).await?;
    ///
    /// let planner = r2.spawn(Planner { seen: vec![] });
    /// planner.listen(on_r2).ask().await?;
    /// on_r1.publish(ObstacleSeen { metres: 0.4 }); // on robot 1...
    /// # while planner.seen().await?.is_empty() { tokio::task::yield_now().await; }
    /// assert_eq!(planner.seen().await?, [ObstacleSeen { metres: 0.4 }]); // ...seen on robot 2
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ShareError::BadName`] if the topic's name cannot be a key, [`ShareError::SharedElsewhere`]
    /// if another node of this system shares it, [`ShareError::Transport`], [`ShareError::Left`].
    pub async fn share_topic<T>(&self, topic: &Topic<T>) -> Result<(), ShareError>
    where
        T: Serialize + DeserializeOwned + Clone + Send + 'static,
    {
        let name = topic.name();
        if !valid_path(name) {
            return Err(ShareError::BadName(name.to_owned()));
        }
        if self.inner.has_left() {
            return Err(ShareError::Left);
        }
        if self.lock_topics().contains_key(name) {
            return Ok(());
        }
        let inner = &self.inner;
        let sharing = || topic::Sharing {
            origin: inner.origin,
            max_frame: inner.config.max_frame,
            stats: Arc::clone(&inner.stats),
        };
        let key = topic::key(name);
        let publisher = inner
            .transport
            .broadcaster(key.clone())
            .await
            .map_err(ShareError::Transport)?;
        let listening = inner
            .transport
            .subscribe(key, topic::listener(topic.clone(), &sharing()))
            .await
            .map_err(ShareError::Transport)?;
        let on_network = self.inner.lock_presence();
        if on_network.is_none() {
            return Err(ShareError::Left);
        }
        let mut topics = self.lock_topics();
        if topics.contains_key(name) {
            return Ok(()); // shared by a concurrent call meanwhile
        }
        let shared = topic::share(topic, publisher, listening, sharing())
            .ok_or_else(|| ShareError::SharedElsewhere(name.to_owned()))?;
        topics.insert(name.to_owned(), shared);
        Ok(())
    }

    /// Stops sharing the topic `name`: its values stay in this system, and other nodes'
    /// values no longer arrive. False if this node did not share it.
    pub fn unshare_topic(&self, name: &str) -> bool {
        let shared = self.lock_topics().remove(name);
        shared.is_some()
    }

    fn lock_topics(&self) -> std::sync::MutexGuard<'_, HashMap<String, topic::Shared>> {
        self.inner
            .topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts of this node's remote traffic: calls sent and received, frames refused
    /// (decode failures and the like), dead letters on the receiving side, abandoned asks, and
    /// shared-topic values. The system's [`remote_stats`](ActorSystem::remote_stats) (next to
    /// its `health()`) adds these up over the nodes it has joined as.
    ///
    /// ```
    /// use compaktor::prelude::*;
    /// use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode};
    ///
    /// struct Sonar;
    /// #[actor(remote)]
    /// impl Sonar { #[handler] fn distance(&self) -> f32 { 0.5 } }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let network = MemoryNetwork::new();
    /// let (robot, base) = (ActorSystem::new("robot"), ActorSystem::new("base"));
    /// let robot_node = RemoteNode::join(&robot, NodeConfig::in_memory(&network, "robot-1")).await?;
    /// robot_node.export(&robot.spawn(Sonar), "sonar").await?;
    /// let base_node = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base")).await?;
    /// let sonar: ActorRef<Sonar> = base_node.lookup("robot-1/sonar").await?;
    /// sonar.distance().await?;
    ///
    /// assert_eq!(base_node.stats().sent, 1);
    /// assert_eq!(base.remote_stats(), base_node.stats());
    /// assert_eq!(robot.remote_stats().received, 2); // the lookup's question, and the call
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> RemoteStats {
        self.inner.stats.snapshot()
    }
}
