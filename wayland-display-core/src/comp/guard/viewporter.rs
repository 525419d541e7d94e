//! `wp_viewport`: a destination size no output could show is clamped (Smithay checks only
//! that it is positive, and the size then enters its geometry sums).

use smithay::reexports::wayland_protocols::wp::viewporter::server::wp_viewport::{
    self, WpViewport,
};
use smithay::reexports::wayland_server::Client;
use smithay::wayland::viewporter::ViewportState;

use super::{clamp_size, guarded};
use crate::comp::State;

fn check_viewport(
    _: &mut State,
    _: &Client,
    _: &WpViewport,
    request: wp_viewport::Request,
    _: &ViewportState,
) -> Option<wp_viewport::Request> {
    Some(match request {
        // -1 x -1 unsets the destination, and other non-positive sizes are Smithay's
        // bad_value error: both pass as they are.
        wp_viewport::Request::SetDestination { width, height } if width > 0 && height > 0 => {
            wp_viewport::Request::SetDestination {
                width: clamp_size(width),
                height: clamp_size(height),
            }
        }
        other => other,
    })
}

guarded!(WpViewport, ViewportState => ViewportState, check_viewport);
