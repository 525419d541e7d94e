use smithay::backend::renderer::utils::with_renderer_surface_state;
use smithay::desktop::{
    PopupKeyboardGrab, PopupKind, PopupManager, PopupPointerGrab, PopupUngrabStrategy, Window,
    find_popup_root_surface, get_popup_toplevel_coords,
};
use smithay::input::Seat;
use smithay::input::pointer::{Focus, MotionEvent};
use smithay::reexports::wayland_protocols::xdg::shell::server::{
    xdg_popup::XdgPopup, xdg_wm_base::XdgWmBase,
};
use smithay::reexports::wayland_server::protocol::{wl_output, wl_seat, wl_surface::WlSurface};
use smithay::reexports::wayland_server::{delegate_dispatch, delegate_global_dispatch};
use smithay::utils::{Rectangle, SERIAL_COUNTER, Serial};
use smithay::wayland::compositor::with_states;
use smithay::wayland::shell::xdg::{
    PopupSurface, PositionerState, ToplevelSurface, XdgShellHandler, XdgShellState,
    XdgShellSurfaceUserData,
};

use smithay::wayland::seat::WaylandFocus;

use crate::comp::{KeyboardFocus, State, geometry, guard};

impl XdgShellHandler for State {
    fn xdg_shell_state(&mut self) -> &mut XdgShellState {
        &mut self.xdg_shell_state
    }

    fn new_toplevel(&mut self, surface: ToplevelSurface) {
        // Its size and states are the policy's, decided at its initial commit, when its
        // parent and size limits are known (`send_initial_configure`); it is placed,
        // activated and focused when it shows a buffer (`map_on_first_buffer`).
        let window = Window::new_wayland_window(surface);
        self.space.map_element(window, (0, 0), false);
        self.changed.mark();
    }

    fn toplevel_destroyed(&mut self, surface: ToplevelSurface) {
        let gone = surface.wl_surface().clone();
        let parent = surface.parent();
        let window = self
            .space
            .elements()
            .find(|w| w.toplevel().is_some_and(|t| t.wl_surface() == &gone))
            .cloned();
        if let Some(window) = window {
            self.space.unmap_elem(&window);
        }
        // Focus returns to a dialog's parent, or falls to the window now on top.
        let mapped = |s: &WlSurface| {
            self.space
                .elements()
                .any(|w| w.toplevel().is_some_and(|t| t.wl_surface() == s))
        };
        let next = parent.filter(|p| mapped(p)).or_else(|| {
            self.space
                .elements()
                .rev()
                .find(|w| !w.x11_surface().is_some_and(|x| x.is_override_redirect()))
                .and_then(|w| w.wl_surface().map(|s| s.into_owned()))
        });
        self.focus_keyboard(next);
        self.update_foreign_toplevels();
        self.changed.mark();
    }

    fn title_changed(&mut self, _surface: ToplevelSurface) {
        self.update_foreign_toplevels();
    }

    fn app_id_changed(&mut self, _surface: ToplevelSurface) {
        self.update_foreign_toplevels();
    }

    fn new_popup(&mut self, surface: PopupSurface, positioner: PositionerState) {
        if !guard::popup_parent_is_valid(&surface) {
            return;
        }
        // Computed outside `with_pending_state`: it reads the popup's own state (its
        // parent), whose lock that call holds.
        let geometry = self.unconstrained_popup_geometry(&surface, &positioner);
        surface.with_pending_state(|state| {
            state.geometry = geometry;
        });
        if let Err(err) = self.popups.track_popup(PopupKind::Xdg(surface)) {
            tracing::debug!(?err, "popup died before it was tracked");
        }
        self.changed.mark();
    }

    fn reposition_request(
        &mut self,
        surface: PopupSurface,
        positioner: PositionerState,
        token: u32,
    ) {
        let geometry = self.unconstrained_popup_geometry(&surface, &positioner);
        surface.with_pending_state(|state| {
            state.geometry = geometry;
            state.positioner = positioner;
        });
        surface.send_repositioned(token);
        self.changed.mark();
    }

    fn popup_destroyed(&mut self, surface: PopupSurface) {
        // The pointer leaves now, while the wl_surface can still be named in the leave;
        // the next frame enters whatever is under it.
        let gone = surface.wl_surface();
        if let Some(pointer) = self.seat.get_pointer()
            && pointer.current_focus().as_ref() == Some(gone)
        {
            let event = MotionEvent {
                location: self.pointer_in_space(),
                serial: SERIAL_COUNTER.next_serial(),
                time: self.now_ms(),
            };
            pointer.motion(self, None, &event);
            pointer.frame(self);
        }
        self.changed.mark();
    }

    fn grab(&mut self, surface: PopupSurface, seat: wl_seat::WlSeat, serial: Serial) {
        let Some(seat) = Seat::<State>::from_resource(&seat) else {
            return;
        };
        let kind = PopupKind::Xdg(surface);
        let Ok(root) = find_popup_root_surface(&kind) else {
            return;
        };
        let mut grab = match self.popups.grab_popup(
            KeyboardFocus::Wayland(root.clone()),
            kind.clone(),
            &seat,
            serial,
        ) {
            Ok(grab) => grab,
            Err(err) => {
                tracing::debug!(?err, "popup grab refused");
                return;
            }
        };
        if let Some(keyboard) = seat.get_keyboard() {
            if keyboard.is_grabbed()
                && !(keyboard.has_grab(serial)
                    || keyboard.has_grab(grab.previous_serial().unwrap_or(serial)))
            {
                grab.ungrab(PopupUngrabStrategy::All);
                return;
            }
            keyboard.set_focus(self, grab.current_grab(), serial);
            keyboard.set_grab(self, PopupKeyboardGrab::new(&grab), serial);
        }
        if let Some(pointer) = seat.get_pointer() {
            if pointer.is_grabbed()
                && !(pointer.has_grab(serial)
                    || pointer.has_grab(grab.previous_serial().unwrap_or_else(|| grab.serial())))
            {
                grab.ungrab(PopupUngrabStrategy::All);
                return;
            }
            pointer.set_grab(self, PopupPointerGrab::new(&grab), serial, Focus::Keep);
        }
        self.popup_grab = Some((root, kind));
    }

    fn fullscreen_request(
        &mut self,
        surface: ToplevelSurface,
        _output: Option<wl_output::WlOutput>,
    ) {
        self.set_wants_fullscreen(&surface, true);
        self.place_toplevel(&surface);
        self.update_foreign_toplevels();
    }

    fn unfullscreen_request(&mut self, surface: ToplevelSurface) {
        self.set_wants_fullscreen(&surface, false);
        self.place_toplevel(&surface);
        self.update_foreign_toplevels();
    }

    // Maximizing is the policy's call either way; the answer completes the request.
    fn maximize_request(&mut self, surface: ToplevelSurface) {
        self.reconfigure(&surface);
        self.update_foreign_toplevels();
    }

    fn unmaximize_request(&mut self, surface: ToplevelSurface) {
        self.reconfigure(&surface);
        self.update_foreign_toplevels();
    }

    fn parent_changed(&mut self, surface: ToplevelSurface) {
        self.reconfigure(&surface);
        self.place_toplevel(&surface);
        self.update_foreign_toplevels();
    }
}

impl State {
    /// Places the window of `toplevel` by the policy, if it is mapped.
    fn place_toplevel(&mut self, toplevel: &ToplevelSurface) {
        if let Some(window) = self.window_of(toplevel.wl_surface()) {
            self.place_by_policy(&window);
        }
    }

    /// The window whose toplevel is `surface`.
    pub(crate) fn window_of(&self, surface: &WlSurface) -> Option<Window> {
        self.space
            .elements()
            .find(|w| w.toplevel().is_some_and(|t| t.wl_surface() == surface))
            .cloned()
    }

    /// Places a popup where its positioner asks, kept inside the output.
    fn unconstrained_popup_geometry(
        &self,
        surface: &PopupSurface,
        positioner: &PositionerState,
    ) -> Rectangle<i32, smithay::utils::Logical> {
        let kind = PopupKind::Xdg(surface.clone());
        let Ok(root) = find_popup_root_surface(&kind) else {
            return positioner.get_geometry();
        };
        let Some(window) = self
            .space
            .elements()
            .find(|w| w.toplevel().is_some_and(|t| t.wl_surface() == &root))
        else {
            return positioner.get_geometry();
        };
        let Some(window_loc) = self.space.element_location(window) else {
            return positioner.get_geometry();
        };
        // The target rectangle in the coordinate space of the popup's parent.
        let mut target = Rectangle::from_size(self.output_logical_size());
        target.loc = geometry::minus_px(target.loc, window_loc);
        target.loc = geometry::minus_px(target.loc, get_popup_toplevel_coords(&kind));
        positioner.get_unconstrained_geometry(target)
    }
}

/// Whether a toplevel has shown a buffer yet (kept in its surface's data).
struct Shown(std::cell::Cell<bool>);

/// Whether `surface` has a buffer now (a toplevel is mapped while it has one).
pub(super) fn has_buffer(surface: &WlSurface) -> bool {
    with_renderer_surface_state(surface, |s| s.buffer().is_some()) == Some(true)
}

/// A toplevel committing its first buffer appears: it takes the keyboard and is activated
/// (a configure tells it so). Until then there is nothing to focus.
pub(super) fn map_on_first_buffer(state: &mut State, surface: &WlSurface) {
    let Some(window) = state.window_of(surface) else {
        return;
    };
    map_window(state, surface, window);
    // Mapped (focused first, so that it is announced active), unmapped by a null buffer,
    // or a size or state that changed with the commit.
    state.update_foreign_toplevels();
}

/// The first buffer places, raises and focuses `window`; a later one places it again.
fn map_window(state: &mut State, surface: &WlSurface, window: Window) {
    if !has_buffer(surface) {
        return;
    }
    let first = with_states(surface, |states| {
        let shown = states
            .data_map
            .get_or_insert(|| Shown(std::cell::Cell::new(false)));
        !shown.0.replace(true)
    });
    if first {
        // A new window ends any popup grab (its menus are dismissed), is raised above the
        // others, and takes focus.
        dismiss_popup_grabs(state);
        state.first_buffer_by_policy(&window);
        if let Some(at) = state.space.element_location(&window) {
            state.space.map_element(window.clone(), at, true);
        }
        state.focus_keyboard(Some(surface.clone()));
    } else {
        state.place_by_policy(&window);
    }
}

/// Dismisses the grabbed popup (and its children: `popup_done`) and ends the seat's grabs.
fn dismiss_popup_grabs(state: &mut State) {
    if let Some((root, popup)) = state.popup_grab.take()
        && let Err(err) = PopupManager::dismiss_popup(&root, &popup)
    {
        tracing::debug!(?err, "grabbed popup already gone");
    }
    let serial = SERIAL_COUNTER.next_serial();
    if let Some(keyboard) = state.seat.get_keyboard()
        && keyboard.is_grabbed()
    {
        keyboard.unset_grab(state);
    }
    if let Some(pointer) = state.seat.get_pointer()
        && pointer.is_grabbed()
    {
        let time = state.now_ms();
        pointer.unset_grab(state, serial, time);
    }
}

/// Sends the first configure of a toplevel or popup at its initial commit, as
/// xdg-shell requires.
pub(super) fn send_initial_configure(state: &mut State, surface: &WlSurface) {
    if let Some(window) = state
        .space
        .elements()
        .find(|w| w.toplevel().is_some_and(|t| t.wl_surface() == surface))
    {
        if let Some(toplevel) = window.toplevel()
            && !toplevel.is_initial_configure_sent()
        {
            state.configure_by_policy(toplevel);
            toplevel.send_configure();
        }
        return;
    }
    if let Some(PopupKind::Xdg(popup)) = state.popups.find_popup(surface)
        && !popup.is_initial_configure_sent()
        && let Err(err) = popup.send_configure()
    {
        tracing::debug!(?err, "popup configure failed");
    }
}

// What `delegate_xdg_shell!` would add but for `xdg_wm_base`, `xdg_positioner`,
// `xdg_surface` and `xdg_toplevel`, which `guard::xdg` dispatches.
delegate_global_dispatch!(State: [XdgWmBase: ()] => XdgShellState);
delegate_dispatch!(State: [XdgPopup: XdgShellSurfaceUserData] => XdgShellState);
