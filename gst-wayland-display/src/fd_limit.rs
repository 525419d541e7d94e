//! The open-file limit. A host holds a socket per API connection and pipes per worker; a
//! worker's compositor holds every client's connection and the fds they pass. The usual
//! soft limit (1024) is far below what the hard limit allows, so each process raises it at
//! start. Applications get back the soft limit the host started with: programs that use
//! `select()` break on descriptors above 1024.

use std::sync::OnceLock;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Carries the host's original soft limit to its workers (whose own is already raised).
pub(crate) const ORIGINAL_SOFT_ENV: &str = "GWD_ORIGINAL_NOFILE";

/// Linux's default `fs.nr_open`: the ceiling when the hard limit says "unlimited".
const UNLIMITED_CEILING: u64 = 1 << 20;

/// The soft limit before [`raise`], for the processes we start.
static ORIGINAL_SOFT: OnceLock<Option<u64>> = OnceLock::new();

/// Raises the soft limit to the hard limit, remembering the original.
pub(crate) fn raise() {
    let limit = getrlimit(Resource::Nofile);
    let inherited = std::env::var(ORIGINAL_SOFT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let original = inherited.or(limit.current);
    let _ = ORIGINAL_SOFT.set(original);
    let target = limit.maximum.unwrap_or(UNLIMITED_CEILING);
    // An unlimited soft limit (`None`) is already as high as it goes.
    if limit.current.is_none_or(|soft| soft >= target) {
        return;
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::debug!(from = ?limit.current, to = target, "raised the open-file limit"),
        Err(err) => {
            tracing::warn!(%err, "cannot raise the open-file limit; keeping {:?}", limit.current)
        }
    }
}

/// The soft limit now (`None`: unlimited).
pub(crate) fn current_soft() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// The soft limit this process started with (`None`: unlimited or not yet known).
pub(crate) fn original_soft() -> Option<u64> {
    ORIGINAL_SOFT.get().copied().flatten()
}

/// Puts the original soft limit back, in a child between fork and exec: only a
/// `getrlimit`/`setrlimit` pair, both async-signal-safe system calls.
pub(crate) fn restore_in_child() -> std::io::Result<()> {
    let Some(original) = original_soft() else {
        return Ok(());
    };
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.maximum.map_or(original, |hard| original.min(hard));
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: limit.maximum,
        },
    )
    .map_err(std::io::Error::from)
}
