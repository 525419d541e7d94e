//! One module per Wayland protocol the compositor offers; each implements Smithay's
//! handler trait for [`State`](super::State) and delegates the protocol to Smithay, but
//! for the objects whose requests [`guard`](super::guard) checks first.

mod compositor;
mod content_type;
mod cursor_shape;
mod data_device;
mod dmabuf;
pub(crate) mod ext_data_control;
pub(crate) mod foreign_toplevel;
mod fractional_scale;
mod idle_inhibit;
mod image_copy_capture;
mod input_method;
mod keyboard_shortcuts_inhibit;
mod layer_shell;
mod output;
mod pointer_constraints;
mod presentation;
mod primary_selection;
mod relative_pointer;
mod screencopy;
mod seat;
mod shm;
mod single_pixel_buffer;
pub(crate) mod tearing_control;
mod text_input;
mod viewporter;
mod virtual_keyboard;
pub(crate) mod virtual_pointer;
mod wl_drm;
pub(crate) mod wlr_data_control;
mod xdg_activation;
mod xdg_decoration;
mod xdg_foreign;
mod xdg_shell;
mod xdg_shell_v6;
mod xwayland_shell;

pub(crate) use image_copy_capture::CaptureSession;
