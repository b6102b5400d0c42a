//! Property tests: whatever bytes or JSON arrive, request parsing answers with a named error
//! and never panics.
#![allow(clippy::unwrap_used)]

use mayros_sync_node::api::cortex::triple_from_json;
use mayros_sync_node::api::extract::parse_json;
use mayros_sync_proto::delta::DeltaRequest;
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,12}".prop_map(serde_json::Value::String),
        Just(serde_json::json!("<>")),
        Just(serde_json::json!("ex:a")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("subject".to_string()),
                    Just("predicate".to_string()),
                    Just("object".to_string()),
                    Just("node".to_string()),
                    Just("type".to_string()),
                    Just("value".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn triple_parsing_never_panics_and_names_its_errors(v in json_value()) {
        match triple_from_json(&v, "") {
            Ok(t) => prop_assert!(!t.triple.subject.trim().is_empty()),
            Err(e) => {
                prop_assert_eq!(e.status.as_u16(), 400);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(e) = parse_json::<DeltaRequest>(&bytes) {
            prop_assert_eq!(e.status.as_u16(), 400);
            prop_assert!(e.code == "INVALID_JSON" || e.code == "INVALID_FIELD" || e.code == "MISSING_FIELD");
        }
    }
}
