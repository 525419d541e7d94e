//! When to send each surface its frame callback, so that its next commit lands just
//! before the next frame is due: at `due − predicted draw time − margin`, where the draw
//! time is what the surface took from its last callbacks to its commits (Weston's repaint
//! window and sway's `max_render_time`, per surface and learnt). While nothing is known
//! (no due time, no draws seen, a client that missed its frame, or one that draws slower
//! than the frame rate) the callback goes at once, as a compositor without scheduling
//! sends it.
//!
//! Pacing and timestamps are not touched: frames are still produced when due and stamped
//! with the time they were due; this only moves when clients are told to draw.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smithay::desktop::{LayerSurface, Window};
use smithay::reexports::calloop::RegistrationToken;
use smithay::reexports::wayland_server::Resource;
use smithay::reexports::wayland_server::backend::ObjectId;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::wayland::compositor::{SurfaceAttributes, with_states};
use smithay::wayland::seat::WaylandFocus;

/// Draws remembered per surface; the prediction is the longest of them.
const SAMPLES: usize = 8;
/// Slack between the predicted commit and the frame's due time.
pub(crate) const MARGIN: Duration = Duration::from_millis(1);
/// Surfaces timed at most; beyond, the oldest entry is forgotten.
const MAX_SURFACES: usize = 256;

/// When the next frame is due, set by whoever produces frames on a schedule (the element,
/// on the pipeline clock converted to the monotonic one) and read by the compositor thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrameDue(Arc<Mutex<Option<Instant>>>);

impl FrameDue {
    pub(crate) fn set(&self, at: Instant) {
        if let Ok(mut due) = self.0.lock() {
            *due = Some(at);
        }
    }

    pub(crate) fn get(&self) -> Option<Instant> {
        self.0.lock().ok().and_then(|due| *due)
    }
}

/// What a frame callback goes to: the surfaces of a window, a layer surface or the cursor.
#[derive(Clone, Debug)]
pub(crate) enum Recipient {
    Window(Window),
    Layer(LayerSurface),
    Cursor(WlSurface),
}

impl Recipient {
    /// The surface whose draws are timed: the root of the tree.
    pub(crate) fn surface(&self) -> Option<WlSurface> {
        match self {
            Self::Window(window) => window.wl_surface().map(|s| s.into_owned()),
            Self::Layer(layer) => Some(layer.wl_surface().clone()),
            Self::Cursor(surface) => Some(surface.clone()),
        }
    }
}

/// Whether `surface` asked for a frame callback it has not had.
pub(crate) fn waits_for_callback(surface: &WlSurface) -> bool {
    surface.is_alive()
        && with_states(surface, |states| {
            !states
                .cached_state
                .get::<SurfaceAttributes>()
                .current()
                .frame_callbacks
                .is_empty()
        })
}

/// The compositor's side of scheduling: the predictor, the due time it is told, and the
/// callbacks waiting for their time (one timer on the event loop for the earliest).
#[derive(Debug, Default)]
pub(crate) struct FrameSchedule {
    pub(crate) predictor: Predictor,
    pub(crate) due: FrameDue,
    pub(crate) pending: Vec<(Instant, Recipient)>,
    pub(crate) timer: Option<RegistrationToken>,
}

#[derive(Debug, Default)]
struct Timing {
    /// Callback → commit times of recent frames, newest last.
    draws: VecDeque<Duration>,
    /// When the callback the surface has not answered yet was sent.
    sent: Option<Instant>,
    /// It did not commit before a frame it was told to draw for: tell it at once next.
    missed: bool,
    /// For forgetting the least recently seen surfaces.
    seen: u64,
}

/// Per-surface draw times and the decision they give.
#[derive(Debug, Default)]
pub(crate) struct Predictor {
    surfaces: HashMap<ObjectId, Timing>,
    /// Counts calls, for `Timing::seen`.
    clock: u64,
}

impl Predictor {
    fn timing(&mut self, surface: &ObjectId) -> &mut Timing {
        self.clock = self.clock.wrapping_add(1);
        if !self.surfaces.contains_key(surface) && self.surfaces.len() >= MAX_SURFACES {
            let oldest = self
                .surfaces
                .iter()
                .min_by_key(|(_, t)| t.seen)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.surfaces.remove(&oldest);
            }
        }
        let timing = self.surfaces.entry(surface.clone()).or_default();
        timing.seen = self.clock;
        timing
    }

    /// The longest recent draw of `surface`, if it has drawn since it was last missed.
    pub(crate) fn predicted(&self, surface: &ObjectId) -> Option<Duration> {
        let timing = self.surfaces.get(surface)?;
        if timing.missed {
            return None;
        }
        timing.draws.iter().max().copied()
    }

    /// When to send `surface` its callback for the frame due at `due`, `interval` after
    /// the one just produced at `now`: `now` unless its draw time is known and fits.
    pub(crate) fn send_at(
        &self,
        surface: &ObjectId,
        due: Option<Instant>,
        interval: Option<Duration>,
        now: Instant,
    ) -> Instant {
        let (Some(due), Some(draw)) = (due, self.predicted(surface)) else {
            return now;
        };
        let lead = draw.saturating_add(MARGIN);
        if interval.is_some_and(|interval| lead >= interval) {
            return now;
        }
        due.checked_sub(lead).map_or(now, |at| at.max(now))
    }

    /// `surface` was sent its frame callback at `at`.
    pub(crate) fn callback_sent(&mut self, surface: &ObjectId, at: Instant) {
        self.timing(surface).sent = Some(at);
    }

    /// `surface` committed at `at`: if it was answering a callback, that is one more draw
    /// time.
    pub(crate) fn committed(&mut self, surface: &ObjectId, at: Instant) {
        let Some(timing) = self.surfaces.get_mut(surface) else {
            return;
        };
        let Some(sent) = timing.sent.take() else {
            return;
        };
        if timing.draws.len() >= SAMPLES {
            timing.draws.pop_front();
        }
        timing.draws.push_back(at.saturating_duration_since(sent));
        timing.missed = false;
    }

    /// A frame is being produced at `at`: surfaces told to draw before it that have not
    /// committed missed it.
    pub(crate) fn frame_produced(&mut self, at: Instant) {
        for timing in self.surfaces.values_mut() {
            if timing.sent.is_some_and(|sent| sent < at) {
                timing.missed = true;
            }
        }
    }

    pub(crate) fn forget(&mut self, surface: &ObjectId) {
        self.surfaces.remove(surface);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A client that draws in 3 ms, on a synthetic 60 Hz clock.
    #[test]
    fn a_known_draw_time_moves_the_callback_to_just_before_the_deadline() {
        let id = ObjectId::null();
        let mut p = Predictor::default();
        let t0 = Instant::now();
        let interval = Some(Duration::from_nanos(16_666_667));
        // Unknown: at once.
        let due = t0 + ms(16);
        assert_eq!(p.send_at(&id, Some(due), interval, t0), t0);
        p.callback_sent(&id, t0);
        p.committed(&id, t0 + ms(3));
        assert_eq!(p.predicted(&id), Some(ms(3)));
        // Known: due − 3 ms − margin.
        let at = p.send_at(&id, Some(due), interval, t0 + ms(4));
        assert_eq!(at, due - ms(3) - MARGIN);
        // The longest of the recent draws counts.
        p.callback_sent(&id, at);
        p.committed(&id, at + ms(5));
        p.callback_sent(&id, at + ms(20));
        p.committed(&id, at + ms(22));
        assert_eq!(p.predicted(&id), Some(ms(5)));
        // Without a due time (nobody paces frames): at once.
        assert_eq!(p.send_at(&id, None, interval, t0), t0);
        // A deadline already too close: at once, never in the past.
        assert_eq!(p.send_at(&id, Some(t0 + ms(1)), interval, t0), t0);
    }

    #[test]
    fn old_draws_are_forgotten() {
        let id = ObjectId::null();
        let mut p = Predictor::default();
        let t0 = Instant::now();
        p.callback_sent(&id, t0);
        p.committed(&id, t0 + ms(9));
        for i in 1..=SAMPLES as u64 {
            let sent = t0 + ms(20 * i);
            p.callback_sent(&id, sent);
            p.committed(&id, sent + ms(2));
        }
        assert_eq!(p.predicted(&id), Some(ms(2)));
    }

    #[test]
    fn a_miss_means_at_once_until_the_next_draw() {
        let id = ObjectId::null();
        let mut p = Predictor::default();
        let t0 = Instant::now();
        let interval = Some(ms(16));
        p.callback_sent(&id, t0);
        p.committed(&id, t0 + ms(2));
        let due = t0 + ms(32);
        let at = p.send_at(&id, Some(due), interval, t0 + ms(16));
        assert!(at > t0 + ms(16));
        p.callback_sent(&id, at);
        // The frame is produced before the client committed.
        p.frame_produced(due);
        assert_eq!(p.predicted(&id), None);
        assert_eq!(
            p.send_at(&id, Some(due + ms(16)), interval, due),
            due,
            "at once after a miss"
        );
        // It commits late: that draw counts, and scheduling resumes with it.
        p.committed(&id, due + ms(3));
        assert_eq!(p.predicted(&id), Some(ms(3) + ms(2) + MARGIN));
    }

    #[test]
    fn a_client_slower_than_the_frame_rate_is_told_at_once() {
        let id = ObjectId::null();
        let mut p = Predictor::default();
        let t0 = Instant::now();
        p.callback_sent(&id, t0);
        p.committed(&id, t0 + ms(20));
        let due = t0 + ms(40);
        assert_eq!(
            p.send_at(&id, Some(due), Some(ms(16)), t0 + ms(24)),
            t0 + ms(24)
        );
    }

    #[test]
    fn commits_without_a_callback_are_not_draws() {
        let id = ObjectId::null();
        let mut p = Predictor::default();
        let t0 = Instant::now();
        // A game committing above the output rate, never waiting for callbacks.
        p.committed(&id, t0 + ms(1));
        p.callback_sent(&id, t0 + ms(2));
        p.committed(&id, t0 + ms(3));
        p.committed(&id, t0 + ms(4));
        assert_eq!(p.predicted(&id), Some(ms(1)));
        let callbacks_before_frame = p.surfaces.len();
        assert_eq!(callbacks_before_frame, 1);
    }
}
