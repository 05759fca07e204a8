//! The LED (or any digital output) actor: set, toggle, and blink patterns on a timer.

use std::time::Duration;

use compaktor::TaskHandle;
use compaktor::prelude::*;

use crate::device::{DeviceError, DigitalOutput};

/// An LED as an actor.
pub struct Led {
    output: Box<dyn DigitalOutput>,
    on: bool,
    /// Bumped on every command, so a blink step of an older pattern does nothing.
    generation: u64,
    pattern: Vec<Duration>,
    step: Option<TaskHandle>,
}

impl Led {
    /// An LED on `output`, off.
    pub fn new(output: Box<dyn DigitalOutput>) -> Self {
        Led {
            output,
            on: false,
            generation: 0,
            pattern: Vec::new(),
            step: None,
        }
    }

    fn write(&mut self, on: bool) -> Result<(), DeviceError> {
        self.output.set(on)?;
        self.on = on;
        Ok(())
    }

    /// A new command: the running pattern ends.
    fn interrupt(&mut self) {
        self.generation += 1;
        if let Some(step) = self.step.take() {
            step.cancel();
        }
    }
}

#[actor]
impl Led {
    /// Switches on or off (and ends a blink pattern).
    #[handler]
    pub fn set(&mut self, on: bool) -> Result<(), DeviceError> {
        self.interrupt();
        self.write(on)
    }

    /// Switches to the other state.
    #[handler]
    pub fn toggle(&mut self) -> Result<(), DeviceError> {
        self.interrupt();
        self.write(!self.on)
    }

    /// Blinks: on for `pattern[0]`, off for `pattern[1]`, on for `pattern[2]`… and repeats.
    /// One step means on and off for that long each; an empty pattern switches off.
    ///
    /// # Errors
    /// [`DeviceError::OutOfRange`] for a zero step or an odd number of steps (other than one),
    /// which would not alternate on and off.
    #[handler]
    pub fn blink(
        &mut self,
        pattern: Vec<Duration>,
        ctx: &mut Context<Self>,
    ) -> Result<(), DeviceError> {
        if pattern.iter().any(Duration::is_zero) {
            return Err(DeviceError::OutOfRange("a blink step of zero".into()));
        }
        let pattern = match pattern.as_slice() {
            [one] => vec![*one, *one],
            steps if steps.len() % 2 == 1 => {
                return Err(DeviceError::OutOfRange(format!(
                    "a blink pattern alternates on and off: {} steps is odd",
                    steps.len()
                )));
            }
            _ => pattern,
        };
        self.interrupt();
        self.pattern = pattern;
        if self.pattern.is_empty() {
            return self.write(false);
        }
        self.blink_step(self.generation, 0, ctx)
    }

    #[handler]
    fn blink_step(
        &mut self,
        generation: u64,
        index: usize,
        ctx: &mut Context<Self>,
    ) -> Result<(), DeviceError> {
        if generation != self.generation {
            return Ok(());
        }
        self.write(index.is_multiple_of(2))?;
        let next = (index + 1) % self.pattern.len().max(1);
        let wait = self.pattern[index % self.pattern.len()];
        self.step = Some(ctx.send_after(wait, move |me| me.blink_step(generation, next).tell()));
        Ok(())
    }

    /// Whether it is on now.
    #[handler]
    pub fn is_on(&self) -> bool {
        self.on
    }

    #[on_stop]
    fn off(&mut self) {
        let _ = self.write(false);
    }
}

impl std::fmt::Debug for Led {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Led")
            .field("on", &self.on)
            .finish_non_exhaustive()
    }
}
