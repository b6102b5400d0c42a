//! The triple model shared with the AIngle Cortex (DESIGN §2.1).

use serde_json::{json, Map, Number};

use crate::encode;
use crate::error::Error;
use crate::id::TripleId;

/// Longest subject, predicate or node name accepted (bytes).
pub const MAX_NAME_LEN: usize = 4096;

/// An object value; the variant order is the wire variant index.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A reference to another node, by name.
    Node(String),
    /// A plain string literal.
    String(String),
    /// A signed 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Float(f64),
    /// A boolean.
    Boolean(bool),
    /// A date-time, kept as the text the writer gave (RFC 3339 expected).
    DateTime(String),
    /// A literal with an explicit datatype IRI.
    Typed {
        /// The lexical value.
        value: String,
        /// The datatype, e.g. `xsd:decimal`.
        datatype: String,
    },
    /// A language-tagged string.
    LangString {
        /// The text.
        value: String,
        /// The language tag, e.g. `en`.
        lang: String,
    },
    /// Raw bytes (hex on the wire).
    Bytes(Vec<u8>),
    /// An arbitrary JSON document (canonicalised for hashing).
    Json(serde_json::Value),
    /// The null value.
    Null,
}

impl Value {
    /// The variant index used by the id encoding.
    pub fn variant_index(&self) -> u8 {
        match self {
            Value::Node(_) => 0,
            Value::String(_) => 1,
            Value::Integer(_) => 2,
            Value::Float(_) => 3,
            Value::Boolean(_) => 4,
            Value::DateTime(_) => 5,
            Value::Typed { .. } => 6,
            Value::LangString { .. } => 7,
            Value::Bytes(_) => 8,
            Value::Json(_) => 9,
            Value::Null => 10,
        }
    }

    /// Renders the value as REST/wire JSON; node names are wrapped in `<…>` when `bracket`.
    pub fn to_json(&self, bracket: bool) -> serde_json::Value {
        match self {
            Value::Node(n) => json!({ "node": render_name(n, bracket) }),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Integer(i) => json!(i),
            Value::Float(f) => Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Boolean(b) => json!(b),
            Value::DateTime(v) => json!({ "type": "datetime", "value": v }),
            Value::Typed { value, datatype } => {
                json!({ "type": "typed", "value": value, "datatype": datatype })
            }
            Value::LangString { value, lang } => {
                json!({ "type": "lang", "value": value, "lang": lang })
            }
            Value::Bytes(b) => json!({ "type": "bytes", "value": hex::encode(b) }),
            Value::Json(j) => json!({ "type": "json", "value": j }),
            Value::Null => serde_json::Value::Null,
        }
    }

    /// Parses REST/wire JSON (untagged scalars, `{"node"}` or a `{"type",…}` object).
    pub fn from_json(v: &serde_json::Value) -> Result<Value, Error> {
        match v {
            serde_json::Value::Null => Ok(Value::Null),
            serde_json::Value::Bool(b) => Ok(Value::Boolean(*b)),
            serde_json::Value::String(s) => Ok(Value::String(s.clone())),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Value::Integer(i))
                } else if n.is_u64() {
                    Err(bad_object("integer does not fit in a signed 64-bit value"))
                } else {
                    n.as_f64()
                        .filter(|f| f.is_finite())
                        .map(Value::Float)
                        .ok_or_else(|| bad_object("number is not a finite float"))
                }
            }
            serde_json::Value::Array(_) => Err(bad_object(
                "arrays are not objects; use {\"type\":\"json\",\"value\":[…]}",
            )),
            serde_json::Value::Object(map) => object_from_map(map),
        }
    }

    /// Whether this value is a node reference.
    pub fn is_node(&self) -> bool {
        matches!(self, Value::Node(_))
    }
}

fn bad_object(reason: &str) -> Error {
    Error::InvalidValue {
        field: "object",
        reason: reason.to_string(),
    }
}

fn str_field<'a>(map: &'a Map<String, serde_json::Value>, key: &str) -> Result<&'a str, Error> {
    match map.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(bad_object(&format!("field `{key}` must be a string"))),
        None => Err(bad_object(&format!("missing field `{key}`"))),
    }
}

fn object_from_map(map: &Map<String, serde_json::Value>) -> Result<Value, Error> {
    if let Some(node) = map.get("node") {
        let name = node
            .as_str()
            .ok_or_else(|| bad_object("field `node` must be a string"))?;
        let name = parse_name(name, "object")?;
        return Ok(Value::Node(name));
    }
    let kind = match map.get("type") {
        Some(serde_json::Value::String(t)) => t.as_str(),
        Some(_) => return Err(bad_object("field `type` must be a string")),
        None => {
            return Err(bad_object(
                "an object value must be {\"node\":…} or carry a \"type\"",
            ))
        }
    };
    match kind {
        "datetime" => Ok(Value::DateTime(str_field(map, "value")?.to_string())),
        "typed" => Ok(Value::Typed {
            value: str_field(map, "value")?.to_string(),
            datatype: str_field(map, "datatype")?.to_string(),
        }),
        "lang" => Ok(Value::LangString {
            value: str_field(map, "value")?.to_string(),
            lang: str_field(map, "lang")?.to_string(),
        }),
        "bytes" => {
            let text = str_field(map, "value")?;
            hex::decode(text)
                .map(Value::Bytes)
                .map_err(|_| bad_object("bytes value must be hexadecimal"))
        }
        "json" => map
            .get("value")
            .cloned()
            .map(Value::Json)
            .ok_or_else(|| bad_object("missing field `value`")),
        other => Err(bad_object(&format!(
            "unknown type {other:?} (expected datetime, typed, lang, bytes or json)"
        ))),
    }
}

/// `doc` as its JCS canonical text parses back (numbers in their shortest form).
fn canonical_json(doc: serde_json::Value) -> serde_json::Value {
    serde_json::from_str(&crate::jcs::canonicalize(&doc)).unwrap_or(doc)
}

/// Strips one pair of surrounding angle brackets, as AIngle prints names (`<ex:a>` → `ex:a`).
pub fn strip_brackets(name: &str) -> &str {
    name.strip_prefix('<')
        .and_then(|n| n.strip_suffix('>'))
        .unwrap_or(name)
}

/// Renders a name, wrapped in `<…>` when `bracket`.
pub fn render_name(name: &str, bracket: bool) -> String {
    if bracket {
        format!("<{name}>")
    } else {
        name.to_string()
    }
}

/// Validates a bare-or-bracketed name from input and returns it bare.
pub fn parse_name(input: &str, field: &'static str) -> Result<String, Error> {
    let bare = strip_brackets(input);
    if bare.trim().is_empty() {
        return Err(Error::InvalidValue {
            field,
            reason: "must not be empty".into(),
        });
    }
    if bare.len() > MAX_NAME_LEN {
        return Err(Error::InvalidValue {
            field,
            reason: format!("is {} bytes long; the limit is {MAX_NAME_LEN}", bare.len()),
        });
    }
    Ok(bare.to_string())
}

/// A fact: subject, predicate, object. Names are stored bare (no `<…>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Triple {
    /// The subject node name.
    pub subject: String,
    /// The predicate.
    pub predicate: String,
    /// The object value.
    pub object: Value,
}

impl Triple {
    /// Builds a triple after validating and un-bracketing its names.
    pub fn new(subject: &str, predicate: &str, object: Value) -> Result<Triple, Error> {
        let subject = parse_name(subject, "subject")?;
        let predicate = parse_name(predicate, "predicate")?;
        let object = match object {
            Value::Node(n) => Value::Node(parse_name(&n, "object")?),
            // Kept in the canonical form its id is computed from, so two documents with one id
            // (`1.0` and `1`, other key orders) are one value everywhere (found by fuzzing).
            Value::Json(j) => Value::Json(canonical_json(j)),
            // NaN and infinities have no JSON form (REST refuses them too) and NaN equals
            // nothing, not even itself (found by fuzzing).
            Value::Float(f) if !f.is_finite() => {
                return Err(bad_object("number is not a finite float"))
            }
            other => other,
        };
        Ok(Triple {
            subject,
            predicate,
            object,
        })
    }

    /// The content address of this triple (DESIGN §2.1).
    pub fn id(&self) -> TripleId {
        let mut buf = Vec::with_capacity(self.subject.len() + self.predicate.len() + 32);
        encode::put_node(&mut buf, &self.subject);
        buf.extend_from_slice(self.predicate.as_bytes());
        encode::put_value(&mut buf, &self.object);
        TripleId::from_bytes(*blake3::hash(&buf).as_bytes())
    }

    /// The namespace of the subject.
    pub fn namespace(&self) -> &str {
        crate::namespace::namespace_of(&self.subject)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(s: &str, p: &str, o: Value) -> String {
        Triple::new(s, p, o).unwrap().id().to_string()
    }

    #[test]
    fn design_test_vectors() {
        let x300 = "x".repeat(300);
        let cases = [
            (
                "mayros:a",
                "mayros:b",
                Value::String("hello".into()),
                "cd8884209c268367022b104180f0fac46b2de93f1c477e79258530438fedd45c",
            ),
            (
                "ex:alice",
                "ex:knows",
                Value::Node("ex:bob".into()),
                "fee928798f9856486a802f87d715408ae848f0504dfeff05424217fa3586eb2b",
            ),
            (
                "ex:alice",
                "ex:age",
                Value::Integer(30),
                "4b03e2f8f9374cd4e2ffe6234753cdad3ee318871ece13c45ac47ec1b5e7cdd3",
            ),
            (
                "ex:alice",
                "ex:age",
                Value::Integer(-1),
                "1ca17f326183648e5eba4b5e59743314afe4f67f7653d12ac27331eaf25340e2",
            ),
            (
                "ex:alice",
                "ex:score",
                Value::Float(1.5),
                "2b3f864810c5f112888e0e6c862899855262688f1afd34b73c7ae3a2516cab8e",
            ),
            (
                "ex:alice",
                "ex:ok",
                Value::Boolean(true),
                "ef9cca8595811bcc5f83bd861972c34c6e205a668d8aa8c9ee5e185cb6d055ac",
            ),
            (
                "ex:alice",
                "ex:note",
                Value::Null,
                "4baf63282cda6ebef1df289a8f85f31c10709c05eadf0b884fb064b0685ca119",
            ),
            (
                x300.as_str(),
                "p",
                Value::String("v".into()),
                "0b6b0cf4c6e3d6c02f811b33a4eae839a3492f73e9f0ce6c63b0badf37decc44",
            ),
        ];
        for (s, p, o, want) in cases {
            assert_eq!(id(s, p, o.clone()), want, "{s} {p} {o:?}");
        }
    }

    #[test]
    fn brackets_do_not_change_the_id() {
        assert_eq!(
            id("<ex:alice>", "<ex:knows>", Value::Node("<ex:bob>".into())),
            "fee928798f9856486a802f87d715408ae848f0504dfeff05424217fa3586eb2b"
        );
    }

    #[test]
    fn json_objects_are_canonicalised_before_hashing() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[true,null]}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "a" : [true, null], "b" : 1 }"#).unwrap();
        assert_eq!(
            id("s:x", "p", Value::Json(a)),
            id("s:x", "p", Value::Json(b))
        );
    }

    #[test]
    fn json_documents_with_one_id_are_one_value() {
        let float: serde_json::Value = serde_json::from_str(r#"{"n":99.0,"a":[1.50]}"#).unwrap();
        let int: serde_json::Value = serde_json::from_str(r#"{"a":[1.5],"n":99}"#).unwrap();
        let a = Triple::new("s:x", "p", Value::Json(float)).unwrap();
        let b = Triple::new("s:x", "p", Value::Json(int)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.id(), b.id());
        assert_eq!(
            a.object,
            Value::Json(serde_json::json!({"a": [1.5], "n": 99}))
        );
    }

    #[test]
    fn non_finite_floats_are_refused() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = Triple::new("s:x", "p", Value::Float(f)).unwrap_err();
            assert!(err.to_string().contains("finite"), "{err}");
        }
        assert!(Triple::new("s:x", "p", Value::Float(-0.5)).is_ok());
    }

    #[test]
    fn a_json_float_keeps_its_canonical_text_through_a_parse() {
        // Found by fuzzing: without exact float parsing this became 1.510184258101319e+50.
        let x: serde_json::Value = serde_json::from_str("1.5101842581013194e50").unwrap();
        let t = Triple::new("s:x", "p", Value::Json(x.clone())).unwrap();
        let text = crate::jcs::canonicalize(&x);
        assert_eq!(text, "1.5101842581013194e+50");
        let again = Triple::new(
            "s:x",
            "p",
            Value::Json(serde_json::from_str(&text).unwrap()),
        );
        assert_eq!(again.unwrap().id(), t.id());
    }

    #[test]
    fn every_variant_round_trips_through_json() {
        let values = vec![
            Value::Node("ex:bob".into()),
            Value::String("hi".into()),
            Value::Integer(-7),
            Value::Float(2.25),
            Value::Boolean(false),
            Value::DateTime("2026-01-02T03:04:05Z".into()),
            Value::Typed {
                value: "1.0".into(),
                datatype: "xsd:decimal".into(),
            },
            Value::LangString {
                value: "hola".into(),
                lang: "es".into(),
            },
            Value::Bytes(vec![0, 1, 254, 255]),
            Value::Json(serde_json::json!({"k": [1, 2]})),
            Value::Null,
        ];
        for v in values {
            for bracket in [false, true] {
                assert_eq!(Value::from_json(&v.to_json(bracket)).unwrap(), v);
            }
        }
        assert_eq!(
            Value::Node("ex:b".into()).to_json(true),
            serde_json::json!({"node": "<ex:b>"})
        );
    }

    #[test]
    fn bad_objects_name_the_problem() {
        for (input, needle) in [
            (r#"[1]"#, "arrays"),
            (r#"{"type":"weird","value":"x"}"#, "unknown type"),
            (r#"{"type":"bytes","value":"zz"}"#, "hexadecimal"),
            (r#"{"node":""}"#, "empty"),
            (r#"{"node":5}"#, "string"),
            (r#"{"x":1}"#, "node"),
            (r#"18446744073709551615"#, "signed"),
        ] {
            let v: serde_json::Value = serde_json::from_str(input).unwrap();
            let err = Value::from_json(&v).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn empty_names_are_rejected() {
        assert!(Triple::new("", "p", Value::Null).is_err());
        assert!(Triple::new("<>", "p", Value::Null).is_err());
        assert!(Triple::new("s", " ", Value::Null).is_err());
        assert!(Triple::new(&"s".repeat(MAX_NAME_LEN + 1), "p", Value::Null).is_err());
    }
}
