//! The exporting side of one actor: everything arriving at its key goes, in arrival order, to
//! one task that checks the envelope, puts each sender's calls back in the order they were
//! sent, decodes them and hands them to the actor's mailbox (never waiting: a full mailbox
//! refuses, as `try_send` does, and the refusal is a counted dead letter). An ask's answer is
//! sent once the actor has handled it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use compaktor::remote::{RemoteActor, RemoteMessage, deliver, full_answer, refusal, stopped_answer};
use compaktor::{ActorRef, SendError};
use tokio::sync::mpsc;

use crate::node::Stats;
use crate::transport::{Handler, Incoming, Responder};
use crate::wire::{self, Frame, FrameError, Kind};

/// How many frames of one sender may wait for an earlier one before the gap is skipped (it
/// can only come from a frame whose header did not parse).
const MAX_OUT_OF_ORDER: usize = 256;

/// The transport's handler for one export, and the task that serves it.
pub(crate) fn start<A: RemoteActor>(
    actor: ActorRef<A>,
    export: String,
    max_frame: usize,
    stats: Arc<Stats>,
) -> Handler {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(Exporter::<A> {
        actor,
        export,
        max_frame,
        stats,
        senders: HashMap::new(),
    }, rx));
    Arc::new(move |incoming| {
        // Closed only once the export is gone; then nothing is served.
        let _ = tx.send(incoming);
    })
}

pub(crate) struct Exporter<A: RemoteActor> {
    pub(crate) actor: ActorRef<A>,
    pub(crate) export: String,
    pub(crate) max_frame: usize,
    pub(crate) stats: Arc<Stats>,
    /// Per sender: the next sequence number, and the frames that arrived before it.
    senders: HashMap<u64, Sender>,
}

#[derive(Default)]
struct Sender {
    next: u64,
    waiting: BTreeMap<u64, (Vec<u8>, Option<Responder>)>,
}

async fn run<A: RemoteActor>(mut exporter: Exporter<A>, mut rx: mpsc::UnboundedReceiver<Incoming>) {
    while let Some(incoming) = rx.recv().await {
        let (bytes, responder) = match incoming {
            Incoming::Put(bytes) => (bytes, None),
            Incoming::Query(bytes, responder) => (bytes, Some(responder)),
        };
        exporter.receive(bytes, responder);
    }
}

impl<A: RemoteActor> Exporter<A> {
    #[cfg(test)]
    pub(crate) fn new(actor: ActorRef<A>, max_frame: usize, stats: Arc<Stats>) -> Self {
        Exporter {
            actor,
            export: "test".into(),
            max_frame,
            stats,
            senders: HashMap::new(),
        }
    }

    /// One frame off the network.
    pub(crate) fn receive(&mut self, bytes: Vec<u8>, responder: Option<Responder>) {
        self.stats.received();
        let header = match Frame::parse(&bytes) {
            Ok(frame) => frame,
            Err(e) => return self.refuse(&e, responder),
        };
        if header.kind == Kind::Describe {
            if let Some(responder) = responder {
                responder(wire::describe_answer(
                    <A::Message as RemoteMessage>::FINGERPRINT,
                    std::any::type_name::<A>(),
                ));
            }
            return;
        }
        let sender = header.sender;
        let seq = header.seq;
        let state = self.senders.entry(sender).or_default();
        if seq < state.next {
            let e = FrameError::Call(compaktor::CodecError::Decode {
                what: "the sequence number",
                error: format!("{seq} was handled already"),
            });
            return self.refuse(&e, responder);
        }
        if seq > state.next {
            state.waiting.insert(seq, (bytes, responder));
            if state.waiting.len() > MAX_OUT_OF_ORDER {
                let first = *state.waiting.keys().next().expect("not empty");
                tracing::warn!(export = %self.export, sender, skipped = first - state.next,
                    "a remote sender's frames had a gap; skipping it");
                state.next = first;
                self.drain(sender);
            }
            return;
        }
        state.next += 1;
        self.handle(&bytes, responder);
        self.drain(sender);
    }

    /// Handles the frames of `sender` that are next in its order.
    fn drain(&mut self, sender: u64) {
        loop {
            let Some(state) = self.senders.get_mut(&sender) else { return };
            let next = state.next;
            let Some((bytes, responder)) = state.waiting.remove(&next) else {
                return;
            };
            state.next += 1;
            self.handle(&bytes, responder);
        }
    }

    /// One frame in its sender's order: checked, decoded, delivered.
    fn handle(&self, bytes: &[u8], responder: Option<Responder>) {
        if bytes.len() > self.max_frame {
            let e = FrameError::Oversized {
                len: bytes.len(),
                limit: self.max_frame,
            };
            return self.refuse(&e, responder);
        }
        let frame = match Frame::parse(bytes) {
            Ok(frame) => frame,
            Err(e) => return self.refuse(&e, responder),
        };
        let expected = <A::Message as RemoteMessage>::FINGERPRINT;
        if frame.fingerprint != expected {
            let e = FrameError::Fingerprint {
                got: frame.fingerprint,
                expected,
            };
            return self.refuse(&e, responder);
        }
        let ask = frame.kind == Kind::Ask;
        let (message, waiter) = match <A::Message as RemoteMessage>::decode_call(frame.call, ask) {
            Ok(decoded) => decoded,
            Err(e) => return self.refuse(&FrameError::Call(e), responder),
        };
        match deliver(&self.actor, message) {
            Ok(()) => {
                if let (Some(responder), Some(waiter)) = (responder, waiter) {
                    tokio::spawn(async move { responder(waiter.answer().await) });
                }
            }
            // Counted as a dead letter by `deliver`.
            Err(SendError::Full { capacity, .. }) => {
                if let Some(responder) = responder {
                    responder(full_answer(capacity));
                }
            }
            Err(_) => {
                if let Some(responder) = responder {
                    responder(stopped_answer());
                }
            }
        }
    }

    fn refuse(&self, error: &FrameError, responder: Option<Responder>) {
        self.stats.refused();
        tracing::warn!(export = %self.export, %error, "refused a remote frame");
        if let Some(responder) = responder {
            responder(refusal(&error.to_string()));
        }
    }
}
