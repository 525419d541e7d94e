//! How much input may wait for the compositor thread. Input shares the command channel
//! with frame requests: unbounded, a flood would queue in front of every frame (and grow
//! without limit while the thread falls behind). A sender waits, bounded, while the thread
//! still has [`MAX_PENDING`] events to handle, so a flood backs up to whoever sends it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Events sent and not yet handled: far more than a frame's worth of real input, few
/// enough that handling them all delays a frame by little.
pub(crate) const MAX_PENDING: usize = 256;

#[derive(Default)]
struct Count {
    pending: usize,
    /// A sender waited its whole time for room: the thread is stuck. Later senders fail
    /// at once instead of each waiting as long, until the thread handles an event.
    stalled: bool,
    /// The thread has ended: nobody will make room, and senders learn it from the channel.
    closed: bool,
}

#[derive(Default)]
pub(crate) struct InputGate {
    count: Mutex<Count>,
    room: Condvar,
}

impl InputGate {
    fn lock(&self) -> MutexGuard<'_, Count> {
        self.count.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for one event, waiting at most `wait` for one (not at all while the
    /// thread is stalled); false if none came.
    pub(crate) fn enter(&self, wait: Duration) -> bool {
        let count = self.lock();
        let wait = if count.stalled { Duration::ZERO } else { wait };
        let (mut count, _) = self
            .room
            .wait_timeout_while(count, wait, |c| !c.closed && c.pending >= MAX_PENDING)
            .unwrap_or_else(|p| p.into_inner());
        if count.closed {
            return true;
        }
        if count.pending >= MAX_PENDING {
            count.stalled = true;
            return false;
        }
        count.pending = count.pending.saturating_add(1);
        true
    }

    /// One event was handled (or never sent).
    pub(crate) fn leave(&self) {
        let mut count = self.lock();
        count.pending = count.pending.saturating_sub(1);
        count.stalled = false;
        self.room.notify_one();
    }

    /// The thread has ended: senders stop waiting.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn senders_wait_for_room_a_bounded_time_once_and_not_at_all_once_closed() {
        let gate = Arc::new(InputGate::default());
        for _ in 0..MAX_PENDING {
            assert!(gate.enter(Duration::ZERO));
        }
        // Room made while a sender waits lets it in.
        let handler = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                gate.leave();
            })
        };
        assert!(gate.enter(Duration::from_secs(5)));
        handler.join().unwrap();
        // No room: the sender gives up after its wait, and the next one does not wait
        // its time again.
        assert!(!gate.enter(Duration::from_millis(20)));
        let asked = std::time::Instant::now();
        assert!(!gate.enter(Duration::from_secs(60)));
        assert!(asked.elapsed() < Duration::from_secs(30));
        // The thread handled one: room again.
        gate.leave();
        assert!(gate.enter(Duration::ZERO));
        gate.close();
        assert!(gate.enter(Duration::from_secs(60)));
    }
}
