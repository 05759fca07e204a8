//! The IMU actor (MPU-6050 over I2C): samples at a set rate on tokio's blocking pool (bus
//! transfers are blocking ioctls) and publishes each sample.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;

use super::{own_topic, publish};
use crate::device::{DeviceError, Imu, ImuSample};
use crate::lock;

/// An IMU as an actor.
pub struct ImuSensor {
    device: Arc<Mutex<Box<dyn Imu>>>,
    period: Duration,
    /// Where it publishes: `<its path>/samples`, made when it starts.
    topic: Option<Topic<ImuSample>>,
    last: Option<ImuSample>,
}

impl ImuSensor {
    /// Samples `device` every `period`.
    pub fn new(device: Box<dyn Imu>, period: Duration) -> Self {
        ImuSensor {
            device: Arc::new(Mutex::new(device)),
            period,
            topic: None,
            last: None,
        }
    }
}

/// The last part of this actor's topic name.
const TOPIC: &str = "samples";

#[actor]
impl ImuSensor {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        self.topic = Some(own_topic(ctx, TOPIC)?);
        ctx.every_with(self.period, MissedTick::Skip, |me| me.read().tell());
        Ok(())
    }

    /// Reads one sample now (off the event loop) and publishes it.
    #[handler]
    pub async fn read(&mut self, ctx: &mut Context<Self>) -> Result<ImuSample, DeviceError> {
        let device = self.device.clone();
        let sample = ctx.spawn_blocking(move || lock(&device).read()).await?;
        self.last = Some(sample);
        publish(&self.topic, sample);
        Ok(sample)
    }

    /// The latest sample, if any.
    #[handler]
    pub fn last(&self) -> Option<ImuSample> {
        self.last
    }

    /// Every sample, on the topic `<path>/samples` (it keeps the newest). Subscribe an actor with
    /// `ctx.subscribe(&topic, ..)`, or follow it with `topic.stream()`.
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if the system has a topic of that name for another type.
    #[handler]
    pub fn topic(&mut self, ctx: &mut Context<Self>) -> Result<Topic<ImuSample>, TopicError> {
        own_topic(ctx, TOPIC)
    }

    #[on_failure]
    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
        tracing::warn!(%failure, "IMU read failed");
        FailureAction::Resume
    }
}

impl std::fmt::Debug for ImuSensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImuSensor")
            .field("period", &self.period)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}
