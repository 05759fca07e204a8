//! The command-line options of a robot program that shows itself in Foxglove:
//! [`FoxgloveArgs`], flattened next to `compaktor_pi::firmware::FirmwareArgs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::{Bridge, BridgeError};

/// Where the live server listens when `--foxglove` is given without an address: loopback, on
/// Foxglove's usual port.
pub const DEFAULT_LIVE_ADDR: &str = "127.0.0.1:8765";

/// `--record FILE` and `--foxglove [ADDR]`. Flatten it into the program's own `clap::Parser`
/// next to `FirmwareArgs` (`#[command(flatten)]`); it lives here, not in `FirmwareArgs`,
/// because `compaktor-pi` does not depend on the Foxglove SDK.
///
/// ```
/// use clap::Parser;
/// use compaktor_foxglove::FoxgloveArgs;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     foxglove: FoxgloveArgs,
/// }
///
/// let cli = Cli::parse_from(["robot", "--record", "run.mcap", "--foxglove"]);
/// assert_eq!(cli.foxglove.record.as_deref(), Some("run.mcap".as_ref()));
/// assert_eq!(cli.foxglove.foxglove, Some("127.0.0.1:8765".parse().unwrap()));
/// assert!(Cli::parse_from(["robot"]).foxglove.is_off());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, clap::Args)]
pub struct FoxgloveArgs {
    /// Record every channel (sensors, motors, health, dead letters; in simulation the true
    /// pose and the arena) to this MCAP file, for replay in Foxglove
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Serve the channels live to the Foxglove app over a WebSocket on ADDR [default:
    /// 127.0.0.1:8765; port 0 picks a free one]
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = DEFAULT_LIVE_ADDR
    )]
    pub foxglove: Option<SocketAddr>,
}

impl FoxgloveArgs {
    /// Whether neither option was given (the program needs no bridge).
    pub fn is_off(&self) -> bool {
        self.record.is_none() && self.foxglove.is_none()
    }

    /// Starts what the options ask for on `bridge`: the recording, then the live server.
    /// Returns the address the live server listens on, if it serves. If the program's
    /// logging came from `compaktor_pi::firmware::init_logging` (it does in
    /// `firmware::exit`), its log lines go on [`LOG_CHANNEL`](crate::LOG_CHANNEL) too
    /// ([`Bridge::log_to`]), unless the bridge already has that channel.
    ///
    /// # Errors
    /// [`BridgeError::Record`] if the file cannot be made (it must not exist yet),
    /// [`BridgeError::Serve`] if the address cannot be listened on, [`BridgeError::Log`] if
    /// the logging cannot take the log layer.
    pub async fn start(&self, bridge: &mut Bridge) -> Result<Option<SocketAddr>, BridgeError> {
        if let Some(path) = &self.record {
            bridge.record(path)?;
        }
        if !self.is_off()
            && bridge.log_slot.is_none()
            && !bridge.has_channel(crate::LOG_CHANNEL)
            && let Some(slot) = compaktor_pi::firmware::log_slot()
        {
            bridge.log_to(&slot)?;
        }
        match self.foxglove {
            Some(addr) => bridge.serve(addr).await.map(Some),
            None => Ok(None),
        }
    }
}
