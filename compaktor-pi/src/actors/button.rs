//! The button actor (also limit switches and bumpers): debounces timestamped edges and publishes
//! presses, releases and long presses. Optionally it pulls the E-stop when pressed: then it acts
//! on the raw level, ahead of debouncing (a held button at start, every edge towards pressed,
//! an input that cannot be read), and reports the latency from the edge.

use std::time::Duration;

use compaktor::prelude::*;
use futures::stream;
use tokio::time::Instant;

use super::{own_topic, publish};
use crate::device::{DeviceError, EdgeSource};
use crate::drivers::{ButtonEvent, Debouncer};
use crate::hal::{Edge, EdgeKind};
use crate::safety::EStop;

/// How long to wait before reading a failing input again.
const INPUT_RETRY: Duration = Duration::from_millis(100);

/// A button as an actor.
pub struct Button {
    name: String,
    source: Option<Box<dyn EdgeSource>>,
    debouncer: Debouncer,
    /// Where it publishes: `<its path>/events`, made when it starts.
    topic: Option<Topic<ButtonEvent>>,
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
            topic: None,
            presses: 0,
            estop: None,
            edges: 0,
        }
    }

    /// Makes this button an emergency stop (a bumper, a big red button): `estop` is pulled
    /// when the button is held down at start, on every edge towards pressed (bounce or not,
    /// before debouncing, so no press is ever lost or delayed by it), and when its input cannot
    /// be read. Wire an E-stop normally closed ([`Debouncer`] with `active_low = false` for a
    /// contact to ground with a pull-up): a broken wire then reads as pressed.
    pub fn triggers(mut self, estop: EStop) -> Self {
        self.estop = Some(estop);
        self
    }

    /// Pulls the E-stop, if this button is one and it is not engaged already. `ago`: how long
    /// ago the cause happened, when known.
    fn pull(&self, why: &str, ago: Option<Duration>) {
        if let Some(estop) = &self.estop
            && !estop.is_engaged()
        {
            estop.trigger_since(&format!("{} {why}", self.name), ago);
        }
    }

    /// Acts on a debounced event that happened at `at` (edge time).
    fn accepted(&mut self, event: ButtonEvent, at: Duration, ctx: &mut Context<Self>) {
        if event == ButtonEvent::Pressed {
            self.presses += 1;
            if let Some(deadline) = self.debouncer.long_press_deadline() {
                let wait = deadline.saturating_sub(at);
                ctx.send_after(wait, move |me| me.check_long_press(deadline));
            }
        }
        publish(&self.topic, event);
    }
}

/// The last part of this actor's topic name.
const TOPIC: &str = "events";

#[actor]
impl Button {
    /// Reads the level before the first edge: a button held down at start is pressed (a
    /// latching E-stop pressed at boot keeps the robot stopped).
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), TopicError> {
        self.topic = Some(own_topic(ctx, TOPIC)?);
        let Some(mut source) = self.source.take() else {
            return Ok(());
        };
        match source.is_high() {
            Ok(high) => {
                if self.debouncer.start_level(high).is_some() {
                    self.presses += 1;
                    self.pull("held down at start", None);
                    publish(&self.topic, ButtonEvent::Pressed);
                }
            }
            Err(e) => {
                tracing::warn!(button = %self.name, error = %e, "cannot read the level at start");
                self.pull(&format!("cannot be read: {e}"), None);
            }
        }
        let edges = stream::unfold((source, false), |(mut source, failed)| async move {
            if failed {
                // A failing input must not spin: try again a little later (after the failure
                // has been delivered, so an E-stop acts on it at once).
                tokio::time::sleep(INPUT_RETRY).await;
            }
            let edge = source.next_edge().await;
            // How old the edge is now, on its own clock; the mailbox's wait is added on arrival.
            let age = match &edge {
                Ok(edge) => source.now().map(|now| now.saturating_sub(edge.at)),
                Err(_) => None,
            };
            let received = Received {
                edge,
                age,
                at: Instant::now(),
            };
            let failed = received.edge.is_err();
            Some((received, (source, failed)))
        });
        ctx.attach_stream(edges, |me, received| me.edge(received));
        Ok(())
    }

    #[handler]
    fn edge(&mut self, received: Received, ctx: &mut Context<Self>) {
        let edge = match received.edge {
            Ok(edge) => edge,
            Err(e) => {
                tracing::warn!(button = %self.name, error = %e, "edge lost");
                self.pull(&format!("cannot be read: {e}"), None);
                return;
            }
        };
        if self.debouncer.is_press_edge(edge) {
            let ago = received.age.map(|age| age + received.at.elapsed());
            self.pull("pressed", ago);
        }
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
            publish(&self.topic, event);
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

    /// Presses, releases and long presses, on the topic `<path>/events` (it keeps the newest). Subscribe an actor with
    /// `ctx.subscribe(&topic, ..)`, or follow it with `topic.stream()`.
    ///
    /// # Errors
    /// [`TopicError::WrongType`] if the system has a topic of that name for another type.
    #[handler]
    pub fn topic(&mut self, ctx: &mut Context<Self>) -> Result<Topic<ButtonEvent>, TopicError> {
        own_topic(ctx, TOPIC)
    }
}

/// An edge as the stream received it: how old it was then (on the input's clock), and when.
#[derive(Debug)]
struct Received {
    edge: Result<Edge, DeviceError>,
    age: Option<Duration>,
    at: Instant,
}

impl std::fmt::Debug for Button {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Button")
            .field("name", &self.name)
            .field("presses", &self.presses)
            .finish_non_exhaustive()
    }
}
