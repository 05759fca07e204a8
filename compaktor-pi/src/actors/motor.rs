//! The DC motor actor: speed from -1.0 to 1.0 with an optional ramp limit, brake and coast, a
//! dead-man watchdog, and a safe state (duty 0) on stop, kill, panic, E-stop and drop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use tokio::time::Instant;

use super::{own_topic, publish};
use crate::device::{DeviceError, MotorDriver};
use crate::lock;
use crate::safety::{EStop, Registration};

/// How a motor behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct MotorConfig {
    /// For logs, the E-stop report and events.
    pub name: String,
    /// Go to the safe state when no command came for this long (dead-man switch).
    pub watchdog: Option<Duration>,
    /// At most this much change of speed per second (protects gears and batteries).
    pub ramp_per_second: Option<f32>,
    /// Flip the direction (a motor mounted the other way round).
    pub invert: bool,
}

impl MotorConfig {
    /// A motor named `name`, with a 500 ms watchdog and no ramp.
    pub fn new(name: impl Into<String>) -> Self {
        MotorConfig {
            name: name.into(),
            watchdog: Some(Duration::from_millis(500)),
            ramp_per_second: None,
            invert: false,
        }
    }
}

/// What a motor tells its subscribers.
#[derive(Debug, Clone, PartialEq)]
pub enum MotorEvent {
    /// The applied speed changed.
    Speed(f32),
    /// The motor was braked on command.
    Braked,
    /// The motor went to its safe state (duty 0) by itself, and why.
    SafeState(SafeCause),
}

/// Why a motor went to its safe state.
#[derive(Debug, Clone, PartialEq)]
pub enum SafeCause {
    /// No command within the watchdog window.
    Watchdog {
        /// How long it had been silent.
        silent_for: Duration,
    },
    /// The actor is stopping (stop, kill, panic, failure).
    Stopping(String),
    /// The E-stop cut the duty (directly on the hardware; the actor learns it afterwards).
    EStop,
}

/// Why a motor refused a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MotorError {
    /// The E-stop is engaged: reset it first.
    #[error("the E-stop is engaged; reset it before driving")]
    EStopEngaged,
    /// The speed is not within -1.0..=1.0.
    #[error("speed must be within -1.0..=1.0, got {0}")]
    OutOfRange(f32),
    /// The driver failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The motor's topic (`<its path>/events`) could not be made: the system has a topic of
    /// that name for another type.
    #[error(transparent)]
    Topic(#[from] TopicError),
}

/// A DC motor behind an H-bridge, as an actor.
pub struct Motor {
    config: MotorConfig,
    driver: Arc<Mutex<Box<dyn MotorDriver>>>,
    estop: EStop,
    registration: Option<Registration>,
    target: f32,
    applied: f32,
    last_command: Instant,
    safe: bool,
    /// Set by the E-stop's action when it cut this motor, so the actor can bring its own state
    /// in line (speed 0, an event) the next time it runs.
    cut: Arc<AtomicBool>,
    /// Where it publishes: `<its path>/events`, made when it starts.
    topic: Option<Topic<MotorEvent>>,
}

const RAMP_STEP: Duration = Duration::from_millis(20);

impl Motor {
    /// A motor actor driving `driver`, registered with `estop` while it runs.
    pub fn new(driver: Box<dyn MotorDriver>, estop: EStop, config: MotorConfig) -> Self {
        Motor {
            config,
            driver: Arc::new(Mutex::new(driver)),
            estop,
            registration: None,
            target: 0.0,
            applied: 0.0,
            last_command: Instant::now(),
            safe: true,
            cut: Arc::default(),
            topic: None,
        }
    }

    /// Drives the bridge at `speed`, unless the E-stop is engaged. The check happens under the
    /// driver's lock, which the E-stop's safe-state action also takes: either the E-stop comes
    /// after this write and cuts it, or this write sees the E-stop and is refused. (Checked
    /// before the lock, a command on another worker could land just after the E-stop.)
    fn apply(&mut self, speed: f32) -> Result<(), MotorError> {
        let signed = if self.config.invert { -speed } else { speed };
        {
            let mut driver = lock(&self.driver);
            if self.estop.is_engaged() {
                return Err(MotorError::EStopEngaged);
            }
            driver.set_speed(signed)?;
        }
        if speed != self.applied {
            self.applied = speed;
            publish(&self.topic, MotorEvent::Speed(speed));
        }
        Ok(())
    }

    /// Duty 0, whatever state the actor is in.
    fn go_safe(&mut self, cause: SafeCause) {
        if let Err(e) = lock(&self.driver).coast() {
            tracing::error!(motor = %self.config.name, error = %e, "safe state failed");
        }
        self.target = 0.0;
        self.applied = 0.0;
        if !self.safe {
            self.safe = true;
            tracing::warn!(motor = %self.config.name, ?cause, "motor in safe state");
            publish(&self.topic, MotorEvent::SafeState(cause));
        }
    }

    /// Brings the actor's state in line with an E-stop that cut the duty meanwhile.
    fn sync_estop(&mut self) {
        if self.cut.swap(false, Ordering::AcqRel) {
            self.target = 0.0;
            self.applied = 0.0;
            self.safe = true;
            publish(&self.topic, MotorEvent::SafeState(SafeCause::EStop));
        }
    }

    fn command(&mut self) -> Result<(), MotorError> {
        self.sync_estop();
        if self.estop.is_engaged() {
            return Err(MotorError::EStopEngaged);
        }
        self.last_command = Instant::now();
        Ok(())
    }
}

/// The last part of this actor's topic name.
const TOPIC: &str = "events";

#[actor]
impl Motor {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), MotorError> {
        self.topic = Some(own_topic(ctx, TOPIC)?);
        lock(&self.driver).coast()?;
        // A ramp of NaN or below 0 would panic on its first step (`clamp`); 0 never moves.
        if let Some(rate) = self
            .config
            .ramp_per_second
            .filter(|r| !(r.is_finite() && *r > 0.0))
        {
            return Err(MotorError::Device(DeviceError::OutOfRange(format!(
                "motor {}: ramp_per_second must be above 0, not {rate}",
                self.config.name
            ))));
        }
        let (driver, cut) = (self.driver.clone(), self.cut.clone());
        self.registration = Some(self.estop.register(self.config.name.clone(), move || {
            let result = lock(&driver).coast();
            cut.store(true, Ordering::Release);
            result
        }));
        if let Some(window) = self.config.watchdog {
            ctx.every(window / 4, |me| me.check_watchdog());
        }
        if self.config.ramp_per_second.is_some() {
            ctx.every(RAMP_STEP, |me| me.ramp_step().tell());
        }
        Ok(())
    }

    /// Drives at `speed` (-1.0 full reverse ..= 1.0 full forward), through the ramp if one is
    /// set. Also feeds the watchdog.
    #[handler]
    pub fn set_speed(&mut self, speed: f32) -> Result<(), MotorError> {
        if !(-1.0..=1.0).contains(&speed) {
            return Err(MotorError::OutOfRange(speed));
        }
        self.command()?;
        self.safe = false;
        self.target = speed;
        if self.config.ramp_per_second.is_none() {
            self.apply(speed)?;
        }
        Ok(())
    }

    /// Stops fast and holds (both bridge sides shorted). A safe action: allowed while the
    /// E-stop is engaged.
    #[handler]
    pub fn brake(&mut self) -> Result<(), MotorError> {
        self.sync_estop();
        self.last_command = Instant::now();
        lock(&self.driver).brake()?;
        self.target = 0.0;
        self.applied = 0.0;
        publish(&self.topic, MotorEvent::Braked);
        Ok(())
    }

    /// Lets the motor spin down freely (duty 0). A safe action: allowed while the E-stop is
    /// engaged.
    #[handler]
    pub fn coast(&mut self) -> Result<(), MotorError> {
        self.sync_estop();
        self.last_command = Instant::now();
        lock(&self.driver).coast()?;
        self.target = 0.0;
        if self.applied != 0.0 {
            self.applied = 0.0;
            publish(&self.topic, MotorEvent::Speed(0.0));
        }
        Ok(())
    }

    /// The speed applied now (behind the target while ramping; 0 after an E-stop).
    #[handler]
    pub fn speed(&mut self) -> f32 {
        self.sync_estop();
        self.applied
    }

    /// Speed changes and safe-state events, on the topic `<path>/events` (it keeps the newest). Subscribe an actor with
    /// `ctx.subscribe(&topic, ..)`, or follow it with `topic.stream()`.
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if the system has a topic of that name for another type.
    #[handler]
    pub fn topic(&mut self, ctx: &mut Context<Self>) -> Result<Topic<MotorEvent>, TopicError> {
        own_topic(ctx, TOPIC)
    }

    #[handler]
    fn check_watchdog(&mut self) {
        self.sync_estop();
        let Some(window) = self.config.watchdog else {
            return;
        };
        let silent_for = self.last_command.elapsed();
        if !self.safe && silent_for > window {
            self.go_safe(SafeCause::Watchdog { silent_for });
        }
    }

    #[handler]
    fn ramp_step(&mut self) -> Result<(), MotorError> {
        self.sync_estop();
        let Some(rate) = self.config.ramp_per_second else {
            return Ok(());
        };
        if self.applied == self.target || self.safe {
            return Ok(());
        }
        let max_step = rate * RAMP_STEP.as_secs_f32();
        let delta = (self.target - self.applied).clamp(-max_step, max_step);
        match self.apply(self.applied + delta) {
            Err(MotorError::EStopEngaged) => {
                // The E-stop cut the duty: the ramp must not drive it up again, now or after
                // a reset (the motor stays safe until commanded).
                self.target = 0.0;
                self.applied = 0.0;
                Ok(())
            }
            other => other,
        }
    }

    /// A told command that failed (E-stop engaged, a pin error) is logged; the motor keeps
    /// running, in whatever state the failure left it.
    #[on_failure]
    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
        tracing::warn!(motor = %self.config.name, %failure, "command refused");
        FailureAction::Resume
    }

    #[on_stop]
    fn stopped(&mut self, reason: &StopReason) {
        self.safe = false; // report it, whatever state it was in
        self.go_safe(SafeCause::Stopping(reason.to_string()));
        self.registration = None;
    }
}

impl Drop for Motor {
    fn drop(&mut self) {
        // The last line of defence: a motor value never disappears with its duty on.
        let _ = lock(&self.driver).coast();
    }
}

impl std::fmt::Debug for Motor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Motor")
            .field("config", &self.config)
            .field("applied", &self.applied)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}
