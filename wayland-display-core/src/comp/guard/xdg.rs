//! `xdg_positioner`, `xdg_surface`, `xdg_toplevel`: the sizes xdg-shell makes errors get
//! its errors; positions no output could show are refused (positioners) or clamped.

use smithay::reexports::wayland_protocols::xdg::shell::server::{
    xdg_positioner::{self, XdgPositioner},
    xdg_surface::{self, XdgSurface},
    xdg_toplevel::{self, XdgToplevel},
};
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::shell::xdg::{
    XdgPositionerUserData, XdgShellState, XdgShellSurfaceUserData, XdgSurfaceUserData,
};

use super::{COORD_LIMIT, clamp_coord, clamp_size, guarded, within_limit};
use crate::comp::State;

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
    let values: &[i32] = match &request {
        Request::SetSize { width, height } => &[*width, *height],
        Request::SetAnchorRect {
            x,
            y,
            width,
            height,
        } => &[*x, *y, *width, *height],
        Request::SetOffset { x, y } => &[*x, *y],
        Request::SetParentSize {
            parent_width,
            parent_height,
        } => &[*parent_width, *parent_height],
        _ => &[],
    };
    if within_limit(values) {
        return Some(request);
    }
    positioner.post_error(
        xdg_positioner::Error::InvalidInput,
        format!("positioner values must lie within ±{COORD_LIMIT}"),
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

guarded!(XdgPositioner, XdgPositionerUserData => XdgShellState, check_positioner);
guarded!(XdgSurface, XdgSurfaceUserData => XdgShellState, check_xdg_surface);
guarded!(XdgToplevel, XdgShellSurfaceUserData => XdgShellState, check_toplevel);
