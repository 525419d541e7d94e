//! Input waiting in a worker between its stdin and the pipeline. The host writes no more
//! than [`INPUT_WINDOW`] events before the worker says it took some, so the queue never
//! needs to block the stdin reader: control messages behind the input are read at once.

use std::sync::{Mutex, MutexGuard};

use waylanddisplaycore::InputEvent;

use super::protocol::INPUT_WINDOW;
use crate::input_queue::{Full, Pending};

/// Events handed to the pipeline at once, between looks at the control messages.
const BATCH: usize = 256;

pub(crate) struct Inbox {
    pending: Mutex<Pending>,
}

impl Inbox {
    pub(crate) fn new() -> Self {
        Self {
            pending: Mutex::new(Pending::new(INPUT_WINDOW)),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues input from the host; `Ok(true)` when the queue was empty before (whoever
    /// takes from it may be asleep).
    pub(crate) fn push(&self, events: Vec<InputEvent>) -> Result<bool, Full> {
        let mut pending = self.pending();
        let was_empty = pending.is_empty();
        pending.push(events)?;
        Ok(was_empty)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending().is_empty()
    }

    /// The next batch, and how many of the events the host wrote it stands for.
    pub(crate) fn take(&self) -> (Vec<InputEvent>, u64) {
        self.pending().take(BATCH)
    }
}
