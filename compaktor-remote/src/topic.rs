//! Topics shared across nodes. A shared topic's key (`compaktor-topic/<topic>`) carries each
//! value published on any node that shares it, in one envelope (kind `Topic`, the payload
//! type's fingerprint, the publishing node). Sending: the core hands every *locally* published
//! value to an outbound closure that encodes it and queues it, without waiting, for a task
//! that puts it on the network. Receiving: a listener checks and decodes each frame and
//! offers the value to the local subscribers only, so no value goes back out: there is no
//! echo between nodes. The table of a node's shared topics lives in `node`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use compaktor::Topic;
use compaktor::remote::serde::{Serialize, de::DeserializeOwned};
use compaktor::remote::{
    clear_topic_outbound, decode_value, encode_value, publish_from_network, set_topic_outbound,
};
use tokio::sync::mpsc;

use crate::stats::Stats;
use crate::transport::{Declared, Listener, Publisher};
use crate::wire::{Frame, FrameError, Kind, payload_fingerprint};

/// How many values of one topic may wait to be sent before new ones are dropped (counted in
/// `RemoteStats::topic_dropped`).
pub(crate) const QUEUE: usize = 1024;

/// The key of topic `name`.
pub(crate) fn key(name: &str) -> String {
    format!("compaktor-topic/{name}")
}

/// One shared topic, as its node holds it: dropping it stops sharing (the topic keeps
/// working locally).
pub(crate) struct Shared {
    _listening: Box<dyn Declared>,
    sending: tokio::task::JoinHandle<()>,
    unshare: Box<dyn Fn() + Send + Sync>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        (self.unshare)();
        self.sending.abort();
    }
}

/// What a node knows when it shares a topic.
pub(crate) struct Sharing {
    pub(crate) origin: u64,
    pub(crate) max_frame: usize,
    pub(crate) stats: Arc<Stats>,
}

/// The listener for `topic`'s key: each frame from another node, checked and decoded, to the
/// local subscribers.
pub(crate) fn listener<T>(topic: Topic<T>, sharing: &Sharing) -> Listener
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    let receiver = Receiver {
        topic,
        origin: sharing.origin,
        max_frame: sharing.max_frame,
        stats: Arc::clone(&sharing.stats),
    };
    Arc::new(move |bytes| receiver.receive(&bytes))
}

/// Starts sending `topic`'s local values through `publisher`; `None` if the topic is shared
/// already (by another node of this system).
pub(crate) fn share<T>(
    topic: &Topic<T>,
    publisher: Arc<dyn Publisher>,
    listening: Box<dyn Declared>,
    sharing: Sharing,
) -> Option<Shared>
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    let (tx, rx) = mpsc::channel(QUEUE);
    let fingerprint = payload_fingerprint(std::any::type_name::<T>());
    let seq = AtomicU64::new(0);
    let name: Arc<str> = topic.name().into();
    let stats = Arc::clone(&sharing.stats);
    let outbound = {
        let name = Arc::clone(&name);
        let stats = Arc::clone(&stats);
        move |value: &T| {
            let mut out = Vec::with_capacity(64);
            let n = seq.fetch_add(1, Ordering::Relaxed);
            Frame::encode(Kind::Topic, fingerprint, sharing.origin, n, &mut out);
            let out = match encode_value(value, out) {
                Ok(out) if out.len() <= sharing.max_frame => out,
                Ok(out) => {
                    stats.topic_dropped();
                    tracing::warn!(topic = %name, len = out.len(), limit = sharing.max_frame,
                        "a topic value is over the frame limit; not sent to other nodes");
                    return false;
                }
                Err(error) => {
                    stats.topic_dropped();
                    tracing::warn!(topic = %name, %error, "a topic value was not sent to other nodes");
                    return false;
                }
            };
            match tx.try_send(out) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    stats.topic_dropped();
                    tracing::warn!(topic = %name, queued = QUEUE,
                        "the network is behind; a topic value was not sent to other nodes");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        }
    };
    if !set_topic_outbound(topic, Arc::new(outbound)) {
        return None;
    }
    let sending = tokio::spawn(send(rx, publisher, name, stats));
    let topic = topic.clone();
    Some(Shared {
        _listening: listening,
        sending,
        unshare: Box::new(move || clear_topic_outbound(&topic)),
    })
}

/// Puts each queued value on the network, in the order they were published.
async fn send(
    mut rx: mpsc::Receiver<Vec<u8>>,
    publisher: Arc<dyn Publisher>,
    name: Arc<str>,
    stats: Arc<Stats>,
) {
    while let Some(bytes) = rx.recv().await {
        match publisher.put(bytes).await {
            Ok(()) => stats.topic_sent(),
            Err(error) => {
                stats.topic_dropped();
                tracing::warn!(topic = %name, %error, "a topic value was not sent to other nodes");
            }
        }
    }
}

/// The receiving side of one shared topic.
struct Receiver<T> {
    topic: Topic<T>,
    origin: u64,
    max_frame: usize,
    stats: Arc<Stats>,
}

impl<T> Receiver<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// One frame off the network: refused (counted, logged) unless it is a value of this
    /// topic's payload type from another node.
    fn receive(&self, bytes: &[u8]) {
        match self.check(bytes) {
            Ok(Some(value)) => {
                self.stats.topic_received();
                publish_from_network(&self.topic, value);
            }
            Ok(None) => {}
            Err(error) => {
                self.stats.refused();
                tracing::warn!(topic = %self.topic.name(), %error, "refused a topic value from the network");
            }
        }
    }

    /// The value in `bytes`; `None` for this node's own value (transports do not deliver
    /// those; this is a second guard against a loop).
    fn check(&self, bytes: &[u8]) -> Result<Option<T>, FrameError> {
        if bytes.len() > self.max_frame {
            return Err(FrameError::Oversized {
                len: bytes.len(),
                limit: self.max_frame,
            });
        }
        let frame = Frame::parse(bytes)?;
        if frame.kind != Kind::Topic {
            return Err(FrameError::Kind(frame.kind as u8));
        }
        let expected = payload_fingerprint(std::any::type_name::<T>());
        if frame.fingerprint != expected {
            return Err(FrameError::PayloadType {
                got: frame.fingerprint,
                expected,
            });
        }
        if frame.sender == self.origin {
            return Ok(None);
        }
        decode_value(frame.call).map(Some).map_err(FrameError::Call)
    }
}

#[cfg(test)]
mod fuzz {
    //! Random and mutated topic frames through the receiving side: none panics; each bad one
    //! is refused and counted; good ones reach the subscriber.

    use std::sync::atomic::Ordering;

    use compaktor::ActorSystem;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Seen {
        Wall { metres: f32 },
        Robot(String, Vec<u8>),
    }

    use crate::fuzz_rng::Rng;

    fn valid(rng: &mut Rng) -> Vec<u8> {
        let value = if rng.below(2) == 0 {
            Seen::Wall { metres: 0.5 }
        } else {
            Seen::Robot(
                "r".repeat(rng.below(9) as usize),
                vec![7; rng.below(5) as usize],
            )
        };
        let mut out = Vec::new();
        let fingerprint = payload_fingerprint(std::any::type_name::<Seen>());
        Frame::encode(
            Kind::Topic,
            fingerprint,
            1 + rng.below(3),
            rng.next(),
            &mut out,
        );
        encode_value(&value, out).unwrap()
    }

    #[tokio::test]
    async fn random_and_mutated_frames_never_panic_and_are_counted() {
        let system = ActorSystem::new("fuzz");
        let topic = system.topic::<Seen>("seen").unwrap();
        let stats = Arc::new(Stats::default());
        let receiver = Receiver {
            topic,
            // Far from the senders' ids: no mutation of a few bytes makes a frame "ours".
            origin: 0xdead_beef_dead_beef,
            max_frame: 256,
            stats: Arc::clone(&stats),
        };
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let mut good = 0;
        for case in 0..100_000u64 {
            let mut frame = valid(&mut rng);
            match case % 4 {
                0 => good += 1,
                1 => {
                    for _ in 0..=rng.below(4) {
                        let at = rng.below(frame.len() as u64) as usize;
                        frame[at] = rng.next() as u8;
                    }
                }
                2 => frame.truncate(rng.below(frame.len() as u64) as usize),
                _ => {
                    frame = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                }
            }
            receiver.receive(&frame);
        }
        let received = stats.topic_received.load(Ordering::Relaxed);
        let refused = stats.refused.load(Ordering::Relaxed);
        assert!(received >= good, "{received} < {good}");
        // Every case is either received or refused (none is this node's own).
        assert_eq!(received + refused, 100_000);
        assert!(refused > 40_000, "{refused}");
    }
}
