//! Protocols Smithay does not provide, generated from their XML descriptions.

/// Mesa's legacy `wl_drm`, see `protocols/wl-drm.xml`.
#[allow(
    missing_docs,
    non_upper_case_globals,
    non_snake_case,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable
)]
pub(crate) mod wl_drm {
    pub mod __interfaces {
        use smithay::reexports::wayland_server::backend as wayland_backend;
        // wl_drm creates wl_buffers: their interface description must be in scope.
        use smithay::reexports::wayland_server::protocol::__interfaces::*;
        wayland_scanner::generate_interfaces!("protocols/wl-drm.xml");
    }
    use self::__interfaces::*;
    use smithay::reexports::wayland_server;
    use smithay::reexports::wayland_server::protocol::*;
    wayland_scanner::generate_server_code!("protocols/wl-drm.xml");
}
