use smithay::delegate_single_pixel_buffer;

use crate::comp::State;

delegate_single_pixel_buffer!(State);
