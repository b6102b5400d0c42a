//! Namespaces of subjects and the exclusion rule (DESIGN §2.1).

/// The namespace of a subject: its prefix before the first `:`, or `""` when there is none.
pub fn namespace_of(subject: &str) -> &str {
    match subject.find(':') {
        Some(i) => &subject[..i],
        None => "",
    }
}

/// Whether `subject` starts with one of the excluded prefixes and so is never synced.
pub fn is_excluded<S: AsRef<str>>(subject: &str, excluded_prefixes: &[S]) -> bool {
    excluded_prefixes
        .iter()
        .any(|p| !p.as_ref().is_empty() && subject.starts_with(p.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_prefix_before_first_colon() {
        assert_eq!(namespace_of("mayros:agent:a1"), "mayros");
        assert_eq!(namespace_of("ex:alice"), "ex");
        assert_eq!(namespace_of("plain"), "");
        assert_eq!(namespace_of(":x"), "");
        assert_eq!(namespace_of(""), "");
    }

    #[test]
    fn exclusion_by_prefix() {
        let prefixes = ["mayros:sync:".to_string()];
        assert!(is_excluded("mayros:sync:cursor", &prefixes));
        assert!(!is_excluded("mayros:agent:a", &prefixes));
        assert!(!is_excluded("anything", &[""]));
    }
}
