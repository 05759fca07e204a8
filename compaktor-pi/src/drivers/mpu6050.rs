//! The MPU-6050: a 3-axis accelerometer and 3-axis gyroscope on I2C, read through its plain data
//! registers (no DMP firmware). Samples come in SI units: m/s² and rad/s.
//!
//! Why not the `mpu6050-dmp` crate: its value is the DMP (on-chip sensor fusion), which needs a
//! firmware upload into the chip's memory banks that the simulated bus does not emulate. Without
//! the DMP, it reads acceleration and rotation in two transactions (not one consistent sample),
//! sets the ranges by read-modify-write that can only set bits, does not check WHO_AM_I when
//! created, and wraps bus errors in its own generic type. The handful of registers below is all
//! the robot needs, and exactly what the simulation emulates.

use embedded_hal::i2c::I2c;

use crate::device::{DeviceError, Imu, ImuSample};

/// Register addresses (MPU-6000/6050 register map, rev. 4.2).
mod reg {
    pub(super) const GYRO_CONFIG: u8 = 0x1B;
    pub(super) const ACCEL_CONFIG: u8 = 0x1C;
    pub(super) const ACCEL_XOUT_H: u8 = 0x3B;
    pub(super) const PWR_MGMT_1: u8 = 0x6B;
    pub(super) const WHO_AM_I: u8 = 0x75;
}

/// What WHO_AM_I answers on an MPU-6050, whatever its AD0 pin.
const WHO_AM_I_MPU6050: u8 = 0x68;
/// Standard gravity, in m/s².
const G: f32 = 9.806_65;
/// LSB per g at ±2 g.
const ACCEL_LSB_PER_G: f32 = 16_384.0;
/// LSB per °/s at ±250 °/s.
const GYRO_LSB_PER_DEG_S: f32 = 131.0;

/// An MPU-6050 on an I2C bus, set to ±2 g and ±250 °/s.
///
/// # Examples
///
/// ```
/// use compaktor_pi::device::{DeviceError, Imu};
/// use compaktor_pi::drivers::Mpu6050;
/// # struct Bus;
/// # impl embedded_hal::i2c::ErrorType for Bus { type Error = core::convert::Infallible; }
/// # impl embedded_hal::i2c::I2c for Bus {
/// #     fn transaction(
/// #         &mut self,
/// #         _: u8,
/// #         ops: &mut [embedded_hal::i2c::Operation<'_>],
/// #     ) -> Result<(), Self::Error> {
/// #         for op in ops {
/// #             if let embedded_hal::i2c::Operation::Read(buf) = op { buf.fill(0x68) }
/// #         }
/// #         Ok(())
/// #     }
/// # }
/// # let i2c = Bus;
///
/// // `i2c`: an I2C bus from a backend (/dev/i2c-1 on a Pi).
/// let mut imu = Mpu6050::new(i2c);
/// imu.init()?; // wake, check WHO_AM_I, ±2 g, ±250 °/s
/// let sample = imu.read()?;
/// println!("accel {:?} m/s², gyro {:?} rad/s", sample.accel, sample.gyro);
/// # Ok::<(), DeviceError>(())
/// ```
#[derive(Debug)]
pub struct Mpu6050<I2C> {
    i2c: I2C,
    address: u8,
}

impl<I2C> Mpu6050<I2C> {
    /// The address with AD0 low (the usual breakout default).
    pub const DEFAULT_ADDRESS: u8 = 0x68;
    /// The address with AD0 high.
    pub const ALTERNATE_ADDRESS: u8 = 0x69;

    /// Takes the bus, for a chip at address 0x68. No transfer happens until [`Mpu6050::init`].
    pub fn new(i2c: I2C) -> Self {
        Self::with_address(i2c, Self::DEFAULT_ADDRESS)
    }

    /// Takes the bus, for a chip at `address` (0x69 with AD0 high).
    pub fn with_address(i2c: I2C, address: u8) -> Self {
        Mpu6050 { i2c, address }
    }

    /// The chip's I2C address.
    pub fn address(&self) -> u8 {
        self.address
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }
}

impl<I2C: I2c> Mpu6050<I2C> {
    /// Wakes the chip (it powers up asleep), checks that it is an MPU-6050, and sets the ranges
    /// to ±2 g and ±250 °/s. Call it once before reading.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Protocol`] if WHO_AM_I is not 0x68 (another chip, or a clone such as the
    /// MPU-6500 at 0x70); [`DeviceError::Bus`] if a transfer fails (nothing at the address).
    pub fn init(&mut self) -> Result<(), DeviceError> {
        self.write_register(reg::PWR_MGMT_1, 0x00)?;
        let mut who = [0];
        self.i2c
            .write_read(self.address, &[reg::WHO_AM_I], &mut who)
            .map_err(|e| self.bus_error(e))?;
        if who[0] != WHO_AM_I_MPU6050 {
            return Err(DeviceError::Protocol(format!(
                "MPU-6050 at {:#04x}: WHO_AM_I is {:#04x}, expected {WHO_AM_I_MPU6050:#04x}",
                self.address, who[0]
            )));
        }
        self.write_register(reg::ACCEL_CONFIG, 0x00)?;
        self.write_register(reg::GYRO_CONFIG, 0x00)
    }

    /// Reads one sample: the 14 data registers from ACCEL_XOUT_H in one transfer (accelerometer,
    /// temperature, gyroscope; big-endian), so the six values come from the same instant.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Bus`] if the transfer fails.
    pub fn read(&mut self) -> Result<ImuSample, DeviceError> {
        let mut raw = [0u8; 14];
        self.i2c
            .write_read(self.address, &[reg::ACCEL_XOUT_H], &mut raw)
            .map_err(|e| self.bus_error(e))?;
        let word = |i: usize| f32::from(i16::from_be_bytes([raw[2 * i], raw[2 * i + 1]]));
        let accel = |i: usize| word(i) / ACCEL_LSB_PER_G * G;
        // Words 0..=2 are the accelerometer, 3 the temperature, 4..=6 the gyroscope.
        let gyro = |i: usize| (word(i) / GYRO_LSB_PER_DEG_S).to_radians();
        Ok(ImuSample {
            accel: [accel(0), accel(1), accel(2)],
            gyro: [gyro(4), gyro(5), gyro(6)],
        })
    }

    fn write_register(&mut self, register: u8, value: u8) -> Result<(), DeviceError> {
        self.i2c
            .write(self.address, &[register, value])
            .map_err(|e| self.bus_error(e))
    }

    fn bus_error(&self, e: impl core::fmt::Debug) -> DeviceError {
        DeviceError::Bus(format!("MPU-6050 at {:#04x}: {e:?}", self.address))
    }
}

impl<I2C: I2c + Send + 'static> Imu for Mpu6050<I2C> {
    fn read(&mut self) -> Result<ImuSample, DeviceError> {
        Mpu6050::read(self)
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal::i2c::ErrorKind;
    use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as I2cT};

    use super::*;

    const ADDR: u8 = 0x68;

    fn init_transactions(who_am_i: u8) -> Vec<I2cT> {
        vec![
            I2cT::write(ADDR, vec![0x6B, 0x00]),
            I2cT::write_read(ADDR, vec![0x75], vec![who_am_i]),
            I2cT::write(ADDR, vec![0x1C, 0x00]),
            I2cT::write(ADDR, vec![0x1B, 0x00]),
        ]
    }

    #[test]
    fn init_wakes_checks_and_configures() {
        let mut i2c = I2cMock::new(&init_transactions(0x68));
        let mut imu = Mpu6050::new(i2c.clone());
        imu.init().unwrap();
        i2c.done();
    }

    #[test]
    fn init_refuses_another_chip() {
        let mut i2c = I2cMock::new(&init_transactions(0x70)[..2]);
        let mut imu = Mpu6050::new(i2c.clone());
        let err = imu.init().unwrap_err();
        assert_eq!(
            err,
            DeviceError::Protocol("MPU-6050 at 0x68: WHO_AM_I is 0x70, expected 0x68".to_owned())
        );
        i2c.done();
    }

    #[test]
    fn init_reports_a_missing_chip_as_a_bus_error() {
        let mut i2c = I2cMock::new(&[I2cT::write(0x69, vec![0x6B, 0x00]).with_error(
            ErrorKind::NoAcknowledge(embedded_hal::i2c::NoAcknowledgeSource::Address),
        )]);
        let mut imu = Mpu6050::with_address(i2c.clone(), 0x69);
        let err = imu.init().unwrap_err();
        assert!(
            matches!(&err, DeviceError::Bus(m) if m.contains("0x69")),
            "{err}"
        );
        i2c.done();
    }

    #[test]
    fn read_is_one_burst_scaled_to_si_units() {
        let data = vec![
            0x40, 0x00, // ax = 16384: 1 g
            0xC0, 0x00, // ay = -16384: -1 g
            0x20, 0x00, // az = 8192: 0.5 g
            0x12, 0x34, // temperature: ignored
            0x00, 0x83, // gx = 131: 1 °/s
            0xFF, 0x7D, // gy = -131: -1 °/s
            0x7F, 0xFF, // gz = 32767: 250.13 °/s
        ];
        let mut i2c = I2cMock::new(&[I2cT::write_read(ADDR, vec![0x3B], data)]);
        let mut imu: Box<dyn Imu> = Box::new(Mpu6050::new(i2c.clone()));

        let s = imu.read().unwrap();
        let close = |a: f32, b: f32| (a - b).abs() < 1e-4;
        assert!(close(s.accel[0], 9.80665), "{s:?}");
        assert!(close(s.accel[1], -9.80665), "{s:?}");
        assert!(close(s.accel[2], 4.903325), "{s:?}");
        assert!(close(s.gyro[0], 1f32.to_radians()), "{s:?}");
        assert!(close(s.gyro[1], -(1f32.to_radians())), "{s:?}");
        assert!(close(s.gyro[2], (32767.0f32 / 131.0).to_radians()), "{s:?}");
        i2c.done();
    }
}
