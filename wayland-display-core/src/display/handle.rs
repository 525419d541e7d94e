//! The public handle to a running compositor.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use smithay::reexports::wayland_server::backend::ClientId;

use super::config::{DisplayConfig, OutputScale, Setup, VideoMode};
use super::thread::{Command, CompositorThread};
use super::xwayland_loop::X11Setup;
use crate::clipboard::{ClipboardContent, ClipboardError, MAX_CLIPBOARD_BYTES};
use crate::comp::ClipboardRead;
use crate::device::{RenderChoice, RenderTarget, RendererKind};
use crate::render::{Frame, GlDevice, OutputTarget, RenderBackend};
use crate::socket::{self, WaylandSocket};
use crate::xwayland::display::{self as x11_display, XDirs, XDisplay};
use crate::xwayland::{XwaylandError, XwaylandMode, process as x11_process};
use crate::{DisplayError, InputEvent};

/// A running headless compositor.
pub struct WaylandDisplay {
    // Declared first so it drops first: the thread stops before its socket goes away.
    thread: CompositorThread,
    socket: WaylandSocket,
    /// The X display's files (after the thread, which kills Xwayland, stops).
    x11: Option<XDisplay>,
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

    pub(super) fn start(
        config: DisplayConfig,
        render: RenderChoice,
        backend: RenderBackend,
    ) -> Result<Self, DisplayError> {
        let socket = socket::allocate(&config.socket)?;
        let (x11, x11_setup) = allocate_x11(config.xwayland)?;
        let listener = socket.listener().try_clone().map_err(|err| {
            DisplayError::Setup(format!("could not duplicate the listener: {err}"))
        })?;
        // On any error below, `socket` drops and takes its files with it.
        let setup = Setup {
            listener,
            backend,
            fallback: config.render_target == RenderTarget::Auto,
            mode: config.mode,
            format: config.format,
            passthrough: config.passthrough,
            yuv_conversion: config.yuv_conversion,
            client_limits: config.client_limits,
            window: config.window,
            scale: config.scale,
            privileged_protocols: config.privileged_protocols,
            x11: x11_setup,
        };
        let (thread, started) = CompositorThread::spawn(setup, config.timeouts)?;
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
        if let Some(x11) = &x11 {
            tracing::info!(display = %x11.name(), mode = %config.xwayland, "X display allocated");
        }
        Ok(Self {
            thread,
            socket,
            x11,
            render,
            dmabuf_formats: started.dmabuf_formats,
        })
    }

    /// The value X11 clients need in `DISPLAY` (`:N`), unless Xwayland is off.
    pub fn x11_display(&self) -> Option<String> {
        self.x11.as_ref().map(XDisplay::name)
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

    /// Says when the next frame will be asked for (on the monotonic clock), so clients
    /// are told to draw just in time for it rather than at once after each frame: call it
    /// with every frame asked for on a schedule. Frames asked for without it, or after it
    /// has passed, get callbacks sent at once.
    pub fn set_next_frame_due(&self, at: std::time::Instant) {
        self.thread.due.set(at);
    }

    /// The current picture with the cursor, in RGB whatever the output format (YUV output
    /// is converted from it, lossily), drawn now: for screenshots. The stream's next frame
    /// shows the same picture.
    pub fn snapshot(&self) -> Result<Frame, DisplayError> {
        self.thread
            .request("a snapshot", Command::Snapshot)?
            .map_err(DisplayError::from)
    }

    /// Changes the output size, refresh rate or what frames are made of; clients are
    /// reconfigured.
    pub fn set_mode(
        &self,
        mode: VideoMode,
        target: impl Into<OutputTarget>,
    ) -> Result<(), DisplayError> {
        let target = target.into();
        // The compositor marks the picture changed before it replies, so the next frame is
        // drawn in the new mode.
        self.thread
            .request("the mode change", |reply| {
                Command::SetMode(mode, target, reply)
            })?
            .map_err(DisplayError::from)
    }

    /// Changes the output's scale; clients are told, and windows laid out again.
    pub fn set_scale(&self, scale: OutputScale) -> Result<(), DisplayError> {
        self.thread
            .request("the scale change", |reply| Command::SetScale(scale, reply))
    }

    /// The (DRM fourcc, modifiers) in which frames can be DMABufs; empty when the renderer
    /// cannot export them (software rendering, llvmpipe).
    pub fn dmabuf_formats(&self) -> &[(u32, Vec<u64>)] {
        &self.dmabuf_formats
    }

    /// Delivers one input event. `VirtualDevicesReady` opens its device and says whether
    /// that worked; the others are queued for the seat.
    pub fn input(&self, event: InputEvent) -> Result<(), DisplayError> {
        if let InputEvent::VirtualDevicesReady { path } = event {
            return self.add_input_device(path);
        }
        self.thread.picture_changed();
        self.thread.send_input(event)
    }

    /// Serves a client over a socket the caller already connected (one end of a
    /// `socketpair`, as a launcher that hands the app its fd does), besides those connecting
    /// to [`socket_name`](Self::socket_name).
    pub fn add_client(&self, stream: UnixStream) -> Result<ClientHandle, DisplayError> {
        self.thread
            .request("adding a client", |reply| Command::AddClient(stream, reply))?
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
        self.thread.picture_changed();
        self.thread
            .request("placing a window", |reply| Command::PlaceWindow {
                client: client.0.clone(),
                surface,
                at: (x, y),
                reply,
            })?
            .map_err(DisplayError::NoWindow)
    }

    /// Returns once the compositor has handled everything sent before (input, moves), so
    /// that a client asking afterwards sees its effects.
    pub fn sync(&self) -> Result<(), DisplayError> {
        self.thread.request("a sync", Command::Sync)
    }

    /// The clipboard's content as the first of `wanted` it offers (text before PNG when
    /// `wanted` is empty), read from the client holding it: blocks for at most
    /// [`CLIPBOARD_TIMEOUT`](crate::clipboard::CLIPBOARD_TIMEOUT) after the compositor answers.
    pub fn clipboard(&self, wanted: &[String]) -> Result<ClipboardContent, DisplayError> {
        let read = self.thread.request("reading the clipboard", |reply| {
            Command::ReadClipboard(wanted.to_vec(), reply)
        })??;
        match read {
            ClipboardRead::Ready(content) => Ok(ClipboardContent::clone(&content)),
            ClipboardRead::Pipe { mime_type, fd } => Ok(ClipboardContent {
                mime_type,
                data: crate::clipboard::read_pipe(fd)?,
            }),
        }
    }

    /// Makes `content` the clipboard: the compositor holds it and hands it to every
    /// Wayland or X11 client that pastes, until a client copies something else.
    pub fn set_clipboard(&self, content: ClipboardContent) -> Result<(), DisplayError> {
        if !crate::clipboard::valid_type(&content.mime_type) {
            return Err(ClipboardError::BadType(content.mime_type).into());
        }
        if content.data.len() > MAX_CLIPBOARD_BYTES {
            return Err(ClipboardError::TooLarge {
                limit: MAX_CLIPBOARD_BYTES,
            }
            .into());
        }
        self.thread.picture_changed();
        self.thread.send(Command::SetClipboard(content))
    }

    /// Reads input from an evdev device (e.g. `/dev/input/event7`) from now on.
    pub fn add_input_device(&self, path: impl Into<PathBuf>) -> Result<(), DisplayError> {
        let path = path.into();
        self.thread
            .request("adding an input device", |reply| {
                Command::AddDevice(path, reply)
            })?
            .map_err(DisplayError::InputDevice)
    }

    #[cfg(test)]
    pub(super) fn inject_panic(&self) -> Result<(), DisplayError> {
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

/// The X display for `mode`, and what the compositor thread serves it with. `on` needs
/// `Xwayland` now; `on-demand` only when a client connects, so it starts without one (and
/// without a display, if none is free: X11 was not asked for yet).
fn allocate_x11(mode: XwaylandMode) -> Result<(Option<XDisplay>, Option<X11Setup>), DisplayError> {
    if mode == XwaylandMode::Off {
        return Ok((None, None));
    }
    let program = x11_process::find_program();
    if mode == XwaylandMode::On && program.is_none() {
        return Err(XwaylandError::NotInstalled.into());
    }
    let allocated = x11_display::allocate(
        &XDirs::default(),
        x11_display::FIRST_DISPLAY,
        x11_display::DISPLAYS_TRIED,
    );
    let mut display = match allocated {
        Ok(display) => display,
        Err(err) if mode == XwaylandMode::OnDemand => {
            tracing::warn!(%err, "no X display: X11 clients cannot connect");
            return Ok((None, None));
        }
        Err(err) => return Err(err.into()),
    };
    let setup = X11Setup {
        number: display.number(),
        listeners: display.take_listeners(),
        program,
        start_now: mode == XwaylandMode::On,
    };
    Ok((Some(display), Some(setup)))
}
