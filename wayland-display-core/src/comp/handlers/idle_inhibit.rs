use smithay::delegate_idle_inhibit;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::wayland::idle_inhibit::IdleInhibitHandler;

use crate::comp::State;

/// A lobby never blanks or locks its output, so there is nothing to hold off; the global
/// is offered because video players and games ask for it and some refuse to start, or
/// warn, without it.
impl IdleInhibitHandler for State {
    fn inhibit(&mut self, _surface: WlSurface) {}

    fn uninhibit(&mut self, _surface: WlSurface) {}
}

delegate_idle_inhibit!(State);
