//! Tests of reading, validating, rendering and editing configuration documents.

use std::ops::RangeInclusive;

use proptest::prelude::*;
use serde_json::json;

use super::keys::children_of;
use super::*;

fn ok(doc: Value) -> Parsed {
    from_value(&doc).unwrap()
}

fn err(doc: Value) -> (String, String) {
    match from_value(&doc) {
        Err(Error::Config { key, reason }) => (key, reason),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn empty_document_gives_every_default() {
    let p = ok(json!({}));
    assert!(p.warnings.is_empty());
    let c = p.config;
    assert_eq!(c.sync.interval_seconds, 300);
    assert!(!c.sync.auto_sync);
    assert_eq!(c.sync.conflict_strategy, ConflictStrategy::LastWriterWins);
    assert_eq!(c.sync.max_triples_per_sync, 5000);
    assert_eq!(c.sync.sync_timeout_ms, 30_000);
    assert!(c.sync.native_p2p_preferred);
    assert!(c.sync.multi_valued_predicates.is_empty());
    assert_eq!(c.sync.exclude_subject_prefixes, vec!["mayros:sync:"]);
    assert_eq!(c.sync.tombstone_max_retention_days, 180);
    assert!(!c.discovery.bonjour_enabled);
    assert_eq!(c.discovery.bonjour_service_type, "_mayros-cortex._tcp");
    assert!(c.discovery.manual_peers.is_empty());
    assert_eq!(c.discovery.interfaces, None);
    assert_eq!(c.namespace, "mayros");
    assert_eq!(c.cortex.url, None);
    assert_eq!(c.cortex.auth_token, None);
    assert!(!c.cortex.is_external());
    assert!(c.ui.notifications);
    assert_eq!(c, Config::default());
}

#[test]
fn defaults_lie_inside_their_ranges() {
    let s = SyncConfig::default();
    assert!(INTERVAL_SECONDS_RANGE.contains(&s.interval_seconds));
    assert!(MAX_TRIPLES_PER_SYNC_RANGE.contains(&s.max_triples_per_sync));
    assert!(SYNC_TIMEOUT_MS_RANGE.contains(&s.sync_timeout_ms));
    assert!(TOMBSTONE_MAX_RETENTION_DAYS_RANGE.contains(&s.tombstone_max_retention_days));
}

#[test]
fn empty_or_blank_text_is_all_defaults() {
    assert_eq!(parse("").unwrap().config, Config::default());
    assert_eq!(parse(" \n\t").unwrap().config, Config::default());
    assert_eq!(parse("{}").unwrap().config, Config::default());
}

#[test]
fn design_example_parses() {
    let p = parse(
        r#"{"sync":{"intervalSeconds":60},"cortex":{"url":"http://127.0.0.1:8080"},"namespace":"mayros"}"#,
    )
    .unwrap();
    assert!(p.warnings.is_empty());
    assert_eq!(p.config.sync.interval_seconds, 60);
    assert_eq!(p.config.sync.interval(), Duration::from_secs(60));
    assert_eq!(
        p.config.cortex.url.as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert!(p.config.cortex.is_external());
}

#[test]
fn every_key_is_read() {
    let doc = json!({
        "sync": {
            "intervalSeconds": 60,
            "autoSync": true,
            "conflictStrategy": "keep-both",
            "maxTriplesPerSync": 1000,
            "syncTimeoutMs": 10000,
            "nativeP2pPreferred": false,
            "multiValuedPredicates": ["ex:knows", "ex:tag"],
            "excludeSubjectPrefixes": [],
            "tombstoneMaxRetentionDays": 30
        },
        "discovery": {
            "bonjourEnabled": true,
            "bonjourServiceType": "_test-1._udp",
            "manualPeers": ["10.0.0.2:19092"],
            "interfaces": ["lo"]
        },
        "namespace": "work",
        "cortex": {"url": "https://cortex.local/base", "authToken": "s3cret"},
        "ui": {"notifications": false}
    });
    let p = ok(doc.clone());
    assert!(p.warnings.is_empty());
    let c = &p.config;
    assert_eq!(c.sync.interval_seconds, 60);
    assert!(c.sync.auto_sync);
    assert_eq!(c.sync.conflict_strategy, ConflictStrategy::KeepBoth);
    assert_eq!(c.sync.max_triples_per_sync, 1000);
    assert_eq!(c.sync.sync_timeout_ms, 10_000);
    assert_eq!(c.sync.sync_timeout(), Duration::from_secs(10));
    assert!(!c.sync.native_p2p_preferred);
    assert!(c.sync.is_multi_valued("ex:tag"));
    assert!(!c.sync.is_multi_valued("ex:age"));
    assert!(!c.sync.is_excluded_subject("mayros:sync:x"));
    assert_eq!(c.sync.tombstone_max_retention_days, 30);
    assert_eq!(
        c.sync.tombstone_max_retention(),
        Duration::from_secs(30 * 86_400)
    );
    assert!(c.discovery.bonjour_enabled);
    assert_eq!(c.discovery.bonjour_service_type, "_test-1._udp");
    assert_eq!(
        c.discovery.manual_peers,
        vec![ManualPeer::Address("10.0.0.2:19092".into())]
    );
    assert_eq!(c.discovery.interfaces, Some(vec!["lo".to_owned()]));
    assert_eq!(c.namespace, "work");
    assert_eq!(c.cortex.url.as_deref(), Some("https://cortex.local/base"));
    assert_eq!(c.cortex.auth_token.as_deref(), Some("s3cret"));
    assert!(!c.ui.notifications);
    // A full document is its own rendering.
    assert_eq!(c.to_value(), doc);
}

#[test]
fn excluded_subject_prefix_default() {
    let s = SyncConfig::default();
    assert!(s.is_excluded_subject("mayros:sync:cursor"));
    assert!(!s.is_excluded_subject("mayros:agent:a1"));
}

#[test]
fn null_optional_values_mean_unset() {
    let p = ok(json!({
        "cortex": {"url": null, "authToken": null},
        "discovery": {"interfaces": null, "manualPeers": [{"endpoint": "h:1", "nodeId": null, "namespaces": null}]}
    }));
    assert_eq!(p.config.cortex, CortexConfig::default());
    assert_eq!(p.config.discovery.interfaces, None);
    assert_eq!(
        p.config.discovery.manual_peers,
        vec![ManualPeer::Detailed {
            node_id: None,
            endpoint: "h:1".into(),
            namespaces: None
        }]
    );
}

#[test]
fn null_for_a_required_value_is_a_type_error() {
    let (key, reason) = err(json!({"sync": {"intervalSeconds": null}}));
    assert_eq!(key, "sync.intervalSeconds");
    assert_eq!(reason, "expected an integer, found null");
    let (key, reason) = err(json!({"sync": null}));
    assert_eq!(key, "sync");
    assert_eq!(reason, "expected an object, found null");
}

/// (key, section, name, range) of every numeric key.
const RANGES: [(&str, &str, &str, RangeInclusive<u64>); 4] = [
    (
        "sync.intervalSeconds",
        "sync",
        "intervalSeconds",
        INTERVAL_SECONDS_RANGE,
    ),
    (
        "sync.maxTriplesPerSync",
        "sync",
        "maxTriplesPerSync",
        MAX_TRIPLES_PER_SYNC_RANGE,
    ),
    (
        "sync.syncTimeoutMs",
        "sync",
        "syncTimeoutMs",
        SYNC_TIMEOUT_MS_RANGE,
    ),
    (
        "sync.tombstoneMaxRetentionDays",
        "sync",
        "tombstoneMaxRetentionDays",
        TOMBSTONE_MAX_RETENTION_DAYS_RANGE,
    ),
];

fn read_number(section: &str, name: &str, value: Value) -> Parsed {
    ok(json!({ section: { name: value } }))
}

fn number_field(c: &Config, key: &str) -> u64 {
    match key {
        "sync.intervalSeconds" => c.sync.interval_seconds,
        "sync.maxTriplesPerSync" => c.sync.max_triples_per_sync,
        "sync.syncTimeoutMs" => c.sync.sync_timeout_ms,
        "sync.tombstoneMaxRetentionDays" => c.sync.tombstone_max_retention_days,
        _ => unreachable!(),
    }
}

#[test]
fn every_range_clamps_both_ends_with_a_warning() {
    for (key, section, name, range) in RANGES {
        let (min, max) = (*range.start(), *range.end());
        // Edges are accepted silently.
        for edge in [min, max] {
            let p = read_number(section, name, json!(edge));
            assert!(p.warnings.is_empty(), "{key} = {edge}");
            assert_eq!(number_field(&p.config, key), edge);
        }
        // Below, above, negative and huge are clamped with a warning.
        let cases = [
            (json!(min - 1), min, (min - 1).to_string()),
            (json!(max + 1), max, (max + 1).to_string()),
            (json!(-5), min, "-5".to_owned()),
            (json!(i64::MIN), min, i64::MIN.to_string()),
            (json!(u64::MAX), max, u64::MAX.to_string()),
        ];
        for (value, expected, shown) in cases {
            let p = read_number(section, name, value);
            assert_eq!(number_field(&p.config, key), expected, "{key}");
            assert_eq!(p.warnings.len(), 1);
            let w = &p.warnings[0];
            assert_eq!(w.key, key);
            assert_eq!(w.value.to_string(), shown);
            assert_eq!((w.min, w.max, w.clamped_to), (min, max, expected));
            assert_eq!(
                w.to_string(),
                format!("{key} = {shown} is out of range {min}–{max}; using {expected}")
            );
        }
    }
}

#[test]
fn warning_message_matches_the_design_example() {
    let p = parse(r#"{"sync":{"intervalSeconds":5}}"#).unwrap();
    assert_eq!(p.config.sync.interval_seconds, 10);
    assert_eq!(
        p.warnings[0].message(),
        "sync.intervalSeconds = 5 is out of range 10–86400; using 10"
    );
    let v = serde_json::to_value(&p.warnings[0]).unwrap();
    assert_eq!(
        v,
        json!({"key": "sync.intervalSeconds", "value": 5, "min": 10, "max": 86400, "clampedTo": 10})
    );
}

#[test]
fn integers_beyond_u64_are_clamped_not_rejected() {
    let p = parse(r#"{"sync":{"intervalSeconds":100000000000000000000000}}"#).unwrap();
    assert_eq!(p.config.sync.interval_seconds, 86_400);
    assert_eq!(p.warnings.len(), 1);
    let p = parse(r#"{"sync":{"intervalSeconds":-100000000000000000000000}}"#).unwrap();
    assert_eq!(p.config.sync.interval_seconds, 10);
    assert_eq!(p.warnings.len(), 1);
}

#[test]
fn warnings_are_collected_for_several_keys() {
    let p = ok(json!({"sync": {"intervalSeconds": 1, "syncTimeoutMs": 1_000_000}}));
    let keys: Vec<&str> = p.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&"sync.intervalSeconds"));
    assert!(keys.contains(&"sync.syncTimeoutMs"));
}

#[test]
fn floats_are_type_errors() {
    for text in [
        r#"{"sync":{"intervalSeconds":10.5}}"#,
        r#"{"sync":{"intervalSeconds":60.0}}"#,
        r#"{"sync":{"intervalSeconds":6e1}}"#,
    ] {
        match parse(text) {
            Err(Error::Config { key, reason }) => {
                assert_eq!(key, "sync.intervalSeconds");
                assert!(
                    reason.starts_with("expected an integer, found a float"),
                    "{reason}"
                );
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn wrong_types_name_the_key() {
    let cases = [
        (
            json!({"sync": {"intervalSeconds": "60"}}),
            "sync.intervalSeconds",
            "expected an integer, found a string",
        ),
        (
            json!({"sync": {"autoSync": "yes"}}),
            "sync.autoSync",
            "expected a boolean, found a string",
        ),
        (
            json!({"ui": {"notifications": 1}}),
            "ui.notifications",
            "expected a boolean, found an integer",
        ),
        (
            json!({"sync": {"conflictStrategy": 3}}),
            "sync.conflictStrategy",
            "expected a string, found an integer",
        ),
        (
            json!({"namespace": ["a"]}),
            "namespace",
            "expected a string, found an array",
        ),
        (
            json!({"sync": {"multiValuedPredicates": {"a": 1}}}),
            "sync.multiValuedPredicates",
            "expected an array of strings, found an object",
        ),
        (
            json!({"sync": {"multiValuedPredicates": ["a", "b", 7]}}),
            "sync.multiValuedPredicates[2]",
            "expected a string, found an integer",
        ),
        (
            json!({"sync": {"excludeSubjectPrefixes": [null]}}),
            "sync.excludeSubjectPrefixes[0]",
            "expected a string, found null",
        ),
        (
            json!({"discovery": {"interfaces": ["lo", true]}}),
            "discovery.interfaces[1]",
            "expected a string, found a boolean",
        ),
        (
            json!({"discovery": {"manualPeers": "h:1"}}),
            "discovery.manualPeers",
            "expected an array, found a string",
        ),
        (
            json!({"cortex": {"url": 8080}}),
            "cortex.url",
            "expected a string or null, found an integer",
        ),
        (
            json!({"cortex": {"authToken": false}}),
            "cortex.authToken",
            "expected a string or null, found a boolean",
        ),
        (
            json!({"discovery": []}),
            "discovery",
            "expected an object, found an array",
        ),
        (
            json!({"ui": 1.5}),
            "ui",
            "expected an object, found a float",
        ),
    ];
    for (doc, key, reason) in cases {
        assert_eq!(err(doc), (key.to_owned(), reason.to_owned()));
    }
}

#[test]
fn a_string_for_a_list_hints_at_the_list_syntax() {
    let (key, reason) = err(json!({"discovery": {"interfaces": "lo"}}));
    assert_eq!(key, "discovery.interfaces");
    assert_eq!(
        reason,
        r#"expected an array of strings, found a string (write a list, e.g. ["lo"])"#
    );
}

#[test]
fn top_level_must_be_an_object() {
    for doc in [json!([]), json!(null), json!("x"), json!(3)] {
        let (key, reason) = err(doc);
        assert_eq!(key, "(top level)");
        assert!(reason.starts_with("expected a JSON object, found"));
    }
}

#[test]
fn invalid_json_is_a_syntax_error() {
    assert!(matches!(
        parse(r#"{"sync": {"#),
        Err(Error::ConfigSyntax(_))
    ));
    assert!(matches!(parse("{,}"), Err(Error::ConfigSyntax(_))));
}

#[test]
fn unknown_keys_are_errors_at_every_level() {
    let (key, reason) = err(json!({"sync": {"intervalSecs": 60}}));
    assert_eq!(key, "sync.intervalSecs");
    assert_eq!(reason, "unknown key; did you mean `intervalSeconds`?");

    let (key, reason) = err(json!({"Sync": {}}));
    assert_eq!(key, "Sync");
    assert_eq!(reason, "unknown key; did you mean `sync`?");

    let (key, reason) = err(json!({"telemetry": true}));
    assert_eq!(key, "telemetry");
    assert_eq!(
        reason,
        "unknown key; known keys here: sync, discovery, namespace, cortex, ui"
    );

    let (key, reason) = err(json!({"ui": {"theme": "dark"}}));
    assert_eq!(key, "ui.theme");
    assert!(reason.starts_with("unknown key"), "{reason}");

    let (key, reason) = err(json!({"cortex": {"token": "x"}}));
    assert_eq!(key, "cortex.token");
    assert!(reason.starts_with("unknown key"), "{reason}");

    let (key, reason) =
        err(json!({"discovery": {"manualPeers": [{"endpoint": "h:1", "node": "x"}]}}));
    assert_eq!(key, "discovery.manualPeers[0].node");
    assert!(reason.starts_with("unknown key"), "{reason}");
}

#[test]
fn bad_enum_value_lists_the_allowed_ones() {
    let (key, reason) = err(json!({"sync": {"conflictStrategy": "lww"}}));
    assert_eq!(key, "sync.conflictStrategy");
    assert_eq!(
        reason,
        "unknown value \"lww\"; expected one of: last-writer-wins, keep-both, \
         local-priority, remote-priority"
    );
}

#[test]
fn conflict_strategy_spellings_round_trip() {
    for s in ConflictStrategy::ALL {
        assert_eq!(ConflictStrategy::from_name(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        assert_eq!(
            serde_json::from_value::<ConflictStrategy>(json!(s.as_str())).unwrap(),
            s
        );
        assert_eq!(s.to_string(), s.as_str());
        let p = ok(json!({"sync": {"conflictStrategy": s.as_str()}}));
        assert_eq!(p.config.sync.conflict_strategy, s);
    }
    assert_eq!(
        ConflictStrategy::default(),
        ConflictStrategy::LastWriterWins
    );
}

#[test]
fn manual_peers_both_forms() {
    let id = "ab".repeat(32);
    let p = ok(json!({"discovery": {"manualPeers": [
        "192.168.1.20:19092",
        "[::1]:19092",
        "laptop.local:443",
        {"endpoint": "10.0.0.3:19092"},
        {"nodeId": id, "endpoint": "nas:19092", "namespaces": ["mayros", "work", ""]}
    ]}}));
    let peers = &p.config.discovery.manual_peers;
    assert_eq!(peers.len(), 5);
    assert_eq!(peers[0], ManualPeer::Address("192.168.1.20:19092".into()));
    assert_eq!(peers[1].endpoint(), "[::1]:19092");
    assert_eq!(peers[3].node_id(), None);
    assert_eq!(peers[3].namespaces(), None);
    assert_eq!(peers[4].node_id(), Some(id.as_str()));
    assert_eq!(peers[4].endpoint(), "nas:19092");
    assert_eq!(
        peers[4].namespaces().unwrap(),
        &["mayros".to_owned(), "work".to_owned(), String::new()]
    );
    assert_eq!(peers[0].to_value(), json!("192.168.1.20:19092"));
    assert_eq!(peers[3].to_value(), json!({"endpoint": "10.0.0.3:19092"}));
    assert_eq!(
        serde_json::to_value(&peers[4]).unwrap(),
        json!({"nodeId": id, "endpoint": "nas:19092", "namespaces": ["mayros", "work", ""]})
    );
}

#[test]
fn bad_manual_peers_name_the_entry() {
    let cases = [
        (
            json!("10.0.0.1"),
            "discovery.manualPeers[0]",
            "missing \":port\"",
        ),
        (
            json!("10.0.0.1:"),
            "discovery.manualPeers[0]",
            "missing port",
        ),
        (json!("10.0.0.1:0"), "discovery.manualPeers[0]", "port 0"),
        (
            json!("10.0.0.1:70000"),
            "discovery.manualPeers[0]",
            "not a number in 1–65535",
        ),
        (
            json!("10.0.0.1:+80"),
            "discovery.manualPeers[0]",
            "not a number",
        ),
        (json!(":19092"), "discovery.manualPeers[0]", "missing host"),
        (json!("::1:19092"), "discovery.manualPeers[0]", "brackets"),
        (
            json!("https://h:1"),
            "discovery.manualPeers[0]",
            "without a scheme",
        ),
        (
            json!("bad host:1"),
            "discovery.manualPeers[0]",
            "invalid host name",
        ),
        (
            json!(42),
            "discovery.manualPeers[0]",
            "expected a \"host:port\" string or an object",
        ),
        (json!({}), "discovery.manualPeers[0].endpoint", "missing"),
        (
            json!({"endpoint": 5}),
            "discovery.manualPeers[0].endpoint",
            "expected a string",
        ),
        (
            json!({"endpoint": "h"}),
            "discovery.manualPeers[0].endpoint",
            "missing \":port\"",
        ),
        (
            json!({"endpoint": "h:1", "nodeId": "AB".repeat(32)}),
            "discovery.manualPeers[0].nodeId",
            "64 lowercase hexadecimal digits",
        ),
        (
            json!({"endpoint": "h:1", "nodeId": "abc"}),
            "discovery.manualPeers[0].nodeId",
            "64 lowercase hexadecimal digits",
        ),
        (
            json!({"endpoint": "h:1", "namespaces": ["ok", 1]}),
            "discovery.manualPeers[0].namespaces[1]",
            "expected a string",
        ),
        (
            json!({"endpoint": "h:1", "namespaces": ["a:b"]}),
            "discovery.manualPeers[0].namespaces[0]",
            "cannot contain ':'",
        ),
    ];
    for (peer, key, needle) in cases {
        let (k, reason) = err(json!({"discovery": {"manualPeers": [peer]}}));
        assert_eq!(k, key, "{reason}");
        assert!(
            reason.contains(needle),
            "{key}: {reason:?} lacks {needle:?}"
        );
    }
    // The index points at the bad entry, not the first one.
    let (k, _) = err(json!({"discovery": {"manualPeers": ["a:1", "b:2", "c"]}}));
    assert_eq!(k, "discovery.manualPeers[2]");
}

#[test]
fn service_type_validation() {
    for good in [
        "_mayros-cortex._tcp",
        "_http._tcp",
        "_a._udp",
        "_abcdefghij12345._tcp",
    ] {
        let p = ok(json!({"discovery": {"bonjourServiceType": good}}));
        assert_eq!(p.config.discovery.bonjour_service_type, good);
    }
    for bad in [
        "",
        "mayros-cortex._tcp",
        "_mayros-cortex._sctp",
        "_mayros-cortex",
        "__tcp",
        "_._tcp",
        "_abcdefghij123456._tcp",
        "_my_service._tcp",
        "_-abc._tcp",
        "_abc-._tcp",
        "_a--b._tcp",
        "_123._tcp",
        "_mayros-cortex._tcp.local.",
    ] {
        let (key, reason) = err(json!({"discovery": {"bonjourServiceType": bad}}));
        assert_eq!(key, "discovery.bonjourServiceType");
        assert!(
            reason.starts_with("expected a DNS-SD service type"),
            "{bad}: {reason}"
        );
    }
}

#[test]
fn cortex_url_validation() {
    for good in [
        "http://127.0.0.1:8080",
        "https://cortex.example.com",
        "HTTP://localhost:19090/",
        "http://[::1]:8080/api",
        "http://[::1]",
        "https://h/p?q=1#f",
    ] {
        let p = ok(json!({"cortex": {"url": good}}));
        assert_eq!(p.config.cortex.url.as_deref(), Some(good));
    }
    for bad in [
        "",
        "ftp://h",
        "127.0.0.1:8080",
        "http://",
        "http://:8080",
        "http://h:0",
        "http://h:port",
        "http://user:pw@h",
        "http://h x",
        "http://::1:8080",
    ] {
        let (key, reason) = err(json!({"cortex": {"url": bad}}));
        assert_eq!(key, "cortex.url");
        assert!(
            reason.starts_with("expected an http:// or https:// URL"),
            "{bad}: {reason}"
        );
    }
}

#[test]
fn empty_strings_where_they_make_no_sense() {
    let cases = [
        (json!({"cortex": {"authToken": ""}}), "cortex.authToken"),
        (
            json!({"sync": {"excludeSubjectPrefixes": ["ok", ""]}}),
            "sync.excludeSubjectPrefixes[1]",
        ),
        (
            json!({"sync": {"multiValuedPredicates": [""]}}),
            "sync.multiValuedPredicates[0]",
        ),
        (
            json!({"discovery": {"interfaces": [""]}}),
            "discovery.interfaces[0]",
        ),
    ];
    for (doc, key) in cases {
        assert_eq!(err(doc).0, key);
    }
}

#[test]
fn namespace_validation() {
    assert_eq!(ok(json!({"namespace": ""})).config.namespace, "");
    assert_eq!(ok(json!({"namespace": "work"})).config.namespace, "work");
    let (key, reason) = err(json!({"namespace": "mayros:agent"}));
    assert_eq!(key, "namespace");
    assert!(reason.contains("':'"));
    assert_eq!(err(json!({"namespace": "a\nb"})).0, "namespace");
}

#[test]
fn empty_interface_list_is_kept() {
    let p = ok(json!({"discovery": {"interfaces": []}}));
    assert_eq!(p.config.discovery.interfaces, Some(Vec::new()));
}

fn sample_config() -> Config {
    let mut c = Config::default();
    c.sync.interval_seconds = 42;
    c.sync.auto_sync = true;
    c.sync.conflict_strategy = ConflictStrategy::RemotePriority;
    c.sync.multi_valued_predicates = vec!["ex:tag".into()];
    c.sync.exclude_subject_prefixes = Vec::new();
    c.discovery.manual_peers = vec![
        ManualPeer::Address("h:1".into()),
        ManualPeer::Detailed {
            node_id: Some("0f".repeat(32)),
            endpoint: "[fe80::1%eth0]:19092".into(),
            namespaces: Some(vec!["mayros".into()]),
        },
        ManualPeer::Detailed {
            node_id: None,
            endpoint: "nas.local:19092".into(),
            namespaces: None,
        },
    ];
    c.discovery.interfaces = Some(vec!["lo".into(), "eth0".into()]);
    c.namespace = "work".into();
    c.cortex.url = Some("https://cortex:8443".into());
    c.cortex.auth_token = Some("t".into());
    c.ui.notifications = false;
    c
}

#[test]
fn to_value_round_trips() {
    for c in [Config::default(), sample_config()] {
        let v = c.to_value();
        let back = from_value(&v).unwrap();
        assert_eq!(back.config, c);
        assert!(back.warnings.is_empty());
        // Serialize produces the same document as to_value.
        assert_eq!(serde_json::to_value(&c).unwrap(), v);
        // And so does the text form.
        let text = serde_json::to_string_pretty(&c).unwrap();
        assert_eq!(parse(&text).unwrap().config, c);
    }
}

#[test]
fn to_value_has_every_key() {
    let v = Config::default().to_value();
    for key in KEYS {
        assert!(get_key(&v, key).is_some(), "{key} missing from to_value");
    }
    assert_eq!(get_key(&v, "cortex.url"), Some(Value::Null));
    assert_eq!(get_key(&v, "sync.intervalSeconds"), Some(json!(300)));
    assert_eq!(
        get_key(&v, "sync.excludeSubjectPrefixes"),
        Some(json!(["mayros:sync:"]))
    );
    assert_eq!(get_key(&v, "ui"), Some(json!({"notifications": true})));
    assert_eq!(get_key(&v, "sync.nope"), None);
    assert_eq!(get_key(&v, "namespace.x"), None);
}

#[test]
fn keys_cover_exactly_the_sections() {
    assert_eq!(
        children_of(""),
        ["sync", "discovery", "namespace", "cortex", "ui"]
    );
    assert_eq!(KEYS.len(), 17);
    assert!(is_known_key("ui.notifications"));
    assert!(!is_known_key("ui"));
}

#[test]
fn debug_redacts_the_auth_token() {
    let c = sample_config();
    let dbg = format!("{c:?}");
    assert!(dbg.contains("<redacted>"));
    assert!(!dbg.contains("auth_token: Some(\"t\")"));
}

#[test]
fn set_key_creates_sections_in_a_sparse_document() {
    let mut doc = json!({"namespace": "work"});
    set_key(&mut doc, "sync.intervalSeconds", json!(60)).unwrap();
    set_key(&mut doc, "sync.autoSync", json!(true)).unwrap();
    set_key(&mut doc, "cortex.url", json!("http://h:1")).unwrap();
    set_key(&mut doc, "namespace", json!("home")).unwrap();
    assert_eq!(
        doc,
        json!({"namespace": "home", "sync": {"intervalSeconds": 60, "autoSync": true}, "cortex": {"url": "http://h:1"}})
    );
    let c = from_value(&doc).unwrap().config;
    assert_eq!(c.sync.interval_seconds, 60);
    assert_eq!(c.namespace, "home");

    let mut empty = Value::Null;
    set_key(&mut empty, "ui.notifications", json!(false)).unwrap();
    assert_eq!(empty, json!({"ui": {"notifications": false}}));
}

#[test]
fn set_key_rejects_unknown_keys_and_sections() {
    let mut doc = json!({});
    let e = set_key(&mut doc, "sync.intervalSecs", json!(1)).unwrap_err();
    assert_eq!(
        e,
        Error::Config {
            key: "sync.intervalSecs".into(),
            reason: "unknown key; did you mean `intervalSeconds`?".into()
        }
    );
    let e = set_key(&mut doc, "sync", json!({})).unwrap_err();
    assert!(
        matches!(e, Error::Config { ref key, ref reason } if key == "sync" && reason.contains("section"))
    );
    let e = set_key(&mut doc, "", json!(1)).unwrap_err();
    assert!(matches!(e, Error::Config { ref reason, .. } if reason.starts_with("unknown key")));
    assert!(set_key(&mut doc, "sync.intervalSeconds.x", json!(1)).is_err());
    assert_eq!(doc, json!({}));
}

#[test]
fn set_key_refuses_to_overwrite_a_non_object_section() {
    let mut doc = json!({"sync": 5});
    let e = set_key(&mut doc, "sync.autoSync", json!(true)).unwrap_err();
    assert_eq!(
        e,
        Error::Config {
            key: "sync".into(),
            reason: "expected an object, found an integer".into()
        }
    );
    let mut doc = json!([1]);
    assert!(set_key(&mut doc, "namespace", json!("x")).is_err());
}

#[test]
fn set_key_then_validate_reports_bad_values() {
    let mut doc = json!({});
    set_key(&mut doc, "sync.conflictStrategy", json!("newest")).unwrap();
    let (key, _) = err(doc);
    assert_eq!(key, "sync.conflictStrategy");
}

#[test]
fn unset_key_restores_the_default() {
    let mut doc = json!({"sync": {"intervalSeconds": 60}, "namespace": "x"});
    assert!(unset_key(&mut doc, "sync.intervalSeconds").unwrap());
    assert!(!unset_key(&mut doc, "sync.intervalSeconds").unwrap());
    assert!(unset_key(&mut doc, "namespace").unwrap());
    assert_eq!(doc, json!({}));
    assert!(unset_key(&mut doc, "bogus").is_err());
}

#[test]
fn cli_values() {
    assert_eq!(parse_cli_value("sync.intervalSeconds", "60"), json!(60));
    assert_eq!(parse_cli_value("sync.intervalSeconds", "ten"), json!("ten"));
    assert_eq!(parse_cli_value("sync.autoSync", "true"), json!(true));
    assert_eq!(
        parse_cli_value("discovery.interfaces", r#"["lo"]"#),
        json!(["lo"])
    );
    assert_eq!(parse_cli_value("discovery.interfaces", "null"), Value::Null);
    assert_eq!(parse_cli_value("cortex.url", "null"), Value::Null);
    assert_eq!(
        parse_cli_value("cortex.url", "http://127.0.0.1:8080"),
        json!("http://127.0.0.1:8080")
    );
    assert_eq!(parse_cli_value("cortex.authToken", "12345"), json!("12345"));
    assert_eq!(parse_cli_value("namespace", "true"), json!("true"));
    assert_eq!(parse_cli_value("namespace", r#""quoted""#), json!("quoted"));
    assert_eq!(
        parse_cli_value("sync.conflictStrategy", "keep-both"),
        json!("keep-both")
    );
    assert_eq!(
        parse_cli_value("discovery.manualPeers", r#"[{"endpoint":"h:1"}]"#),
        json!([{"endpoint": "h:1"}])
    );
}

#[test]
fn cli_set_flow_end_to_end() {
    let mut doc = parse("").map(|_| Value::Null).unwrap();
    let key = "sync.intervalSeconds";
    set_key(&mut doc, key, parse_cli_value(key, "5")).unwrap();
    let p = from_value(&doc).unwrap();
    assert_eq!(p.config.sync.interval_seconds, 10);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(get_key(&p.config.to_value(), key), Some(json!(10)));
}

proptest! {
    #[test]
    fn in_range_interval_round_trips(v in INTERVAL_SECONDS_RANGE) {
        let p = from_value(&json!({"sync": {"intervalSeconds": v}})).unwrap();
        prop_assert!(p.warnings.is_empty());
        prop_assert_eq!(p.config.sync.interval_seconds, v);
        let again = from_value(&p.config.to_value()).unwrap();
        prop_assert_eq!(again.config, p.config);
    }

    #[test]
    fn any_integer_lands_in_range(v in any::<i64>(), idx in 0usize..4) {
        let (key, section, name, range) = RANGES[idx].clone();
        let p = from_value(&json!({ section: { name: v } })).unwrap();
        let got = number_field(&p.config, key);
        prop_assert!(range.contains(&got));
        let inside = u64::try_from(v).map(|u| range.contains(&u)).unwrap_or(false);
        if inside {
            prop_assert!(p.warnings.is_empty());
            prop_assert_eq!(i128::from(got), i128::from(v));
        } else {
            prop_assert_eq!(p.warnings.len(), 1);
            prop_assert_eq!(&p.warnings[0].key, key);
            prop_assert_eq!(p.warnings[0].clamped_to, got);
            let expected = if v < i64::try_from(*range.start()).unwrap() {
                *range.start()
            } else {
                *range.end()
            };
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn any_u64_lands_in_range(v in any::<u64>()) {
        let p = from_value(&json!({"sync": {"syncTimeoutMs": v}})).unwrap();
        prop_assert!(SYNC_TIMEOUT_MS_RANGE.contains(&p.config.sync.sync_timeout_ms));
        prop_assert_eq!(p.warnings.is_empty(), SYNC_TIMEOUT_MS_RANGE.contains(&v));
    }
}
