//! Any Linux board (a Raspberry Pi included): GPIO lines through the kernel's character device
//! (gpiocdev), I2C and SPI through linux-embedded-hal.
//!
//! Lines are named by chip and offset: `("/dev/gpiochip0", 17)` is GPIO 17 on a Pi 1–4 (on a
//! Pi 5 the header is on `/dev/gpiochip4` or `/dev/gpiochip0` depending on the kernel).
//! [`find_line`] finds them by line name (`GPIO17`) or by the chip's label (`pinctrl-rp1`)
//! instead of a fixed number. Edges carry the kernel's monotonic timestamps, read on a thread
//! of their own.
//!
//! PWM lives in [`super::sysfs_pwm`] (the kernel's PWM sysfs interface).
//!
//! Every function takes a `label` (`"bumper left"`) that error messages repeat, and that the
//! kernel shows as the line's consumer in `gpioinfo`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use embedded_hal::digital::{ErrorType, InputPin, OutputPin, StatefulOutputPin};
use gpiocdev::Request;
use gpiocdev::line::{EdgeDetection, Offset, Value};
use linux_embedded_hal::spidev::SpidevOptions;
use linux_embedded_hal::{I2cdev, SpidevDevice};
use tokio::sync::mpsc;

pub use gpiocdev::line::Bias;
pub use linux_embedded_hal::spidev::SpiModeFlags;

use super::{EDGE_QUEUE, OpenError, PinError, device_name};
use crate::hal::{Edge, EdgeInput, EdgeKind};

const BACKEND: &str = "linux";

/// How often the edge thread checks whether its reader is gone.
const EDGE_POLL: Duration = Duration::from_millis(100);

/// `"/dev/gpiochip0 line 17 (label)"`.
fn line_name(chip: &Path, offset: Offset, label: &str) -> String {
    device_name(format_args!("{} line {offset}", chip.display()), label)
}

/// The consumer name the kernel shows for a line.
fn consumer(label: &str) -> &str {
    if label.is_empty() { "compaktor" } else { label }
}

/// The chip and offset of GPIO `gpio`. With `chip` (a path such as `/dev/gpiochip4`, a chip
/// name such as `gpiochip4`, or a chip label such as `pinctrl-rp1`), it is line `gpio` of that
/// chip; without, it is the line the device tree names `GPIO{gpio}` (as on every Raspberry Pi),
/// on whichever chip has it.
///
/// # Errors
///
/// [`OpenError`] if no chip has that name or label, or no line is named `GPIO{gpio}`.
pub fn find_line(
    chip: Option<&str>,
    gpio: u8,
    label: &str,
) -> Result<(std::path::PathBuf, Offset), OpenError> {
    let device = || device_name(format_args!("GPIO {gpio}"), label);
    let Some(chip) = chip else {
        let name = format!("GPIO{gpio}");
        return gpiocdev::find_named_line(&name)
            .map(|found| (found.chip, found.info.offset))
            .ok_or_else(|| {
                OpenError::new(
                    BACKEND,
                    device(),
                    format!("no GPIO line is named `{name}`; set `gpio_chip` in the robot file"),
                )
            });
    };
    let path = Path::new(chip);
    if path.is_absolute() {
        return Ok((path.to_path_buf(), Offset::from(gpio)));
    }
    let by_name = Path::new("/dev").join(chip);
    if by_name.exists() {
        return Ok((by_name, Offset::from(gpio)));
    }
    let chips = gpiocdev::chip::chips().map_err(|e| OpenError::new(BACKEND, device(), e))?;
    chips
        .into_iter()
        .find(|p| {
            gpiocdev::Chip::from_path(p)
                .and_then(|c| c.info())
                .is_ok_and(|info| info.label == chip)
        })
        .map(|p| (p, Offset::from(gpio)))
        .ok_or_else(|| {
            OpenError::new(
                BACKEND,
                device(),
                format!("no GPIO chip is named or labelled `{chip}`"),
            )
        })
}

/// A GPIO line driven as an output (embedded-hal `OutputPin` and `StatefulOutputPin`).
///
/// The kernel releases the line when this is dropped; it then keeps its last level until
/// someone else takes it.
#[derive(Debug)]
pub struct LineOutput {
    request: Request,
    offset: Offset,
    name: String,
}

/// Requests line `offset` of `chip` as an output, driven low.
///
/// # Errors
///
/// [`OpenError`] if the chip does not exist, the line is out of range, or it is taken.
pub fn output_line(
    chip: impl AsRef<Path>,
    offset: Offset,
    label: &str,
) -> Result<LineOutput, OpenError> {
    let chip = chip.as_ref();
    let name = line_name(chip, offset, label);
    let request = Request::builder()
        .on_chip(chip)
        .with_consumer(consumer(label))
        .with_line(offset)
        .as_output(Value::Inactive)
        .request()
        .map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    Ok(LineOutput {
        request,
        offset,
        name,
    })
}

impl LineOutput {
    fn set(&mut self, value: Value) -> Result<(), PinError> {
        self.request
            .set_value(self.offset, value)
            .map_err(|e| PinError(format!("{BACKEND}: {}: {e}", self.name)))
    }
}

impl ErrorType for LineOutput {
    type Error = PinError;
}

impl OutputPin for LineOutput {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.set(Value::Inactive)
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.set(Value::Active)
    }
}

impl StatefulOutputPin for LineOutput {
    fn is_set_high(&mut self) -> Result<bool, Self::Error> {
        read_value(&self.request, self.offset, &self.name)
    }

    fn is_set_low(&mut self) -> Result<bool, Self::Error> {
        read_value(&self.request, self.offset, &self.name).map(|high| !high)
    }
}

/// Reads a line's level: `true` for high (lines are requested active-high).
fn read_value(request: &Request, offset: Offset, name: &str) -> Result<bool, PinError> {
    request
        .value(offset)
        .map(|v| v == Value::Active)
        .map_err(|e| PinError(format!("{BACKEND}: {name}: {e}")))
}

/// A GPIO line watched for edges, for [`EdgeInput`] (and embedded-hal `InputPin`).
///
/// A thread reads the kernel's edge events and queues them (up to 1024 unread edges; later
/// ones are dropped). It stops, and the line is released, within 100 ms of this being dropped.
#[derive(Debug)]
pub struct LineInput {
    request: Arc<Request>,
    offset: Offset,
    edges: mpsc::Receiver<Result<Edge, String>>,
    name: String,
}

/// Requests line `offset` of `chip` as an input with both edges detected, with `bias`
/// (`Some(Bias::PullUp)` for a button to ground; `None` leaves the line's bias as it is) and an
/// optional kernel `debounce` period.
///
/// # Errors
///
/// [`OpenError`] if the chip does not exist, the line is out of range or taken, or the edge
/// thread cannot start.
pub fn edge_line(
    chip: impl AsRef<Path>,
    offset: Offset,
    bias: Option<Bias>,
    debounce: Option<Duration>,
    label: &str,
) -> Result<LineInput, OpenError> {
    let chip = chip.as_ref();
    let name = line_name(chip, offset, label);
    let mut builder = Request::builder();
    builder
        .on_chip(chip)
        .with_consumer(consumer(label))
        .with_line(offset)
        .as_input()
        .with_bias(bias)
        .with_edge_detection(EdgeDetection::BothEdges);
    if let Some(period) = debounce {
        builder.with_debounce_period(period);
    }
    let request = Arc::new(
        builder
            .request()
            .map_err(|e| OpenError::new(BACKEND, name.clone(), e))?,
    );

    let (tx, edges) = mpsc::channel(EDGE_QUEUE);
    let reader = Arc::clone(&request);
    let thread_name = name.clone();
    std::thread::Builder::new()
        .name(format!("gpio-edges-{offset}"))
        .spawn(move || read_edges(&reader, &tx, &thread_name))
        .map_err(|e| OpenError::new(BACKEND, name.clone(), e))?;
    Ok(LineInput {
        request,
        offset,
        edges,
        name,
    })
}

/// The edge thread: forwards the kernel's events until the reader is gone or reading fails.
fn read_edges(request: &Request, tx: &mpsc::Sender<Result<Edge, String>>, name: &str) {
    while !tx.is_closed() {
        let event = match request.wait_edge_event(EDGE_POLL) {
            Ok(false) => continue,
            Ok(true) => request.read_edge_event(),
            Err(e) => Err(e),
        };
        let item = event
            .map(|event| Edge {
                kind: match event.kind {
                    gpiocdev::line::EdgeKind::Rising => EdgeKind::Rising,
                    gpiocdev::line::EdgeKind::Falling => EdgeKind::Falling,
                },
                at: Duration::from_nanos(event.timestamp_ns),
            })
            .map_err(|e| format!("{BACKEND}: {name}: reading edges: {e}"));
        let failed = item.is_err();
        match tx.try_send(item) {
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(line = %name, "edge queue full; dropping an edge");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
            Ok(()) => {}
        }
        if failed {
            return;
        }
    }
}

impl LineInput {
    fn stopped(&self) -> PinError {
        PinError(format!("{BACKEND}: {}: the edge thread stopped", self.name))
    }
}

impl ErrorType for LineInput {
    type Error = PinError;
}

impl InputPin for LineInput {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        read_value(&self.request, self.offset, &self.name)
    }

    fn is_low(&mut self) -> Result<bool, Self::Error> {
        read_value(&self.request, self.offset, &self.name).map(|high| !high)
    }
}

impl EdgeInput for LineInput {
    async fn wait_for_edge(&mut self) -> Result<Edge, Self::Error> {
        match self.edges.recv().await {
            Some(Ok(edge)) => Ok(edge),
            Some(Err(reason)) => Err(PinError(reason)),
            None => Err(self.stopped()),
        }
    }

    /// The kernel stamps GPIO events with `CLOCK_MONOTONIC` (the request's default clock).
    fn now(&self) -> Option<Duration> {
        super::monotonic_now()
    }

    fn clear_edges(&mut self) {
        // Keep a read error queued: it explains why edges stopped.
        while let Ok(item) = self.edges.try_recv() {
            if let Err(reason) = item {
                tracing::warn!(line = %self.name, "{reason}");
            }
        }
    }
}

/// Opens an I2C bus device node, such as `/dev/i2c-1`. linux-embedded-hal's `I2cdev`
/// implements embedded-hal's `I2c` and addresses each transaction itself.
///
/// # Errors
///
/// [`OpenError`] if the node is missing (I2C not enabled) or not accessible (not in the `i2c`
/// group).
pub fn i2c(path: impl AsRef<Path>, label: &str) -> Result<I2cdev, OpenError> {
    let path = path.as_ref();
    I2cdev::new(path).map_err(|e| OpenError::new(BACKEND, device_name(path.display(), label), e))
}

/// Opens an SPI device node, such as `/dev/spidev0.0`, at `max_speed_hz` in `mode`
/// (`SpiModeFlags::SPI_MODE_0` for an MCP3008), 8 bits per word. The kernel drives the chip
/// select, so the result is an embedded-hal `SpiDevice`.
///
/// # Errors
///
/// [`OpenError`] if the node is missing (SPI not enabled), not accessible, or refuses the
/// settings.
pub fn spi(
    path: impl AsRef<Path>,
    max_speed_hz: u32,
    mode: SpiModeFlags,
    label: &str,
) -> Result<SpidevDevice, OpenError> {
    let path = path.as_ref();
    let error =
        |e: &dyn std::fmt::Display| OpenError::new(BACKEND, device_name(path.display(), label), e);
    let mut device = SpidevDevice::open(path).map_err(|e| error(&e))?;
    let options = SpidevOptions::new()
        .bits_per_word(8)
        .max_speed_hz(max_speed_hz)
        .mode(mode)
        .build();
    device.configure(&options).map_err(|e| error(&e))?;
    Ok(device)
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

    #[test]
    fn lines_are_found_by_chip_path_name_label_or_line_name() {
        // A path is taken as given; opening it tells whether it exists.
        let (chip, offset) = find_line(Some("/dev/gpiochip4"), 17, "led").unwrap();
        assert_eq!((chip.as_path(), offset), (Path::new("/dev/gpiochip4"), 17));
        // This machine has no chip labelled so, and no line named GPIO200: both are named.
        let err = find_line(Some("pinctrl-compaktor-test"), 17, "led").unwrap_err();
        assert_eq!(err.device, "GPIO 17 (led)");
        assert!(
            err.reason
                .contains("no GPIO chip is named or labelled `pinctrl-compaktor-test`"),
            "{err}"
        );
        let err = find_line(None, 200, "led").unwrap_err();
        assert!(
            err.reason.contains("no GPIO line is named `GPIO200`"),
            "{err}"
        );
        assert!(err.reason.contains("set `gpio_chip`"), "{err}");
    }

    #[test]
    fn a_missing_gpio_chip_fails_with_the_backend_line_and_label() {
        let chip = "/dev/gpiochip-compaktor-test-missing";
        let err = open_error(output_line(chip, 17, "motor left in1"));
        assert_eq!(err.backend, "linux");
        assert_eq!(
            err.device,
            "/dev/gpiochip-compaktor-test-missing line 17 (motor left in1)"
        );
        assert!(
            err.to_string().starts_with(
                "linux: cannot open /dev/gpiochip-compaktor-test-missing line 17 (motor left in1): "
            ),
            "{err}"
        );
        let err = open_error(edge_line(chip, 27, Some(Bias::PullUp), None, "bumper"));
        assert_eq!(err.device, format!("{chip} line 27 (bumper)"));
    }

    #[test]
    fn missing_buses_fail_with_the_path_and_label() {
        let err = open_error(i2c("/dev/i2c-compaktor-test-missing", "imu"));
        assert_eq!(err.device, "/dev/i2c-compaktor-test-missing (imu)");
        let err = open_error(spi(
            "/dev/spidev-compaktor-test-missing",
            1_000_000,
            SpiModeFlags::SPI_MODE_0,
            "",
        ));
        assert_eq!(err.device, "/dev/spidev-compaktor-test-missing");
        assert!(err.to_string().starts_with("linux: cannot open "), "{err}");
    }
}
