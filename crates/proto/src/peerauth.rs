//! Authentication of peer HTTPS requests (DESIGN §7.3), as a pure function of the request,
//! the group state and the time. Runs before a request body is parsed.

use crate::seedproof::{GroupSeed, HttpProofInput, ReplayError, ReplayGuard};

/// Header carrying the client's node id.
pub const H_NODE: &str = "x-mayros-node";
/// Header carrying the request time (unix ms).
pub const H_TS: &str = "x-mayros-ts";
/// Header carrying the 128-bit nonce (32 hex).
pub const H_NONCE: &str = "x-mayros-nonce";
/// Header carrying the hex HMAC proof.
pub const H_PROOF: &str = "x-mayros-proof";

/// The authentication headers of one request, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthHeaders<'a> {
    /// `x-mayros-node`.
    pub node: Option<&'a str>,
    /// `x-mayros-ts`.
    pub ts: Option<&'a str>,
    /// `x-mayros-nonce`.
    pub nonce: Option<&'a str>,
    /// `x-mayros-proof`.
    pub proof: Option<&'a str>,
}

/// Why a peer request was refused (answered 401 with this reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// A required header is absent.
    MissingHeader(&'static str),
    /// `x-mayros-ts` is not an integer.
    MalformedTimestamp,
    /// This device is not in a group, so it has no seed to check against.
    NoGroup,
    /// The client node id is not a roster member.
    NotAMember,
    /// The TLS client certificate proves another node id than `x-mayros-node`.
    CertificateMismatch,
    /// The proof does not verify (wrong seed or tampered request).
    BadProof,
    /// Stale timestamp, malformed nonce or replay.
    Replay(ReplayError),
}

impl AuthFailure {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::MissingHeader(_) | AuthFailure::MalformedTimestamp => "AUTH_MISSING",
            AuthFailure::NoGroup => "NOT_IN_GROUP",
            AuthFailure::NotAMember => "NOT_A_MEMBER",
            AuthFailure::CertificateMismatch => "CERT_MISMATCH",
            AuthFailure::BadProof => "BAD_PROOF",
            AuthFailure::Replay(ReplayError::StaleTimestamp) => "STALE_TIMESTAMP",
            AuthFailure::Replay(ReplayError::MalformedNonce) => "AUTH_MISSING",
            AuthFailure::Replay(ReplayError::Replayed) => "REPLAYED",
        }
    }
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthFailure::MissingHeader(h) => write!(f, "missing header {h}"),
            AuthFailure::MalformedTimestamp => write!(f, "{H_TS} must be unix milliseconds"),
            AuthFailure::NoGroup => f.write_str("this device is not paired with any group"),
            AuthFailure::NotAMember => {
                f.write_str("the requesting node is not a member of this sync group")
            }
            AuthFailure::CertificateMismatch => {
                f.write_str("the TLS client certificate does not match x-mayros-node")
            }
            AuthFailure::BadProof => f.write_str("seed proof does not verify (wrong group seed?)"),
            AuthFailure::Replay(r) => write!(f, "{r}"),
        }
    }
}

/// The request facts an authentication covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path and query, as received.
    pub path_and_query: &'a str,
    /// Raw body bytes (hashed, not parsed).
    pub body: &'a [u8],
    /// Node id proven by the TLS client certificate, if one was presented.
    pub tls_client: Option<&'a str>,
    /// This server's node id.
    pub server_node_id: &'a str,
}

/// Checks one request. On success returns the authenticated client node id and records the nonce.
pub fn authenticate(
    headers: AuthHeaders<'_>,
    req: RequestFacts<'_>,
    seeds: &[GroupSeed],
    is_member: impl Fn(&str) -> bool,
    replay: &mut ReplayGuard,
    now_ms: u64,
) -> Result<String, AuthFailure> {
    let node = headers.node.ok_or(AuthFailure::MissingHeader(H_NODE))?;
    let ts = headers.ts.ok_or(AuthFailure::MissingHeader(H_TS))?;
    let nonce = headers.nonce.ok_or(AuthFailure::MissingHeader(H_NONCE))?;
    let proof = headers.proof.ok_or(AuthFailure::MissingHeader(H_PROOF))?;
    let ts_ms: u64 = ts.parse().map_err(|_| AuthFailure::MalformedTimestamp)?;
    if seeds.is_empty() {
        return Err(AuthFailure::NoGroup);
    }
    if !is_member(node) {
        return Err(AuthFailure::NotAMember);
    }
    if req.tls_client.is_some_and(|c| c != node) {
        return Err(AuthFailure::CertificateMismatch);
    }
    let input = HttpProofInput {
        method: req.method,
        path_and_query: req.path_and_query,
        body: req.body,
        ts_ms,
        nonce,
        client_node_id: node,
        server_node_id: req.server_node_id,
    };
    if !seeds.iter().any(|seed| seed.verify_http(&input, proof)) {
        return Err(AuthFailure::BadProof);
    }
    replay
        .check(ts_ms, nonce, now_ms)
        .map_err(AuthFailure::Replay)?;
    Ok(node.to_string())
}

/// Builds the four authentication headers for an outgoing request.
pub fn sign_request(
    seed: &GroupSeed,
    req: RequestFacts<'_>,
    client_node_id: &str,
    ts_ms: u64,
    nonce: [u8; 16],
) -> [(&'static str, String); 4] {
    let nonce = hex::encode(nonce);
    let proof = seed.http_proof(&HttpProofInput {
        method: req.method,
        path_and_query: req.path_and_query,
        body: req.body,
        ts_ms,
        nonce: &nonce,
        client_node_id,
        server_node_id: req.server_node_id,
    });
    [
        (H_NODE, client_node_id.to_string()),
        (H_TS, ts_ms.to_string()),
        (H_NONCE, nonce),
        (H_PROOF, proof),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn facts(body: &[u8]) -> RequestFacts<'_> {
        RequestFacts {
            method: "POST",
            path_and_query: "/api/v1/sync/delta",
            body,
            tls_client: Some("client"),
            server_node_id: "server",
        }
    }

    fn signed(seed: &GroupSeed, nonce: u8, ts: u64) -> [(&'static str, String); 4] {
        sign_request(seed, facts(b"{}"), "client", ts, [nonce; 16])
    }

    fn headers<'a>(h: &'a [(&'static str, String); 4]) -> AuthHeaders<'a> {
        AuthHeaders {
            node: Some(&h[0].1),
            ts: Some(&h[1].1),
            nonce: Some(&h[2].1),
            proof: Some(&h[3].1),
        }
    }

    fn member(id: &str) -> bool {
        id == "client"
    }

    #[test]
    fn a_good_request_passes_once() {
        let seed = GroupSeed([5; 32]);
        let mut guard = ReplayGuard::new();
        let h = signed(&seed, 1, NOW);
        let ok = authenticate(
            headers(&h),
            facts(b"{}"),
            std::slice::from_ref(&seed),
            member,
            &mut guard,
            NOW,
        );
        assert_eq!(ok.unwrap(), "client");
        let again = authenticate(
            headers(&h),
            facts(b"{}"),
            std::slice::from_ref(&seed),
            member,
            &mut guard,
            NOW + 5,
        );
        assert_eq!(again, Err(AuthFailure::Replay(ReplayError::Replayed)));
    }

    #[test]
    fn every_failure_is_named() {
        let seed = GroupSeed([5; 32]);
        let mut g = ReplayGuard::new();
        let h = signed(&seed, 2, NOW);
        let mut missing = headers(&h);
        missing.proof = None;
        assert_eq!(
            authenticate(
                missing,
                facts(b"{}"),
                std::slice::from_ref(&seed),
                member,
                &mut g,
                NOW
            ),
            Err(AuthFailure::MissingHeader(H_PROOF))
        );
        assert_eq!(
            authenticate(headers(&h), facts(b"{}"), &[], member, &mut g, NOW),
            Err(AuthFailure::NoGroup)
        );
        assert_eq!(
            authenticate(
                headers(&h),
                facts(b"{}"),
                std::slice::from_ref(&seed),
                |_| false,
                &mut g,
                NOW
            ),
            Err(AuthFailure::NotAMember)
        );
        let other_cert = RequestFacts {
            tls_client: Some("mallory"),
            ..facts(b"{}")
        };
        assert_eq!(
            authenticate(
                headers(&h),
                other_cert,
                std::slice::from_ref(&seed),
                member,
                &mut g,
                NOW
            ),
            Err(AuthFailure::CertificateMismatch)
        );
        assert_eq!(
            authenticate(
                headers(&h),
                facts(b"{\"x\":1}"),
                std::slice::from_ref(&seed),
                member,
                &mut g,
                NOW
            ),
            Err(AuthFailure::BadProof),
            "tampered body"
        );
        let wrong_seed = signed(&GroupSeed([6; 32]), 3, NOW);
        assert_eq!(
            authenticate(
                headers(&wrong_seed),
                facts(b"{}"),
                std::slice::from_ref(&seed),
                member,
                &mut g,
                NOW
            ),
            Err(AuthFailure::BadProof)
        );
        let stale = signed(&seed, 4, NOW - 121_000);
        assert_eq!(
            authenticate(
                headers(&stale),
                facts(b"{}"),
                std::slice::from_ref(&seed),
                member,
                &mut g,
                NOW
            ),
            Err(AuthFailure::Replay(ReplayError::StaleTimestamp))
        );
        assert!(g.is_empty(), "failed requests never fill the nonce cache");
        // A member that missed a rotation still signs with the replaced seed: accepted while
        // it is among the seeds given (current first).
        let rotated = GroupSeed([9; 32]);
        let old = signed(&seed, 5, NOW);
        assert_eq!(
            authenticate(
                headers(&old),
                facts(b"{}"),
                &[rotated.clone(), seed.clone()],
                member,
                &mut g,
                NOW
            ),
            Ok("client".to_string())
        );
        let old = signed(&seed, 6, NOW);
        assert_eq!(
            authenticate(headers(&old), facts(b"{}"), &[rotated], member, &mut g, NOW),
            Err(AuthFailure::BadProof)
        );
        for f in [
            AuthFailure::NotAMember,
            AuthFailure::BadProof,
            AuthFailure::NoGroup,
        ] {
            assert!(!f.to_string().is_empty() && !f.code().is_empty());
        }
    }
}
