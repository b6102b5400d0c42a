//! A config file as found on disk: parsing answers an error naming the key or a config whose
//! rendering parses back to the same config with no warnings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mayros_sync_proto::config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = config::parse(text) {
        let again = config::from_value(&parsed.config.to_value()).expect("a rendered config parses");
        assert_eq!(again.config, parsed.config);
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    }
});
