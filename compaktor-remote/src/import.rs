//! The importing side: the task behind a looked-up `ActorRef`. It takes each message from the
//! proxy's mailbox in order, encodes it without its reply slot, and sends a tell as a put and
//! an ask as a query, each numbered so that the exporting side hands them to the actor in the
//! order they were sent. An ask's answer completes the asker's reply slot. Tells queued
//! together go in one put (a batch, `wire::Batch`): the task takes what is queued, never
//! waits for more.
//!
//! It also follows the actor's presence (`presence::follow`): when the actor stops there, is
//! unexported, or its node goes, the reference ends with `StopReason::Remote` (so `stopped()`,
//! watchers and links see it), what is still queued becomes dead letters, and if the node
//! went (or left), asks in flight fail at once with `Unreachable` instead of at their timeout.
//! An ask whose asker gives up drops its query at once.

use std::sync::Arc;
use std::time::Duration;

use compaktor::remote::{ProxyInbox, RemoteActor, RemoteMessage, RemoteReply};
use compaktor::{CodecError, RemoteEnd, RemoteFailure, StopReason};

use crate::presence::{self, Follow};
use crate::stats::Stats;
use crate::transport::{Publisher, Transport};
use crate::wire::{Batch, Frame, HEADER, Kind, MAX_BATCH};

pub(crate) struct Importer {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) publisher: Arc<dyn Publisher>,
    pub(crate) key: String,
    pub(crate) sender: u64,
    pub(crate) max_frame: usize,
    pub(crate) ask_limit: Duration,
    pub(crate) stats: Arc<Stats>,
}

pub(crate) async fn run<A: RemoteActor>(
    mut inbox: ProxyInbox<A>,
    importer: Importer,
    follow: Follow,
) {
    let mut sending = Sending {
        seq: 0,
        tells: Batch::default(),
        limit: importer.max_frame.min(MAX_BATCH),
    };
    let mut watching = follow.ended.clone();
    loop {
        let next = tokio::select! {
            biased;
            end = presence::ended(&mut watching) => Err(end),
            message = inbox.recv() => Ok(message),
        };
        let mut message = match next {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(end) => return inbox.end(StopReason::Remote(end)),
        };
        // This message and each one queued behind it now: the tells among them go together,
        // in as few puts as the batch limit allows, and nothing waits for more to come.
        loop {
            importer.send(message, &mut sending, &follow).await;
            match inbox.try_recv() {
                Some(queued) => message = queued,
                None => break,
            }
        }
        importer.flush(&mut sending.tells).await;
    }
}

/// What the import task keeps between messages.
struct Sending {
    /// The next call's sequence number.
    seq: u64,
    /// Tells written and not yet sent.
    tells: Batch,
    /// The most bytes in one batch.
    limit: usize,
}

impl Importer {
    /// Encodes `message` into the batch of tells (sending the batch when it is full), or, for
    /// an ask, sends the batch and then the ask.
    async fn send<M: RemoteMessage>(&self, message: M, sending: &mut Sending, follow: &Follow) {
        let handler = message.handler_name();
        let seq = sending.seq;
        let out = sending.tells.begin(M::FINGERPRINT, self.sender, seq);
        let reply = match message.encode_call(out) {
            Ok(reply) => reply,
            Err(e) => {
                sending.tells.cancel();
                tracing::warn!(handler, error = %e.error, "a remote call could not be encoded");
                if let Some(reply) = e.reply {
                    reply.fail(RemoteFailure::Codec(e.error));
                }
                return;
            }
        };
        // The limit holds for the call as if it went alone.
        let len = HEADER + sending.tells.call().len();
        if len > self.max_frame {
            sending.tells.cancel();
            let error = CodecError::Encode {
                what: "the call",
                error: format!("{len} bytes, over the limit of {}", self.max_frame),
            };
            tracing::warn!(handler, %error, "a remote call is too large");
            if let Some(reply) = reply {
                reply.fail(RemoteFailure::Codec(error));
            }
            return;
        }
        sending.seq += 1;
        self.stats.sent();
        let Some(reply) = reply else {
            if sending.tells.calls() > 0 && sending.tells.len() > sending.limit {
                // No room for it: the others go first, and it starts the next batch.
                let call = sending.tells.call().to_vec();
                sending.tells.cancel();
                self.flush(&mut sending.tells).await;
                sending
                    .tells
                    .begin(M::FINGERPRINT, self.sender, seq)
                    .extend_from_slice(&call);
            }
            sending.tells.commit();
            if sending.tells.len() >= sending.limit {
                self.flush(&mut sending.tells).await;
            }
            return;
        };
        let mut out = Vec::with_capacity(len);
        Frame::encode(Kind::Ask, M::FINGERPRINT, self.sender, seq, &mut out);
        out.extend_from_slice(sending.tells.call());
        sending.tells.cancel();
        // The tells before it go first (the receiver would hold the ask for them anyway).
        self.flush(&mut sending.tells).await;
        self.ask(out, reply, follow);
    }

    /// Sends the tells in `batch`, if any.
    async fn flush(&self, batch: &mut Batch) {
        let calls = batch.calls();
        if let Some(frame) = batch.take()
            && let Err(e) = self.publisher.put(frame).await
        {
            tracing::warn!(calls, error = %e, "remote tells were not sent");
        }
    }

    /// Sends the ask `frame` as a query, from a task of its own, and completes `reply` from
    /// its answer.
    fn ask(&self, frame: Vec<u8>, mut reply: Box<dyn RemoteReply>, follow: &Follow) {
        let query = self
            .transport
            .query(self.key.clone(), frame, self.ask_limit);
        let limit = self.ask_limit;
        let mut watching = follow.ended.clone();
        let stats = Arc::clone(&self.stats);
        tokio::spawn(async move {
            // Only a lost node fails an ask at once: an actor that stopped or was
            // unexported still answers what it was sent (or says it stopped).
            let node_gone = async {
                match presence::ended(&mut watching).await {
                    end @ (RemoteEnd::NodeGone { .. } | RemoteEnd::NodeLeft { .. }) => end,
                    _ => std::future::pending().await,
                }
            };
            // An asker that gives up (timeout, dropped future) drops the query too:
            // it does not wait for the node's ask limit for an answer nobody reads.
            let answer = tokio::select! {
                answer = query => Some(answer),
                end = node_gone => Some(Err(end.to_string())),
                () = reply.abandoned() => None,
            };
            let Some(answer) = answer else {
                stats.abandoned();
                return;
            };
            match answer {
                Ok(Some(answer)) => reply.answer(&answer),
                Ok(None) => reply.fail(RemoteFailure::Unreachable(format!(
                    "no answer within {limit:?}"
                ))),
                Err(e) => reply.fail(RemoteFailure::Unreachable(e)),
            }
        });
    }
}
