//! What one client may hold, and what it holds now.

use std::sync::atomic::{AtomicU32, Ordering};

/// A count of something a client holds, kept in its client data.
#[derive(Debug, Default)]
pub(crate) struct Count(AtomicU32);

impl Count {
    /// Takes one more if fewer than `limit` are held; `false` at the limit.
    pub(crate) fn try_take(&self, limit: u32) -> bool {
        // Only the compositor thread touches it; the atomic is for `ClientData: Sync`.
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < limit).then(|| n.saturating_add(1))
            })
            .is_ok()
    }

    pub(crate) fn release(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    #[cfg(test)]
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What one client holds, against its [`ClientLimits`](crate::ClientLimits).
#[derive(Debug, Default)]
pub(crate) struct ClientCounts {
    pub(crate) surfaces: Count,
    pub(crate) shm_mappings: Count,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_stops_at_its_limit_and_frees_a_place_on_release() {
        let count = Count::default();
        assert!(count.try_take(2));
        assert!(count.try_take(2));
        assert!(!count.try_take(2));
        assert_eq!(count.get(), 2);
        count.release();
        assert!(count.try_take(2));
        count.release();
        count.release();
        count.release();
        assert_eq!(count.get(), 0, "never below zero");
    }
}
