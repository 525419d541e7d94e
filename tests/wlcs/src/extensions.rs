//! The protocols the compositor offers, at the versions its globals announce. wlcs skips
//! tests needing anything missing here (wl_shell, gtk_primary_selection, …).

use wlcs::extension_list;
use wlcs::ffi_display_server_api::{WlcsExtensionDescriptor, WlcsIntegrationDescriptor};

/// Versions are Smithay 0.7's for the states `State::new` creates; the linux-dmabuf and
/// wl_drm globals exist only with a GPU renderer, which this module does not use.
static SUPPORTED: &[WlcsExtensionDescriptor] = extension_list!(
    ("wl_compositor", 6),
    ("wl_subcompositor", 1),
    ("wl_shm", 2),
    ("wl_seat", 9),
    ("wl_output", 4),
    ("wl_data_device_manager", 3),
    ("xdg_wm_base", 6),
    ("zxdg_shell_v6", 1),
    ("zxdg_output_manager_v1", 3),
    ("wp_presentation", 2),
    ("wp_viewporter", 1),
    ("zwp_relative_pointer_manager_v1", 1),
    ("zwp_pointer_constraints_v1", 1),
    ("wp_single_pixel_buffer_manager_v1", 1),
    ("zwp_text_input_manager_v3", 1),
    ("zwp_input_method_manager_v2", 1),
    ("zwp_primary_selection_device_manager_v1", 1),
    ("xdg_activation_v1", 1),
    ("zxdg_decoration_manager_v1", 1),
    ("zwp_keyboard_shortcuts_inhibit_manager_v1", 1),
    ("zwp_idle_inhibit_manager_v1", 1),
    ("wp_content_type_manager_v1", 1),
    ("zxdg_exporter_v2", 1),
    ("zxdg_importer_v2", 1),
    ("wp_tearing_control_manager_v1", 1),
    ("wp_fractional_scale_manager_v1", 1),
    ("wp_cursor_shape_manager_v1", 1),
    // The privileged protocols, on by default (`DisplayConfig::privileged_protocols`).
    ("zwlr_data_control_manager_v1", 2),
    ("ext_data_control_manager_v1", 1),
    ("zwp_virtual_keyboard_manager_v1", 1),
    ("zwlr_virtual_pointer_manager_v1", 2),
    ("zwlr_foreign_toplevel_manager_v1", 3),
    ("zwlr_layer_shell_v1", 4),
);

pub(crate) static DESCRIPTOR: WlcsIntegrationDescriptor = WlcsIntegrationDescriptor {
    version: 1,
    num_extensions: SUPPORTED.len(),
    supported_extensions: SUPPORTED.as_ptr(),
};
