//! The in-memory network: every node joined to one [`MemoryNetwork`] reaches the others by
//! direct calls. For fast, deterministic tests of everything above the transport, faults
//! included: [`MemoryNetwork::kill`] makes a node vanish as a crashed process does,
//! [`MemoryNetwork::cut`] silences the link between two nodes as a cut cable does (their
//! presence lapses after the watched node's lease, on tokio's clock, so paused-clock tests are
//! exact).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

use super::{
    Appeared, BoxFuture, Declared, Gone, Handler, Incoming, Listener, Publisher, Transport,
};

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
    /// Queries sent and not yet answered or given up.
    waiting: AtomicUsize,
    /// Puts of looked-up references that reached the actor's node.
    calls_put: AtomicUsize,
}

/// Who declared something: one node's transport (0 is a test speaking raw bytes).
type Owner = u64;

const OUTSIDE: Owner = 0;

#[derive(Default)]
struct State {
    served: HashMap<String, (u64, Owner, Handler)>,
    tokens: HashMap<String, (u64, Owner)>,
    subscribers: HashMap<String, Vec<(u64, Owner, Listener)>>,
    watchers: Vec<Watcher>,
    /// Watches for a token to appear (`gone` fires when it does).
    sightings: Vec<Watcher>,
    leases: HashMap<Owner, Duration>,
    dead: HashSet<Owner>,
    cuts: HashSet<(Owner, Owner)>,
    next: u64,
}

struct Watcher {
    owner: Owner,
    key: String,
    gone: oneshot::Sender<()>,
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn reachable(&self, a: Owner, b: Owner) -> bool {
        !self.dead.contains(&a) && !self.dead.contains(&b) && !self.cuts.contains(&pair(a, b))
    }

    /// Tells every watcher of `key` (for which `also` holds) that its token is gone.
    fn fire(&mut self, key: &str, also: impl Fn(&Watcher) -> bool) {
        let (fired, kept) = std::mem::take(&mut self.watchers)
            .into_iter()
            .partition(|w| w.key == key && also(w));
        self.watchers = kept;
        for watcher in fired {
            let _ = watcher.gone.send(());
        }
    }

    fn owner_of_node(&self, node: &str) -> Option<Owner> {
        self.tokens.get(&node_key(node)).map(|&(_, owner)| owner)
    }
}

fn pair(a: Owner, b: Owner) -> (Owner, Owner) {
    (a.min(b), a.max(b))
}

fn node_key(node: &str) -> String {
    format!("compaktor-node/{node}")
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("MemoryNetwork")
            .field("served", &state.served.len())
            .field("tokens", &state.tokens.len())
            .finish_non_exhaustive()
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
        if let Some(handler) = self.inner.handler(OUTSIDE, key) {
            handler(Incoming::Put(payload.clone()));
        }
        for listener in self.inner.listeners(OUTSIDE, key) {
            listener(payload.clone());
        }
    }

    /// Sends raw bytes as a query to `key` and waits for its answer (`None`: nobody served
    /// the key, or it did not answer): for tests of what a node does with bad input.
    pub async fn query_raw(&self, key: &str, payload: Vec<u8>) -> Option<Vec<u8>> {
        Arc::clone(&self.inner)
            .query(OUTSIDE, key.to_owned(), payload, Duration::from_secs(5))
            .await
    }

    /// How many queries sent on this network wait for their answer now: for tests that an
    /// ask whose asker gave up no longer waits (its query is dropped).
    pub fn queries_waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// How many puts references have sent to the actors they were looked up for (each put a
    /// tell, or a batch of tells that were queued together): for tests of how tells travel.
    pub fn tell_puts(&self) -> usize {
        self.inner.calls_put.load(Ordering::Relaxed)
    }

    /// Makes node `node` vanish as a crashed process does: everything it declared goes at
    /// once with no farewell, watchers elsewhere learn it, and nothing it sends or answers
    /// arrives any more (its system keeps running, cut off). A node of the same name can
    /// join again afterwards. False if no node of that name is on the network.
    pub fn kill(&self, node: &str) -> bool {
        let mut state = self.inner.lock();
        let Some(owner) = state.owner_of_node(node) else {
            return false;
        };
        state.dead.insert(owner);
        state.served.retain(|_, (_, o, _)| *o != owner);
        for subscribers in state.subscribers.values_mut() {
            subscribers.retain(|(_, o, _)| *o != owner);
        }
        let gone: Vec<String> = state
            .tokens
            .iter()
            .filter(|(_, (_, o))| *o == owner)
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            state.tokens.remove(&key);
            state.fire(&key, |_| true);
        }
        drop(state);
        self.inner.changed.notify_waiters();
        true
    }

    /// Cuts the link between nodes `a` and `b` as a pulled cable does: nothing passes between
    /// them (asks in flight get no answer), and once the lease of a node has passed in
    /// silence its tokens are gone for the other (on tokio's clock). False if either is not
    /// on the network.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn cut(&self, a: &str, b: &str) -> bool {
        let mut state = self.inner.lock();
        let (Some(a), Some(b)) = (state.owner_of_node(a), state.owner_of_node(b)) else {
            return false;
        };
        state.cuts.insert(pair(a, b));
        for (holder, watcher) in [(a, b), (b, a)] {
            let lease = state.leases.get(&holder).copied().unwrap_or_default();
            let inner = Arc::clone(&self.inner);
            tokio::spawn(async move {
                tokio::time::sleep(lease).await;
                let mut state = inner.lock();
                if !state.cuts.contains(&pair(holder, watcher)) {
                    return;
                }
                let keys: Vec<String> = state
                    .tokens
                    .iter()
                    .filter(|(_, (_, o))| *o == holder)
                    .map(|(key, _)| key.clone())
                    .collect();
                for key in keys {
                    state.fire(&key, |w| w.owner == watcher);
                }
            });
        }
        true
    }

    /// Mends a link [`cut`](Self::cut) before: messages pass again. References that ended
    /// while it was cut stay ended; a fresh lookup reaches the actor again.
    pub fn heal(&self, a: &str, b: &str) {
        let mut state = self.inner.lock();
        if let (Some(a), Some(b)) = (state.owner_of_node(a), state.owner_of_node(b)) {
            state.cuts.remove(&pair(a, b));
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The listeners on `key` of the nodes other than `from` that `from` can reach.
    fn listeners(&self, from: Owner, key: &str) -> Vec<Listener> {
        let state = self.lock();
        state
            .subscribers
            .get(key)
            .into_iter()
            .flatten()
            .filter(|(_, owner, _)| *owner != from && state.reachable(from, *owner))
            .map(|(_, _, listener)| Arc::clone(listener))
            .collect()
    }

    /// The handler serving `key`, if `from` can reach it.
    fn handler(&self, from: Owner, key: &str) -> Option<Handler> {
        let state = self.lock();
        let (_, owner, handler) = state.served.get(key)?;
        state.reachable(from, *owner).then(|| Arc::clone(handler))
    }

    async fn query(
        self: Arc<Self>,
        from: Owner,
        key: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Option<Vec<u8>> {
        let (server, handler) = {
            let state = self.lock();
            let (_, owner, handler) = state.served.get(&key)?;
            if !state.reachable(from, *owner) {
                return None;
            }
            (*owner, Arc::clone(handler))
        };
        let (tx, rx) = oneshot::channel();
        let _waiting = Waiting::new(&self);
        let network = Arc::downgrade(&self);
        handler(Incoming::Query(
            payload,
            Box::new(move |answer| {
                // An answer from a node that died or was cut off since never arrives.
                let arrives = network
                    .upgrade()
                    .is_some_and(|inner| inner.lock().reachable(from, server));
                if arrives {
                    let _ = tx.send(answer);
                }
            }),
        ));
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }
}

/// Counts a query as waiting while it lives.
struct Waiting(Arc<Inner>);

impl Waiting {
    fn new(inner: &Arc<Inner>) -> Self {
        inner.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(Arc::clone(inner))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The in-memory transport of one node.
pub(crate) struct MemoryTransport {
    network: MemoryNetwork,
    owner: Owner,
}

impl MemoryTransport {
    /// A node's transport; `lease` is how long its tokens outlive a cut.
    pub(crate) fn new(network: MemoryNetwork, lease: Duration) -> Self {
        let owner = {
            let mut state = network.inner.lock();
            let owner = state.next_id();
            state.leases.insert(owner, lease);
            owner
        };
        MemoryTransport { network, owner }
    }

    fn inner(&self) -> Arc<Inner> {
        Arc::clone(&self.network.inner)
    }
}

/// Undeclares what it names when dropped (unless it was replaced or its node killed).
struct Undeclare {
    inner: Arc<Inner>,
    key: String,
    id: u64,
    what: What,
}

enum What {
    Served,
    Token,
    Subscriber,
}

impl Declared for Undeclare {}

impl Drop for Undeclare {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        match self.what {
            What::Served => {
                if state
                    .served
                    .get(&self.key)
                    .is_some_and(|(id, _, _)| *id == self.id)
                {
                    state.served.remove(&self.key);
                }
            }
            What::Token => {
                if state
                    .tokens
                    .get(&self.key)
                    .is_some_and(|(id, _)| *id == self.id)
                {
                    state.tokens.remove(&self.key);
                    state.fire(&self.key, |_| true);
                }
            }
            What::Subscriber => {
                if let Some(subscribers) = state.subscribers.get_mut(&self.key) {
                    subscribers.retain(|(id, _, _)| *id != self.id);
                }
            }
        }
    }
}

struct MemoryPublisher {
    inner: Arc<Inner>,
    owner: Owner,
    key: String,
}

impl Publisher for MemoryPublisher {
    fn put(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        // Like a reliable put: delivered if someone serves the key now, else gone.
        if let Some(handler) = self.inner.handler(self.owner, &self.key) {
            self.inner.calls_put.fetch_add(1, Ordering::Relaxed);
            handler(Incoming::Put(payload));
        }
        Box::pin(async { Ok(()) })
    }
}

impl MemoryTransport {
    fn declare_token(&self, key: String, unique: bool) -> Option<Box<dyn Declared>> {
        let inner = self.inner();
        let id = {
            let mut state = inner.lock();
            if unique && state.tokens.contains_key(&key) {
                return None;
            }
            let id = state.next_id();
            state.tokens.insert(key.clone(), (id, self.owner));
            let owner = self.owner;
            let (seen, kept) = std::mem::take(&mut state.sightings)
                .into_iter()
                .partition(|w: &Watcher| w.key == key && state.reachable(w.owner, owner));
            state.sightings = kept;
            for watcher in seen {
                let _ = watcher.gone.send(());
            }
            id
        };
        Some(Box::new(Undeclare {
            inner,
            key,
            id,
            what: What::Token,
        }))
    }
}

impl Transport for MemoryTransport {
    fn publisher(
        &self,
        key: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>> {
        let inner = self.inner();
        let owner = self.owner;
        Box::pin(async move {
            let served = async {
                loop {
                    let changed = inner.changed.notified();
                    if inner.handler(owner, &key).is_some() {
                        return;
                    }
                    changed.await;
                }
            };
            tokio::time::timeout(timeout, served)
                .await
                .map_err(|_| format!("nobody serves `{key}`"))?;
            Ok(Arc::new(MemoryPublisher { inner, owner, key }) as Arc<dyn Publisher>)
        })
    }

    fn query(
        &self,
        key: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Option<Vec<u8>>, String>> {
        let inner = self.inner();
        let owner = self.owner;
        Box::pin(async move { Ok(inner.query(owner, key, payload, timeout).await) })
    }

    fn serve(
        &self,
        key: String,
        handler: Handler,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>> {
        let inner = self.inner();
        let owner = self.owner;
        Box::pin(async move {
            let id = {
                let mut state = inner.lock();
                let id = state.next_id();
                state.served.insert(key.clone(), (id, owner, handler));
                id
            };
            inner.changed.notify_waiters();
            Ok(Box::new(Undeclare {
                inner,
                key,
                id,
                what: What::Served,
            }) as Box<dyn Declared>)
        })
    }

    fn claim(
        &self,
        key: String,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Declared>>, String>> {
        let claimed = self.declare_token(key, true);
        Box::pin(async move { Ok(claimed) })
    }

    fn token(&self, key: String) -> Result<Box<dyn Declared>, String> {
        self.declare_token(key, false)
            .ok_or_else(|| "unreachable: tokens need no claim".into())
    }

    fn watch(&self, key: String, _timeout: Duration) -> BoxFuture<'_, Result<Gone, String>> {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.network.inner.lock();
            state.watchers.retain(|w| !w.gone.is_closed());
            let held = state
                .tokens
                .get(&key)
                .is_some_and(|&(_, holder)| state.reachable(self.owner, holder));
            if held {
                state.watchers.push(Watcher {
                    owner: self.owner,
                    key,
                    gone: tx,
                });
            }
            // Otherwise `tx` is dropped here, and the watch resolves at once.
        }
        let gone: Gone = Box::pin(async move {
            let _ = rx.await;
        });
        Box::pin(async move { Ok(gone) })
    }

    fn appears(&self, key: String) -> BoxFuture<'_, Result<Appeared, String>> {
        let (tx, rx) = oneshot::channel();
        let held = {
            let mut state = self.network.inner.lock();
            state.sightings.retain(|w| !w.gone.is_closed());
            let held = state
                .tokens
                .get(&key)
                .is_some_and(|&(_, holder)| state.reachable(self.owner, holder));
            if !held {
                state.sightings.push(Watcher {
                    owner: self.owner,
                    key,
                    gone: tx,
                });
            }
            held
        };
        let appeared: Appeared = Box::pin(async move {
            // Dropped unsent only with the network: then nothing appears any more.
            if !held && rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        });
        Box::pin(async move { Ok(appeared) })
    }

    fn subscribe(
        &self,
        key: String,
        listener: Listener,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>> {
        let inner = self.inner();
        let owner = self.owner;
        Box::pin(async move {
            let id = {
                let mut state = inner.lock();
                let id = state.next_id();
                state
                    .subscribers
                    .entry(key.clone())
                    .or_default()
                    .push((id, owner, listener));
                id
            };
            Ok(Box::new(Undeclare {
                inner,
                key,
                id,
                what: What::Subscriber,
            }) as Box<dyn Declared>)
        })
    }

    fn put(&self, key: String, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        for listener in self.network.inner.listeners(self.owner, &key) {
            listener(payload.clone());
        }
        Box::pin(async { Ok(()) })
    }

    fn broadcaster(&self, key: String) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>> {
        let broadcaster = MemoryBroadcaster {
            inner: self.inner(),
            key,
            owner: self.owner,
        };
        Box::pin(async move { Ok(Arc::new(broadcaster) as Arc<dyn Publisher>) })
    }
}

/// Puts to every *other* node subscribed to a key, now or later (topics).
struct MemoryBroadcaster {
    inner: Arc<Inner>,
    key: String,
    owner: Owner,
}

impl Publisher for MemoryBroadcaster {
    fn put(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        for listener in self.inner.listeners(self.owner, &self.key) {
            listener(payload.clone());
        }
        Box::pin(async { Ok(()) })
    }
}
