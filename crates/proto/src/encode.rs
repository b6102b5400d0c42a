//! Hand-written bincode-2 "standard" encoding used to derive [`TripleId`](crate::TripleId)s.
//!
//! Little-endian varints (< 251 one byte; `0xFB`+u16, `0xFC`+u32, `0xFD`+u64), zigzag for
//! signed integers, enum variant index as varint, strings and byte strings as varint length +
//! bytes, `f64` as 8 bytes LE, `bool` as one byte (DESIGN §2.1).

use crate::jcs;
use crate::model::Value;

/// Appends `v` as a bincode-standard unsigned varint.
pub fn put_varint(out: &mut Vec<u8>, v: u64) {
    if v < 251 {
        out.push(v as u8);
    } else if v <= u64::from(u16::MAX) {
        out.push(0xFB);
        out.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v <= u64::from(u32::MAX) {
        out.push(0xFC);
        out.extend_from_slice(&(v as u32).to_le_bytes());
    } else {
        out.push(0xFD);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends `v` zigzag-encoded as a varint.
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    let zigzag = ((v << 1) ^ (v >> 63)) as u64;
    put_varint(out, zigzag);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed UTF-8 string.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// Appends a node name as AIngle's `NodeId::Named` (variant 0, then the string).
pub fn put_node(out: &mut Vec<u8>, name: &str) {
    put_varint(out, 0);
    put_str(out, name);
}

/// Appends an object value: its variant index, then its payload.
///
/// `Json` values are encoded as their RFC 8785 canonical text, so that equal documents
/// written with different key order or whitespace get the same id.
pub fn put_value(out: &mut Vec<u8>, value: &Value) {
    put_varint(out, u64::from(value.variant_index()));
    match value {
        Value::Node(name) => put_node(out, name),
        Value::String(s) | Value::DateTime(s) => put_str(out, s),
        Value::Integer(i) => put_signed(out, *i),
        Value::Float(f) => out.extend_from_slice(&f.to_le_bytes()),
        Value::Boolean(b) => out.push(u8::from(*b)),
        Value::Typed { value, datatype } => {
            put_str(out, value);
            put_str(out, datatype);
        }
        Value::LangString { value, lang } => {
            put_str(out, value);
            put_str(out, lang);
        }
        Value::Bytes(b) => put_bytes(out, b),
        Value::Json(j) => put_str(out, &jcs::canonicalize(j)),
        Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_boundaries() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0]),
            (250, &[250]),
            (251, &[0xFB, 251, 0]),
            (65535, &[0xFB, 0xFF, 0xFF]),
            (65536, &[0xFC, 0, 0, 1, 0]),
            (u64::from(u32::MAX) + 1, &[0xFD, 0, 0, 0, 0, 1, 0, 0, 0]),
        ];
        for (v, want) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, *v);
            assert_eq!(&out, want, "varint {v}");
        }
    }

    #[test]
    fn zigzag() {
        for (v, want) in [(0i64, 0u8), (-1, 1), (1, 2), (-2, 3), (30, 60)] {
            let mut out = Vec::new();
            put_signed(&mut out, v);
            assert_eq!(out, vec![want], "zigzag {v}");
        }
        let mut out = Vec::new();
        put_signed(&mut out, i64::MIN);
        assert_eq!(out[0], 0xFD);
        assert_eq!(&out[1..], &u64::MAX.to_le_bytes());
    }

    #[test]
    fn design_vectors() {
        let mut out = Vec::new();
        put_node(&mut out, "mayros:a");
        assert_eq!(hex::encode(&out), "00086d6179726f733a61");
        let mut out = Vec::new();
        put_value(&mut out, &Value::Node("ex:bob".into()));
        assert_eq!(
            hex::encode(&out),
            "000006".to_string() + &hex::encode("ex:bob")
        );
        let mut out = Vec::new();
        put_value(&mut out, &Value::String("hello".into()));
        assert_eq!(hex::encode(&out), "010568656c6c6f");
    }
}
