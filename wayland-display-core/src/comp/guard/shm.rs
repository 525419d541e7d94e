//! `wl_shm`, `wl_shm_pool`, `wl_buffer` (shm): pool sizes and the number of mappings a
//! client holds, and the resize Smithay would panic on.

use smithay::reexports::wayland_server::backend::ClientId;
use smithay::reexports::wayland_server::protocol::{
    wl_buffer::{self, WlBuffer},
    wl_shm::{self, WlShm},
    wl_shm_pool::{self, WlShmPool},
};
use smithay::reexports::wayland_server::{Client, Resource};
use smithay::wayland::shm::{ShmBufferUserData, ShmPoolUserData, ShmState};

use super::{disconnect_over_limit, guarded};
use crate::comp::{State, client_state, client_state_by_id};

/// Whether `size` bytes are more than one pool may have; disconnects the client if so.
fn pool_too_large(state: &State, client: &Client, size: i32) -> bool {
    let limit = state.client_limits.max_shm_pool_bytes;
    let too_large = u64::try_from(size).is_ok_and(|size| size > limit);
    if too_large {
        disconnect_over_limit(&state.dh, client, "wl_shm_pool size in bytes", limit);
    }
    too_large
}

/// Takes one of the client's shm mappings; disconnects it at the limit.
fn take_mapping(state: &State, client: &Client) -> bool {
    let limit = state.client_limits.max_shm_mappings;
    let admitted = match client_state(client) {
        Some(c) => c.counts.shm_mappings.try_take(limit),
        None => crate::comp::is_xwayland(client),
    };
    if !admitted {
        disconnect_over_limit(
            &state.dh,
            client,
            "wl_shm pools and buffers",
            u64::from(limit),
        );
    }
    admitted
}

fn release_mapping(state: &State, client: ClientId) {
    if let Some(data) = client_state_by_id(&state.dh, client) {
        data.counts.shm_mappings.release();
    }
}

fn check_shm(
    state: &mut State,
    client: &Client,
    _: &WlShm,
    request: wl_shm::Request,
    _: &(),
) -> Option<wl_shm::Request> {
    if let wl_shm::Request::CreatePool { size, .. } = &request
        && (pool_too_large(state, client, *size) || !take_mapping(state, client))
    {
        return None;
    }
    Some(request)
}

fn check_pool(
    state: &mut State,
    client: &Client,
    pool: &WlShmPool,
    request: wl_shm_pool::Request,
    _: &ShmPoolUserData,
) -> Option<wl_shm_pool::Request> {
    match &request {
        // Smithay posts the error for a size of zero but goes on to unwrap it as a
        // non-zero size.
        wl_shm_pool::Request::Resize { size } if *size <= 0 => {
            pool.post_error(
                wl_shm::Error::InvalidFd,
                format!("wl_shm_pool.resize to {size} bytes: the size must be positive"),
            );
            None
        }
        wl_shm_pool::Request::Resize { size } if pool_too_large(state, client, *size) => None,
        wl_shm_pool::Request::CreateBuffer { .. } if !take_mapping(state, client) => None,
        _ => Some(request),
    }
}

fn pool_gone(state: &mut State, client: ClientId, _: &WlShmPool, _: &ShmPoolUserData) {
    release_mapping(state, client);
}

fn check_buffer(
    _: &mut State,
    _: &Client,
    _: &WlBuffer,
    request: wl_buffer::Request,
    _: &ShmBufferUserData,
) -> Option<wl_buffer::Request> {
    Some(request)
}

fn buffer_gone(state: &mut State, client: ClientId, _: &WlBuffer, _: &ShmBufferUserData) {
    release_mapping(state, client);
}

guarded!(WlShm, () => ShmState, check_shm);
guarded!(WlShmPool, ShmPoolUserData => ShmState, check_pool, destroyed: pool_gone);
guarded!(WlBuffer, ShmBufferUserData => ShmState, check_buffer, destroyed: buffer_gone);
