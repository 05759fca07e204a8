//! The distance sensor actor (HC-SR04): measures on a timer and publishes each reading (a
//! distance, or nothing in range), and answers an ask with a fresh reading.

use std::time::Duration;

use compaktor::prelude::*;
use tokio::time::Instant;

use super::{own_topic, publish};
use crate::device::{DeviceError, Range, RangeFinder};

/// One distance reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distance {
    /// Meters to the nearest echo, or [`Range::OutOfRange`] when nothing is in range (open
    /// space: [`Range::clearance`] is then infinite).
    pub range: Range,
    /// When it was measured.
    pub at: Instant,
}

/// A distance sensor as an actor.
pub struct Ultrasonic {
    sensor: Box<dyn RangeFinder>,
    period: Duration,
    /// Where it publishes: `<its path>/distance`, made when it starts.
    topic: Option<Topic<Distance>>,
    last: Option<Distance>,
    failures: u64,
}

impl Ultrasonic {
    /// Measures with `sensor` every `period` (HC-SR04: 60 ms or more, so echoes die out).
    pub fn new(sensor: Box<dyn RangeFinder>, period: Duration) -> Self {
        Ultrasonic {
            sensor,
            period,
            topic: None,
            last: None,
            failures: 0,
        }
    }

    async fn measure(&mut self) -> Result<Distance, DeviceError> {
        let range = self.sensor.measure().await?;
        let reading = Distance {
            range,
            at: Instant::now(),
        };
        self.last = Some(reading);
        publish(&self.topic, reading);
        Ok(reading)
    }
}

/// The last part of this actor's topic name.
const TOPIC: &str = "distance";

#[actor]
impl Ultrasonic {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        self.topic = Some(own_topic(ctx, TOPIC)?);
        ctx.every_with(self.period, MissedTick::Skip, |me| me.poll());
        Ok(())
    }

    #[handler]
    async fn poll(&mut self) {
        if let Err(e) = self.measure().await {
            self.failures += 1;
            tracing::debug!(error = %e, "no distance this time");
        }
    }

    /// Measures now and answers with the distance.
    #[handler]
    pub async fn read(&mut self) -> Result<Distance, DeviceError> {
        self.measure().await
    }

    /// The latest reading, if any.
    #[handler]
    pub fn last(&self) -> Option<Distance> {
        self.last
    }

    /// How many periodic measurements failed (no answer from the sensor, a pin error). Nothing
    /// in range is a reading, not a failure.
    #[handler]
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Every reading, out-of-range ones included, on the topic `<path>/distance` (it keeps the newest). Subscribe an actor with
    /// `ctx.subscribe(&topic, ..)`, or follow it with `topic.stream()`.
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if the system has a topic of that name for another type.
    #[handler]
    pub fn topic(&mut self, ctx: &mut Context<Self>) -> Result<Topic<Distance>, TopicError> {
        own_topic(ctx, TOPIC)
    }
}

impl std::fmt::Debug for Ultrasonic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ultrasonic")
            .field("period", &self.period)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}
