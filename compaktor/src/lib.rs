//! # CompAktor
//!
//! Typed actors on tokio, made for robots. An actor owns its state and handles one message at a
//! time from a bounded mailbox; you talk to it through an [`ActorRef`], whose methods are
//! generated from the actor's own `#[handler]` methods by [`#[actor]`](macro@actor).
//!
//! ```
//! use compaktor::prelude::*;
//! use std::time::Duration;
//!
//! struct Counter {
//!     total: u64,
//! }
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("cannot divide by zero")]
//! struct DivByZero;
//!
//! #[actor]
//! impl Counter {
//!     /// Adds `n` to the total. Returns nothing, so calling it is a tell.
//!     #[handler]
//!     async fn add(&mut self, n: u64) {
//!         self.total += n;
//!     }
//!
//!     /// Returns a value, so calling it is an ask.
//!     #[handler]
//!     fn total(&self) -> u64 {
//!         self.total
//!     }
//!
//!     /// An `Err` goes back to the asker as `AskError::Handler`.
//!     #[handler]
//!     fn div(&self, by: u64) -> Result<u64, DivByZero> {
//!         self.total.checked_div(by).ok_or(DivByZero)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let system = ActorSystem::new("robot");
//! let counter: ActorRef<Counter> = system.spawn(Counter { total: 0 });
//!
//! counter.add(2).await?; // enqueued (waits for room if the mailbox is full)
//! counter.add(3).ask().await?; // enqueued and handled
//! assert_eq!(counter.total().await?, 5);
//! assert!(matches!(counter.div(0).await, Err(AskError::Handler(DivByZero))));
//! assert_eq!(counter.total().timeout(Duration::from_millis(50)).await?, 5);
//!
//! counter.stop(); // poison pill: what was queued before it is still handled
//! assert_eq!(counter.stopped().await, StopReason::Stopped);
//! # Ok(())
//! # }
//! ```
//!
//! ## `#[tokio::main]` is not a task
//! On the multi-thread runtime the body of `#[tokio::main]` runs on the main thread, outside
//! the runtime's workers, so each reply from an actor wakes that thread from another one: a
//! loop of asks in `main` runs several times slower than the same loop in a spawned task. Put
//! code that talks to actors a lot in a task:
//! `tokio::spawn(async move { /* the same code */ }).await?`. (A current-thread runtime has
//! no other thread, so there is nothing to move.)
//!
//! ## Supervision
//! An actor spawns children from its [`Context`] with [`Context::child`], giving a factory
//! that makes (and, after a failure, remakes) the child. Its [`Supervision`] says which
//! children restart ([`Strategy`]), how often before it gives up and fails itself
//! ([`StopReason::Escalated`]), and with what [`Backoff`]; each child's [`RestartPolicy`]
//! says when it restarts. A restart keeps the mailbox and every `ActorRef`; the new instance's
//! `#[on_restart]` hook learns why. Children start in order and stop in reverse order, before
//! their parent; [`ActorSystem::shutdown`] stops everything that way within a deadline, after
//! the steps registered with [`ActorSystem::on_shutdown`] (a robot's E-stop). A
//! top-level actor spawned from a factory ([`ActorSystem::spawn_with`]) is supervised by the
//! system and restarts the same way; one spawned from a value cannot be remade, and a failure
//! ([`FailureAction::Fail`]) stops it.
//! [`Context::watch`] reports another actor's end; [`Context::link`] fails two actors
//! together. Named actors have paths (`/robot/drive/left_motor`) for
//! [`ActorSystem::lookup`].
//!
//! ## What lives where
//! - [`ActorSystem`] spawns actors, looks them up by path, shuts them down, and keeps the
//!   dead-letter office.
//! - [`ActorRef`] addresses one actor; [`Tell`] and [`Ask`] are what its handler methods return.
//! - [`Context`] is handed to handlers and hooks: the actor's own ref, stop, timers, streams,
//!   blocking work, children ([`ChildBuilder`]), watches and links.
//! - [`Supervision`], [`Strategy`], [`RestartPolicy`], [`Backoff`] and [`RestartInfo`] describe
//!   supervision; [`Terminated`] and [`LinkExit`] are the notices of watches and links.
//! - `testkit` (feature `testkit`): a test probe and paused-clock helpers.
//! - [`Mailbox`] chooses bounded (the default) or unbounded queues.
//! - [`StopReason`], [`HandlerFailure`] and [`FailureAction`] describe how actors end and fail;
//!   [`SendError`], [`AskError`], [`SpawnError`] and [`LookupError`] are what callers get back.
//! - [`DeadLetter`]s record every message that will never be handled.
//! - [`Pool`] puts N supervised workers behind one `ActorRef` ([`ActorSystem::pool`],
//!   [`Routing`]).
//! - [`ActorSystem::health`] reports every actor ([`ActorHealth`], [`ActorState`]);
//!   [`ActorSystem::stalls`] reports actors stuck in a handler ([`Stall`]).
//! - [`Topic`] fans each published value out to every subscribing actor
//!   ([`Context::subscribe`], [`Context::subscribe_latest`], [`Subscription`]), and to code
//!   that is not an actor ([`Topic::stream`], [`TopicStream`]; [`Topic::latest`] of a topic
//!   that keeps its newest value); [`Recipient`] sends one payload type to one actor of any type.
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

// Lets the generated `::compaktor::…` paths resolve inside this crate's own tests and docs.
#[allow(unused_extern_crates)]
extern crate self as compaktor;

mod actor;
mod address;
mod context;
mod error;
mod macro_support;
mod patterns;
#[cfg(feature = "remote")]
pub mod remote;
mod system;
mod task;
#[cfg(feature = "testkit")]
pub mod testkit;
mod tree;

pub use actor::cell::ActorState;
pub use actor::dead_letter::{DeadLetter, DeadLetterReason};
pub use actor::mailbox::Mailbox;
pub use actor::stop_reason::{FailureAction, HandlerFailure, MessageSource, RemoteEnd, StopReason};
pub use actor::stop_reason::{LinkExit, Terminated};
pub use actor::{Actor, ActorId};
pub use address::actor_ref::ActorRef;
pub use address::ask::{Ask, AskFuture, PendingReply};
pub use address::recipient::Recipient;
pub use address::tell::{Tell, TellFuture};
pub use compaktor_macros::{actor, handler, on_failure, on_restart, on_start, on_stop};
pub use context::Context;
pub use context::timer::{MissedTick, TaskHandle};
pub use error::{
    ActorLabel, AskError, CodecError, LookupError, RemoteFailure, SendError, SpawnError,
    StartError, TrySendError, TryTellError,
};
pub use patterns::pool::{Pool, PoolBuilder, Routing};
pub use patterns::topic::{Subscription, Topic, TopicError, TopicStream};
pub use system::health::{ActorHealth, Stall};
pub use system::shutdown::ShutdownReport;
pub use system::{ActorBuilder, ActorSystem};
pub use tree::child::ChildBuilder;
pub use tree::policy::{Backoff, RestartInfo, RestartPolicy, Strategy, Supervision};

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// What an actor module usually needs: `use compaktor::prelude::*;`. The macros, the actor,
/// its refs and context, what sends return ([`Tell`], [`Ask`], [`TaskHandle`]) and their
/// errors, supervision, pools and topics. Only this crate's items: import
/// `std::time::Duration` yourself.
///
/// ```compile_fail,E0433
/// use compaktor::prelude::*;
///
/// let _ = Duration::from_millis(50); // not in the prelude
/// ```
pub mod prelude {
    pub use crate::{
        Actor, ActorId, ActorRef, ActorSystem, Ask, AskError, Backoff, Context, DeadLetter,
        FailureAction, HandlerFailure, LinkExit, Mailbox, MissedTick, Pool, Recipient, RestartInfo,
        RestartPolicy, Routing, SendError, SpawnError, StopReason, Strategy, Subscription,
        Supervision, TaskHandle, Tell, Terminated, Topic, TopicError, TrySendError, TryTellError,
        actor, handler, on_failure, on_restart, on_start, on_stop,
    };
}

/// Support for the code that `#[actor]` generates. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "remote")]
    pub use crate::CodecError;
    pub use crate::actor::Handlers;
    pub use crate::actor::shared::RefCore;
    pub use crate::macro_support::{
        AssertActor, AssertHandlerError, AssertMessageSend, Checked, CloneFallback, CloneWhenClone,
        FailureHookResult, HookResult, MaybeClone, Message, Outcome, ReplyFailure, ReplyReceiver,
        ReplyTo, SplitResult, assert_actor, assert_handler_error, assert_message_send,
        dispatch_now, handler_failure, reply_channel, routing_key,
    };
    #[cfg(feature = "remote")]
    pub use crate::remote::{
        CallEncodeError, Codec, Decoder, Encoder, Probe, RemoteActor, RemoteMessage, RemoteReply,
        ReplyWaiter, ViaFallback, ViaSerde, fingerprint, never_codec, reply_slot, reply_waiter,
    };
    pub use core::convert::Infallible;
    pub use core::future::Future;
    pub use core::marker::PhantomData;
    pub use core::option::Option;
    pub use core::result::Result;
    #[cfg(feature = "remote")]
    pub use std::{boxed::Box, vec::Vec};
}

/// Expands to its input when the `remote` feature is on: what `#[actor(remote)]` generates
/// goes through it, so a build without the feature gets one clear error.
#[doc(hidden)]
#[cfg(feature = "remote")]
#[macro_export]
macro_rules! __remote_items {
    ($($items:tt)*) => { $($items)* };
}

/// Expands to its input when the `remote` feature is on: what `#[actor(remote)]` generates
/// goes through it, so a build without the feature gets one clear error.
#[doc(hidden)]
#[cfg(not(feature = "remote"))]
#[macro_export]
macro_rules! __remote_items {
    ($($items:tt)*) => {
        ::core::compile_error!(
            "`#[actor(remote)]` needs compaktor's `remote` feature; depend on `compaktor-remote` \
             (it turns the feature on) or write `compaktor = { features = [\"remote\"] }`"
        );
    };
}
