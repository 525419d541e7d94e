//! One module per Wayland protocol the compositor offers; each implements Smithay's
//! handler trait for [`State`](super::State) and delegates the protocol to Smithay, but
//! for the objects whose requests [`guard`](super::guard) checks first.

mod compositor;
mod data_device;
mod dmabuf;
mod input_method;
mod layer_shell;
mod output;
mod pointer_constraints;
mod presentation;
mod relative_pointer;
mod seat;
mod shm;
mod single_pixel_buffer;
mod text_input;
mod viewporter;
mod wl_drm;
mod xdg_shell;
mod xwayland_shell;
