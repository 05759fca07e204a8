//! The simulated SPI device of an MCP3008 8-channel 10-bit ADC, clocked bit by bit as the chip
//! does (start bit, SGL/DIFF, D2..D0, sample, null bit, B9..B0 then B1..B9 LSB first), so any
//! framing a driver uses works. Channels `0..count` are the line sensors.

use embedded_hal::spi::{self, Operation, SpiDevice};

use super::bus::BusError;
use super::world::World;

/// The simulated MCP3008 (from [`World::adc`]): channel `i` reads line sensor `i` (sensor 0
/// leftmost) — about 900 over the tape, 100 off it, blending across the tape's edge, with
/// noise; channels without a sensor read 0. In differential mode a channel pair reads the
/// positive difference.
#[derive(Debug)]
pub struct SimSpi {
    world: World,
}

impl SimSpi {
    pub(crate) fn new(world: World) -> Self {
        SimSpi { world }
    }
}

/// Where the chip is in one frame (chip select low).
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the start bit; output high-Z (reads 0).
    Idle,
    /// Shifting in SGL/DIFF and D2..D0.
    Command { bits: u8, count: u8 },
    /// Shifting out: clock 0 samples, clock 1 is the null bit, then B9..B0, then B1..B9.
    Output { value: u16, clock: u8 },
}

/// One frame's bit machine.
struct Frame<'w> {
    world: &'w World,
    phase: Phase,
}

impl Frame<'_> {
    fn clock_bit(&mut self, mosi: bool) -> bool {
        match self.phase {
            Phase::Idle => {
                if mosi {
                    self.phase = Phase::Command { bits: 0, count: 0 };
                }
                false
            }
            Phase::Command { bits, count } => {
                let bits = bits << 1 | u8::from(mosi);
                self.phase = if count == 3 {
                    Phase::Output {
                        value: self.sample(bits & 0b1000 != 0, bits & 0b111),
                        clock: 0,
                    }
                } else {
                    Phase::Command {
                        bits,
                        count: count + 1,
                    }
                };
                false
            }
            Phase::Output { value, clock } => {
                self.phase = Phase::Output {
                    value,
                    clock: clock.saturating_add(1),
                };
                match clock {
                    2..=11 => value >> (11 - clock) & 1 != 0,
                    12..=20 => value >> (clock - 11) & 1 != 0,
                    _ => false,
                }
            }
        }
    }

    fn clock_byte(&mut self, mosi: u8) -> u8 {
        (0..8).rev().fold(0, |miso, bit| {
            miso << 1 | u8::from(self.clock_bit(mosi >> bit & 1 != 0))
        })
    }

    fn sample(&self, single: bool, channel: u8) -> u16 {
        if single {
            self.world.adc_channel(channel)
        } else {
            // CH(2k) - CH(2k+1), or the reverse when D0 is set.
            let (plus, minus) = (channel, channel ^ 1);
            self.world
                .adc_channel(plus)
                .saturating_sub(self.world.adc_channel(minus))
        }
    }
}

impl spi::ErrorType for SimSpi {
    type Error = BusError;
}

impl SpiDevice for SimSpi {
    /// Never fails.
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), BusError> {
        let mut frame = Frame {
            world: &self.world,
            phase: Phase::Idle,
        };
        for op in operations {
            match op {
                Operation::Write(bytes) => bytes.iter().for_each(|&b| {
                    frame.clock_byte(b);
                }),
                Operation::Read(buf) => buf.iter_mut().for_each(|b| *b = frame.clock_byte(0)),
                Operation::Transfer(read, write) => {
                    for i in 0..read.len().max(write.len()) {
                        let miso = frame.clock_byte(write.get(i).copied().unwrap_or(0));
                        if let Some(r) = read.get_mut(i) {
                            *r = miso;
                        }
                    }
                }
                Operation::TransferInPlace(buf) => {
                    buf.iter_mut().for_each(|b| *b = frame.clock_byte(*b))
                }
                Operation::DelayNs(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::WorldConfig;

    /// The usual MCP3008 driver frame.
    fn read_channel(spi: &mut impl SpiDevice, channel: u8) -> u16 {
        let mut frame = [0x01, (0x08 | channel) << 4, 0x00];
        spi.transfer_in_place(&mut frame).unwrap();
        u16::from(frame[1] & 3) << 8 | u16::from(frame[2])
    }

    #[test]
    fn sensors_over_the_line_read_high() {
        // On the line track's start the middle sensor (2) sits on the tape.
        let world = World::new(WorldConfig::line_track(5));
        let mut adc = world.adc();
        let values: Vec<u16> = (0..5).map(|ch| read_channel(&mut adc, ch)).collect();
        assert!(values[2] > 850, "{values:?}");
        for ch in [0, 1, 3, 4] {
            assert!((50..150).contains(&values[ch]), "{values:?}");
        }
        assert_eq!(read_channel(&mut adc, 7), 0);
    }

    #[test]
    fn any_framing_works() {
        let world = World::new(WorldConfig::line_track(5));
        let mut adc = world.adc();
        // Start bit early: 0 1 | 1 0 1 0 (single, channel 2) | sample, null | B9..B2 | B1 B0.
        let mut frame = [0b0110_1000, 0, 0];
        adc.transfer_in_place(&mut frame).unwrap();
        let value = u16::from(frame[1]) << 2 | u16::from(frame[2] >> 6);
        assert!(value > 850, "{value}");
        // Differential 2-3: sensor 2 on the tape, 3 off it.
        let mut frame = [0x01, 0x20, 0x00];
        adc.transfer_in_place(&mut frame).unwrap();
        let diff = u16::from(frame[1] & 3) << 8 | u16::from(frame[2]);
        assert!((700..900).contains(&diff), "{diff}");
    }

    #[test]
    fn off_the_track_everything_reads_low() {
        let world = World::new(WorldConfig::empty(4.0, 3.0));
        let mut adc = world.adc();
        for ch in 0..5 {
            assert!(read_channel(&mut adc, ch) < 150);
        }
    }
}
