//! Gives the memory a burst of work freed back to the system (issue 13).
//!
//! glibc's malloc keeps freed pages in its per-thread arenas. A burst that allocates in
//! proportion to the store — a client listing every triple, a large batch, a catch-up — leaves
//! those pages resident after it is over, and each larger burst adds to them: an engine
//! answering a whole-store listing every minute grew from 19 to 65–86 MB in 30 minutes while
//! its live heap stayed near 10 MB. The parts that do such work [`Trimmer::note`] their bytes;
//! once [`TRIM_AFTER_BYTES`] have built up, [`run`] waits for the burst to settle and asks the
//! allocator to return its free pages (`malloc_trim`). Nothing runs while the engine is idle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

/// Bytes of burst work (an estimate of what was allocated and freed) that make a trim due.
pub const TRIM_AFTER_BYTES: u64 = 4 * 1024 * 1024;
/// How long a due trim waits for the burst to end (responses sent, buffers freed).
pub const SETTLE: Duration = Duration::from_secs(1);
/// A rough size of one triple while it is listed, stored or synced (row, JSON, wire form).
pub const BYTES_PER_TRIPLE: u64 = 512;

/// Counts burst work and wakes [`run`] when a trim is due.
#[derive(Debug, Default)]
pub struct Trimmer {
    pending: AtomicU64,
    due: Notify,
    trims: AtomicU64,
}

impl Trimmer {
    /// Records `bytes` of burst work; a trim becomes due past [`TRIM_AFTER_BYTES`].
    pub fn note(&self, bytes: u64) {
        let before = self.pending.fetch_add(bytes, Ordering::Relaxed);
        if before < TRIM_AFTER_BYTES && before.saturating_add(bytes) >= TRIM_AFTER_BYTES {
            self.due.notify_one();
        }
    }

    /// Records `n` triples of burst work.
    pub fn note_triples(&self, n: usize) {
        self.note((n as u64).saturating_mul(BYTES_PER_TRIPLE));
    }

    /// Trims done so far.
    pub fn trims(&self) -> u64 {
        self.trims.load(Ordering::Relaxed)
    }
}

/// Trims after each burst until `stop` turns true.
pub async fn run(trimmer: Arc<Trimmer>, stop: watch::Receiver<bool>) {
    run_with(trimmer, stop, SETTLE).await;
}

/// [`run`] with another settle time.
async fn run_with(trimmer: Arc<Trimmer>, mut stop: watch::Receiver<bool>, settle: Duration) {
    loop {
        tokio::select! {
            _ = trimmer.due.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(settle) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        trimmer.pending.store(0, Ordering::Relaxed);
        let released = tokio::task::spawn_blocking(release_free_pages).await;
        trimmer.trims.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(?released, "returned free allocator pages after a burst");
    }
}

/// Asks the allocator to return its free pages; whether it released any.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_pages() -> bool {
    // SAFETY: malloc_trim takes no pointers and is thread-safe; 0 keeps no extra padding.
    #[allow(unsafe_code)]
    let released = unsafe { libc::malloc_trim(0) };
    released == 1
}

/// Other allocators return free pages on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_pages() -> bool {
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TEST_SETTLE: Duration = Duration::from_millis(20);

    async fn wait_for_trims(trimmer: &Trimmer, n: u64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while trimmer.trims() < n {
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    #[tokio::test]
    async fn a_trim_runs_once_per_burst_and_never_for_small_work() {
        let trimmer = Arc::new(Trimmer::default());
        let (stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(run_with(Arc::clone(&trimmer), stop, TEST_SETTLE));
        // Small work stays under the threshold: nothing is due.
        trimmer.note_triples(100);
        tokio::time::sleep(TEST_SETTLE * 10).await;
        assert_eq!(trimmer.trims(), 0);
        // A burst past it trims once, after the settle time; the count starts again.
        trimmer.note_triples(10_000);
        trimmer.note(TRIM_AFTER_BYTES);
        assert!(wait_for_trims(&trimmer, 1).await, "no trim after a burst");
        tokio::time::sleep(TEST_SETTLE * 10).await;
        assert_eq!(trimmer.trims(), 1, "one trim per burst");
        // The next burst trims again.
        trimmer.note(TRIM_AFTER_BYTES);
        assert!(
            wait_for_trims(&trimmer, 2).await,
            "no trim after the second burst"
        );
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
