use smithay::reexports::wayland_protocols_misc::zwp_virtual_keyboard_v1::server::zwp_virtual_keyboard_manager_v1::ZwpVirtualKeyboardManagerV1;
use smithay::reexports::wayland_server::{delegate_dispatch, delegate_global_dispatch};
use smithay::wayland::virtual_keyboard::{
    VirtualKeyboardManagerGlobalData, VirtualKeyboardManagerState,
};

use crate::comp::State;

// Smithay's zwp_virtual_keyboard_v1 (wtype, wvkbd, remote-desktop servers): keys go to the
// focused client with the virtual keyboard's own keymap. A privileged protocol, offered
// only with `privileged-protocols`. The keyboard objects themselves are dispatched by
// `guard/virtual_keyboard.rs`, which checks their keymaps first.
delegate_global_dispatch!(State: [
    ZwpVirtualKeyboardManagerV1: VirtualKeyboardManagerGlobalData
] => VirtualKeyboardManagerState);
delegate_dispatch!(State: [
    ZwpVirtualKeyboardManagerV1: ()
] => VirtualKeyboardManagerState);
