//! The system's tree as data: named actors by path (for [`ActorSystem::lookup`]) and every
//! running actor (for [`ActorSystem::shutdown`] and health reports). Children are held by their
//! parents, in `tree::node`.
//!
//! [`ActorSystem::lookup`]: crate::ActorSystem::lookup
//! [`ActorSystem::shutdown`]: crate::ActorSystem::shutdown

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ActorId;
use crate::actor::cell::ActorCell;
use crate::actor::cell::Control;

#[derive(Default)]
pub(crate) struct Registry {
    paths: Mutex<HashMap<Arc<str>, Arc<dyn Control>>>,
    /// Every running actor, for health reports and shutdown. Not counted references: an actor
    /// still stops when its last `ActorRef` is dropped. Slots with a free list, the slot kept
    /// in the actor's cell: every spawn and end touches it (no hashing), only a shutdown needs
    /// an order (by id, which grows with start order). Sharded by id, so actors spawned and
    /// ending on different threads rarely meet on one lock.
    actors: [Mutex<Slots>; SHARDS],
}

#[derive(Default)]
struct Slots {
    slots: Vec<Option<Arc<dyn Control>>>,
    free: Vec<u32>,
}

/// One shard of the index of running actors.
const SHARDS: usize = 16;

fn shard(id: ActorId) -> usize {
    (id.as_u64() as usize) % SHARDS
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Registry {
    /// Records a named actor's path; false if the path is taken.
    pub(crate) fn register(&self, path: &Arc<str>, control: &Arc<dyn Control>) -> bool {
        let mut paths = lock(&self.paths);
        if paths.contains_key(path) {
            return false;
        }
        paths.insert(Arc::clone(path), Arc::clone(control));
        true
    }

    pub(crate) fn add(&self, control: Arc<dyn Control>) {
        let cell = control.cell();
        let mut shard = lock(&self.actors[shard(cell.id())]);
        let slot = match shard.free.pop() {
            Some(slot) => slot,
            None => {
                shard.slots.push(None);
                u32::try_from(shard.slots.len() - 1).expect("fewer than 2^32 actors per shard")
            }
        };
        cell.set_registry_slot(slot);
        shard.slots[slot as usize] = Some(control);
    }

    /// The actor `id` has ended; `path` is its path if it is named (and so registered).
    pub(crate) fn remove(&self, cell: &ActorCell, path: Option<&str>) {
        let id = cell.id();
        if let Some(path) = path {
            let mut paths = lock(&self.paths);
            if paths.get(path).is_some_and(|c| c.cell().id() == id) {
                paths.remove(path);
            }
        }
        let Some(slot) = cell.registry_slot() else {
            return; // never added
        };
        let mut shard = lock(&self.actors[shard(id)]);
        let held = shard.slots.get_mut(slot as usize);
        if let Some(held) = held
            && held.as_ref().is_some_and(|c| c.cell().id() == id)
        {
            *held = None;
            shard.free.push(slot);
        }
    }

    pub(crate) fn get(&self, path: &str) -> Option<Arc<dyn Control>> {
        lock(&self.paths).get(path).cloned()
    }

    /// The paths of every named actor, sorted.
    pub(crate) fn paths(&self) -> Vec<Arc<str>> {
        let mut paths: Vec<_> = lock(&self.paths).keys().cloned().collect();
        paths.sort();
        paths
    }

    /// The top-level actors, newest first.
    pub(crate) fn top_level_newest_first(&self) -> Vec<Arc<dyn Control>> {
        let mut actors: Vec<_> = self
            .all_unordered()
            .into_iter()
            .filter(|actor| actor.cell().top_level)
            .collect();
        actors.sort_by_key(|actor| std::cmp::Reverse(actor.cell().id()));
        actors
    }

    /// Every running actor, oldest first.
    pub(crate) fn all(&self) -> Vec<Arc<dyn Control>> {
        let mut actors = self.all_unordered();
        actors.sort_by_key(|actor| actor.cell().id());
        actors
    }

    fn all_unordered(&self) -> Vec<Arc<dyn Control>> {
        self.actors
            .iter()
            .flat_map(|shard| {
                lock(shard)
                    .slots
                    .iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
