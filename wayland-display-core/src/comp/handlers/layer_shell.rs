//! `zwlr_layer_shell_v1`: layer surfaces go on the one output's layer map (whatever output
//! a client names), are configured there at their initial commit and re-arranged at every
//! commit; `comp/layers.rs` holds what they do to windows, input and focus.

use smithay::desktop::{LayerSurface, WindowSurfaceType, layer_map_for_output};
use smithay::reexports::wayland_protocols_wlr::layer_shell::v1::server::zwlr_layer_shell_v1::ZwlrLayerShellV1;
use smithay::reexports::wayland_server::protocol::{wl_output::WlOutput, wl_surface::WlSurface};
use smithay::reexports::wayland_server::{delegate_dispatch, delegate_global_dispatch};
use smithay::utils::Rectangle;
use smithay::wayland::compositor::with_states;
use smithay::wayland::shell::wlr_layer::{
    Layer, LayerSurface as WlrLayerSurface, LayerSurfaceData, WlrLayerShellGlobalData,
    WlrLayerShellHandler, WlrLayerShellState,
};
use smithay::wayland::shell::xdg::PopupSurface;

use crate::comp::layers::MAX_LAYER_SURFACES;
use crate::comp::{State, geometry};

impl WlrLayerShellHandler for State {
    fn shell_state(&mut self) -> &mut WlrLayerShellState {
        &mut self.layer_shell_state
    }

    fn new_layer_surface(
        &mut self,
        surface: WlrLayerSurface,
        _output: Option<WlOutput>,
        _layer: Layer,
        namespace: String,
    ) {
        let mut map = layer_map_for_output(&self.output);
        if map.len() >= MAX_LAYER_SURFACES {
            drop(map);
            tracing::warn!(
                limit = MAX_LAYER_SURFACES,
                "layer surface closed: the output holds its most"
            );
            surface.send_close();
            return;
        }
        if let Err(err) = map.map_layer(&LayerSurface::new(surface, namespace)) {
            tracing::debug!(%err, "layer surface not mapped");
        }
        drop(map);
        self.changed.mark();
    }

    fn new_popup(&mut self, _parent: WlrLayerSurface, popup: PopupSurface) {
        // Tracked by the xdg-shell handler already; placed now that its parent is known.
        let geometry = self.layer_popup_geometry(&popup);
        popup.with_pending_state(|state| state.geometry = geometry);
        self.changed.mark();
    }

    fn layer_destroyed(&mut self, surface: WlrLayerSurface) {
        let before = self.usable_area();
        let mut map = layer_map_for_output(&self.output);
        let layer = map
            .layers()
            .find(|l| l.layer_surface() == &surface)
            .cloned();
        if let Some(layer) = layer {
            map.unmap_layer(&layer);
        }
        drop(map);
        self.layers_changed(before);
    }
}

impl State {
    /// A layer surface's popup where its positioner asks, kept inside the output.
    fn layer_popup_geometry(
        &self,
        popup: &PopupSurface,
    ) -> Rectangle<i32, smithay::utils::Logical> {
        let positioner = popup.with_pending_state(|state| state.positioner);
        let Some(at) = popup
            .get_parent_surface()
            .and_then(|parent| self.layer_location(&parent))
        else {
            return positioner.get_geometry();
        };
        let mut target = Rectangle::from_size(self.output_logical_size());
        target.loc = geometry::minus_px(target.loc, at);
        positioner.get_unconstrained_geometry(target)
    }
}

/// At a layer surface's commit: the map is arranged again (its size, anchors, margins or
/// zone may have changed) and its first configure goes out at its initial commit. Returns
/// whether `surface` is a layer surface.
pub(super) fn layer_commit(state: &mut State, surface: &WlSurface) -> bool {
    // Taken first: mapping a surface again arranges the map already.
    let before = state.usable_area();
    let is_layer = layer_map_for_output(&state.output)
        .layer_for_surface(surface, WindowSurfaceType::TOPLEVEL)
        .is_some();
    if !is_layer && !state.remap_layer(surface) {
        return false;
    }
    if state.unmap_layer_without_buffer(surface) {
        return true;
    }
    let initial_sent = with_states(surface, |states| {
        states
            .data_map
            .get::<LayerSurfaceData>()
            .and_then(|data| data.lock().ok().map(|d| d.initial_configure_sent))
    })
    .unwrap_or(true);
    // Arranged before the initial configure, so that it carries the size the client set.
    state.arrange_layers(before);
    state.layer_shown(surface);
    if !initial_sent
        && let Some(layer) = layer_map_for_output(&state.output)
            .layer_for_surface(surface, WindowSurfaceType::TOPLEVEL)
            .cloned()
    {
        layer.layer_surface().send_configure();
    }
    true
}

// What `delegate_layer_shell!` would add but for `zwlr_layer_surface_v1`, which
// `guard::layer` dispatches.
delegate_global_dispatch!(State: [ZwlrLayerShellV1: WlrLayerShellGlobalData] => WlrLayerShellState);
delegate_dispatch!(State: [ZwlrLayerShellV1: ()] => WlrLayerShellState);
