use smithay::delegate_data_device;
use std::os::fd::OwnedFd;

use smithay::input::Seat;
use smithay::wayland::selection::data_device::{
    ClientDndGrabHandler, DataDeviceHandler, DataDeviceState, ServerDndGrabHandler,
};
use smithay::wayland::selection::{SelectionHandler, SelectionSource, SelectionTarget};

use crate::comp::State;

impl SelectionHandler for State {
    type SelectionUserData = ();

    /// A Wayland client set the selection: X11 clients see it through the window manager.
    fn new_selection(
        &mut self,
        ty: SelectionTarget,
        source: Option<SelectionSource>,
        _seat: Seat<Self>,
    ) {
        if let Some(wm) = self.x11.as_mut().and_then(|x11| x11.wm.as_mut())
            && let Err(err) = wm.new_selection(ty, source.map(|s| s.mime_types()))
        {
            tracing::debug!(%err, "could not offer the selection to X11");
        }
    }

    /// A Wayland client reads the selection we hold for an X11 client.
    fn send_selection(
        &mut self,
        ty: SelectionTarget,
        mime_type: String,
        fd: OwnedFd,
        _seat: Seat<Self>,
        _user_data: &(),
    ) {
        let Some(handle) = self.loop_handle.clone() else {
            return;
        };
        if let Some(wm) = self.x11.as_mut().and_then(|x11| x11.wm.as_mut())
            && let Err(err) = wm.send_selection(ty, mime_type, fd, handle)
        {
            tracing::debug!(?err, "could not read the X11 selection");
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
