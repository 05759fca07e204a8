//! Addressing an actor: the typed [`ActorRef`](crate::ActorRef) a user holds, the
//! [`Tell`](crate::Tell) and [`Ask`](crate::Ask) its generated methods return, and the
//! type-erased [`Recipient`](crate::Recipient). What a ref points at (the actor's cell and
//! mailbox) lives in `actor`; nothing here runs an actor.

pub(crate) mod actor_ref;
pub(crate) mod ask;
pub(crate) mod recipient;
pub(crate) mod tell;
