//! # Remote actors for CompAktor
//!
//! The same typed [`ActorRef`](compaktor::ActorRef) across systems and machines. Mark an actor
//! `#[actor(remote)]` (every handler argument and reply then has to be
//! `Serialize + DeserializeOwned`), join the network with a [`RemoteNode`], export actors
//! under names, and look up other nodes' actors by `node/export`:
//!
//! ```
//! use compaktor::prelude::*;
//! use std::time::Duration;
//! use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode};
//!
//! struct Sonar { cm: f32 }
//!
//! #[derive(Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
//! #[error("the sonar is blind")]
//! struct Blind;
//!
//! #[actor(remote)]
//! impl Sonar {
//!     #[handler]
//!     fn set(&mut self, cm: f32) { self.cm = cm; }
//!     #[handler]
//!     fn distance(&self) -> Result<f32, Blind> {
//!         if self.cm < 0.0 { Err(Blind) } else { Ok(self.cm) }
//!     }
//! }
//!
//! /// Works the same for a local and a remote sonar.
//! async fn near(sonar: &ActorRef<Sonar>) -> Result<bool, AskError<Blind>> {
//!     Ok(sonar.distance().timeout(Duration::from_secs(1)).await? < 10.0)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // On real robots: `NodeConfig::lan("robot-1")`. Here, two systems in one process.
//! let network = MemoryNetwork::new();
//! let robot = ActorSystem::new("robot-1");
//! let node = RemoteNode::join(&robot, NodeConfig::in_memory(&network, "robot-1")).await?;
//! let sonar = robot.spawn(Sonar { cm: 5.0 });
//! node.export(&sonar, "sonar").await?;
//!
//! let base = ActorSystem::new("base");
//! let base_node = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base")).await?;
//! let remote: ActorRef<Sonar> = base_node.lookup("robot-1/sonar").await?;
//! assert!(near(&remote).await?);
//! remote.set(-1.0).await?;
//! assert!(matches!(remote.distance().await, Err(AskError::Handler(Blind))));
//! # Ok(()) }
//! ```
//!
//! ## What lives where
//! - [`RemoteNode`]: `join`, `export`, `lookup`, `leave`, traffic counts ([`RemoteStats`],
//!   also added up per system by `ActorSystem::remote_stats`, next to `health()`).
//! - [`NodeConfig`]: the node's name, its transport (Zenoh peer mode, or a [`MemoryNetwork`]
//!   for tests), the frame size limit and the ask limit.
//! - [`JoinError`], [`ExportError`], [`LookupError`], [`FrameError`]: what goes wrong.
//! - Inside: `transport` (the internal `Transport` trait, its Zenoh and in-memory
//!   implementations), `wire` (the envelope), `export` (the serving side), `import` (the
//!   task behind a looked-up reference). See `DESIGN.md` for why it has this shape.
//!
//! ## Semantics
//! - A tell is a reliable put; an ask is a query. Calls from one reference are handled in the
//!   order they were made, tells and asks interleaved (each carries a sequence number).
//! - A handler's `Err` comes back as `AskError::Handler(e)`; a remote panic as
//!   `AskError::Panicked`, a remote stop as `AskError::Stopped`, a full remote mailbox as
//!   `AskError::Full` (for a tell: a `MailboxFull` dead letter on the receiving side); no
//!   answer from the network as `AskError::Remote` with [`RemoteFailure::Unreachable`].
//! - Bytes that do not decode are refused, logged and counted ([`RemoteStats::refused`]); an
//!   asker gets `AskError::Remote` with [`RemoteFailure::Refused`]. The actor and the system
//!   keep running.
//!
//! [`RemoteFailure::Unreachable`]: compaktor::RemoteFailure::Unreachable
//! [`RemoteFailure::Refused`]: compaktor::RemoteFailure::Refused

mod config;
mod error;
mod export;
#[cfg(test)]
mod fuzz_rng;
mod import;
mod node;
mod presence;
mod stats;
mod topic;
mod transport;
mod wire;

pub use compaktor::remote::RemoteStats;
#[cfg(feature = "tls")]
pub use config::Tls;
pub use config::{DEFAULT_LEASE, DEFAULT_MAX_FRAME, NodeConfig};
pub use error::{ExportError, JoinError, LookupError, ShareError};
pub use node::RemoteNode;
pub use presence::Presence;
pub use transport::memory::MemoryNetwork;
pub use wire::FrameError;
