//! The protocol descriptors the fuzzer generates requests from: the ones the wayland crates
//! carry for every global a compositor of this kind may advertise, and `wl_drm`, which no
//! client crate carries, described here from its XML.

use std::sync::OnceLock;

use wayland_client::Proxy;
use wayland_client::backend::protocol::{AllowNull, ArgumentType, Interface, MessageDesc};
use wayland_client::protocol as core;
use wayland_protocols::{ext, wp, xdg};

pub fn display() -> &'static Interface {
    core::wl_display::WlDisplay::interface()
}

/// The descriptor for a global's interface name, if we know it.
pub fn global(name: &str) -> Option<&'static Interface> {
    globals().iter().copied().find(|i| i.name == name)
}

fn globals() -> &'static [&'static Interface] {
    static GLOBALS: OnceLock<Vec<&'static Interface>> = OnceLock::new();
    GLOBALS.get_or_init(|| {
        use wp::linux_dmabuf::zv1::client::zwp_linux_dmabuf_v1::ZwpLinuxDmabufV1;
        use wp::pointer_constraints::zv1::client::zwp_pointer_constraints_v1::ZwpPointerConstraintsV1;
        use wp::relative_pointer::zv1::client::zwp_relative_pointer_manager_v1::ZwpRelativePointerManagerV1;
        use wp::single_pixel_buffer::v1::client::wp_single_pixel_buffer_manager_v1::WpSinglePixelBufferManagerV1;
        vec![
            // What the compositor offers today.
            core::wl_compositor::WlCompositor::interface(),
            core::wl_subcompositor::WlSubcompositor::interface(),
            core::wl_shm::WlShm::interface(),
            core::wl_data_device_manager::WlDataDeviceManager::interface(),
            core::wl_seat::WlSeat::interface(),
            core::wl_output::WlOutput::interface(),
            xdg::shell::client::xdg_wm_base::XdgWmBase::interface(),
            xdg::xdg_output::zv1::client::zxdg_output_manager_v1::ZxdgOutputManagerV1::interface(),
            wp::presentation_time::client::wp_presentation::WpPresentation::interface(),
            wp::viewporter::client::wp_viewporter::WpViewporter::interface(),
            ZwpRelativePointerManagerV1::interface(),
            ZwpPointerConstraintsV1::interface(),
            WpSinglePixelBufferManagerV1::interface(),
            wp::text_input::zv3::client::zwp_text_input_manager_v3::ZwpTextInputManagerV3::interface(),
            wayland_protocols_misc::zwp_input_method_v2::client::zwp_input_method_manager_v2::ZwpInputMethodManagerV2::interface(),
            wayland_protocols_wlr::layer_shell::v1::client::zwlr_layer_shell_v1::ZwlrLayerShellV1::interface(),
            wp::cursor_shape::v1::client::wp_cursor_shape_manager_v1::WpCursorShapeManagerV1::interface(),
            wp::fractional_scale::v1::client::wp_fractional_scale_manager_v1::WpFractionalScaleManagerV1::interface(),
            &xdg_shell_v6::ZXDG_SHELL_V6_INTERFACE,
            // Offered with privileged protocols (the default).
            wayland_protocols_wlr::screencopy::v1::client::zwlr_screencopy_manager_v1::ZwlrScreencopyManagerV1::interface(),
            ext::image_copy_capture::v1::client::ext_image_copy_capture_manager_v1::ExtImageCopyCaptureManagerV1::interface(),
            ext::image_capture_source::v1::client::ext_output_image_capture_source_manager_v1::ExtOutputImageCaptureSourceManagerV1::interface(),
            // The desktop protocols (comp/handlers/).
            xdg::decoration::zv1::client::zxdg_decoration_manager_v1::ZxdgDecorationManagerV1::interface(),
            xdg::activation::v1::client::xdg_activation_v1::XdgActivationV1::interface(),
            wp::primary_selection::zv1::client::zwp_primary_selection_device_manager_v1::ZwpPrimarySelectionDeviceManagerV1::interface(),
            wp::idle_inhibit::zv1::client::zwp_idle_inhibit_manager_v1::ZwpIdleInhibitManagerV1::interface(),
            wp::keyboard_shortcuts_inhibit::zv1::client::zwp_keyboard_shortcuts_inhibit_manager_v1::ZwpKeyboardShortcutsInhibitManagerV1::interface(),
            wp::content_type::v1::client::wp_content_type_manager_v1::WpContentTypeManagerV1::interface(),
            wp::tearing_control::v1::client::wp_tearing_control_manager_v1::WpTearingControlManagerV1::interface(),
            xdg::foreign::zv2::client::zxdg_exporter_v2::ZxdgExporterV2::interface(),
            xdg::foreign::zv2::client::zxdg_importer_v2::ZxdgImporterV2::interface(),
            // Offered with privileged-protocols (the default).
            wayland_protocols_wlr::data_control::v1::client::zwlr_data_control_manager_v1::ZwlrDataControlManagerV1::interface(),
            wayland_protocols::ext::data_control::v1::client::ext_data_control_manager_v1::ExtDataControlManagerV1::interface(),
            wayland_protocols_misc::zwp_virtual_keyboard_v1::client::zwp_virtual_keyboard_manager_v1::ZwpVirtualKeyboardManagerV1::interface(),
            wayland_protocols_wlr::virtual_pointer::v1::client::zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1::interface(),
            wayland_protocols_wlr::foreign_toplevel::v1::client::zwlr_foreign_toplevel_manager_v1::ZwlrForeignToplevelManagerV1::interface(),
            // Offered when a GPU renders.
            ZwpLinuxDmabufV1::interface(),
            wl_drm(),
            // Not offered yet; listed so that adding one is fuzzed without touching this.
            xdg::dialog::v1::client::xdg_wm_dialog_v1::XdgWmDialogV1::interface(),
            wp::fractional_scale::v1::client::wp_fractional_scale_manager_v1::WpFractionalScaleManagerV1::interface(),
            wp::alpha_modifier::v1::client::wp_alpha_modifier_v1::WpAlphaModifierV1::interface(),
            wp::pointer_gestures::zv1::client::zwp_pointer_gestures_v1::ZwpPointerGesturesV1::interface(),
            wp::tablet::zv2::client::zwp_tablet_manager_v2::ZwpTabletManagerV2::interface(),
            wp::fifo::v1::client::wp_fifo_manager_v1::WpFifoManagerV1::interface(),
            wp::commit_timing::v1::client::wp_commit_timing_manager_v1::WpCommitTimingManagerV1::interface(),
            wp::linux_drm_syncobj::v1::client::wp_linux_drm_syncobj_manager_v1::WpLinuxDrmSyncobjManagerV1::interface(),
        ]
    })
}

/// `zxdg_shell_v6` and its objects, from Debian's `wayland-protocols` XML (no crate
/// carries the unstable xdg-shell any more).
#[allow(missing_docs, non_upper_case_globals)]
mod xdg_shell_v6 {
    use wayland_client::backend as wayland_backend;
    use wayland_client::protocol::__interfaces::*;
    wayland_scanner::generate_interfaces!(
        "/usr/share/wayland-protocols/unstable/xdg-shell/xdg-shell-unstable-v6.xml"
    );
}

/// `wl_drm` version 2, as Mesa's `wayland-drm.xml` has it.
fn wl_drm() -> &'static Interface {
    static WL_DRM: OnceLock<&'static Interface> = OnceLock::new();
    WL_DRM.get_or_init(|| {
        use ArgumentType::{Fd, Int, NewId, Uint};
        let buffer = core::wl_buffer::WlBuffer::interface();
        // format, then offset and stride of three planes
        let planes = [Uint, Int, Int, Int, Int, Int, Int];
        let planar: &'static [ArgumentType] =
            leak([&[NewId, Uint, Int, Int][..], &planes].concat());
        let prime: &'static [ArgumentType] = leak([&[NewId, Fd, Int, Int][..], &planes].concat());
        let request = |name, signature, since, child| MessageDesc {
            name,
            signature,
            since,
            is_destructor: false,
            child_interface: child,
            arg_interfaces: &[],
        };
        let requests = leak(vec![
            request("authenticate", &[Uint][..], 1, None),
            request(
                "create_buffer",
                &[NewId, Uint, Int, Int, Uint, Uint][..],
                1,
                Some(buffer),
            ),
            request("create_planar_buffer", planar, 1, Some(buffer)),
            request("create_prime_buffer", prime, 2, Some(buffer)),
        ]);
        let events = leak(vec![
            request("device", &[ArgumentType::Str(AllowNull::No)][..], 1, None),
            request("format", &[Uint][..], 1, None),
            request("authenticated", &[][..], 1, None),
            request("capabilities", &[Uint][..], 2, None),
        ]);
        Box::leak(Box::new(Interface {
            name: "wl_drm",
            version: 2,
            requests,
            events,
            c_ptr: None,
        }))
    })
}

/// Descriptors live as long as the program, as the crates' own are `static`.
fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_advertised_global_is_known() {
        for name in [
            "wl_compositor",
            "wl_subcompositor",
            "xdg_wm_base",
            "wl_shm",
            "wl_data_device_manager",
            "zxdg_output_manager_v1",
            "wp_presentation",
            "wp_viewporter",
            "zwp_relative_pointer_manager_v1",
            "zwp_pointer_constraints_v1",
            "wp_single_pixel_buffer_manager_v1",
            "wp_fractional_scale_manager_v1",
            "zxdg_shell_v6",
            "wl_seat",
            "wl_output",
            "zwp_linux_dmabuf_v1",
            "wl_drm",
            "zwlr_screencopy_manager_v1",
            "ext_image_copy_capture_manager_v1",
            "ext_output_image_capture_source_manager_v1",
            "zwlr_foreign_toplevel_manager_v1",
        ] {
            assert!(global(name).is_some(), "{name}");
        }
        assert!(global("wl_surface").is_none());
    }

    #[test]
    fn wl_drm_has_its_xml_signatures() {
        let drm = global("wl_drm").unwrap();
        assert_eq!(drm.requests[3].signature.len(), 11);
        assert_eq!(drm.requests[3].since, 2);
    }
}
