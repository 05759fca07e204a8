//! The servo actor: angles within limits, raw pulse widths, and a safe state (no pulses, the
//! servo goes limp) on stop, kill, panic, E-stop and drop.

use std::sync::{Arc, Mutex};

use compaktor::prelude::*;

use crate::device::{DeviceError, ServoDriver};
use crate::drivers::ServoLimits;
use crate::lock;
use crate::safety::{EStop, Registration};

/// Why a servo refused a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServoError {
    /// The E-stop is engaged.
    #[error("the E-stop is engaged; reset it before moving")]
    EStopEngaged,
    /// The driver failed, or the angle is outside the limits.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// A servo as an actor.
pub struct Servo {
    name: String,
    driver: Arc<Mutex<Box<dyn ServoDriver>>>,
    limits: ServoLimits,
    angle: Option<f32>,
    estop: EStop,
    registration: Option<Registration>,
}

impl Servo {
    /// A servo named `name` on `driver`, moving within `limits`.
    pub fn new(
        name: impl Into<String>,
        driver: Box<dyn ServoDriver>,
        limits: ServoLimits,
        estop: EStop,
    ) -> Self {
        Servo {
            name: name.into(),
            driver: Arc::new(Mutex::new(driver)),
            limits,
            angle: None,
            estop,
            registration: None,
        }
    }

    fn release_now(&mut self) {
        if let Err(e) = lock(&self.driver).release() {
            tracing::error!(servo = %self.name, error = %e, "release failed");
        }
        self.angle = None;
    }
}

#[actor]
impl Servo {
    #[on_start]
    fn start(&mut self) {
        let driver = self.driver.clone();
        self.registration = Some(
            self.estop
                .register(self.name.clone(), move || lock(&driver).release()),
        );
    }

    /// Moves to `degrees`, within the limits.
    #[handler]
    pub fn set_angle(&mut self, degrees: f32) -> Result<(), ServoError> {
        let pulse = self.limits.pulse_for_angle(degrees)?;
        let mut driver = lock(&self.driver);
        // Checked under the lock the E-stop's release also takes, so a move on another worker
        // cannot land just after an E-stop.
        if self.estop.is_engaged() {
            return Err(ServoError::EStopEngaged);
        }
        driver.set_pulse_width_us(pulse)?;
        drop(driver);
        self.angle = Some(degrees);
        Ok(())
    }

    /// The last commanded angle; `None` when released.
    #[handler]
    pub fn angle(&self) -> Option<f32> {
        self.angle
    }

    /// Stops the pulses: the servo goes limp.
    #[handler]
    pub fn release(&mut self) {
        self.release_now();
    }

    #[on_stop]
    fn stopped(&mut self) {
        self.release_now();
        self.registration = None;
    }
}

impl Drop for Servo {
    fn drop(&mut self) {
        let _ = lock(&self.driver).release();
    }
}

impl std::fmt::Debug for Servo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Servo")
            .field("name", &self.name)
            .field("angle", &self.angle)
            .finish_non_exhaustive()
    }
}
