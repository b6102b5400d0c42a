//! Framing of the native wire (DESIGN §4): each message is `u32 BE length ‖ payload`, with a
//! 4 MiB cap. The payload starts with a version byte and a message kind, so a receiver can
//! skip kinds it does not know instead of failing.
//!
//! [`FrameDecoder`] is sans-IO: push bytes as they arrive, pop whole frames.

use crate::encode::put_varint;

/// Largest payload of one frame (4 MiB).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Wire format version carried in every frame.
pub const WIRE_VERSION: u8 = 1;

/// A frame that could not be accepted; the connection should be closed with this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The announced length exceeds [`MAX_FRAME`].
    TooLarge {
        /// The announced payload length.
        len: usize,
    },
    /// The payload is shorter than its own header.
    Truncated,
    /// The payload's version is not one we speak.
    UnsupportedVersion(u8),
    /// The kind varint is malformed.
    BadKind,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge { len } => {
                write!(f, "frame of {len} bytes exceeds the {MAX_FRAME}-byte limit")
            }
            FrameError::Truncated => f.write_str("frame payload is shorter than its header"),
            FrameError::UnsupportedVersion(v) => write!(f, "unsupported wire version {v}"),
            FrameError::BadKind => f.write_str("malformed message kind"),
        }
    }
}

/// One decoded frame: its message kind and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Message kind (unknown kinds are to be ignored by the caller).
    pub kind: u64,
    /// The kind-specific body.
    pub body: Vec<u8>,
}

/// Encodes one frame: length, version, kind varint, body.
pub fn encode_frame(kind: u64, body: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut payload = Vec::with_capacity(body.len() + 10);
    payload.push(WIRE_VERSION);
    put_varint(&mut payload, kind);
    payload.extend_from_slice(body);
    if payload.len() > MAX_FRAME {
        return Err(FrameError::TooLarge { len: payload.len() });
    }
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Reads a bincode-standard varint from the front of `buf`; returns it and its length.
pub fn read_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let le = |n: usize| -> Option<u64> {
        let bytes = buf.get(1..1 + n)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(bytes);
        Some(u64::from_le_bytes(v))
    };
    match first {
        0..=250 => Some((u64::from(first), 1)),
        0xFB => le(2).map(|v| (v, 3)),
        0xFC => le(4).map(|v| (v, 5)),
        0xFD => le(8).map(|v| (v, 9)),
        _ => None,
    }
}

/// Reassembles frames from a byte stream.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed, or an error that ends the stream.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let Some(header) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameError::TooLarge { len });
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let payload: Vec<u8> = self.buf.drain(..4 + len).skip(4).collect();
        let (&version, rest) = payload.split_first().ok_or(FrameError::Truncated)?;
        if version != WIRE_VERSION {
            return Err(FrameError::UnsupportedVersion(version));
        }
        let (kind, used) = read_varint(rest).ok_or(FrameError::BadKind)?;
        Ok(Some(Frame {
            kind,
            body: rest[used..].to_vec(),
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip_across_arbitrary_splits() {
        let mut stream = Vec::new();
        stream.extend(encode_frame(1, b"hello").unwrap());
        stream.extend(encode_frame(70_000, &[7u8; 300]).unwrap());
        stream.extend(encode_frame(2, b"").unwrap());
        let mut d = FrameDecoder::new();
        let mut out = Vec::new();
        for chunk in stream.chunks(3) {
            d.push(chunk);
            while let Some(f) = d.next_frame().unwrap() {
                out.push(f);
            }
        }
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0],
            Frame {
                kind: 1,
                body: b"hello".to_vec()
            }
        );
        assert_eq!(out[1].kind, 70_000);
        assert_eq!(out[1].body.len(), 300);
        assert_eq!(
            out[2],
            Frame {
                kind: 2,
                body: Vec::new()
            }
        );
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn oversized_and_malformed_frames_are_named() {
        assert_eq!(
            encode_frame(1, &vec![0u8; MAX_FRAME]).unwrap_err(),
            FrameError::TooLarge { len: MAX_FRAME + 2 }
        );
        let mut d = FrameDecoder::new();
        d.push(&((MAX_FRAME as u32) + 1).to_be_bytes());
        assert!(matches!(d.next_frame(), Err(FrameError::TooLarge { .. })));
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(FrameError::Truncated));
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 2, 9, 1]);
        assert_eq!(d.next_frame(), Err(FrameError::UnsupportedVersion(9)));
        let mut d = FrameDecoder::new();
        d.push(&[0, 0, 0, 2, WIRE_VERSION, 0xFF]);
        assert_eq!(d.next_frame(), Err(FrameError::BadKind));
        assert!(FrameError::TooLarge { len: 5 }
            .to_string()
            .contains("limit"));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut d = FrameDecoder::new();
            d.push(&bytes);
            for _ in 0..100 {
                match d.next_frame() {
                    Ok(Some(_)) => continue,
                    _ => break,
                }
            }
        }

        #[test]
        fn varints_round_trip(v in any::<u64>()) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert_eq!(read_varint(&out), Some((v, out.len())));
        }
    }
}
