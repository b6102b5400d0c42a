//! The roster of a sync group (DESIGN §4, §7.2): signed add/remove entries, replicated among
//! members. "Paired" means "in the roster". Trust starts at this device: an entry counts only
//! when it is signed by a member, and a removal is final.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What an entry does to its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RosterAction {
    /// The node joins the group.
    Add,
    /// The node is unpaired; members refuse it from then on.
    Remove,
}

/// One signed statement about a node's membership.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    /// The node the entry is about.
    pub node_id: String,
    /// Add or remove.
    pub action: RosterAction,
    /// The member that signed it.
    pub by: String,
    /// When it was signed (unix ms, signer's clock; informational).
    pub at_ms: u64,
    /// Ed25519 signature by `by` over the canonical bytes, 128 hex digits.
    pub signature: String,
}

fn canonical(node_id: &str, action: RosterAction, by: &str, at_ms: u64) -> Vec<u8> {
    let action = match action {
        RosterAction::Add => "add",
        RosterAction::Remove => "remove",
    };
    format!("mayros-roster/1\n{node_id}\n{action}\n{by}\n{at_ms}").into_bytes()
}

fn verifying_key(node_id: &str) -> Option<VerifyingKey> {
    let mut bytes = [0u8; 32];
    (node_id.len() == 64).then_some(())?;
    hex::decode_to_slice(node_id, &mut bytes).ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Whether `node_id` is 64 lowercase hex digits of a valid Ed25519 key.
pub fn is_valid_node_id(node_id: &str) -> bool {
    node_id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && verifying_key(node_id).is_some()
}

impl RosterEntry {
    /// Signs an entry about `node_id` with the signer's key.
    pub fn sign(
        node_id: &str,
        action: RosterAction,
        at_ms: u64,
        signer: &SigningKey,
    ) -> RosterEntry {
        let by = hex::encode(signer.verifying_key().to_bytes());
        let sig = signer.sign(&canonical(node_id, action, &by, at_ms));
        RosterEntry {
            node_id: node_id.to_string(),
            action,
            by,
            at_ms,
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Checks the signature against the signer's node id.
    pub fn verify(&self) -> Result<(), Error> {
        let bad = |reason| Error::InvalidRosterEntry {
            node_id: self.node_id.chars().take(64).collect(),
            reason,
        };
        if !is_valid_node_id(&self.node_id) {
            return Err(bad(
                "node id is not 64 lowercase hex digits of an Ed25519 key",
            ));
        }
        let key = verifying_key(&self.by).ok_or_else(|| bad("signer is not a valid node id"))?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut sig)
            .map_err(|_| bad("signature is not 128 hex digits"))?;
        key.verify(
            &canonical(&self.node_id, self.action, &self.by, self.at_ms),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| bad("signature does not verify"))
    }
}

/// The membership view of one device.
///
/// Membership is derived from the entries once per change (in [`Roster::merge`]), not on every
/// lookup: [`Roster::is_member`] sits on the path of every authenticated peer request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    own: String,
    entries: BTreeSet<RosterEntry>,
    members: BTreeMap<String, u64>,
}

impl Roster {
    /// An empty roster for the device `own_node_id` (not in any group yet).
    pub fn new(own_node_id: &str) -> Roster {
        Roster {
            own: own_node_id.to_string(),
            entries: BTreeSet::new(),
            members: BTreeMap::new(),
        }
    }

    /// Adds verified entries; returns the ones that were new. Invalid entries are reported, not kept.
    pub fn merge<I: IntoIterator<Item = RosterEntry>>(
        &mut self,
        entries: I,
    ) -> (Vec<RosterEntry>, Vec<Error>) {
        let mut added = Vec::new();
        let mut errors = Vec::new();
        for e in entries {
            // Entries held were verified when they came: the driver hands the whole roster back
            // every few seconds, and a signature check costs more than the lookup.
            if self.entries.contains(&e) {
                continue;
            }
            match e.verify() {
                Ok(()) => {
                    if self.entries.insert(e.clone()) {
                        added.push(e);
                    }
                }
                Err(err) => errors.push(err),
            }
        }
        if !added.is_empty() {
            self.members = self.derive_members();
        }
        (added, errors)
    }

    /// Every stored entry (to replicate to other members).
    pub fn entries(&self) -> impl Iterator<Item = &RosterEntry> {
        self.entries.iter()
    }

    /// Nodes removed by a trusted signer; final.
    pub fn removed(&self) -> BTreeSet<String> {
        let trusted = self.trusted_signers();
        self.entries
            .iter()
            .filter(|e| e.action == RosterAction::Remove && trusted.contains(&e.by))
            .map(|e| e.node_id.clone())
            .collect()
    }

    /// Signers whose entries count: this device, and every node added by a counted signer.
    fn trusted_signers(&self) -> BTreeSet<String> {
        let mut trusted = BTreeSet::from([self.own.clone()]);
        loop {
            let before = trusted.len();
            for e in &self.entries {
                if e.action == RosterAction::Add && trusted.contains(&e.by) {
                    trusted.insert(e.node_id.clone());
                }
            }
            if trusted.len() == before {
                return trusted;
            }
        }
    }

    /// Other devices in the group, with when they were first added.
    pub fn members(&self) -> BTreeMap<String, u64> {
        self.members.clone()
    }

    fn derive_members(&self) -> BTreeMap<String, u64> {
        let removed = self.removed();
        let trusted = self.trusted_signers();
        let mut out = BTreeMap::new();
        for e in &self.entries {
            if e.action == RosterAction::Add
                && trusted.contains(&e.by)
                && e.node_id != self.own
                && !removed.contains(&e.node_id)
            {
                let at = out.entry(e.node_id.clone()).or_insert(e.at_ms);
                *at = (*at).min(e.at_ms);
            }
        }
        out
    }

    /// Whether `node_id` is a current member (never true for this device itself).
    pub fn is_member(&self, node_id: &str) -> bool {
        self.members.contains_key(node_id)
    }

    /// Whether this device belongs to a group (its roster names another member).
    pub fn in_group(&self) -> bool {
        !self.members.is_empty()
    }
}

/// Body of a roster exchange over the peer API (`POST /api/v1/sync/roster`), both ways.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterExchange {
    /// Every roster entry the sender holds.
    pub entries: Vec<RosterEntry>,
    /// The sender's device name.
    pub name: String,
    /// The sender's peer API endpoint (host:port), when it serves one.
    pub endpoint: Option<String>,
    /// The sender's QUIC port (native mode), on the same host as `endpoint`.
    #[serde(default)]
    pub quic_port: Option<u16>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn id(n: u8) -> String {
        hex::encode(key(n).verifying_key().to_bytes())
    }

    #[test]
    fn signed_entries_verify_and_tampering_fails() {
        let e = RosterEntry::sign(&id(2), RosterAction::Add, 5, &key(1));
        e.verify().unwrap();
        for tampered in [
            RosterEntry {
                at_ms: 6,
                ..e.clone()
            },
            RosterEntry {
                action: RosterAction::Remove,
                ..e.clone()
            },
            RosterEntry {
                node_id: id(3),
                ..e.clone()
            },
            RosterEntry {
                by: id(3),
                ..e.clone()
            },
            RosterEntry {
                signature: "00".repeat(64),
                ..e.clone()
            },
            RosterEntry {
                signature: "zz".into(),
                ..e.clone()
            },
            RosterEntry {
                node_id: "x".into(),
                ..e.clone()
            },
        ] {
            assert!(tampered.verify().is_err(), "{tampered:?}");
        }
    }

    #[test]
    fn membership_flows_from_this_device() {
        let mut r = Roster::new(&id(1));
        assert!(!r.in_group());
        // B adds C, but B is not trusted yet: C is not a member.
        r.merge([RosterEntry::sign(&id(3), RosterAction::Add, 1, &key(2))]);
        assert!(!r.is_member(&id(3)));
        // We add B: now B's entry about C counts too.
        r.merge([RosterEntry::sign(&id(2), RosterAction::Add, 2, &key(1))]);
        assert!(r.is_member(&id(2)));
        assert!(r.is_member(&id(3)));
        assert!(!r.is_member(&id(1)), "this device is not its own peer");
        assert!(r.in_group());
    }

    #[test]
    fn removal_is_final_and_replicates() {
        let mut r = Roster::new(&id(1));
        // Pairing: each side signs the other in.
        r.merge([
            RosterEntry::sign(&id(2), RosterAction::Add, 1, &key(1)),
            RosterEntry::sign(&id(1), RosterAction::Add, 1, &key(2)),
            RosterEntry::sign(&id(3), RosterAction::Add, 1, &key(1)),
        ]);
        r.merge([RosterEntry::sign(&id(3), RosterAction::Remove, 2, &key(2))]);
        assert!(!r.is_member(&id(3)));
        let (added, _) = r.merge([RosterEntry::sign(&id(3), RosterAction::Add, 3, &key(2))]);
        assert_eq!(added.len(), 1);
        assert!(!r.is_member(&id(3)), "nobody re-adds a removed device");
        let mut other = Roster::new(&id(2));
        other.merge(r.entries().cloned());
        assert!(other.is_member(&id(1)));
        assert!(!other.is_member(&id(3)));
    }

    #[test]
    fn invalid_entries_are_reported_not_kept() {
        let mut r = Roster::new(&id(1));
        let mut bad = RosterEntry::sign(&id(2), RosterAction::Add, 1, &key(1));
        bad.at_ms = 99;
        let (added, errors) = r.merge([bad]);
        assert!(added.is_empty());
        assert!(errors[0].to_string().contains("does not verify"));
        assert_eq!(r.entries().count(), 0);
    }
}
