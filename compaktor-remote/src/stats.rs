//! [`Stats`]: the counters of one node's remote traffic, bumped by the parts that send and
//! receive (exports, imports, shared topics) and read as a [`RemoteStats`] by the node.

use std::sync::atomic::{AtomicU64, Ordering};

use compaktor::remote::RemoteStats;

/// Counts of this node's remote traffic.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) dead_letters: AtomicU64,
    pub(crate) topic_sent: AtomicU64,
    pub(crate) topic_received: AtomicU64,
    pub(crate) topic_dropped: AtomicU64,
    pub(crate) abandoned: AtomicU64,
}

impl Stats {
    pub(crate) fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn received(&self, calls: u64) {
        self.received.fetch_add(calls, Ordering::Relaxed);
    }
    pub(crate) fn refused(&self) {
        self.refused_many(1);
    }
    pub(crate) fn refused_many(&self, calls: u64) {
        self.refused.fetch_add(calls, Ordering::Relaxed);
    }
    pub(crate) fn dead_letter(&self) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn topic_sent(&self) {
        self.topic_sent.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn topic_received(&self) {
        self.topic_received.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn topic_dropped(&self) {
        self.topic_dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn abandoned(&self) {
        self.abandoned.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RemoteStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut stats = RemoteStats::default();
        stats.sent = load(&self.sent);
        stats.received = load(&self.received);
        stats.refused = load(&self.refused);
        stats.dead_letters = load(&self.dead_letters);
        stats.abandoned = load(&self.abandoned);
        stats.topic_sent = load(&self.topic_sent);
        stats.topic_received = load(&self.topic_received);
        stats.topic_dropped = load(&self.topic_dropped);
        stats
    }
}
