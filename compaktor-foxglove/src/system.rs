//! The actor system as channels: its health report ([`HealthReport`], sampled) and its dead
//! letters ([`DeadLetterRecord`], one message each).

use std::time::Duration;

use compaktor::{ActorHealth, ActorSystem, DeadLetter};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Bridge, BridgeError};

/// The channel of the health report.
pub const HEALTH_CHANNEL: &str = "/compaktor/health";
/// The channel of the dead letters.
pub const DEAD_LETTERS_CHANNEL: &str = "/compaktor/dead_letters";

/// Every running actor, from [`ActorSystem::health`], as one message.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HealthReport {
    /// Running actors.
    pub actor_count: usize,
    /// Messages waiting in all their mailboxes.
    pub queued: usize,
    /// Actors in a handler now.
    pub busy: usize,
    /// Dead letters so far.
    pub dead_letters: u64,
    /// Each actor, oldest first.
    pub actors: Vec<ActorRow>,
}

/// One actor's health.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ActorRow {
    /// Its path in the system's tree (`/robot/drive/left_motor`).
    pub path: String,
    /// Its name and id.
    pub actor: String,
    /// Its type.
    pub actor_type: String,
    /// `Starting`, `Running`, `Restarting`, `Stopping` or `Stopped`.
    pub state: String,
    /// Messages waiting in its mailbox.
    pub mailbox_len: usize,
    /// Messages it has handled.
    pub handled: u64,
    /// How often its supervisor restarted it.
    pub restarts: u32,
    /// Why its last failed instance ended, if one did.
    pub last_failure: Option<String>,
    /// Milliseconds in the handler it runs now (as seen by the health reports), if it is in one.
    pub in_handler_ms: Option<f64>,
}

impl HealthReport {
    /// The report of `system` now.
    pub fn of(system: &ActorSystem) -> Self {
        let actors: Vec<ActorRow> = system.health().iter().map(ActorRow::from).collect();
        HealthReport {
            actor_count: actors.len(),
            queued: actors.iter().map(|a| a.mailbox_len).sum(),
            busy: actors.iter().filter(|a| a.in_handler_ms.is_some()).count(),
            dead_letters: system.dead_letter_count(),
            actors,
        }
    }
}

impl From<&ActorHealth> for ActorRow {
    fn from(health: &ActorHealth) -> Self {
        ActorRow {
            path: health.path.to_string(),
            actor: health.actor.to_string(),
            actor_type: health.actor_type.to_owned(),
            state: format!("{:?}", health.state),
            mailbox_len: health.mailbox_len,
            handled: health.handled,
            restarts: health.restarts,
            last_failure: health.last_failure.as_ref().map(ToString::to_string),
            in_handler_ms: health.in_handler_for.map(|d| d.as_secs_f64() * 1e3),
        }
    }
}

/// A message that will never be handled, from [`ActorSystem::dead_letters`].
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DeadLetterRecord {
    /// The actor (or topic) it was for.
    pub recipient: String,
    /// The handler it was for (a topic's payload type).
    pub handler: String,
    /// Why it will not be handled (`Stopped`, `MailboxFull`, `Lagged`, ...).
    pub reason: String,
}

impl From<&DeadLetter> for DeadLetterRecord {
    fn from(letter: &DeadLetter) -> Self {
        DeadLetterRecord {
            recipient: letter.recipient.to_string(),
            handler: letter.handler.to_owned(),
            reason: format!("{:?}", letter.reason),
        }
    }
}

impl Bridge {
    /// Bridges `system`'s health report ([`HealthReport`]) to [`HEALTH_CHANNEL`], every
    /// `every`: each actor's state, mailbox length, messages handled, restarts and time in
    /// its current handler (a stall shows as a growing `in_handler_ms`). A report costs time
    /// linear in the actors; every 500 ms is plenty for a person watching.
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// If `every` is zero; outside a tokio runtime.
    pub fn health(
        &mut self,
        system: &ActorSystem,
        every: Duration,
    ) -> Result<&mut Self, BridgeError> {
        let system = system.clone();
        self.sample(HEALTH_CHANNEL, every, move || HealthReport::of(&system))
    }

    /// Bridges `system`'s dead letters ([`DeadLetterRecord`]) to [`DEAD_LETTERS_CHANNEL`], one
    /// message per letter from now on (a burst of more than 1024 at once skips the oldest;
    /// [`HealthReport::dead_letters`] still counts them).
    ///
    /// # Errors
    /// [`BridgeError::ChannelTaken`] if the bridge already has that channel.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn dead_letters(&mut self, system: &ActorSystem) -> Result<&mut Self, BridgeError> {
        self.stream_as(DEAD_LETTERS_CHANNEL, system.dead_letters(), |letter| {
            DeadLetterRecord::from(&letter)
        })
    }
}
