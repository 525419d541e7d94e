//! `xwayland_shell_v1`: how Xwayland 23.1 and newer pair X11 windows with their
//! wl_surfaces (older ones use the `WL_SURFACE_ID` message, which the window manager
//! handles). The handler is in [`crate::comp::xwayland`].

use smithay::delegate_xwayland_shell;

use crate::comp::State;

delegate_xwayland_shell!(State);
