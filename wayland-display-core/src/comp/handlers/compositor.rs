use smithay::backend::renderer::utils::on_commit_buffer_handler;
use smithay::reexports::wayland_server::protocol::wl_callback::WlCallback;
use smithay::reexports::wayland_server::protocol::wl_compositor::WlCompositor;
use smithay::reexports::wayland_server::protocol::wl_subcompositor::WlSubcompositor;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::reexports::wayland_server::{
    Client, Resource, delegate_dispatch, delegate_global_dispatch,
};
use smithay::wayland::compositor::{
    CompositorClientState, CompositorHandler, CompositorState, get_parent, is_sync_subsurface,
    with_states,
};
use smithay::wayland::seat::WaylandFocus;
use smithay::xwayland::XWaylandClientData;

use super::{layer_shell, xdg_shell};
use crate::comp::{ClientState, State};

impl CompositorHandler for State {
    fn compositor_state(&mut self) -> &mut CompositorState {
        &mut self.compositor_state
    }

    fn client_compositor_state<'a>(&self, client: &'a Client) -> &'a CompositorClientState {
        if let Some(xwayland) = client.get_data::<XWaylandClientData>() {
            return &xwayland.compositor_state;
        }
        match client.get_data::<ClientState>() {
            Some(data) => &data.compositor_state,
            // Every client is inserted with ClientState; this only guards against misuse.
            None => fallback_client_state(),
        }
    }

    fn commit(&mut self, surface: &WlSurface) {
        on_commit_buffer_handler::<Self>(surface);
        // Every surface is on the one output from its first commit; sent once per value.
        with_states(surface, |states| self.send_scale(surface, states));
        if !is_sync_subsurface(surface) {
            let mut root = surface.clone();
            while let Some(parent) = get_parent(&root) {
                root = parent;
            }
            self.schedule
                .predictor
                .committed(&root.id(), std::time::Instant::now());
            if let Some(window) = self
                .space
                .elements()
                .find(|w| w.wl_surface().as_deref() == Some(&root))
            {
                window.on_commit();
            }
        }
        self.popups.commit(surface);
        if layer_shell::layer_commit(self, surface) {
            self.changed.mark();
            return;
        }
        xdg_shell::send_initial_configure(self, surface);
        xdg_shell::map_on_first_buffer(self, surface);
        self.changed.mark();
    }

    fn destroyed(&mut self, surface: &WlSurface) {
        self.touch_surface_gone(surface);
        self.schedule.predictor.forget(&surface.id());
        self.changed.mark();
    }
}

fn fallback_client_state() -> &'static CompositorClientState {
    static STATE: std::sync::OnceLock<CompositorClientState> = std::sync::OnceLock::new();
    STATE.get_or_init(CompositorClientState::default)
}

// What `delegate_compositor!` would add but for `wl_compositor`, `wl_surface`,
// `wl_region`, `wl_subcompositor` and `wl_subsurface`, which `guard::compositor`
// dispatches.
delegate_global_dispatch!(State: [WlCompositor: ()] => CompositorState);
delegate_global_dispatch!(State: [WlSubcompositor: ()] => CompositorState);
delegate_dispatch!(State: [WlCallback: ()] => CompositorState);
