//! The single virtual output and changes of its mode.

use smithay::output::{Mode, Output, PhysicalProperties, Scale, Subpixel};
use smithay::utils::{Logical, Size, Transform};

use crate::VideoMode;
use crate::comp::State;
use crate::render::{OutputTarget, RenderError};

/// The output, not yet announced to clients (see `Output::create_global`).
pub(crate) fn new_output(mode: VideoMode) -> Output {
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
        Some(Scale::Integer(1)),
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

impl State {
    pub(crate) fn output_logical_size(&self) -> Size<i32, Logical> {
        self.mode.size_px().into()
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
            // Layers first: the windows' usable area is what their zones leave.
            smithay::desktop::layer_map_for_output(&self.output).arrange();
            self.reconfigure_windows();
            self.pointer_location = self.clamp_to_output(self.pointer_location);
            tracing::debug!(?mode, "output mode changed");
        }
        self.changed.mark();
        self.renderer.reconfigure(&self.output, target)
    }
}
