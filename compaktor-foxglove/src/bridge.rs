//! The [`Bridge`]: channels fed from topics, streams and samplers, and the sinks they go to
//! (an MCAP recording, the live WebSocket server). What the channels carry for the actor system
//! and for the robot's devices lives in `system`, `robot` and `sim`.

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use compaktor::Topic;
use foxglove::{Encode, McapWriterHandle, PartialMetadata, RawChannel, WebSocketServerHandle};
use futures::{FutureExt, Stream, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::RobotClock;

/// Why the bridge could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The bridge already has a channel of that name: one topic (or sampler) per channel.
    #[error("the bridge already has a Foxglove channel `{0}`; give this one another name")]
    ChannelTaken(String),
    /// The Foxglove SDK could not make a channel.
    #[error("cannot make the Foxglove channel `{channel}`: {source}")]
    Channel {
        /// The channel's name.
        channel: String,
        /// What the Foxglove SDK said.
        #[source]
        source: foxglove::FoxgloveError,
    },
    /// The bridge already records, or already serves.
    #[error("the bridge already {0}; one recording and one live server per bridge")]
    AlreadyStarted(&'static str),
    /// The recording could not be made or written.
    #[error("cannot record to {path}: {source}")]
    Record {
        /// The MCAP file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: foxglove::FoxgloveError,
    },
    /// The program's logging could not take the bridge's log layer.
    #[error("cannot put the log lines on Foxglove's channel: {0}")]
    Log(#[source] tracing_subscriber::reload::Error),
    /// The live server could not listen.
    #[error("cannot serve Foxglove's WebSocket on {addr}: {source}")]
    Serve {
        /// Where it was to listen.
        addr: SocketAddr,
        /// What went wrong.
        #[source]
        source: foxglove::FoxgloveError,
    },
}

/// How many messages one channel carried, from [`Bridge::channels`] and [`Bridge::close`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCount {
    /// The channel's name (its Foxglove topic).
    pub channel: String,
    /// Messages handed to the sinks (a recording, the live server); none while there is no
    /// sink.
    pub messages: u64,
    /// Messages that could not be encoded (each is logged at warn level).
    pub encode_errors: u64,
}

/// What a closed bridge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeReport {
    /// Every channel, in the order it was made.
    pub channels: Vec<ChannelCount>,
    /// The MCAP file written, if the bridge recorded.
    pub recording: Option<PathBuf>,
}

impl BridgeReport {
    /// The count of `channel`, if the bridge had it.
    pub fn channel(&self, channel: &str) -> Option<&ChannelCount> {
        self.channels.iter().find(|c| c.channel == channel)
    }
}

/// Bridges a CompAktor system to [Foxglove](https://foxglove.dev): each [`Topic`] (or stream,
/// or sampled value) becomes a Foxglove channel with a schema, written to an MCAP recording
/// ([`record`](Self::record)) and served live to the Foxglove app over a WebSocket
/// ([`serve`](Self::serve)).
///
/// A topic whose payload is `Serialize + JsonSchema` (or one of Foxglove's well-known messages,
/// `foxglove::messages::*`) is bridged as it is with [`topic`](Self::topic); any other with
/// [`topic_as`](Self::topic_as) and a conversion. The actor system itself is bridged with
/// [`health`](Self::health) and [`dead_letters`](Self::dead_letters), the robot's devices with
/// the methods in [`robot`](crate::robot) and the simulation with
/// [`simulation`](Self::simulation).
///
/// Each channel is fed by a task of its own that follows the topic like any subscriber
/// ([`Topic::stream`]): publishing never waits for the bridge, and a message is encoded only
/// while a sink wants it. Every message is stamped with the [`RobotClock`].
///
/// Call [`close`](Self::close) at the end of a run: it hands every value already published to
/// the sinks, then finishes the recording. Dropping a bridge without closing it stops its
/// tasks and leaves the recording to the SDK's drop (finished, but without the last values).
///
/// ```
/// use compaktor::prelude::*;
/// use compaktor_foxglove::Bridge;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("rover");
/// let battery = system.topic::<f32>("/battery_volts")?;
/// let mut bridge = Bridge::new();
/// bridge.topic(&battery)?;
/// let path = std::env::temp_dir().join("compaktor-foxglove-doc.mcap");
/// bridge.record(&path)?;
/// battery.publish(11.9);
/// battery.publish(11.8);
/// let report = bridge.close().await?;
/// assert_eq!(report.channel("/battery_volts").unwrap().messages, 2);
/// # std::fs::remove_file(path)?;
/// # Ok(()) }
/// ```
pub struct Bridge {
    context: Arc<foxglove::Context>,
    clock: RobotClock,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    channels: Vec<Arc<Outlet>>,
    recording: Option<(PathBuf, McapWriterHandle<BufWriter<File>>)>,
    live: Option<WebSocketServerHandle>,
    /// The program's log lines go to [`LOG_CHANNEL`](crate::LOG_CHANNEL) while this is held
    /// ([`Bridge::log_to`]).
    pub(crate) log_slot: Option<compaktor_pi::firmware::LogSlotGuard>,
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field(
                "channels",
                &self
                    .channels
                    .iter()
                    .map(|c| c.raw.topic())
                    .collect::<Vec<_>>(),
            )
            .field("recording", &self.recording.as_ref().map(|(path, _)| path))
            .field("live", &self.live_port())
            .finish_non_exhaustive()
    }
}

impl Default for Bridge {
    fn default() -> Self {
        Bridge::new()
    }
}

impl Bridge {
    /// A bridge with no channel and no sink yet, stamping with a [`RobotClock`] started now.
    pub fn new() -> Self {
        Bridge {
            context: foxglove::Context::new(),
            clock: RobotClock::new(),
            stop: watch::Sender::new(false),
            tasks: Vec::new(),
            channels: Vec::new(),
            recording: None,
            live: None,
            log_slot: None,
        }
    }

    /// The clock the bridge stamps messages with.
    pub fn clock(&self) -> RobotClock {
        self.clock
    }

    /// Bridges `topic` to a channel of the same name (with a leading `/`), carrying each value
    /// as it is: JSON with a JSON schema for a `Serialize + JsonSchema` payload, protobuf for
    /// Foxglove's well-known messages.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has a channel of that name.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn topic<T>(&mut self, topic: &Topic<T>) -> Result<&mut Self, BridgeError>
    where
        T: Encode + Clone + Send + 'static,
    {
        let channel = channel_name(topic.name());
        self.stream_as(&channel, topic.stream(), |value: T| value)
    }

    /// Bridges `topic` to the channel `channel`, each value converted by `convert` (to a
    /// well-known message, or a `Serialize + JsonSchema` type of your own).
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has a channel of that name.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn topic_as<T, M>(
        &mut self,
        topic: &Topic<T>,
        channel: &str,
        convert: impl FnMut(T) -> M + Send + 'static,
    ) -> Result<&mut Self, BridgeError>
    where
        T: Clone + Send + 'static,
        M: Encode,
    {
        self.stream_as(channel, topic.stream(), convert)
    }

    /// Bridges any stream to the channel `channel`, each item converted by `convert`. The
    /// channel's task follows the stream until it ends or the bridge closes.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has a channel of that name.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn stream_as<S, M>(
        &mut self,
        channel: &str,
        stream: S,
        mut convert: impl FnMut(S::Item) -> M + Send + 'static,
    ) -> Result<&mut Self, BridgeError>
    where
        S: Stream + Send + Unpin + 'static,
        M: Encode,
    {
        let outlet = self.outlet::<M>(channel)?;
        let mut stop = self.stop.subscribe();
        let mut stream = stream;
        self.tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => {
                        // Closing: what was already published still goes out.
                        while let Some(Some(item)) = stream.next().now_or_never() {
                            outlet.log(&convert(item));
                        }
                        return;
                    }
                    item = stream.next() => match item {
                        Some(item) => outlet.log(&convert(item)),
                        None => return,
                    },
                }
            }
        }));
        Ok(self)
    }

    /// A channel `channel` carrying `sample()` every `every` (the first at once), for state
    /// that has no topic: the E-stop, the health report, the simulated world.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has a channel of that name.
    ///
    /// # Panics
    /// If `every` is zero; outside a tokio runtime.
    pub fn sample<M: Encode>(
        &mut self,
        channel: &str,
        every: Duration,
        mut sample: impl FnMut() -> M + Send + 'static,
    ) -> Result<&mut Self, BridgeError> {
        assert!(
            !every.is_zero(),
            "a sampling period must be greater than zero"
        );
        let outlet = self.outlet::<M>(channel)?;
        let mut stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => return,
                    _ = ticks.tick() => outlet.log(&sample()),
                }
            }
        }));
        Ok(self)
    }

    /// Records every channel, from now on, to the MCAP file `path` (made anew; an existing
    /// file is an error). [`close`](Self::close) finishes it.
    ///
    /// # Errors
    /// [`BridgeError::Record`] if the file cannot be made; [`BridgeError::AlreadyStarted`] if
    /// the bridge already records.
    pub fn record(&mut self, path: impl AsRef<Path>) -> Result<&mut Self, BridgeError> {
        if self.recording.is_some() {
            return Err(BridgeError::AlreadyStarted("records"));
        }
        let path = path.as_ref().to_path_buf();
        let writer = self
            .context
            .mcap_writer()
            .create_new_buffered_file(&path)
            .map_err(|source| BridgeError::Record {
                path: path.clone(),
                source,
            })?;
        self.recording = Some((path, writer));
        Ok(self)
    }

    /// Serves every channel live to the Foxglove app on `addr` (Foxglove's WebSocket protocol;
    /// in the app: *Open connection*, *Foxglove WebSocket*, `ws://HOST:PORT`). Port 0 picks a
    /// free port; the address it listens on is returned. Listen on loopback unless the robot's
    /// network is trusted: anyone who reaches the port sees every channel.
    ///
    /// # Errors
    /// [`BridgeError::Serve`] if it cannot listen there; [`BridgeError::AlreadyStarted`] if the
    /// bridge already serves.
    pub async fn serve(&mut self, addr: SocketAddr) -> Result<SocketAddr, BridgeError> {
        if self.live.is_some() {
            return Err(BridgeError::AlreadyStarted("serves"));
        }
        let handle = self
            .context
            .websocket_server()
            .name("compaktor")
            .bind(addr.ip().to_string(), addr.port())
            .start()
            .await
            .map_err(|source| BridgeError::Serve { addr, source })?;
        let bound = SocketAddr::new(addr.ip(), handle.port());
        self.live = Some(handle);
        Ok(bound)
    }

    /// The port the live server listens on, if it serves.
    pub fn live_port(&self) -> Option<u16> {
        self.live.as_ref().map(WebSocketServerHandle::port)
    }

    /// Every channel so far and how many messages it carried.
    pub fn channels(&self) -> Vec<ChannelCount> {
        self.channels.iter().map(|c| c.count()).collect()
    }

    /// Ends the bridge: every value already published on a bridged topic goes to the sinks,
    /// the channels' tasks end, the recording is finished and the live server stops.
    ///
    /// # Errors
    /// [`BridgeError::Record`] if the recording could not be finished (its messages may be
    /// lost).
    pub async fn close(mut self) -> Result<BridgeReport, BridgeError> {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(error = %e, "a Foxglove channel's task panicked");
            }
        }
        let channels = self.channels();
        let recording = match self.recording.take() {
            Some((path, writer)) => {
                writer.close().map_err(|source| BridgeError::Record {
                    path: path.clone(),
                    source,
                })?;
                Some(path)
            }
            None => None,
        };
        if let Some(live) = self.live.take() {
            live.stop().wait().await;
        }
        // The program's log lines stop coming here (they did until the recording was closed).
        self.log_slot = None;
        Ok(BridgeReport {
            channels,
            recording,
        })
    }

    /// Whether the bridge has a channel of that name.
    pub(crate) fn has_channel(&self, channel: &str) -> bool {
        self.channels.iter().any(|c| c.raw.topic() == channel)
    }

    pub(crate) fn outlet<M: Encode>(&mut self, channel: &str) -> Result<Arc<Outlet>, BridgeError> {
        if self.has_channel(channel) {
            return Err(BridgeError::ChannelTaken(channel.to_owned()));
        }
        let raw = self
            .context
            .channel_builder(channel)
            .schema(M::get_schema())
            .message_encoding(M::get_message_encoding())
            .build_raw()
            .map_err(|source| BridgeError::Channel {
                channel: channel.to_owned(),
                source,
            })?;
        let outlet = Arc::new(Outlet {
            raw,
            clock: self.clock,
            messages: AtomicU64::new(0),
            encode_errors: AtomicU64::new(0),
        });
        self.channels.push(Arc::clone(&outlet));
        Ok(outlet)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The channel name for a topic: Foxglove's topics start with `/`.
pub(crate) fn channel_name(topic: &str) -> String {
    if topic.starts_with('/') {
        topic.to_owned()
    } else {
        format!("/{topic}")
    }
}

/// One channel and its counts.
pub(crate) struct Outlet {
    raw: Arc<RawChannel>,
    clock: RobotClock,
    messages: AtomicU64,
    encode_errors: AtomicU64,
}

impl Outlet {
    /// Whether a sink (a recording, a live client subscribed) wants this channel.
    pub(crate) fn has_sinks(&self) -> bool {
        self.raw.has_sinks()
    }

    /// Encodes `message` and hands it to the sinks, stamped now; nothing while there is no sink.
    pub(crate) fn log<M: Encode>(&self, message: &M) {
        if !self.raw.has_sinks() {
            return;
        }
        let mut buf = Vec::with_capacity(message.encoded_len().unwrap_or(128));
        match message.encode(&mut buf) {
            Ok(()) => {
                self.raw
                    .log_with_meta(&buf, PartialMetadata::with_log_time(self.clock.now_nanos()));
                self.messages.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.encode_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = self.raw.topic(), error = %e, "cannot encode a message for Foxglove; it is left out");
            }
        }
    }

    fn count(&self) -> ChannelCount {
        ChannelCount {
            channel: self.raw.topic().to_owned(),
            messages: self.messages.load(Ordering::Relaxed),
            encode_errors: self.encode_errors.load(Ordering::Relaxed),
        }
    }
}
