//! Messaging patterns built from actors: a [`Pool`](crate::Pool) of workers behind one ref,
//! and a [`Topic`](crate::Topic) that fans each value out to its subscribers. They use the
//! layers below (actors, addresses, the tree, the system) and nothing uses them but the
//! system's named topics and the handler's [`Context`](crate::Context).

pub(crate) mod pool;
pub(crate) mod topic;
