//! The button actor (also limit switches and bumpers): debounces timestamped edges and publishes
//! presses, releases and long presses. Optionally it pulls the E-stop when pressed.

use std::time::Duration;

use compaktor::prelude::*;
use futures::stream;

use crate::device::{DeviceError, EdgeSource};
use crate::drivers::{ButtonEvent, Debouncer};
use crate::events::{Events, Subscription};
use crate::hal::{Edge, EdgeKind};
use crate::safety::EStop;

/// How long to wait before reading a failing input again.
const INPUT_RETRY: Duration = Duration::from_millis(100);

/// A button as an actor.
pub struct Button {
    name: String,
    source: Option<Box<dyn EdgeSource>>,
    debouncer: Debouncer,
    events: Events<ButtonEvent>,
    presses: u64,
    estop: Option<EStop>,
    /// Raw edges seen so far: a settle check acts only if no edge came after its own.
    edges: u64,
}

impl Button {
    /// A button on `source`, debounced by `debouncer`.
    pub fn new(name: impl Into<String>, source: Box<dyn EdgeSource>, debouncer: Debouncer) -> Self {
        Button {
            name: name.into(),
            source: Some(source),
            debouncer,
            events: Events::default(),
            presses: 0,
            estop: None,
            edges: 0,
        }
    }

    /// Makes this button an emergency stop: a press triggers `estop` (a bumper, a big red
    /// button).
    pub fn triggers(mut self, estop: EStop) -> Self {
        self.estop = Some(estop);
        self
    }

    /// Acts on a debounced event that happened at `at` (edge time).
    fn accepted(&mut self, event: ButtonEvent, at: Duration, ctx: &mut Context<Self>) {
        if event == ButtonEvent::Pressed {
            self.presses += 1;
            if let Some(estop) = &self.estop {
                estop.trigger(&format!("{} pressed", self.name));
            }
            if let Some(deadline) = self.debouncer.long_press_deadline() {
                let wait = deadline.saturating_sub(at);
                ctx.send_after(wait, move |me| me.check_long_press(deadline));
            }
        }
        self.events.publish(event);
    }
}

#[actor]
impl Button {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        if let Some(source) = self.source.take() {
            let edges = stream::unfold(source, |mut source| async move {
                let edge = source.next_edge().await;
                if edge.is_err() {
                    // A failing input must not spin: try again a little later.
                    tokio::time::sleep(INPUT_RETRY).await;
                }
                Some((edge, source))
            });
            ctx.attach_stream(edges, |me, edge| me.edge(edge));
        }
    }

    #[handler]
    fn edge(&mut self, edge: Result<Edge, DeviceError>, ctx: &mut Context<Self>) {
        let edge = match edge {
            Ok(edge) => edge,
            Err(e) => {
                tracing::warn!(button = %self.name, error = %e, "edge lost");
                return;
            }
        };
        self.edges += 1;
        match self.debouncer.feed(edge) {
            Some(event) => self.accepted(event, edge.at, ctx),
            None => {
                // Ignored as bounce. If no edge follows, the pin has settled in a state the
                // debouncer never accepted (a tap shorter than the settle time would leave the
                // button pressed for good): look at it again once it has settled.
                let (seen, high) = (self.edges, edge.kind == EdgeKind::Rising);
                let settle = self.debouncer.settle;
                let at = edge.at.saturating_add(settle);
                ctx.send_after(settle, move |me| me.settled(seen, high, at));
            }
        }
    }

    #[handler]
    fn settled(&mut self, seen: u64, high: bool, at: Duration, ctx: &mut Context<Self>) {
        if seen != self.edges {
            return; // a later edge came; its own check follows
        }
        if let Some(event) = self.debouncer.resync(high, at) {
            self.accepted(event, at, ctx);
        }
    }

    #[handler]
    fn check_long_press(&mut self, deadline: Duration) {
        // Fires once `long_press` has passed since the press; if the button was released (or
        // pressed again) meanwhile, the debouncer has a later deadline or none.
        if let Some(event) = self.debouncer.poll_long_press(deadline) {
            self.events.publish(event);
        }
    }

    /// Whether it is held down now.
    #[handler]
    pub fn is_pressed(&self) -> bool {
        self.debouncer.is_pressed()
    }

    /// How many presses so far.
    #[handler]
    pub fn presses(&self) -> u64 {
        self.presses
    }

    /// Presses, releases and long presses from now on.
    #[handler]
    pub fn subscribe(&self) -> Subscription<ButtonEvent> {
        self.events.subscribe()
    }
}

impl std::fmt::Debug for Button {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Button")
            .field("name", &self.name)
            .field("presses", &self.presses)
            .finish_non_exhaustive()
    }
}
