//! Layer-shell surfaces (panels, launchers, backgrounds, on-screen keyboards) on the
//! output's layer map, which places them by their anchors, sizes and margins.
//!
//! - Stacking is Smithay's `render_output`: background and bottom below the windows, top
//!   and overlay above. Hit-testing ([`State::surface_under`]) follows the same order.
//! - Exclusive zones shrink the area the window policy maximizes into
//!   ([`State::usable_area`]); when it changes, windows are configured and placed again.
//! - A mapped surface in top or overlay asking for `exclusive` keyboard interactivity
//!   holds the keyboard while it is mapped; `on_demand` ones take it when clicked or
//!   touched. When the surface that held it goes, the keyboard returns to the window on
//!   top.

use std::cell::{Cell, RefCell};

use smithay::backend::renderer::utils::with_renderer_surface_state;
use smithay::desktop::{LayerSurface, WindowSurfaceType, layer_map_for_output};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{IsAlive, Logical, Point, Rectangle};
use smithay::wayland::compositor::{get_role, with_states};
use smithay::wayland::shell::wlr_layer::{
    KeyboardInteractivity, LAYER_SURFACE_ROLE, Layer, LayerSurfaceCachedState, LayerSurfaceData,
};

use crate::comp::{State, geometry};

/// The most layer surfaces the output holds at once. Past it a new one is closed at once:
/// the layer map sums every surface's exclusive zone and margins in `i32`, and no lobby
/// needs more than a handful of panels.
pub(crate) const MAX_LAYER_SURFACES: usize = 256;

/// Whether a layer surface has shown a buffer yet (kept in its surface's data).
struct Shown(Cell<bool>);

/// A layer surface its client unmapped with a null buffer, kept to be mapped again.
struct Unmapped(RefCell<Option<LayerSurface>>);

/// Whether `surface` shows a buffer (a layer surface without one is not mapped).
fn has_buffer(surface: &WlSurface) -> bool {
    with_renderer_surface_state(surface, |s| s.buffer().is_some()).unwrap_or(false)
}

fn keyboard_interactivity(layer: &LayerSurface) -> KeyboardInteractivity {
    with_states(layer.wl_surface(), |states| {
        states
            .cached_state
            .get::<LayerSurfaceCachedState>()
            .current()
            .keyboard_interactivity
    })
}

impl State {
    /// The part of the output windows are maximized into: what exclusive zones leave of
    /// it, or the whole output if they leave nothing.
    pub(crate) fn usable_area(&self) -> Rectangle<i32, Logical> {
        let zone = layer_map_for_output(&self.output).non_exclusive_zone();
        if zone.size.w <= 0 || zone.size.h <= 0 {
            Rectangle::from_size(self.output_logical_size())
        } else {
            zone
        }
    }

    /// Places the layer surfaces again (at a commit); if the usable area is no longer
    /// `before`, windows get the new size and place. Keyboard focus follows exclusive
    /// interactivity.
    pub(crate) fn arrange_layers(&mut self, before: Rectangle<i32, Logical>) {
        layer_map_for_output(&self.output).arrange();
        self.layers_changed(before);
    }

    /// After the layer map changed (and arranged itself: mapping, unmapping and cleaning
    /// up do): windows follow a new usable area, the keyboard a new exclusive layer.
    pub(crate) fn layers_changed(&mut self, before: Rectangle<i32, Logical>) {
        if self.usable_area() != before {
            self.reconfigure_windows();
        }
        self.refocus_layers();
        self.changed.mark();
    }

    /// Every window configured and placed by the policy again.
    pub(crate) fn reconfigure_windows(&mut self) {
        let windows: Vec<_> = self.space.elements().cloned().collect();
        for window in windows {
            if let Some(toplevel) = window.toplevel() {
                self.reconfigure(toplevel);
            }
            self.place_by_policy(&window);
            self.place_x11(&window);
        }
    }

    /// The mapped layer surface holding the keyboard exclusively, if any: the topmost in
    /// overlay, then top.
    pub(crate) fn exclusive_layer(&self) -> Option<WlSurface> {
        let map = layer_map_for_output(&self.output);
        [Layer::Overlay, Layer::Top].into_iter().find_map(|layer| {
            map.layers_on(layer)
                .rev()
                .find(|l| {
                    keyboard_interactivity(l) == KeyboardInteractivity::Exclusive
                        && has_buffer(l.wl_surface())
                })
                .map(|l| l.wl_surface().clone())
        })
    }

    /// Gives the keyboard to the exclusive layer surface, or, when the layer surface that
    /// had it is gone (or no longer takes keys), back to the window on top.
    fn refocus_layers(&mut self) {
        let Some(keyboard) = self.seat.get_keyboard() else {
            return;
        };
        if keyboard.is_grabbed() {
            return;
        }
        let focus = keyboard.current_focus().map(WlSurface::from);
        if let Some(exclusive) = self.exclusive_layer() {
            if focus.as_ref() != Some(&exclusive) {
                self.focus_keyboard(Some(exclusive));
            }
            return;
        }
        let Some(focus) = focus else {
            return;
        };
        let was_layer = get_role(&focus) == Some(LAYER_SURFACE_ROLE);
        if was_layer && !self.layer_takes_keys(&focus) {
            let top = self.top_window_surface();
            self.focus_keyboard(top);
        }
    }

    /// At a layer surface's commit: the first buffer of an `on_demand` surface in top or
    /// overlay gives it the keyboard, as a new window takes it (a launcher opened is one
    /// the user is about to type in); a click elsewhere takes it away again.
    pub(crate) fn layer_shown(&mut self, surface: &WlSurface) {
        if !has_buffer(surface) {
            return;
        }
        let first = with_states(surface, |states| {
            !states
                .data_map
                .get_or_insert(|| Shown(Cell::new(false)))
                .0
                .replace(true)
        });
        let on_demand = {
            let map = layer_map_for_output(&self.output);
            map.layer_for_surface(surface, WindowSurfaceType::TOPLEVEL)
                .is_some_and(|l| {
                    matches!(l.layer(), Layer::Top | Layer::Overlay)
                        && keyboard_interactivity(l) == KeyboardInteractivity::OnDemand
                })
        };
        if first && on_demand {
            self.focus_keyboard(Some(surface.clone()));
        }
    }

    /// A layer surface that was shown and commits without a buffer is unmapped, as the
    /// protocol says: off the map (its zone goes with it) until it makes its initial
    /// commit again, which gets a new first configure. Returns whether it was unmapped.
    pub(crate) fn unmap_layer_without_buffer(&mut self, surface: &WlSurface) -> bool {
        let was_shown = with_states(surface, |states| {
            states
                .data_map
                .get::<Shown>()
                .is_some_and(|shown| shown.0.get())
        });
        if !was_shown || has_buffer(surface) {
            return false;
        }
        let before = self.usable_area();
        let mut map = layer_map_for_output(&self.output);
        let Some(layer) = map
            .layer_for_surface(surface, WindowSurfaceType::TOPLEVEL)
            .cloned()
        else {
            return false;
        };
        map.unmap_layer(&layer);
        drop(map);
        with_states(surface, |states| {
            if let Some(shown) = states.data_map.get::<Shown>() {
                shown.0.set(false);
            }
            if let Some(mut attributes) = states
                .data_map
                .get::<LayerSurfaceData>()
                .and_then(|data| data.lock().ok())
            {
                attributes.initial_configure_sent = false;
                attributes.configured = false;
                attributes.server_pending = None;
                attributes.last_acked = None;
            }
            states
                .data_map
                .get_or_insert(|| Unmapped(RefCell::new(None)))
                .0
                .replace(Some(layer));
        });
        self.layers_changed(before);
        true
    }

    /// Puts a layer surface unmapped by a null buffer back on the map at its next commit
    /// (its initial one again). Returns whether `surface` was such a surface.
    pub(crate) fn remap_layer(&mut self, surface: &WlSurface) -> bool {
        let layer = with_states(surface, |states| {
            states
                .data_map
                .get::<Unmapped>()
                .and_then(|unmapped| unmapped.0.borrow_mut().take())
        });
        let Some(layer) = layer.filter(|l| l.alive()) else {
            return false;
        };
        if let Err(err) = layer_map_for_output(&self.output).map_layer(&layer) {
            tracing::debug!(%err, "layer surface not mapped again");
            return false;
        }
        true
    }

    /// Whether `surface` is a mapped layer surface that accepts keyboard focus.
    fn layer_takes_keys(&self, surface: &WlSurface) -> bool {
        let map = layer_map_for_output(&self.output);
        map.layer_for_surface(surface, WindowSurfaceType::TOPLEVEL)
            .is_some_and(|l| l.can_receive_keyboard_focus() && has_buffer(surface))
    }

    /// The wl_surface of the window on top (not an X11 menu), if any.
    pub(crate) fn top_window_surface(&self) -> Option<WlSurface> {
        use smithay::wayland::seat::WaylandFocus;
        self.space
            .elements()
            .rev()
            .find(|w| !w.x11_surface().is_some_and(|x| x.is_override_redirect()))
            .and_then(|w| w.wl_surface().map(|s| s.into_owned()))
    }

    /// A click or touch on layer surface `surface` (its root) gives it the keyboard if it
    /// takes keys. Returns whether `surface` is a layer surface at all.
    pub(crate) fn press_on_layer(&mut self, surface: &WlSurface) -> bool {
        if get_role(surface) != Some(LAYER_SURFACE_ROLE) {
            return false;
        }
        if self.layer_takes_keys(surface) {
            self.focus_keyboard(Some(surface.clone()));
        }
        true
    }

    /// The surface of the layer surfaces on `layers` (popups and subsurfaces included)
    /// under `pos`, with its origin.
    pub(crate) fn layer_surface_under(
        &self,
        layers: &[Layer],
        pos: Point<f64, Logical>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        let map = layer_map_for_output(&self.output);
        layers.iter().find_map(|layer| {
            let surface = map.layer_under(*layer, pos)?;
            let at = map.layer_geometry(surface)?.loc;
            surface
                .surface_under(geometry::minus(pos, at.to_f64()), WindowSurfaceType::ALL)
                .map(|(s, offset)| (s, geometry::plus_px(offset, at).to_f64()))
        })
    }

    /// The layer surface whose tree `surface` roots, and where the map put it.
    pub(crate) fn layer_location(&self, surface: &WlSurface) -> Option<Point<i32, Logical>> {
        let map = layer_map_for_output(&self.output);
        let layer = map.layer_for_surface(surface, WindowSurfaceType::TOPLEVEL)?;
        map.layer_geometry(layer).map(|g| g.loc)
    }

    /// Whether any layer surface is on the output (the frame then is a composition).
    pub(crate) fn has_layers(&self) -> bool {
        layer_map_for_output(&self.output).len() > 0
    }
}
