//! Ask cycles: which actors are waiting, inside a handler, for the reply to an ask, and on
//! whom. An ask made inside a handler that would close a cycle of such waits (A asks B while B
//! asks A; a pool worker asking its own pool) is refused when it is made, instead of waiting
//! until its timeout. Asks made outside handlers are not recorded and cost nothing here; the
//! error itself lives in `error`, the ask in `ask`.
//!
//! Actors are known here by the address of their cell, which stays put while a handler of
//! theirs waits on an ask (the asking future borrows the target's cell, or, for a
//! `PendingReply`, holds its allocation; the asker is the actor running on this thread).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, Weak};

use crate::ActorLabel;
use crate::actor::cell::ActorCell;

/// What the wait-for check needs to know of a pool: which workers it has. A pool counts as
/// waiting on each of its workers, because any one of them may get the message.
pub(crate) trait PoolMembers: Send + Sync {
    /// The label of the worker whose cell is at `address`, if it is one of this pool's.
    fn worker_at(&self, address: usize) -> Option<ActorLabel>;
}

#[derive(Default)]
struct Graph {
    /// Per actor waiting inside a handler (its cell's address): the actors it waits on (their
    /// cells' addresses and labels). Mostly one each; more with asks awaited together.
    waits: HashMap<usize, Vec<(usize, ActorLabel)>>,
    /// The pools, by their cell's address.
    pools: HashMap<usize, Weak<dyn PoolMembers>>,
}

/// One lock for every system: cycles can cross systems. Taken only by asks made inside a
/// handler, and by pools as they start and end.
static GRAPH: LazyLock<Mutex<Graph>> = LazyLock::new(Mutex::default);

fn graph() -> MutexGuard<'static, Graph> {
    GRAPH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The address actors are known by here.
pub(crate) fn address(cell: &ActorCell) -> usize {
    std::ptr::from_ref(cell).addr()
}

/// Records the pool whose cell is `pool` (until [`forget_pool`]).
pub(crate) fn register_pool(pool: &ActorCell, members: Weak<dyn PoolMembers>) {
    graph().pools.insert(address(pool), members);
}

/// The pool at `pool` has ended.
pub(crate) fn forget_pool(pool: usize) {
    graph().pools.remove(&pool);
}

/// The actor at `from` (running a handler on this thread) waits on `to` from now until this
/// is dropped.
#[derive(Debug)]
pub(crate) struct Waiting {
    from: usize,
    to: usize,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut graph = graph();
        if let Some(targets) = graph.waits.get_mut(&self.from) {
            if let Some(i) = targets.iter().position(|(to, _)| *to == self.to) {
                targets.swap_remove(i);
            }
            if targets.is_empty() {
                graph.waits.remove(&self.from);
            }
        }
    }
}

/// The actor at `from`, inside a handler, asks `to`: recorded as a wait, unless `to` already
/// waits (through other actors) on `from`, when the ask would never be answered. Then the
/// cycle, starting with the asker: each actor in it asks the next, and the last asks the first.
///
/// Follows the waits from `to` only: as long as the chain of waiting actors behind `to`.
pub(crate) fn begin(from: usize, to: &ActorCell) -> Result<Waiting, Vec<ActorLabel>> {
    let target = address(to);
    let mut graph = graph();
    if let Some(cycle) = find_cycle(&mut graph, from, target, &to.label) {
        return Err(cycle);
    }
    graph
        .waits
        .entry(from)
        .or_default()
        .push((target, to.label.clone()));
    Ok(Waiting { from, to: target })
}

/// A path of waits from `to` back to `from`, if there is one, as the cycle `from`'s ask to
/// `to` would close.
fn find_cycle(
    graph: &mut Graph,
    from: usize,
    to: usize,
    to_label: &ActorLabel,
) -> Option<Vec<ActorLabel>> {
    // Depth-first; `path` holds the labels from `to` to the actor looked at.
    let mut stack = vec![(to, to_label.clone(), 0usize)];
    let mut path: Vec<ActorLabel> = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    while let Some((node, label, depth)) = stack.pop() {
        path.truncate(depth);
        path.push(label);
        if node == from {
            // Back at the asker: its label came with the wait on it.
            let asker = path.pop().expect("the asker was just pushed");
            path.insert(0, asker);
            return Some(path);
        }
        if let Some(worker) = pool_worker(graph, node, from) {
            path.insert(0, worker);
            return Some(path);
        }
        if seen.contains(&node) {
            continue;
        }
        seen.push(node);
        if let Some(targets) = graph.waits.get(&node) {
            for (next, label) in targets {
                stack.push((*next, label.clone(), depth + 1));
            }
        }
    }
    None
}

/// If `node` is a pool and `from` one of its workers, the worker's label.
fn pool_worker(graph: &mut Graph, node: usize, from: usize) -> Option<ActorLabel> {
    if graph.pools.is_empty() {
        return None;
    }
    let pool = graph.pools.get(&node)?.upgrade();
    match pool {
        Some(pool) => pool.worker_at(from),
        None => {
            graph.pools.remove(&node);
            None
        }
    }
}

/// How many asks `cell`'s actor is recorded as waiting on (for tests).
#[cfg(test)]
pub(crate) fn waits_of(cell: &ActorCell) -> usize {
    graph().waits.get(&address(cell)).map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::waits_of;
    use crate::prelude::*;

    struct Slow;

    #[crate::actor]
    impl Slow {
        #[handler]
        async fn wait(&self, gate: oneshot::Receiver<()>) {
            let _ = gate.await;
        }
    }

    struct Asker {
        slow: ActorRef<Slow>,
    }

    #[crate::actor]
    impl Asker {
        #[handler]
        async fn ask_slow(&self, gate: oneshot::Receiver<()>) {
            self.slow.wait(gate).ask().await.expect("answered");
        }
    }

    async fn eventually(mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..1000 {
            if done() {
                return true;
            }
            tokio::task::yield_now().await;
        }
        done()
    }

    #[tokio::test]
    async fn an_ask_inside_a_handler_counts_as_a_wait_until_it_is_answered() {
        let system = ActorSystem::new("test");
        let slow = system.spawn(Slow);
        let asker = system.spawn(Asker { slow: slow.clone() });
        let cell = &asker.shared().cell;
        let (open, gate) = oneshot::channel();
        asker.ask_slow(gate).await.expect("queued");
        assert!(eventually(|| waits_of(cell) == 1).await);
        open.send(()).expect("the handler waits");
        assert!(eventually(|| waits_of(cell) == 0).await);
    }
}
