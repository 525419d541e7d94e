//! Requests checked before Smithay sees them.
//!
//! Smithay trusts many request arguments: negative sizes reach its `Size` (a panic in
//! debug builds), coordinates near `i32::MAX` reach its `Point` arithmetic (a panic or a
//! wrap), a subsurface restacked against itself panics inside its tree. Each protocol
//! object whose requests carry such values is dispatched here first: a request the
//! protocol makes an error gets that error (which disconnects the client, and only it),
//! one the protocol allows but no output could show is clamped to what can be shown, and
//! the rest goes to Smithay unchanged. The same place counts what each client holds
//! against its limits.

mod compositor;
mod layer;
mod limits;
mod shm;
mod viewporter;
mod virtual_keyboard;
pub(crate) mod xdg;

pub(crate) use limits::ClientCounts;
pub(crate) use xdg::popup_parent_is_valid;

use std::ffi::CString;

use smithay::reexports::wayland_server::{Client, DisplayHandle};
use wayland_backend::protocol::WL_DISPLAY_INTERFACE;

/// The largest coordinate or size a client may give: far beyond any output (a 16K screen
/// is 15 360 wide), small enough that sums along a surface tree as deep as the surface
/// limit allows stay inside `i32`.
pub(crate) const COORD_LIMIT: i32 = 1 << 16;

/// `v` brought into `[-COORD_LIMIT, COORD_LIMIT]`.
pub(crate) fn clamp_coord(v: i32) -> i32 {
    v.clamp(-COORD_LIMIT, COORD_LIMIT)
}

/// `v` brought into `[0, COORD_LIMIT]`; callers have refused negative sizes already.
pub(crate) fn clamp_size(v: i32) -> i32 {
    v.clamp(0, COORD_LIMIT)
}

/// Whether every value lies within the coordinate limit.
pub(crate) fn within_limit(values: &[i32]) -> bool {
    values
        .iter()
        .all(|v| (-COORD_LIMIT..=COORD_LIMIT).contains(v))
}

/// `wl_display.error` codes (the core protocol's own enum, which wayland-server does not
/// export on the server side).
const WL_DISPLAY_NO_MEMORY: u32 = 2;

/// Disconnects `client` for going over one of its limits: `wl_display.error(no_memory)`
/// naming the limit (what libwayland sends when a client cannot be given more), and a
/// log line naming the client and the limit.
pub(crate) fn disconnect_over_limit(dh: &DisplayHandle, client: &Client, what: &str, limit: u64) {
    let pid = client.get_credentials(dh).map_or(0, |c| c.pid);
    let message = format!("{what}: over the limit of {limit} for one client");
    tracing::warn!(client_pid = pid, limit, "client disconnected: {message}");
    let handle = dh.backend_handle();
    match handle.object_for_protocol_id(client.id(), &WL_DISPLAY_INTERFACE, 1) {
        Ok(display) => {
            // The message has no NUL (it is ours), so this never falls back.
            let text = CString::new(message).unwrap_or_default();
            handle.post_error(display, WL_DISPLAY_NO_MEMORY, text);
        }
        Err(_) => client.kill(
            dh,
            smithay::reexports::wayland_server::backend::protocol::ProtocolError {
                code: WL_DISPLAY_NO_MEMORY,
                object_id: 1,
                object_interface: "wl_display".to_owned(),
                message,
            },
        ),
    }
}

/// Implements `Dispatch<$iface, $udata>` for [`State`](crate::comp::State): `$check` sees
/// each request first and returns the request to hand to `$smithay` (as it came, or
/// clamped), or `None` when it was refused. A refused request that creates an object must
/// have posted a protocol error: the backend accepts an uninitialised new object only
/// from a client it is disconnecting. `$gone`, if given, runs after Smithay's destructor.
macro_rules! guarded {
    ($iface:ty, $udata:ty => $smithay:ty, $check:path $(, destroyed: $gone:path)?) => {
        impl smithay::reexports::wayland_server::Dispatch<$iface, $udata> for crate::comp::State {
            fn request(
                state: &mut crate::comp::State,
                client: &smithay::reexports::wayland_server::Client,
                resource: &$iface,
                request: <$iface as smithay::reexports::wayland_server::Resource>::Request,
                data: &$udata,
                dh: &smithay::reexports::wayland_server::DisplayHandle,
                data_init: &mut smithay::reexports::wayland_server::DataInit<'_, crate::comp::State>,
            ) {
                if let Some(request) = $check(state, client, resource, request, data) {
                    <$smithay as smithay::reexports::wayland_server::Dispatch<
                        $iface,
                        $udata,
                        crate::comp::State,
                    >>::request(state, client, resource, request, data, dh, data_init);
                }
            }

            fn destroyed(
                state: &mut crate::comp::State,
                client: smithay::reexports::wayland_server::backend::ClientId,
                resource: &$iface,
                data: &$udata,
            ) {
                <$smithay as smithay::reexports::wayland_server::Dispatch<
                    $iface,
                    $udata,
                    crate::comp::State,
                >>::destroyed(state, client.clone(), resource, data);
                $( $gone(state, client, resource, data); )?
            }
        }
    };
}
pub(crate) use guarded;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_clamped_to_the_limit_and_sizes_never_negative() {
        assert_eq!(clamp_coord(i32::MAX), COORD_LIMIT);
        assert_eq!(clamp_coord(i32::MIN), -COORD_LIMIT);
        assert_eq!(clamp_coord(-5), -5);
        assert_eq!(clamp_size(i32::MAX), COORD_LIMIT);
        assert_eq!(clamp_size(-1), 0);
        assert!(within_limit(&[0, COORD_LIMIT, -COORD_LIMIT]));
        assert!(!within_limit(&[0, COORD_LIMIT + 1]));
    }

    #[test]
    fn sums_along_the_deepest_allowed_tree_stay_in_range() {
        // Every surface a client may have nested in one chain, each at the farthest
        // offset, and the size of the last one.
        let depth = i64::from(crate::ClientLimits::MAX_SURFACES_CEILING);
        assert!((depth + 1) * i64::from(COORD_LIMIT) < i64::from(i32::MAX));
    }
}
