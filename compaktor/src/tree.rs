//! The actor tree: the terms a parent supervises its children by (`policy`), the parent's
//! bookkeeping of its children and their restarts (`node`), spawning a child (`child`), and
//! watches and links between actors (`watch`). How one actor runs lives in `actor`; the
//! system at the tree's root lives in `system`.

pub(crate) mod child;
pub(crate) mod node;
pub(crate) mod policy;
pub(crate) mod watch;
