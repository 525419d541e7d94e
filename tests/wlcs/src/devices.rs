//! wlcs's fake pointers and touch points, turned into the core's input events. Every call
//! returns once the compositor has handled the event: wlcs round-trips its client right
//! after and expects the events to be there.

use std::sync::Weak;
use std::sync::atomic::{AtomicU32, Ordering};

use wayland_sys::common::wl_fixed_t;
use waylanddisplaycore::{InputEvent, WaylandDisplay};

fn fixed(value: wl_fixed_t) -> f64 {
    f64::from(value) / 256.0
}

/// Sends `events` and waits for the compositor to have handled them. The display may
/// already be gone (wlcs destroys devices after stopping the server): nothing to do then.
fn deliver(display: &Weak<WaylandDisplay>, events: &[InputEvent]) {
    tracing::debug!(?events, "input");
    let Some(display) = display.upgrade() else {
        tracing::warn!(?events, "input for a stopped compositor");
        return;
    };
    let result = events
        .iter()
        .try_for_each(|event| display.input(event.clone()))
        .and_then(|()| display.sync());
    if let Err(err) = result {
        tracing::error!(%err, ?events, "input not delivered");
    }
}

pub struct Pointer {
    pub(crate) display: Weak<WaylandDisplay>,
}

impl wlcs::Pointer for Pointer {
    fn move_absolute(&mut self, x: wl_fixed_t, y: wl_fixed_t) {
        let (x, y) = (fixed(x), fixed(y));
        deliver(
            &self.display,
            &[InputEvent::MouseMoveAbsolute {
                pointer_x: x,
                pointer_y: y,
            }],
        );
    }

    fn move_relative(&mut self, dx: wl_fixed_t, dy: wl_fixed_t) {
        let (dx, dy) = (fixed(dx), fixed(dy));
        deliver(
            &self.display,
            &[InputEvent::MouseMoveRelative {
                pointer_x: dx,
                pointer_y: dy,
            }],
        );
    }

    fn button_up(&mut self, button: i32) {
        self.button(button, false);
    }

    fn button_down(&mut self, button: i32) {
        self.button(button, true);
    }
}

impl Pointer {
    fn button(&self, button: i32, pressed: bool) {
        let Ok(button) = u32::try_from(button) else {
            tracing::error!(button, "negative button code");
            return;
        };
        deliver(
            &self.display,
            &[InputEvent::MouseButton { button, pressed }],
        );
    }
}

/// One finger. The core takes touch positions normalised to the output.
pub struct Touch {
    pub(crate) display: Weak<WaylandDisplay>,
    pub(crate) id: u32,
    pub(crate) output: (f64, f64),
}

impl Touch {
    pub(crate) fn next_id() -> u32 {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// The header types touch positions as `wl_fixed_t`, but wlcs's runner passes whole
    /// pixels (its `Touch::down_at(int x, int y)` forwards the ints unchanged).
    fn normalised(&self, x: wl_fixed_t, y: wl_fixed_t) -> (f64, f64) {
        (f64::from(x) / self.output.0, f64::from(y) / self.output.1)
    }
}

impl wlcs::Touch for Touch {
    fn touch_down(&mut self, x: wl_fixed_t, y: wl_fixed_t) {
        let (x, y) = self.normalised(x, y);
        let id = self.id;
        deliver(
            &self.display,
            &[InputEvent::TouchDown { id, x, y }, InputEvent::TouchFrame],
        );
    }

    fn touch_move(&mut self, x: wl_fixed_t, y: wl_fixed_t) {
        let (x, y) = self.normalised(x, y);
        let id = self.id;
        deliver(
            &self.display,
            &[InputEvent::TouchMotion { id, x, y }, InputEvent::TouchFrame],
        );
    }

    fn touch_up(&mut self) {
        let id = self.id;
        deliver(
            &self.display,
            &[InputEvent::TouchUp { id }, InputEvent::TouchFrame],
        );
    }
}
