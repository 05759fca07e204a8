//! The line sensor actor: a row of reflectance sensors read through an ADC (MCP3008), sampled on
//! a timer off the event loop, publishing where the line is. Also [`AdcReader`], the plain ADC
//! actor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;

use super::{own_topic, publish};
use crate::device::{Adc, DeviceError};
use crate::drivers::line_position;
use crate::lock;

/// One reading of the array.
#[derive(Debug, Clone, PartialEq)]
pub struct LineReading {
    /// Where the line is, -1.0 (under the leftmost sensor) ..= 1.0 (rightmost); `None` when no
    /// sensor sees it.
    pub position: Option<f32>,
    /// The raw readings, left to right.
    pub raw: Vec<u16>,
}

/// A line sensor array as an actor.
pub struct LineSensor {
    adc: Arc<Mutex<Box<dyn Adc>>>,
    channels: Vec<u8>,
    threshold: u16,
    period: Duration,
    /// Where it publishes: `<its path>/readings`, made when it starts.
    topic: Option<Topic<LineReading>>,
    last: Option<LineReading>,
}

impl LineSensor {
    /// Sensors on `channels` of `adc` (left to right), seeing the line above `threshold`,
    /// sampled every `period`.
    pub fn new(adc: Box<dyn Adc>, channels: Vec<u8>, threshold: u16, period: Duration) -> Self {
        LineSensor {
            adc: Arc::new(Mutex::new(adc)),
            channels,
            threshold,
            period,
            topic: None,
            last: None,
        }
    }
}

/// The last part of this actor's topic name.
const TOPIC: &str = "readings";

#[actor]
impl LineSensor {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        self.topic = Some(own_topic(ctx, TOPIC)?);
        ctx.every_with(self.period, MissedTick::Skip, |me| me.read().tell());
        Ok(())
    }

    /// Reads the array now and publishes the reading.
    #[handler]
    pub async fn read(&mut self, ctx: &mut Context<Self>) -> Result<LineReading, DeviceError> {
        let (adc, channels) = (self.adc.clone(), self.channels.clone());
        let raw = ctx
            .spawn_blocking(move || {
                let mut adc = lock(&adc);
                channels
                    .iter()
                    .map(|&ch| adc.read(ch))
                    .collect::<Result<Vec<u16>, DeviceError>>()
            })
            .await?;
        let reading = LineReading {
            position: line_position(&raw, self.threshold),
            raw,
        };
        self.last = Some(reading.clone());
        publish(&self.topic, reading.clone());
        Ok(reading)
    }

    /// The latest reading, if any.
    #[handler]
    pub fn last(&self) -> Option<LineReading> {
        self.last.clone()
    }

    /// Every reading, on the topic `<path>/readings` (it keeps the newest). Subscribe an actor with
    /// `ctx.subscribe(&topic, ..)`, or follow it with `topic.stream()`.
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if the system has a topic of that name for another type.
    #[handler]
    pub fn topic(&mut self, ctx: &mut Context<Self>) -> Result<Topic<LineReading>, TopicError> {
        own_topic(ctx, TOPIC)
    }

    #[on_failure]
    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
        tracing::warn!(%failure, "line sensor read failed");
        FailureAction::Resume
    }
}

impl std::fmt::Debug for LineSensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineSensor")
            .field("channels", &self.channels)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

/// An ADC (MCP3008) as an actor: reads channels on tokio's blocking pool.
pub struct AdcReader {
    adc: Arc<Mutex<Box<dyn Adc>>>,
}

impl AdcReader {
    /// An actor reading `adc`.
    pub fn new(adc: Box<dyn Adc>) -> Self {
        AdcReader {
            adc: Arc::new(Mutex::new(adc)),
        }
    }
}

#[actor]
impl AdcReader {
    /// Reads one channel (0..=7 on an MCP3008): the raw value, 0..=1023.
    #[handler]
    pub async fn read(&mut self, channel: u8, ctx: &mut Context<Self>) -> Result<u16, DeviceError> {
        let adc = self.adc.clone();
        ctx.spawn_blocking(move || lock(&adc).read(channel)).await
    }
}

impl std::fmt::Debug for AdcReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdcReader").finish_non_exhaustive()
    }
}
