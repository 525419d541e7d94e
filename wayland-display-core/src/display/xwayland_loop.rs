//! The event loop's side of the built-in Xwayland: watching the X display's sockets until
//! the first X11 client connects (on demand), starting `Xwayland` on them, waiting for its
//! readiness, and starting Smithay's window manager. The loop's data implements
//! [`XwmHandler`] by handing every call to the compositor state, since the window
//! manager's event source runs with the loop's data.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use smithay::reexports::calloop::generic::Generic;
use smithay::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay::reexports::calloop::{Interest, Mode, PostAction, RegistrationToken};
use smithay::reexports::wayland_server::Client;
use smithay::utils::{Logical, Rectangle};
use smithay::wayland::selection::SelectionTarget;
use smithay::wayland::xwayland_shell::{XWaylandShellHandler, XWaylandShellState};
use smithay::xwayland::xwm::{Reorder, ResizeEdge, XwmId};
use smithay::xwayland::{X11Surface, X11Wm, XWaylandClientData, XwmHandler};

use super::event_loop::LoopData;
use crate::comp::X11;
use crate::xwayland::XwaylandError;
use crate::xwayland::process::{self, Readiness};

/// How long Xwayland may take to serve clients before it is given up.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The X display the compositor thread serves.
#[derive(Debug)]
pub(crate) struct X11Setup {
    pub(crate) number: u32,
    pub(crate) listeners: Vec<OwnedFd>,
    /// `Xwayland` on PATH, if there is one: missing is an error only when X11 is used.
    pub(crate) program: Option<PathBuf>,
    /// Started with the compositor rather than at the first X11 client.
    pub(crate) start_now: bool,
}

/// An X display not yet served: its sockets and what watches them.
pub(super) struct Waiting {
    setup: X11Setup,
    watches: Vec<RegistrationToken>,
}

/// Serves `setup`: starts Xwayland now, or watches its sockets for the first client.
pub(super) fn arm(data: &mut LoopData, setup: X11Setup) -> Result<(), XwaylandError> {
    if setup.start_now {
        return start(data, setup);
    }
    let mut watches = Vec::new();
    for listener in &setup.listeners {
        let watched = listener.try_clone().map_err(XwaylandError::Spawn)?;
        let token = data
            .handle
            .insert_source(
                Generic::new(watched, Interest::READ, Mode::Level),
                |_, _, data: &mut LoopData| {
                    start_on_demand(data);
                    Ok(PostAction::Continue)
                },
            )
            .map_err(|e| XwaylandError::Spawn(std::io::Error::other(e.error.to_string())))?;
        watches.push(token);
    }
    data.x11_waiting = Some(Waiting { setup, watches });
    Ok(())
}

/// The first X11 client is knocking: Xwayland starts on the sockets, where the client's
/// connection waits to be accepted.
fn start_on_demand(data: &mut LoopData) {
    let Some(waiting) = data.x11_waiting.take() else {
        return;
    };
    for token in waiting.watches {
        data.handle.remove(token);
    }
    let number = waiting.setup.number;
    if let Err(err) = start(data, waiting.setup) {
        // The sockets are closed with the setup: X11 clients are refused, not left hanging.
        tracing::error!(display = number, %err, "an X11 client connected but Xwayland could not start");
    }
}

fn start(data: &mut LoopData, setup: X11Setup) -> Result<(), XwaylandError> {
    let program = setup.program.ok_or(XwaylandError::NotInstalled)?;
    let spawned = process::spawn(&program, setup.number, &setup.listeners)?;
    // Xwayland has its own copies now.
    drop(setup.listeners);
    let mut dh = data.state.dh.clone();
    let client = dh
        .insert_client(spawned.wayland, Arc::new(XWaylandClientData::new(|_| {})))
        .map_err(XwaylandError::Spawn)?;
    data.clients.push(client.id());
    data.state.x11 = Some(X11 {
        display: setup.number,
        process: spawned.process,
        client: client.clone(),
        wm: None,
        focus_when_associated: None,
        associated: Default::default(),
        lost: false,
    });

    let mut wm_socket = Some(spawned.wm);
    let ready = data.handle.insert_source(
        Generic::new(spawned.ready, Interest::READ, Mode::Level),
        move |_, ready, data: &mut LoopData| {
            match ready.poll() {
                Ok(Readiness::Waiting) => return Ok(PostAction::Continue),
                Ok(Readiness::Ready) => {
                    if let Some(socket) = wm_socket.take() {
                        start_wm(data, socket, client.clone());
                    }
                }
                Ok(Readiness::Gone) => stopped_early(data, "it exited before it was ready"),
                Err(err) => stopped_early(data, &format!("its readiness pipe failed: {err}")),
            }
            Ok(PostAction::Remove)
        },
    );
    let ready =
        ready.map_err(|e| XwaylandError::Spawn(std::io::Error::other(e.error.to_string())))?;
    // The callback takes the loop handle from the loop's data: one it captured would keep
    // the loop alive for as long as the timer stays in it.
    let timeout =
        data.handle
            .insert_source(Timer::from_duration(READY_TIMEOUT), move |_, _, data| {
                if data.state.x11.as_ref().is_some_and(|x11| x11.wm.is_none()) {
                    data.handle.remove(ready);
                    stopped_early(data, &format!("it was not ready within {READY_TIMEOUT:?}"));
                }
                TimeoutAction::Drop
            });
    if let Err(err) = timeout {
        tracing::warn!(error = %err.error, "no timeout on Xwayland's start");
    }
    Ok(())
}

fn start_wm(data: &mut LoopData, socket: UnixStream, client: Client) {
    match X11Wm::start_wm(data.handle.clone(), socket, client) {
        Ok(mut wm) => {
            // A Wayland client may have copied before Xwayland started.
            if let Some(mime_types) = data.state.clipboard.wayland_types()
                && let Err(err) = wm.new_selection(SelectionTarget::Clipboard, Some(mime_types))
            {
                tracing::debug!(%err, "could not offer the clipboard to X11");
            }
            if let Some(x11) = data.state.x11.as_mut() {
                tracing::info!(
                    display = x11.display,
                    pid = x11.process.pid(),
                    "Xwayland ready"
                );
                x11.wm = Some(wm);
            }
        }
        Err(err) => {
            let why = format!("its window manager could not start: {err}");
            stopped_early(data, &why);
        }
    }
}

fn stopped_early(data: &mut LoopData, why: &str) {
    let said = data
        .state
        .x11
        .as_ref()
        .map(|x11| x11.process.last_words())
        .unwrap_or_default();
    tracing::error!(why, xwayland_said = %said, "Xwayland failed; X11 clients are refused");
    data.state.stop_xwayland(why);
}

/// After each dispatch: Xwayland whose window manager lost it, or which exited, is
/// stopped and its windows removed.
pub(super) fn check(data: &mut LoopData) {
    data.state.x11_associations();
    let Some(x11) = data.state.x11.as_mut() else {
        return;
    };
    let exited = x11.process.exited();
    if x11.lost || exited.is_some() {
        let why = match exited {
            Some(status) => format!("Xwayland exited ({status})"),
            None => "the window manager lost its connection".to_owned(),
        };
        let said = x11.process.last_words();
        tracing::error!(%why, xwayland_said = %said, "Xwayland is gone; X11 clients are refused");
        data.state.stop_xwayland(&why);
    }
}

// The window manager's source runs with the loop's data: every call goes to the state.
impl XWaylandShellHandler for LoopData {
    fn xwayland_shell_state(&mut self) -> &mut XWaylandShellState {
        self.state.xwayland_shell_state()
    }
}

impl XwmHandler for LoopData {
    fn xwm_state(&mut self, xwm: XwmId) -> &mut X11Wm {
        XwmHandler::xwm_state(&mut self.state, xwm)
    }
    fn new_window(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::new_window(&mut self.state, xwm, window);
    }
    fn new_override_redirect_window(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::new_override_redirect_window(&mut self.state, xwm, window);
    }
    fn map_window_request(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::map_window_request(&mut self.state, xwm, window);
    }
    fn mapped_override_redirect_window(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::mapped_override_redirect_window(&mut self.state, xwm, window);
    }
    fn unmapped_window(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::unmapped_window(&mut self.state, xwm, window);
    }
    fn destroyed_window(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::destroyed_window(&mut self.state, xwm, window);
    }
    fn configure_request(
        &mut self,
        xwm: XwmId,
        window: X11Surface,
        x: Option<i32>,
        y: Option<i32>,
        w: Option<u32>,
        h: Option<u32>,
        reorder: Option<Reorder>,
    ) {
        XwmHandler::configure_request(&mut self.state, xwm, window, x, y, w, h, reorder);
    }
    fn configure_notify(
        &mut self,
        xwm: XwmId,
        window: X11Surface,
        geometry: Rectangle<i32, Logical>,
        above: Option<u32>,
    ) {
        XwmHandler::configure_notify(&mut self.state, xwm, window, geometry, above);
    }
    fn maximize_request(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::maximize_request(&mut self.state, xwm, window);
    }
    fn unmaximize_request(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::unmaximize_request(&mut self.state, xwm, window);
    }
    fn fullscreen_request(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::fullscreen_request(&mut self.state, xwm, window);
    }
    fn unfullscreen_request(&mut self, xwm: XwmId, window: X11Surface) {
        XwmHandler::unfullscreen_request(&mut self.state, xwm, window);
    }
    fn resize_request(&mut self, xwm: XwmId, window: X11Surface, button: u32, edge: ResizeEdge) {
        XwmHandler::resize_request(&mut self.state, xwm, window, button, edge);
    }
    fn move_request(&mut self, xwm: XwmId, window: X11Surface, button: u32) {
        XwmHandler::move_request(&mut self.state, xwm, window, button);
    }
    fn allow_selection_access(&mut self, xwm: XwmId, selection: SelectionTarget) -> bool {
        XwmHandler::allow_selection_access(&mut self.state, xwm, selection)
    }
    fn send_selection(
        &mut self,
        xwm: XwmId,
        selection: SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
    ) {
        XwmHandler::send_selection(&mut self.state, xwm, selection, mime_type, fd);
    }
    fn new_selection(&mut self, xwm: XwmId, selection: SelectionTarget, mime_types: Vec<String>) {
        XwmHandler::new_selection(&mut self.state, xwm, selection, mime_types);
    }
    fn cleared_selection(&mut self, xwm: XwmId, selection: SelectionTarget) {
        XwmHandler::cleared_selection(&mut self.state, xwm, selection);
    }
    fn disconnected(&mut self, xwm: XwmId) {
        XwmHandler::disconnected(&mut self.state, xwm);
    }
}
