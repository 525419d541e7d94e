use smithay::delegate_cursor_shape;
use smithay::wayland::tablet_manager::TabletSeatHandler;

use crate::comp::State;

// cursor-shape-v1: a shape a client names arrives as `SeatHandler::cursor_image` with a
// named cursor, which `render/cursor.rs` draws from the theme. There are no tablets here,
// so nothing ever sets a tablet tool's image.
impl TabletSeatHandler for State {}

delegate_cursor_shape!(State);
