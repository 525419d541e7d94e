//! Producing one output frame and telling clients it was shown.

use std::time::Duration;

use smithay::desktop::layer_map_for_output;
use smithay::desktop::utils::{OutputPresentationFeedback, send_frames_surface_tree};
use smithay::input::pointer::CursorImageStatus;
use smithay::reexports::wayland_protocols::wp::presentation_time::server::wp_presentation_feedback;
use smithay::reexports::wayland_server::Resource;
use smithay::wayland::presentation::Refresh;

use crate::comp::State;
use crate::render::{CursorState, Frame, RenderError, Scaled};

impl State {
    /// The current picture. Unchanged since the last call: the same frame again, without
    /// drawing or copying anything.
    pub(crate) fn produce_frame(&mut self) -> Result<Frame, RenderError> {
        self.refresh();
        if !self.changed.is_marked()
            && let Some(frame) = self.renderer.repeat_last()
        {
            return Ok(frame);
        }
        let frame = self.render_picture(self.cursor_visible, true)?;
        self.frame_shown(frame.seq);
        Ok(frame)
    }

    /// The current picture in RGB with the cursor, for a screen capture: the stream's
    /// frame when that is RGB, else drawn (after the stream's frame, so that the stream
    /// shows what the capture does).
    pub(crate) fn produce_rgb_frame(&mut self) -> Result<Frame, RenderError> {
        let frame = self.produce_frame()?;
        if !self.renderer.yuv_output() {
            return Ok(frame);
        }
        self.render_picture(self.cursor_visible, false)
    }

    /// The current picture without the cursor, for a screen capture that leaves it out
    /// (`comp/screencopy.rs`). The picture with the cursor is drawn again right after, so
    /// the stream's next frame, if nothing changes, repeats what it showed before; marking
    /// the picture changed instead would look like damage to captures waiting for one.
    pub(crate) fn produce_frame_without_cursor(&mut self) -> Result<Frame, RenderError> {
        self.refresh();
        let bare = self.render_picture(false, false)?;
        if !self.renderer.yuv_output() {
            // YUV output repeats its own images, which this did not touch.
            self.render_picture(self.cursor_visible, false)?;
        }
        Ok(bare)
    }

    /// Whether frames show a cursor now.
    pub(crate) fn cursor_shown(&self) -> bool {
        self.cursor_visible && !matches!(self.cursor_status, CursorImageStatus::Hidden)
    }

    /// Draws the picture, with the cursor or without, as an output frame (YUV for YUV
    /// output) or in RGB.
    fn render_picture(
        &mut self,
        cursor_visible: bool,
        output_frame: bool,
    ) -> Result<Frame, RenderError> {
        self.refresh_pointer_focus();
        // After the focus refresh, whose changes this frame shows anyway.
        self.changed.clear();
        let cursor = CursorState {
            visible: cursor_visible,
            status: &self.cursor_status,
            location: self.pointer_location,
        };
        let faults = self.client_faults.count();
        let view = self.scaled_view();
        let output_scale = self.scale.get();
        let scaled = view.as_ref().map(|view| Scaled {
            window: &view.window,
            origin: view.origin_on_output(output_scale),
            scale: view.scale,
            output_scale,
        });
        let scaled = scaled.as_ref();
        let render = |renderer: &mut crate::render::Renderer| {
            if output_frame {
                renderer.render_output(&self.space, &self.output, &cursor, scaled)
            } else {
                renderer.render(&self.space, &self.output, &cursor, scaled)
            }
        };
        match render(&mut self.renderer) {
            // A client's shm buffer could not be read (its pool shrank under it): Smithay
            // has posted the error and disconnected the client, and replaced the lost
            // pages by zeroes. The frame is drawn again, whole, without the damage
            // bookkeeping of the failed attempt; the client's windows go at the next
            // dispatch.
            Err(err) if self.client_faults.count() != faults => {
                tracing::debug!(%err, "a client's buffer was unreadable; drawing the frame again");
                self.renderer.forget_damage(&self.output);
                render(&mut self.renderer)
            }
            other => other,
        }
        .inspect_err(|_| self.changed.mark())
    }

    /// Presentation feedback for what this frame showed, and frame callbacks so clients
    /// draw the next one.
    fn frame_shown(&mut self, seq: u64) {
        let now = self.now();
        let output = self.output.clone();
        let on_output = |_: &_, _: &_| Some(output.clone());
        let mut feedback = OutputPresentationFeedback::new(&output);
        for window in self.space.elements() {
            window.take_presentation_feedback(&mut feedback, on_output, |_, _| {
                wp_presentation_feedback::Kind::empty()
            });
            window.send_frame(&output, now, None, on_output);
        }
        for layer in layer_map_for_output(&output).layers() {
            layer.take_presentation_feedback(&mut feedback, on_output, |_, _| {
                wp_presentation_feedback::Kind::empty()
            });
            layer.send_frame(&output, now, None, on_output);
        }
        if let CursorImageStatus::Surface(surface) = &self.cursor_status
            && surface.is_alive()
        {
            send_frames_surface_tree(surface, &output, now, None, on_output);
        }
        let refresh = match self.mode.refresh_mhz {
            0 => Refresh::Unknown,
            mhz => Refresh::fixed(Duration::from_nanos(
                1_000_000_000_000u64
                    .checked_div(u64::from(mhz))
                    .unwrap_or_default(),
            )),
        };
        feedback.presented(
            self.clock.now(),
            refresh,
            seq,
            wp_presentation_feedback::Kind::empty(),
        );
    }
}
