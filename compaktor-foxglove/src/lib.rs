//! # compaktor-foxglove
//!
//! See a CompAktor robot in [Foxglove](https://foxglove.dev), live or after the fact: any
//! [`Topic`](compaktor::Topic) becomes a Foxglove channel with a schema, served over
//! Foxglove's WebSocket protocol and recorded to an [MCAP](https://mcap.dev) file, through the
//! official Foxglove SDK (the `foxglove` crate), not a protocol of our own.
//!
//! - [`Bridge`] makes the channels and holds the sinks: [`Bridge::topic`] for a payload that
//!   is `Serialize + JsonSchema` (JSON) or a well-known Foxglove message (protobuf),
//!   [`Bridge::topic_as`] with a conversion, [`Bridge::sample`] for state without a topic;
//!   [`Bridge::record`] writes MCAP, [`Bridge::serve`] serves the Foxglove app.
//! - The actor system as channels: [`Bridge::health`] ([`HealthReport`]) and
//!   [`Bridge::dead_letters`] ([`DeadLetterRecord`]).
//! - The robot's devices in the shapes Foxglove's panels show as they are ([`robot`]): the
//!   pose estimate, sonar scans, motor duties, IMU, line sensor, E-stop.
//! - The simulation ([`Bridge::simulation`]): the true pose, the robot's frame and the arena.
//! - Log lines: [`Bridge::log`] gives a `tracing` layer ([`LogLayer`]) that puts every event
//!   on [`LOG_CHANNEL`] as Foxglove's well-known `Log` (its Log panel).
//! - [`FoxgloveArgs`]: `--record run.mcap` and `--foxglove [ADDR]` for a robot program.
//! - [`phone`] (feature `phone`, on by default): a page the robot serves to a phone's
//!   browser, with its status, actor tree, an E-stop button and a joystick.
//!
//! ## Why a crate of its own
//! The Foxglove SDK brings a WebSocket server (tokio-tungstenite), protobuf (prost) and an MCAP
//! writer: about forty crates `compaktor-pi` does not need. As a crate of its own (like
//! `compaktor-remote` for zenoh), `compaktor-pi`'s build and test loop stays as fast as it
//! was, a robot that is never watched does not compile it, and the dependency points the
//! natural way: this crate knows `compaktor-pi`'s types (to show them in Foxglove's standard
//! panels), `compaktor-pi` knows nothing of Foxglove. The SDK is used with its default
//! features off, only `websocket` and `schemars`: no TLS, no compression (the recording is
//! uncompressed), no WebRTC.
//!
//! ```
//! use std::time::Duration;
//! use compaktor::prelude::*;
//! use compaktor_foxglove::Bridge;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
//! struct Battery { volts: f32 }
//!
//! let system = ActorSystem::new("rover");
//! let battery = system.topic::<Battery>("/battery")?;
//! let mut bridge = Bridge::new();
//! bridge.topic(&battery)?.health(&system, Duration::from_millis(500))?;
//! # let run = std::env::temp_dir().join(format!("compaktor-foxglove-{}-lib.mcap", std::process::id()));
//! # let _ = std::fs::remove_file(&run);
//! bridge.record(&run)?; // and/or: bridge.serve("127.0.0.1:8765".parse()?).await?;
//! let live = bridge.serve("127.0.0.1:0".parse()?).await?; // port 0: a free port
//! assert_ne!(live.port(), 0);
//! battery.publish(Battery { volts: 11.9 });
//! // ... the run ...
//! let report = bridge.close().await?; // every value published so far is in the file
//! assert_eq!(report.channel("/battery").unwrap().messages, 1);
//! # std::fs::remove_file(run)?;
//! # Ok(()) }
//! ```

mod args;
mod bridge;
mod clock;
mod log;
#[cfg(feature = "phone")]
pub mod phone;
pub mod robot;
pub mod sim;
mod system;

pub use args::{DEFAULT_LIVE_ADDR, FoxgloveArgs};
pub use bridge::{Bridge, BridgeError, BridgeReport, ChannelCount};
pub use clock::RobotClock;
/// The Foxglove SDK this crate is built on (its well-known messages: `foxglove::messages`).
pub use foxglove;
pub use log::{LOG_CHANNEL, LogLayer};
pub use sim::{ARENA_CHANNEL, ARENA_FRAME, TRANSFORM_CHANNEL, TRUE_POSE_CHANNEL};
pub use system::{ActorRow, DEAD_LETTERS_CHANNEL, DeadLetterRecord, HEALTH_CHANNEL, HealthReport};
