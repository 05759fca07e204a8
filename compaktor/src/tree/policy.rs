//! How a parent looks after its children, as data: [`Supervision`] (the strategy, the restart
//! limit and the backoff), [`RestartPolicy`] per child, and the [`RestartInfo`] a restarted
//! instance is handed. The bookkeeping that acts on them lives in `tree::node`; spawning a child
//! lives in `child`.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::StopReason;

/// Which children restart when one of them fails (Erlang/OTP's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Only the failed child restarts. The default.
    #[default]
    OneForOne,
    /// Every child restarts: the others are stopped in reverse start order, then all start again
    /// in start order. For children that only work together.
    OneForAll,
    /// The failed child and every child started after it restart (later children depend on
    /// earlier ones: a motor on the bus it drives).
    RestForOne,
}

/// When one child is restarted (Erlang/OTP's names).
///
/// A stop from outside (its ref's [`stop`](crate::ActorRef::stop) or
/// [`kill`](crate::ActorRef::kill), its parent stopping, [`ActorSystem::shutdown`]) is final for
/// every policy.
///
/// [`ActorSystem::shutdown`]: crate::ActorSystem::shutdown
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RestartPolicy {
    /// Always restarted: after a failure and after it stopped itself
    /// ([`Context::stop`](crate::Context::stop)). The default.
    #[default]
    Permanent,
    /// Restarted only after a failure (a panic, a failed start, an `Err` its failure hook sent
    /// on); stopping itself ends it.
    Transient,
    /// Never restarted.
    Temporary,
}

/// The wait between a failure and the restart: `min`, doubled for each restart already in the
/// current window, at most `max`, spread by ±`jitter` (a fraction) so that robots restarting
/// together do not hammer a shared bus in step.
///
/// ```
/// use compaktor::Backoff;
/// use std::time::Duration;
///
/// let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(2));
/// assert_eq!(backoff.delay(0), Duration::from_millis(100));
/// assert_eq!(backoff.delay(3), Duration::from_millis(800));
/// assert_eq!(backoff.delay(10), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    jitter: f64,
}

impl Backoff {
    /// Exponential backoff from `min` to `max`, without jitter.
    pub fn exponential(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            jitter: 0.0,
        }
    }

    /// Spreads each delay by up to ±`fraction` of it (clamped to `0.0..=1.0`).
    pub fn jitter(mut self, fraction: f64) -> Self {
        // NaN (not a fraction) means no jitter.
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// The delay before a restart when `recent` restarts already happened in the window,
    /// without jitter.
    pub fn delay(&self, recent: u32) -> Duration {
        let factor = 1u32.checked_shl(recent.min(31)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// [`delay`](Self::delay) with the jitter applied.
    pub(crate) fn jittered(&self, recent: u32) -> Duration {
        let delay = self.delay(recent);
        if self.jitter == 0.0 {
            return delay;
        }
        // A random number from the standard library's hasher keys: no RNG dependency for this.
        let unit = (RandomState::new().hash_one(recent) >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        // Cannot overflow past `delay * 2`, but a huge `max` could: keep the plain delay then.
        Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(delay)
    }
}

/// How an actor supervises its children: a [`Strategy`], a restart limit, and an optional
/// [`Backoff`]. Set it with [`Context::supervise`](crate::Context::supervise); without that, a
/// parent supervises one-for-one, at most 3 restarts in 5 seconds, without backoff.
///
/// Past the limit (more than `max_restarts` restarts within `within`), the supervisor stops the
/// failing child and fails itself with [`StopReason::Escalated`], which its own parent then
/// handles.
///
/// ```
/// use compaktor::{Backoff, Strategy, Supervision};
/// use std::time::Duration;
///
/// let supervision = Supervision::one_for_all()
///     .max_restarts(5, Duration::from_secs(10))
///     .backoff(Backoff::exponential(Duration::from_millis(50), Duration::from_secs(1)).jitter(0.2));
/// assert_eq!(supervision.strategy(), Strategy::OneForAll);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Supervision {
    strategy: Strategy,
    max_restarts: u32,
    within: Duration,
    backoff: Option<Backoff>,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision::new(Strategy::OneForOne)
    }
}

impl Supervision {
    /// A strategy with the default limit (3 restarts in 5 s) and no backoff.
    pub fn new(strategy: Strategy) -> Self {
        Supervision {
            strategy,
            max_restarts: 3,
            within: Duration::from_secs(5),
            backoff: None,
        }
    }

    /// [`Strategy::OneForOne`].
    pub fn one_for_one() -> Self {
        Supervision::new(Strategy::OneForOne)
    }

    /// [`Strategy::OneForAll`].
    pub fn one_for_all() -> Self {
        Supervision::new(Strategy::OneForAll)
    }

    /// [`Strategy::RestForOne`].
    pub fn rest_for_one() -> Self {
        Supervision::new(Strategy::RestForOne)
    }

    /// At most `restarts` restarts within `within`; one more fails the supervisor.
    pub fn max_restarts(mut self, restarts: u32, within: Duration) -> Self {
        self.max_restarts = restarts;
        self.within = within;
        self
    }

    /// Waits between a failure and its restart.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    pub(crate) fn limit(&self) -> (u32, Duration) {
        (self.max_restarts, self.within)
    }

    pub(crate) fn delay(&self, recent: u32) -> Duration {
        self.backoff
            .map_or(Duration::ZERO, |backoff| backoff.jittered(recent))
    }
}

/// Handed to an `#[on_restart]` hook: the instance is new, made by its factory after the
/// previous one ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestartInfo {
    /// Why the previous instance ended.
    pub reason: StopReason,
    /// How many times this actor has been restarted, this restart included.
    pub count: u32,
}
