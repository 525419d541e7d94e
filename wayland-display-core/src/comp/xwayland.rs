//! X11 windows under the same window policy as Wayland toplevels ([`super::policy`]):
//! Smithay's `X11Wm` manages the built-in Xwayland's windows and calls [`XwmHandler`];
//! this module answers as the policy says and holds the running Xwayland.
//!
//! - a window without `WM_TRANSIENT_FOR`, not fixed-size and not a dialog is maximized
//!   (or fullscreen, with [`WindowMode::Fullscreen`]); one that asks for fullscreen gets it;
//! - dialogs, transient and fixed-size windows keep their size, centred over their parent
//!   or the output, above it;
//! - override-redirect windows (menus, tooltips) are shown where they ask and never take
//!   keyboard focus;
//! - the selection (clipboard) is shared both ways with Wayland clients.

use std::collections::HashSet;
use std::os::fd::OwnedFd;

use smithay::desktop::Window;
use smithay::reexports::wayland_server::Client;
use smithay::reexports::wayland_server::backend::DisconnectReason;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Rectangle};
use smithay::wayland::selection::SelectionTarget;
use smithay::wayland::selection::data_device::{
    clear_data_device_selection, request_data_device_client_selection, set_data_device_selection,
};
use smithay::wayland::xwayland_shell::{XWaylandShellHandler, XWaylandShellState};
use smithay::xwayland::xwm::{Reorder, ResizeEdge, WmWindowProperty, WmWindowType, XwmId};
use smithay::xwayland::{X11Surface, X11Wm, XWaylandClientData, XwmHandler};

use super::policy::{Placement, centred};
use smithay::wayland::seat::WaylandFocus;

use crate::comp::{Clipboard, State};
use crate::display::WindowMode;
use crate::xwayland::process::XwaylandProcess;

/// The built-in Xwayland, while it runs.
pub(crate) struct X11 {
    pub(crate) display: u32,
    pub(crate) process: XwaylandProcess,
    pub(crate) client: Client,
    /// Present from Xwayland's readiness on. Kept (even disconnected) until the compositor
    /// stops or Xwayland is dropped as a whole: Smithay asks [`XwmHandler::xwm_state`] for
    /// it whenever the Xwayland client commits, and the client outlives nothing here.
    pub(crate) wm: Option<X11Wm>,
    /// A window mapped before Xwayland told us its wl_surface: focused once it has one.
    pub(crate) focus_when_associated: Option<X11Surface>,
    /// Windows whose wl_surface we have seen.
    pub(crate) associated: HashSet<u32>,
    /// The window manager lost its connection: Xwayland is stopped after this dispatch
    /// (not inside the window manager's own callback, which still uses it).
    pub(crate) lost: bool,
}

/// Whether `client` is the built-in Xwayland (trusted: it speaks for every X11 app, so
/// the per-client limits of one app do not apply to it).
pub(crate) fn is_xwayland(client: &Client) -> bool {
    client.get_data::<XWaylandClientData>().is_some()
}

impl State {
    /// Stops the built-in Xwayland: its client is disconnected, the window manager
    /// dropped, the process killed and reaped.
    pub(crate) fn stop_xwayland(&mut self, why: &str) {
        let Some(x11) = self.x11.take() else {
            return;
        };
        tracing::info!(display = x11.display, why, "stopping Xwayland");
        // Its callback holds a loop handle: left in the loop, it would keep the loop (and
        // every source in it) alive after the compositor thread ends.
        if let (Some(wm), Some(handle)) = (x11.wm.as_ref(), self.loop_handle.as_ref())
            && let Some(token) = wm.event_source()
        {
            handle.remove(token);
        }
        self.dh
            .backend_handle()
            .kill_client(x11.client.id(), DisconnectReason::ConnectionClosed);
        let windows: Vec<_> = self
            .space
            .elements()
            .filter(|w| w.is_x11())
            .cloned()
            .collect();
        for window in windows {
            self.space.unmap_elem(&window);
        }
        self.changed.mark();
        drop(x11);
    }

    fn x11_window(&self, surface: &X11Surface) -> Option<Window> {
        self.space
            .elements()
            .find(|w| w.x11_surface() == Some(surface))
            .cloned()
    }

    fn x11_placement(&self, surface: &X11Surface) -> Placement {
        if surface.is_fullscreen() {
            return Placement::Fullscreen;
        }
        let fixed = match (surface.min_size(), surface.max_size()) {
            (Some(min), Some(max)) => min == max && min.w > 0 && min.h > 0,
            _ => false,
        };
        let dialog = matches!(
            surface.window_type(),
            Some(
                WmWindowType::Dialog
                    | WmWindowType::Utility
                    | WmWindowType::Splash
                    | WmWindowType::Toolbar
            )
        );
        if surface.is_transient_for().is_some() || fixed || dialog {
            return Placement::Floating;
        }
        match self.window.mode {
            WindowMode::Maximized => Placement::Maximized,
            WindowMode::Fullscreen => Placement::Fullscreen,
        }
    }

    /// Where the policy puts a managed X11 window, and its states set to match.
    fn x11_rect(&self, surface: &X11Surface) -> Rectangle<i32, Logical> {
        let output = Rectangle::from_size(self.output_logical_size());
        let usable = self.usable_area();
        let placement = self.x11_placement(surface);
        let _ = surface.set_maximized(placement == Placement::Maximized);
        let _ = surface.set_fullscreen(placement == Placement::Fullscreen);
        match placement {
            Placement::Maximized => usable,
            Placement::Fullscreen => output,
            Placement::Floating => {
                let size = surface.geometry().size;
                let within = surface
                    .is_transient_for()
                    .and_then(|parent| {
                        self.space.elements().find_map(|w| {
                            let x = w.x11_surface()?;
                            (x.window_id() == parent).then(|| x.geometry())
                        })
                    })
                    .unwrap_or(usable);
                Rectangle::new(centred(size, within), size)
            }
        }
    }

    /// Applies the policy to a managed X11 window: configures it and moves it there.
    pub(crate) fn place_x11(&mut self, window: &Window) {
        let Some(surface) = window.x11_surface() else {
            return;
        };
        if surface.is_override_redirect() {
            return;
        }
        let rect = self.x11_rect(surface);
        if let Err(err) = surface.configure(rect) {
            tracing::debug!(%err, "could not configure an X11 window");
        }
        if self.space.element_location(window) != Some(rect.loc) {
            self.space.map_element(window.clone(), rect.loc, false);
        }
        self.update_foreign_toplevels();
        self.changed.mark();
    }

    /// Focus goes to the window on top once an unmapped X11 window leaves.
    fn x11_window_gone(&mut self, surface: &X11Surface) {
        if let Some(window) = self.x11_window(surface) {
            self.space.unmap_elem(&window);
        }
        if let Some(x11) = self.x11.as_mut() {
            x11.associated.remove(&surface.window_id());
            if x11.focus_when_associated.as_ref() == Some(surface) {
                x11.focus_when_associated = None;
            }
        }
        if surface.is_override_redirect() {
            self.changed.mark();
            return;
        }
        let parent = surface.is_transient_for().and_then(|parent| {
            self.space.elements().find_map(|w| {
                let x = w.x11_surface()?;
                (x.window_id() == parent).then(|| w.clone())
            })
        });
        let next = parent.or_else(|| {
            self.space
                .elements()
                .rev()
                .find(|w| {
                    !w.x11_surface()
                        .is_some_and(X11Surface::is_override_redirect)
                })
                .cloned()
        });
        self.focus_keyboard(next.and_then(|w| w.wl_surface().map(|s| s.into_owned())));
        self.update_foreign_toplevels();
        self.changed.mark();
    }

    /// X11 windows whose wl_surface became known since the last look (Xwayland names it
    /// in a message to the window manager, with no callback to us): the frame is drawn
    /// again, since their first buffer may have come before and they wait for its frame
    /// callback, and a window due focus gets it.
    pub(crate) fn x11_associations(&mut self) {
        let Some(x11) = self.x11.as_mut() else {
            return;
        };
        // Xwayland before 23.1 names the surface by its id (`WL_SURFACE_ID`), which Smithay
        // records but leaves to us to look up.
        for window in self.space.elements() {
            let Some(x) = window.x11_surface() else {
                continue;
            };
            #[allow(deprecated)]
            let named = x.wl_surface_id();
            if x.wl_surface().is_none()
                && let Some(id) = named
                && let Ok(surface) = x11
                    .client
                    .object_from_protocol_id::<WlSurface>(&self.dh, id)
            {
                x.set_wl_surface(surface);
            }
        }
        let fresh: Vec<(X11Surface, WlSurface)> = self
            .space
            .elements()
            .filter_map(|w| {
                let x = w.x11_surface()?;
                let wl = x.wl_surface()?;
                (!x11.associated.contains(&x.window_id())).then(|| (x.clone(), wl))
            })
            .collect();
        let mut focus = None;
        for (x, wl) in fresh {
            x11.associated.insert(x.window_id());
            self.changed.mark();
            if x11.focus_when_associated.as_ref() == Some(&x) {
                x11.focus_when_associated = None;
                focus = Some(wl);
            }
        }
        if focus.is_some() {
            self.focus_keyboard(focus);
        }
    }
}

impl XWaylandShellHandler for State {
    fn xwayland_shell_state(&mut self) -> &mut XWaylandShellState {
        &mut self.xwayland_shell_state
    }
}

impl XwmHandler for State {
    fn xwm_state(&mut self, _xwm: XwmId) -> &mut X11Wm {
        match self.x11.as_mut().and_then(|x11| x11.wm.as_mut()) {
            Some(wm) => wm,
            None => {
                // Smithay only asks with the id of a window manager it made, and ours lives
                // as long as the Xwayland client it serves (stop_xwayland disconnects the
                // client before dropping it). The trait wants a reference, not an Option,
                // so a broken invariant cannot be answered otherwise.
                tracing::error!("X11 window manager asked for while none runs");
                std::process::abort()
            }
        }
    }

    fn new_window(&mut self, _xwm: XwmId, _window: X11Surface) {}

    fn new_override_redirect_window(&mut self, _xwm: XwmId, _window: X11Surface) {}

    fn map_window_request(&mut self, _xwm: XwmId, surface: X11Surface) {
        if let Err(err) = surface.set_mapped(true) {
            tracing::debug!(%err, "could not map an X11 window");
            return;
        }
        let window = Window::new_x11_window(surface.clone());
        let rect = self.x11_rect(&surface);
        if let Err(err) = surface.configure(rect) {
            tracing::debug!(%err, "could not configure an X11 window");
        }
        self.space.map_element(window.clone(), rect.loc, true);
        if let Some(wm) = self.x11.as_mut().and_then(|x11| x11.wm.as_mut()) {
            let _ = wm.raise_window(&surface);
        }
        match surface.wl_surface() {
            Some(wl) => self.focus_keyboard(Some(wl)),
            None => {
                if let Some(x11) = self.x11.as_mut() {
                    x11.focus_when_associated = Some(surface);
                }
            }
        }
        self.update_foreign_toplevels();
        self.changed.mark();
    }

    /// A title or class that changed reaches foreign toplevel handles.
    fn property_notify(&mut self, _xwm: XwmId, _surface: X11Surface, _property: WmWindowProperty) {
        self.update_foreign_toplevels();
    }

    fn mapped_override_redirect_window(&mut self, _xwm: XwmId, surface: X11Surface) {
        let at = surface.geometry().loc;
        self.space
            .map_element(Window::new_x11_window(surface), at, true);
        self.changed.mark();
    }

    fn unmapped_window(&mut self, _xwm: XwmId, surface: X11Surface) {
        if !surface.is_override_redirect() {
            let _ = surface.set_mapped(false);
        }
        self.x11_window_gone(&surface);
    }

    fn destroyed_window(&mut self, _xwm: XwmId, surface: X11Surface) {
        self.x11_window_gone(&surface);
    }

    fn configure_request(
        &mut self,
        _xwm: XwmId,
        surface: X11Surface,
        _x: Option<i32>,
        _y: Option<i32>,
        w: Option<u32>,
        h: Option<u32>,
        _reorder: Option<Reorder>,
    ) {
        // Managed windows go where the policy says; a floating one may pick its size.
        let mut rect = self.x11_rect(&surface);
        if self.x11_placement(&surface) == Placement::Floating {
            let size = |v: Option<u32>, now: i32| {
                v.and_then(|v| i32::try_from(v).ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(now)
                    .min(crate::comp::COORD_LIMIT)
            };
            let wanted = (size(w, rect.size.w), size(h, rect.size.h)).into();
            let output = Rectangle::from_size(self.output_logical_size());
            rect = Rectangle::new(centred(wanted, output), wanted);
        }
        if let Err(err) = surface.configure(rect) {
            tracing::debug!(%err, "could not configure an X11 window");
        }
        if let Some(window) = self.x11_window(&surface)
            && self.space.element_location(&window) != Some(rect.loc)
        {
            self.space.map_element(window, rect.loc, false);
        }
        self.changed.mark();
    }

    fn configure_notify(
        &mut self,
        _xwm: XwmId,
        surface: X11Surface,
        geometry: Rectangle<i32, Logical>,
        _above: Option<u32>,
    ) {
        // Only override-redirect windows place themselves.
        if !surface.is_override_redirect() {
            return;
        }
        if let Some(window) = self.x11_window(&surface) {
            self.space.map_element(window, geometry.loc, false);
            self.changed.mark();
        }
    }

    fn fullscreen_request(&mut self, _xwm: XwmId, surface: X11Surface) {
        let _ = surface.set_fullscreen(true);
        if let Some(window) = self.x11_window(&surface) {
            self.place_x11(&window);
        }
    }

    fn unfullscreen_request(&mut self, _xwm: XwmId, surface: X11Surface) {
        let _ = surface.set_fullscreen(false);
        if let Some(window) = self.x11_window(&surface) {
            self.place_x11(&window);
        }
    }

    fn maximize_request(&mut self, _xwm: XwmId, surface: X11Surface) {
        if let Some(window) = self.x11_window(&surface) {
            self.place_x11(&window);
        }
    }

    fn unmaximize_request(&mut self, _xwm: XwmId, surface: X11Surface) {
        if let Some(window) = self.x11_window(&surface) {
            self.place_x11(&window);
        }
    }

    // A kiosk: windows are not moved or resized interactively.
    fn resize_request(&mut self, _: XwmId, _: X11Surface, _: u32, _: ResizeEdge) {}

    fn move_request(&mut self, _: XwmId, _: X11Surface, _: u32) {}

    // A lobby is one user's session: X11 apps read the clipboard as Wayland apps do.
    fn allow_selection_access(&mut self, _xwm: XwmId, _selection: SelectionTarget) -> bool {
        true
    }

    fn send_selection(
        &mut self,
        _xwm: XwmId,
        selection: SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
    ) {
        if selection != SelectionTarget::Clipboard {
            return;
        }
        if matches!(self.clipboard, Clipboard::Owner(_)) {
            self.paste_held_clipboard(mime_type, fd);
        } else if let Err(err) = request_data_device_client_selection(&self.seat, mime_type, fd) {
            tracing::debug!(?err, "the Wayland selection could not be read for X11");
        }
    }

    fn new_selection(&mut self, _xwm: XwmId, selection: SelectionTarget, mime_types: Vec<String>) {
        if selection == SelectionTarget::Clipboard {
            set_data_device_selection(&self.dh, &self.seat, mime_types.clone(), ());
            self.clipboard = Clipboard::X11(mime_types);
        }
    }

    fn cleared_selection(&mut self, _xwm: XwmId, selection: SelectionTarget) {
        if selection == SelectionTarget::Clipboard {
            self.clipboard = Clipboard::Empty;
            clear_data_device_selection(&self.dh, &self.seat);
        }
    }

    fn disconnected(&mut self, _xwm: XwmId) {
        tracing::warn!("the X11 window manager lost its connection to Xwayland");
        if let Some(x11) = self.x11.as_mut() {
            x11.lost = true;
        }
    }
}
