//! The single virtual output: its mode, its scale, and what clients are told of the scale.

use smithay::desktop::PopupManager;
use smithay::output::{Mode, Output, PhysicalProperties, Scale, Subpixel};
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Physical, Point, Size, Transform};
use smithay::wayland::compositor::{
    SurfaceData, TraversalAction, send_surface_state, with_surface_tree_downward,
};
use smithay::wayland::fractional_scale::with_fractional_scale;
use smithay::wayland::seat::WaylandFocus;

use crate::VideoMode;
use crate::comp::State;
use crate::display::OutputScale;
use crate::render::{OutputTarget, RenderError};

/// The output, not yet announced to clients (see `Output::create_global`).
pub(crate) fn new_output(mode: VideoMode, scale: OutputScale) -> Output {
    let output = Output::new(
        "HEADLESS-1".to_owned(),
        PhysicalProperties {
            size: (0, 0).into(),
            subpixel: Subpixel::Unknown,
            make: "gst-wayland-display".to_owned(),
            model: "waylanddisplaysrc".to_owned(),
        },
    );
    let smithay_mode = to_smithay(mode);
    output.change_current_state(
        Some(smithay_mode),
        Some(Transform::Normal),
        Some(to_smithay_scale(scale)),
        Some((0, 0).into()),
    );
    output.set_preferred(smithay_mode);
    output
}

fn to_smithay(mode: VideoMode) -> Mode {
    Mode {
        size: mode.size_px().into(),
        refresh: i32::try_from(mode.refresh_mhz).unwrap_or(i32::MAX),
    }
}

/// Whole scales as whole: `wl_output.scale` is the same either way, but Smithay's integer
/// scale keeps its arithmetic exact. Clients that know only whole scales are told the next
/// one up (`Scale::integer_scale`), so they draw at least as sharp as the output.
fn to_smithay_scale(scale: OutputScale) -> Scale {
    let fractional = Scale::Fractional(scale.get());
    if scale.is_integer() {
        Scale::Integer(fractional.integer_scale())
    } else {
        fractional
    }
}

impl State {
    /// The output in logical coordinates, which windows are laid out in: its pixels
    /// divided by the scale.
    pub(crate) fn output_logical_size(&self) -> Size<i32, Logical> {
        self.scale.logical_size(self.mode.size_px()).into()
    }

    /// The output in its own pixels (the frames' size).
    pub(crate) fn output_pixel_size(&self) -> Size<i32, Physical> {
        self.mode.size_px().into()
    }

    /// A position given in output pixels (absolute pointer input), in logical coordinates.
    pub(crate) fn pixels_to_logical(&self, p: Point<f64, Physical>) -> Point<f64, Logical> {
        p.to_logical(self.scale.get())
    }

    /// Applies a new output size, refresh rate or pixel format. Clients see a new
    /// `wl_output` mode and every toplevel gets a configure for the new size.
    pub(crate) fn set_mode(
        &mut self,
        mode: VideoMode,
        target: OutputTarget,
    ) -> Result<(), RenderError> {
        if mode != self.mode {
            let old = to_smithay(self.mode);
            let new = to_smithay(mode);
            self.output
                .change_current_state(Some(new), None, None, None);
            self.output.set_preferred(new);
            if old != new {
                self.output.delete_mode(old);
            }
            self.mode = mode;
            self.layout_changed();
            tracing::debug!(?mode, "output mode changed");
        }
        self.changed.mark();
        self.renderer.reconfigure(&self.output, target)
    }

    /// Applies a new scale: `wl_output.scale`, every surface's preferred scales, and the
    /// layout (the logical size changed).
    pub(crate) fn set_scale(&mut self, scale: OutputScale) {
        if scale == self.scale {
            return;
        }
        // Before the layout: the layout's configures tell clients their new sizes, which
        // they draw at the scale they were told first.
        let pointer_px = self.pointer_location.to_physical(self.scale.get());
        self.scale = scale;
        self.output
            .change_current_state(None, None, Some(to_smithay_scale(scale)), None);
        let windows: Vec<WlSurface> = self
            .space
            .elements()
            .filter_map(|w| w.wl_surface().map(|s| s.into_owned()))
            .collect();
        let popups: Vec<WlSurface> = windows
            .iter()
            .flat_map(|w| PopupManager::popups_for_surface(w).map(|(p, _)| p.wl_surface().clone()))
            .collect();
        let surfaces: Vec<WlSurface> = windows
            .into_iter()
            .chain(popups)
            .chain(
                smithay::desktop::layer_map_for_output(&self.output)
                    .layers()
                    .map(|l| l.wl_surface().clone()),
            )
            .collect();
        for surface in surfaces {
            self.send_scale_tree(&surface);
        }
        self.layout_changed();
        // The pointer stays where it was on the picture.
        self.pointer_location = self.clamp_to_output(self.pixels_to_logical(pointer_px));
        self.renderer.forget_damage(&self.output);
        self.changed.mark();
        tracing::debug!(%scale, "output scale changed");
    }

    /// After the logical size changed: layers first (the windows' usable area is what
    /// their zones leave), then windows, then the pointer kept on the output.
    fn layout_changed(&mut self) {
        smithay::desktop::layer_map_for_output(&self.output).arrange();
        self.reconfigure_windows();
        self.pointer_location = self.clamp_to_output(self.pointer_location);
    }

    /// Tells `surface` (and its subsurfaces and popups' trees as they commit) the scale to
    /// draw at: `wl_surface.preferred_buffer_scale` (v6) and fractional-scale-v1's
    /// preferred scale. Each is sent only when it differs from what the surface was told.
    pub(crate) fn send_scale_tree(&self, surface: &WlSurface) {
        with_surface_tree_downward(
            surface,
            (),
            |_, _, _| TraversalAction::DoChildren(()),
            |surface, states, _| self.send_scale(surface, states),
            |_, _, _| true,
        );
    }

    /// [`send_scale_tree`](Self::send_scale_tree) for one surface.
    pub(crate) fn send_scale(&self, surface: &WlSurface, states: &SurfaceData) {
        let whole = self.output.current_scale().integer_scale();
        send_surface_state(surface, states, whole, Transform::Normal);
        with_fractional_scale(states, |fractional| {
            fractional.set_preferred_scale(self.scale.get());
        });
    }
}
