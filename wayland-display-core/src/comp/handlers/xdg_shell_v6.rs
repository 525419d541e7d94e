//! `zxdg_shell_v6`, for clients older than xdg-shell's stable version: Smithay's stable
//! implementation serves it (vendored patch, `third_party/smithay-xdg-shell-v6.patch`),
//! so v6 windows are the same toplevels and popups to the window policy, and every
//! request reaches the same checks (`guard::xdg`) as its stable form. Only
//! `get_xdg_surface` is checked here: it makes the stable object itself.

use smithay::reexports::wayland_server::{
    Client, Resource, delegate_dispatch, delegate_global_dispatch,
};
use smithay::wayland::shell::xdg::XdgShellState;
use smithay::wayland::shell::xdg::v6::{
    V6PopupData, V6PositionerData, V6ShellData, V6SurfaceData, V6ToplevelData, ZxdgPopupV6,
    ZxdgPositionerV6, ZxdgShellV6, ZxdgSurfaceV6, ZxdgToplevelV6, zxdg_shell_v6,
};

use crate::comp::State;
use crate::comp::guard::{guarded, xdg::surface_may_become_xdg};

fn check_shell(
    _: &mut State,
    _: &Client,
    shell: &ZxdgShellV6,
    request: zxdg_shell_v6::Request,
    data: &V6ShellData,
) -> Option<zxdg_shell_v6::Request> {
    if let zxdg_shell_v6::Request::GetXdgSurface { surface, .. } = &request {
        let wm_base = data.stable()?;
        if let Err(why) = surface_may_become_xdg(surface, &wm_base) {
            shell.post_error(zxdg_shell_v6::Error::Role, why);
            return None;
        }
    }
    Some(request)
}

guarded!(ZxdgShellV6, V6ShellData => XdgShellState, check_shell);
delegate_global_dispatch!(State: [ZxdgShellV6: ()] => XdgShellState);
delegate_dispatch!(State: [ZxdgPositionerV6: V6PositionerData] => XdgShellState);
delegate_dispatch!(State: [ZxdgSurfaceV6: V6SurfaceData] => XdgShellState);
delegate_dispatch!(State: [ZxdgToplevelV6: V6ToplevelData] => XdgShellState);
delegate_dispatch!(State: [ZxdgPopupV6: V6PopupData] => XdgShellState);
