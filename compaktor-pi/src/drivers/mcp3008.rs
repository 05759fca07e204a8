//! The MCP3008: an 8-channel, 10-bit ADC on SPI (mode 0, up to 1.35 MHz at 3.3 V), the usual way
//! to read analog sensors (line sensors, potentiometers, battery voltage) on a Raspberry Pi,
//! which has no analog inputs.

use embedded_hal::spi::SpiDevice;

use crate::device::{Adc, DeviceError};

/// An MCP3008 on an SPI device (a bus plus its chip select).
///
/// # Examples
///
/// ```
/// use compaktor_pi::device::{Adc, DeviceError};
/// use compaktor_pi::drivers::Mcp3008;
/// # struct Spi;
/// # impl embedded_hal::spi::ErrorType for Spi { type Error = core::convert::Infallible; }
/// # impl embedded_hal::spi::SpiDevice for Spi {
/// #     fn transaction(
/// #         &mut self,
/// #         _: &mut [embedded_hal::spi::Operation<'_, u8>],
/// #     ) -> Result<(), Self::Error> { Ok(()) }
/// # }
/// # let spi = Spi;
///
/// // `spi`: an SPI device from a backend (CE0 of SPI0 on a Pi, for example).
/// let mut adc = Mcp3008::new(spi);
/// let raw = adc.read(3)?; // 0..=1023
/// let volts = f32::from(raw) * 3.3 / 1023.0;
/// # let _ = volts;
/// # Ok::<(), DeviceError>(())
/// ```
#[derive(Debug)]
pub struct Mcp3008<SPI> {
    spi: SPI,
}

impl<SPI> Mcp3008<SPI> {
    /// The number of channels.
    pub const CHANNELS: u8 = 8;

    /// Takes the SPI device. No transfer happens until the first read.
    pub fn new(spi: SPI) -> Self {
        Mcp3008 { spi }
    }

    /// Gives the SPI device back.
    pub fn release(self) -> SPI {
        self.spi
    }
}

impl<SPI: SpiDevice> Mcp3008<SPI> {
    /// Reads one channel, single-ended: a value from 0 (0 V) to 1023 (V_REF).
    ///
    /// One transfer of three bytes: a start bit, the channel, and a byte to clock the answer out.
    ///
    /// # Errors
    ///
    /// [`DeviceError::OutOfRange`] for a channel above 7; [`DeviceError::Bus`] if the transfer
    /// fails.
    pub fn read(&mut self, channel: u8) -> Result<u16, DeviceError> {
        if channel >= Self::CHANNELS {
            return Err(DeviceError::OutOfRange(format!(
                "MCP3008 channel {channel}; it has channels 0..=7"
            )));
        }
        let mut buf = [0x01, (0x08 | channel) << 4, 0x00];
        self.spi
            .transfer_in_place(&mut buf)
            .map_err(|e| DeviceError::Bus(format!("MCP3008: {e:?}")))?;
        Ok((u16::from(buf[1] & 0x03) << 8) | u16::from(buf[2]))
    }
}

impl<SPI: SpiDevice + Send + 'static> Adc for Mcp3008<SPI> {
    fn channels(&self) -> u8 {
        Self::CHANNELS
    }

    fn read(&mut self, channel: u8) -> Result<u16, DeviceError> {
        Mcp3008::read(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as Spi};

    use super::*;

    fn transfer(request: [u8; 3], answer: [u8; 3]) -> [Spi<u8>; 3] {
        [
            Spi::transaction_start(),
            Spi::transfer_in_place(request.to_vec(), answer.to_vec()),
            Spi::transaction_end(),
        ]
    }

    #[test]
    fn reads_each_channel_with_the_documented_bytes() {
        let mut expectations = Vec::new();
        for ch in 0..8u8 {
            // the chip answers channel * 100 + 3; the high bits of byte 1 are noise to mask
            let value = u16::from(ch) * 100 + 3;
            let [hi, lo] = value.to_be_bytes();
            expectations.extend(transfer(
                [0x01, 0x80 | (ch << 4), 0x00],
                [0xFF, 0xFC | hi, lo],
            ));
        }
        let mut spi = SpiMock::new(&expectations);
        let mut adc = Mcp3008::new(spi.clone());

        for ch in 0..8u8 {
            assert_eq!(adc.read(ch).unwrap(), u16::from(ch) * 100 + 3);
        }
        spi.done();
    }

    #[test]
    fn full_scale_is_1023() {
        let mut spi = SpiMock::new(&transfer([0x01, 0xF0, 0x00], [0x00, 0x03, 0xFF]));
        let mut adc: Box<dyn Adc> = Box::new(Mcp3008::new(spi.clone()));
        assert_eq!(adc.channels(), 8);
        assert_eq!(adc.read(7).unwrap(), 1023);
        spi.done();
    }

    #[test]
    fn channel_8_is_refused_without_a_transfer() {
        let mut spi = SpiMock::new(&[]);
        let mut adc = Mcp3008::new(spi.clone());
        let err = adc.read(8).unwrap_err();
        assert!(matches!(err, DeviceError::OutOfRange(_)), "{err}");
        spi.done();
    }
}
