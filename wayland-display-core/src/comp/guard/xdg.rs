//! `xdg_positioner`, `xdg_surface`, `xdg_toplevel`: the sizes xdg-shell makes errors get
//! its errors; positions no output could show are refused (positioners) or clamped.

use smithay::backend::renderer::utils::RendererSurfaceStateUserData;
use smithay::reexports::wayland_protocols::xdg::shell::server::{
    xdg_positioner::{self, XdgPositioner},
    xdg_surface::{self, XdgSurface},
    xdg_toplevel::{self, XdgToplevel},
    xdg_wm_base::{self, XdgWmBase},
};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::compositor::{BufferAssignment, SurfaceAttributes, get_role, with_states};
use smithay::wayland::shell::xdg::{
    PopupSurface, XDG_POPUP_ROLE, XDG_TOPLEVEL_ROLE, XdgPopupSurfaceData, XdgPositionerUserData,
    XdgShellState, XdgShellSurfaceUserData, XdgSurfaceUserData, XdgWmBaseUserData,
};

use super::{COORD_LIMIT, clamp_coord, clamp_size, guarded, within_limit};
use crate::comp::State;

/// The `xdg_wm_base` a surface's `xdg_surface` came from, kept in the surface's data: the
/// object xdg-shell's role errors are posted on, which Smithay does not expose.
pub(crate) struct WmBaseOf(pub(crate) XdgWmBase);

fn check_wm_base(
    _: &mut State,
    _: &Client,
    wm_base: &XdgWmBase,
    request: xdg_wm_base::Request,
    _: &XdgWmBaseUserData,
) -> Option<xdg_wm_base::Request> {
    if let xdg_wm_base::Request::GetXdgSurface { surface, .. } = &request
        && let Err(why) = surface_may_become_xdg(surface, wm_base)
    {
        let code = if get_role(surface).is_some() {
            xdg_wm_base::Error::Role
        } else {
            xdg_wm_base::Error::InvalidSurfaceState
        };
        wm_base.post_error(code, why);
        return None;
    }
    Some(request)
}

/// xdg-shell: a surface that already has a role, or a buffer attached or committed,
/// cannot become an xdg_surface (Smithay takes it either way). One that may is marked as
/// `wm_base`'s (for `zxdg_shell_v6`, the stable object standing in for it).
pub(crate) fn surface_may_become_xdg(
    surface: &WlSurface,
    wm_base: &XdgWmBase,
) -> Result<(), String> {
    if let Some(role) = get_role(surface) {
        return Err(format!("the wl_surface already has the role {role}"));
    }
    if has_buffer(surface) {
        return Err("an xdg_surface cannot be made of a wl_surface with a buffer".to_owned());
    }
    with_states(surface, |states| {
        states
            .data_map
            .insert_if_missing_threadsafe(|| WmBaseOf(wm_base.clone()));
    });
    Ok(())
}

/// Whether `surface` has a buffer attached (pending) or committed.
fn has_buffer(surface: &WlSurface) -> bool {
    with_states(surface, |states| {
        let attached = matches!(
            states
                .cached_state
                .get::<SurfaceAttributes>()
                .pending()
                .buffer,
            Some(BufferAssignment::NewBuffer(_))
        );
        let committed = states
            .data_map
            .get::<RendererSurfaceStateUserData>()
            .and_then(|data| data.lock().ok().map(|d| d.buffer().is_some()))
            .unwrap_or(false);
        attached || committed
    })
}

/// How deep popups may nest (menus in menus); far more than any toolkit opens.
const MAX_POPUP_DEPTH: usize = 64;

/// Whether `popup`'s parent is one xdg-shell allows: a surface that already is a toplevel
/// or a popup, and not the popup itself or one of its own children. Smithay takes any
/// parent, and every walk up a parent chain that loops (a popup made its own parent, or a
/// surface that was a popup made a popup of its former child) never ends. A bad parent gets
/// `xdg_wm_base.invalid_popup_parent`; the popup is then not placed or tracked.
pub(crate) fn popup_parent_is_valid(popup: &PopupSurface) -> bool {
    let Some(parent) = popup.get_parent_surface() else {
        // No parent: allowed, the popup is placed by other means.
        return true;
    };
    let own = popup.wl_surface();
    let problem = if !matches!(get_role(&parent), Some(XDG_TOPLEVEL_ROLE | XDG_POPUP_ROLE)) {
        Some("the parent must already be an xdg_toplevel or an xdg_popup")
    } else {
        let mut next = Some(parent);
        let mut problem = Some("popups nest at most 64 deep");
        for _ in 0..=MAX_POPUP_DEPTH {
            let Some(surface) = next else {
                problem = None;
                break;
            };
            if &surface == own {
                problem = Some("the parent is this popup or one of its children");
                break;
            }
            next = with_states(&surface, |states| {
                states
                    .data_map
                    .get::<XdgPopupSurfaceData>()
                    .and_then(|data| data.lock().ok().and_then(|d| d.parent.clone()))
            });
        }
        problem
    };
    let Some(problem) = problem else {
        return true;
    };
    let wm_base = with_states(own, |states| {
        states.data_map.get::<WmBaseOf>().map(|w| w.0.clone())
    });
    match wm_base {
        Some(wm_base) => wm_base.post_error(xdg_wm_base::Error::InvalidPopupParent, problem),
        None => tracing::warn!(problem, "popup with an invalid parent ignored"),
    }
    false
}

fn check_positioner(
    _: &mut State,
    _: &Client,
    positioner: &XdgPositioner,
    request: xdg_positioner::Request,
    _: &XdgPositionerUserData,
) -> Option<xdg_positioner::Request> {
    use xdg_positioner::Request;
    // Popup placement adds anchor, offset and parent positions: values no output could
    // show would overflow it. `invalid_input` is the positioner's error for bad values.
    // Sizes Smithay checks itself but for the parent's, which it takes as they come.
    let (values, sizes): (&[i32], &[i32]) = match &request {
        Request::SetSize { width, height } => (&[*width, *height], &[]),
        Request::SetAnchorRect {
            x,
            y,
            width,
            height,
        } => (&[*x, *y, *width, *height], &[]),
        Request::SetOffset { x, y } => (&[*x, *y], &[]),
        Request::SetParentSize {
            parent_width,
            parent_height,
        } => (&[], &[*parent_width, *parent_height]),
        _ => (&[], &[]),
    };
    if within_limit(values) && within_limit(sizes) && sizes.iter().all(|v| *v >= 0) {
        return Some(request);
    }
    positioner.post_error(
        xdg_positioner::Error::InvalidInput,
        format!("positioner values must lie within ±{COORD_LIMIT}, sizes not below 0"),
    );
    None
}

fn check_xdg_surface(
    _: &mut State,
    _: &Client,
    surface: &XdgSurface,
    request: xdg_surface::Request,
    _: &XdgSurfaceUserData,
) -> Option<xdg_surface::Request> {
    match request {
        xdg_surface::Request::SetWindowGeometry {
            x,
            y,
            width,
            height,
        } => {
            if width <= 0 || height <= 0 {
                surface.post_error(
                    xdg_surface::Error::InvalidSize,
                    format!("window geometry {width}x{height}: width and height must be positive"),
                );
                return None;
            }
            Some(xdg_surface::Request::SetWindowGeometry {
                x: clamp_coord(x),
                y: clamp_coord(y),
                width: clamp_size(width),
                height: clamp_size(height),
            })
        }
        other => Some(other),
    }
}

fn check_toplevel(
    _: &mut State,
    _: &Client,
    toplevel: &XdgToplevel,
    request: xdg_toplevel::Request,
    _: &XdgShellSurfaceUserData,
) -> Option<xdg_toplevel::Request> {
    use xdg_toplevel::Request;
    let (width, height, minimum) = match request {
        Request::SetMinSize { width, height } => (width, height, true),
        Request::SetMaxSize { width, height } => (width, height, false),
        other => return Some(other),
    };
    if width < 0 || height < 0 {
        let which = if minimum { "minimum" } else { "maximum" };
        toplevel.post_error(
            xdg_toplevel::Error::InvalidSize,
            format!("{which} size {width}x{height}: sizes must not be negative"),
        );
        return None;
    }
    let (width, height) = (clamp_size(width), clamp_size(height));
    Some(if minimum {
        Request::SetMinSize { width, height }
    } else {
        Request::SetMaxSize { width, height }
    })
}

guarded!(XdgWmBase, XdgWmBaseUserData => XdgShellState, check_wm_base);
guarded!(XdgPositioner, XdgPositionerUserData => XdgShellState, check_positioner);
guarded!(XdgSurface, XdgSurfaceUserData => XdgShellState, check_xdg_surface);
guarded!(XdgToplevel, XdgShellSurfaceUserData => XdgShellState, check_toplevel);
