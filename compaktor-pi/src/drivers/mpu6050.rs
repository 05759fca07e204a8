//! The MPU-6050: a 3-axis accelerometer and 3-axis gyroscope on I2C, read through its plain data
//! registers (no DMP firmware). Samples come in SI units: m/s² and rad/s. Compatible chips (the
//! MPU-6500, MPU-9250, MPU-9255) and the clones sold on MPU-6050 boards answer the same
//! registers; they are accepted by their WHO_AM_I value, with a warning.
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

/// Standard gravity, in m/s².
const G: f32 = 9.806_65;
/// LSB per g at ±2 g.
const ACCEL_LSB_PER_G: f32 = 16_384.0;
/// LSB per °/s at ±250 °/s.
const GYRO_LSB_PER_DEG_S: f32 = 131.0;

/// The chip behind an MPU-6050 driver, as its WHO_AM_I register (0x75) names it. All of them
/// answer the registers the driver uses (power, ranges, the 14 data bytes) the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MpuChip {
    /// A genuine MPU-6050 (or MPU-6000): 0x68, whatever the AD0 pin.
    Mpu6050,
    /// An MPU-6500: 0x70. Often found on boards sold as MPU-6050 or MPU-9250.
    Mpu6500,
    /// An MPU-9250 (MPU-6500 plus a magnetometer, which this driver does not read): 0x71.
    Mpu9250,
    /// An MPU-9255: 0x73.
    Mpu9255,
    /// A clone of unknown make sold as an MPU-6050, with the value its WHO_AM_I reads: 0x72,
    /// or 0x98 (boards marked "MPU-6050A"); both reported working on the plain data registers.
    Clone(u8),
}

impl MpuChip {
    /// The WHO_AM_I values accepted, genuine MPU-6050 first.
    pub const KNOWN_WHO_AM_I: [u8; 6] = [0x68, 0x70, 0x71, 0x73, 0x72, 0x98];

    /// The chip that answers `who_am_i`, or `None` for a value no compatible chip gives.
    ///
    /// ```
    /// use compaktor_pi::drivers::MpuChip;
    ///
    /// assert_eq!(MpuChip::from_who_am_i(0x68), Some(MpuChip::Mpu6050));
    /// assert_eq!(MpuChip::from_who_am_i(0x71), Some(MpuChip::Mpu9250));
    /// assert_eq!(MpuChip::from_who_am_i(0x98), Some(MpuChip::Clone(0x98)));
    /// assert_eq!(MpuChip::from_who_am_i(0x42), None);
    /// ```
    pub fn from_who_am_i(who_am_i: u8) -> Option<Self> {
        match who_am_i {
            0x68 => Some(MpuChip::Mpu6050),
            0x70 => Some(MpuChip::Mpu6500),
            0x71 => Some(MpuChip::Mpu9250),
            0x73 => Some(MpuChip::Mpu9255),
            0x72 | 0x98 => Some(MpuChip::Clone(who_am_i)),
            _ => None,
        }
    }

    /// The value its WHO_AM_I register reads.
    pub fn who_am_i(self) -> u8 {
        match self {
            MpuChip::Mpu6050 => 0x68,
            MpuChip::Mpu6500 => 0x70,
            MpuChip::Mpu9250 => 0x71,
            MpuChip::Mpu9255 => 0x73,
            MpuChip::Clone(who_am_i) => who_am_i,
        }
    }
}

impl std::fmt::Display for MpuChip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MpuChip::Mpu6050 => f.write_str("MPU-6050"),
            MpuChip::Mpu6500 => f.write_str("MPU-6500"),
            MpuChip::Mpu9250 => f.write_str("MPU-9250"),
            MpuChip::Mpu9255 => f.write_str("MPU-9255"),
            MpuChip::Clone(_) => f.write_str("an MPU-6050 clone"),
        }
    }
}

/// An MPU-6050 (or a compatible chip, see [`MpuChip`]) on an I2C bus, set to ±2 g and
/// ±250 °/s.
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
/// let chip = imu.init()?; // wake, check WHO_AM_I, ±2 g, ±250 °/s
/// println!("found {chip}");
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
    /// Wakes the chip (it powers up asleep), checks what it is, and sets the ranges to ±2 g and
    /// ±250 °/s. Call it once before reading. Answers the chip WHO_AM_I names; anything but a
    /// genuine MPU-6050 is logged as a warning naming the value read.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Protocol`] if WHO_AM_I is a value no compatible chip gives (another
    /// device at the address); [`DeviceError::Bus`] if a transfer fails (nothing at the
    /// address).
    pub fn init(&mut self) -> Result<MpuChip, DeviceError> {
        self.write_register(reg::PWR_MGMT_1, 0x00)?;
        let mut who = [0];
        self.i2c
            .write_read(self.address, &[reg::WHO_AM_I], &mut who)
            .map_err(|e| self.bus_error(e))?;
        let chip = MpuChip::from_who_am_i(who[0]).ok_or_else(|| {
            let known: Vec<String> = MpuChip::KNOWN_WHO_AM_I
                .iter()
                .map(|v| format!("{v:#04x}"))
                .collect();
            DeviceError::Protocol(format!(
                "MPU-6050 at {:#04x}: WHO_AM_I is {:#04x}, not a compatible chip ({})",
                self.address,
                who[0],
                known.join(", ")
            ))
        })?;
        if chip != MpuChip::Mpu6050 {
            tracing::warn!(
                "MPU-6050 at {:#04x}: WHO_AM_I is {:#04x} ({chip}), not 0x68; reading it as an \
                 MPU-6050 (same registers)",
                self.address,
                who[0]
            );
        }
        self.write_register(reg::ACCEL_CONFIG, 0x00)?;
        self.write_register(reg::GYRO_CONFIG, 0x00)?;
        Ok(chip)
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

    /// Runs `f` with a log subscriber; returns its result and what it logged.
    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let result = tracing::subscriber::with_default(subscriber, f);
        let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        (result, log)
    }

    #[test]
    fn init_wakes_checks_and_configures() {
        let mut i2c = I2cMock::new(&init_transactions(0x68));
        let mut imu = Mpu6050::new(i2c.clone());
        let (chip, log) = logged(|| imu.init());
        assert_eq!(chip, Ok(MpuChip::Mpu6050));
        assert_eq!(log, "", "a genuine MPU-6050 is not warned about");
        i2c.done();
    }

    #[test]
    fn init_accepts_compatible_chips_and_clones_with_a_warning() {
        let cases = [
            (0x70, MpuChip::Mpu6500, "(MPU-6500)"),
            (0x71, MpuChip::Mpu9250, "(MPU-9250)"),
            (0x73, MpuChip::Mpu9255, "(MPU-9255)"),
            (0x72, MpuChip::Clone(0x72), "(an MPU-6050 clone)"),
            (0x98, MpuChip::Clone(0x98), "(an MPU-6050 clone)"),
        ];
        for (who_am_i, expected, named) in cases {
            // Byte for byte the same transfers as a genuine MPU-6050.
            let mut i2c = I2cMock::new(&init_transactions(who_am_i));
            let mut imu = Mpu6050::new(i2c.clone());
            let (chip, log) = logged(|| imu.init());
            assert_eq!(chip, Ok(expected));
            assert!(log.contains("WARN"), "{log}");
            let value = format!("MPU-6050 at 0x68: WHO_AM_I is {who_am_i:#04x} {named}, not 0x68");
            assert!(log.contains(&value), "{log}");
            assert_eq!(MpuChip::from_who_am_i(who_am_i), Some(expected));
            assert_eq!(expected.who_am_i(), who_am_i);
            i2c.done();
        }
    }

    #[test]
    fn init_refuses_an_unknown_chip_before_configuring_it() {
        for who_am_i in [0x00, 0x42, 0x69, 0xFF] {
            // No range writes after the refusal.
            let mut i2c = I2cMock::new(&init_transactions(who_am_i)[..2]);
            let mut imu = Mpu6050::new(i2c.clone());
            let err = imu.init().unwrap_err();
            assert_eq!(
                err,
                DeviceError::Protocol(format!(
                    "MPU-6050 at 0x68: WHO_AM_I is {who_am_i:#04x}, not a compatible chip \
                     (0x68, 0x70, 0x71, 0x73, 0x72, 0x98)"
                ))
            );
            i2c.done();
        }
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
