//! `zwlr_layer_surface_v1`: sizes, margins and exclusive zones no output could show are
//! clamped before Smithay's layer map does its sums with them (plain `i32` arithmetic: a
//! panic in debug builds, a wrap in release), and a popup that already has a parent is
//! refused (the protocol allows only one made with a null parent).

use smithay::reexports::wayland_protocols_wlr::layer_shell::v1::server::zwlr_layer_surface_v1::{
    self, ZwlrLayerSurfaceV1,
};
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::shell::wlr_layer::{WlrLayerShellState, WlrLayerSurfaceUserData};

use super::{COORD_LIMIT, clamp_coord, guarded};
use crate::comp::State;

/// A size as the layer map takes it: `u32` on the wire, `i32` in Smithay's `Size`.
fn clamp_layer_size(v: u32) -> u32 {
    v.min(COORD_LIMIT.unsigned_abs())
}

fn check_layer_surface(
    state: &mut State,
    _: &Client,
    layer: &ZwlrLayerSurfaceV1,
    request: zwlr_layer_surface_v1::Request,
    _: &WlrLayerSurfaceUserData,
) -> Option<zwlr_layer_surface_v1::Request> {
    use zwlr_layer_surface_v1::Request as R;
    Some(match request {
        R::SetSize { width, height } => R::SetSize {
            width: clamp_layer_size(width),
            height: clamp_layer_size(height),
        },
        R::SetMargin {
            top,
            right,
            bottom,
            left,
        } => R::SetMargin {
            top: clamp_coord(top),
            right: clamp_coord(right),
            bottom: clamp_coord(bottom),
            left: clamp_coord(left),
        },
        // Negative zones mean "ignore other zones" whatever their value.
        R::SetExclusiveZone { zone } => R::SetExclusiveZone {
            zone: zone.min(COORD_LIMIT),
        },
        R::GetPopup { popup } => {
            let has_parent = state
                .xdg_shell_state
                .popup_surfaces()
                .iter()
                .find(|known| known.xdg_popup() == &popup)
                .is_none_or(|known| known.get_parent_surface().is_some());
            if has_parent {
                layer.post_error(
                    zwlr_layer_surface_v1::Error::InvalidSurfaceState,
                    "get_popup takes an xdg_popup created without a parent",
                );
                return None;
            }
            R::GetPopup { popup }
        }
        other => other,
    })
}

guarded!(ZwlrLayerSurfaceV1, WlrLayerSurfaceUserData => WlrLayerShellState, check_layer_surface);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes_fit_smithays_i32_sizes() {
        assert_eq!(clamp_layer_size(u32::MAX), 1 << 16);
        assert_eq!(clamp_layer_size(300), 300);
        assert!(i32::try_from(clamp_layer_size(u32::MAX)).is_ok());
    }
}
