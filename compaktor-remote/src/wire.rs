//! The envelope around every call on the wire: a format version byte, the kind of frame, the
//! fingerprint of the actor's handler set, and the sender's id and sequence number (the
//! receiving side hands each sender's calls to the actor in that order). The call itself (a
//! handler index and its arguments) is encoded by the code `#[actor(remote)]` generates; a
//! topic value by serde, behind the same envelope. Tells that were queued together may travel
//! as one batch: one envelope, then each call with its length (see [`Kind::Batch`]).

/// The format version this build speaks.
pub(crate) const VERSION: u8 = 1;

/// Bytes before the call: version, kind, fingerprint, sender, sequence number.
pub(crate) const HEADER: usize = 1 + 1 + 8 + 8 + 8;

/// Bytes before a batch's first call: the header, then the number of calls (`u32`).
pub(crate) const BATCH_HEADER: usize = HEADER + 4;

/// Bytes before each call of a batch: its length (`u32`).
pub(crate) const CALL_LENGTH: usize = 4;

/// The largest batch: a sender puts no more tells in one (nor more than its own frame limit),
/// and a receiver refuses a larger one whole. Each call in it is held to the receiver's frame
/// limit as if it had come alone.
pub(crate) const MAX_BATCH: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tell = 0,
    Ask = 1,
    /// "Which actor are you?": answered with the fingerprint and type name.
    Describe = 2,
    /// A value published on a shared topic: the fingerprint is its payload type's
    /// ([`payload_fingerprint`]), the sender the publishing node.
    Topic = 3,
    /// Tells of one sender to one actor, sent together because they were queued together:
    /// the header's sequence number is the first call's (the others follow it one by one),
    /// then the number of calls (`u32`), then each call as its length (`u32`) and its bytes.
    /// Only ever a put.
    Batch = 4,
}

/// One parsed frame; `call` borrows the bytes after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub(crate) kind: Kind,
    pub(crate) fingerprint: u64,
    pub(crate) sender: u64,
    pub(crate) seq: u64,
    /// How many calls, so how many sequence numbers, the frame holds: 1 unless a batch.
    pub(crate) calls: u32,
    /// The call; for a batch, its calls (see [`Calls`]).
    pub(crate) call: &'a [u8],
}

/// Why incoming bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Longer than the node's `max_frame`.
    #[error("a frame of {len} bytes is over this node's limit of {limit}")]
    Oversized {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Shorter than the envelope's header.
    #[error("a truncated frame ({0} bytes)")]
    Truncated(usize),
    /// Another format version.
    #[error("frame format version {0}, this node speaks {VERSION}")]
    Version(u8),
    /// An unknown kind byte.
    #[error("unknown frame kind {0}")]
    Kind(u8),
    /// For another actor type, or another version of this one.
    #[error(
        "the frame is for another actor type or handler set (fingerprint {got:#018x}, \
         the export's is {expected:#018x})"
    )]
    Fingerprint {
        /// The frame's.
        got: u64,
        /// The export's.
        expected: u64,
    },
    /// A topic value of another payload type than the topic's here.
    #[error(
        "a topic value of another payload type (fingerprint {got:#018x}, this topic's is \
         {expected:#018x}); both sides must share it with the same type"
    )]
    PayloadType {
        /// The frame's.
        got: u64,
        /// The topic's.
        expected: u64,
    },
    /// The call (or topic value) did not decode.
    #[error("{0}")]
    Call(compaktor::CodecError),
    /// A batch of calls whose framing is broken: its count or a call's length does not fit
    /// its bytes (the calls before the break were handled).
    #[error("a malformed batch: {0}")]
    Batch(&'static str),
}

impl<'a> Frame<'a> {
    pub(crate) fn encode(kind: Kind, fingerprint: u64, sender: u64, seq: u64, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(kind as u8);
        out.extend_from_slice(&fingerprint.to_le_bytes());
        out.extend_from_slice(&sender.to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
    }

    /// The header and the call bytes; the size limit is checked by the caller, after the
    /// header has put the frame in its sender's order.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() < HEADER {
            // A wrong version says more than "truncated" when it is visible.
            if let Some(&version) = bytes.first()
                && version != VERSION
            {
                return Err(FrameError::Version(version));
            }
            return Err(FrameError::Truncated(bytes.len()));
        }
        if bytes[0] != VERSION {
            return Err(FrameError::Version(bytes[0]));
        }
        let kind = match bytes[1] {
            0 => Kind::Tell,
            1 => Kind::Ask,
            2 => Kind::Describe,
            3 => Kind::Topic,
            4 => Kind::Batch,
            other => return Err(FrameError::Kind(other)),
        };
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let (calls, call) = if kind == Kind::Batch {
            if bytes.len() < BATCH_HEADER {
                return Err(FrameError::Truncated(bytes.len()));
            }
            let calls = u32::from_le_bytes(bytes[HEADER..BATCH_HEADER].try_into().expect("4"));
            let call = &bytes[BATCH_HEADER..];
            // Each call takes at least its length's bytes: a count they cannot hold is broken
            // (and would otherwise claim sequence numbers that were never sent).
            if calls == 0 || calls as usize > call.len() / CALL_LENGTH {
                return Err(FrameError::Batch("its count does not fit its bytes"));
            }
            (calls, call)
        } else {
            (1, &bytes[HEADER..])
        };
        Ok(Frame {
            kind,
            fingerprint: word(2),
            sender: word(10),
            seq: word(18),
            calls,
            call,
        })
    }
}

/// The calls of a batch's bytes, in order; a length that runs past the end yields `None`
/// and leaves the rest unread (see [`rest`](Self::rest)).
pub(crate) struct Calls<'a> {
    rest: &'a [u8],
}

impl<'a> Calls<'a> {
    pub(crate) fn new(batch: &'a [u8]) -> Self {
        Calls { rest: batch }
    }

    /// The next call, or `None` if the bytes left do not hold one.
    pub(crate) fn next_call(&mut self) -> Option<&'a [u8]> {
        let (length, after) = self.rest.split_first_chunk::<CALL_LENGTH>()?;
        let length = u32::from_le_bytes(*length) as usize;
        let call = after.get(..length)?;
        self.rest = &after[length..];
        Some(call)
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

/// Tells on their way out together, written as one [`Kind::Batch`] frame: each call is
/// begun (its bytes appended to [`begin`](Self::begin)'s buffer), then kept or taken back;
/// [`take`](Self::take) gives the frame to send. A batch of one call is sent as a plain tell
/// frame, so a lone tell looks as it always did on the wire.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    out: Vec<u8>,
    calls: u32,
    /// Where the call being written starts (its length's bytes).
    mark: usize,
}

impl Batch {
    /// Starts a call with sequence number `seq` (the next after the batch's last, if it has
    /// calls) to an actor of `fingerprint` from `sender`; gives the buffer to append the
    /// call's bytes to.
    pub(crate) fn begin(&mut self, fingerprint: u64, sender: u64, seq: u64) -> &mut Vec<u8> {
        if self.calls == 0 {
            self.out.clear();
            self.out.reserve(64);
            Frame::encode(Kind::Batch, fingerprint, sender, seq, &mut self.out);
            self.out.extend_from_slice(&[0; BATCH_HEADER - HEADER]);
        }
        self.mark = self.out.len();
        self.out.extend_from_slice(&[0; CALL_LENGTH]);
        &mut self.out
    }

    /// The bytes of the call begun last.
    pub(crate) fn call(&self) -> &[u8] {
        &self.out[self.mark + CALL_LENGTH..]
    }

    /// Takes the call begun last back out of the batch.
    pub(crate) fn cancel(&mut self) {
        self.out.truncate(self.mark);
    }

    /// Keeps the call begun last in the batch.
    pub(crate) fn commit(&mut self) {
        let length = u32::try_from(self.call().len()).expect("a call is under the batch limit");
        self.out[self.mark..self.mark + CALL_LENGTH].copy_from_slice(&length.to_le_bytes());
        self.calls += 1;
    }

    /// How many calls it holds.
    pub(crate) fn calls(&self) -> u32 {
        self.calls
    }

    /// Its length as a batch frame, with a call begun and not yet kept.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The frame of the calls kept, leaving the batch empty; `None` if it holds none.
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        match std::mem::take(&mut self.calls) {
            0 => None,
            1 => {
                self.out[1] = Kind::Tell as u8;
                self.out.drain(HEADER..BATCH_HEADER + CALL_LENGTH);
                Some(std::mem::take(&mut self.out))
            }
            calls => {
                self.out[HEADER..BATCH_HEADER].copy_from_slice(&calls.to_le_bytes());
                Some(std::mem::take(&mut self.out))
            }
        }
    }
}

/// The answer to a describe frame: version, fingerprint, the actor's type name.
pub(crate) fn describe_answer(fingerprint: u64, actor_type: &str) -> Vec<u8> {
    let mut out = vec![VERSION];
    out.extend_from_slice(&fingerprint.to_le_bytes());
    out.extend_from_slice(actor_type.as_bytes());
    out
}

/// (fingerprint, type name) from a describe answer.
pub(crate) fn parse_describe(bytes: &[u8]) -> Option<(u64, String)> {
    if bytes.len() < 9 || bytes[0] != VERSION {
        return None;
    }
    let fingerprint = u64::from_le_bytes(bytes[1..9].try_into().ok()?);
    Some((
        fingerprint,
        String::from_utf8_lossy(&bytes[9..]).into_owned(),
    ))
}

/// What a node says when it withdraws an export: the actor stopped (with its reason), or it
/// is no longer exported. Sent to `compaktor-end/<node>/<export>` before the export's token
/// goes, so that references elsewhere can say which.
pub(crate) fn farewell(stopped: Option<&compaktor::StopReason>) -> Vec<u8> {
    match stopped {
        Some(reason) => {
            let mut out = vec![VERSION, 0, u8::from(reason.is_failure())];
            out.extend_from_slice(reason.to_string().as_bytes());
            out
        }
        None => vec![VERSION, 1, 0],
    }
}

/// The end a farewell from `node` describes; `None` for bytes that are not one.
pub(crate) fn parse_farewell(bytes: &[u8], node: &str) -> Option<compaktor::RemoteEnd> {
    let [VERSION, kind, failure, reason @ ..] = bytes else {
        return None;
    };
    let node = node.to_owned();
    match (kind, failure) {
        (0, 0 | 1) => Some(compaktor::RemoteEnd::ActorStopped {
            node,
            reason: String::from_utf8_lossy(reason).into_owned(),
            failure: *failure == 1,
        }),
        (1, 0) if reason.is_empty() => Some(compaktor::RemoteEnd::Unexported { node }),
        _ => None,
    }
}

/// The fingerprint of a topic's payload type: FNV-1a of its name with every module path left
/// out (`Vec<swarm::Seen>` is `Vec<Seen>`), so two binaries that declare the payload in
/// different crates agree, and a topic of another payload type is refused instead of
/// mis-decoded.
pub(crate) fn payload_fingerprint(type_name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in strip_paths(type_name).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// `a::b::C<d::E>` as `C<E>`.
fn strip_paths(type_name: &str) -> String {
    let mut out = String::with_capacity(type_name.len());
    let mut word = String::new();
    let mut chars = type_name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a module path segment
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use compaktor::{RemoteEnd, StopReason};

    #[test]
    fn farewells_round_trip_and_junk_is_none() {
        let panicked = StopReason::Panicked {
            handler: "go",
            message: "boom".into(),
        };
        assert_eq!(
            parse_farewell(&farewell(Some(&panicked)), "r1"),
            Some(RemoteEnd::ActorStopped {
                node: "r1".into(),
                reason: "handler `go` panicked: boom".into(),
                failure: true,
            })
        );
        assert_eq!(
            parse_farewell(&farewell(None), "r1"),
            Some(RemoteEnd::Unexported { node: "r1".into() })
        );
        for junk in [
            &[][..],
            &[VERSION],
            &[VERSION, 7, 0],
            &[9, 0, 0],
            &[VERSION, 0, 2],
        ] {
            assert_eq!(parse_farewell(junk, "r1"), None, "{junk:?}");
        }
    }

    /// A batch of `calls` (each a few bytes standing for a call) from sender 9, first number 5.
    fn batch_of(calls: &[&[u8]]) -> Option<Vec<u8>> {
        let mut batch = Batch::default();
        for (i, call) in (5..).zip(calls) {
            batch.begin(0xf1, 9, i).extend_from_slice(call);
            batch.commit();
        }
        batch.take()
    }

    #[test]
    fn a_batch_holds_its_calls_in_order_and_a_batch_of_one_is_a_tell() {
        let bytes = batch_of(&[b"ab", b"", b"cde"]).unwrap();
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!(
            (
                frame.kind,
                frame.fingerprint,
                frame.sender,
                frame.seq,
                frame.calls
            ),
            (Kind::Batch, 0xf1, 9, 5, 3)
        );
        let mut calls = Calls::new(frame.call);
        let read: Vec<&[u8]> = std::iter::from_fn(|| calls.next_call()).collect();
        assert_eq!(read, [&b"ab"[..], b"", b"cde"]);
        assert!(calls.rest().is_empty());

        let bytes = batch_of(&[b"ab"]).unwrap();
        let mut tell = Vec::new();
        Frame::encode(Kind::Tell, 0xf1, 9, 5, &mut tell);
        tell.extend_from_slice(b"ab");
        assert_eq!(bytes, tell);
        assert_eq!(batch_of(&[]), None);

        // A call taken back leaves the batch as it was.
        let mut batch = Batch::default();
        batch.begin(0xf1, 9, 5).extend_from_slice(b"ab");
        batch.commit();
        batch.begin(0xf1, 9, 6).extend_from_slice(b"zz");
        batch.cancel();
        assert_eq!(batch.take(), Some(tell));
    }

    #[test]
    fn a_batch_whose_count_its_bytes_cannot_hold_is_refused() {
        let mut bytes = batch_of(&[b"ab", b"c"]).unwrap();
        for count in [0u32, 4, u32::MAX] {
            bytes[HEADER..BATCH_HEADER].copy_from_slice(&count.to_le_bytes());
            assert!(
                matches!(Frame::parse(&bytes), Err(FrameError::Batch(_))),
                "{count}"
            );
        }
        assert_eq!(
            Frame::parse(&bytes[..HEADER + 2]),
            Err(FrameError::Truncated(HEADER + 2))
        );
    }

    #[test]
    fn payload_fingerprints_ignore_module_paths_only() {
        assert_eq!(
            strip_paths("alloc::vec::Vec<swarm::Seen>"),
            "Vec<Seen>".to_owned()
        );
        assert_eq!(
            strip_paths("(f32, core::option::Option<u8>)"),
            "(f32, Option<u8>)"
        );
        assert_eq!(
            payload_fingerprint("a::Seen"),
            payload_fingerprint("b::c::Seen")
        );
        assert_ne!(payload_fingerprint("f32"), payload_fingerprint("u32"));
        assert_ne!(
            payload_fingerprint("a::Seen"),
            payload_fingerprint("a::Seen2")
        );
    }
}
