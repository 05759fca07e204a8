//! The Zenoh transport: one peer-mode session per node. A served key is a subscriber (puts)
//! and a queryable (queries); a claimed name is a liveliness token; a publisher waits for its
//! subscriber's matching status before the first put, so nothing is lost to the declaration
//! race. A topic's key has a subscriber and a publisher that hear and reach other sessions
//! only (`Locality::Remote`), so a node never hears its own values. Presence is Zenoh
//! liveliness: a token per node and per export, watched by a liveliness subscriber; the
//! session's lease (`transport/link/tx/lease`) bounds how long a silent peer's tokens outlive
//! it.

use std::sync::Arc;
use std::time::Duration;

use zenoh::Wait;
use zenoh::qos::CongestionControl;
use zenoh::sample::{Locality, SampleKind};

use super::{
    Appeared, BoxFuture, Declared, Gone, Handler, Incoming, Listener, Publisher, Transport,
};
use crate::config::ZenohOptions;

/// How often a look for peers that may not have answered yet is repeated.
const RETRY: Duration = Duration::from_millis(25);

pub(crate) struct ZenohTransport {
    session: zenoh::Session,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl ZenohTransport {
    /// Opens a peer-mode session with `options`.
    pub(crate) async fn open(options: &ZenohOptions, lease: Duration) -> Result<Self, String> {
        let mut config = zenoh::Config::default();
        // The lease this node announces: how long its peers wait on its silence before its
        // tokens (and so its actors' references there) go. At least 4 ms: 4 keep-alives a lease.
        let lease_ms = lease.as_millis().clamp(4, u128::from(u64::MAX));
        config
            .insert_json5("transport/link/tx/lease", &lease_ms.to_string())
            .map_err(err)?;
        let json = |v: &[String]| serde_json_array(v);
        config.insert_json5("mode", "\"peer\"").map_err(err)?;
        config
            .insert_json5("listen/endpoints", &json(&options.listen))
            .map_err(err)?;
        config
            .insert_json5("connect/endpoints", &json(&options.connect))
            .map_err(err)?;
        config
            .insert_json5(
                "scouting/multicast/enabled",
                if options.multicast_scouting {
                    "true"
                } else {
                    "false"
                },
            )
            .map_err(err)?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &options.tls {
            let path = |p: &std::path::Path| serde_json_array(&[p.display().to_string()]);
            // One string, not an array: take it out of `path`'s brackets.
            let one = |p: &std::path::Path| {
                let quoted = path(p);
                quoted[1..quoted.len() - 1].to_owned()
            };
            for (key, file) in [
                ("root_ca_certificate", &tls.authority),
                ("listen_certificate", &tls.certificate),
                ("listen_private_key", &tls.private_key),
                ("connect_certificate", &tls.certificate),
                ("connect_private_key", &tls.private_key),
            ] {
                config
                    .insert_json5(&format!("transport/link/tls/{key}"), &one(file))
                    .map_err(err)?;
            }
            config
                .insert_json5("transport/link/tls/enable_mtls", "true")
                .map_err(err)?;
            config
                .insert_json5("transport/link/tls/verify_name_on_connect", "true")
                .map_err(err)?;
        }
        let session = zenoh::open(config).await.map_err(err)?;
        Ok(ZenohTransport { session })
    }
}

/// `["a","b"]`, each string escaped for JSON5.
fn serde_json_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(","))
}

struct Holds<T: Send + Sync>(#[allow(dead_code)] T);
impl<T: Send + Sync> Declared for Holds<T> {}

struct ZenohPublisher {
    publisher: zenoh::pubsub::Publisher<'static>,
}

impl Publisher for ZenohPublisher {
    fn put(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.publisher.put(payload).await.map_err(err) })
    }
}

impl Transport for ZenohTransport {
    fn settles(&self) -> bool {
        true
    }

    fn publisher(
        &self,
        key: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>> {
        Box::pin(async move {
            let publisher = self
                .session
                .declare_publisher(key.clone())
                .congestion_control(CongestionControl::Block)
                .await
                .map_err(err)?;
            let listener = publisher.matching_listener().await.map_err(err)?;
            if !publisher.matching_status().await.map_err(err)?.matching() {
                let matched = async {
                    while let Ok(status) = listener.recv_async().await {
                        if status.matching() {
                            return true;
                        }
                    }
                    false
                };
                match tokio::time::timeout(timeout, matched).await {
                    Ok(true) => {}
                    _ => return Err(format!("nobody subscribes to `{key}`")),
                }
            }
            drop(listener);
            Ok(Arc::new(ZenohPublisher { publisher }) as Arc<dyn Publisher>)
        })
    }

    fn query(
        &self,
        key: String,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'static, Result<Option<Vec<u8>>, String>> {
        let session = self.session.clone();
        Box::pin(async move {
            let replies = session
                .get(key)
                .payload(payload)
                .timeout(timeout)
                .await
                .map_err(err)?;
            while let Ok(reply) = replies.recv_async().await {
                if let Ok(sample) = reply.result() {
                    return Ok(Some(sample.payload().to_bytes().into_owned()));
                }
            }
            Ok(None)
        })
    }

    fn serve(
        &self,
        key: String,
        handler: Handler,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>> {
        Box::pin(async move {
            let on_put = Arc::clone(&handler);
            let subscriber = self
                .session
                .declare_subscriber(key.clone())
                .callback(move |sample| {
                    on_put(Incoming::Put(sample.payload().to_bytes().into_owned()));
                })
                .await
                .map_err(err)?;
            let runtime = tokio::runtime::Handle::current();
            let queryable = self
                .session
                .declare_queryable(key)
                .callback(move |query| {
                    let payload = query
                        .payload()
                        .map(|p| p.to_bytes().into_owned())
                        .unwrap_or_default();
                    let runtime = runtime.clone();
                    handler(Incoming::Query(
                        payload,
                        Box::new(move |answer| {
                            runtime.spawn(async move {
                                let key = query.key_expr().clone();
                                if let Err(e) = query.reply(key, answer).await {
                                    tracing::warn!(error = %e, "a remote answer was not sent");
                                }
                            });
                        }),
                    ));
                })
                .await
                .map_err(err)?;
            Ok(Box::new(Holds((subscriber, queryable))) as Box<dyn Declared>)
        })
    }

    fn subscribe(
        &self,
        key: String,
        listener: Listener,
    ) -> BoxFuture<'_, Result<Box<dyn Declared>, String>> {
        Box::pin(async move {
            let subscriber = self
                .session
                .declare_subscriber(key)
                .allowed_origin(Locality::Remote)
                .callback(move |sample| listener(sample.payload().to_bytes().into_owned()))
                .await
                .map_err(err)?;
            Ok(Box::new(Holds(subscriber)) as Box<dyn Declared>)
        })
    }

    fn broadcaster(&self, key: String) -> BoxFuture<'_, Result<Arc<dyn Publisher>, String>> {
        Box::pin(async move {
            let publisher = self
                .session
                .declare_publisher(key)
                .congestion_control(CongestionControl::Block)
                .allowed_destination(Locality::Remote)
                .await
                .map_err(err)?;
            Ok(Arc::new(ZenohPublisher { publisher }) as Arc<dyn Publisher>)
        })
    }

    fn claim(
        &self,
        key: String,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Declared>>, String>> {
        Box::pin(async move {
            // Peers found by scouting or connected a moment ago may not have answered yet:
            // ask again until the discovery time is over.
            let liveliness = self.session.liveliness();
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                let holders = liveliness
                    .get(key.clone())
                    .timeout(left.max(Duration::from_millis(10)))
                    .await
                    .map_err(err)?;
                while let Ok(reply) = holders.recv_async().await {
                    if reply.result().is_ok() {
                        return Ok(None);
                    }
                }
                if left.is_zero() {
                    break;
                }
                tokio::time::sleep(left.min(RETRY)).await;
            }
            let token = liveliness.declare_token(key).await.map_err(err)?;
            Ok(Some(Box::new(Holds(token)) as Box<dyn Declared>))
        })
    }

    fn token(&self, key: String) -> Result<Box<dyn Declared>, String> {
        // A declaration resolves without waiting on the network (`wait` only queues it).
        let token = self
            .session
            .liveliness()
            .declare_token(key)
            .wait()
            .map_err(err)?;
        Ok(Box::new(Holds(token)) as Box<dyn Declared>)
    }

    fn watch(&self, key: String, timeout: Duration) -> BoxFuture<'_, Result<Gone, String>> {
        Box::pin(async move {
            let liveliness = self.session.liveliness();
            // Subscribed first, so a token that goes while we look is still seen going.
            let changes = liveliness
                .declare_subscriber(key.clone())
                .await
                .map_err(err)?;
            let holders = liveliness
                .get(key)
                .timeout(timeout.max(Duration::from_millis(10)))
                .await
                .map_err(err)?;
            let mut held = false;
            while let Ok(reply) = holders.recv_async().await {
                held |= reply.result().is_ok();
            }
            let gone: Gone = Box::pin(async move {
                if !held {
                    return;
                }
                while let Ok(sample) = changes.recv_async().await {
                    if sample.kind() == SampleKind::Delete {
                        return;
                    }
                }
            });
            Ok(gone)
        })
    }

    fn appears(&self, key: String) -> BoxFuture<'_, Result<Appeared, String>> {
        Box::pin(async move {
            // With history: a token held now is delivered too. Declarations of one session
            // travel in order (one priority), so a node's goodbye token is seen before its
            // presence token goes.
            let changes = self
                .session
                .liveliness()
                .declare_subscriber(key)
                .history(true)
                .await
                .map_err(err)?;
            let appeared: Appeared = Box::pin(async move {
                while let Ok(sample) = changes.recv_async().await {
                    if sample.kind() == SampleKind::Put {
                        return;
                    }
                }
                // The session closed: nothing will appear any more.
                std::future::pending().await
            });
            Ok(appeared)
        })
    }

    fn put(&self, key: String, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.session
                .put(key, payload)
                .congestion_control(CongestionControl::Block)
                .allowed_destination(Locality::Remote)
                .await
                .map_err(err)
        })
    }
}
