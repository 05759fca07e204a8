//! Plain pins as device traits: [`Output`] makes any embedded-hal output pin a
//! [`DigitalOutput`] (an LED, a relay, a buzzer); [`EdgeDevice`] makes any edge input a
//! [`EdgeSource`] (a button, a bumper, an encoder).

use embedded_hal::digital::{InputPin, OutputPin};
use futures::future::BoxFuture;

use crate::device::{DeviceError, DigitalOutput, EdgeSource};
use crate::hal::{Edge, EdgeInput};

/// An embedded-hal output pin as a [`DigitalOutput`].
///
/// # Examples
///
/// ```
/// use compaktor_pi::device::{DeviceError, DigitalOutput};
/// use compaktor_pi::drivers::{NoPin, Output};
///
/// // Any embedded-hal output pin; `NoPin` stands in for one here.
/// let mut led: Box<dyn DigitalOutput> = Box::new(Output::new(NoPin));
/// led.set(true)?;
/// # Ok::<(), DeviceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output<P> {
    pin: P,
}

impl<P> Output<P> {
    /// Wraps the pin, leaving it as it is.
    pub fn new(pin: P) -> Self {
        Output { pin }
    }

    /// The pin.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.pin
    }

    /// Gives the pin back.
    pub fn into_inner(self) -> P {
        self.pin
    }
}

impl<P: OutputPin + Send + 'static> DigitalOutput for Output<P> {
    fn set(&mut self, high: bool) -> Result<(), DeviceError> {
        self.pin.set_state(high.into()).map_err(DeviceError::pin)
    }
}

/// A digital input that reports edges as an [`EdgeSource`].
#[derive(Debug)]
pub struct EdgeDevice<P> {
    pin: P,
}

impl<P> EdgeDevice<P> {
    /// Wraps the pin. Edges that come before the first [`EdgeSource::next_edge`] stay queued
    /// (see [`EdgeInput`]).
    pub fn new(pin: P) -> Self {
        EdgeDevice { pin }
    }

    /// The pin.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.pin
    }

    /// Gives the pin back.
    pub fn into_inner(self) -> P {
        self.pin
    }
}

impl<P: EdgeInput + InputPin + Send + 'static> EdgeSource for EdgeDevice<P> {
    fn is_high(&mut self) -> Result<bool, DeviceError> {
        self.pin.is_high().map_err(DeviceError::pin)
    }

    fn next_edge(&mut self) -> BoxFuture<'_, Result<Edge, DeviceError>> {
        Box::pin(async move { self.pin.wait_for_edge().await.map_err(DeviceError::pin) })
    }

    fn now(&self) -> Option<std::time::Duration> {
        self.pin.now()
    }
}

#[cfg(test)]
mod tests {
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};

    use super::*;
    use crate::drivers::testing::{MockEdges, falling, rising};

    #[test]
    fn output_sets_the_pin_level() {
        let mut pin = PinMock::new(&[
            Pin::set(State::High),
            Pin::set(State::Low),
            Pin::set(State::Low),
        ]);
        let mut led: Box<dyn DigitalOutput> = Box::new(Output::new(pin.clone()));
        led.set(true).unwrap();
        led.set(false).unwrap();
        led.set(false).unwrap();
        pin.done();
    }

    #[test]
    fn output_reports_pin_errors() {
        let mut pin = PinMock::new(&[Pin::set(State::High).with_error(
            embedded_hal_mock::eh1::MockError::Io(std::io::ErrorKind::PermissionDenied),
        )]);
        let mut led = Output::new(pin.clone());
        let err = DigitalOutput::set(&mut led, true).unwrap_err();
        assert!(matches!(err, DeviceError::Pin(_)), "{err}");
        pin.done();
    }

    #[tokio::test]
    async fn edge_device_forwards_edges_and_level() {
        let edges = MockEdges::new(&[rising(10), falling(25)]);
        let mut button: Box<dyn EdgeSource> = Box::new(EdgeDevice::new(edges));
        assert!(!button.is_high().unwrap());
        assert_eq!(button.next_edge().await.unwrap(), rising(10));
        assert!(button.is_high().unwrap());
        // the future is Send: an actor can await it on any worker
        let edge = tokio::spawn(async move { button.next_edge().await })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(edge, falling(25));
    }
}
