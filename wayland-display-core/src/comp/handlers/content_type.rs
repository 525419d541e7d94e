use smithay::delegate_content_type;

use crate::comp::State;

// Smithay's wp_content_type_v1 keeps the hint in each surface's cached state; an encoder
// could tune itself to it (video, game), nothing reads it yet.
delegate_content_type!(State);
