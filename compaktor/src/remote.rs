//! The core's side of remote actors (feature `remote`): the traits `#[actor(remote)]`
//! implements, the wire encoding of one handler call and of its reply (serde + postcard), and
//! the proxy: an [`ActorRef`] whose mailbox is drained by a forwarding task instead of an actor.
//! The network itself lives in the `compaktor-remote` crate; nothing here is reached by a local
//! tell or ask.

mod proxy;
pub(crate) mod traffic;

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::macro_support::{Message, ReplyFailure, ReplyReceiver, ReplyTo};
use crate::{Actor, CodecError, RemoteFailure};

pub use self::proxy::{ProxyInbox, deliver, spawn_proxy};
pub use self::traffic::{RemoteStats, TrafficSource, report_traffic};
pub use postcard;
pub use serde;

/// An actor whose handlers can be called from another system: `#[actor(remote)]` implements
/// it. Export one with `compaktor_remote::RemoteNode::export`, reach it with `lookup`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be called from another system",
    label = "not a remote actor",
    note = "write `#[actor(remote)]` on its impl block, and make every handler argument and reply \
            `Serialize + DeserializeOwned`"
)]
pub trait RemoteActor: Actor<Message: RemoteMessage> {}

/// The generated message enum of a remote actor: each call encoded without its reply slot,
/// decoded with a fresh one.
#[doc(hidden)]
pub trait RemoteMessage: Message + Sized {
    /// A hash of the handler names and the token text of their argument and reply types:
    /// two binaries agree on the wire format of an actor if their fingerprints agree.
    const FINGERPRINT: u64;
    /// The handler names, by their wire index.
    const HANDLERS: &'static [&'static str];

    /// Writes the handler index and the arguments to `out`; gives back the reply slot (an
    /// ask's), to complete from the answer's bytes.
    ///
    /// # Errors
    /// An argument's `Serialize` failed; the reply slot is dropped (its asker sees `Stopped`
    /// unless the caller completes it first, see [`CallEncodeError`]).
    fn encode_call(
        self,
        out: &mut Vec<u8>,
    ) -> Result<Option<Box<dyn RemoteReply>>, CallEncodeError>;

    /// Rebuilds a call from [`encode_call`](Self::encode_call)'s bytes, with a fresh reply slot
    /// when `ask`; the [`ReplyWaiter`] then yields the encoded answer.
    ///
    /// # Errors
    /// The bytes are not a call of this actor.
    fn decode_call(bytes: &[u8], ask: bool) -> Result<(Self, Option<ReplyWaiter>), CodecError>;
}

/// An encoding that failed, with the reply slot so the asker can be told why.
#[derive(Debug)]
pub struct CallEncodeError {
    /// What failed.
    pub error: CodecError,
    /// The ask's reply slot, if the call was an ask.
    pub reply: Option<Box<dyn RemoteReply>>,
}

/// How one argument, reply or error type crosses the wire: found for each type by
/// [`Probe`], so that a type without serde is reported once, where the user wrote it.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Codec<T> {
    encode: fn(&T, Vec<u8>) -> Result<Vec<u8>, String>,
    decode: DecodeFn<T>,
}

/// Decodes one value from the front of the bytes; gives back the rest.
type DecodeFn<T> = for<'b> fn(&'b [u8]) -> Result<(T, &'b [u8]), String>;

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Codec<T> {}

fn serde_encode<T: Serialize>(value: &T, out: Vec<u8>) -> Result<Vec<u8>, String> {
    postcard::to_extend(value, out).map_err(|e| e.to_string())
}

fn serde_decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), String> {
    postcard::take_from_bytes(bytes).map_err(|e| e.to_string())
}

/// The codec of a type that never has a value (a handler's `Infallible` error).
#[doc(hidden)]
pub fn never_codec() -> Codec<std::convert::Infallible> {
    Codec {
        encode: |never, _| match *never {},
        decode: |_| Err("this handler cannot fail".to_owned()),
    }
}

/// Autoref specialisation (as `MaybeClone` in `macro_support`): `(&&Probe::<T>::NEW).codec()`
/// is serde's codec when `T: Serialize + DeserializeOwned`; otherwise the fallback, whose
/// bound [`RemoteType`] has no impl, so the build fails with one error at the probe's span.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Probe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Probe<T> {
    pub const NEW: Self = Probe(std::marker::PhantomData);
}

#[doc(hidden)]
pub trait ViaSerde<T> {
    fn codec(&self) -> Codec<T>;
}

impl<T: Serialize + DeserializeOwned> ViaSerde<T> for &Probe<T> {
    fn codec(&self) -> Codec<T> {
        Codec {
            encode: serde_encode::<T>,
            decode: serde_decode::<T>,
        }
    }
}

#[doc(hidden)]
pub trait ViaFallback<T> {
    fn codec(&self) -> Codec<T>
    where
        T: RemoteType;
}

impl<T> ViaFallback<T> for Probe<T> {
    fn codec(&self) -> Codec<T>
    where
        T: RemoteType,
    {
        unreachable!("`RemoteType` has no impl")
    }
}

/// Writes one call: `Encoder::new(out, index)`, then each argument.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Encoder<'a> {
    pub fn new(out: &'a mut Vec<u8>, handler: u32) -> Self {
        // postcard's varint: a handler index costs one byte for the first 128 handlers.
        let encoded = postcard::to_extend(&handler, std::mem::take(out));
        *out = encoded.expect("a u32 always encodes");
        Encoder { out }
    }

    /// # Errors
    /// The value's `Serialize` failed.
    pub fn arg<T>(&mut self, codec: Codec<T>, value: &T) -> Result<(), CodecError> {
        let buf = std::mem::take(self.out);
        match (codec.encode)(value, buf) {
            Ok(buf) => {
                *self.out = buf;
                Ok(())
            }
            Err(error) => Err(CodecError::Encode {
                what: "an argument",
                error,
            }),
        }
    }
}

/// Reads one call: the handler index, then each argument.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// # Errors
    /// No index at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<(Self, u32), CodecError> {
        let (index, rest) =
            postcard::take_from_bytes::<u32>(bytes).map_err(|e| CodecError::Decode {
                what: "the handler index",
                error: e.to_string(),
            })?;
        Ok((Decoder { rest }, index))
    }

    /// # Errors
    /// The next bytes are not a `T`.
    pub fn arg<T>(&mut self, codec: Codec<T>) -> Result<T, CodecError> {
        let (value, rest) = (codec.decode)(self.rest).map_err(|error| CodecError::Decode {
            what: "an argument",
            error,
        })?;
        self.rest = rest;
        Ok(value)
    }

    /// # Errors
    /// Bytes are left over.
    pub fn finish(self) -> Result<(), CodecError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes(self.rest.len()))
        }
    }
}

/// Decodes all of `bytes` as one value.
fn decode_all<T>(codec: Codec<T>, what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    match (codec.decode)(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(CodecError::TrailingBytes(rest.len())),
        Err(error) => Err(CodecError::Decode { what, error }),
    }
}

/// Shares `topic` with the network: every value published on it here is also handed to
/// `outbound` (which encodes and sends it without waiting, and says whether it took it).
/// False, and nothing changed, if the topic is shared already. Used by
/// `compaktor_remote::RemoteNode::share_topic`.
#[doc(hidden)]
pub fn set_topic_outbound<T: Clone + Send + 'static>(
    topic: &crate::Topic<T>,
    outbound: std::sync::Arc<dyn Fn(&T) -> bool + Send + Sync>,
) -> bool {
    topic.set_outbound(outbound)
}

/// Stops handing `topic`'s values to the network.
#[doc(hidden)]
pub fn clear_topic_outbound<T: Clone + Send + 'static>(topic: &crate::Topic<T>) {
    topic.clear_outbound();
}

/// Offers a value that arrived from the network to `topic`'s local subscribers, never back
/// to the network (so a value does not bounce between systems); how many it reached. No
/// subscriber here is not a dead letter: the value was broadcast.
#[doc(hidden)]
pub fn publish_from_network<T: Clone + Send + 'static>(topic: &crate::Topic<T>, value: T) -> usize {
    topic.publish_from_network(value)
}

/// Encodes a topic value (postcard), appended to `out`.
///
/// # Errors
/// The value's `Serialize` failed.
#[doc(hidden)]
pub fn encode_value<T: Serialize>(value: &T, out: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    serde_encode(value, out).map_err(|error| CodecError::Encode {
        what: "a topic value",
        error,
    })
}

/// Decodes all of `bytes` as one topic value.
///
/// # Errors
/// The bytes are not one `T`.
#[doc(hidden)]
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match serde_decode::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(CodecError::TrailingBytes(rest.len())),
        Err(error) => Err(CodecError::Decode {
            what: "a topic value",
            error,
        }),
    }
}

/// What a handler argument or reply of a remote actor must be: `Serialize +
/// DeserializeOwned`. It has no impl on purpose: it is only named by the fallback of
/// [`Probe`], which is chosen for types without serde, to report them once with this hint.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the network: it is not `Serialize + DeserializeOwned`",
    label = "not `Serialize + DeserializeOwned`",
    note = "every argument and reply of a `#[actor(remote)]` handler is sent as bytes; derive \
            `serde::Serialize` and `serde::Deserialize` for it, or remove `remote`"
)]
pub trait RemoteType {}

/// How a remote answer went, as the first byte of the answer's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum AnswerTag {
    Ok = 0,
    Handler = 1,
    Panicked = 2,
    Stopped = 3,
    Full = 4,
    NoWorker = 5,
    Refused = 6,
}

impl AnswerTag {
    fn from_u8(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => AnswerTag::Ok,
            1 => AnswerTag::Handler,
            2 => AnswerTag::Panicked,
            3 => AnswerTag::Stopped,
            4 => AnswerTag::Full,
            5 => AnswerTag::NoWorker,
            6 => AnswerTag::Refused,
            _ => return None,
        })
    }
}

/// The encoded answer to a refused call.
pub fn refusal(reason: &str) -> Vec<u8> {
    let mut out = vec![AnswerTag::Refused as u8];
    out.extend_from_slice(reason.as_bytes());
    out
}

/// The encoded answer to a call the actor's full mailbox did not take.
pub fn full_answer(capacity: usize) -> Vec<u8> {
    let mut out = vec![AnswerTag::Full as u8];
    out.extend_from_slice(&(capacity as u64).to_le_bytes());
    out
}

/// The encoded answer to a call the actor stopped before handling.
pub fn stopped_answer() -> Vec<u8> {
    vec![AnswerTag::Stopped as u8]
}

/// An ask's reply slot on the sending side, its types erased.
pub trait RemoteReply: Send + fmt::Debug {
    /// Completes the ask from the remote answer's bytes.
    fn answer(self: Box<Self>, bytes: &[u8]);
    /// Completes the ask with a failure.
    fn fail(self: Box<Self>, failure: RemoteFailure);
    /// Whether the asker has given up (timed out or dropped its future).
    fn is_abandoned(&self) -> bool;
    /// Resolves once the asker gives up (at once if it has already): the sending side then
    /// drops the ask's network query instead of waiting for an answer nobody will read.
    fn abandoned(&mut self)
    -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
}

/// The sending side's slot for one ask: completes the local asker from the answer.
struct Slot<R: 'static, E: 'static> {
    reply: ReplyTo<R, E>,
    ok: Codec<R>,
    err: Codec<E>,
}

impl<R, E> fmt::Debug for Slot<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RemoteReply")
    }
}

/// The reply slot of an ask about to cross the network.
#[doc(hidden)]
pub fn reply_slot<R: Send + 'static, E: Send + 'static>(
    reply: ReplyTo<R, E>,
    ok: Codec<R>,
    err: Codec<E>,
) -> Box<dyn RemoteReply> {
    Box::new(Slot { reply, ok, err })
}

impl<R: Send + 'static, E: Send + 'static> RemoteReply for Slot<R, E> {
    fn answer(self: Box<Self>, bytes: &[u8]) {
        let Slot { reply, ok, err } = *self;
        let Some((&tag, rest)) = bytes.split_first() else {
            return reply.send(Err(bad_answer("an empty answer")));
        };
        let result = match AnswerTag::from_u8(tag) {
            Some(AnswerTag::Ok) => decode_all(ok, "the reply", rest)
                .map_err(|e| ReplyFailure::Remote(Box::new(RemoteFailure::Codec(e)))),
            Some(AnswerTag::Handler) => match decode_all(err, "the handler's error", rest) {
                Ok(e) => Err(ReplyFailure::Handler(e)),
                Err(e) => Err(ReplyFailure::Remote(Box::new(RemoteFailure::Codec(e)))),
            },
            Some(AnswerTag::Panicked) => Err(ReplyFailure::Panicked(
                String::from_utf8_lossy(rest).into_owned(),
            )),
            // Dropping the slot unsent is what a local stop looks like to the asker.
            Some(AnswerTag::Stopped) => return drop(reply),
            Some(AnswerTag::Full) => {
                let capacity = rest.try_into().map(u64::from_le_bytes).unwrap_or(u64::MAX);
                Err(ReplyFailure::Full(
                    usize::try_from(capacity).unwrap_or(usize::MAX),
                ))
            }
            Some(AnswerTag::NoWorker) => Err(ReplyFailure::NoWorker),
            Some(AnswerTag::Refused) => Err(ReplyFailure::Remote(Box::new(
                RemoteFailure::Refused(String::from_utf8_lossy(rest).into_owned()),
            ))),
            None => Err(bad_answer("an unknown answer tag")),
        };
        reply.send(result);
    }

    fn fail(self: Box<Self>, failure: RemoteFailure) {
        self.reply
            .send(Err(ReplyFailure::Remote(Box::new(failure))));
    }

    fn is_abandoned(&self) -> bool {
        self.reply.is_abandoned()
    }

    fn abandoned(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.reply.abandoned())
    }
}

fn bad_answer<E>(what: &str) -> ReplyFailure<E> {
    ReplyFailure::Remote(Box::new(RemoteFailure::Codec(CodecError::Decode {
        what: "the answer",
        error: what.to_owned(),
    })))
}

/// The receiving side's wait for one ask's result, encoded as the answer's bytes.
pub struct ReplyWaiter {
    wait: std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send>>,
}

impl fmt::Debug for ReplyWaiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyWaiter")
    }
}

impl ReplyWaiter {
    /// The answer's bytes once the actor has handled the call (or stopped first).
    pub async fn answer(self) -> Vec<u8> {
        self.wait.await
    }
}

/// A fresh reply slot for a call rebuilt from bytes, and the wait for its answer.
#[doc(hidden)]
pub fn reply_waiter<R: Send + 'static, E: Send + 'static>(
    ok: Codec<R>,
    err: Codec<E>,
) -> (ReplyTo<R, E>, ReplyWaiter) {
    let (tx, rx): (_, ReplyReceiver<R, E>) = crate::macro_support::reply_channel();
    let wait = async move {
        match rx.await {
            Ok(Ok(value)) => match (ok.encode)(&value, vec![AnswerTag::Ok as u8]) {
                Ok(bytes) => bytes,
                Err(e) => refusal(&format!("cannot encode the reply: {e}")),
            },
            Ok(Err(ReplyFailure::Handler(e))) => {
                match (err.encode)(&e, vec![AnswerTag::Handler as u8]) {
                    Ok(bytes) => bytes,
                    Err(e) => refusal(&format!("cannot encode the handler's error: {e}")),
                }
            }
            Ok(Err(ReplyFailure::Panicked(message))) => {
                let mut out = vec![AnswerTag::Panicked as u8];
                out.extend_from_slice(message.as_bytes());
                out
            }
            Ok(Err(ReplyFailure::NoWorker)) => vec![AnswerTag::NoWorker as u8],
            Ok(Err(ReplyFailure::Full(capacity))) => full_answer(capacity),
            Ok(Err(ReplyFailure::Remote(failure))) => refusal(&failure.to_string()),
            Err(_) => stopped_answer(),
        }
    };
    (
        tx,
        ReplyWaiter {
            wait: Box::pin(wait),
        },
    )
}

/// FNV-1a over the handler set's text: what `#[actor(remote)]` puts in `FINGERPRINT`. A
/// `const fn`, so the macro can pass the text and leave the hashing to the compiler.
#[doc(hidden)]
pub const fn fingerprint(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}
