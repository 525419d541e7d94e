//! Producing one output frame and telling clients it was shown.

use std::time::{Duration, Instant};

use smithay::desktop::layer_map_for_output;
use smithay::desktop::utils::{OutputPresentationFeedback, send_frames_surface_tree};
use smithay::input::pointer::CursorImageStatus;
use smithay::reexports::wayland_protocols::wp::presentation_time::server::wp_presentation_feedback;
use smithay::reexports::wayland_server::Resource;
use smithay::wayland::presentation::Refresh;

use smithay::reexports::calloop::timer::{TimeoutAction, Timer};

use crate::comp::State;
use crate::comp::schedule::{self, Recipient};
use crate::display::LoopData;
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
    /// draw the next one: each at the time the schedule gives (`schedule.rs`), at once
    /// when nothing is known.
    fn frame_shown(&mut self, seq: u64) {
        let produced = Instant::now();
        let output = self.output.clone();
        let on_output = |_: &_, _: &_| Some(output.clone());
        let mut feedback = OutputPresentationFeedback::new(&output);
        let mut recipients = Vec::new();
        for window in self.space.elements() {
            window.take_presentation_feedback(&mut feedback, on_output, |_, _| {
                wp_presentation_feedback::Kind::empty()
            });
            recipients.push(Recipient::Window(window.clone()));
        }
        for layer in layer_map_for_output(&output).layers() {
            layer.take_presentation_feedback(&mut feedback, on_output, |_, _| {
                wp_presentation_feedback::Kind::empty()
            });
            recipients.push(Recipient::Layer(layer.clone()));
        }
        if let CursorImageStatus::Surface(surface) = &self.cursor_status
            && surface.is_alive()
        {
            recipients.push(Recipient::Cursor(surface.clone()));
        }
        let interval = match self.mode.refresh_mhz {
            0 => None,
            mhz => 1_000_000_000_000u64
                .checked_div(u64::from(mhz))
                .map(Duration::from_nanos),
        };
        let refresh = interval.map_or(Refresh::Unknown, Refresh::fixed);
        feedback.presented(
            self.clock.now(),
            refresh,
            seq,
            wp_presentation_feedback::Kind::empty(),
        );

        let schedule = &mut self.schedule;
        schedule.predictor.frame_produced(produced);
        // A due time in the past means nobody paces frames any more.
        let due = schedule.due.get().filter(|due| *due > produced);
        schedule.pending.clear();
        let mut now = Vec::new();
        for recipient in recipients {
            let at = recipient.surface().map_or(produced, |surface| {
                schedule
                    .predictor
                    .send_at(&surface.id(), due, interval, produced)
            });
            if at <= produced {
                now.push(recipient);
            } else {
                schedule.pending.push((at, recipient));
            }
        }
        for recipient in &now {
            self.send_frame_callback(recipient);
        }
        self.arm_callback_timer();
    }

    /// Sends `recipient`'s frame callbacks, and times its draw if it was waiting for one.
    fn send_frame_callback(&mut self, recipient: &Recipient) {
        // A recipient waiting for its time may have gone since.
        if !recipient.surface().is_some_and(|s| s.is_alive()) {
            return;
        }
        let now = self.now();
        let output = self.output.clone();
        let on_output = |_: &_, _: &_| Some(output.clone());
        let timed = recipient
            .surface()
            .filter(schedule::waits_for_callback)
            .map(|surface| surface.id());
        match recipient {
            Recipient::Window(window) => window.send_frame(&output, now, None, on_output),
            Recipient::Layer(layer) => layer.send_frame(&output, now, None, on_output),
            Recipient::Cursor(surface) => {
                send_frames_surface_tree(surface, &output, now, None, on_output);
            }
        }
        if let Some(id) = timed {
            self.schedule.predictor.callback_sent(&id, Instant::now());
        }
    }

    /// Sends the callbacks whose time has come; the time of the next one left, if any.
    pub(crate) fn send_due_callbacks(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.schedule.pending)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.schedule.pending = later;
        for (_, recipient) in &due {
            self.send_frame_callback(recipient);
        }
        self.schedule.pending.iter().map(|(at, _)| *at).min()
    }

    /// One timer on the event loop for the earliest waiting callback (replacing the last
    /// one). Without a loop, or if the timer cannot be made, they all go now.
    fn arm_callback_timer(&mut self) {
        if let (Some(token), Some(handle)) = (self.schedule.timer.take(), &self.loop_handle) {
            handle.remove(token);
        }
        let Some(next) = self.schedule.pending.iter().map(|(at, _)| *at).min() else {
            return;
        };
        let timer = self.loop_handle.as_ref().map(|handle| {
            handle.insert_source(
                Timer::from_deadline(next),
                |_, _, data: &mut LoopData| match data.state.send_due_callbacks() {
                    Some(next) => TimeoutAction::ToInstant(next),
                    None => {
                        data.state.schedule.timer = None;
                        TimeoutAction::Drop
                    }
                },
            )
        });
        match timer {
            Some(Ok(token)) => self.schedule.timer = Some(token),
            Some(Err(err)) => {
                tracing::warn!(error = %err.error, "no frame callback timer; sending callbacks now");
                for (_, recipient) in std::mem::take(&mut self.schedule.pending) {
                    self.send_frame_callback(&recipient);
                }
            }
            None => {
                for (_, recipient) in std::mem::take(&mut self.schedule.pending) {
                    self.send_frame_callback(&recipient);
                }
            }
        }
    }
}
