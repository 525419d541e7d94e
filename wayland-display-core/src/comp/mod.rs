//! The compositor state: one [`State`] holding every protocol's Smithay state, the space of
//! windows, the seat and the output, driven by the compositor thread's event loop.

mod changed;
mod evdev;
mod focus;
mod frame;
mod geometry;
mod guard;
mod handlers;
pub(crate) mod input;
mod layers;
mod output;
mod placement;
mod policy;
mod protocols;
mod text;
mod xwayland;

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use smithay::backend::input::TouchSlot;
use smithay::desktop::{PopupKind, PopupManager, Space, Window};
use smithay::input::pointer::CursorImageStatus;
use smithay::input::{Seat, SeatState};
use smithay::output::Output;
use smithay::reexports::wayland_server::backend::{ClientData, ClientId, DisconnectReason};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, DisplayHandle};
use smithay::utils::{Clock, Logical, Monotonic, Point};
use smithay::wayland::compositor::{CompositorClientState, CompositorState};
use smithay::wayland::dmabuf::{DmabufGlobal, DmabufState};
use smithay::wayland::input_method::{InputMethodManagerState, InputMethodSeat};
use smithay::wayland::output::OutputManagerState;
use smithay::wayland::pointer_constraints::PointerConstraintsState;
use smithay::wayland::presentation::PresentationState;
use smithay::wayland::relative_pointer::RelativePointerManagerState;
use smithay::wayland::selection::data_device::DataDeviceState;
use smithay::wayland::shell::wlr_layer::WlrLayerShellState;
use smithay::wayland::shell::xdg::XdgShellState;
use smithay::wayland::shm::ShmState;
use smithay::wayland::single_pixel_buffer::SinglePixelBufferState;
use smithay::wayland::text_input::TextInputManagerState;
use smithay::wayland::viewporter::ViewporterState;

use smithay::reexports::calloop::LoopHandle;
use smithay::wayland::xwayland_shell::XWaylandShellState;

use crate::display::{LoopData, Setup, WindowPolicy};
use crate::render::{RenderBackend, RenderError, Renderer};
use crate::{ClientLimits, DisplayError, VideoMode};

pub(crate) use changed::PictureChanged;
pub(crate) use evdev::{add_device as add_evdev_device, new_context as new_evdev_context};
pub(crate) use focus::KeyboardFocus;
pub(crate) use guard::COORD_LIMIT;
use guard::ClientCounts;
pub(crate) use output::new_output;
pub(crate) use xwayland::{X11, is_xwayland};

/// Everything the compositor thread owns.
pub(crate) struct State {
    pub(crate) dh: DisplayHandle,
    pub(crate) started: Instant,
    /// The clock `wp_presentation` timestamps are given in.
    pub(crate) clock: Clock<Monotonic>,

    pub(crate) space: Space<Window>,
    pub(crate) popups: PopupManager,
    /// The popup holding the seat's grab (with its root surface), dismissed when a new
    /// window appears.
    pub(crate) popup_grab: Option<(WlSurface, PopupKind)>,
    pub(crate) output: Output,
    pub(crate) mode: VideoMode,
    pub(crate) seat: Seat<State>,
    pub(crate) pointer_location: Point<f64, Logical>,
    /// The cursor stays invisible until the first pointer event: a lobby nobody controls
    /// should not stream an arrow in its corner.
    pub(crate) cursor_visible: bool,
    pub(crate) cursor_status: CursorImageStatus,
    /// Touch points that went down on a surface and are neither up nor cancelled.
    pub(crate) touch_points: HashMap<TouchSlot, WlSurface>,

    pub(crate) renderer: Renderer,
    pub(crate) changed: PictureChanged,
    /// What each client may hold; the object and fd limits are the backend's to enforce
    /// (set on the display at start), surfaces and shm memory the handlers'.
    pub(crate) client_limits: ClientLimits,
    pub(crate) client_faults: ClientFaults,
    pub(crate) window: WindowPolicy,

    pub(crate) dmabuf_state: DmabufState,
    /// The client-facing `zwp_linux_dmabuf_v1`, when a GPU renders.
    pub(crate) dmabuf_global: Option<DmabufGlobal>,
    pub(crate) compositor_state: CompositorState,
    pub(crate) xdg_shell_state: XdgShellState,
    pub(crate) layer_shell_state: WlrLayerShellState,
    pub(crate) shm_state: ShmState,
    pub(crate) seat_state: SeatState<State>,
    pub(crate) data_device_state: DataDeviceState,
    pub(crate) _output_manager_state: OutputManagerState,
    pub(crate) _presentation_state: PresentationState,
    pub(crate) _viewporter_state: ViewporterState,
    pub(crate) _relative_pointer_state: RelativePointerManagerState,
    pub(crate) _pointer_constraints_state: PointerConstraintsState,
    pub(crate) _single_pixel_buffer_state: SinglePixelBufferState,
    pub(crate) _text_input_state: TextInputManagerState,
    pub(crate) _input_method_state: InputMethodManagerState,
    /// Visible to the built-in Xwayland only.
    pub(crate) xwayland_shell_state: XWaylandShellState,
    /// The built-in Xwayland, while it runs.
    pub(crate) x11: Option<X11>,
    /// The mime types of the clipboard a Wayland client holds, offered to an Xwayland
    /// that starts later (on demand, after the copy).
    pub(crate) wayland_clipboard: Option<Vec<String>>,
    /// The event loop, for transfers the X11 window manager runs on it.
    pub(crate) loop_handle: Option<LoopHandle<'static, LoopData>>,
}

impl State {
    /// The state with a renderer for `setup.backend`. With `setup.fallback`, a GLES
    /// renderer that cannot start is replaced by Pixman, and the reason returned.
    pub(crate) fn new(
        dh: &DisplayHandle,
        setup: &Setup,
        changed: PictureChanged,
    ) -> Result<(Self, Option<RenderError>), DisplayError> {
        let Setup {
            mode,
            format,
            passthrough,
            fallback,
            ref backend,
            client_limits,
            window,
            ..
        } = *setup;
        // The renderer comes first: if it fails, no global has been announced yet.
        let output = new_output(mode);
        let (renderer, fell_back) = match Renderer::new(backend, &output, format, passthrough) {
            Ok(renderer) => (renderer, None),
            Err(err) if fallback && *backend != RenderBackend::Pixman => {
                tracing::warn!(%err, "GLES renderer failed, rendering in software");
                (
                    Renderer::new(&RenderBackend::Pixman, &output, format, passthrough)?,
                    Some(err),
                )
            }
            Err(err) => return Err(err.into()),
        };

        let compositor_state = CompositorState::new::<Self>(dh);
        let xdg_shell_state = XdgShellState::new::<Self>(dh);
        let layer_shell_state = WlrLayerShellState::new::<Self>(dh);
        let shm_state = ShmState::new::<Self>(dh, Vec::new());
        let data_device_state = DataDeviceState::new::<Self>(dh);
        let output_manager_state = OutputManagerState::new_with_xdg_output::<Self>(dh);
        let clock = Clock::<Monotonic>::new();
        let presentation_state = PresentationState::new::<Self>(dh, clock.id() as u32);
        let viewporter_state = ViewporterState::new::<Self>(dh);
        let relative_pointer_state = RelativePointerManagerState::new::<Self>(dh);
        let pointer_constraints_state = PointerConstraintsState::new::<Self>(dh);
        let single_pixel_buffer_state = SinglePixelBufferState::new::<Self>(dh);
        let xwayland_shell_state = XWaylandShellState::new::<Self>(dh);
        let text_input_state = TextInputManagerState::new::<Self>(dh);
        let input_method_state = InputMethodManagerState::new::<Self, _>(dh, |_| true);

        let mut seat_state = SeatState::new();
        let mut seat = seat_state.new_wl_seat(dh, "seat0");
        seat.add_keyboard(Default::default(), 200, 25)
            .map_err(|err| DisplayError::Keyboard(err.to_string()))?;
        seat.add_pointer();
        seat.add_touch();
        // `KeyboardText` reaches text inputs through the compositor as their input method
        // until an input-method client binds (comp/text.rs).
        seat.input_method().set_compositor_input_method(true);

        output.create_global::<Self>(dh);
        let mut space = Space::default();
        space.map_output(&output, (0, 0));

        let mut state = Self {
            dh: dh.clone(),
            started: Instant::now(),
            clock,
            space,
            popups: PopupManager::default(),
            popup_grab: None,
            output,
            mode,
            seat,
            pointer_location: (0.0, 0.0).into(),
            cursor_visible: false,
            cursor_status: CursorImageStatus::default_named(),
            touch_points: HashMap::new(),
            renderer,
            changed,
            client_limits,
            client_faults: ClientFaults::default(),
            window,
            dmabuf_state: DmabufState::new(),
            dmabuf_global: None,
            compositor_state,
            xdg_shell_state,
            layer_shell_state,
            shm_state,
            seat_state,
            data_device_state,
            _output_manager_state: output_manager_state,
            _presentation_state: presentation_state,
            _viewporter_state: viewporter_state,
            _relative_pointer_state: relative_pointer_state,
            _pointer_constraints_state: pointer_constraints_state,
            _single_pixel_buffer_state: single_pixel_buffer_state,
            _text_input_state: text_input_state,
            _input_method_state: input_method_state,
            xwayland_shell_state,
            x11: None,
            wayland_clipboard: None,
            loop_handle: None,
        };
        state.offer_gpu_buffers();
        Ok((state, fell_back))
    }

    /// Time since start-up, the timeline of frame callbacks and input events.
    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    pub(crate) fn now_ms(&self) -> u32 {
        // Wayland event times are 32-bit milliseconds and wrap by design.
        let ms = self.now().as_millis() % (1u128 << 32);
        u32::try_from(ms).unwrap_or_default()
    }

    /// Drops windows and popups whose clients went away.
    pub(crate) fn refresh(&mut self) {
        self.space.refresh();
        self.popups.cleanup();
        let before = self.usable_area();
        smithay::desktop::layer_map_for_output(&self.output).cleanup();
        if self.usable_area() != before {
            self.layers_changed(before);
        }
    }
}

/// Per-client data: what Smithay asks for, and what the client holds against its limits.
pub(crate) struct ClientState {
    pub(crate) compositor_state: CompositorClientState,
    pub(crate) counts: ClientCounts,
    faults: ClientFaults,
    /// The client's process, to name it in logs (taken when it connected; `None` if the
    /// socket could not say).
    pub(crate) pid: Option<i32>,
}

/// How many clients were disconnected for a protocol error, shared by every client's data
/// and the state: a frame that fails while this moved failed on that client's buffer
/// (Smithay posts the error where it reads the buffer), not on the renderer.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientFaults(Arc<AtomicU64>);

impl ClientFaults {
    pub(crate) fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The data of a client we inserted (every client is inserted with a [`ClientState`]).
pub(crate) fn client_state(client: &Client) -> Option<&ClientState> {
    client.get_data::<ClientState>()
}

/// [`client_state`] by id, for destructors, which get no `Client`. `None` once the client
/// is gone, when its counts no longer matter.
pub(crate) fn client_state_by_id(dh: &DisplayHandle, id: ClientId) -> Option<Arc<ClientState>> {
    dh.backend_handle()
        .get_client_data(id)
        .ok()?
        .downcast_arc::<ClientState>()
        .ok()
}

impl ClientData for ClientState {
    fn initialized(&self, client_id: ClientId) {
        tracing::debug!(?client_id, pid = self.pid, "client connected");
    }

    fn disconnected(&self, client_id: ClientId, reason: DisconnectReason) {
        match reason {
            // Every limit the compositor enforces ends this way, its message naming the
            // limit: the one place that says which client was cut off and why.
            DisconnectReason::ProtocolError(err) => {
                let _ = self
                    .faults
                    .0
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_add(1))
                    });
                tracing::warn!(
                    ?client_id,
                    pid = self.pid,
                    code = err.code,
                    object = %format_args!("{}@{}", err.object_interface, err.object_id),
                    "client disconnected for a protocol error: {}",
                    err.message
                );
            }
            DisconnectReason::ConnectionClosed => {
                tracing::debug!(?client_id, pid = self.pid, "client disconnected");
            }
        }
    }
}

impl State {
    /// The data for a client connecting on `stream`.
    pub(crate) fn new_client_data(&self, stream: &UnixStream) -> Arc<ClientState> {
        let pid = rustix::net::sockopt::socket_peercred(stream)
            .ok()
            .map(|cred| cred.pid.as_raw_nonzero().get());
        Arc::new(ClientState {
            compositor_state: CompositorClientState::default(),
            counts: ClientCounts::default(),
            faults: self.client_faults.clone(),
            pid,
        })
    }
}
