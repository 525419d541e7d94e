use smithay::delegate_data_device;
use std::os::fd::OwnedFd;

use smithay::input::Seat;
use smithay::wayland::selection::data_device::{
    ClientDndGrabHandler, DataDeviceHandler, DataDeviceState, ServerDndGrabHandler,
};
use smithay::wayland::selection::{SelectionHandler, SelectionSource, SelectionTarget};

use crate::comp::{Clipboard, State};

impl SelectionHandler for State {
    type SelectionUserData = ();

    /// A Wayland client set the selection: X11 clients see it through the window manager.
    fn new_selection(
        &mut self,
        ty: SelectionTarget,
        source: Option<SelectionSource>,
        _seat: Seat<Self>,
    ) {
        let mime_types = source.map(|s| s.mime_types());
        if ty == SelectionTarget::Clipboard {
            self.clipboard = match &mime_types {
                Some(types) => Clipboard::Client(types.clone()),
                None => Clipboard::Empty,
            };
        }
        if let Some(wm) = self.x11.as_mut().and_then(|x11| x11.wm.as_mut())
            && let Err(err) = wm.new_selection(ty, mime_types)
        {
            tracing::debug!(%err, "could not offer the selection to X11");
        }
    }

    /// A Wayland client reads the selection the compositor holds: for an X11 client, or
    /// what the lobby's owner set.
    fn send_selection(
        &mut self,
        ty: SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
        _seat: Seat<Self>,
        _user_data: &(),
    ) {
        if ty == SelectionTarget::Clipboard {
            self.paste_held_clipboard(mime_type, fd);
        }
    }
}

impl DataDeviceHandler for State {
    fn data_device_state(&self) -> &DataDeviceState {
        &self.data_device_state
    }
}

impl ClientDndGrabHandler for State {}
impl ServerDndGrabHandler for State {}

delegate_data_device!(State);
