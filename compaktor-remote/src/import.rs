//! The importing side: the task behind a looked-up `ActorRef`. It takes each message from the
//! proxy's mailbox in order, encodes it without its reply slot, and sends a tell as a put and
//! an ask as a query, each numbered so that the exporting side hands them to the actor in the
//! order they were sent. An ask's answer completes the asker's reply slot.
//!
//! It also follows the actor's presence (`presence::follow`): when the actor stops there, is
//! unexported, or its node goes, the reference ends with `StopReason::Remote` (so `stopped()`,
//! watchers and links see it), what is still queued becomes dead letters, and if the node
//! went (or left), asks in flight fail at once with `Unreachable` instead of at their timeout.
//! An ask whose asker gives up drops its query at once.

use std::sync::Arc;
use std::time::Duration;

use compaktor::remote::{ProxyInbox, RemoteActor, RemoteMessage};
use compaktor::{CodecError, RemoteEnd, RemoteFailure, StopReason};

use crate::presence::{self, Follow};
use crate::stats::Stats;
use crate::transport::{Publisher, Transport};
use crate::wire::{Frame, Kind};

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
    let fingerprint = <A::Message as RemoteMessage>::FINGERPRINT;
    let mut seq: u64 = 0;
    let mut watching = follow.ended.clone();
    loop {
        let next = tokio::select! {
            biased;
            end = presence::ended(&mut watching) => Err(end),
            message = inbox.recv() => Ok(message),
        };
        let message = match next {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(end) => return inbox.end(StopReason::Remote(end)),
        };
        use compaktor::__private::Message as _;
        let handler = message.handler_name();
        let mut out = Vec::with_capacity(64);
        Frame::encode(Kind::Tell, fingerprint, importer.sender, seq, &mut out);
        let reply = match message.encode_call(&mut out) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(handler, error = %e.error, "a remote call could not be encoded");
                if let Some(reply) = e.reply {
                    reply.fail(RemoteFailure::Codec(e.error));
                }
                continue;
            }
        };
        if out.len() > importer.max_frame {
            let error = CodecError::Encode {
                what: "the call",
                error: format!(
                    "{} bytes, over the limit of {}",
                    out.len(),
                    importer.max_frame
                ),
            };
            tracing::warn!(handler, %error, "a remote call is too large");
            if let Some(reply) = reply {
                reply.fail(RemoteFailure::Codec(error));
            }
            continue;
        }
        seq += 1;
        importer.stats.sent();
        match reply {
            None => {
                if let Err(e) = importer.publisher.put(out).await {
                    tracing::warn!(handler, error = %e, "a remote tell was not sent");
                }
            }
            Some(reply) => {
                out[1] = Kind::Ask as u8;
                let query = importer
                    .transport
                    .query(importer.key.clone(), out, importer.ask_limit);
                let limit = importer.ask_limit;
                let mut watching = follow.ended.clone();
                let stats = Arc::clone(&importer.stats);
                let mut reply = reply;
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
    }
}
