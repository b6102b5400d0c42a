//! Hands the allocator's free memory back to the system on a fixed period.
//!
//! Under a steady write load the engine's live heap stays small, but glibc keeps the pages it
//! freed in its arenas (one per busy thread: tokio workers and the blocking pool that runs
//! every store call), so RSS climbs long after the memory is free. `malloc_trim` releases the
//! free pages of every arena.

use std::time::Duration;

use tokio::sync::watch;

/// How often free allocator memory is returned to the system.
pub const TRIM_PERIOD: Duration = Duration::from_secs(30);

/// Returns the free pages of every allocator arena to the system (glibc only; a no-op elsewhere).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointers and only reorganises the allocator's free lists
    // under its own locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims every [`TRIM_PERIOD`] until `stop` changes (shutdown).
pub async fn run(mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TRIM_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // On a blocking thread: a trim walks every arena and may take a few ms.
                let _ = tokio::task::spawn_blocking(release_free_memory).await;
            }
            _ = stop.changed() => return,
        }
    }
}
