//! A bounds-checked reader over an untrusted byte slice, shared by the sync-stream decoders:
//! every read answers `None` past the end instead of panicking.

use crate::frame::read_varint;

/// A position in a byte slice being decoded.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// The next byte.
    pub(crate) fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A bincode-standard varint.
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let (v, used) = read_varint(self.buf.get(self.pos..)?)?;
        self.pos += used;
        Some(v)
    }

    /// A varint length, then that many bytes.
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }

    /// A length-prefixed UTF-8 string.
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// 8 bytes, little-endian.
    pub(crate) fn u64_le(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// Everything not read yet, consumed.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        rest
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Whether everything was read.
    pub(crate) fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
}
