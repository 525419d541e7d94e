use smithay::reexports::wayland_server::delegate_global_dispatch;
use smithay::reexports::wayland_server::protocol::wl_buffer::WlBuffer;
use smithay::reexports::wayland_server::protocol::wl_shm::WlShm;
use smithay::wayland::buffer::BufferHandler;
use smithay::wayland::shm::{ShmHandler, ShmState};

use crate::comp::State;

impl ShmHandler for State {
    fn shm_state(&self) -> &ShmState {
        &self.shm_state
    }
}

impl BufferHandler for State {
    fn buffer_destroyed(&mut self, _buffer: &WlBuffer) {}
}

// What `delegate_shm!` would add but for `wl_shm`, `wl_shm_pool` and shm `wl_buffer`,
// which `guard::shm` dispatches.
delegate_global_dispatch!(State: [WlShm: ()] => ShmState);
