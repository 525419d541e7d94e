use smithay::delegate_pointer_constraints;
use smithay::input::pointer::PointerHandle;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Point};
use smithay::wayland::pointer_constraints::{PointerConstraintsHandler, with_pointer_constraint};

use crate::comp::{State, geometry};

impl PointerConstraintsHandler for State {
    fn new_constraint(&mut self, surface: &WlSurface, pointer: &PointerHandle<Self>) {
        // A constraint takes effect at once if the pointer is already on its surface.
        if pointer.current_focus().as_ref() == Some(surface) {
            self.activate_constraint_at_pointer(surface);
        }
    }

    fn cursor_position_hint(
        &mut self,
        surface: &WlSurface,
        pointer: &PointerHandle<Self>,
        location: Point<f64, Logical>,
    ) {
        // Honoured for locked pointers only: where the client wants the cursor on unlock.
        let locked = with_pointer_constraint(surface, pointer, |constraint| {
            constraint.is_some_and(|c| c.is_active())
        });
        if !locked {
            return;
        }
        if let Some(origin) = self.surface_origin(surface) {
            self.pointer_location = self.output_point(geometry::plus(origin, location));
            if self.cursor_visible {
                self.changed.mark();
            }
        }
    }
}

delegate_pointer_constraints!(State);
