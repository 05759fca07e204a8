//! The firmware runner the robot programs share: their command line ([`FirmwareArgs`], with
//! clap), logging at `info` by default (with a [`LogSlot`] for a layer added later), errors
//! printed as one line ([`exit`]), waiting for the run's end or a signal ([`run_until`]), stopping safely ([`stop_robot`]: the E-stop first,
//! as the system's shutdown step, then the actors in reverse start order) and systemd's service
//! notifications and watchdog ([`Service`]). Signals and runtimes live in [`crate::robot`].
//!
//! ```no_run
//! use clap::Parser;
//! use compaktor_pi::firmware::{self, FirmwareArgs};
//!
//! /// My robot: drives around.
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     firmware: FirmwareArgs,
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let cli = Cli::parse(); // `--help` explains `--robot`, `--seed` and `--duration`
//!     firmware::exit(|| {
//!         let robot = cli.firmware.robot_config(compaktor_pi::config::STARTER_ROBOT)?;
//!         println!("{} runs for {:?}", robot.name, cli.firmware.run_for(robot.backend));
//!         Ok(())
//!     })
//! }
//! ```

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use compaktor::{ActorSystem, StopReason};
use tracing_subscriber::Registry;

use crate::config::{BackendKind, ConfigError, RobotConfig};
use crate::robot::shutdown_signal;
use crate::safety::{EStop, EStopReport};

/// How long a simulated run lasts unless `--duration` says otherwise.
pub const SIMULATED_RUN: Duration = Duration::from_secs(60);

/// The command-line options every robot program takes. Flatten it into the program's own
/// `clap::Parser` (`#[command(flatten)]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, clap::Args)]
pub struct FirmwareArgs {
    /// The robot file (TOML) describing the backend and the wiring [default: the program's own
    /// robot, simulated]
    #[arg(long, value_name = "FILE")]
    pub robot: Option<PathBuf>,
    /// Seed of the simulated world and of the program's random choices
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// How long to run, as `90s`, `2m`, `1500ms` or plain seconds; in simulation this is robot
    /// time [default: 60s in simulation, until Ctrl-C or SIGTERM on hardware]
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

impl FirmwareArgs {
    /// The robot file named by `--robot`, or `default` (a robot file's text) without it; read
    /// and validated before any pin is touched.
    ///
    /// # Errors
    /// [`ConfigError`] if the file cannot be read or describes an impossible robot.
    pub fn robot_config(&self, default: &str) -> Result<RobotConfig, ConfigError> {
        match &self.robot {
            Some(path) => RobotConfig::load(path),
            None => RobotConfig::from_toml(default),
        }
    }

    /// How long to run on `backend`: `--duration`, else [`SIMULATED_RUN`] in simulation and
    /// until a signal (`None`) on hardware.
    pub fn run_for(&self, backend: BackendKind) -> Option<Duration> {
        match (self.duration, backend) {
            (Some(d), _) => Some(d),
            (None, BackendKind::Sim) => Some(SIMULATED_RUN),
            (None, _) => None,
        }
    }
}

/// A `--duration` that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a duration; write it as `90s`, `2m`, `1500ms`, `1h` or plain seconds")]
pub struct DurationError(pub String);

/// Reads a duration: a whole number with an optional unit, `ms`, `s`, `m` or `h` (seconds
/// without one).
///
/// ```
/// use std::time::Duration;
/// use compaktor_pi::firmware::parse_duration;
///
/// assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("soon").is_err());
/// ```
///
/// # Errors
/// [`DurationError`] for anything else (a fraction, a negative number, an unknown unit).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let wrong = || DurationError(text.to_owned());
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| wrong())?;
    let per_unit = match unit.trim() {
        "ms" => Duration::from_millis(1),
        "" | "s" => Duration::from_secs(1),
        "m" | "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return Err(wrong()),
    };
    per_unit
        .checked_mul(u32::try_from(n).map_err(|_| wrong())?)
        .ok_or_else(wrong)
}

/// Logs to stderr at `info` level (E-stop and watchdog warnings show), unless `RUST_LOG` says
/// otherwise. Call it once, first thing in `main`; a second call does nothing.
///
/// It also leaves a [`LogSlot`] ([`log_slot`]) where a layer can be put later, when the
/// program knows where else its log lines should go (a Foxglove recording made after the
/// command line is read): that layer gets the events the console shows, at the same level.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (slot, handle) = tracing_subscriber::reload::Layer::new(None::<SlotLayer>);
    // The filter is a layer of the whole stack, not of the console alone: it decides for the
    // slot too, so the slot's layer gets what the console shows.
    let installed = tracing_subscriber::registry()
        .with(slot)
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
    if installed.is_ok() {
        let _ = LOG_SLOT.set(LogSlot {
            handle,
            generation: Arc::new(AtomicU64::new(0)),
        });
    }
}

/// The slot [`init_logging`] left in the program's logging, if it set the logging up (a
/// program or test that installed its own subscriber has none).
pub fn log_slot() -> Option<LogSlot> {
    LOG_SLOT.get().cloned()
}

/// The handle to the slot in the global subscriber: set once, by the `init_logging` that
/// installed it.
static LOG_SLOT: OnceLock<LogSlot> = OnceLock::new();

/// What a [`LogSlot`] holds: any `tracing_subscriber` layer over the registry.
pub type SlotLayer = Box<dyn tracing_subscriber::Layer<Registry> + Send + Sync>;

/// A place in the logging [`init_logging`] set up where one more layer can be put while the
/// program runs (a `tracing_subscriber::reload` layer, empty at start): the layer sees every
/// event the console shows, at the same level, from any thread. `compaktor-foxglove` puts its
/// log channel there, so a recorded or live run carries its log lines.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use compaktor_pi::firmware;
///
/// /// Counts the events it sees.
/// struct Count(Arc<AtomicUsize>);
/// impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
///     fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// firmware::init_logging(); // `info` unless RUST_LOG says otherwise
/// let slot = firmware::log_slot().expect("init_logging installed the logging");
/// let seen = Arc::new(AtomicUsize::new(0));
/// let guard = slot.fill(Count(seen.clone()))?;
/// tracing::warn!("shown on stderr and counted");
/// tracing::debug!("below the console's level: neither");
/// assert_eq!(seen.load(Ordering::Relaxed), 1);
/// drop(guard); // the slot is empty again
/// tracing::warn!("shown on stderr only");
/// assert_eq!(seen.load(Ordering::Relaxed), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LogSlot {
    handle: tracing_subscriber::reload::Handle<Option<SlotLayer>, Registry>,
    /// Which [`fill`](Self::fill) the slot holds, changed only under the reload's lock.
    generation: Arc<AtomicU64>,
}

impl fmt::Debug for LogSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSlot")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl LogSlot {
    /// Puts `layer` in the slot, in place of what it held; it stays there until the guard
    /// is dropped (then the slot is empty, unless another `fill` has replaced it since).
    ///
    /// # Errors
    /// The reload's error if the subscriber is gone or its lock was poisoned.
    pub fn fill(
        &self,
        layer: impl tracing_subscriber::Layer<Registry> + Send + Sync + 'static,
    ) -> Result<LogSlotGuard, tracing_subscriber::reload::Error> {
        let mut generation = 0;
        self.handle.modify(|slot| {
            generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
            *slot = Some(Box::new(layer));
        })?;
        Ok(LogSlotGuard {
            slot: self.clone(),
            generation,
        })
    }
}

/// Keeps a layer in its [`LogSlot`]; dropping it empties the slot.
#[derive(Debug)]
#[must_use = "the layer leaves the slot when the guard is dropped"]
pub struct LogSlotGuard {
    slot: LogSlot,
    generation: u64,
}

impl Drop for LogSlotGuard {
    fn drop(&mut self) {
        let _ = self.slot.handle.modify(|slot| {
            if self.slot.generation.load(Ordering::Relaxed) == self.generation {
                *slot = None;
            }
        });
    }
}

/// The one-line message of an error and its sources, each added unless the message already
/// says it: `cannot read the robot file robot.toml: No such file or directory (os error 2)`.
pub fn one_line(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        source = cause.source();
    }
    line
}

/// Runs a program's body after [`init_logging`]: an error is printed to stderr as one line
/// (`error: …`, not its `Debug` form) and the exit code is 1.
pub fn exit(body: impl FnOnce() -> Result<(), Box<dyn Error>>) -> ExitCode {
    init_logging();
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Its `--duration` was over.
    TimeUp,
    /// Ctrl-C (SIGINT) or SIGTERM (`systemctl stop`).
    Signal,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ending::TimeUp => "the run time is over",
            Ending::Signal => "Ctrl-C or SIGTERM",
        })
    }
}

/// Waits until `run_for` has passed (forever when `None`) or a Ctrl-C / SIGTERM comes.
pub async fn run_until(run_for: Option<Duration>) -> Ending {
    let time_up = async {
        match run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = time_up => Ending::TimeUp,
        () = shutdown_signal() => Ending::Signal,
    }
}

/// How a robot was stopped by [`stop_robot`].
#[derive(Debug, Clone)]
pub struct Stopped {
    /// The E-stop that cut every actuator first; `None` only if pulling it panicked (an
    /// actuator's safe-state action panicked; logged at error level).
    pub estop: Option<EStopReport>,
    /// Every top-level actor and why it stopped, in the order they stopped (the last started
    /// first).
    pub actors: Vec<(String, StopReason)>,
}

/// Stops a robot safely with the runtime's [`ActorSystem::shutdown`]: its first step is the
/// E-stop ([`ActorSystem::on_shutdown`]), so every actuator is in its safe state at once
/// (motors at duty 0, servos released), straight on the hardware, before any actor is told
/// to stop; then the actors stop in reverse start order, and whatever has not stopped within
/// `deadline` is killed.
pub async fn stop_robot(
    system: &ActorSystem,
    estop: &EStop,
    why: &str,
    deadline: Duration,
) -> Stopped {
    let report = Arc::new(Mutex::new(None));
    let (estop, reason, pulled) = (estop.clone(), format!("stopping: {why}"), report.clone());
    system.on_shutdown("E-stop", move || {
        let report = estop.trigger(&reason);
        *crate::lock(&pulled) = Some(report);
    });
    let shutdown = system.shutdown(deadline).await;
    let estop = crate::lock(&report).take();
    Stopped {
        estop,
        actors: shutdown
            .ended
            .into_iter()
            .map(|(actor, reason)| (actor.to_string(), reason))
            .collect(),
    }
}

/// What a program tells its service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Started: the robot's actors run (`READY=1`).
    Ready,
    /// Alive: the runtime runs and no actor is stuck in a handler (`WATCHDOG=1`).
    Watchdog,
    /// Stopping (`STOPPING=1`).
    Stopping,
}

type Sink = Arc<dyn Fn(Notice) + Send + Sync>;

/// systemd's service notifications (`sd_notify`, through the `sd-notify` crate) and its
/// watchdog. Outside systemd (`NOTIFY_SOCKET` unset) every notice goes nowhere.
///
/// With `WatchdogSec=` in the unit, [`spawn_watchdog`](Self::spawn_watchdog) pings from the
/// runtime at half the interval, and only while no actor has been stuck in one handler for
/// that long: a blocked runtime or a hung actor stops the pings, systemd kills the process and
/// runs the unit's `ExecStopPost` safe-off (`deploy/compaktor-robot.service`).
#[derive(Clone)]
pub struct Service {
    sink: Sink,
    watchdog: Option<Duration>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("watchdog", &self.watchdog)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// The service manager this process runs under, from the environment systemd sets
    /// (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`).
    pub fn from_env() -> Self {
        let mut usec = 0;
        let watchdog = sd_notify::watchdog_enabled(false, &mut usec)
            .then(|| Duration::from_micros(usec))
            .filter(|d| !d.is_zero());
        Service::with_sink(watchdog, |notice| {
            let state = match notice {
                Notice::Ready => sd_notify::NotifyState::Ready,
                Notice::Watchdog => sd_notify::NotifyState::Watchdog,
                Notice::Stopping => sd_notify::NotifyState::Stopping,
            };
            if let Err(e) = sd_notify::notify(false, &[state]) {
                tracing::warn!(error = %e, ?notice, "cannot notify systemd");
            }
        })
    }

    /// A service whose notices go to `sink`, with a watchdog of `watchdog` (tests, or another
    /// supervisor).
    pub fn with_sink(
        watchdog: Option<Duration>,
        sink: impl Fn(Notice) + Send + Sync + 'static,
    ) -> Self {
        Service {
            sink: Arc::new(sink),
            watchdog,
        }
    }

    /// The watchdog interval systemd asked for, if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Tells systemd the program has started (`Type=notify` units wait for it).
    pub fn ready(&self) {
        (self.sink)(Notice::Ready);
    }

    /// Tells systemd the program is stopping.
    pub fn stopping(&self) {
        (self.sink)(Notice::Stopping);
    }

    /// Pings the watchdog from the runtime every half interval while no actor of `system` has
    /// been in one handler for half the interval or longer; `None` without a watchdog. The
    /// task ends when the returned handle is dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn_watchdog(&self, system: &ActorSystem) -> Option<WatchdogTask> {
        let interval = self.watchdog? / 2;
        let (sink, system) = (self.sink.clone(), system.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut stuck_before = false;
            loop {
                tick.tick().await;
                let stuck = system
                    .health()
                    .into_iter()
                    .find(|a| a.in_handler_for.is_some_and(|d| d >= interval));
                match stuck {
                    None => {
                        stuck_before = false;
                        sink(Notice::Watchdog);
                    }
                    Some(actor) => {
                        if !stuck_before {
                            tracing::warn!(actor = %actor.actor, path = %actor.path, stuck_for = ?actor.in_handler_for, "stuck in a handler: no more watchdog pings, systemd will restart the firmware");
                        }
                        stuck_before = true;
                    }
                }
            }
        });
        Some(WatchdogTask(task))
    }
}

/// The watchdog's pinging task; dropping it stops the pings.
#[derive(Debug)]
pub struct WatchdogTask(tokio::task::JoinHandle<()>);

impl Drop for WatchdogTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(name = "robot", about = "A robot program")]
    struct Cli {
        #[command(flatten)]
        firmware: FirmwareArgs,
    }

    #[test]
    fn the_options_parse_and_default() {
        let cli = Cli::try_parse_from(["robot"]).unwrap();
        assert_eq!(
            cli.firmware,
            FirmwareArgs {
                seed: 1,
                ..FirmwareArgs::default()
            }
        );
        assert_eq!(cli.firmware.run_for(BackendKind::Sim), Some(SIMULATED_RUN));
        assert_eq!(cli.firmware.run_for(BackendKind::Rppal), None);
        let cli = Cli::try_parse_from([
            "robot",
            "--robot",
            "r.toml",
            "--seed",
            "7",
            "--duration",
            "2m",
        ])
        .unwrap();
        assert_eq!(cli.firmware.robot, Some(PathBuf::from("r.toml")));
        assert_eq!(cli.firmware.seed, 7);
        assert_eq!(
            cli.firmware.run_for(BackendKind::Rppal),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn help_explains_every_option() {
        let err = Cli::try_parse_from(["robot", "--help"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = err.to_string();
        for expected in [
            "--robot <FILE>",
            "--seed <N>",
            "--duration <TIME>",
            "robot file",
            "SIGTERM",
        ] {
            assert!(help.contains(expected), "{expected} missing from:\n{help}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_way_to_write_them() {
        let err = Cli::try_parse_from(["robot", "--duration", "soon"]).unwrap_err();
        assert!(err.to_string().contains("write it as `90s`"), "{err}");
        assert!(Cli::try_parse_from(["robot", "--seed", "-1"]).is_err());
        assert!(Cli::try_parse_from(["robot", "--sped", "1"]).is_err());
        for bad in ["", "1.5s", "-3", "3 parsecs", "99999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_print_as_one_line_with_their_causes() {
        let err = RobotConfig::load("/nonexistent/robot.toml").unwrap_err();
        let line = one_line(&err);
        assert!(
            line.starts_with("cannot read the robot file /nonexistent/robot.toml: "),
            "{line}"
        );
        assert_eq!(line.matches("No such file").count(), 1, "{line}");
        assert!(!line.contains('\n') && !line.contains("Read {"), "{line}");
    }
}
