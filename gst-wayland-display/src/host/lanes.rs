//! The two lanes from the API to a lobby's worker. Control (stop, screenshots) is a small
//! channel written ahead of any input; input is a bounded queue that folds waiting pointer
//! motion, refused whole when full, and written to the worker only as far as the worker has
//! room for it (it says how much it took), so neither the host nor the pipe between them
//! holds a backlog that a stop would have to wait behind.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::{Notify, Semaphore, mpsc};
use waylanddisplaycore::InputEvent;

use crate::input_queue::{Full, Pending};
use crate::lobby::protocol::{INPUT_WINDOW, ToWorker};

/// Events a lobby's input queue holds before requests are refused (429): a few seconds of
/// the busiest real input, folded.
pub(crate) const INPUT_QUEUE: usize = 4096;
/// Events written to the worker in one line at most.
const INPUT_BATCH: usize = 256;
/// Control messages waiting; a lobby has at most one stop and a few screenshots in flight.
const CONTROL_QUEUE: usize = 16;

/// The API's side: what it sends a lobby's worker through.
#[derive(Clone)]
pub(crate) struct WorkerLink {
    control: mpsc::Sender<ToWorker>,
    input: Arc<InputLane>,
}

/// The supervisor's side: what its feed task writes to the worker's stdin.
pub(crate) struct WorkerEnd {
    control: mpsc::Receiver<ToWorker>,
    pub(crate) input: Arc<InputLane>,
}

pub(crate) fn link() -> (WorkerLink, WorkerEnd) {
    let (control, receiver) = mpsc::channel(CONTROL_QUEUE);
    let input = Arc::new(InputLane::new());
    (
        WorkerLink {
            control,
            input: input.clone(),
        },
        WorkerEnd {
            control: receiver,
            input,
        },
    )
}

impl WorkerLink {
    /// Queues a control message; it is written before any input still waiting.
    pub(crate) fn control(&self, command: ToWorker) -> Result<(), String> {
        self.control.try_send(command).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => {
                format!("{CONTROL_QUEUE} control requests are already waiting; retry later")
            }
            mpsc::error::TrySendError::Closed(_) => "the worker is gone".to_owned(),
        })
    }

    pub(crate) fn input(&self) -> Arc<InputLane> {
        self.input.clone()
    }
}

pub(crate) struct InputLane {
    pending: Mutex<Pending>,
    ready: Notify,
    /// Room in the worker: events it may still be sent before it says it took some.
    credit: Semaphore,
}

impl InputLane {
    fn new() -> Self {
        Self {
            pending: Mutex::new(Pending::new(INPUT_QUEUE)),
            ready: Notify::new(),
            credit: Semaphore::new(INPUT_WINDOW),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues all of `events` or, when the queue has no room for them, none.
    pub(crate) fn push(&self, events: Vec<InputEvent>) -> Result<(), Full> {
        self.pending().push(events)?;
        self.ready.notify_one();
        Ok(())
    }

    /// The worker took `events` of those written to it: room for as many again. Never more
    /// than the window, whatever a confused worker says.
    pub(crate) fn taken(&self, events: u64) {
        let in_flight = INPUT_WINDOW.saturating_sub(self.credit.available_permits());
        let freed = usize::try_from(events).unwrap_or(usize::MAX).min(in_flight);
        self.credit.add_permits(freed);
    }

    /// The next events to write, once some wait and the worker has room; their room is
    /// taken. Cancelling it (a control message came first) loses nothing.
    async fn next_batch(&self) -> Vec<InputEvent> {
        loop {
            let ready = self.ready.notified();
            if !self.pending().is_empty() {
                break;
            }
            ready.await;
        }
        let Ok(permit) = self.credit.acquire().await else {
            // Never closed; an empty batch is not written.
            return Vec::new();
        };
        permit.forget();
        // The feed is the only one taking room, so what is available stays available.
        let room = self.credit.available_permits().saturating_add(1);
        let (events, _) = self.pending().take(room.min(INPUT_BATCH));
        match events.len().checked_sub(1) {
            Some(more) => {
                self.credit.forget_permits(more);
            }
            None => self.credit.add_permits(1),
        }
        events
    }
}

/// The spec first, then control messages ahead of input, one JSON line each, until the
/// control lane closes (the lobby ended): dropping stdin then tells the worker nobody will
/// talk to it again.
pub(crate) async fn feed(mut stdin: ChildStdin, spec: String, end: WorkerEnd) {
    let WorkerEnd { mut control, input } = end;
    if write_line(&mut stdin, spec).await.is_err() {
        return;
    }
    loop {
        let command = tokio::select! {
            biased;
            command = control.recv() => match command {
                Some(command) => command,
                None => return,
            },
            events = input.next_batch() => {
                if events.is_empty() {
                    continue;
                }
                ToWorker::Input { events }
            }
        };
        let Ok(line) = serde_json::to_string(&command) else {
            continue;
        };
        if write_line(&mut stdin, line).await.is_err() {
            return;
        }
    }
}

async fn write_line(stdin: &mut ChildStdin, mut line: String) -> std::io::Result<()> {
    line.push('\n');
    stdin.write_all(line.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pressed: bool) -> InputEvent {
        InputEvent::KeyboardKey { key: 30, pressed }
    }

    #[tokio::test]
    async fn input_is_written_only_as_far_as_the_worker_has_room() {
        let (link, end) = link();
        let lane = link.input();
        let events: Vec<InputEvent> = (0..INPUT_WINDOW + 10).map(|i| key(i % 2 == 0)).collect();
        lane.push(events).unwrap();
        let mut written = 0;
        while written < INPUT_WINDOW {
            let batch = end.input.next_batch().await;
            assert!(!batch.is_empty() && batch.len() <= INPUT_BATCH);
            written += batch.len();
        }
        assert_eq!(written, INPUT_WINDOW);
        // No room: nothing more until the worker says it took some.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), end.input.next_batch());
        assert!(waiting.await.is_err());
        lane.taken(4);
        assert_eq!(end.input.next_batch().await.len(), 4);
        // A worker claiming more than it was sent frees no more than the window.
        lane.taken(u64::MAX);
        assert_eq!(lane.credit.available_permits(), INPUT_WINDOW);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_control_still_goes() {
        let (link, mut end) = link();
        let lane = link.input();
        let full: Vec<InputEvent> = (0..INPUT_QUEUE).map(|i| key(i % 2 == 0)).collect();
        lane.push(full).unwrap();
        assert_eq!(
            lane.push(vec![key(true)]),
            Err(Full {
                capacity: INPUT_QUEUE
            })
        );
        link.control(ToWorker::Stop).unwrap();
        assert_eq!(end.control.recv().await, Some(ToWorker::Stop));
    }
}
