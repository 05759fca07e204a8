//! The simulated I2C bus with an MPU-6050 at 0x68 on it: a register file with the real reset
//! values (asleep, WHO_AM_I 0x68), full-scale selection in ACCEL_CONFIG / GYRO_CONFIG, and
//! 0x3B..=0x48 (accel xyz, temperature, gyro xyz, big-endian) sampled from the robot's motion.

use embedded_hal::i2c::{self, I2c, Operation};

use super::bus::BusError;
use super::sensors::{G, imu_sample};
use super::world::World;

/// The MPU-6050's address (AD0 low).
pub(crate) const ADDRESS: u8 = 0x68;
const GYRO_CONFIG: u8 = 0x1B;
const ACCEL_CONFIG: u8 = 0x1C;
const ACCEL_XOUT_H: u8 = 0x3B;
const GYRO_ZOUT_L: u8 = 0x48;
const PWR_MGMT_1: u8 = 0x6B;
const WHO_AM_I: u8 = 0x75;
/// PWR_MGMT_1 bits.
const DEVICE_RESET: u8 = 0x80;
const SLEEP: u8 = 0x40;

/// The chip's registers and its register pointer.
#[derive(Debug, Clone)]
pub(crate) struct Mpu6050Registers {
    regs: [u8; 128],
    pointer: u8,
}

impl Default for Mpu6050Registers {
    fn default() -> Self {
        let mut regs = [0; 128];
        regs[usize::from(PWR_MGMT_1)] = SLEEP;
        regs[usize::from(WHO_AM_I)] = ADDRESS;
        Mpu6050Registers { regs, pointer: 0 }
    }
}

impl Mpu6050Registers {
    /// A write: the first byte sets the register pointer, the rest fill registers from there.
    fn write(&mut self, bytes: &[u8]) {
        let Some((&pointer, data)) = bytes.split_first() else {
            return;
        };
        self.pointer = pointer & 0x7F;
        for &byte in data {
            match self.pointer {
                PWR_MGMT_1 if byte & DEVICE_RESET != 0 => *self = Self::default(),
                ACCEL_XOUT_H..=GYRO_ZOUT_L | WHO_AM_I => {}
                r => self.regs[usize::from(r)] = byte,
            }
            self.pointer = (self.pointer + 1) & 0x7F;
        }
    }

    /// A read from the register pointer on, data registers coming from `data`.
    fn read(&mut self, buf: &mut [u8], data: &[u8; 14]) {
        for byte in buf {
            *byte = match self.pointer {
                r @ ACCEL_XOUT_H..=GYRO_ZOUT_L => data[usize::from(r - ACCEL_XOUT_H)],
                r => self.regs[usize::from(r)],
            };
            self.pointer = (self.pointer + 1) & 0x7F;
        }
    }

    fn asleep(&self) -> bool {
        self.regs[usize::from(PWR_MGMT_1)] & SLEEP != 0
    }

    /// The 14 data bytes for one sample at the configured full scales; zeros while asleep.
    fn data(&self, accel: [f64; 3], gyro: [f64; 3], temperature: f64) -> [u8; 14] {
        if self.asleep() {
            return [0; 14];
        }
        let full_scale = |reg: u8| (self.regs[usize::from(reg)] >> 3) & 3;
        let accel_lsb = 16_384.0 / f64::from(1u16 << full_scale(ACCEL_CONFIG)) / G;
        let gyro_lsb = 131.0 / f64::from(1u16 << full_scale(GYRO_CONFIG));
        let raw = |x: f64| x.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
        let words = [
            raw(accel[0] * accel_lsb),
            raw(accel[1] * accel_lsb),
            raw(accel[2] * accel_lsb),
            raw((temperature - 36.53) * 340.0),
            raw(gyro[0].to_degrees() * gyro_lsb),
            raw(gyro[1].to_degrees() * gyro_lsb),
            raw(gyro[2].to_degrees() * gyro_lsb),
        ];
        let mut out = [0; 14];
        for (chunk, word) in out.chunks_exact_mut(2).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// The simulated I2C bus of the robot (from [`World::imu`]), with an MPU-6050 at 0x68 lying
/// flat (x forward, y left, z up). It reads the robot's forward and centripetal acceleration
/// plus 1 g on z, and its yaw rate on gyro z, with the configured noise. Other addresses do not
/// acknowledge. Clones of the world share one chip.
#[derive(Debug)]
pub struct SimI2c {
    world: World,
}

impl SimI2c {
    pub(crate) fn new(world: World) -> Self {
        SimI2c { world }
    }
}

impl i2c::ErrorType for SimI2c {
    type Error = BusError;
}

impl I2c for SimI2c {
    /// # Errors
    ///
    /// [`BusError::NoDevice`] for an address no simulated chip answers.
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), BusError> {
        if address != ADDRESS {
            return self.world.other_i2c(address, operations);
        }
        self.world.with_state(|s, config| {
            // One sample per transaction, latched like the chip's shadow registers.
            let mut data = None;
            for op in operations {
                match op {
                    Operation::Write(bytes) => s.imu.write(bytes),
                    Operation::Read(buf) => {
                        let data = *data.get_or_insert_with(|| {
                            let (accel, gyro) = imu_sample(s, config);
                            s.imu.data(accel, gyro, config.robot.imu.temperature)
                        });
                        s.imu.read(buf, &data);
                    }
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use embedded_hal::digital::OutputPin;
    use embedded_hal::pwm::SetDutyCycle;

    use super::*;
    use crate::sim::{Side, WorldConfig};

    /// What the MPU-6050 driver does: wake, check, configure ±2 g / ±250 °/s, read a sample.
    fn read_sample(i2c: &mut impl I2c) -> ([f64; 3], [f64; 3]) {
        i2c.write(ADDRESS, &[PWR_MGMT_1, 0]).unwrap();
        let mut who = [0];
        i2c.write_read(ADDRESS, &[WHO_AM_I], &mut who).unwrap();
        assert_eq!(who[0], 0x68);
        i2c.write(ADDRESS, &[ACCEL_CONFIG, 0]).unwrap();
        i2c.write(ADDRESS, &[GYRO_CONFIG, 0]).unwrap();
        let mut raw = [0; 14];
        i2c.write_read(ADDRESS, &[ACCEL_XOUT_H], &mut raw).unwrap();
        let word = |i: usize| f64::from(i16::from_be_bytes([raw[2 * i], raw[2 * i + 1]]));
        let accel = [0, 1, 2].map(|i| word(i) / 16_384.0 * G);
        let gyro = [4, 5, 6].map(|i| word(i) / 131.0);
        (accel, gyro)
    }

    #[tokio::test(start_paused = true)]
    async fn at_rest_it_feels_one_g_on_z() {
        let world = World::new(WorldConfig::empty(4.0, 3.0).ideal());
        let _physics = world.start();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (accel, gyro) = read_sample(&mut world.imu());
        assert!((accel[2] - 9.80665).abs() < 0.3, "{accel:?}");
        assert!(accel[0].abs() < 0.3 && accel[1].abs() < 0.3, "{accel:?}");
        assert!(gyro.iter().all(|g| g.abs() < 1.0), "{gyro:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn turning_shows_on_gyro_z() {
        let world = World::new(WorldConfig::empty(4.0, 3.0).ideal());
        let _physics = world.start();
        let mut left = world.motor_pins(Side::Left);
        let mut right = world.motor_pins(Side::Right);
        left.in2.set_high().unwrap();
        right.in1.set_high().unwrap();
        left.enable.set_duty_cycle_percent(50).unwrap();
        right.enable.set_duty_cycle_percent(50).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        // (0.25 - -0.25) m/s / 0.15 m = 3.33 rad/s = 191 °/s, counter-clockwise.
        let (_, gyro) = read_sample(&mut world.imu());
        assert!((gyro[2] - 190.99).abs() < 2.0, "{gyro:?}");
    }

    #[test]
    fn asleep_until_woken_and_nack_elsewhere() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let mut i2c = world.imu();
        let mut raw = [0xFF; 14];
        i2c.write_read(ADDRESS, &[ACCEL_XOUT_H], &mut raw).unwrap();
        assert_eq!(raw, [0; 14]);
        let err = i2c.write(0x69, &[0]).unwrap_err();
        assert_eq!(
            i2c::Error::kind(&err),
            i2c::ErrorKind::NoAcknowledge(i2c::NoAcknowledgeSource::Address)
        );
        // ±16 g: 2048 LSB/g.
        i2c.write(ADDRESS, &[PWR_MGMT_1, 0]).unwrap();
        i2c.write(ADDRESS, &[ACCEL_CONFIG, 3 << 3]).unwrap();
        i2c.write_read(ADDRESS, &[ACCEL_XOUT_H + 4], &mut raw[..2])
            .unwrap();
        let z = i16::from_be_bytes([raw[0], raw[1]]);
        assert!((i32::from(z) - 2048).abs() < 30, "{z}");
    }
}
