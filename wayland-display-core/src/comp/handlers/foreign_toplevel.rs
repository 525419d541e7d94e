//! `zwlr_foreign_toplevel_manager_v1` (wlroots), which Smithay lacks: a client (a task
//! bar, a window switcher, an agent driving the lobby) lists every window with its title,
//! app id and states, and maximizes, fullscreens, activates or closes it. A privileged
//! protocol: offered only with `privileged-protocols`, since such a client sees and
//! controls every window as the user does.
//!
//! The windows listed are the mapped xdg toplevels (with a buffer) and the managed X11
//! windows of the space. What each handle was last told is kept with it; every change
//! (a window mapped or gone, a title, app id, state or parent that changed, a new
//! manager, a wl_output bound) calls [`State::update_foreign_toplevels`], which sends each
//! handle what differs, then `done`. Requests take the path the window's own requests
//! take, through the window policy; minimizing does not exist in a kiosk and is ignored.

use smithay::desktop::Window;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel;
use smithay::reexports::wayland_protocols_wlr::foreign_toplevel::v1::server::{
    zwlr_foreign_toplevel_handle_v1::{self, ZwlrForeignToplevelHandleV1},
    zwlr_foreign_toplevel_manager_v1::{self, ZwlrForeignToplevelManagerV1},
};
use smithay::reexports::wayland_server::backend::{ClientId, GlobalId};
use smithay::reexports::wayland_server::protocol::wl_output::WlOutput;
use smithay::reexports::wayland_server::{
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource,
};
use smithay::wayland::compositor::with_states;
use smithay::wayland::shell::xdg::{XdgShellHandler, XdgToplevelSurfaceData};
use smithay::xwayland::XwmHandler;

use crate::comp::State;

/// The protocol's latest version (v2 adds fullscreen, v3 the parent).
const VERSION: u32 = 3;

/// Managers one client may have bound at once; a bind past it is answered `finished` at
/// once, so that binding again and again cannot multiply the handles.
const MANAGERS_PER_CLIENT: usize = 4;

/// The longest title or app id sent, in bytes (cut at a character boundary): a client's
/// string, kept well inside a Wayland message.
const TEXT_LIMIT: usize = 1024;

/// The listed windows, and the managers that get events.
#[derive(Default)]
pub(crate) struct ForeignToplevels {
    managers: Vec<ZwlrForeignToplevelManagerV1>,
    entries: Vec<Entry>,
    next_id: u64,
}

/// One listed window, and its handle for each manager.
struct Entry {
    id: u64,
    window: Window,
    handles: Vec<Handle>,
}

/// A handle, and what its client was last told.
struct Handle {
    manager: ZwlrForeignToplevelManagerV1,
    handle: ZwlrForeignToplevelHandleV1,
    sent: Option<Snapshot>,
    outputs: Vec<WlOutput>,
}

/// What a handle says about its window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Snapshot {
    title: Option<String>,
    app_id: Option<String>,
    maximized: bool,
    activated: bool,
    fullscreen: bool,
    /// The entry id of the window's parent, if that is listed.
    parent: Option<u64>,
}

/// A handle's data: the entry of its window. Once the window is gone (its `closed` was
/// sent) no entry has the id, and the handle's requests do nothing.
pub(crate) struct HandleData {
    id: u64,
}

/// `text`, cut to at most [`TEXT_LIMIT`] bytes.
fn bounded(mut text: String) -> String {
    if text.len() > TEXT_LIMIT {
        let mut end = TEXT_LIMIT;
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
    }
    text
}

/// Whether `window` is one the protocol lists: a mapped xdg toplevel or a managed X11
/// window (menus and tooltips are not windows).
fn listed(window: &Window) -> bool {
    if let Some(x11) = window.x11_surface() {
        return !x11.is_override_redirect() && x11.is_mapped();
    }
    window
        .toplevel()
        .is_some_and(|toplevel| super::xdg_shell::has_buffer(toplevel.wl_surface()))
}

/// The protocol's state array: each state a native-endian u32.
fn state_array(snapshot: &Snapshot, version: u32) -> Vec<u8> {
    use zwlr_foreign_toplevel_handle_v1::State as S;
    let states = [
        (snapshot.maximized, S::Maximized),
        (snapshot.activated, S::Activated),
        // Since version 2.
        (snapshot.fullscreen && version >= 2, S::Fullscreen),
    ];
    states
        .into_iter()
        .filter(|(on, _)| *on)
        .flat_map(|(_, state)| u32::from(state).to_ne_bytes())
        .collect()
}

impl State {
    /// The window's title, app id and states as the policy has them now.
    fn snapshot(&self, window: &Window) -> Snapshot {
        let entries = &self.foreign_toplevels.entries;
        let entry_of = |parent: &Window| {
            entries
                .iter()
                .find(|e| &e.window == parent)
                .map(|entry| entry.id)
        };
        if let Some(x11) = window.x11_surface() {
            let parent = x11.is_transient_for().and_then(|id| {
                self.space
                    .elements()
                    .find(|w| w.x11_surface().is_some_and(|x| x.window_id() == id))
                    .and_then(entry_of)
            });
            return Snapshot {
                title: Some(bounded(x11.title())),
                app_id: Some(bounded(x11.class())),
                maximized: x11.is_maximized(),
                activated: x11.is_activated(),
                fullscreen: x11.is_fullscreen(),
                parent,
            };
        }
        let Some(toplevel) = window.toplevel() else {
            return Snapshot::default();
        };
        let (title, app_id) = with_states(toplevel.wl_surface(), |states| {
            states
                .data_map
                .get::<XdgToplevelSurfaceData>()
                .and_then(|data| data.lock().ok())
                .map(|role| (role.title.clone(), role.app_id.clone()))
                .unwrap_or_default()
        });
        let (maximized, activated, fullscreen) = toplevel.with_pending_state(|state| {
            (
                state.states.contains(xdg_toplevel::State::Maximized),
                state.states.contains(xdg_toplevel::State::Activated),
                state.states.contains(xdg_toplevel::State::Fullscreen),
            )
        });
        let parent = toplevel
            .parent()
            .and_then(|parent| self.window_of(&parent))
            .and_then(|parent| entry_of(&parent));
        Snapshot {
            title: title.map(bounded),
            app_id: app_id.map(bounded),
            maximized,
            activated,
            fullscreen,
            parent,
        }
    }

    /// Tells every manager what changed among the windows since the last call: new
    /// windows get a handle and all their details, gone ones `closed`, changed ones the
    /// changed events; each handle told anything gets `done`.
    pub(crate) fn update_foreign_toplevels(&mut self) {
        let registry = &mut self.foreign_toplevels;
        registry.managers.retain(Resource::is_alive);
        if registry.managers.is_empty() {
            // Every handle belonged to a manager that is gone with its client.
            registry.entries.clear();
            return;
        }
        let current: Vec<Window> = self
            .space
            .elements()
            .filter(|w| listed(w))
            .cloned()
            .collect();
        let registry = &mut self.foreign_toplevels;
        registry.entries.retain(|entry| {
            let keep = current.contains(&entry.window);
            if !keep {
                for handle in &entry.handles {
                    handle.handle.closed();
                }
            }
            keep
        });
        for window in current {
            if !registry.entries.iter().any(|e| e.window == window) {
                let id = registry.next_id;
                registry.next_id = registry.next_id.wrapping_add(1);
                registry.entries.push(Entry {
                    id,
                    window,
                    handles: Vec::new(),
                });
            }
        }
        // Every entry has a handle for every manager before any parent is named. A handle
        // its client destroyed stays in the list, dead: the window is not announced to
        // that manager again.
        for entry in &mut registry.entries {
            for manager in &registry.managers {
                if entry.handles.iter().any(|h| &h.manager == manager) {
                    continue;
                }
                if let Some(handle) = new_handle(&self.dh, manager, entry.id) {
                    manager.toplevel(&handle);
                    entry.handles.push(Handle {
                        manager: manager.clone(),
                        handle,
                        sent: None,
                        outputs: Vec::new(),
                    });
                }
            }
        }
        let snapshots: Vec<Snapshot> = self
            .foreign_toplevels
            .entries
            .iter()
            .map(|entry| self.snapshot(&entry.window))
            .collect();
        let registry = &self.foreign_toplevels;
        let mut updates = Vec::new();
        for (index, (entry, now)) in registry.entries.iter().zip(&snapshots).enumerate() {
            for (slot, handle) in entry.handles.iter().enumerate() {
                if !handle.handle.is_alive() {
                    continue;
                }
                let outputs: Vec<WlOutput> = handle
                    .handle
                    .client()
                    .map(|client| self.output.client_outputs(&client).collect())
                    .unwrap_or_default();
                let new_outputs: Vec<WlOutput> = outputs
                    .into_iter()
                    .filter(|o| !handle.outputs.contains(o))
                    .collect();
                if handle.sent.as_ref() == Some(now) && new_outputs.is_empty() {
                    continue;
                }
                let parent = now.parent.and_then(|id| {
                    registry
                        .entries
                        .iter()
                        .find(|e| e.id == id)?
                        .handles
                        .iter()
                        .find(|h| h.manager == handle.manager)
                        // A parent handle its client destroyed cannot be named.
                        .filter(|h| h.handle.is_alive())
                        .map(|h| h.handle.clone())
                });
                send(handle, now, parent.as_ref(), &new_outputs);
                updates.push((index, slot, new_outputs));
            }
        }
        let registry = &mut self.foreign_toplevels;
        for (index, slot, new_outputs) in updates {
            let (Some(entry), Some(now)) = (registry.entries.get_mut(index), snapshots.get(index))
            else {
                continue;
            };
            if let Some(handle) = entry.handles.get_mut(slot) {
                handle.sent = Some(now.clone());
                handle.outputs.retain(Resource::is_alive);
                handle.outputs.extend(new_outputs);
            }
        }
    }

    /// The window of the handle's entry, while it is listed.
    fn foreign_window(&self, data: &HandleData) -> Option<Window> {
        self.foreign_toplevels
            .entries
            .iter()
            .find(|e| e.id == data.id)
            .map(|e| e.window.clone())
    }

    /// The window's own maximize or fullscreen request, as its client would make it.
    fn request_for(&mut self, window: &Window, request: WindowRequest) {
        if let Some(x11) = window.x11_surface() {
            let Some(xwm) = x11.xwm_id() else {
                return;
            };
            let x11 = x11.clone();
            match request {
                WindowRequest::Maximize => XwmHandler::maximize_request(self, xwm, x11),
                WindowRequest::Unmaximize => XwmHandler::unmaximize_request(self, xwm, x11),
                WindowRequest::Fullscreen => XwmHandler::fullscreen_request(self, xwm, x11),
                WindowRequest::Unfullscreen => XwmHandler::unfullscreen_request(self, xwm, x11),
            }
        } else if let Some(toplevel) = window.toplevel() {
            let toplevel = toplevel.clone();
            match request {
                WindowRequest::Maximize => XdgShellHandler::maximize_request(self, toplevel),
                WindowRequest::Unmaximize => XdgShellHandler::unmaximize_request(self, toplevel),
                WindowRequest::Fullscreen => {
                    XdgShellHandler::fullscreen_request(self, toplevel, None);
                }
                WindowRequest::Unfullscreen => {
                    XdgShellHandler::unfullscreen_request(self, toplevel);
                }
            }
        }
        self.update_foreign_toplevels();
    }
}

#[derive(Clone, Copy)]
enum WindowRequest {
    Maximize,
    Unmaximize,
    Fullscreen,
    Unfullscreen,
}

/// A new handle for `manager`'s client, at the manager's version.
fn new_handle(
    dh: &DisplayHandle,
    manager: &ZwlrForeignToplevelManagerV1,
    id: u64,
) -> Option<ZwlrForeignToplevelHandleV1> {
    let client = manager.client()?;
    client
        .create_resource::<ZwlrForeignToplevelHandleV1, _, State>(
            dh,
            manager.version(),
            HandleData { id },
        )
        .ok()
}

/// Sends `handle` what differs between what it was told and `now`, then `done`.
fn send(
    handle: &Handle,
    now: &Snapshot,
    parent: Option<&ZwlrForeignToplevelHandleV1>,
    new_outputs: &[WlOutput],
) {
    let before = handle.sent.as_ref();
    let target = &handle.handle;
    let version = target.version();
    if before.map(|b| &b.title) != Some(&now.title)
        && let Some(title) = &now.title
    {
        target.title(title.clone());
    }
    if before.map(|b| &b.app_id) != Some(&now.app_id)
        && let Some(app_id) = &now.app_id
    {
        target.app_id(app_id.clone());
    }
    let states = state_array(now, version);
    if before.is_none_or(|b| state_array(b, version) != states) {
        target.state(states);
    }
    for output in new_outputs {
        target.output_enter(output);
    }
    let parent_changed = before.map(|b| b.parent) != Some(now.parent);
    // Version 3; a new handle has no parent to begin with.
    if version >= 3 && parent_changed && (before.is_some() || now.parent.is_some()) {
        target.parent(parent);
    }
    target.done();
}

pub(crate) fn new_global(dh: &DisplayHandle) -> GlobalId {
    dh.create_global::<State, ZwlrForeignToplevelManagerV1, _>(VERSION, ())
}

impl GlobalDispatch<ZwlrForeignToplevelManagerV1, ()> for State {
    fn bind(
        state: &mut Self,
        _dh: &DisplayHandle,
        client: &Client,
        resource: New<ZwlrForeignToplevelManagerV1>,
        _global_data: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        let manager = data_init.init(resource, ());
        let registry = &mut state.foreign_toplevels;
        registry.managers.retain(Resource::is_alive);
        let bound = registry
            .managers
            .iter()
            .filter(|m| m.client().is_some_and(|c| c.id() == client.id()))
            .count();
        if bound >= MANAGERS_PER_CLIENT {
            tracing::debug!("foreign toplevel managers per client reached: finished at once");
            manager.finished();
            return;
        }
        registry.managers.push(manager);
        state.update_foreign_toplevels();
    }
}

impl Dispatch<ZwlrForeignToplevelManagerV1, ()> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        manager: &ZwlrForeignToplevelManagerV1,
        request: zwlr_foreign_toplevel_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        if let zwlr_foreign_toplevel_manager_v1::Request::Stop = request {
            state.forget_manager(manager);
            // A destructor event: the object is gone once it is sent.
            if manager.is_alive() {
                manager.finished();
            }
        }
    }

    fn destroyed(
        state: &mut Self,
        _client: ClientId,
        manager: &ZwlrForeignToplevelManagerV1,
        _data: &(),
    ) {
        state.forget_manager(manager);
    }
}

impl State {
    /// No more events for `manager`: its handles stay valid objects but are not updated.
    fn forget_manager(&mut self, manager: &ZwlrForeignToplevelManagerV1) {
        let registry = &mut self.foreign_toplevels;
        registry.managers.retain(|m| m != manager);
        for entry in &mut registry.entries {
            entry.handles.retain(|h| &h.manager != manager);
        }
    }
}

impl Dispatch<ZwlrForeignToplevelHandleV1, HandleData> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        handle: &ZwlrForeignToplevelHandleV1,
        request: zwlr_foreign_toplevel_handle_v1::Request,
        data: &HandleData,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        use zwlr_foreign_toplevel_handle_v1::Request;
        if let Request::SetRectangle { width, height, .. } = &request {
            // Where a task bar shows the window, for minimize animations: there are none.
            if *width < 0 || *height < 0 {
                handle.post_error(
                    zwlr_foreign_toplevel_handle_v1::Error::InvalidRectangle,
                    "negative width or height",
                );
            }
            return;
        }
        let Some(window) = state.foreign_window(data) else {
            // Closed: the handle is inert.
            return;
        };
        match request {
            Request::SetMaximized => state.request_for(&window, WindowRequest::Maximize),
            Request::UnsetMaximized => state.request_for(&window, WindowRequest::Unmaximize),
            // One output: whichever one is named, the window goes fullscreen on it.
            Request::SetFullscreen { .. } => state.request_for(&window, WindowRequest::Fullscreen),
            Request::UnsetFullscreen => state.request_for(&window, WindowRequest::Unfullscreen),
            // A kiosk has no minimized windows; the handle never says minimized.
            Request::SetMinimized | Request::UnsetMinimized => {}
            // One seat: raised and focused as a click on it would.
            Request::Activate { .. } => state.raise_and_focus(&window),
            Request::Close => {
                if let Some(x11) = window.x11_surface() {
                    if let Err(err) = x11.close() {
                        tracing::debug!(%err, "could not close an X11 window");
                    }
                } else if let Some(toplevel) = window.toplevel() {
                    toplevel.send_close();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_at_a_character_boundary() {
        assert_eq!(bounded("short".into()), "short");
        let long = "é".repeat(TEXT_LIMIT);
        let cut = bounded(long);
        assert!(cut.len() <= TEXT_LIMIT);
        assert_eq!(cut.len(), TEXT_LIMIT);
        let odd = format!("a{}", "é".repeat(TEXT_LIMIT));
        assert_eq!(bounded(odd).len(), TEXT_LIMIT.saturating_sub(1));
    }

    #[test]
    fn the_state_array_has_fullscreen_from_version_2() {
        let snapshot = Snapshot {
            maximized: true,
            fullscreen: true,
            ..Snapshot::default()
        };
        assert_eq!(state_array(&snapshot, 1), 0u32.to_ne_bytes().to_vec());
        let both: Vec<u8> = [0u32, 3].iter().flat_map(|s| s.to_ne_bytes()).collect();
        assert_eq!(state_array(&snapshot, 2), both);
        assert!(state_array(&Snapshot::default(), 3).is_empty());
    }
}
