//! Format rules of string values: namespaces, node ids, `host:port`, URLs, DNS-SD types.
//!
//! Each check names the dotted key it was given in its error, so a caller passes the exact
//! (possibly indexed) key being read, e.g. `discovery.manualPeers[1].endpoint`.

use crate::Error;

/// Rejects an empty string with `why`.
pub(super) fn non_empty(key: &str, s: &str, why: &str) -> Result<(), Error> {
    if s.is_empty() {
        return Err(Error::Config {
            key: key.to_owned(),
            reason: why.to_owned(),
        });
    }
    Ok(())
}

/// A namespace: the part of a subject before its first `:` (so it cannot contain one).
pub(super) fn check_namespace(key: &str, s: &str) -> Result<(), Error> {
    let reason = if s.contains(':') {
        "a namespace cannot contain ':' (it is the subject prefix before the first ':')"
    } else if s.chars().any(char::is_control) {
        "a namespace cannot contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::Config {
        key: key.to_owned(),
        reason: reason.to_owned(),
    })
}

/// A node id: 64 lowercase hexadecimal digits (DESIGN §4).
pub(super) fn check_node_id(key: &str, id: &str) -> Result<(), Error> {
    if id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(());
    }
    Err(Error::Config {
        key: key.to_owned(),
        reason: format!("expected 64 lowercase hexadecimal digits, found {id:?}"),
    })
}

/// `host:port` with a port in 1–65535; an IPv6 host must be bracketed (`[::1]:19092`).
pub(super) fn check_host_port(key: &str, s: &str) -> Result<(), Error> {
    let bad = |why: String| Error::Config {
        key: key.to_owned(),
        reason: format!("expected \"host:port\", found {s:?}: {why}"),
    };
    if s.contains("://") {
        return Err(bad("give the address without a scheme".to_owned()));
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(bad("missing \":port\"".to_owned()));
    };
    check_port(port).map_err(bad)?;
    check_host(host).map_err(bad)
}

fn check_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("missing port".to_owned());
    }
    match port.parse::<u16>() {
        Ok(0) => Err("port 0 cannot be dialled".to_owned()),
        Ok(p) if port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!("port {port:?} is not a number in 1–65535")),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("missing host".to_owned());
    }
    if let Some(inner) = host.strip_prefix('[') {
        let Some(addr) = inner.strip_suffix(']') else {
            return Err("unclosed '[' in IPv6 address".to_owned());
        };
        // An optional zone follows '%', e.g. `[fe80::1%eth0]`.
        let (ip, zone) = addr.split_once('%').unwrap_or((addr, "x"));
        let valid = ip.contains(':')
            && ip
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
            && !zone.is_empty()
            && zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        return if valid {
            Ok(())
        } else {
            Err(format!("invalid IPv6 address {addr:?}"))
        };
    }
    if host.contains(':') {
        return Err("put an IPv6 address in brackets, e.g. [::1]:19092".to_owned());
    }
    if host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        Ok(())
    } else {
        Err(format!("invalid host name {host:?}"))
    }
}

/// An `http://` or `https://` URL with a host (and optional port and path).
pub(super) fn check_http_url(key: &str, url: &str) -> Result<(), Error> {
    let bad = |why: String| Error::Config {
        key: key.to_owned(),
        reason: format!("expected an http:// or https:// URL, found {url:?}: {why}"),
    };
    if url.is_empty() {
        return Err(bad("empty; use null for the embedded Cortex".to_owned()));
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url["http://".len()..]
    } else if lower.starts_with("https://") {
        &url["https://".len()..]
    } else {
        return Err(bad("unsupported scheme".to_owned()));
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace".to_owned()));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are not supported; use cortex.authToken".to_owned(),
        ));
    }
    // A port is present when the part after the last ':' is outside IPv6 brackets.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if let Some(port) = port {
        check_port(port).map_err(bad)?;
    }
    check_host(host).map_err(bad)
}

/// A DNS-SD service type `_name._tcp` / `_name._udp`; name per RFC 6335 (1–15 letters, digits,
/// hyphens, at least one letter, no leading, trailing or double hyphen).
pub(super) fn check_service_type(key: &str, s: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::Config {
        key: key.to_owned(),
        reason: format!(
            "expected a DNS-SD service type like \"_mayros-cortex._tcp\", found {s:?}: {why}"
        ),
    };
    let Some((name, proto)) = s.rsplit_once('.') else {
        return Err(bad("missing \"._tcp\" or \"._udp\""));
    };
    if proto != "_tcp" && proto != "_udp" {
        return Err(bad("the protocol must be _tcp or _udp"));
    }
    let Some(name) = name.strip_prefix('_') else {
        return Err(bad("the service name must start with '_'"));
    };
    if name.is_empty() || name.len() > 15 {
        return Err(bad("the service name must be 1–15 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(bad(
            "the service name may only hold letters, digits and hyphens",
        ));
    }
    if !name.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(bad("the service name needs at least one letter"));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err(bad(
            "the service name cannot start or end with a hyphen or hold two in a row",
        ));
    }
    Ok(())
}
