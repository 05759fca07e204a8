//! A Raspberry Pi through rppal 0.22: GPIO outputs, inputs with timestamped edges (rppal's
//! interrupt thread), hardware PWM on GPIO 12/13/18/19, software PWM on any GPIO, I2C and SPI.
//!
//! rppal's own types already speak embedded-hal 1.0 for digital pins and I2C; this module adds
//! what is missing: [`EdgePin`] ([`EdgeInput`]), [`HardwarePwm`] and [`SoftPwm`]
//! ([`PwmOutput`]; rppal's hardware PWM only implements embedded-hal 0.2), and an SPI device.
//!
//! Every function takes a `label` (`"motor left in1"`) that error messages repeat, so a log
//! line names the wire. Off a Pi, everything fails with an [`OpenError`] such as
//! `rppal: cannot open GPIO 17 (motor left in1): Unknown Raspberry Pi model`.
//!
//! rppal resets pins and stops hardware PWM when they are dropped, but not when the process is
//! killed by a signal: catch SIGINT/SIGTERM and stop the actuators (see `crate::safety`).

use core::fmt::Display;
use std::time::Duration;

use ::rppal::gpio::{Event, Gpio, InputPin, OutputPin, Pin, Trigger};
use ::rppal::i2c::I2c;
use ::rppal::pwm::{Polarity, Pwm};
use ::rppal::spi::{SimpleHalSpiDevice, Spi};
use embedded_hal::digital::ErrorType;
use embedded_hal::pwm::SetDutyCycle;
use tokio::sync::mpsc;

pub use ::rppal::gpio::Bias;
pub use ::rppal::pwm::Channel;
pub use ::rppal::spi::{Bus, Mode, SlaveSelect};

use super::{EDGE_QUEUE, OpenError, PinError, device_name};
use crate::hal::{Edge, EdgeInput, EdgeKind, PwmOutput};

const BACKEND: &str = "rppal";

/// Duty cycles are fractions of this (the finest embedded-hal allows).
const MAX_DUTY: u16 = u16::MAX;

/// Takes GPIO `bcm` (BCM numbering).
fn gpio_pin(bcm: u8, label: &str) -> Result<Pin, OpenError> {
    let device = || device_name(format_args!("GPIO {bcm}"), label);
    let gpio = Gpio::new().map_err(|e| OpenError::new(BACKEND, device(), e))?;
    gpio.get(bcm)
        .map_err(|e| OpenError::new(BACKEND, device(), e))
}

/// Opens GPIO `bcm` (BCM numbering) as an output, driven low.
///
/// rppal's `OutputPin` implements embedded-hal's `OutputPin` and `StatefulOutputPin`: wrap it in
/// [`Output`](crate::drivers::Output) for an LED, or hand it to a motor driver.
///
/// # Errors
///
/// [`OpenError`] off a Pi, or if the pin is taken or does not exist.
pub fn output_pin(bcm: u8, label: &str) -> Result<OutputPin, OpenError> {
    Ok(gpio_pin(bcm, label)?.into_output_low())
}

/// A GPIO input that queues its edges, timestamped by the kernel, for [`EdgeInput`].
///
/// rppal watches the pin on its own interrupt thread and hands each event to a callback, which
/// forwards it into a channel; up to 1024 unread edges are queued, later ones are dropped.
#[derive(Debug)]
pub struct EdgePin {
    pin: InputPin,
    edges: mpsc::Receiver<Edge>,
    name: String,
}

/// Opens GPIO `bcm` (BCM numbering) as an input with `bias` (`Bias::PullUp` for a button to
/// ground) and watches both edges. `debounce` asks the kernel to ignore changes shorter than
/// it; [`Debouncer`](crate::drivers::Debouncer) does it in software instead.
///
/// # Errors
///
/// [`OpenError`] off a Pi, if the pin is taken or does not exist, or if the interrupt cannot
/// be set up.
pub fn edge_pin(
    bcm: u8,
    bias: Bias,
    debounce: Option<Duration>,
    label: &str,
) -> Result<EdgePin, OpenError> {
    let name = device_name(format_args!("GPIO {bcm}"), label);
    let pin = gpio_pin(bcm, label)?;
    let mut pin = match bias {
        Bias::PullUp => pin.into_input_pullup(),
        Bias::PullDown => pin.into_input_pulldown(),
        Bias::Off => pin.into_input(),
    };
    let (tx, edges) = mpsc::channel(EDGE_QUEUE);
    let watched = name.clone();
    pin.set_async_interrupt(Trigger::Both, debounce, move |event: Event| {
        let kind = match event.trigger {
            Trigger::RisingEdge => EdgeKind::Rising,
            Trigger::FallingEdge => EdgeKind::Falling,
            Trigger::Both | Trigger::Disabled => return,
        };
        let edge = Edge {
            kind,
            at: event.timestamp,
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(edge) {
            tracing::warn!(pin = %watched, "edge queue full; dropping an edge");
        }
    })
    .map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    Ok(EdgePin { pin, edges, name })
}

impl EdgePin {
    /// The rppal pin, to change its bias or read it directly.
    pub fn inner_mut(&mut self) -> &mut InputPin {
        &mut self.pin
    }
}

impl ErrorType for EdgePin {
    type Error = PinError;
}

impl embedded_hal::digital::InputPin for EdgePin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.pin.is_high())
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(self.pin.is_low())
    }
}

impl EdgeInput for EdgePin {
    async fn wait_for_edge(&mut self) -> Result<Edge, Self::Error> {
        self.edges.recv().await.ok_or_else(|| {
            PinError(format!(
                "{BACKEND}: {}: the interrupt thread stopped",
                self.name
            ))
        })
    }

    fn clear_edges(&mut self) {
        while self.edges.try_recv().is_ok() {}
    }

    /// The kernel stamps GPIO events with `CLOCK_MONOTONIC`.
    fn now(&self) -> Option<Duration> {
        super::monotonic_now()
    }
}

/// Checks a PWM frequency; the error is a reason, for an [`OpenError`] or a [`PinError`].
fn check_hz(hz: u32) -> Result<f64, &'static str> {
    if hz == 0 {
        return Err("the PWM frequency must be above 0 Hz");
    }
    Ok(f64::from(hz))
}

/// A hardware PWM channel as an embedded-hal 1.0 [`SetDutyCycle`] and a [`PwmOutput`].
///
/// Channels and pins (enable them in `/boot/firmware/config.txt` with
/// `dtoverlay=pwm-2chan`): on a Pi 1–4, channel 0 is GPIO 12 or 18 and channel 1 is GPIO 13 or
/// 19; on a Pi 5, channels 0–3 are GPIO 12, 13, 18 and 19.
#[derive(Debug)]
pub struct HardwarePwm {
    pwm: Pwm,
    hz: u32,
    duty: f64,
    name: String,
}

/// Opens hardware PWM `channel` at `hz`, enabled, with duty cycle 0.
///
/// # Errors
///
/// [`OpenError`] off a Pi, if the channel is not enabled in the device tree, or if `hz` is 0.
pub fn hardware_pwm(channel: Channel, hz: u32, label: &str) -> Result<HardwarePwm, OpenError> {
    let name = device_name(format_args!("PWM channel {}", channel as u8), label);
    let freq = check_hz(hz).map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    let pwm = Pwm::with_frequency(channel, freq, 0.0, Polarity::Normal, true)
        .map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    Ok(HardwarePwm {
        pwm,
        hz,
        duty: 0.0,
        name,
    })
}

/// Opens channel `channel` of the kernel's `pwmchip{pwmchip}` at `hz`, enabled, with duty
/// cycle 0: for a Pi whose PWM chip is not the one rppal expects (a Pi 5 names the RP1's chip
/// `pwmchip0` on kernels 6.12+ and `pwmchip2` before; see
/// [`find_pwm_chip`](super::sysfs_pwm::find_pwm_chip)).
///
/// # Errors
///
/// [`OpenError`] if the chip or channel does not exist or is not enabled, or if `hz` is 0.
pub fn hardware_pwm_on_chip(
    pwmchip: u8,
    channel: u8,
    hz: u32,
    label: &str,
) -> Result<HardwarePwm, OpenError> {
    let name = device_name(format_args!("pwmchip{pwmchip} channel {channel}"), label);
    let fail = |e: ::rppal::pwm::Error| OpenError::new(BACKEND, name.clone(), e);
    let freq = check_hz(hz).map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    let pwm = Pwm::with_pwmchip(pwmchip, channel).map_err(fail)?;
    pwm.set_frequency(freq, 0.0).map_err(fail)?;
    pwm.set_polarity(Polarity::Normal).map_err(fail)?;
    pwm.enable().map_err(fail)?;
    Ok(HardwarePwm {
        pwm,
        hz,
        duty: 0.0,
        name,
    })
}

impl HardwarePwm {
    fn error(&self, e: impl Display) -> PinError {
        PinError(format!("{BACKEND}: {}: {e}", self.name))
    }
}

impl embedded_hal::pwm::ErrorType for HardwarePwm {
    type Error = PinError;
}

impl SetDutyCycle for HardwarePwm {
    fn max_duty_cycle(&self) -> u16 {
        MAX_DUTY
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Self::Error> {
        let duty = f64::from(duty) / f64::from(MAX_DUTY);
        self.pwm.set_duty_cycle(duty).map_err(|e| self.error(e))?;
        self.duty = duty;
        Ok(())
    }
}

impl PwmOutput for HardwarePwm {
    fn set_frequency(&mut self, hz: u32) -> Result<(), Self::Error> {
        let freq = check_hz(hz).map_err(|e| self.error(e))?;
        self.pwm
            .set_frequency(freq, self.duty)
            .map_err(|e| self.error(e))?;
        self.hz = hz;
        Ok(())
    }

    fn frequency(&self) -> u32 {
        self.hz
    }
}

/// Software PWM on any GPIO (rppal's PWM thread) as a [`PwmOutput`].
///
/// Good enough for LEDs and DC motor speed; too jittery for servos (use [`HardwarePwm`]). Duty
/// cycles 0 and 1 stop the PWM thread and hold the pin low or high.
#[derive(Debug)]
pub struct SoftPwm {
    pin: OutputPin,
    hz: u32,
    duty: f64,
    name: String,
}

/// Opens GPIO `bcm` (BCM numbering) for software PWM at `hz`, held low (duty cycle 0).
///
/// # Errors
///
/// [`OpenError`] off a Pi, if the pin is taken or does not exist, or if `hz` is 0.
pub fn soft_pwm(bcm: u8, hz: u32, label: &str) -> Result<SoftPwm, OpenError> {
    let name = device_name(format_args!("GPIO {bcm}"), label);
    check_hz(hz).map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    let pin = output_pin(bcm, label)?;
    Ok(SoftPwm {
        pin,
        hz,
        duty: 0.0,
        name,
    })
}

impl SoftPwm {
    fn error(&self, e: impl Display) -> PinError {
        PinError(format!("{BACKEND}: {}: {e}", self.name))
    }

    /// Drives the pin for the current frequency and duty cycle.
    fn apply(&mut self) -> Result<(), PinError> {
        if self.duty <= 0.0 || self.duty >= 1.0 {
            self.pin.clear_pwm().map_err(|e| self.error(e))?;
            if self.duty <= 0.0 {
                self.pin.set_low();
            } else {
                self.pin.set_high();
            }
            Ok(())
        } else {
            let freq = check_hz(self.hz).map_err(|e| self.error(e))?;
            self.pin
                .set_pwm_frequency(freq, self.duty)
                .map_err(|e| self.error(e))
        }
    }
}

impl embedded_hal::pwm::ErrorType for SoftPwm {
    type Error = PinError;
}

impl SetDutyCycle for SoftPwm {
    fn max_duty_cycle(&self) -> u16 {
        MAX_DUTY
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Self::Error> {
        self.duty = f64::from(duty) / f64::from(MAX_DUTY);
        self.apply()
    }
}

impl PwmOutput for SoftPwm {
    fn set_frequency(&mut self, hz: u32) -> Result<(), Self::Error> {
        check_hz(hz).map_err(|e| self.error(e))?;
        self.hz = hz;
        self.apply()
    }

    fn frequency(&self) -> u32 {
        self.hz
    }
}

/// Opens I2C bus `bus` (1 on the header of every Pi but the very first). rppal's `I2c`
/// implements embedded-hal's `I2c`, addressing each transaction itself.
///
/// # Errors
///
/// [`OpenError`] off a Pi, or if the bus is not enabled (`dtparam=i2c_arm=on`).
pub fn i2c(bus: u8, label: &str) -> Result<I2c, OpenError> {
    I2c::with_bus(bus).map_err(|e| {
        OpenError::new(
            BACKEND,
            device_name(format_args!("I2C bus {bus}"), label),
            e,
        )
    })
}

/// Opens an SPI device: `bus` with chip select `slave_select`, at `clock_hz`, in `mode`
/// (`Mode::Mode0` for an MCP3008). rppal drives the chip select itself, so the returned
/// embedded-hal `SpiDevice` only groups operations into one transfer.
///
/// # Errors
///
/// [`OpenError`] if the SPI device node is missing (SPI not enabled: `dtparam=spi=on`) or
/// cannot be configured.
pub fn spi(
    bus: Bus,
    slave_select: SlaveSelect,
    clock_hz: u32,
    mode: Mode,
    label: &str,
) -> Result<SimpleHalSpiDevice, OpenError> {
    let name = device_name(
        format_args!("SPI bus {} CE{}", bus as u8, slave_select as u8),
        label,
    );
    let spi = Spi::new(bus, slave_select, clock_hz, mode)
        .map_err(|e| OpenError::new(BACKEND, name, e))?;
    Ok(SimpleHalSpiDevice::new(spi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of an open that must fail (the opened types are not all `Debug`).
    fn open_error<T>(opened: Result<T, OpenError>) -> OpenError {
        match opened {
            Ok(_) => panic!("opened a device that should not exist here"),
            Err(e) => e,
        }
    }

    /// On a real Pi these tests would take real pins: they only run elsewhere.
    fn on_a_pi() -> bool {
        std::fs::read_to_string("/proc/device-tree/model")
            .is_ok_and(|model| model.contains("Raspberry Pi"))
    }

    #[test]
    fn off_a_pi_opening_fails_with_the_backend_device_and_label() {
        if on_a_pi() {
            return;
        }
        let err = open_error(output_pin(17, "motor left in1"));
        assert_eq!(err.backend, "rppal");
        assert_eq!(err.device, "GPIO 17 (motor left in1)");
        assert!(
            err.to_string()
                .starts_with("rppal: cannot open GPIO 17 (motor left in1): "),
            "{err}"
        );

        let err = open_error(edge_pin(27, Bias::PullUp, None, "bumper"));
        assert_eq!(err.device, "GPIO 27 (bumper)");
        let err = open_error(soft_pwm(22, 1_000, "led"));
        assert_eq!(err.device, "GPIO 22 (led)");
        let err = open_error(hardware_pwm(Channel::Pwm0, 50, "pan servo"));
        assert_eq!(err.device, "PWM channel 0 (pan servo)");
        let err = open_error(i2c(1, "imu"));
        assert_eq!(err.device, "I2C bus 1 (imu)");
        let err = open_error(spi(
            Bus::Spi0,
            SlaveSelect::Ss0,
            1_000_000,
            Mode::Mode0,
            "adc",
        ));
        assert_eq!(err.device, "SPI bus 0 CE0 (adc)");
    }

    #[test]
    fn a_zero_frequency_is_refused_before_touching_hardware() {
        let err = open_error(hardware_pwm(Channel::Pwm1, 0, ""));
        assert_eq!(
            err.to_string(),
            "rppal: cannot open PWM channel 1: the PWM frequency must be above 0 Hz"
        );
    }

    #[test]
    fn a_pwm_chip_by_number_names_the_chip_and_channel() {
        let err = open_error(hardware_pwm_on_chip(2, 3, 0, "servo tilt"));
        assert_eq!(
            err.to_string(),
            "rppal: cannot open pwmchip2 channel 3 (servo tilt): the PWM frequency must be above 0 Hz"
        );
        if !on_a_pi() {
            // Off a Pi there is no such chip to export the channel of.
            let err = open_error(hardware_pwm_on_chip(2, 3, 1_000, "servo tilt"));
            assert_eq!(err.device, "pwmchip2 channel 3 (servo tilt)");
        }
    }
}
