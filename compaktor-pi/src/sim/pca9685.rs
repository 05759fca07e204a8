//! A simulated PCA9685 16-channel PWM board on the robot's I2C bus, byte for byte as the
//! datasheet has it: MODE1 (reset 0x11: asleep, all-call), auto-increment only when MODE1's AI
//! bit is set, four registers per channel (ON_L, ON_H, OFF_L, OFF_H, with the full-on and
//! full-off bits, full off winning), the ALL_LED registers that load every channel at once,
//! and PRE_SCALE, which takes writes only while the oscillator sleeps. Each channel's duty and
//! the board's frequency are what the motor or servo wired to it sees.

/// MODE1 and its bits.
const MODE1: u8 = 0x00;
const MODE1_RESET: u8 = 0x11;
const AUTO_INCREMENT: u8 = 0x20;
const SLEEP: u8 = 0x10;
const MODE2: u8 = 0x01;
const MODE2_RESET: u8 = 0x04;
/// The first channel's ON_L; channel `n` is at `LED0 + 4n`.
const LED0: u8 = 0x06;
const LAST_LED: u8 = LED0 + 4 * 16 - 1;
/// ALL_LED_ON_L .. ALL_LED_OFF_H: writes load every channel's register of the same offset.
const ALL_LED: u8 = 0xFA;
const ALL_LED_END: u8 = 0xFD;
const PRE_SCALE: u8 = 0xFE;
const PRE_SCALE_RESET: u8 = 0x1E;
/// Bit 4 of ON_H / OFF_H: full on / full off.
const FULL: u8 = 0x10;
/// The internal oscillator, Hz.
const OSCILLATOR_HZ: f64 = 25_000_000.0;

/// One board's registers and register pointer.
#[derive(Debug, Clone)]
pub(crate) struct Pca9685Registers {
    regs: [u8; 256],
    pointer: u8,
}

impl Default for Pca9685Registers {
    fn default() -> Self {
        let mut regs = [0; 256];
        regs[usize::from(MODE1)] = MODE1_RESET;
        regs[usize::from(MODE2)] = MODE2_RESET;
        // Every channel powers up full off (LEDn_OFF_H bit 4).
        for channel in 0..16 {
            regs[usize::from(LED0 + 4 * channel + 3)] = FULL;
        }
        regs[usize::from(PRE_SCALE)] = PRE_SCALE_RESET;
        Pca9685Registers { regs, pointer: 0 }
    }
}

impl Pca9685Registers {
    /// A write: the first byte sets the register pointer, the rest fill registers from there,
    /// moving on only with auto-increment.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        let Some((&pointer, data)) = bytes.split_first() else {
            return;
        };
        self.pointer = pointer;
        for &byte in data {
            match self.pointer {
                ALL_LED..=ALL_LED_END => {
                    let offset = self.pointer - ALL_LED;
                    for channel in 0..16 {
                        self.regs[usize::from(LED0 + 4 * channel + offset)] = byte;
                    }
                }
                PRE_SCALE if !self.asleep() => {} // blocked while the oscillator runs
                r => self.regs[usize::from(r)] = byte,
            }
            if self.regs[usize::from(MODE1)] & AUTO_INCREMENT != 0 {
                self.pointer = self.pointer.wrapping_add(1);
            }
        }
    }

    /// A read from the register pointer on (ALL_LED registers read 0).
    pub(crate) fn read(&mut self, buf: &mut [u8]) {
        for byte in buf {
            *byte = match self.pointer {
                ALL_LED..=ALL_LED_END => 0,
                r => self.regs[usize::from(r)],
            };
            if self.regs[usize::from(MODE1)] & AUTO_INCREMENT != 0 {
                self.pointer = self.pointer.wrapping_add(1);
            }
        }
    }

    fn asleep(&self) -> bool {
        self.regs[usize::from(MODE1)] & SLEEP != 0
    }

    /// The register `offset` (0 ON_L .. 3 OFF_H) of `channel`.
    fn led(&self, channel: u8, offset: u8) -> u8 {
        let register = LED0 + 4 * channel + offset;
        debug_assert!(register <= LAST_LED);
        self.regs[usize::from(register)]
    }

    /// `channel`'s share of the period it is on, 0.0..=1.0: 0 while the oscillator sleeps
    /// or full off is set, 1 with full on, else from the ON and OFF counts.
    pub(crate) fn duty(&self, channel: u8) -> f64 {
        let count = |low: u8, high: u8| u16::from(low) | (u16::from(high & 0x0F) << 8);
        let (on_l, on_h) = (self.led(channel, 0), self.led(channel, 1));
        let (off_l, off_h) = (self.led(channel, 2), self.led(channel, 3));
        if self.asleep() || off_h & FULL != 0 {
            return 0.0;
        }
        if on_h & FULL != 0 {
            return 1.0;
        }
        let (on, off) = (count(on_l, on_h), count(off_l, off_h));
        if on == off {
            return 0.0;
        }
        f64::from((off + 4096 - on) % 4096) / 4096.0
    }

    /// The PWM frequency, Hz (datasheet 7.3.5: `osc / (4096 * (prescale + 1))`).
    pub(crate) fn frequency(&self) -> u32 {
        let prescale = f64::from(self.regs[usize::from(PRE_SCALE)]) + 1.0;
        (OSCILLATOR_HZ / (4096.0 * prescale)).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_asleep_with_every_channel_full_off_at_200_hz() {
        let mut chip = Pca9685Registers::default();
        let mut mode = [0; 2];
        chip.write(&[MODE1]);
        chip.read(&mut mode[..1]);
        chip.write(&[MODE2]);
        chip.read(&mut mode[1..]);
        assert_eq!(mode, [0x11, 0x04]);
        assert_eq!(chip.frequency(), 197); // 25 MHz / (4096 * 31)
        assert!((0..16).all(|c| chip.duty(c) == 0.0));
    }

    #[test]
    fn pwm_counts_full_bits_and_sleep() {
        let mut chip = Pca9685Registers::default();
        // Without auto-increment every byte lands in the pointed register.
        chip.write(&[LED0 + 8, 0x12, 0x34]);
        assert_eq!(chip.led(2, 0), 0x34);
        assert_eq!(chip.led(2, 1), 0x00);
        // Awake, auto-increment: channel 2 on at 0, off at 1024 (and full off cleared).
        chip.write(&[MODE1, AUTO_INCREMENT]);
        chip.write(&[LED0 + 8, 0x00, 0x00, 0x00, 0x04]);
        assert_eq!(chip.duty(2), 0.25);
        // An on count later than the off count wraps around the period.
        chip.write(&[LED0 + 8, 0x00, 0x0C, 0x00, 0x04]);
        assert_eq!(chip.duty(2), 0.5);
        // Full on, unless full off is set too.
        chip.write(&[LED0 + 9, FULL]);
        assert_eq!(chip.duty(2), 1.0);
        chip.write(&[LED0 + 11, FULL]);
        assert_eq!(chip.duty(2), 0.0);
        // ALL_LED_OFF_H clears full off on every channel at once.
        chip.write(&[ALL_LED_END, 0x00]);
        assert_eq!(chip.duty(2), 1.0);
        assert_eq!(chip.led(15, 3), 0x00);
        // Asleep: nothing comes out.
        chip.write(&[MODE1, AUTO_INCREMENT | SLEEP]);
        assert_eq!(chip.duty(2), 0.0);
    }

    #[test]
    fn prescale_takes_writes_only_asleep() {
        let mut chip = Pca9685Registers::default();
        chip.write(&[PRE_SCALE, 121]); // asleep after reset: 50 Hz
        assert_eq!(chip.frequency(), 50);
        chip.write(&[MODE1, 0x01]); // awake
        chip.write(&[PRE_SCALE, 5]);
        assert_eq!(chip.frequency(), 50);
    }
}
