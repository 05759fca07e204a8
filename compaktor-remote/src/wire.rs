//! The envelope around every call on the wire: a format version byte, the kind of frame, the
//! fingerprint of the actor's handler set, and the sender's id and sequence number (the
//! receiving side hands each sender's calls to the actor in that order). The call itself (a
//! handler index and its arguments) is encoded by the code `#[actor(remote)]` generates; a
//! topic value by serde, behind the same envelope.

/// The format version this build speaks.
pub(crate) const VERSION: u8 = 1;

/// Bytes before the call: version, kind, fingerprint, sender, sequence number.
pub(crate) const HEADER: usize = 1 + 1 + 8 + 8 + 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Tell = 0,
    Ask = 1,
    /// "Which actor are you?": answered with the fingerprint and type name.
    Describe = 2,
    /// A value published on a shared topic: the fingerprint is its payload type's
    /// ([`payload_fingerprint`]), the sender the publishing node.
    Topic = 3,
}

/// One parsed frame; `call` borrows the bytes after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub(crate) kind: Kind,
    pub(crate) fingerprint: u64,
    pub(crate) sender: u64,
    pub(crate) seq: u64,
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
            other => return Err(FrameError::Kind(other)),
        };
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        Ok(Frame {
            kind,
            fingerprint: word(2),
            sender: word(10),
            seq: word(18),
            call: &bytes[HEADER..],
        })
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
