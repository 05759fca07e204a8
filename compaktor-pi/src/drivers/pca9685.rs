//! The PCA9685 16-channel, 12-bit PWM board on I2C: each channel as a [`PwmOutput`], so a
//! servo ([`PwmServo`](super::PwmServo)) or a motor's speed input
//! ([`L298n`](super::L298n), [`Tb6612fng`](super::Tb6612fng)) runs on it as on a hardware PWM
//! pin. The register code is the `pwm-pca9685` crate's; here live the sharing of one board
//! between its channels (one I2C device, one frequency for all 16) and [`all_off`], the
//! safe-off of a whole board.

use std::sync::{Arc, Mutex};

use embedded_hal::i2c::I2c;
use embedded_hal::pwm::{ErrorType, SetDutyCycle};
use pwm_pca9685::{Channel, ChannelOnOffControl, Pca9685};

use crate::backend::PinError;
use crate::device::DeviceError;
use crate::hal::PwmOutput;
use crate::lock;

/// The PCA9685's internal oscillator, Hz.
const OSCILLATOR_HZ: f64 = 25_000_000.0;
/// Steps of one PWM period (12 bits).
const STEPS: u16 = 4096;
/// The frequency after a reset (prescale 0x1E), Hz.
const RESET_HZ: u32 = 200;

/// One PCA9685 board: its I2C device and the frequency all its channels share. Cloning it
/// shares the board; [`channel`](Pca9685Board::channel) hands out its outputs.
///
/// # Examples
///
/// ```
/// use compaktor_pi::config::PwmWiring;
/// use compaktor_pi::drivers::Pca9685Board;
/// use compaktor_pi::hal::PwmOutput;
/// use compaktor_pi::sim::{World, WorldConfig};
/// use embedded_hal::pwm::SetDutyCycle;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A simulated robot whose pan servo listens to channel 3 of a board at 0x40.
/// let mut config = WorldConfig::empty(4.0, 3.0);
/// config.robot.wiring.servos[0].pwm = PwmWiring::Pca9685 { address: 0x40, channel: 3, bus: 1 };
/// let world = World::new(config);
///
/// // Every channel off, the oscillator running at 200 Hz.
/// let board = Pca9685Board::new(world.i2c(), 0x40)?;
/// let mut pan = board.channel(3, "servo pan")?;
/// pan.set_frequency(50)?; // the whole board runs at 50 Hz now
/// pan.set_duty_cycle_fraction(1_500, 20_000)?; // a 1.5 ms pulse
/// let pulse = world.snapshot().servo_pulse_us.unwrap();
/// assert!((pulse - 1_500.0).abs() < 5.0, "{pulse}");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pca9685Board<I2C> {
    inner: Arc<Mutex<Board<I2C>>>,
}

impl<I2C> Clone for Pca9685Board<I2C> {
    fn clone(&self) -> Self {
        Pca9685Board {
            inner: self.inner.clone(),
        }
    }
}

#[derive(Debug)]
struct Board<I2C> {
    chip: Pca9685<I2C>,
    address: u8,
    hz: u32,
    /// The channels whose user has set the frequency (bit `n` for channel `n`).
    tuned: u16,
}

impl<I2C: I2c> Pca9685Board<I2C> {
    /// Takes the board at `address` on `i2c`: every channel full off, then the oscillator
    /// started at the reset frequency (200 Hz) with register auto-increment on.
    ///
    /// # Errors
    /// [`DeviceError::OutOfRange`] for an address a PCA9685 cannot have (0x70 and below
    /// 0x08); [`DeviceError::Bus`] if the board does not answer.
    pub fn new(i2c: I2C, address: u8) -> Result<Self, DeviceError> {
        let mut chip = Pca9685::new(i2c, address).map_err(|_| {
            DeviceError::OutOfRange(format!("{address:#04x} is not a PCA9685 address"))
        })?;
        let bus = |e: pwm_pca9685::Error<I2C::Error>| {
            DeviceError::Bus(format!("PCA9685 {address:#04x}: {e:?}"))
        };
        // Off first (the board keeps its outputs across a restart of the firmware), while the
        // oscillator still sleeps, then the prescaler (which only takes writes while asleep).
        let off = ChannelOnOffControl {
            full_off: true,
            ..ChannelOnOffControl::default()
        };
        chip.set_all_channels(&[off; 16]).map_err(bus)?;
        chip.set_prescale(prescale(RESET_HZ)).map_err(bus)?;
        chip.enable().map_err(bus)?;
        Ok(Pca9685Board {
            inner: Arc::new(Mutex::new(Board {
                chip,
                address,
                hz: RESET_HZ,
                tuned: 0,
            })),
        })
    }

    /// Channel `channel` (0-15) of the board, off. `label` names its user in errors.
    ///
    /// # Errors
    /// [`DeviceError::OutOfRange`] for a channel above 15.
    pub fn channel(&self, channel: u8, label: &str) -> Result<Pca9685Channel<I2C>, DeviceError> {
        let which = Channel::try_from(channel).map_err(|()| {
            DeviceError::OutOfRange(format!("PCA9685 channel {channel} does not exist (0-15)"))
        })?;
        let address = lock(&self.inner).address;
        Ok(Pca9685Channel {
            board: self.inner.clone(),
            channel: which,
            index: channel,
            name: format!("PCA9685 {address:#04x} channel {channel} ({label})"),
        })
    }
}

/// The prescale value for `hz` (datasheet 7.3.5: `round(osc / (4096 * hz)) - 1`), within the
/// chip's 3..=255.
fn prescale(hz: u32) -> u8 {
    let value = (OSCILLATOR_HZ / (f64::from(STEPS) * f64::from(hz.max(1)))).round() - 1.0;
    value.clamp(3.0, 255.0) as u8
}

/// One channel of a [`Pca9685Board`]: a [`PwmOutput`] with 4096 steps
/// ([`max_duty_cycle`](SetDutyCycle::max_duty_cycle)); 0 is full off and 4096 full on.
#[derive(Debug)]
pub struct Pca9685Channel<I2C> {
    board: Arc<Mutex<Board<I2C>>>,
    channel: Channel,
    index: u8,
    name: String,
}

impl<I2C> Pca9685Channel<I2C> {
    fn error(&self, what: impl std::fmt::Display) -> PinError {
        PinError(format!("{}: {what}", self.name))
    }
}

impl<I2C: I2c> ErrorType for Pca9685Channel<I2C> {
    type Error = PinError;
}

impl<I2C: I2c> SetDutyCycle for Pca9685Channel<I2C> {
    fn max_duty_cycle(&self) -> u16 {
        STEPS
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), PinError> {
        let mut board = lock(&self.board);
        let chip = &mut board.chip;
        let written = match duty {
            0 => chip.set_channel_full_off(self.channel),
            // Full on first: full off, if set, still wins until the OFF count is written.
            STEPS => chip
                .set_channel_full_on(self.channel, 0)
                .and_then(|()| chip.set_channel_off(self.channel, 0)),
            d if d < STEPS => chip.set_channel_on_off(self.channel, 0, d),
            d => {
                drop(board);
                return Err(self.error(format!("duty cycle {d} is above {STEPS}")));
            }
        };
        drop(board);
        written.map_err(|e| self.error(format!("{e:?}")))
    }
}

impl<I2C: I2c> PwmOutput for Pca9685Channel<I2C> {
    /// Sets the frequency of the whole board (the PCA9685 has one prescaler for its 16
    /// channels); the duty cycles, counted in steps of the period, are kept.
    ///
    /// # Errors
    /// Refused outside 24..=1526 Hz, and when another channel's user has set a different
    /// frequency (a servo at 50 Hz and a motor at 1 kHz cannot share a board).
    fn set_frequency(&mut self, hz: u32) -> Result<(), PinError> {
        let (min, max) = crate::config::PCA9685_HZ;
        if !(min..=max).contains(&hz) {
            return Err(self.error(format!("{hz} Hz is outside a PCA9685's {min}-{max} Hz")));
        }
        let mut board = lock(&self.board);
        let others = board.tuned & !(1 << self.index);
        if others != 0 && board.hz != hz {
            let (now, first) = (board.hz, others.trailing_zeros());
            drop(board);
            return Err(self.error(format!(
                "the board runs at {now} Hz for channel {first}; all its channels share one \
                 frequency, {hz} Hz cannot be set"
            )));
        }
        let written = board.chip.set_prescale(prescale(hz));
        if written.is_ok() {
            board.hz = hz;
            board.tuned |= 1 << self.index;
        }
        drop(board);
        written.map_err(|e| self.error(format!("{e:?}")))
    }

    fn frequency(&self) -> u32 {
        lock(&self.board).hz
    }
}

/// Every channel of the PCA9685 at `address` full off, whatever drove them: the board keeps
/// its outputs when the process that set them dies, so the safe-off after the firmware
/// ([`crate::safe_off`]) calls this for each board the robot file names.
///
/// # Errors
/// [`DeviceError::OutOfRange`] for an address a PCA9685 cannot have; [`DeviceError::Bus`]
/// if the board does not answer.
pub fn all_off<I2C: I2c>(i2c: I2C, address: u8) -> Result<(), DeviceError> {
    let mut chip = Pca9685::new(i2c, address)
        .map_err(|_| DeviceError::OutOfRange(format!("{address:#04x} is not a PCA9685 address")))?;
    let bus = |e: pwm_pca9685::Error<I2C::Error>| {
        DeviceError::Bus(format!("PCA9685 {address:#04x}: {e:?}"))
    };
    // Awake (the cached mode the driver writes back is the reset one, asleep), then the
    // ALL_LED full-off bit, which every channel obeys over its own registers.
    chip.enable().map_err(bus)?;
    chip.set_channel_full_off(Channel::All).map_err(bus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PwmWiring;
    use crate::sim::{Side, SimI2c, World, WorldConfig};

    /// A simulated robot whose left motor's speed input is channel 4 of a board at 0x41.
    fn board() -> (World, Pca9685Board<SimI2c>) {
        let mut config = WorldConfig::empty(4.0, 3.0);
        config.robot.wiring.motor_pwm[0] = PwmWiring::Pca9685 {
            address: 0x41,
            channel: 4,
            bus: 1,
        };
        config.robot.wiring.battery_monitor = None;
        let world = World::new(config);
        let board = Pca9685Board::new(world.i2c(), 0x41).unwrap();
        (world, board)
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Pca9685Board<SimI2c>>();
        send_sync::<Pca9685Channel<SimI2c>>();
    }

    #[test]
    fn full_on_full_off_and_too_much() {
        let (world, board) = board();
        let mut motor = board.channel(4, "motor left").unwrap();
        let duty = || world.motor_pins(Side::Left).enable.fraction();
        motor.set_duty_cycle(STEPS).unwrap();
        assert_eq!(duty(), 1.0);
        motor.set_duty_cycle(1024).unwrap();
        assert_eq!(duty(), 0.25);
        motor.set_duty_cycle(0).unwrap();
        assert_eq!(duty(), 0.0);
        let err = motor.set_duty_cycle(STEPS + 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PCA9685 0x41 channel 4 (motor left): duty cycle 4097 is above 4096"
        );
        assert!(board.channel(16, "nothing").is_err());
    }

    #[test]
    fn one_frequency_for_the_whole_board() {
        let (world, board) = board();
        let mut motor = board.channel(4, "motor left").unwrap();
        let mut servo = board.channel(5, "servo pan").unwrap();
        motor.set_frequency(1000).unwrap();
        motor.set_duty_cycle(2048).unwrap();
        // 25 MHz / 4096 / (prescale 5 + 1).
        assert_eq!(world.motor_pins(Side::Left).enable.frequency(), 1017);
        let err = servo.set_frequency(50).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PCA9685 0x41 channel 5 (servo pan): the board runs at 1000 Hz for channel 4; all \
             its channels share one frequency, 50 Hz cannot be set"
        );
        // The same frequency is fine, and so is a change by the only user.
        servo.set_frequency(1000).unwrap();
        let mut alone = Pca9685Board::new(world.i2c(), 0x41)
            .unwrap()
            .channel(4, "motor left")
            .unwrap();
        alone.set_frequency(500).unwrap();
        alone.set_duty_cycle(2048).unwrap();
        assert_eq!(world.motor_pins(Side::Left).enable.frequency(), 509);
        assert!(alone.set_frequency(2000).is_err());
    }
}
