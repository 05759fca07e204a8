//! The time stamped on every message: [`RobotClock`], wall-clock time that advances with
//! tokio's clock, so a simulated run on the paused clock is recorded in robot time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The clock a [`Bridge`](crate::Bridge) stamps messages with: the wall-clock time when it was
/// made, plus the time tokio's clock has advanced since.
///
/// On a robot the two agree. In a simulation on tokio's paused clock a minute of robot time
/// passes in about a second, and the recording still shows a minute: Foxglove replays the run
/// at the speed the robot lived it.
///
/// ```
/// use std::time::Duration;
/// use compaktor_foxglove::RobotClock;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let clock = RobotClock::new();
/// let start = clock.now_nanos();
/// tokio::time::sleep(Duration::from_secs(10)).await; // no time passes on the paused clock
/// assert_eq!(clock.now_nanos() - start, 10_000_000_000);
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RobotClock {
    /// Nanoseconds since the Unix epoch when the clock was made.
    wall: u64,
    /// Tokio's clock then.
    tokio: Instant,
}

impl RobotClock {
    /// A clock starting at the wall-clock time now.
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        RobotClock {
            wall: nanos(wall),
            tokio: Instant::now(),
        }
    }

    /// Nanoseconds since the Unix epoch, now.
    pub fn now_nanos(&self) -> u64 {
        self.at_nanos(Instant::now())
    }

    /// Nanoseconds since the Unix epoch at `instant` on tokio's clock (a sensor reading's
    /// time). An instant before the clock was made counts as its start.
    pub fn at_nanos(&self, instant: Instant) -> u64 {
        self.wall
            .saturating_add(nanos(instant.saturating_duration_since(self.tokio)))
    }

    /// [`at_nanos`](Self::at_nanos) as a Foxglove timestamp.
    pub fn timestamp(&self, instant: Instant) -> foxglove::messages::Timestamp {
        timestamp(self.at_nanos(instant))
    }
}

impl Default for RobotClock {
    fn default() -> Self {
        RobotClock::new()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Nanoseconds since the epoch as a Foxglove timestamp (saturating past 2106).
pub(crate) fn timestamp(nanos: u64) -> foxglove::messages::Timestamp {
    let sec = u32::try_from(nanos / 1_000_000_000).unwrap_or(u32::MAX);
    // Below 1e9: fits.
    let nsec = (nanos % 1_000_000_000) as u32;
    foxglove::messages::Timestamp::new(sec, nsec)
}
