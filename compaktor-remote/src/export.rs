//! The exporting side of one actor: everything arriving at its key goes, in arrival order, to
//! one task that checks the envelope, puts each sender's calls back in the order they were
//! sent, decodes them and hands them to the actor's mailbox (never waiting: a full mailbox
//! refuses, as `try_send` does, and the refusal is a counted dead letter). An ask's answer is
//! sent once the actor has handled it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use compaktor::remote::{
    RemoteActor, RemoteMessage, deliver, full_answer, refusal, stopped_answer,
};
use compaktor::{ActorRef, SendError};
use tokio::sync::mpsc;

use crate::stats::Stats;
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
    tokio::spawn(run(
        Exporter::<A> {
            actor,
            export,
            max_frame,
            stats,
            senders: HashMap::new(),
        },
        rx,
    ));
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
        if header.kind == Kind::Topic {
            // A topic value sent to an actor's key: not a call.
            return self.refuse(&FrameError::Kind(Kind::Topic as u8), responder);
        }
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
            let Some(state) = self.senders.get_mut(&sender) else {
                return;
            };
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
            // A dead letter of the receiving system, recorded by `deliver`.
            Err(SendError::Full { capacity, .. }) => {
                self.stats.dead_letter();
                if let Some(responder) = responder {
                    responder(full_answer(capacity));
                }
            }
            Err(_) => {
                self.stats.dead_letter();
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

#[cfg(test)]
mod fuzz {
    //! Random and mutated frames through the whole receiving path: the envelope, the order,
    //! the generated decoder and the delivery. None may panic; bad ones are refused and
    //! counted; the actor keeps working. And what delivery does with a call for an actor that
    //! has stopped.

    use std::sync::atomic::{AtomicU64, Ordering};

    use compaktor::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::*;

    struct Target {
        calls: u64,
    }

    #[derive(Debug, Serialize, Deserialize)]
    enum Shape {
        Dot,
        Line(f32, f32),
        Named { name: String, sides: Vec<u8> },
    }

    #[actor(remote, mailbox = unbounded, message = TargetMessage)]
    impl Target {
        #[handler]
        fn set(&mut self, _n: u32, _text: String) {
            self.calls += 1;
        }
        #[handler]
        fn draw(&mut self, _shape: Shape, _scale: Option<f64>) -> Vec<u8> {
            self.calls += 1;
            vec![1, 2, 3]
        }
        #[handler]
        fn div(&self, a: i64, b: i64) -> Result<i64, String> {
            a.checked_div(b)
                .ok_or_else(|| "division by zero".to_owned())
        }
        #[handler]
        fn calls(&self) -> u64 {
            self.calls
        }
        /// A told `div` by zero is the actor's own failure, not the decoder's: go on.
        #[on_failure]
        fn resume(&mut self, _failure: &HandlerFailure) -> FailureAction {
            FailureAction::Resume
        }
    }

    use crate::fuzz_rng::Rng;

    /// A valid frame of a random call.
    fn valid_frame(rng: &mut Rng) -> Vec<u8> {
        let ask = rng.below(2) == 0;
        let message = match rng.below(4) {
            0 => TargetMessage::Set(rng.next() as u32, "x".repeat(rng.below(20) as usize), None),
            1 => TargetMessage::Draw(
                match rng.below(3) {
                    0 => Shape::Dot,
                    1 => Shape::Line(1.5, -2.0),
                    _ => Shape::Named {
                        name: "tri".into(),
                        sides: vec![3; rng.below(5) as usize],
                    },
                },
                (rng.below(2) == 0).then_some(2.5),
                None,
            ),
            2 => TargetMessage::Div(rng.next() as i64, rng.below(3) as i64, None),
            _ => TargetMessage::Calls(None),
        };
        let mut out = Vec::new();
        let kind = if ask { Kind::Ask } else { Kind::Tell };
        Frame::encode(
            kind,
            <TargetMessage as RemoteMessage>::FINGERPRINT,
            rng.below(4),
            rng.below(8),
            &mut out,
        );
        message.encode_call(&mut out).expect("encodes");
        out
    }

    fn mutate(rng: &mut Rng, mut frame: Vec<u8>) -> Vec<u8> {
        for _ in 0..=rng.below(4) {
            match rng.below(6) {
                0 if !frame.is_empty() => {
                    let at = rng.below(frame.len() as u64) as usize;
                    frame[at] ^= 1 << rng.below(8);
                }
                1 if !frame.is_empty() => {
                    let at = rng.below(frame.len() as u64) as usize;
                    frame[at] = rng.next() as u8;
                }
                2 => frame.truncate(rng.below(frame.len() as u64 + 1) as usize),
                3 => frame.extend((0..rng.below(16)).map(|_| rng.next() as u8)),
                4 if frame.len() > HEADER_AT_CALL => {
                    // A huge length prefix where a string or vector starts.
                    let at =
                        HEADER_AT_CALL + rng.below((frame.len() - HEADER_AT_CALL) as u64) as usize;
                    frame.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]);
                }
                _ => {
                    if !frame.is_empty() {
                        frame[0] = rng.below(3) as u8;
                    }
                }
            }
        }
        frame
    }

    const HEADER_AT_CALL: usize = crate::wire::HEADER;

    #[tokio::test]
    async fn a_hundred_thousand_bad_frames_cause_no_panic() {
        let system = ActorSystem::new("fuzz");
        let target = system.spawn(Target { calls: 0 });
        let stats = Arc::new(Stats::default());
        let mut exporter = Exporter::new(target.clone(), 512, Arc::clone(&stats));
        let answered = Arc::new(AtomicU64::new(0));
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        const CASES: u64 = 100_000;
        for case in 0..CASES {
            let bytes = match case % 3 {
                0 => (0..rng.below(80)).map(|_| rng.next() as u8).collect(),
                _ => {
                    let valid = valid_frame(&mut rng);
                    mutate(&mut rng, valid)
                }
            };
            // Straight to the decoder too, whatever the envelope says.
            if let Ok(frame) = Frame::parse(&bytes) {
                let _ = <TargetMessage as RemoteMessage>::decode_call(frame.call, true);
            }
            let _ = <TargetMessage as RemoteMessage>::decode_call(&bytes, false);
            let responder: Option<Responder> = (rng.below(2) == 0).then(|| {
                let answered = Arc::clone(&answered);
                Box::new(move |_: Vec<u8>| {
                    answered.fetch_add(1, Ordering::Relaxed);
                }) as Responder
            });
            exporter.receive(bytes, responder);
            if case % 1000 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let refused = stats.refused.load(Ordering::Relaxed);
        assert_eq!(stats.received.load(Ordering::Relaxed), CASES);
        assert!(refused > CASES / 3, "refused only {refused}");
        // The actor handled what was valid, and still answers.
        assert!(target.is_alive());
        assert!(target.calls().await.unwrap() > 0);
        assert!(answered.load(Ordering::Relaxed) > 0);
    }

    #[tokio::test]
    async fn a_call_for_a_stopped_actor_is_a_counted_dead_letter_as_locally() {
        use futures::StreamExt;

        let system = ActorSystem::new("stopped");
        let target = system.spawn(Target { calls: 0 });
        target.stop();
        target.stopped().await;
        let stats = Arc::new(Stats::default());
        let mut exporter = Exporter::new(target.clone(), 512, Arc::clone(&stats));
        let mut letters = system.dead_letters();

        let mut frame = Vec::new();
        Frame::encode(
            Kind::Tell,
            <TargetMessage as RemoteMessage>::FINGERPRINT,
            1,
            0,
            &mut frame,
        );
        TargetMessage::Set(1, "x".into(), None)
            .encode_call(&mut frame)
            .expect("encodes");
        exporter.receive(frame, None);
        let remote = letters.next().await.unwrap();
        assert_eq!(stats.dead_letters.load(Ordering::Relaxed), 1);
        assert_eq!(stats.refused.load(Ordering::Relaxed), 0);

        // The same reason and handler as a local send to the stopped actor.
        assert!(target.set(1, "x".into()).try_send().is_err());
        let local = letters.next().await.unwrap();
        assert_eq!(
            (remote.reason, remote.handler),
            (local.reason, local.handler)
        );
        assert_eq!(remote.reason, compaktor::DeadLetterReason::Stopped);
    }
}
