//! `wl_compositor`, `wl_surface`, `wl_region`, `wl_subsurface`: the surface limit,
//! coordinates within range, sizes that are not negative, restacking that makes sense.

use smithay::reexports::wayland_server::backend::ClientId;
use smithay::reexports::wayland_server::protocol::{
    wl_compositor::{self, WlCompositor},
    wl_region::{self, WlRegion},
    wl_subcompositor::{self, WlSubcompositor},
    wl_subsurface::{self, WlSubsurface},
    wl_surface::{self, WlSurface},
};
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::compositor::{
    CompositorState, RegionUserData, SubsurfaceUserData, SurfaceUserData, get_parent,
};

use super::{clamp_coord, clamp_size, disconnect_over_limit, guarded};
use crate::comp::{State, client_state, client_state_by_id};

fn check_compositor(
    state: &mut State,
    client: &Client,
    _: &WlCompositor,
    request: wl_compositor::Request,
    _: &(),
) -> Option<wl_compositor::Request> {
    if let wl_compositor::Request::CreateSurface { .. } = request {
        let limit = state
            .client_limits
            .max_surfaces
            .min(crate::ClientLimits::MAX_SURFACES_CEILING);
        let admitted = match client_state(client) {
            Some(c) => c.counts.surfaces.try_take(limit),
            None => crate::comp::is_xwayland(client),
        };
        if !admitted {
            disconnect_over_limit(&state.dh, client, "wl_surface", u64::from(limit));
            return None;
        }
    }
    Some(request)
}

/// A client's rectangle within the coordinate limit; `None` for a negative size, which
/// holds nothing.
fn bounded_rect(x: i32, y: i32, width: i32, height: i32) -> Option<(i32, i32, i32, i32)> {
    (width >= 0 && height >= 0).then(|| {
        (
            clamp_coord(x),
            clamp_coord(y),
            clamp_size(width),
            clamp_size(height),
        )
    })
}

fn check_surface(
    _: &mut State,
    _: &Client,
    _: &WlSurface,
    request: wl_surface::Request,
    _: &SurfaceUserData,
) -> Option<wl_surface::Request> {
    use wl_surface::Request;
    Some(match request {
        Request::Attach { buffer, x, y } => Request::Attach {
            buffer,
            x: clamp_coord(x),
            y: clamp_coord(y),
        },
        // Damage needs no error (the protocol defines none): a negative size damages
        // nothing, and INT32_MAX, which clients send for "everything", still covers every
        // pixel once clamped.
        Request::Damage {
            x,
            y,
            width,
            height,
        } => {
            let (x, y, width, height) = bounded_rect(x, y, width, height)?;
            Request::Damage {
                x,
                y,
                width,
                height,
            }
        }
        Request::DamageBuffer {
            x,
            y,
            width,
            height,
        } => {
            let (x, y, width, height) = bounded_rect(x, y, width, height)?;
            Request::DamageBuffer {
                x,
                y,
                width,
                height,
            }
        }
        Request::Offset { x, y } => Request::Offset {
            x: clamp_coord(x),
            y: clamp_coord(y),
        },
        other => other,
    })
}

fn surface_gone(state: &mut State, client: ClientId, _: &WlSurface, _: &SurfaceUserData) {
    if let Some(data) = client_state_by_id(&state.dh, client) {
        data.counts.surfaces.release();
    }
}

fn check_region(
    _: &mut State,
    _: &Client,
    _: &WlRegion,
    request: wl_region::Request,
    _: &RegionUserData,
) -> Option<wl_region::Request> {
    use wl_region::Request;
    // As for damage: no error exists, and a rectangle with a negative size holds nothing.
    Some(match request {
        Request::Add {
            x,
            y,
            width,
            height,
        } => {
            let (x, y, width, height) = bounded_rect(x, y, width, height)?;
            Request::Add {
                x,
                y,
                width,
                height,
            }
        }
        Request::Subtract {
            x,
            y,
            width,
            height,
        } => {
            let (x, y, width, height) = bounded_rect(x, y, width, height)?;
            Request::Subtract {
                x,
                y,
                width,
                height,
            }
        }
        other => other,
    })
}

/// How deep subsurfaces may nest. Toolkits nest two or three; every commit and every frame
/// walks a surface's ancestors, so a chain thousands deep makes each of its commits cost
/// thousands of steps.
const MAX_SUBSURFACE_DEPTH: u32 = 32;

fn check_subcompositor(
    state: &mut State,
    client: &Client,
    _: &WlSubcompositor,
    request: wl_subcompositor::Request,
    _: &(),
) -> Option<wl_subcompositor::Request> {
    if let wl_subcompositor::Request::GetSubsurface { parent, .. } = &request {
        let mut ancestor = get_parent(parent);
        for _ in 1..MAX_SUBSURFACE_DEPTH {
            let Some(surface) = ancestor else {
                return Some(request);
            };
            ancestor = get_parent(&surface);
        }
        if ancestor.is_some() {
            disconnect_over_limit(
                &state.dh,
                client,
                "subsurface nesting depth",
                u64::from(MAX_SUBSURFACE_DEPTH),
            );
            return None;
        }
    }
    Some(request)
}

fn check_subsurface(
    _: &mut State,
    _: &Client,
    subsurface: &WlSubsurface,
    request: wl_subsurface::Request,
    data: &SubsurfaceUserData,
) -> Option<wl_subsurface::Request> {
    use wl_subsurface::Request;
    match request {
        // The spec makes the subsurface itself an invalid reference; Smithay's reorder
        // would index past its list (a panic) for it.
        Request::PlaceAbove { ref sibling } | Request::PlaceBelow { ref sibling }
            if sibling == data.surface() =>
        {
            subsurface.post_error(
                wl_subsurface::Error::BadSurface,
                "a subsurface cannot be placed above or below itself",
            );
            None
        }
        Request::SetPosition { x, y } => Some(Request::SetPosition {
            x: clamp_coord(x),
            y: clamp_coord(y),
        }),
        other => Some(other),
    }
}

guarded!(WlCompositor, () => CompositorState, check_compositor);
guarded!(WlSurface, SurfaceUserData => CompositorState, check_surface, destroyed: surface_gone);
guarded!(WlRegion, RegionUserData => CompositorState, check_region);
guarded!(WlSubcompositor, () => CompositorState, check_subcompositor);
guarded!(WlSubsurface, SubsurfaceUserData => CompositorState, check_subsurface);
