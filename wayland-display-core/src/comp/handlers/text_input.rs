use smithay::delegate_text_input_manager;

use crate::comp::State;

// Smithay's text-input-v3; the compositor commits `KeyboardText` to it (`comp/text.rs`).
delegate_text_input_manager!(State);
