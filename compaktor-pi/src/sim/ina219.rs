//! A simulated INA219 on the robot's I2C bus, byte for byte as the datasheet has it: 16-bit
//! big-endian registers behind a register pointer that does not move by itself,
//! CONFIGURATION (reset 0x399F; bit 15 resets the chip), SHUNT_VOLTAGE (10 µV a bit, clipped
//! to the gain's range), BUS_VOLTAGE (4 mV a bit from bit 3, conversion ready in bit 1),
//! POWER and CURRENT (0 until CALIBRATION is written). What it measures is the battery of the
//! simulated robot ([`BatteryModel`](super::BatteryModel)), drained in the physics step.

const CONFIGURATION: u8 = 0x00;
const SHUNT_VOLTAGE: u8 = 0x01;
const BUS_VOLTAGE: u8 = 0x02;
const POWER: u8 = 0x03;
const CURRENT: u8 = 0x04;
const CALIBRATION: u8 = 0x05;
const CONFIGURATION_RESET: u16 = 0x399F;
const RESET: u16 = 0x8000;
/// Conversion ready (BUS_VOLTAGE bit 1).
const CNVR: u16 = 0x0002;

/// The chip's writable registers and its register pointer.
#[derive(Debug, Clone)]
pub(crate) struct Ina219Registers {
    configuration: u16,
    calibration: u16,
    pointer: u8,
    /// Which byte of the register the next read returns (0 the high one).
    half: usize,
}

impl Default for Ina219Registers {
    fn default() -> Self {
        Ina219Registers {
            configuration: CONFIGURATION_RESET,
            calibration: 0,
            pointer: 0,
            half: 0,
        }
    }
}

/// What the chip measures now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// Across the shunt, V.
    pub(crate) shunt_v: f64,
    /// The bus (the battery), V.
    pub(crate) bus_v: f64,
}

impl Ina219Registers {
    /// A write: the pointer, then (when given) the register's two bytes, high first.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        let Some((&pointer, data)) = bytes.split_first() else {
            return;
        };
        self.pointer = pointer;
        self.half = 0;
        let [high, low, ..] = *data else {
            return;
        };
        let value = u16::from_be_bytes([high, low]);
        match pointer {
            CONFIGURATION if value & RESET != 0 => *self = Ina219Registers::default(),
            CONFIGURATION => self.configuration = value,
            // Bit 0 of CALIBRATION is not implemented: it reads 0.
            CALIBRATION => self.calibration = value & 0xFFFE,
            _ => {} // the measurement registers are read-only
        }
        self.pointer = pointer;
    }

    /// A read of the pointed register, high byte first, over and over.
    pub(crate) fn read(&mut self, buf: &mut [u8], measured: Measured) {
        let value = self.register(self.pointer, measured).to_be_bytes();
        for byte in buf {
            *byte = value[self.half];
            self.half ^= 1;
        }
    }

    fn shunt_raw(&self, measured: Measured) -> i16 {
        // PGA (bits 12-11): ±40, ±80, ±160, ±320 mV, in 10 µV steps.
        let range = 4000 << ((self.configuration >> 11) & 3);
        let raw = (measured.shunt_v / 10e-6).round();
        raw.clamp(-f64::from(range), f64::from(range)) as i16
    }

    fn bus_raw(&self, measured: Measured) -> u16 {
        // BRNG (bit 13): 16 V or 32 V full scale, in 4 mV steps.
        let full_scale = if self.configuration & 0x2000 != 0 {
            8000
        } else {
            4000
        };
        (measured.bus_v * 1000.0 / 4.0)
            .round()
            .clamp(0.0, f64::from(full_scale)) as u16
    }

    fn register(&self, pointer: u8, measured: Measured) -> u16 {
        let current = i32::from(self.shunt_raw(measured)) * i32::from(self.calibration) / 4096;
        match pointer {
            CONFIGURATION => self.configuration,
            SHUNT_VOLTAGE => self.shunt_raw(measured) as u16,
            BUS_VOLTAGE => (self.bus_raw(measured) << 3) | CNVR,
            POWER => (current.unsigned_abs() * u32::from(self.bus_raw(measured)) / 5000) as u16,
            CURRENT => current as i16 as u16,
            CALIBRATION => self.calibration,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8.0 V on the bus, 1.5 A through 0.1 Ω.
    const MEASURED: Measured = Measured {
        shunt_v: 0.15,
        bus_v: 8.0,
    };

    fn read(chip: &mut Ina219Registers, register: u8) -> [u8; 2] {
        chip.write(&[register]);
        let mut buf = [0; 2];
        chip.read(&mut buf, MEASURED);
        buf
    }

    #[test]
    fn registers_read_as_the_datasheet_says() {
        let mut chip = Ina219Registers::default();
        assert_eq!(read(&mut chip, CONFIGURATION), [0x39, 0x9F]);
        // 150 mV / 10 µV = 15000 = 0x3A98.
        assert_eq!(read(&mut chip, SHUNT_VOLTAGE), [0x3A, 0x98]);
        // 8000 mV / 4 mV = 2000, shifted 3 left = 0x3E80, conversion ready.
        assert_eq!(read(&mut chip, BUS_VOLTAGE), [0x3E, 0x82]);
        // Uncalibrated: no current, no power.
        assert_eq!(read(&mut chip, CURRENT), [0, 0]);
        assert_eq!(read(&mut chip, POWER), [0, 0]);
        // Calibrated with 4096: CURRENT = SHUNT_VOLTAGE.
        chip.write(&[CALIBRATION, 0x10, 0x01]);
        assert_eq!(read(&mut chip, CALIBRATION), [0x10, 0x00]);
        assert_eq!(read(&mut chip, CURRENT), [0x3A, 0x98]);
        // The pointer stays: reading on repeats the register.
        let mut four = [0; 4];
        chip.read(&mut four, MEASURED);
        assert_eq!(four, [0x3A, 0x98, 0x3A, 0x98]);
    }

    #[test]
    fn the_gain_clips_and_bit_15_resets() {
        let mut chip = Ina219Registers::default();
        // PGA /1: ±40 mV, so 150 mV reads as the top of the range, 4000 = 0x0FA0.
        chip.write(&[CONFIGURATION, 0x21, 0x9F]);
        assert_eq!(read(&mut chip, SHUNT_VOLTAGE), [0x0F, 0xA0]);
        chip.write(&[CALIBRATION, 0x20, 0x00]);
        chip.write(&[CONFIGURATION, 0x80, 0x00]);
        assert_eq!(read(&mut chip, CONFIGURATION), [0x39, 0x9F]);
        assert_eq!(read(&mut chip, CALIBRATION), [0, 0]);
    }
}
