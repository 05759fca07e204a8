//! The system's tree as data: named actors by path (for [`ActorSystem::lookup`]) and every
//! running actor (for [`ActorSystem::shutdown`] and health reports). Children are held by their
//! parents, in `supervisor`.
//!
//! [`ActorSystem::lookup`]: crate::ActorSystem::lookup
//! [`ActorSystem::shutdown`]: crate::ActorSystem::shutdown

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ActorId;
use crate::actor_ref::Control;

#[derive(Default)]
pub(crate) struct Registry {
    paths: Mutex<HashMap<Arc<str>, Arc<dyn Control>>>,
    /// Every running actor by id (ids grow with start order), for health reports and
    /// shutdown. Not counted references: an actor still stops when its last `ActorRef` is
    /// dropped. A hash map: every spawn and end touches it, only a shutdown needs the order.
    /// Sharded by id, so actors spawned and ending on different threads rarely meet on one
    /// lock.
    actors: [Mutex<ActorIndex>; SHARDS],
}

/// One shard of the index of running actors.
type ActorIndex = HashMap<ActorId, Arc<dyn Control>, BuildHasherDefault<IdHasher>>;

/// Ids are unique numbers: one multiplication spreads them well enough, where SipHash would
/// cost more than the rest of an insert.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

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
        let id = control.cell().id();
        lock(&self.actors[shard(id)]).insert(id, control);
    }

    /// The actor `id` has ended; `path` is its path if it is named (and so registered).
    pub(crate) fn remove(&self, id: ActorId, path: Option<&str>) {
        if let Some(path) = path {
            let mut paths = lock(&self.paths);
            if paths.get(path).is_some_and(|c| c.cell().id() == id) {
                paths.remove(path);
            }
        }
        lock(&self.actors[shard(id)]).remove(&id);
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
            .flat_map(|shard| lock(shard).values().cloned().collect::<Vec<_>>())
            .collect()
    }
}
