//! fractional-scale-v1: clients that follow it draw at the output's scale exactly (a
//! buffer of the logical size times the scale, shown through a viewport) instead of at
//! the next whole scale and scaled down.

use smithay::delegate_fractional_scale;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::wayland::compositor::with_states;
use smithay::wayland::fractional_scale::FractionalScaleHandler;

use crate::comp::State;

impl FractionalScaleHandler for State {
    /// Every surface is on the one output: its scale is the surface's from the start,
    /// before the client draws its first buffer.
    fn new_fractional_scale(&mut self, surface: WlSurface) {
        with_states(&surface, |states| self.send_scale(&surface, states));
    }
}

delegate_fractional_scale!(State);
