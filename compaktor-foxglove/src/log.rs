//! Log lines as a Foxglove channel: [`Bridge::log`] makes [`LOG_CHANNEL`] (Foxglove's
//! well-known `foxglove.Log`, which its Log panel shows and filters by level) and returns a
//! [`LogLayer`], a `tracing_subscriber` layer that puts every `tracing` event on it;
//! [`Bridge::log_to`] puts that layer in the program's logging (a robot program's
//! `compaktor_pi::firmware::LogSlot`).

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use foxglove::messages::Log;
use foxglove::messages::log::Level as FoxgloveLevel;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use compaktor_pi::firmware::LogSlot;

use crate::bridge::Outlet;
use crate::{Bridge, BridgeError, RobotClock};

/// The channel of the log lines.
pub const LOG_CHANNEL: &str = "/log";

/// A `tracing_subscriber` [`Layer`] that puts each event on the bridge's [`LOG_CHANNEL`] as a
/// `foxglove.Log`: its level, its message and fields (`message key=value ...`, as the `fmt`
/// layer writes them), its target as the log's name, its file and line, stamped with the
/// bridge's [`RobotClock`]. Made by [`Bridge::log`]; add it next to the program's other
/// layers (and a filter, for the levels it should carry).
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use compaktor_foxglove::{Bridge, LOG_CHANNEL};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut bridge = Bridge::new();
/// let subscriber = tracing_subscriber::registry().with(bridge.log()?);
/// # let run = std::env::temp_dir().join(format!("compaktor-foxglove-{}-log.mcap", std::process::id()));
/// # let _ = std::fs::remove_file(&run);
/// bridge.record(&run)?;
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(volts = 10.9, "battery low");
/// });
/// let report = bridge.close().await?;
/// assert_eq!(report.channel(LOG_CHANNEL).unwrap().messages, 1);
/// # std::fs::remove_file(run)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LogLayer {
    outlet: Arc<Outlet>,
    clock: RobotClock,
}

impl fmt::Debug for LogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogLayer")
            .field("channel", &LOG_CHANNEL)
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// Makes the channel [`LOG_CHANNEL`] and the [`LogLayer`] that feeds it from `tracing`.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    pub fn log(&mut self) -> Result<LogLayer, BridgeError> {
        Ok(LogLayer {
            outlet: self.outlet::<Log>(LOG_CHANNEL)?,
            clock: self.clock(),
        })
    }

    /// Puts the program's log lines on [`LOG_CHANNEL`]: the [`LogLayer`] goes into `slot`,
    /// the place [`init_logging`](compaktor_pi::firmware::init_logging) left in the program's
    /// logging, and stays there until the bridge is closed (or dropped). It gets the events
    /// the console shows, at the console's level, from every thread. [`FoxgloveArgs::start`]
    /// does this when the program's logging came from `init_logging`.
    ///
    /// The slot holds one layer: of two bridges that do this, the later one gets the lines.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has the channel;
    /// [`BridgeError::Log`] if the slot cannot take the layer.
    ///
    /// [`FoxgloveArgs::start`]: crate::FoxgloveArgs::start
    pub fn log_to(&mut self, slot: &LogSlot) -> Result<&mut Self, BridgeError> {
        let layer = self.log()?;
        self.log_slot = Some(slot.fill(layer).map_err(BridgeError::Log)?);
        Ok(self)
    }
}

thread_local! {
    /// Set while this thread hands a log line to the sinks: an event the sinks log themselves
    /// then is not fed back into them.
    static LOGGING: Cell<bool> = const { Cell::new(false) };
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if LOGGING.with(Cell::get) || !self.outlet.has_sinks() {
            return;
        }
        LOGGING.with(|l| l.set(true));
        let meta = event.metadata();
        let mut text = Text::default();
        event.record(&mut text);
        let log = Log {
            timestamp: Some(crate::clock::timestamp(self.clock.now_nanos())),
            level: level(*meta.level()) as i32,
            message: text.0,
            name: meta.target().to_owned(),
            file: meta.file().unwrap_or_default().to_owned(),
            line: meta.line().unwrap_or(0),
        };
        self.outlet.log(&log);
        LOGGING.with(|l| l.set(false));
    }
}

/// Foxglove's level for a `tracing` level (Foxglove has no trace: it is debug there).
fn level(level: Level) -> FoxgloveLevel {
    match level {
        Level::ERROR => FoxgloveLevel::Error,
        Level::WARN => FoxgloveLevel::Warning,
        Level::INFO => FoxgloveLevel::Info,
        Level::DEBUG | Level::TRACE => FoxgloveLevel::Debug,
    }
}

/// An event's message, then its fields as `key=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let gap = if self.0.is_empty() { "" } else { " " };
        let _ = match field.name() {
            "message" if self.0.is_empty() => write!(self.0, "{value:?}"),
            "message" => {
                // The message first, whatever order the fields came in.
                self.0 = format!("{value:?} {}", self.0);
                Ok(())
            }
            name => write!(self.0, "{gap}{name}={value:?}"),
        };
    }
}
