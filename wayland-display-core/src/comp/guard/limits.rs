//! What one client may hold, and what it holds now.

use std::sync::atomic::{AtomicU32, Ordering};

/// Per-client limits enforced in the request handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HandlerLimits {
    /// `wl_surface`s alive at once. Smithay's surface bookkeeping makes tearing down `n`
    /// surfaces cost `n²` (a list scan per surface), so this also bounds how long a
    /// disconnect can stall the compositor.
    pub(crate) max_surfaces: u32,
    /// Shared-memory pools and buffers alive at once. Each pool is one mapping in the
    /// compositor, kept while the pool or any buffer from it lives; the kernel allows a
    /// process about 65 000 mappings in all (`vm.max_map_count`).
    pub(crate) max_shm_mappings: u32,
    /// The size of one shared-memory pool, in bytes.
    pub(crate) max_shm_pool_bytes: u64,
}

impl Default for HandlerLimits {
    fn default() -> Self {
        Self {
            // Toolkits use a handful of surfaces per window; browsers a few hundred.
            max_surfaces: 4096,
            // Clients keep two or three buffers per surface.
            max_shm_mappings: 1024,
            // Four 7680x4320 XRGB8888 buffers.
            max_shm_pool_bytes: 4 * 7680 * 4320 * 4,
        }
    }
}

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

/// What one client holds, against [`HandlerLimits`].
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
