//! The network as `compaktor-remote` uses it: puts to a key, queries to a key with one answer,
//! serving a key, broadcasting to and hearing a key (topics), claiming a node name, and
//! presence: tokens that vanish when their holder undeclares them, dies, or falls silent for
//! its lease, and watches that learn it (or that one appears). [`Transport`] is internal: the Zenoh
//! implementation (`transport::zenoh`) and the in-memory one for tests (`transport::memory`)
//! sit behind it, and no type of either reaches the user-facing API.

pub(crate) mod memory;
pub(crate) mod zenoh;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Answers one query; dropping it unanswered ends the query with no answer.
pub(crate) type Responder = Box<dyn FnOnce(Vec<u8>) + Send>;

/// What arrives at a served key.
pub(crate) enum Incoming {
    Put(Vec<u8>),
    Query(Vec<u8>, Responder),
}

/// Called for everything arriving at a served key, in arrival order. It must not block.
pub(crate) type Handler = Arc<dyn Fn(Incoming) + Send + Sync>;

/// Resolves once a watched token is gone.
pub(crate) type Gone = BoxFuture<'static, ()>;

/// Resolves once a token is seen held.
pub(crate) type Appeared = BoxFuture<'static, ()>;

/// Called for every put to a subscribed key, in arrival order. It must not block.
pub(crate) type Listener = Arc<dyn Fn(Vec<u8>) + Send + Sync>;

/// Something declared on the network (a served key, a claimed name): dropping it undeclares.
pub(crate) trait Declared: Send + Sync {}

/// Sends puts to one key, in order.
pub(crate) trait Publisher: Send + Sync {
    fn put(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>>;
}

pub(crate) trait Transport: Send + Sync + 'static {
    /// Whether what other nodes declare takes time to be seen here (so a lookup that finds
    /// nothing tries again until its discovery time is over).
    fn settles(&self) -> bool {
        false
    }

    /// A publisher for `key`, once something serves `key` (or `timeout` passed: an error).
    fn publisher(
        &self,
        key: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>>;

    /// Sends `payload` to whoever serves `key`; its answer, or `None` if nobody answered
    /// within `timeout`.
    fn query(
        &self,
        key: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Option<Vec<u8>>, String>>;

    /// Serves `key`: puts and queries to it go to `handler`.
    fn serve(
        &self,
        key: String,
        handler: Handler,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>>;

    /// Hears the puts of *other* nodes to `key` (never this node's own): for topics, where
    /// every node that shares a topic both publishes and listens on its key.
    fn subscribe(
        &self,
        key: String,
        listener: Listener,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>>;

    /// A publisher to every *other* node subscribed to `key`, now or later; unlike
    /// [`publisher`](Self::publisher) it waits for nobody (a value nobody hears is gone).
    fn broadcaster(&self, key: String) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>>;

    /// Claims `key` as this node's presence; `Ok(None)` if another node holds it already.
    fn claim(
        &self,
        key: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Declared>>, String>>;

    /// Declares a presence token at `key` (no check for another holder): it vanishes when the
    /// returned declaration is dropped, or when this node dies or falls silent for its lease.
    /// Synchronous, so a node can say goodbye from `Drop`.
    fn token(&self, key: String) -> Result<Box<dyn Declared>, String>;

    /// Watches the token at `key`: the returned future resolves once nobody holds it (at once
    /// if nobody was seen holding it within `timeout`).
    fn watch(&self, key: String, timeout: Duration) -> BoxFuture<'_, Result<Gone, String>>;

    /// Watches for a token at `key` to be declared: the returned future resolves once
    /// somebody holds it (at once if somebody does now). Tokens of one node are seen in the
    /// order it declared and undeclared them (the goodbye relies on it).
    fn appears(&self, key: String) -> BoxFuture<'_, Result<Appeared, String>>;

    /// One put to `key`, to the *other* nodes that [`subscribe`](Self::subscribe) to it now.
    fn put(&self, key: String, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>>;
}
