//! [`WaylandDisplay`]: the handle to a running compositor. It owns the compositor thread
//! and the socket; every call returns a `Result`, and dropping it stops the thread within a
//! bounded time and removes the socket.

use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::{EventLoop, Interest, LoopHandle, Mode, PostAction, channel};
use smithay::reexports::wayland_server::Display;
use smithay::reexports::wayland_server::backend::{ClientId, DisconnectReason};

use crate::comp::{State, add_evdev_device, new_client_data, new_evdev_context};
use crate::device::{RenderChoice, RenderTarget, RendererKind};
use crate::render::{Frame, GlDevice, OutputFormat, OutputTarget, RenderBackend, RenderError};
use crate::socket::{self, SocketSpec, WaylandSocket};
use crate::{DisplayError, InputEvent};

/// Output size and refresh rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoMode {
    pub width: u32,
    pub height: u32,
    /// Refresh rate in millihertz (60 fps = 60000), as `wl_output` announces it.
    pub refresh_mhz: u32,
}

impl VideoMode {
    /// A mode from a frame rate given as a fraction, as GStreamer caps carry it.
    pub fn from_fps(width: u32, height: u32, fps_num: i32, fps_den: i32) -> Self {
        let refresh_mhz = if fps_num > 0 && fps_den > 0 {
            (i64::from(fps_num) * 1000 / i64::from(fps_den)).clamp(1, i64::from(u32::MAX)) as u32
        } else {
            0
        };
        Self {
            width,
            height,
            refresh_mhz,
        }
    }
}

impl Default for VideoMode {
    fn default() -> Self {
        Self {
            width: 1920,
            height: 1080,
            refresh_mhz: 60_000,
        }
    }
}

/// Bounds on how long the handle waits for the compositor thread.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub start: Duration,
    pub frame: Duration,
    pub stop: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            start: Duration::from_secs(10),
            frame: Duration::from_secs(5),
            stop: Duration::from_secs(5),
        }
    }
}

/// How to start a compositor.
#[derive(Clone, Debug, Default)]
pub struct DisplayConfig {
    pub socket: SocketSpec,
    pub render_target: RenderTarget,
    pub mode: VideoMode,
    pub format: OutputFormat,
    pub timeouts: Timeouts,
    /// Always composite, never copy the one client buffer covering the output (the
    /// pass-through path). For comparisons; the output is the same either way.
    pub compose_always: bool,
}

enum Command {
    Frame,
    AddDevice(PathBuf, SyncSender<Result<(), String>>),
    SetMode(VideoMode, OutputTarget, SyncSender<Result<(), RenderError>>),
    Input(InputEvent),
    AddClient(UnixStream, SyncSender<Result<ClientId, String>>),
    PlaceWindow {
        client: ClientId,
        surface: u32,
        at: (i32, i32),
        reply: SyncSender<Result<(), String>>,
    },
    Sync(SyncSender<()>),
    Stop,
    #[cfg(test)]
    Panic,
}

/// A running headless compositor.
pub struct WaylandDisplay {
    // Declared first so it drops first: the thread stops before its socket goes away.
    thread: CompositorThread,
    socket: WaylandSocket,
    render: RenderChoice,
    dmabuf_formats: Vec<(u32, Vec<u64>)>,
}

impl std::fmt::Debug for WaylandDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaylandDisplay")
            .field("socket", &self.socket.display_name())
            .field("render", &self.render.renderer)
            .finish()
    }
}

impl WaylandDisplay {
    /// Binds the socket and starts the compositor. When this returns `Ok`, clients can
    /// connect to [`socket_name`](Self::socket_name).
    pub fn new(config: DisplayConfig) -> Result<Self, DisplayError> {
        let render = config.render_target.resolve()?;
        let backend = backend_for(&render);
        Self::start(config, render, backend)
    }

    fn start(
        config: DisplayConfig,
        render: RenderChoice,
        backend: RenderBackend,
    ) -> Result<Self, DisplayError> {
        let socket = socket::allocate(&config.socket)?;
        let listener = socket.listener().try_clone().map_err(|err| {
            DisplayError::Setup(format!("could not duplicate the listener: {err}"))
        })?;
        // On any error below, `socket` drops and takes its files with it.
        let fallback = config.render_target == RenderTarget::Auto;
        let (thread, started) = CompositorThread::spawn(
            listener,
            backend,
            fallback,
            config.mode,
            config.format,
            !config.compose_always,
            config.timeouts,
        )?;
        let render = match started.fell_back {
            None => render,
            Some(err) => RenderChoice {
                renderer: RendererKind::Software,
                node: None,
                device: None,
                reason: format!(
                    "{}; but GLES failed there ({err}), so rendering in software",
                    render.reason
                ),
                fallback: true,
            },
        };
        tracing::info!(
            socket = socket.display_name(),
            renderer = %render.renderer,
            reason = %render.reason,
            "compositor started"
        );
        Ok(Self {
            thread,
            socket,
            render,
            dmabuf_formats: started.dmabuf_formats,
        })
    }

    /// The value clients need in `WAYLAND_DISPLAY`.
    pub fn socket_name(&self) -> &str {
        self.socket.display_name()
    }

    pub fn socket_path(&self) -> &Path {
        self.socket.socket_path()
    }

    /// The directory clients need in `XDG_RUNTIME_DIR`.
    pub fn runtime_dir(&self) -> &Path {
        self.socket.runtime_dir()
    }

    /// What renders, and why.
    pub fn render_choice(&self) -> &RenderChoice {
        &self.render
    }

    /// The current picture; the previous frame again, unchanged, if nothing changed.
    pub fn frame(&self) -> Result<Frame, DisplayError> {
        self.thread.frame()
    }

    /// Changes the output size, refresh rate or what frames are made of; clients are
    /// reconfigured.
    pub fn set_mode(
        &self,
        mode: VideoMode,
        target: impl Into<OutputTarget>,
    ) -> Result<(), DisplayError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.thread
            .send(Command::SetMode(mode, target.into(), reply))?;
        let result = self.thread.wait_reply(&answer)?.map_err(DisplayError::from);
        // The compositor flags the change only after its reply: make sure the next frame
        // is not the old-sized one again.
        self.thread.forget_last();
        result
    }

    /// The (DRM fourcc, modifiers) in which frames can be DMABufs; empty when the renderer
    /// cannot export them (software rendering, llvmpipe).
    pub fn dmabuf_formats(&self) -> &[(u32, Vec<u64>)] {
        &self.dmabuf_formats
    }

    pub fn input(&self, event: InputEvent) -> Result<(), DisplayError> {
        // The next frame goes through the compositor, after this event (the cursor may move).
        self.thread.changed.store(true, Ordering::Release);
        self.thread.send(Command::Input(event))
    }

    /// Serves a client over a socket the caller already connected (one end of a
    /// `socketpair`, as a launcher that hands the app its fd does), besides those connecting
    /// to [`socket_name`](Self::socket_name).
    pub fn add_client(&self, stream: UnixStream) -> Result<ClientHandle, DisplayError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.thread.send(Command::AddClient(stream, reply))?;
        self.thread
            .wait_reply(&answer)?
            .map(ClientHandle)
            .map_err(DisplayError::Client)
    }

    /// Moves the toplevel whose `wl_surface` is object `surface` of `client` so its top
    /// left corner is at (`x`, `y`) on the output. Windows are placed at the origin when
    /// they appear; this is for callers that arrange several themselves.
    pub fn place_window(
        &self,
        client: &ClientHandle,
        surface: u32,
        x: i32,
        y: i32,
    ) -> Result<(), DisplayError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.thread.changed.store(true, Ordering::Release);
        self.thread.send(Command::PlaceWindow {
            client: client.0.clone(),
            surface,
            at: (x, y),
            reply,
        })?;
        self.thread
            .wait_reply(&answer)?
            .map_err(DisplayError::NoWindow)
    }

    /// Returns once the compositor has handled everything sent before (input, moves), so
    /// that a client asking afterwards sees its effects.
    pub fn sync(&self) -> Result<(), DisplayError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.thread.send(Command::Sync(reply))?;
        self.thread.wait_reply(&answer)
    }

    /// Reads input from an evdev device (e.g. `/dev/input/event7`) from now on.
    pub fn add_input_device(&self, path: impl Into<PathBuf>) -> Result<(), DisplayError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.thread.send(Command::AddDevice(path.into(), reply))?;
        match answer.recv_timeout(self.thread.timeouts.frame) {
            Ok(result) => result.map_err(DisplayError::InputDevice),
            Err(RecvTimeoutError::Timeout) => {
                Err(DisplayError::FrameTimeout(self.thread.timeouts.frame))
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.thread.ended_error()),
        }
    }

    #[cfg(test)]
    fn inject_panic(&self) -> Result<(), DisplayError> {
        self.thread.send(Command::Panic)
    }
}

/// A client given to [`WaylandDisplay::add_client`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHandle(ClientId);

/// The renderer that realises a device choice.
fn backend_for(choice: &RenderChoice) -> RenderBackend {
    match (&choice.renderer, &choice.node) {
        (RendererKind::Gpu, Some(node)) => RenderBackend::Gles(GlDevice::Node(node.clone())),
        (RendererKind::SoftwareGl, _) => RenderBackend::Gles(GlDevice::Software),
        (RendererKind::Software | RendererKind::Gpu, _) => RenderBackend::Pixman,
    }
}

/// How the compositor thread ended, for the calls that come after.
#[derive(Clone, Debug)]
enum ThreadEnd {
    Running,
    Failed(String),
    Panicked(String),
}

struct CompositorThread {
    commands: channel::Sender<Command>,
    frames: Mutex<Receiver<Result<Frame, RenderError>>>,
    /// Set whenever the picture may have changed since the last frame (by the compositor
    /// after each dispatch, by callers sending input, and when the thread ends); while it
    /// is clear, frames are `last` again without waking the compositor thread.
    changed: Arc<AtomicBool>,
    /// The last frame, while nothing changed; taken before a new frame is drawn so the
    /// image is free for the compositor to draw into.
    last: Mutex<Option<Frame>>,
    end: Arc<Mutex<ThreadEnd>>,
    /// Disconnects when the thread has finished, whatever the reason.
    exited: Mutex<Receiver<()>>,
    handle: Option<JoinHandle<()>>,
    timeouts: Timeouts,
}

impl CompositorThread {
    fn spawn(
        listener: UnixListener,
        backend: RenderBackend,
        fallback: bool,
        mode: VideoMode,
        format: OutputFormat,
        passthrough: bool,
        timeouts: Timeouts,
    ) -> Result<(Self, Started), DisplayError> {
        let (commands, command_rx) = channel::channel();
        let (frame_tx, frames) = mpsc::sync_channel(2);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (exit_tx, exited) = mpsc::sync_channel::<()>(0);
        let end = Arc::new(Mutex::new(ThreadEnd::Running));
        let thread_end = end.clone();
        let changed = Arc::new(AtomicBool::new(true));
        let thread_changed = changed.clone();
        // The compositor logs where its creator logs (the element routes this to GStreamer).
        let dispatch = tracing::dispatcher::get_default(Clone::clone);

        let handle = std::thread::Builder::new()
            .name("wl-compositor".to_owned())
            .spawn(move || {
                let _exit_signal = exit_tx;
                tracing::dispatcher::with_default(&dispatch, || {
                    let setup = Setup {
                        listener,
                        backend,
                        fallback,
                        mode,
                        format,
                        passthrough,
                        changed: thread_changed.clone(),
                        commands: command_rx,
                        frames: frame_tx,
                    };
                    let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(setup, &ready_tx)));
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
                    // Callers must ask, and learn that it ended.
                    thread_changed.store(true, Ordering::Release);
                });
            })
            .map_err(DisplayError::Spawn)?;

        let mut thread = Self {
            commands,
            frames: Mutex::new(frames),
            changed,
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

    fn send(&self, command: Command) -> Result<(), DisplayError> {
        self.commands.send(command).map_err(|_| self.ended_error())
    }

    /// The answer to a command, waiting as long as for a frame.
    fn wait_reply<T>(&self, answer: &Receiver<T>) -> Result<T, DisplayError> {
        match answer.recv_timeout(self.timeouts.frame) {
            Ok(value) => Ok(value),
            Err(RecvTimeoutError::Timeout) => Err(DisplayError::FrameTimeout(self.timeouts.frame)),
            Err(RecvTimeoutError::Disconnected) => Err(self.ended_error()),
        }
    }

    fn forget_last(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = None;
        }
    }

    fn frame(&self) -> Result<Frame, DisplayError> {
        let poisoned = || DisplayError::Stopped("a frame request panicked earlier".to_owned());
        let mut last = self.last.lock().map_err(|_| poisoned())?;
        // Acquire/Release: a change flagged before this load is seen here.
        if !self.changed.load(Ordering::Acquire)
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
    fn ended_error(&self) -> DisplayError {
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

/// What the thread reports once it serves, or why it could not start.
type Ready = Result<Started, DisplayError>;

struct Started {
    /// Why the renderer asked for had to be replaced by software, if it had.
    fell_back: Option<RenderError>,
    dmabuf_formats: Vec<(u32, Vec<u64>)>,
}

struct Setup {
    listener: UnixListener,
    backend: RenderBackend,
    /// Replace a GLES renderer that fails by Pixman (the user asked for `auto`).
    fallback: bool,
    mode: VideoMode,
    format: OutputFormat,
    /// See [`DisplayConfig::compose_always`] (negated).
    passthrough: bool,
    /// See [`CompositorThread::changed`].
    changed: Arc<AtomicBool>,
    commands: channel::Channel<Command>,
    frames: SyncSender<Result<Frame, RenderError>>,
}

/// What the event loop's sources share besides the compositor state.
struct LoopData {
    state: State,
    handle: LoopHandle<'static, LoopData>,
    /// Created with the first evdev device.
    evdev: Option<smithay::reexports::input::Libinput>,
    /// Every client accepted (dead ones are pruned on each accept).
    clients: Vec<ClientId>,
    frame_requested: bool,
    stop: bool,
}

/// The compositor thread: serve clients and commands until told to stop.
fn run(setup: Setup, ready: &SyncSender<Ready>) -> Result<(), DisplayError> {
    let setup_err =
        |what: &str, err: &dyn std::fmt::Display| DisplayError::Setup(format!("{what}: {err}"));
    let mut event_loop: EventLoop<'static, LoopData> =
        EventLoop::try_new().map_err(|e| setup_err("event loop", &e))?;
    let mut display: Display<State> =
        Display::new().map_err(|e| setup_err("wayland display", &e))?;
    let (state, fell_back) = State::new(
        &display.handle(),
        setup.mode,
        setup.format,
        setup.passthrough,
        &setup.backend,
        setup.fallback,
    )?;
    let handle = event_loop.handle();
    let mut data = LoopData {
        state,
        handle: handle.clone(),
        evdev: None,
        clients: Vec::new(),
        frame_requested: false,
        stop: false,
    };

    handle
        .insert_source(
            Generic::new(setup.listener, Interest::READ, Mode::Level),
            |_, listener, data: &mut LoopData| {
                accept_clients(listener, data);
                Ok(PostAction::Continue)
            },
        )
        .map_err(|e| setup_err("listening socket", &e.error))?;
    // Only wakes the loop; clients are dispatched after every wake-up, below.
    let display_fd = display
        .backend()
        .poll_fd()
        .try_clone_to_owned()
        .map_err(|e| setup_err("display fd", &e))?;
    handle
        .insert_source(
            Generic::new(display_fd, Interest::READ, Mode::Level),
            |_, _, _: &mut LoopData| Ok(PostAction::Continue),
        )
        .map_err(|e| setup_err("display fd", &e.error))?;
    let frames = setup.frames;
    let changed = setup.changed;
    handle
        .insert_source(
            setup.commands,
            |event, _, data: &mut LoopData| match event {
                channel::Event::Msg(command) => handle_command(command, data),
                channel::Event::Closed => data.stop = true,
            },
        )
        .map_err(|e| setup_err("command channel", &e.error))?;

    let dmabuf_formats = data.state.renderer.dmabuf_formats();
    let _ = ready.try_send(Ok(Started {
        fell_back,
        dmabuf_formats,
    }));
    while !data.stop {
        event_loop
            .dispatch(None, &mut data)
            .map_err(|e| setup_err("event loop", &e))?;
        display
            .dispatch_clients(&mut data.state)
            .map_err(|e| setup_err("dispatching clients", &e))?;
        if std::mem::take(&mut data.frame_requested) {
            // Cleared before drawing: whatever changes after this frame sets it again below.
            changed.store(false, Ordering::Release);
            // The requester may have given up and gone; nothing to do then.
            let _ = frames.try_send(data.state.produce_frame());
        }
        if data.state.dirty {
            changed.store(true, Ordering::Release);
        }
        if let Err(err) = display.flush_clients() {
            tracing::debug!(%err, "flushing clients");
        }
    }
    tracing::debug!("compositor stopping");
    disconnect_clients(&mut display, &mut data);
    Ok(())
}

/// Disconnects every client through the protocol machinery before the display goes.
/// Dropping the display alone skips the objects' destructors, and Smithay's seat keeps
/// its keyboards and pointers (and through their focus, surfaces, buffers and the
/// clients' shm pools: an fd and a mapping per client) in reference cycles that only
/// those destructors break.
fn disconnect_clients(display: &mut Display<State>, data: &mut LoopData) {
    let handle = display.handle();
    let mut last = None;
    for client in data.clients.drain(..) {
        handle
            .backend_handle()
            .kill_client(client.clone(), DisconnectReason::ConnectionClosed);
        last = Some(client);
    }
    // dispatch_clients() only cleans up when some client has pending events;
    // dispatch_single_client() always runs the destructors of every dead client.
    if let Some(client) = last {
        let _ = display
            .backend()
            .dispatch_single_client(&mut data.state, client);
    }
    let _ = display.flush_clients();
}

fn handle_command(command: Command, data: &mut LoopData) {
    match command {
        Command::Frame => data.frame_requested = true,
        Command::SetMode(mode, target, reply) => {
            let _ = reply.try_send(data.state.set_mode(mode, target));
        }
        Command::Input(event) => data.state.handle_input(event),
        Command::AddDevice(path, reply) => {
            let _ = reply.try_send(add_device(data, &path));
        }
        Command::AddClient(stream, reply) => {
            let result = add_client(data, stream);
            let _ = reply.try_send(result);
        }
        Command::PlaceWindow {
            client,
            surface,
            at,
            reply,
        } => {
            let _ = reply.try_send(data.state.place_window(&client, surface, at.into()));
        }
        Command::Sync(reply) => {
            let _ = reply.try_send(());
        }
        Command::Stop => data.stop = true,
        #[cfg(test)]
        #[allow(clippy::panic)]
        Command::Panic => panic!("injected test panic"),
    }
}

fn add_device(data: &mut LoopData, path: &Path) -> Result<(), String> {
    if data.evdev.is_none() {
        let (context, backend) = new_evdev_context();
        data.handle
            .insert_source(backend, |event, _, data: &mut LoopData| {
                data.state.handle_evdev(event)
            })
            .map_err(|e| format!("could not watch libinput: {}", e.error))?;
        data.evdev = Some(context);
    }
    match data.evdev.as_mut() {
        Some(context) => add_evdev_device(context, path),
        None => Err("libinput is not available".to_owned()),
    }
}

fn add_client(data: &mut LoopData, stream: UnixStream) -> Result<ClientId, String> {
    stream
        .set_nonblocking(true)
        .map_err(|err| format!("could not make the client socket non-blocking: {err}"))?;
    let mut dh = data.state.dh.clone();
    let client = dh
        .insert_client(stream, new_client_data())
        .map_err(|err| format!("could not add the client: {err}"))?;
    data.clients.push(client.id());
    Ok(client.id())
}

fn accept_clients(listener: &UnixListener, data: &mut LoopData) {
    let mut dh = data.state.dh.clone();
    data.clients
        .retain(|id| dh.backend_handle().get_client_data(id.clone()).is_ok());
    loop {
        match listener.accept() {
            Ok((stream, _)) => match dh.insert_client(stream, new_client_data()) {
                Ok(client) => data.clients.push(client.id()),
                Err(err) => tracing::warn!(%err, "could not add a client"),
            },
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return,
            Err(err) => {
                tracing::warn!(%err, "accepting a client failed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
