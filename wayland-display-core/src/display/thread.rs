//! The compositor thread as the handle sees it: spawning it, sending it commands, waiting
//! (bounded) for its replies and frames, and learning how it ended.

use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use smithay::reexports::calloop::channel;
use smithay::reexports::wayland_server::backend::ClientId;

use super::config::{OutputScale, Setup, Timeouts, VideoMode};
use super::event_loop::{self, Link};
use super::input_gate::InputGate;
use crate::comp::PictureChanged;
use crate::comp::schedule::FrameDue;
use crate::render::{Frame, OutputTarget, RenderError};
use crate::{DisplayError, InputEvent};

/// What the handle asks of the compositor thread; requests that answer carry the sender
/// of their reply.
pub(crate) enum Command {
    Frame,
    AddDevice(PathBuf, SyncSender<Result<(), String>>),
    SetMode(VideoMode, OutputTarget, SyncSender<Result<(), RenderError>>),
    SetScale(OutputScale, SyncSender<()>),
    Input(InputEvent),
    AddClient(UnixStream, SyncSender<Result<ClientId, String>>),
    PlaceWindow {
        client: ClientId,
        surface: u32,
        at: (i32, i32),
        reply: SyncSender<Result<(), String>>,
    },
    Sync(SyncSender<()>),
    Snapshot(SyncSender<Result<Frame, RenderError>>),
    ReadClipboard(
        Vec<String>,
        SyncSender<Result<crate::comp::ClipboardRead, crate::clipboard::ClipboardError>>,
    ),
    SetClipboard(crate::clipboard::ClipboardContent),
    Stop,
    #[cfg(test)]
    Panic,
}

/// What the thread reports once it serves.
pub(crate) struct Started {
    /// Why the renderer asked for had to be replaced by software, if it had.
    pub(crate) fell_back: Option<RenderError>,
    pub(crate) dmabuf_formats: Vec<(u32, Vec<u64>)>,
}

/// What the thread reports once it serves, or why it could not start.
pub(crate) type Ready = Result<Started, DisplayError>;

/// How the compositor thread ended, for the calls that come after.
#[derive(Clone, Debug)]
enum ThreadEnd {
    Running,
    Failed(String),
    Panicked(String),
}

pub(crate) struct CompositorThread {
    commands: channel::Sender<Command>,
    frames: Mutex<Receiver<Result<Frame, RenderError>>>,
    changed: PictureChanged,
    /// See `event_loop::Link::stale`.
    stale: PictureChanged,
    pub(crate) due: FrameDue,
    input: Arc<InputGate>,
    /// The last frame, handed out again while the picture has not changed; taken before a
    /// new frame is drawn so the image is free for the compositor to draw into.
    last: Mutex<Option<Frame>>,
    end: Arc<Mutex<ThreadEnd>>,
    /// Disconnects when the thread has finished, whatever the reason.
    exited: Mutex<Receiver<()>>,
    handle: Option<JoinHandle<()>>,
    pub(crate) timeouts: Timeouts,
}

impl CompositorThread {
    /// Starts the thread and waits (at most `timeouts.start`) until it serves.
    pub(crate) fn spawn(setup: Setup, timeouts: Timeouts) -> Result<(Self, Started), DisplayError> {
        let (commands, command_rx) = channel::channel();
        let (frame_tx, frames) = mpsc::sync_channel(2);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (exit_tx, exited) = mpsc::sync_channel::<()>(0);
        let end = Arc::new(Mutex::new(ThreadEnd::Running));
        let thread_end = end.clone();
        let changed = PictureChanged::new();
        let stale = PictureChanged::new();
        let due = FrameDue::default();
        let input = Arc::new(InputGate::default());
        let thread_input = input.clone();
        let link = Link {
            commands: command_rx,
            frames: frame_tx,
            changed: changed.clone(),
            stale: stale.clone(),
            due: due.clone(),
            input: input.clone(),
        };
        // The compositor logs where its creator logs (the element routes this to GStreamer).
        let dispatch = tracing::dispatcher::get_default(Clone::clone);

        let handle = std::thread::Builder::new()
            .name("wl-compositor".to_owned())
            .spawn(move || {
                let _exit_signal = exit_tx;
                tracing::dispatcher::with_default(&dispatch, || {
                    let thread_changed = link.changed.clone();
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                        event_loop::run(setup, link, &ready_tx)
                    }));
                    let finished = match outcome {
                        Ok(Ok(())) => ThreadEnd::Failed("the compositor was stopped".to_owned()),
                        Ok(Err(err)) => {
                            tracing::error!(%err, "compositor failed");
                            let text = err.to_string();
                            let _ = ready_tx.try_send(Err(err));
                            ThreadEnd::Failed(text)
                        }
                        Err(payload) => {
                            let text = panic_text(payload.as_ref());
                            tracing::error!(panic = %text, "compositor thread panicked");
                            let _ = ready_tx.try_send(Err(DisplayError::Panicked(text.clone())));
                            ThreadEnd::Panicked(text)
                        }
                    };
                    if let Ok(mut end) = thread_end.lock() {
                        *end = finished;
                    }
                    thread_input.close();
                    // Callers must ask, and learn that it ended.
                    thread_changed.mark();
                });
            })
            .map_err(DisplayError::Spawn)?;

        let mut thread = Self {
            commands,
            frames: Mutex::new(frames),
            changed,
            stale,
            due,
            input,
            last: Mutex::new(None),
            end,
            exited: Mutex::new(exited),
            handle: Some(handle),
            timeouts,
        };
        let err = match ready_rx.recv_timeout(timeouts.start) {
            Ok(Ok(started)) => return Ok((thread, started)),
            Ok(Err(err)) => err,
            Err(RecvTimeoutError::Timeout) => DisplayError::StartTimeout(timeouts.start),
            Err(RecvTimeoutError::Disconnected) => thread.ended_error(),
        };
        thread.stop();
        Err(err)
    }

    pub(crate) fn send(&self, command: Command) -> Result<(), DisplayError> {
        self.commands.send(command).map_err(|_| self.ended_error())
    }

    /// Sends an input event once the thread has room for it (see [`InputGate`]), waiting
    /// at most `timeouts.reply`.
    pub(crate) fn send_input(&self, event: InputEvent) -> Result<(), DisplayError> {
        if !self.input.enter(self.timeouts.reply) {
            return Err(DisplayError::ReplyTimeout {
                request: "with room for more input",
                after: self.timeouts.reply,
            });
        }
        self.send(Command::Input(event))
            .inspect_err(|_| self.input.leave())
    }

    /// Sends a request and waits (at most `timeouts.reply`) for its answer.
    pub(crate) fn request<T>(
        &self,
        what: &'static str,
        command: impl FnOnce(SyncSender<T>) -> Command,
    ) -> Result<T, DisplayError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(command(reply))?;
        match answer.recv_timeout(self.timeouts.reply) {
            Ok(value) => Ok(value),
            Err(RecvTimeoutError::Timeout) => Err(DisplayError::ReplyTimeout {
                request: what,
                after: self.timeouts.reply,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(self.ended_error()),
        }
    }

    /// Says the picture may have changed (input may move the cursor, a window moved).
    pub(crate) fn picture_changed(&self) {
        self.changed.mark();
    }

    /// The current picture: the cached frame again while nothing changed, without waking
    /// the compositor thread; otherwise one drawn now.
    pub(crate) fn frame(&self) -> Result<Frame, DisplayError> {
        let poisoned = || DisplayError::Stopped("a frame request panicked earlier".to_owned());
        let mut last = self.last.lock().map_err(|_| poisoned())?;
        if !self.changed.is_marked()
            && !self.stale.is_marked()
            && let Some(frame) = last.as_ref()
        {
            let mut again = frame.clone();
            again.repeated = true;
            return Ok(again);
        }
        *last = None;
        let frames = self.frames.lock().map_err(|_| poisoned())?;
        // A reply that arrived after an earlier call gave up is stale.
        while frames.try_recv().is_ok() {}
        self.send(Command::Frame)?;
        match frames.recv_timeout(self.timeouts.frame) {
            Ok(Ok(frame)) => {
                *last = Some(frame.clone());
                Ok(frame)
            }
            Ok(Err(err)) => Err(err.into()),
            Err(RecvTimeoutError::Timeout) => Err(DisplayError::FrameTimeout(self.timeouts.frame)),
            Err(RecvTimeoutError::Disconnected) => Err(self.ended_error()),
        }
    }

    /// The error for calls made after the thread ended.
    pub(crate) fn ended_error(&self) -> DisplayError {
        // The thread records its end just before it exits; wait that moment out.
        if let Ok(exited) = self.exited.lock() {
            let _ = exited.recv_timeout(Duration::from_millis(500));
        }
        match self.end.lock().map(|e| e.clone()) {
            Ok(ThreadEnd::Panicked(text)) => DisplayError::Panicked(text),
            Ok(ThreadEnd::Failed(text)) => DisplayError::Stopped(text),
            Ok(ThreadEnd::Running) => {
                DisplayError::Stopped("the compositor is not answering".to_owned())
            }
            Err(_) => DisplayError::Stopped("the compositor's state is poisoned".to_owned()),
        }
    }

    /// Asks the thread to stop and joins it, giving up after the stop timeout.
    fn stop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        let _ = self.commands.send(Command::Stop);
        let exited = match self.exited.lock() {
            Ok(exited) => exited.recv_timeout(self.timeouts.stop),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        match exited {
            Err(RecvTimeoutError::Disconnected) | Ok(()) => {
                if handle.join().is_err() {
                    tracing::error!("compositor thread could not be joined");
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                // A thread cannot be killed; leave it and say so rather than hang our caller.
                tracing::error!(
                    timeout = ?self.timeouts.stop,
                    "compositor thread did not stop in time; leaving it behind"
                );
            }
        }
    }
}

impl Drop for CompositorThread {
    fn drop(&mut self) {
        self.stop();
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}
