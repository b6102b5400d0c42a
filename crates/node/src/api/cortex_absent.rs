//! The Cortex client routes only the AIngle engine serves (DESIGN §13, §6.1): one table, one
//! handler answering `501 {"error", "code": "NOT_IN_EMBEDDED_CORTEX"}` that names the feature and
//! how to get it. `docs/cortex-contract.md` lists the same routes; a test checks they agree.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};

use super::error::ApiError;
use super::ApiState;

/// Error code of every route in [`NOT_IN_EMBEDDED`].
pub const CODE: &str = "NOT_IN_EMBEDDED_CORTEX";

/// A client route the embedded Cortex does not serve, and the AIngle feature behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsentRoute {
    /// HTTP method the client uses.
    pub method: &'static str,
    /// Route pattern, with `{param}` segments as the router takes them.
    pub path: &'static str,
    /// The AIngle feature, as named in the 501 answer.
    pub feature: &'static str,
}

const fn r(method: &'static str, path: &'static str, feature: &'static str) -> AbsentRoute {
    AbsentRoute {
        method,
        path,
        feature,
    }
}

const VALIDATION: &str = "rule validation of triples (the AIngle logic engine)";
const PROOFS: &str = "proof storage and verification (the AIngle proof engine)";
const SKILLS: &str = "skill manifest checks and sandboxes (the AIngle skill verifier)";
const REPUTATION: &str = "agent consistency scores and assertion checks (the AIngle proof engine)";
const AUDIT: &str =
    "the audit log of authenticated API users (the embedded Cortex has no user accounts)";
const VECTORS: &str = "vector memory search (the AIngle vector index)";
const DAG: &str = "the semantic DAG of signed actions (history, time travel, DAG sync)";

/// Every client route answered 501 here, in the order of the contract table.
pub const NOT_IN_EMBEDDED: &[AbsentRoute] = &[
    r("POST", "/api/v1/validate", VALIDATION),
    r("POST", "/api/v1/verify", PROOFS),
    r("POST", "/api/v1/proofs", PROOFS),
    r("GET", "/api/v1/proofs", PROOFS),
    r("GET", "/api/v1/proofs/stats", PROOFS),
    r("POST", "/api/v1/proofs/verify/batch", PROOFS),
    r("GET", "/api/v1/proofs/{id}", PROOFS),
    r("DELETE", "/api/v1/proofs/{id}", PROOFS),
    r("GET", "/api/v1/proofs/{id}/verify", PROOFS),
    r("POST", "/api/v1/skills/validate", SKILLS),
    r("POST", "/api/v1/skills/sandbox", SKILLS),
    r("DELETE", "/api/v1/skills/sandbox/{id}", SKILLS),
    r("GET", "/api/v1/agents/{id}/consistency", REPUTATION),
    r("POST", "/api/v1/assertions/verify-batch", REPUTATION),
    r("GET", "/api/v1/audit", AUDIT),
    r("GET", "/api/v1/audit/stats", AUDIT),
    r("POST", "/api/v1/memory/search", VECTORS),
    r("GET", "/api/v1/memory/index/stats", VECTORS),
    r("POST", "/api/v1/memory/index/rebuild", VECTORS),
    r("GET", "/api/v1/dag/tips", DAG),
    r("GET", "/api/v1/dag/action/{hash}", DAG),
    r("GET", "/api/v1/dag/history", DAG),
    r("GET", "/api/v1/dag/chain", DAG),
    r("GET", "/api/v1/dag/stats", DAG),
    r("POST", "/api/v1/dag/prune", DAG),
    r("GET", "/api/v1/dag/at/{hash}", DAG),
    r("GET", "/api/v1/dag/diff", DAG),
    r("GET", "/api/v1/dag/export", DAG),
    r("POST", "/api/v1/dag/sync", DAG),
    r("POST", "/api/v1/dag/sync/pull", DAG),
    r("POST", "/api/v1/dag/verify/{hash}", DAG),
];

/// The 501 answer for `route`.
pub fn answer(route: &AbsentRoute) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        CODE,
        format!(
            "{} {} needs {}, which the embedded Cortex of Mayros Sync does not provide: run the AIngle Cortex sidecar and point cortex.url at it (`mayros config set cortex.url http://127.0.0.1:<port>`); Mayros Sync then syncs that sidecar",
            route.method, route.path, route.feature
        ),
    )
}

fn filter(method: &str) -> MethodFilter {
    match Method::from_bytes(method.as_bytes()) {
        Ok(Method::POST) => MethodFilter::POST,
        Ok(Method::DELETE) => MethodFilter::DELETE,
        Ok(Method::PUT) => MethodFilter::PUT,
        _ => MethodFilter::GET,
    }
}

/// The 501 routes of [`NOT_IN_EMBEDDED`], one method router per path.
pub fn routes() -> Vec<(&'static str, MethodRouter<ApiState>)> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<ApiState>> = BTreeMap::new();
    for route in NOT_IN_EMBEDDED {
        let handler = on(filter(route.method), move || async move {
            let resp: Response = answer(route).into_response();
            resp
        });
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(route.path, merged);
    }
    by_path.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once_with_a_known_method() {
        let mut seen = std::collections::BTreeSet::new();
        for route in NOT_IN_EMBEDDED {
            assert!(
                ["GET", "POST", "DELETE"].contains(&route.method),
                "{route:?}"
            );
            assert!(seen.insert((route.method, route.path)), "twice: {route:?}");
        }
    }

    #[test]
    fn the_answer_names_the_feature_and_the_way_out() {
        let e = answer(&NOT_IN_EMBEDDED[0]);
        assert_eq!(e.status, StatusCode::NOT_IMPLEMENTED);
        assert_eq!(e.code, CODE);
        assert!(e.message.contains("rule validation"), "{}", e.message);
        assert!(e.message.contains("cortex.url"), "{}", e.message);
    }
}
