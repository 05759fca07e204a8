//! The IMU actor (MPU-6050 over I2C): samples at a set rate on tokio's blocking pool (bus
//! transfers are blocking ioctls) and publishes each sample.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;

use crate::device::{DeviceError, Imu, ImuSample};
use crate::events::{Events, Subscription};
use crate::lock;

/// An IMU as an actor.
pub struct ImuSensor {
    device: Arc<Mutex<Box<dyn Imu>>>,
    period: Duration,
    events: Events<ImuSample>,
    last: Option<ImuSample>,
}

impl ImuSensor {
    /// Samples `device` every `period`.
    pub fn new(device: Box<dyn Imu>, period: Duration) -> Self {
        ImuSensor {
            device: Arc::new(Mutex::new(device)),
            period,
            events: Events::default(),
            last: None,
        }
    }
}

#[actor]
impl ImuSensor {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every_with(self.period, MissedTick::Skip, |me| me.read().tell());
    }

    /// Reads one sample now (off the event loop) and publishes it.
    #[handler]
    pub async fn read(&mut self, ctx: &mut Context<Self>) -> Result<ImuSample, DeviceError> {
        let device = self.device.clone();
        let sample = ctx.blocking(move || lock(&device).read()).await?;
        self.last = Some(sample);
        self.events.publish(sample);
        Ok(sample)
    }

    /// The latest sample, if any.
    #[handler]
    pub fn last(&self) -> Option<ImuSample> {
        self.last
    }

    /// Every sample from now on.
    #[handler]
    pub fn subscribe(&self) -> Subscription<ImuSample> {
        self.events.subscribe()
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
