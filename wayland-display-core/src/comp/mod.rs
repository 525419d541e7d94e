//! The compositor state: one [`State`] holding every protocol's Smithay state, the space of
//! windows, the seat and the output, driven by the compositor thread's event loop.

mod changed;
mod clipboard;
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
pub(crate) mod schedule;
mod screencopy;
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
use smithay::reexports::wayland_server::backend::{
    ClientData, ClientId, DisconnectReason, GlobalId,
};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, DisplayHandle};
use smithay::utils::{Clock, Logical, Monotonic, Point};
use smithay::wayland::compositor::{CompositorClientState, CompositorState};
use smithay::wayland::content_type::ContentTypeState;
use smithay::wayland::cursor_shape::CursorShapeManagerState;
use smithay::wayland::dmabuf::{DmabufGlobal, DmabufState};
use smithay::wayland::fractional_scale::FractionalScaleManagerState;
use smithay::wayland::idle_inhibit::IdleInhibitManagerState;
use smithay::wayland::input_method::{InputMethodManagerState, InputMethodSeat};
use smithay::wayland::keyboard_shortcuts_inhibit::KeyboardShortcutsInhibitState;
use smithay::wayland::output::OutputManagerState;
use smithay::wayland::pointer_constraints::PointerConstraintsState;
use smithay::wayland::presentation::PresentationState;
use smithay::wayland::relative_pointer::RelativePointerManagerState;
use smithay::wayland::selection::data_device::DataDeviceState;
use smithay::wayland::selection::ext_data_control::DataControlState as ExtDataControlState;
use smithay::wayland::selection::primary_selection::PrimarySelectionState;
use smithay::wayland::selection::wlr_data_control::DataControlState as WlrDataControlState;
use smithay::wayland::shell::wlr_layer::WlrLayerShellState;
use smithay::wayland::shell::xdg::XdgShellState;
use smithay::wayland::shell::xdg::decoration::XdgDecorationState;
use smithay::wayland::shm::ShmState;
use smithay::wayland::single_pixel_buffer::SinglePixelBufferState;
use smithay::wayland::text_input::TextInputManagerState;
use smithay::wayland::viewporter::ViewporterState;
use smithay::wayland::virtual_keyboard::VirtualKeyboardManagerState;
use smithay::wayland::xdg_activation::XdgActivationState;
use smithay::wayland::xdg_foreign::XdgForeignState;

use smithay::reexports::calloop::LoopHandle;
use smithay::wayland::xwayland_shell::XWaylandShellState;

use crate::display::{LoopData, OutputScale, Setup, WindowPolicy};
use crate::render::{RenderBackend, RenderError, RenderOptions, Renderer};
use crate::{ClientLimits, DisplayError, VideoMode};

pub(crate) use changed::PictureChanged;
use clipboard::Clipboard;
pub(crate) use clipboard::ClipboardRead;
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
    pub(crate) scale: OutputScale,
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
    /// Screen captures waiting for a picture (`comp/screencopy.rs`).
    pub(crate) screencopies: screencopy::Screencopies,

    pub(crate) dmabuf_state: DmabufState,
    /// The client-facing `zwp_linux_dmabuf_v1`, when a GPU renders.
    pub(crate) dmabuf_global: Option<DmabufGlobal>,
    pub(crate) compositor_state: CompositorState,
    pub(crate) xdg_shell_state: XdgShellState,
    pub(crate) _xdg_shell_v6_global: GlobalId,
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
    pub(crate) _cursor_shape_state: CursorShapeManagerState,
    pub(crate) _fractional_scale_state: FractionalScaleManagerState,
    /// Privileged: an input method sees every key of the focused client.
    pub(crate) _input_method_state: Option<InputMethodManagerState>,
    pub(crate) primary_selection_state: PrimarySelectionState,
    pub(crate) xdg_activation_state: XdgActivationState,
    pub(crate) _xdg_decoration_state: XdgDecorationState,
    pub(crate) keyboard_shortcuts_inhibit_state: KeyboardShortcutsInhibitState,
    pub(crate) _idle_inhibit_state: IdleInhibitManagerState,
    pub(crate) _content_type_state: ContentTypeState,
    pub(crate) xdg_foreign_state: XdgForeignState,
    pub(crate) _tearing_control_global: GlobalId,
    /// The privileged protocols (`privileged-protocols`): clients that read and set the
    /// clipboard without focus, type and point as the user, or list and control every
    /// window. The data-control states
    /// exist either way (Smithay's handlers need them); their globals only when offered.
    pub(crate) wlr_data_control_state: WlrDataControlState,
    pub(crate) ext_data_control_state: ExtDataControlState,
    pub(crate) _virtual_keyboard_state: Option<VirtualKeyboardManagerState>,
    pub(crate) _virtual_pointer_global: Option<GlobalId>,
    pub(crate) _foreign_toplevel_global: Option<GlobalId>,
    /// The windows `zwlr_foreign_toplevel_manager_v1` lists, and its managers.
    pub(crate) foreign_toplevels: handlers::foreign_toplevel::ForeignToplevels,
    /// Visible to the built-in Xwayland only.
    pub(crate) xwayland_shell_state: XWaylandShellState,
    /// The built-in Xwayland, while it runs.
    pub(crate) x11: Option<X11>,
    /// Who holds the clipboard and what it offers (an Xwayland that starts later is told
    /// about a Wayland client's copy).
    pub(crate) clipboard: Clipboard,
    /// The event loop, for transfers the X11 window manager runs on it.
    pub(crate) loop_handle: Option<LoopHandle<'static, LoopData>>,
    /// When clients are sent their frame callbacks (`schedule.rs`).
    pub(crate) schedule: schedule::FrameSchedule,
}

impl State {
    /// The state with a renderer for `setup.backend`. With `setup.fallback`, a GLES
    /// renderer that cannot start is replaced by Pixman, and the reason returned.
    pub(crate) fn new(
        dh: &DisplayHandle,
        setup: &Setup,
        changed: PictureChanged,
        due: schedule::FrameDue,
    ) -> Result<(Self, Option<RenderError>), DisplayError> {
        let Setup {
            mode,
            format,
            passthrough,
            yuv_conversion,
            fallback,
            ref backend,
            client_limits,
            window,
            scale,
            privileged_protocols,
            ..
        } = *setup;
        // The renderer comes first: if it fails, no global has been announced yet.
        let output = new_output(mode, scale);
        let options = RenderOptions {
            passthrough,
            yuv_conversion,
        };
        let (renderer, fell_back) = match Renderer::new(backend, &output, format.into(), options) {
            Ok(renderer) => (renderer, None),
            Err(err) if fallback && *backend != RenderBackend::Pixman => {
                tracing::warn!(%err, "GLES renderer failed, rendering in software");
                (
                    Renderer::new(&RenderBackend::Pixman, &output, format.into(), options)?,
                    Some(err),
                )
            }
            Err(err) => return Err(err.into()),
        };

        let compositor_state = CompositorState::new_v6::<Self>(dh);
        let xdg_shell_state = XdgShellState::new::<Self>(dh);
        let xdg_shell_v6_global = XdgShellState::new_v6_global::<Self>(dh);
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
        let cursor_shape_state = CursorShapeManagerState::new::<Self>(dh);
        let input_method_state =
            privileged_protocols.then(|| InputMethodManagerState::new::<Self, _>(dh, |_| true));
        let primary_selection_state = PrimarySelectionState::new::<Self>(dh);
        let xdg_activation_state = XdgActivationState::new::<Self>(dh);
        let xdg_decoration_state = XdgDecorationState::new::<Self>(dh);
        let keyboard_shortcuts_inhibit_state = KeyboardShortcutsInhibitState::new::<Self>(dh);
        let idle_inhibit_state = IdleInhibitManagerState::new::<Self>(dh);
        let content_type_state = ContentTypeState::new::<Self>(dh);
        let xdg_foreign_state = XdgForeignState::new::<Self>(dh);
        let tearing_control_global = handlers::tearing_control::new_global(dh);
        let wlr_data_control_state = handlers::wlr_data_control::new_state(
            dh,
            &primary_selection_state,
            privileged_protocols,
        );
        let ext_data_control_state = handlers::ext_data_control::new_state(
            dh,
            &primary_selection_state,
            privileged_protocols,
        );
        let virtual_keyboard_state =
            privileged_protocols.then(|| VirtualKeyboardManagerState::new::<Self, _>(dh, |_| true));
        let virtual_pointer_global =
            privileged_protocols.then(|| handlers::virtual_pointer::new_global(dh));
        let foreign_toplevel_global =
            privileged_protocols.then(|| handlers::foreign_toplevel::new_global(dh));

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
            scale,
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
            screencopies: screencopy::Screencopies::default(),
            dmabuf_state: DmabufState::new(),
            dmabuf_global: None,
            compositor_state,
            xdg_shell_state,
            _xdg_shell_v6_global: xdg_shell_v6_global,
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
            _cursor_shape_state: cursor_shape_state,
            _fractional_scale_state: FractionalScaleManagerState::new::<Self>(dh),
            _input_method_state: input_method_state,
            primary_selection_state,
            xdg_activation_state,
            _xdg_decoration_state: xdg_decoration_state,
            keyboard_shortcuts_inhibit_state,
            _idle_inhibit_state: idle_inhibit_state,
            _content_type_state: content_type_state,
            xdg_foreign_state,
            _tearing_control_global: tearing_control_global,
            wlr_data_control_state,
            ext_data_control_state,
            _virtual_keyboard_state: virtual_keyboard_state,
            _virtual_pointer_global: virtual_pointer_global,
            _foreign_toplevel_global: foreign_toplevel_global,
            foreign_toplevels: Default::default(),
            xwayland_shell_state,
            x11: None,
            clipboard: Clipboard::Empty,
            loop_handle: None,
            schedule: schedule::FrameSchedule {
                due,
                ..Default::default()
            },
        };
        state.offer_gpu_buffers();
        if privileged_protocols {
            state.offer_screencopy();
            state.offer_image_copy_capture();
        }
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
