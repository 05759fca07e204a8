//! What every backend's opener shares for PCA9685 boards: one PWM type for a backend's own
//! output or a board's channel ([`AnyPwm`]), and the boards opened so far ([`Boards`]), so
//! the channels of one board share its I2C device and its frequency.

use std::collections::HashMap;
use std::fmt::Display;

use embedded_hal::i2c::I2c;
use embedded_hal::pwm::{ErrorType, SetDutyCycle};

use crate::backend::{OpenError, PinError};
use crate::drivers::{Pca9685Board, Pca9685Channel};
use crate::hal::PwmOutput;

/// A backend's own PWM output `P`, or a channel of a PCA9685 on an `I2C` bus.
pub(super) enum AnyPwm<P, I2C> {
    /// The backend's own (hardware or software PWM, or a simulated line).
    Own(P),
    /// A channel of a PCA9685 board.
    Board(Pca9685Channel<I2C>),
}

fn own_error(e: impl Display) -> PinError {
    PinError(e.to_string())
}

impl<P: SetDutyCycle, I2C: I2c> ErrorType for AnyPwm<P, I2C> {
    type Error = PinError;
}

impl<P, I2C> SetDutyCycle for AnyPwm<P, I2C>
where
    P: SetDutyCycle,
    P::Error: Display,
    I2C: I2c,
{
    fn max_duty_cycle(&self) -> u16 {
        match self {
            AnyPwm::Own(p) => p.max_duty_cycle(),
            AnyPwm::Board(c) => c.max_duty_cycle(),
        }
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), PinError> {
        match self {
            AnyPwm::Own(p) => p.set_duty_cycle(duty).map_err(own_error),
            AnyPwm::Board(c) => c.set_duty_cycle(duty),
        }
    }
}

impl<P, I2C> PwmOutput for AnyPwm<P, I2C>
where
    P: PwmOutput,
    P::Error: Display,
    I2C: I2c,
{
    fn set_frequency(&mut self, hz: u32) -> Result<(), PinError> {
        match self {
            AnyPwm::Own(p) => p.set_frequency(hz).map_err(own_error),
            AnyPwm::Board(c) => c.set_frequency(hz),
        }
    }

    fn frequency(&self) -> u32 {
        match self {
            AnyPwm::Own(p) => p.frequency(),
            AnyPwm::Board(c) => c.frequency(),
        }
    }
}

/// The PCA9685 boards a backend has opened, by `(bus, address)`.
pub(super) struct Boards<I2C> {
    boards: HashMap<(u8, u8), Pca9685Board<I2C>>,
}

impl<I2C> Default for Boards<I2C> {
    fn default() -> Self {
        Boards {
            boards: HashMap::new(),
        }
    }
}

impl<I2C: I2c> Boards<I2C> {
    /// Channel `channel` of the board at `address` on `bus` at `hz`, opening the board (its
    /// bus from `open_bus`) the first time it is asked for.
    pub(super) fn channel(
        &mut self,
        backend: &'static str,
        (bus, address, channel): (u8, u8, u8),
        hz: u32,
        label: &str,
        open_bus: impl FnOnce(u8) -> Result<I2C, OpenError>,
    ) -> Result<Pca9685Channel<I2C>, OpenError> {
        let device = format!("PCA9685 {address:#04x} on I2C bus {bus} ({label})");
        let board = match self.boards.get(&(bus, address)) {
            Some(board) => board.clone(),
            None => {
                let board = Pca9685Board::new(open_bus(bus)?, address)
                    .map_err(|e| OpenError::new(backend, device.clone(), e))?;
                self.boards.insert((bus, address), board.clone());
                board
            }
        };
        let mut pwm = board
            .channel(channel, label)
            .map_err(|e| OpenError::new(backend, device.clone(), e))?;
        pwm.set_frequency(hz)
            .map_err(|e| OpenError::new(backend, device, e))?;
        Ok(pwm)
    }
}
