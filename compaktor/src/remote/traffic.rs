//! Counts of remote traffic, reachable from the system that holds them:
//! [`ActorSystem::remote_stats`], the sibling of [`ActorSystem::health`] for what crosses the
//! network. The counting itself is done by `compaktor-remote`'s nodes; each node registers
//! itself here when it joins ([`report_traffic`]), and the report adds up the nodes of the
//! system that are still on the network.

use std::sync::{Mutex, PoisonError, Weak};

use crate::ActorSystem;

/// Counts of remote traffic: one node's (`RemoteNode::stats` in `compaktor-remote`), or a
/// system's, over the nodes it has joined the network as ([`ActorSystem::remote_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RemoteStats {
    /// Calls sent to other nodes' actors (tells sent together in one batch count one each).
    pub sent: u64,
    /// Calls and other frames received for this node's exports, including refused ones (each
    /// call of a batch counts once).
    pub received: u64,
    /// Calls and frames refused: bad bytes (decode failures), another version or actor type,
    /// over the size limit (calls and topic values; each refused call of a batch counts once).
    pub refused: u64,
    /// Calls that arrived for this node's exports but that their actor did not take: its
    /// mailbox was full (`MailboxFull`) or it had stopped (`Stopped`). Each is also a dead
    /// letter of this node's system, with that reason, as for a local `try_send`.
    pub dead_letters: u64,
    /// Asks whose asker gave up (timed out, or dropped its future) before the answer came:
    /// their query was dropped then, not left waiting for the node's ask limit.
    pub abandoned: u64,
    /// Values of shared topics sent to other nodes.
    pub topic_sent: u64,
    /// Values of shared topics received from other nodes and offered to local subscribers.
    pub topic_received: u64,
    /// Values of shared topics not sent: over the frame limit, not encodable, or published
    /// faster than the network took them.
    pub topic_dropped: u64,
}

impl std::ops::Add for RemoteStats {
    type Output = RemoteStats;

    fn add(self, other: RemoteStats) -> RemoteStats {
        RemoteStats {
            sent: self.sent + other.sent,
            received: self.received + other.received,
            refused: self.refused + other.refused,
            dead_letters: self.dead_letters + other.dead_letters,
            abandoned: self.abandoned + other.abandoned,
            topic_sent: self.topic_sent + other.topic_sent,
            topic_received: self.topic_received + other.topic_received,
            topic_dropped: self.topic_dropped + other.topic_dropped,
        }
    }
}

/// Something that counts remote traffic for a system: a node of `compaktor-remote`.
#[doc(hidden)]
pub trait TrafficSource: Send + Sync {
    /// Its counts now.
    fn traffic(&self) -> RemoteStats;
}

/// The traffic sources of one system: weak, so a node that left is no longer counted.
#[derive(Default)]
pub(crate) struct TrafficSources(Mutex<Vec<Weak<dyn TrafficSource>>>);

impl std::fmt::Debug for TrafficSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrafficSources")
    }
}

/// Counts `source`'s traffic in `system`'s [`remote_stats`](ActorSystem::remote_stats) for as
/// long as it lives.
#[doc(hidden)]
pub fn report_traffic(system: &ActorSystem, source: Weak<dyn TrafficSource>) {
    let mut sources = system
        .traffic_sources()
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    sources.retain(|s| s.strong_count() > 0);
    sources.push(source);
}

impl ActorSystem {
    /// Counts of this system's remote traffic: calls sent and received, frames refused
    /// (decode failures and the like), dead letters on the receiving side, abandoned asks and
    /// shared-topic values, added up over the nodes this system is on the network as now
    /// (`compaktor_remote::RemoteNode::join`; usually one). All zero when it has joined none.
    /// The sibling of [`health`](Self::health) for what crosses the network; one node's own
    /// counts are `RemoteNode::stats`.
    pub fn remote_stats(&self) -> RemoteStats {
        let sources = self
            .traffic_sources()
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sources
            .iter()
            .filter_map(Weak::upgrade)
            .fold(RemoteStats::default(), |sum, source| sum + source.traffic())
    }
}
