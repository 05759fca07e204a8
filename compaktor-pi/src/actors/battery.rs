//! The battery actor (an INA219 over I2C): reads voltage and current at a set rate on tokio's
//! blocking pool, publishes each reading, and applies the low-battery policy: a warning at one
//! voltage, the robot's safe state (the E-stop, as a button would pull it) at a lower one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;

use super::{own_topic, publish};
use crate::config::BatteryConfig;
use crate::device::{DeviceError, PowerMonitor};
use crate::lock;
use crate::safety::EStop;

/// How the battery is watched, and when it is low.
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryPolicy {
    /// For logs and the E-stop's reason.
    pub name: String,
    /// How often it is read.
    pub period: Duration,
    /// Below this many volts the battery is [`BatteryLevel::Low`]: a warning.
    pub warn_below: f32,
    /// Below this many volts it is [`BatteryLevel::Critical`]: the E-stop puts the robot in its
    /// safe state.
    pub safe_below: f32,
    /// How many readings in a row must be below a threshold before it counts (a motor
    /// starting makes the voltage sag for a moment; default 3).
    pub confirm: u32,
}

impl BatteryPolicy {
    /// The policy of a robot file's `[battery]`: its period and thresholds, confirmed over
    /// three readings.
    pub fn from_config(config: &BatteryConfig) -> Self {
        BatteryPolicy {
            name: "battery".into(),
            period: Duration::from_millis(config.period_ms),
            warn_below: config.warn_below,
            safe_below: config.safe_below,
            confirm: 3,
        }
    }
}

/// How full the battery is, by the policy's thresholds. It only gets worse while the actor
/// runs: a voltage that recovers once the motors stop does not make a flat battery good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BatteryLevel {
    /// Above the warning voltage.
    Ok,
    /// Below the warning voltage: time to head home.
    Low,
    /// Below the safe-state voltage: the E-stop has been pulled.
    Critical,
}

/// One reading, as published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryReading {
    /// The battery's voltage, V.
    pub voltage: f32,
    /// The current drawn, A.
    pub current: f32,
    /// The level after this reading.
    pub level: BatteryLevel,
}

/// A battery monitor as an actor: voltage and current on the topic `<path>/readings`, and the
/// low-battery policy.
///
/// Below [`BatteryPolicy::warn_below`] for [`confirm`](BatteryPolicy::confirm) readings in a
/// row it logs a warning and publishes [`BatteryLevel::Low`]; below
/// [`BatteryPolicy::safe_below`] it logs an error, publishes [`BatteryLevel::Critical`] and
/// pulls the [`EStop`]: every motor and servo goes to its safe state at once, as for an E-stop
/// button, and stays there until the E-stop is reset. Confirmed readings that low while the
/// E-stop has been reset pull it again.
///
/// ```
/// use std::time::Duration;
///
/// use compaktor::prelude::*;
/// use compaktor_pi::actors::{Battery, BatteryLevel, BatteryPolicy};
/// use compaktor_pi::device::{DeviceError, PowerMonitor, PowerReading};
/// use compaktor_pi::safety::EStop;
///
/// struct Flat; // a battery at 6 V
/// impl PowerMonitor for Flat {
///     fn read(&mut self) -> Result<PowerReading, DeviceError> {
///         Ok(PowerReading { voltage: 6.0, current: 1.0 })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = ActorSystem::new("robot");
/// let estop = EStop::new();
/// let policy = BatteryPolicy {
///     name: "battery".into(),
///     period: Duration::from_millis(500),
///     warn_below: 7.0,
///     safe_below: 6.6,
///     confirm: 3,
/// };
/// let battery = system.start(Battery::new(Box::new(Flat), estop.clone(), policy)).await?;
/// tokio::time::sleep(Duration::from_secs(2)).await;
/// assert_eq!(battery.last().await?.unwrap().level, BatteryLevel::Critical);
/// assert!(estop.is_engaged());
/// # Ok(()) }
/// ```
pub struct Battery {
    device: Arc<Mutex<Box<dyn PowerMonitor>>>,
    estop: EStop,
    policy: BatteryPolicy,
    level: BatteryLevel,
    /// Readings in a row below `warn_below` and below `safe_below`.
    below: (u32, u32),
    last: Option<BatteryReading>,
    /// Where it publishes: `<its path>/readings`, made when it starts.
    topic: Option<Topic<BatteryReading>>,
}

impl Battery {
    /// Reads `device` as `policy` says, pulling `estop` when the battery is critical.
    pub fn new(device: Box<dyn PowerMonitor>, estop: EStop, policy: BatteryPolicy) -> Self {
        Battery {
            device: Arc::new(Mutex::new(device)),
            estop,
            policy,
            level: BatteryLevel::Ok,
            below: (0, 0),
            last: None,
            topic: None,
        }
    }

    /// Counts `voltage` against the thresholds; pulls the E-stop when the battery is
    /// critical.
    fn apply_policy(&mut self, voltage: f32, current: f32) {
        let policy = &self.policy;
        let count = |n: u32, below: bool| if below { n.saturating_add(1) } else { 0 };
        self.below = (
            count(self.below.0, voltage < policy.warn_below),
            count(self.below.1, voltage < policy.safe_below),
        );
        if self.below.1 >= policy.confirm {
            if self.level < BatteryLevel::Critical {
                self.level = BatteryLevel::Critical;
                tracing::error!(
                    battery = %policy.name, voltage, current, safe_below = policy.safe_below,
                    "battery critical: the robot goes to its safe state"
                );
            }
            if !self.estop.is_engaged() {
                let reason = format!(
                    "{} critical: {voltage:.2} V, below {} V",
                    policy.name, policy.safe_below
                );
                self.estop.trigger(&reason);
            }
        } else if self.below.0 >= policy.confirm && self.level < BatteryLevel::Low {
            self.level = BatteryLevel::Low;
            tracing::warn!(
                battery = %policy.name, voltage, current, warn_below = policy.warn_below,
                "battery low"
            );
        }
    }
}

/// The last part of this actor's topic name.
const TOPIC: &str = "readings";

#[actor]
impl Battery {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        self.topic = Some(own_topic(ctx, TOPIC)?);
        ctx.every_with(self.policy.period, MissedTick::Skip, |me| me.read().tell());
        Ok(())
    }

    /// Reads the battery now (off the event loop), applies the policy and publishes the
    /// reading.
    #[handler]
    pub async fn read(&mut self, ctx: &mut Context<Self>) -> Result<BatteryReading, DeviceError> {
        let device = self.device.clone();
        let power = ctx.spawn_blocking(move || lock(&device).read()).await?;
        self.apply_policy(power.voltage, power.current);
        let reading = BatteryReading {
            voltage: power.voltage,
            current: power.current,
            level: self.level,
        };
        self.last = Some(reading);
        publish(&self.topic, reading);
        Ok(reading)
    }

    /// The latest reading, if any.
    #[handler]
    pub fn last(&self) -> Option<BatteryReading> {
        self.last
    }

    /// Every reading, on the topic `<path>/readings` (it keeps the newest).
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if the system has a topic of that name for another type.
    #[handler]
    pub fn topic(&mut self, ctx: &mut Context<Self>) -> Result<Topic<BatteryReading>, TopicError> {
        own_topic(ctx, TOPIC)
    }

    #[on_failure]
    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
        tracing::warn!(%failure, "battery read failed");
        FailureAction::Resume
    }
}

impl std::fmt::Debug for Battery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Battery")
            .field("policy", &self.policy)
            .field("level", &self.level)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::device::PowerReading;

    /// A battery that reads the voltages it is given, one per read.
    struct Script(VecDeque<f32>);

    impl PowerMonitor for Script {
        fn read(&mut self) -> Result<PowerReading, DeviceError> {
            let voltage = self.0.pop_front().expect("a voltage for each read");
            Ok(PowerReading {
                voltage,
                current: 1.0,
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_sag_is_not_a_flat_battery_and_a_reset_while_flat_stops_the_robot_again() {
        let volts = [
            8.0, 6.0, 6.0, 8.0, // a sag of two readings: nothing
            6.9, 6.9, 6.9, // low, confirmed on the third
            6.5, 6.5, 6.5, // critical, confirmed on the third: the E-stop
            7.2, // the motors are off: it recovers, and stays critical
            6.5, 6.5, 6.5, // after a reset, driving again: the E-stop again
        ];
        let system = ActorSystem::new("battery");
        let estop = EStop::new();
        let policy = BatteryPolicy {
            name: "battery".into(),
            period: Duration::from_secs(3600), // read by hand below
            warn_below: 7.0,
            safe_below: 6.6,
            confirm: 3,
        };
        let device = Box::new(Script(volts.into()));
        let battery = system
            .start(Battery::new(device, estop.clone(), policy))
            .await
            .unwrap();
        let mut levels = Vec::new();
        for i in 0..volts.len() {
            if i == 11 {
                assert!(estop.is_engaged());
                estop.reset().unwrap();
            }
            levels.push(battery.read().await.unwrap().level);
            if i == 12 {
                assert!(!estop.is_engaged(), "two readings are not confirmed");
            }
            if i == 9 {
                let reason = estop.last_report().unwrap().reason;
                assert_eq!(reason, "battery critical: 6.50 V, below 6.6 V");
            }
        }
        use BatteryLevel::{Critical, Low, Ok};
        let expected = [
            Ok, Ok, Ok, Ok, Ok, Ok, Low, Low, Low, Critical, Critical, Critical, Critical, Critical,
        ];
        assert_eq!(levels, expected);
        assert!(estop.is_engaged());
        system.shutdown(Duration::from_secs(1)).await;
    }
}
