//! Tombstone collection and the review queue, engine side (DESIGN §2.3).
//!
//! The rule is [`mayros_sync_proto::retention`]; the store applies it
//! ([`mayros_sync_store::Store::collect_tombstones`]). This module runs it at start and every
//! [`COLLECTION_INTERVAL`] with the engine's clock (so tests shift time through
//! [`crate::clock::Clock::set_offset_ms`]), and serves the review queue's accept and discard.

use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{Hlc, TripleId};
use mayros_sync_store::{CollectionReport, ReviewItem, WriteContext};
use serde::Serialize;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::Error;
use mayros_sync_proto::node_id::short_node_id as short;

/// How often tombstones are collected (also once at start).
pub const COLLECTION_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// The most review items one listing returns.
pub const REVIEW_LIST_LIMIT: usize = 10_000;

/// What a collection did, as `POST /api/v1/sync/maintenance/collect` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionView {
    /// Tombstones past the 24 h minimum that were considered.
    pub examined: usize,
    /// Tombstones collected.
    pub collected: usize,
    /// Of those, collected after `sync.tombstoneMaxRetentionDays` without every member's
    /// acknowledgement.
    pub collected_by_max_retention: usize,
    /// Members this run marked stale.
    pub marked_stale: Vec<String>,
    /// The newest stamp of any collected tombstone (16 hex digits), if any.
    pub horizon: Option<Hlc>,
    /// The lowest log position a peer's cursor may start after.
    pub oldest_retained_position: u64,
    /// Tombstones still held.
    pub remaining: u64,
}

impl From<CollectionReport> for CollectionView {
    fn from(r: CollectionReport) -> CollectionView {
        CollectionView {
            examined: r.examined,
            collected: r.collected,
            collected_by_max_retention: r.collected_by_max_retention,
            marked_stale: r.marked_stale,
            horizon: r.horizon,
            oldest_retained_position: r.oldest_retained_position,
            remaining: r.remaining,
        }
    }
}

/// One item of `GET /api/v1/sync/review` and `mayros sync review --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    /// The triple's id (64 hex digits): what accept and discard take.
    pub id: TripleId,
    /// Subject.
    pub subject: String,
    /// Predicate.
    pub predicate: String,
    /// Object, rendered as in the control API's conflict log.
    pub object: serde_json::Value,
    /// Node id of the device that asserted it.
    pub author: String,
    /// Its assert's stamp (16 hex digits).
    pub hlc: Hlc,
    /// The writer's creation time (RFC 3339).
    pub created_at: String,
    /// Node id of the peer that offered it.
    pub from_peer: String,
    /// When it was offered (RFC 3339).
    pub received_at: String,
}

impl From<&ReviewItem> for ReviewView {
    fn from(item: &ReviewItem) -> ReviewView {
        ReviewView {
            id: item.id,
            subject: item.triple.subject.clone(),
            predicate: item.triple.predicate.clone(),
            object: item.triple.object.to_json(false),
            author: item.author.clone(),
            hlc: item.hlc,
            created_at: item.created_at.clone(),
            from_peer: item.from_peer.clone(),
            received_at: format_rfc3339_ms(item.received_at_ms),
        }
    }
}

/// How a review decision ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// The decision was applied.
    Done,
    /// No item with this id is held.
    Unknown,
}

impl Engine {
    /// Collects tombstones now (DESIGN §2.3), with the engine's clock and
    /// `sync.tombstoneMaxRetentionDays`.
    pub async fn collect_tombstones(&self) -> Result<CollectionReport, Error> {
        let now = self.clock().now_ms();
        let max_ms = u64::try_from(
            self.config()
                .config
                .sync
                .tombstone_max_retention()
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        let report = self
            .with_store(move |s| s.collect_tombstones(now, max_ms))
            .await?;
        if report.collected > 0 {
            tracing::info!(
                collected = report.collected,
                by_max_retention = report.collected_by_max_retention,
                remaining = report.remaining,
                horizon = ?report.horizon,
                "collected tombstones"
            );
        }
        for node in &report.marked_stale {
            tracing::warn!(
                peer = %short(node),
                "peer marked stale: it had not acknowledged deletions collected after sync.tombstoneMaxRetentionDays; our next sync with it is a full comparison"
            );
        }
        Ok(report)
    }

    /// The items held for review, oldest offer first.
    pub async fn review_items(&self) -> Result<Vec<ReviewView>, Error> {
        let items = self
            .with_store(|s| s.review_items(REVIEW_LIST_LIMIT))
            .await?;
        Ok(items.iter().map(ReviewView::from).collect())
    }

    /// Accepts a held item: it becomes a local write, so it propagates.
    pub async fn accept_review(&self, id: TripleId) -> Result<ReviewOutcome, Error> {
        let ctx = self.local_write();
        match self.with_store(move |s| s.accept_review(&id, &ctx)).await {
            Ok(_) => Ok(ReviewOutcome::Done),
            Err(Error::Store(mayros_sync_store::Error::UnknownReviewItem { .. })) => {
                Ok(ReviewOutcome::Unknown)
            }
            Err(e) => Err(e),
        }
    }

    /// Discards a held item: it is dropped and tombstoned, so it is not offered again.
    pub async fn discard_review(&self, id: TripleId) -> Result<ReviewOutcome, Error> {
        let ctx = self.local_write();
        match self.with_store(move |s| s.discard_review(&id, &ctx)).await {
            Ok(_) => Ok(ReviewOutcome::Done),
            Err(Error::Store(mayros_sync_store::Error::UnknownReviewItem { .. })) => {
                Ok(ReviewOutcome::Unknown)
            }
            Err(e) => Err(e),
        }
    }

    fn local_write(&self) -> WriteContext {
        WriteContext {
            wall_ms: self.clock().now_ms(),
            author: self.identity().node_id.clone(),
        }
    }
}

/// Collects tombstones at start and every [`COLLECTION_INTERVAL`] until `stop` changes.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(COLLECTION_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = engine.collect_tombstones().await {
            tracing::error!(error = %e, "tombstone collection failed");
        }
    }
}
