//! The INA219 current and voltage monitor on I2C, as a [`PowerMonitor`]: the battery's voltage
//! (its bus voltage) and the current through its shunt resistor. The register code is the
//! `ina219` crate's (embedded-hal 1.0, blocking); the current is computed here from the shunt
//! voltage and the shunt's resistance, which avoids the chip's calibration register and its
//! rounding.

use embedded_hal::i2c::I2c;
use ina219::SyncIna219;
use ina219::address::Address;
use ina219::calibration::UnCalibrated;
use ina219::errors::InitializationErrorReason;

use crate::device::{DeviceError, PowerMonitor, PowerReading};

/// An INA219 on a battery's lead.
///
/// # Examples
///
/// ```
/// use compaktor_pi::device::PowerMonitor;
/// use compaktor_pi::drivers::Ina219;
/// use compaktor_pi::sim::{World, WorldConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let world = World::new(WorldConfig::empty(4.0, 3.0)); // its INA219 is at 0x41
/// let mut battery = Ina219::new(world.i2c(), 0x41, 0.1)?;
/// let reading = battery.read()?;
/// assert!(reading.voltage > 8.0); // a full 2S LiPo
/// # Ok(()) }
/// ```
pub struct Ina219<I2C> {
    chip: SyncIna219<I2C, UnCalibrated>,
    address: u8,
    shunt_ohms: f32,
}

impl<I2C> std::fmt::Debug for Ina219<I2C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ina219")
            .field("address", &self.address)
            .field("shunt_ohms", &self.shunt_ohms)
            .finish_non_exhaustive()
    }
}

impl<I2C: I2c> Ina219<I2C> {
    /// Resets the INA219 at `address` (0x40-0x4F) and checks that it answers as one (its
    /// registers read their reset values); `shunt_ohms` is its shunt resistor.
    ///
    /// # Errors
    /// [`DeviceError::OutOfRange`] for an address an INA219 cannot have or a shunt that is not
    /// above 0 Ω; [`DeviceError::Bus`] if nothing answers; [`DeviceError::Protocol`] if what
    /// answers is not an INA219.
    pub fn new(i2c: I2C, address: u8, shunt_ohms: f32) -> Result<Self, DeviceError> {
        if !(shunt_ohms.is_finite() && shunt_ohms > 0.0) {
            return Err(DeviceError::OutOfRange(format!(
                "INA219 shunt of {shunt_ohms} Ω; it must be above 0"
            )));
        }
        let at = Address::from_byte(address).map_err(|_| {
            DeviceError::OutOfRange(format!(
                "{address:#04x} is not an INA219 address (0x40-0x4F)"
            ))
        })?;
        let chip = SyncIna219::new(i2c, at).map_err(|e| match e.reason {
            InitializationErrorReason::I2cError(e) => {
                DeviceError::Bus(format!("INA219 {address:#04x}: {e:?}"))
            }
            not_an_ina219 => {
                DeviceError::Protocol(format!("INA219 {address:#04x}: {not_an_ina219:?}"))
            }
        })?;
        Ok(Ina219 {
            chip,
            address,
            shunt_ohms,
        })
    }
}

impl<I2C: I2c + Send + 'static> PowerMonitor for Ina219<I2C> {
    fn read(&mut self) -> Result<PowerReading, DeviceError> {
        let address = self.address;
        let failed = |what: &str, e: &dyn std::fmt::Debug| {
            DeviceError::Bus(format!("INA219 {address:#04x} {what}: {e:?}"))
        };
        let bus = self
            .chip
            .bus_voltage()
            .map_err(|e| failed("bus voltage", &e))?;
        let shunt = self
            .chip
            .shunt_voltage()
            .map_err(|e| failed("shunt voltage", &e))?;
        Ok(PowerReading {
            voltage: f32::from(bus.voltage_mv()) / 1000.0,
            current: shunt.shunt_voltage_uv() as f32 / 1e6 / self.shunt_ohms,
        })
    }
}
