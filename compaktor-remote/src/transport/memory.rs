//! The in-memory network: every node joined to one [`MemoryNetwork`] reaches the others by
//! direct calls. For fast, deterministic tests of everything above the transport.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{BoxFuture, Declared, Handler, Incoming, Listener, Publisher, Transport};

/// A network in this process, for tests and examples: nodes joined with
/// [`NodeConfig::in_memory`](crate::NodeConfig::in_memory) on the same `MemoryNetwork` reach
/// each other, and nothing else. Cloning gives another handle to the same network.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    served: HashMap<String, (u64, Handler)>,
    /// Per key: (subscription id, subscribing node's transport id, listener).
    subscribed: HashMap<String, Vec<(u64, u64, Listener)>>,
    claimed: HashSet<String>,
    next: u64,
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("MemoryNetwork")
            .field("served", &state.served.len())
            .field("nodes", &state.claimed.len())
            .finish()
    }
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> Self {
        MemoryNetwork::default()
    }

    /// Sends raw bytes as a put to `key` (`compaktor/<node>/<export>`), as a misbehaving peer
    /// could: for tests of what a node does with bad input.
    /// Topics' keys (`compaktor-topic/<topic>`) reach every node that shares the topic.
    pub fn put_raw(&self, key: &str, payload: Vec<u8>) {
        if let Some(handler) = self.inner.handler(key) {
            handler(Incoming::Put(payload.clone()));
        }
        for listener in self.inner.listeners(key, None) {
            listener(payload.clone());
        }
    }

    /// Sends raw bytes as a query to `key` and waits for its answer (`None`: nobody served
    /// the key, or it did not answer): for tests of what a node does with bad input.
    pub async fn query_raw(&self, key: &str, payload: Vec<u8>) -> Option<Vec<u8>> {
        Arc::clone(&self.inner)
            .query(key.to_owned(), payload, Duration::from_secs(5))
            .await
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The listeners on `key`, except those of the node `except`.
    fn listeners(&self, key: &str, except: Option<u64>) -> Vec<Listener> {
        self.lock()
            .subscribed
            .get(key)
            .map_or_else(Vec::new, |all| {
                all.iter()
                    .filter(|(_, node, _)| Some(*node) != except)
                    .map(|(_, _, listener)| Arc::clone(listener))
                    .collect()
            })
    }

    fn next_id(&self) -> u64 {
        let mut state = self.lock();
        state.next += 1;
        state.next
    }

    fn handler(&self, key: &str) -> Option<Handler> {
        self.lock().served.get(key).map(|(_, h)| Arc::clone(h))
    }

    async fn query(
        self: Arc<Self>,
        key: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Option<Vec<u8>> {
        let handler = self.handler(&key)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        handler(Incoming::Query(
            payload,
            Box::new(move |answer| {
                let _ = tx.send(answer);
            }),
        ));
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }
}

/// The in-memory transport of one node.
pub(crate) struct MemoryTransport {
    network: MemoryNetwork,
    /// This node's id on the network: its broadcasts skip its own listeners.
    id: u64,
}

impl MemoryTransport {
    pub(crate) fn new(network: MemoryNetwork) -> Self {
        let id = network.inner.next_id();
        MemoryTransport { network, id }
    }
}

struct Subscribed {
    inner: Arc<Inner>,
    key: String,
    id: u64,
}

impl Declared for Subscribed {}

impl Drop for Subscribed {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if let Some(all) = state.subscribed.get_mut(&self.key) {
            all.retain(|(id, _, _)| *id != self.id);
            if all.is_empty() {
                state.subscribed.remove(&self.key);
            }
        }
    }
}

struct MemoryBroadcaster {
    inner: Arc<Inner>,
    key: String,
    node: u64,
}

impl Publisher for MemoryBroadcaster {
    fn put(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        for listener in self.inner.listeners(&self.key, Some(self.node)) {
            listener(payload.clone());
        }
        Box::pin(async { Ok(()) })
    }
}

struct Served {
    inner: Arc<Inner>,
    key: String,
    id: u64,
}

impl Declared for Served {}

impl Drop for Served {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if state
            .served
            .get(&self.key)
            .is_some_and(|(id, _)| *id == self.id)
        {
            state.served.remove(&self.key);
        }
    }
}

struct Claimed {
    inner: Arc<Inner>,
    key: String,
}

impl Declared for Claimed {}

impl Drop for Claimed {
    fn drop(&mut self) {
        self.inner.lock().claimed.remove(&self.key);
    }
}

struct MemoryPublisher {
    inner: Arc<Inner>,
    key: String,
}

impl Publisher for MemoryPublisher {
    fn put(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        // Like a reliable put: delivered if someone serves the key now, else gone.
        if let Some(handler) = self.inner.handler(&self.key) {
            handler(Incoming::Put(payload));
        }
        Box::pin(async { Ok(()) })
    }
}

impl Transport for MemoryTransport {
    fn publisher(
        &self,
        key: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>> {
        let inner = Arc::clone(&self.network.inner);
        Box::pin(async move {
            let served = async {
                loop {
                    let changed = inner.changed.notified();
                    if inner.handler(&key).is_some() {
                        return;
                    }
                    changed.await;
                }
            };
            tokio::time::timeout(timeout, served)
                .await
                .map_err(|_| format!("nobody serves `{key}`"))?;
            Ok(Arc::new(MemoryPublisher { inner, key }) as Arc<dyn Publisher>)
        })
    }

    fn query(
        &self,
        key: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Option<Vec<u8>>, String>> {
        let inner = Arc::clone(&self.network.inner);
        Box::pin(async move { Ok(inner.query(key, payload, timeout).await) })
    }

    fn serve(
        &self,
        key: String,
        handler: Handler,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>> {
        let inner = Arc::clone(&self.network.inner);
        Box::pin(async move {
            let id = {
                let mut state = inner.lock();
                state.next += 1;
                let id = state.next;
                state.served.insert(key.clone(), (id, handler));
                id
            };
            inner.changed.notify_waiters();
            Ok(Box::new(Served { inner, key, id }) as Box<dyn Declared>)
        })
    }

    fn subscribe(
        &self,
        key: String,
        listener: Listener,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>> {
        let inner = Arc::clone(&self.network.inner);
        let node = self.id;
        Box::pin(async move {
            let id = inner.next_id();
            inner
                .lock()
                .subscribed
                .entry(key.clone())
                .or_default()
                .push((id, node, listener));
            Ok(Box::new(Subscribed { inner, key, id }) as Box<dyn Declared>)
        })
    }

    fn broadcaster(&self, key: String) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>> {
        let inner = Arc::clone(&self.network.inner);
        let node = self.id;
        Box::pin(async move {
            Ok(Arc::new(MemoryBroadcaster { inner, key, node }) as Arc<dyn Publisher>)
        })
    }

    fn claim(
        &self,
        key: String,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Declared>>, String>> {
        let inner = Arc::clone(&self.network.inner);
        Box::pin(async move {
            if !inner.lock().claimed.insert(key.clone()) {
                return Ok(None);
            }
            Ok(Some(Box::new(Claimed { inner, key }) as Box<dyn Declared>))
        })
    }
}
