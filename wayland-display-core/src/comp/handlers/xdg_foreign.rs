use smithay::delegate_xdg_foreign;
use smithay::wayland::xdg_foreign::{XdgForeignHandler, XdgForeignState};

use crate::comp::State;

// An imported toplevel made the parent of another (`zxdg_imported_v2.set_parent_of`, as
// portals' file choosers do) is its parent for the window policy: Smithay sets the
// toplevel's parent and calls `parent_changed`, so the dialog floats centred over it.
impl XdgForeignHandler for State {
    fn xdg_foreign_state(&mut self) -> &mut XdgForeignState {
        &mut self.xdg_foreign_state
    }
}

delegate_xdg_foreign!(State);
