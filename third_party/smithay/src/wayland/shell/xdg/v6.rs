//! `zxdg_shell_v6`, xdg-shell's unstable predecessor, served by the stable implementation.
//!
//! Each v6 object stands in front of a stable object of the same kind that the server
//! makes for the client as a hidden object (never announced to it, its id outside the
//! ones the client tracks): requests are translated and handed
//! to the stable object's dispatch (the compositor's, so its own checks apply), and the
//! events the stable implementation sends go to the v6 object instead (see the `v6` field
//! of the stable objects' user data). Toplevels and popups of either version are the same
//! `ToplevelSurface`s and `PopupSurface`s to the compositor.
//!
//! Use [`XdgShellState::new_v6_global`] and [`delegate_xdg_shell_v6`](crate::delegate_xdg_shell_v6).
//! The bindings are generated from the `xdg-shell-unstable-v6.xml` that Debian's
//! `wayland-protocols` package installs.

use std::sync::Mutex;

use wayland_protocols::xdg::shell::server::{
    xdg_popup::{self, XdgPopup},
    xdg_positioner::{self, Anchor, Gravity, XdgPositioner},
    xdg_surface::{self, XdgSurface},
    xdg_toplevel::{self, XdgToplevel},
    xdg_wm_base::{self, XdgWmBase},
};
use wayland_server::{
    backend::{ClientId, GlobalId},
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource, WEnum,
};

use super::{
    handlers, ShellClient, XdgPositionerUserData, XdgShellHandler, XdgShellState,
    XdgShellSurfaceUserData, XdgSurfaceUserData, XdgWmBaseUserData,
};
use crate::utils::{Logical, Rectangle};

#[allow(missing_docs, clippy::all, unused_imports, non_upper_case_globals)]
pub mod protocol {
    //! Server bindings of `xdg-shell-unstable-v6`.
    use wayland_server;
    use wayland_server::backend as wayland_backend;
    use wayland_server::protocol::*;

    pub mod __interfaces {
        use wayland_server::backend as wayland_backend;
        use wayland_server::protocol::__interfaces::*;
        wayland_scanner::generate_interfaces!(
            "/usr/share/wayland-protocols/unstable/xdg-shell/xdg-shell-unstable-v6.xml"
        );
    }
    use self::__interfaces::*;

    wayland_scanner::generate_server_code!(
        "/usr/share/wayland-protocols/unstable/xdg-shell/xdg-shell-unstable-v6.xml"
    );
}

pub use protocol::zxdg_popup_v6::{self, ZxdgPopupV6};
pub use protocol::zxdg_positioner_v6::{self, ZxdgPositionerV6};
pub use protocol::zxdg_shell_v6::{self, ZxdgShellV6};
pub use protocol::zxdg_surface_v6::{self, ZxdgSurfaceV6};
pub use protocol::zxdg_toplevel_v6::{self, ZxdgToplevelV6};

/// The version of the stable objects the v6 ones stand in front of: the events and
/// states of version 1 are v6's.
const STABLE_VERSION: u32 = 1;

/// The v6 role object a stable toplevel or popup stands in for.
#[derive(Debug, Clone)]
pub enum V6Role {
    /// A `zxdg_toplevel_v6`.
    Toplevel(ZxdgToplevelV6),
    /// A `zxdg_popup_v6`.
    Popup(ZxdgPopupV6),
}

/// User data of every v6 object: the stable object it stands in front of, set right after
/// both exist (the stable one is made knowing its v6 one, for its events), and let go
/// when the v6 object is destroyed: each holds the other's data, and the cycle would
/// keep both alive.
#[derive(Debug)]
pub struct V6Data<S> {
    stable: Mutex<Option<S>>,
}

impl<S: Clone> V6Data<S> {
    fn new() -> Self {
        Self {
            stable: Mutex::new(None),
        }
    }

    fn set(&self, stable: S) {
        if let Ok(mut slot) = self.stable.lock() {
            *slot = Some(stable);
        }
    }

    fn forget(&self) {
        if let Ok(mut slot) = self.stable.lock() {
            slot.take();
        }
    }

    /// The stable object, once made and while the v6 one lives.
    pub fn stable(&self) -> Option<S> {
        self.stable.lock().ok().and_then(|slot| slot.clone())
    }
}

/// User data of `zxdg_shell_v6`.
pub type V6ShellData = V6Data<XdgWmBase>;
/// User data of `zxdg_positioner_v6`.
pub type V6PositionerData = V6Data<XdgPositioner>;
/// User data of `zxdg_surface_v6`.
pub type V6SurfaceData = V6Data<XdgSurface>;
/// User data of `zxdg_toplevel_v6`.
pub type V6ToplevelData = V6Data<XdgToplevel>;
/// User data of `zxdg_popup_v6`.
pub type V6PopupData = V6Data<XdgPopup>;

impl XdgShellState {
    /// Offers `zxdg_shell_v6` besides `xdg_wm_base`.
    pub fn new_v6_global<D>(display: &DisplayHandle) -> GlobalId
    where
        D: GlobalDispatch<ZxdgShellV6, ()> + 'static,
    {
        display.create_global::<D, ZxdgShellV6, ()>(1, ())
    }
}

pub(super) fn send_toplevel_configure(
    v6: &ZxdgToplevelV6,
    width: i32,
    height: i32,
    states: &[u8],
    serial: u32,
) {
    v6.configure(width, height, states.to_vec());
    if let Some(surface) = v6_surface_of_toplevel(v6) {
        surface.configure(serial);
    }
}

pub(super) fn send_popup_configure(v6: &ZxdgPopupV6, geometry: Rectangle<i32, Logical>, serial: u32) {
    v6.configure(geometry.loc.x, geometry.loc.y, geometry.size.w, geometry.size.h);
    if let Some(surface) = v6_surface_of_popup(v6) {
        surface.configure(serial);
    }
}

fn v6_surface_of_toplevel(v6: &ZxdgToplevelV6) -> Option<ZxdgSurfaceV6> {
    let stable = v6.data::<V6ToplevelData>()?.stable()?;
    let stable = &stable;
    let data = stable.data::<XdgShellSurfaceUserData>()?;
    data.xdg_surface.data::<XdgSurfaceUserData>()?.v6.clone()
}

fn v6_surface_of_popup(v6: &ZxdgPopupV6) -> Option<ZxdgSurfaceV6> {
    let stable = v6.data::<V6PopupData>()?.stable()?;
    let stable = &stable;
    let data = stable.data::<XdgShellSurfaceUserData>()?;
    data.xdg_surface.data::<XdgSurfaceUserData>()?.v6.clone()
}

/// Hands `request` to the stable object's dispatch (the compositor's).
fn forward<I, U, D>(
    state: &mut D,
    client: &Client,
    stable: &I,
    request: I::Request,
    dh: &DisplayHandle,
    data_init: &mut DataInit<'_, D>,
) where
    I: Resource,
    U: Send + Sync + 'static,
    D: Dispatch<I, U>,
{
    if let Some(data) = stable.data::<U>() {
        <D as Dispatch<I, U>>::request(state, client, stable, request, data, dh, data_init);
    }
}

/// Makes a stable object for `client` that the client is never told of (the backend's
/// hidden objects: their ids do not take places in the range of server-made ids the
/// client tracks).
fn create_hidden<I, U, D>(client: &Client, dh: &DisplayHandle, data: U) -> Option<I>
where
    I: Resource + 'static,
    U: Send + Sync + 'static,
    D: Dispatch<I, U> + 'static,
{
    let handle = dh.backend_handle();
    handle.set_hidden_objects::<D>(client.id(), true).ok()?;
    let made = client.create_resource::<I, U, D>(dh, STABLE_VERSION, data).ok();
    let _ = handle.set_hidden_objects::<D>(client.id(), false);
    made
}

/// Destroys the stable object after its v6 one was destroyed: the client cannot.
fn destroy_stable<D: 'static>(dh: &DisplayHandle, stable: &impl Resource) {
    let _ = dh.backend_handle().destroy_object::<D>(&stable.id());
}

/// A v6 anchor or gravity (a bitfield of edges) as the stable enum's value.
fn edges(bits: u32) -> Option<u32> {
    const TOP: u32 = 1;
    const BOTTOM: u32 = 2;
    const LEFT: u32 = 4;
    const RIGHT: u32 = 8;
    // none, top, bottom, left, right, top_left, bottom_left, top_right, bottom_right
    Some(match bits {
        0 => 0,
        TOP => 1,
        BOTTOM => 2,
        LEFT => 3,
        RIGHT => 4,
        b if b == TOP | LEFT => 5,
        b if b == BOTTOM | LEFT => 6,
        b if b == TOP | RIGHT => 7,
        b if b == BOTTOM | RIGHT => 8,
        _ => return None,
    })
}

impl<D> GlobalDispatch<ZxdgShellV6, (), D> for XdgShellState
where
    D: GlobalDispatch<ZxdgShellV6, ()>,
    D: Dispatch<ZxdgShellV6, V6ShellData>,
    D: Dispatch<XdgWmBase, XdgWmBaseUserData>,
    D: XdgShellHandler,
    D: 'static,
{
    fn bind(
        state: &mut D,
        dh: &DisplayHandle,
        client: &Client,
        resource: New<ZxdgShellV6>,
        _global_data: &(),
        data_init: &mut DataInit<'_, D>,
    ) {
        let shell = data_init.init(resource, V6ShellData::new());
        let data = XdgWmBaseUserData::for_v6(shell.clone());
        let Some(wm_base) = create_hidden::<XdgWmBase, XdgWmBaseUserData, D>(client, dh, data) else {
            return;
        };
        if let Some(data) = shell.data::<V6ShellData>() {
            data.set(wm_base.clone());
        }
        XdgShellHandler::new_client(state, ShellClient::new(&wm_base));
    }
}

impl<D> Dispatch<ZxdgShellV6, V6ShellData, D> for XdgShellState
where
    D: Dispatch<ZxdgShellV6, V6ShellData>,
    D: Dispatch<ZxdgPositionerV6, V6PositionerData>,
    D: Dispatch<ZxdgSurfaceV6, V6SurfaceData>,
    D: Dispatch<XdgWmBase, XdgWmBaseUserData>,
    D: Dispatch<XdgPositioner, XdgPositionerUserData>,
    D: Dispatch<XdgSurface, XdgSurfaceUserData>,
    D: XdgShellHandler,
    D: 'static,
{
    fn request(
        state: &mut D,
        client: &Client,
        _shell: &ZxdgShellV6,
        request: zxdg_shell_v6::Request,
        data: &V6ShellData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, D>,
    ) {
        let Some(wm_base) = data.stable() else {
            return;
        };
        let wm_base = &wm_base;
        match request {
            zxdg_shell_v6::Request::Destroy => {
                forward::<_, XdgWmBaseUserData, D>(
                    state,
                    client,
                    wm_base,
                    xdg_wm_base::Request::Destroy,
                    dh,
                    data_init,
                );
                destroy_stable::<D>(dh, wm_base);
            }
            zxdg_shell_v6::Request::CreatePositioner { id } => {
                let positioner = data_init.init(id, V6PositionerData::new());
                if let Some(stable) = create_hidden::<XdgPositioner, XdgPositionerUserData, D>(
                    client,
                    dh,
                    XdgPositionerUserData::default(),
                ) {
                    if let Some(data) = positioner.data::<V6PositionerData>() {
                        data.set(stable);
                    }
                }
            }
            zxdg_shell_v6::Request::GetXdgSurface { id, surface } => {
                let xdg_surface = data_init.init(id, V6SurfaceData::new());
                let Some(wm_data) = wm_base.data::<XdgWmBaseUserData>() else {
                    return;
                };
                let stable = handlers::new_xdg_surface(
                    wm_data,
                    wm_base,
                    surface,
                    Some(xdg_surface.clone()),
                    |data| create_hidden::<XdgSurface, XdgSurfaceUserData, D>(client, dh, data),
                );
                if let (Some(stable), Some(data)) = (stable, xdg_surface.data::<V6SurfaceData>()) {
                    data.set(stable);
                }
            }
            zxdg_shell_v6::Request::Pong { serial } => {
                forward::<_, XdgWmBaseUserData, D>(
                    state,
                    client,
                    wm_base,
                    xdg_wm_base::Request::Pong { serial },
                    dh,
                    data_init,
                );
            }
        }
    }

    fn destroyed(_state: &mut D, _client: ClientId, _shell: &ZxdgShellV6, data: &V6ShellData) {
        data.forget();
    }
}

impl<D> Dispatch<ZxdgPositionerV6, V6PositionerData, D> for XdgShellState
where
    D: Dispatch<ZxdgPositionerV6, V6PositionerData>,
    D: Dispatch<XdgPositioner, XdgPositionerUserData>,
    D: 'static,
{
    fn destroyed(_state: &mut D, _client: ClientId, _object: &ZxdgPositionerV6, data: &V6PositionerData) {
        data.forget();
    }

    fn request(
        state: &mut D,
        client: &Client,
        positioner: &ZxdgPositionerV6,
        request: zxdg_positioner_v6::Request,
        data: &V6PositionerData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, D>,
    ) {
        use xdg_positioner::Request as Stable;
        let Some(stable) = data.stable() else {
            return;
        };
        let stable = &stable;
        let translated = match request {
            zxdg_positioner_v6::Request::Destroy => {
                forward::<_, XdgPositionerUserData, D>(state, client, stable, Stable::Destroy, dh, data_init);
                destroy_stable::<D>(dh, stable);
                return;
            }
            zxdg_positioner_v6::Request::SetSize { width, height } => Stable::SetSize { width, height },
            zxdg_positioner_v6::Request::SetAnchorRect { x, y, width, height } => {
                Stable::SetAnchorRect { x, y, width, height }
            }
            zxdg_positioner_v6::Request::SetAnchor { anchor } => {
                let bits = u32::from(anchor);
                let Some(anchor) = edges(bits).and_then(|v| Anchor::try_from(v).ok()) else {
                    positioner.post_error(
                        zxdg_positioner_v6::Error::InvalidInput,
                        format!("anchor {bits:#x} holds opposite edges"),
                    );
                    return;
                };
                Stable::SetAnchor {
                    anchor: WEnum::Value(anchor),
                }
            }
            zxdg_positioner_v6::Request::SetGravity { gravity } => {
                let bits = u32::from(gravity);
                let Some(gravity) = edges(bits).and_then(|v| Gravity::try_from(v).ok()) else {
                    positioner.post_error(
                        zxdg_positioner_v6::Error::InvalidInput,
                        format!("gravity {bits:#x} holds opposite edges"),
                    );
                    return;
                };
                Stable::SetGravity {
                    gravity: WEnum::Value(gravity),
                }
            }
            zxdg_positioner_v6::Request::SetConstraintAdjustment {
                constraint_adjustment,
            } => Stable::SetConstraintAdjustment {
                // The same bits in both versions.
                constraint_adjustment: WEnum::from(u32::from(constraint_adjustment)),
            },
            zxdg_positioner_v6::Request::SetOffset { x, y } => Stable::SetOffset { x, y },
        };
        forward::<_, XdgPositionerUserData, D>(state, client, stable, translated, dh, data_init);
    }
}

impl<D> Dispatch<ZxdgSurfaceV6, V6SurfaceData, D> for XdgShellState
where
    D: Dispatch<ZxdgSurfaceV6, V6SurfaceData>,
    D: Dispatch<ZxdgToplevelV6, V6ToplevelData>,
    D: Dispatch<ZxdgPopupV6, V6PopupData>,
    D: Dispatch<XdgSurface, XdgSurfaceUserData>,
    D: Dispatch<XdgToplevel, XdgShellSurfaceUserData>,
    D: Dispatch<XdgPopup, XdgShellSurfaceUserData>,
    D: XdgShellHandler,
    D: 'static,
{
    fn destroyed(_state: &mut D, _client: ClientId, _object: &ZxdgSurfaceV6, data: &V6SurfaceData) {
        data.forget();
    }

    fn request(
        state: &mut D,
        client: &Client,
        _surface: &ZxdgSurfaceV6,
        request: zxdg_surface_v6::Request,
        data: &V6SurfaceData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, D>,
    ) {
        use xdg_surface::Request as Stable;
        let Some(stable) = data.stable() else {
            return;
        };
        let stable = &stable;
        let Some(stable_data) = stable.data::<XdgSurfaceUserData>() else {
            return;
        };
        let translated = match request {
            zxdg_surface_v6::Request::Destroy => {
                forward::<_, XdgSurfaceUserData, D>(state, client, stable, Stable::Destroy, dh, data_init);
                destroy_stable::<D>(dh, stable);
                return;
            }
            zxdg_surface_v6::Request::GetToplevel { id } => {
                let toplevel = data_init.init(id, V6ToplevelData::new());
                handlers::new_toplevel(
                    state,
                    stable,
                    stable_data,
                    Some(V6Role::Toplevel(toplevel.clone())),
                    |data| {
                        let stable = create_hidden::<XdgToplevel, XdgShellSurfaceUserData, D>(client, dh, data)?;
                        // Set before the handler hears of the toplevel, which may configure it.
                        if let Some(data) = toplevel.data::<V6ToplevelData>() {
                            data.set(stable.clone());
                        }
                        Some(stable)
                    },
                );
                return;
            }
            zxdg_surface_v6::Request::GetPopup { id, parent, positioner } => {
                let popup = data_init.init(id, V6PopupData::new());
                let parent = parent.data::<V6SurfaceData>().and_then(|d| d.stable());
                let Some(positioner) = positioner.data::<V6PositionerData>().and_then(|d| d.stable()) else {
                    return;
                };
                handlers::new_popup(
                    state,
                    stable,
                    stable_data,
                    parent,
                    &positioner,
                    Some(V6Role::Popup(popup.clone())),
                    |data| {
                        let stable = create_hidden::<XdgPopup, XdgShellSurfaceUserData, D>(client, dh, data)?;
                        if let Some(data) = popup.data::<V6PopupData>() {
                            data.set(stable.clone());
                        }
                        Some(stable)
                    },
                );
                return;
            }
            zxdg_surface_v6::Request::SetWindowGeometry { x, y, width, height } => {
                Stable::SetWindowGeometry { x, y, width, height }
            }
            zxdg_surface_v6::Request::AckConfigure { serial } => Stable::AckConfigure { serial },
        };
        forward::<_, XdgSurfaceUserData, D>(state, client, stable, translated, dh, data_init);
    }
}

impl<D> Dispatch<ZxdgToplevelV6, V6ToplevelData, D> for XdgShellState
where
    D: Dispatch<ZxdgToplevelV6, V6ToplevelData>,
    D: Dispatch<XdgToplevel, XdgShellSurfaceUserData>,
    D: 'static,
{
    fn destroyed(_state: &mut D, _client: ClientId, _object: &ZxdgToplevelV6, data: &V6ToplevelData) {
        data.forget();
    }

    fn request(
        state: &mut D,
        client: &Client,
        _toplevel: &ZxdgToplevelV6,
        request: zxdg_toplevel_v6::Request,
        data: &V6ToplevelData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, D>,
    ) {
        use xdg_toplevel::Request as Stable;
        use zxdg_toplevel_v6::Request as V6;
        let Some(stable) = data.stable() else {
            return;
        };
        let stable = &stable;
        let translated = match request {
            V6::Destroy => {
                forward::<_, XdgShellSurfaceUserData, D>(state, client, stable, Stable::Destroy, dh, data_init);
                destroy_stable::<D>(dh, stable);
                return;
            }
            V6::SetParent { parent } => Stable::SetParent {
                parent: parent.and_then(|p| p.data::<V6ToplevelData>().and_then(|d| d.stable())),
            },
            V6::SetTitle { title } => Stable::SetTitle { title },
            V6::SetAppId { app_id } => Stable::SetAppId { app_id },
            V6::ShowWindowMenu { seat, serial, x, y } => Stable::ShowWindowMenu { seat, serial, x, y },
            V6::Move { seat, serial } => Stable::Move { seat, serial },
            V6::Resize { seat, serial, edges } => Stable::Resize {
                seat,
                serial,
                // The same values in both versions.
                edges: WEnum::from(edges),
            },
            V6::SetMaxSize { width, height } => Stable::SetMaxSize { width, height },
            V6::SetMinSize { width, height } => Stable::SetMinSize { width, height },
            V6::SetMaximized => Stable::SetMaximized,
            V6::UnsetMaximized => Stable::UnsetMaximized,
            V6::SetFullscreen { output } => Stable::SetFullscreen { output },
            V6::UnsetFullscreen => Stable::UnsetFullscreen,
            V6::SetMinimized => Stable::SetMinimized,
        };
        forward::<_, XdgShellSurfaceUserData, D>(state, client, stable, translated, dh, data_init);
    }
}

impl<D> Dispatch<ZxdgPopupV6, V6PopupData, D> for XdgShellState
where
    D: Dispatch<ZxdgPopupV6, V6PopupData>,
    D: Dispatch<XdgPopup, XdgShellSurfaceUserData>,
    D: 'static,
{
    fn destroyed(_state: &mut D, _client: ClientId, _object: &ZxdgPopupV6, data: &V6PopupData) {
        data.forget();
    }

    fn request(
        state: &mut D,
        client: &Client,
        _popup: &ZxdgPopupV6,
        request: zxdg_popup_v6::Request,
        data: &V6PopupData,
        dh: &DisplayHandle,
        data_init: &mut DataInit<'_, D>,
    ) {
        use xdg_popup::Request as Stable;
        let Some(stable) = data.stable() else {
            return;
        };
        let stable = &stable;
        let translated = match request {
            zxdg_popup_v6::Request::Destroy => {
                forward::<_, XdgShellSurfaceUserData, D>(state, client, stable, Stable::Destroy, dh, data_init);
                destroy_stable::<D>(dh, stable);
                return;
            }
            zxdg_popup_v6::Request::Grab { seat, serial } => Stable::Grab { seat, serial },
        };
        forward::<_, XdgShellSurfaceUserData, D>(state, client, stable, translated, dh, data_init);
    }
}

/// Implements `zxdg_shell_v6` for a state that implements the stable xdg shell.
#[macro_export]
macro_rules! delegate_xdg_shell_v6 {
    ($(@<$( $lt:tt $( : $clt:tt $(+ $dlt:tt )* )? ),+>)? $ty: ty) => {
        $crate::reexports::wayland_server::delegate_global_dispatch!($(@< $( $lt $( : $clt $(+ $dlt )* )? ),+ >)? $ty: [
            $crate::wayland::shell::xdg::v6::ZxdgShellV6: ()
        ] => $crate::wayland::shell::xdg::XdgShellState);
        $crate::reexports::wayland_server::delegate_dispatch!($(@< $( $lt $( : $clt $(+ $dlt )* )? ),+ >)? $ty: [
            $crate::wayland::shell::xdg::v6::ZxdgShellV6: $crate::wayland::shell::xdg::v6::V6ShellData
        ] => $crate::wayland::shell::xdg::XdgShellState);
        $crate::reexports::wayland_server::delegate_dispatch!($(@< $( $lt $( : $clt $(+ $dlt )* )? ),+ >)? $ty: [
            $crate::wayland::shell::xdg::v6::ZxdgPositionerV6: $crate::wayland::shell::xdg::v6::V6PositionerData
        ] => $crate::wayland::shell::xdg::XdgShellState);
        $crate::reexports::wayland_server::delegate_dispatch!($(@< $( $lt $( : $clt $(+ $dlt )* )? ),+ >)? $ty: [
            $crate::wayland::shell::xdg::v6::ZxdgSurfaceV6: $crate::wayland::shell::xdg::v6::V6SurfaceData
        ] => $crate::wayland::shell::xdg::XdgShellState);
        $crate::reexports::wayland_server::delegate_dispatch!($(@< $( $lt $( : $clt $(+ $dlt )* )? ),+ >)? $ty: [
            $crate::wayland::shell::xdg::v6::ZxdgToplevelV6: $crate::wayland::shell::xdg::v6::V6ToplevelData
        ] => $crate::wayland::shell::xdg::XdgShellState);
        $crate::reexports::wayland_server::delegate_dispatch!($(@< $( $lt $( : $clt $(+ $dlt )* )? ),+ >)? $ty: [
            $crate::wayland::shell::xdg::v6::ZxdgPopupV6: $crate::wayland::shell::xdg::v6::V6PopupData
        ] => $crate::wayland::shell::xdg::XdgShellState);
    };
}
