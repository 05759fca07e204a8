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
use crate::wire::{self, Calls, Frame, FrameError, Kind};

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
        let header = match Frame::parse(&bytes) {
            Ok(frame) => frame,
            Err(e) => {
                self.stats.received(1);
                return self.refuse(&e, 1, responder);
            }
        };
        // Each call of a batch counts, as it would have alone.
        self.stats.received(u64::from(header.calls));
        match header.kind {
            // A topic value sent to an actor's key: not a call.
            Kind::Topic => return self.refuse(&FrameError::Kind(Kind::Topic as u8), 1, responder),
            // A batch is only ever put: as a query, it is not ours.
            Kind::Batch if responder.is_some() => {
                let e = FrameError::Kind(Kind::Batch as u8);
                return self.refuse(&e, u64::from(header.calls), responder);
            }
            Kind::Describe => {
                if let Some(responder) = responder {
                    responder(wire::describe_answer(
                        <A::Message as RemoteMessage>::FINGERPRINT,
                        std::any::type_name::<A>(),
                    ));
                }
                return;
            }
            Kind::Tell | Kind::Ask | Kind::Batch => {}
        }
        let sender = header.sender;
        let seq = header.seq;
        let calls = header.calls;
        let state = self.senders.entry(sender).or_default();
        if seq < state.next {
            return self.refuse(&handled_already(seq), u64::from(calls), responder);
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
        state.next = seq.saturating_add(u64::from(calls));
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
            // A frame whose calls a batch before it held already (only a broken sender sends
            // one) is refused, not kept.
            if let Some(entry) = state.waiting.first_entry()
                && *entry.key() < next
            {
                let (seq, (bytes, responder)) = entry.remove_entry();
                let calls = Frame::parse(&bytes).map_or(1, |frame| frame.calls);
                self.refuse(&handled_already(seq), u64::from(calls), responder);
                continue;
            }
            let Some((bytes, responder)) = state.waiting.remove(&next) else {
                return;
            };
            let calls = Frame::parse(&bytes).map_or(1, |frame| frame.calls);
            state.next = next.saturating_add(u64::from(calls));
            self.handle(&bytes, responder);
        }
    }

    /// One frame in its sender's order: checked, decoded, delivered.
    fn handle(&self, bytes: &[u8], responder: Option<Responder>) {
        let frame = match Frame::parse(bytes) {
            Ok(frame) => frame,
            Err(e) => return self.refuse(&e, 1, responder),
        };
        let calls = u64::from(frame.calls);
        let limit = if frame.kind == Kind::Batch {
            wire::MAX_BATCH
        } else {
            self.max_frame
        };
        if bytes.len() > limit {
            let e = FrameError::Oversized {
                len: bytes.len(),
                limit,
            };
            return self.refuse(&e, calls, responder);
        }
        let expected = <A::Message as RemoteMessage>::FINGERPRINT;
        if frame.fingerprint != expected {
            let e = FrameError::Fingerprint {
                got: frame.fingerprint,
                expected,
            };
            return self.refuse(&e, calls, responder);
        }
        if frame.kind == Kind::Batch {
            return self.handle_batch(frame);
        }
        self.call(frame.call, frame.kind == Kind::Ask, responder);
    }

    /// The calls of a batch, each as if it had come alone: one that does not decode is
    /// refused and the others are delivered.
    fn handle_batch(&self, frame: Frame<'_>) {
        let mut calls = Calls::new(frame.call);
        for i in 0..frame.calls {
            let Some(call) = calls.next_call() else {
                let e = FrameError::Batch("a call's length runs past its end");
                return self.refuse(&e, u64::from(frame.calls - i), None);
            };
            // The limit holds for each call as if it had come alone.
            if wire::HEADER + call.len() > self.max_frame {
                let e = FrameError::Oversized {
                    len: wire::HEADER + call.len(),
                    limit: self.max_frame,
                };
                self.refuse(&e, 1, None);
                continue;
            }
            self.call(call, false, None);
        }
        if !calls.rest().is_empty() {
            self.refuse(&FrameError::Batch("bytes after its last call"), 1, None);
        }
    }

    /// One call: decoded and delivered to the actor.
    fn call(&self, call: &[u8], ask: bool, responder: Option<Responder>) {
        let (message, waiter) = match <A::Message as RemoteMessage>::decode_call(call, ask) {
            Ok(decoded) => decoded,
            Err(e) => return self.refuse(&FrameError::Call(e), 1, responder),
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

    /// Refuses `calls` calls (a frame's, or one of a batch) for `error`.
    fn refuse(&self, error: &FrameError, calls: u64, responder: Option<Responder>) {
        self.stats.refused_many(calls);
        tracing::warn!(export = %self.export, %error, calls, "refused a remote frame");
        if let Some(responder) = responder {
            responder(refusal(&error.to_string()));
        }
    }
}

/// A frame whose sequence number its sender's order has passed.
fn handled_already(seq: u64) -> FrameError {
    FrameError::Call(compaktor::CodecError::Decode {
        what: "the sequence number",
        error: format!("{seq} was handled already"),
    })
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

    /// A valid frame of a random call, or a batch of a few random tells.
    fn valid_frame(rng: &mut Rng) -> Vec<u8> {
        if rng.below(4) == 0 {
            let mut batch = crate::wire::Batch::default();
            let (sender, first) = (rng.below(4), rng.below(8));
            for i in 0..=rng.below(4) {
                let out = batch.begin(
                    <TargetMessage as RemoteMessage>::FINGERPRINT,
                    sender,
                    first + i,
                );
                random_call(rng).encode_call(out).expect("encodes");
                batch.commit();
            }
            return batch.take().expect("a call");
        }
        let ask = rng.below(2) == 0;
        let message = random_call(rng);
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

    /// A random call (with no reply slot: the envelope says whether it is an ask).
    fn random_call(rng: &mut Rng) -> TargetMessage {
        match rng.below(4) {
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
        }
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
        // Each call of a batch counts as received.
        let mut calls = 0;
        let mut batches = 0;
        for case in 0..CASES {
            let bytes = match case % 3 {
                0 => (0..rng.below(80)).map(|_| rng.next() as u8).collect(),
                _ => {
                    let valid = valid_frame(&mut rng);
                    mutate(&mut rng, valid)
                }
            };
            // Straight to the decoder too, whatever the envelope says.
            calls += 1;
            if let Ok(frame) = Frame::parse(&bytes) {
                let _ = <TargetMessage as RemoteMessage>::decode_call(frame.call, true);
                calls += u64::from(frame.calls) - 1;
                batches += u64::from(frame.kind == Kind::Batch);
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
        assert_eq!(stats.received.load(Ordering::Relaxed), calls);
        assert!(refused > CASES / 3, "refused only {refused}");
        assert!(batches > CASES / 20, "only {batches} batches");
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

#[cfg(test)]
mod batches {
    //! Batches of tells on the receiving side: each call is checked, decoded and delivered as
    //! if it had come alone, in its sender's order with the frames around it.

    use std::sync::atomic::Ordering;

    use compaktor::prelude::*;

    use super::*;
    use crate::wire::Batch;

    #[derive(Default)]
    struct Recorder {
        seen: Vec<u32>,
    }

    #[actor(remote, mailbox = unbounded, message = RecorderMessage)]
    impl Recorder {
        #[handler]
        fn push(&mut self, n: u32) {
            self.seen.push(n);
        }
        #[handler]
        fn note(&mut self, text: String) {
            self.seen.push(text.len() as u32);
        }
        #[handler]
        fn seen(&self) -> Vec<u32> {
            self.seen.clone()
        }
    }

    const FP: u64 = <RecorderMessage as RemoteMessage>::FINGERPRINT;
    const SENDER: u64 = 7;

    fn call(message: RecorderMessage) -> Vec<u8> {
        let mut out = Vec::new();
        message.encode_call(&mut out).expect("encodes");
        out
    }

    fn push(n: u32) -> Vec<u8> {
        call(RecorderMessage::Push(n, None))
    }

    /// A batch frame of `calls`, the first numbered `first`.
    fn batch(fingerprint: u64, first: u64, calls: &[Vec<u8>]) -> Vec<u8> {
        let mut batch = Batch::default();
        for (i, call) in (0..).zip(calls) {
            batch
                .begin(fingerprint, SENDER, first + i)
                .extend_from_slice(call);
            batch.commit();
        }
        batch.take().expect("calls")
    }

    /// A tell frame of `push(n)` numbered `seq`.
    fn single(seq: u64, n: u32) -> Vec<u8> {
        let mut out = Vec::new();
        Frame::encode(Kind::Tell, FP, SENDER, seq, &mut out);
        out.extend_from_slice(&push(n));
        out
    }

    fn recorder(
        max_frame: usize,
    ) -> (
        ActorSystem,
        ActorRef<Recorder>,
        Arc<Stats>,
        Exporter<Recorder>,
    ) {
        let system = ActorSystem::new("batches");
        let recorder = system.spawn(Recorder::default());
        let stats = Arc::new(Stats::default());
        let exporter = Exporter::new(recorder.clone(), max_frame, Arc::clone(&stats));
        (system, recorder, stats, exporter)
    }

    fn counts(stats: &Stats) -> (u64, u64) {
        (
            stats.received.load(Ordering::Relaxed),
            stats.refused.load(Ordering::Relaxed),
        )
    }

    #[tokio::test]
    async fn a_batch_is_delivered_call_by_call_and_its_sender_goes_on_after_it() {
        let (_system, recorder, stats, mut exporter) = recorder(512);
        exporter.receive(batch(FP, 0, &[push(0), push(1), push(2)]), None);
        assert_eq!(recorder.seen().await.unwrap(), vec![0, 1, 2]);
        // The batch held numbers 0 to 2: the sender's next frame is 3.
        exporter.receive(single(3, 3), None);
        assert_eq!(recorder.seen().await.unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(counts(&stats), (4, 0));
    }

    #[tokio::test]
    async fn a_bad_call_in_a_batch_is_refused_and_counted_and_the_rest_delivered() {
        let (_system, recorder, stats, mut exporter) = recorder(64);
        let calls = [
            push(0),
            vec![0xff, 0xff, 0xff], // no handler of that index
            push(2),
            call(RecorderMessage::Note("x".repeat(100), None)), // over the frame limit
            call(RecorderMessage::Note("x".repeat(4), None)),
        ];
        exporter.receive(batch(FP, 0, &calls), None);
        assert_eq!(recorder.seen().await.unwrap(), vec![0, 2, 4]);
        assert_eq!(counts(&stats), (5, 2));
    }

    #[tokio::test]
    async fn batches_and_single_frames_are_handled_in_their_senders_order() {
        let (_system, recorder, stats, mut exporter) = recorder(512);
        exporter.receive(single(6, 6), None);
        exporter.receive(batch(FP, 2, &[push(2), push(3), push(4), push(5)]), None);
        exporter.receive(batch(FP, 1, &[push(1)]), None); // a batch of one is a tell frame
        assert_eq!(recorder.seen().await.unwrap(), Vec::<u32>::new());
        exporter.receive(single(0, 0), None);
        assert_eq!(recorder.seen().await.unwrap(), (0..7).collect::<Vec<_>>());
        assert_eq!(counts(&stats), (7, 0));
    }

    #[tokio::test]
    async fn a_broken_batch_delivers_what_came_before_the_break() {
        let (_system, recorder, stats, mut exporter) = recorder(512);
        let mut frame = batch(FP, 0, &[push(0), push(1), push(2)]);
        // The second call's length runs past the end.
        let second = crate::wire::BATCH_HEADER + crate::wire::CALL_LENGTH + push(0).len();
        frame[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        exporter.receive(frame, None);
        assert_eq!(recorder.seen().await.unwrap(), vec![0]);
        assert_eq!(counts(&stats), (3, 2));
        // Its count still held its numbers: the sender goes on at 3.
        exporter.receive(single(3, 3), None);
        assert_eq!(recorder.seen().await.unwrap(), vec![0, 3]);

        // For another actor type: every call refused.
        exporter.receive(batch(FP ^ 1, 4, &[push(4), push(5)]), None);
        assert_eq!(counts(&stats), (6, 4));
        // A count its bytes cannot hold: refused as one frame, no numbers taken.
        let mut frame = batch(FP, 6, &[push(6), push(7)]);
        frame[crate::wire::HEADER..crate::wire::BATCH_HEADER]
            .copy_from_slice(&1000u32.to_le_bytes());
        exporter.receive(frame, None);
        assert_eq!(counts(&stats), (7, 5));
        exporter.receive(single(6, 6), None);
        assert_eq!(recorder.seen().await.unwrap(), vec![0, 3, 6]);
    }
}
