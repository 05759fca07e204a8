//! What a simulated bus answers when it cannot: the error type shared by the simulated I2C
//! ([`SimI2c`](super::SimI2c), in `mpu6050`) and SPI ([`SimSpi`](super::SimSpi), in
//! `mcp3008`) devices, with the embedded-hal error kinds drivers match on.

use embedded_hal::{i2c, spi};

/// Why a simulated bus transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// Nothing answered at this I2C address (the simulated bus has the MPU-6050 at 0x68, the
    /// PCA9685 boards and the INA219 its wiring has, nothing else).
    #[error("no device acknowledged I2C address {address:#04x}")]
    NoDevice {
        /// The address that was tried.
        address: u8,
    },
}

impl i2c::Error for BusError {
    fn kind(&self) -> i2c::ErrorKind {
        match self {
            BusError::NoDevice { .. } => {
                i2c::ErrorKind::NoAcknowledge(i2c::NoAcknowledgeSource::Address)
            }
        }
    }
}

impl spi::Error for BusError {
    fn kind(&self) -> spi::ErrorKind {
        spi::ErrorKind::Other
    }
}
