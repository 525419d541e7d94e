//! The window policy: a lobby is one user's screen, run as a kiosk is (cage's rules).
//!
//! - A toplevel without a parent is maximized to the output (or made fullscreen, with
//!   [`WindowMode::Fullscreen`]); a client that asks for fullscreen gets it. Maximized
//!   means the usable area, what layer surfaces' exclusive zones leave of the output;
//!   fullscreen always the whole output.
//! - A toplevel with a parent (a dialog), or of a fixed size (min = max), keeps its own
//!   size and is centred over its parent, or over the usable area, above it.
//! - A maximized or fullscreen surface smaller than the output (a client that ignores the
//!   size it was given, or cannot draw it) is centred on black.
//!
//! - With scale-to-fit, a fullscreen window smaller than the output that is the only window
//!   is drawn scaled up to fit the output (aspect kept, centred on black); input positions
//!   are mapped back to its surface ([`State::space_point`]).
//!
//! Placement is recomputed whenever a toplevel commits, so a window that resizes stays
//! centred; windows placed by [`State::place_window`] (test harnesses) keep their place.

use std::cell::Cell;

use smithay::desktop::Window;
use smithay::reexports::wayland_protocols::xdg::shell::server::xdg_toplevel;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Physical, Point, Rectangle, Size};
use smithay::wayland::compositor::with_states;
use smithay::wayland::shell::xdg::{SurfaceCachedState, ToplevelSurface};

use crate::comp::State;
use crate::display::WindowMode;

/// How the policy treats one toplevel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    Maximized,
    Fullscreen,
    /// Its own size, centred over its parent or the output.
    Floating,
}

/// What the policy remembers of a toplevel, in its surface's data.
#[derive(Default)]
struct Remembered {
    /// The client asked for fullscreen (and has not asked to leave it since).
    wants_fullscreen: Cell<bool>,
    /// A configure was sent again because the first buffer did not have the size given.
    resent: Cell<bool>,
    /// Placed by `place_window`: the policy no longer moves it.
    pinned: Cell<bool>,
}

fn remembered<T>(surface: &WlSurface, f: impl FnOnce(&Remembered) -> T) -> T {
    with_states(surface, |states| {
        f(states.data_map.get_or_insert(Remembered::default))
    })
}

/// A window drawn scaled up to fill the output (scale-to-fit), instead of where the space
/// has it.
#[derive(Clone, Debug)]
pub(crate) struct ScaledView {
    pub(crate) window: Window,
    /// Output pixels per surface pixel, above 1.
    pub(crate) scale: f64,
    /// Where the window's geometry starts on the output.
    pub(crate) at: Point<f64, Logical>,
    /// Where the window's geometry starts in the space (what input is mapped to).
    pub(crate) space_at: Point<i32, Logical>,
}

impl ScaledView {
    /// Where the window's origin (its geometry's offset scaled too) lands on the output, in
    /// the pixels of an output of `output_scale`: what the renderer draws the window's
    /// surfaces from.
    pub(crate) fn origin_on_output(&self, output_scale: f64) -> Point<i32, Physical> {
        let loc = self.window.geometry().loc.to_f64();
        Point::<f64, Logical>::from((
            self.at.x - loc.x * self.scale,
            self.at.y - loc.y * self.scale,
        ))
        .to_physical(output_scale)
        .to_i32_round()
    }
}

/// The scale and placement that fit `size` into `output` keeping its aspect ratio, if it
/// is smaller (on one axis, and not larger on the other).
pub(crate) fn fit(
    size: Size<i32, Logical>,
    output: Size<i32, Logical>,
) -> Option<(f64, Point<f64, Logical>)> {
    if size.w <= 0 || size.h <= 0 || size.w > output.w || size.h > output.h || size == output {
        return None;
    }
    let (w, h) = (f64::from(size.w), f64::from(size.h));
    let (ow, oh) = (f64::from(output.w), f64::from(output.h));
    let scale = (ow / w).min(oh / h);
    let at = Point::from(((ow - w * scale) / 2.0, (oh - h * scale) / 2.0));
    Some((scale, at))
}

/// Where a window of `size` goes on an output of `output` size: centred when smaller, at
/// the origin along an axis where it is as large or larger.
pub(crate) fn centred(
    size: Size<i32, Logical>,
    within: Rectangle<i32, Logical>,
) -> Point<i32, Logical> {
    let axis = |start: i32, room: i32, len: i32| {
        let spare = room.saturating_sub(len);
        if spare > 0 {
            start.saturating_add(spare / 2)
        } else {
            start
        }
    };
    Point::from((
        axis(within.loc.x, within.size.w, size.w),
        axis(within.loc.y, within.size.h, size.h),
    ))
}

impl State {
    /// The policy's answer for `toplevel` now.
    pub(crate) fn placement(&self, toplevel: &ToplevelSurface) -> Placement {
        let surface = toplevel.wl_surface();
        if remembered(surface, |r| r.wants_fullscreen.get()) {
            return Placement::Fullscreen;
        }
        let fixed = with_states(surface, |states| {
            let mut cached = states.cached_state.get::<SurfaceCachedState>();
            let current = cached.current();
            current.min_size == current.max_size && current.min_size.w > 0 && current.min_size.h > 0
        });
        if toplevel.parent().is_some() || fixed {
            return Placement::Floating;
        }
        match self.window.mode {
            WindowMode::Maximized => Placement::Maximized,
            WindowMode::Fullscreen => Placement::Fullscreen,
        }
    }

    /// Puts the policy's size and states into `toplevel`'s pending configure.
    pub(crate) fn configure_by_policy(&self, toplevel: &ToplevelSurface) {
        let output = self.output_logical_size();
        let usable = self.usable_area().size;
        let placement = self.placement(toplevel);
        toplevel.with_pending_state(|state| {
            let (size, on, off) = match placement {
                Placement::Maximized => (
                    Some(usable),
                    Some(xdg_toplevel::State::Maximized),
                    xdg_toplevel::State::Fullscreen,
                ),
                Placement::Fullscreen => (
                    Some(output),
                    Some(xdg_toplevel::State::Fullscreen),
                    xdg_toplevel::State::Maximized,
                ),
                // No size: the client chooses its own.
                Placement::Floating => (None, None, xdg_toplevel::State::Fullscreen),
            };
            state.size = size;
            state.states.unset(off);
            match on {
                Some(on) => {
                    state.states.set(on);
                }
                None => {
                    state.states.unset(xdg_toplevel::State::Maximized);
                }
            }
        });
    }

    /// Applies the policy to `toplevel` again and tells the client if it already had a
    /// configure (a request or a change of parent or output changed the answer).
    pub(crate) fn reconfigure(&self, toplevel: &ToplevelSurface) {
        self.configure_by_policy(toplevel);
        if toplevel.is_initial_configure_sent() {
            toplevel.send_pending_configure();
        }
    }

    pub(crate) fn set_wants_fullscreen(&self, toplevel: &ToplevelSurface, wants: bool) {
        remembered(toplevel.wl_surface(), |r| r.wants_fullscreen.set(wants));
        self.reconfigure(toplevel);
    }

    /// Moves `window` where the policy puts it, keeping its place in the stack.
    pub(crate) fn place_by_policy(&mut self, window: &Window) {
        let Some(toplevel) = window.toplevel() else {
            return;
        };
        if remembered(toplevel.wl_surface(), |r| r.pinned.get()) {
            return;
        }
        let geometry = window.geometry();
        let output = Rectangle::from_size(self.output_logical_size());
        let usable = self.usable_area();
        let within = match self.placement(toplevel) {
            Placement::Fullscreen => output,
            Placement::Maximized => usable,
            Placement::Floating => toplevel
                .parent()
                .and_then(|parent| self.window_rect(&parent))
                .unwrap_or(usable),
        };
        let at = centred(geometry.size, within);
        // The window's origin, so that its geometry (not its shadow) lands at `at`.
        let origin = super::geometry::minus_px(at, geometry.loc);
        if self.space.element_location(window) != Some(origin) {
            self.space.map_element(window.clone(), origin, false);
            self.changed.mark();
        }
    }

    /// Where the window of toplevel `surface` shows its geometry, if it is mapped.
    fn window_rect(&self, surface: &WlSurface) -> Option<Rectangle<i32, Logical>> {
        let window = self
            .space
            .elements()
            .find(|w| w.toplevel().is_some_and(|t| t.wl_surface() == surface))?;
        let origin = self.space.element_location(window)?;
        let geometry = window.geometry();
        Some(Rectangle::new(
            super::geometry::plus_px(origin, geometry.loc),
            geometry.size,
        ))
    }

    /// At a toplevel's first buffer: a maximized or fullscreen client that drew another
    /// size than it was given is told once more (some ignore the first configure, mpv
    /// among them); whatever it then draws is centred.
    pub(crate) fn first_buffer_by_policy(&mut self, window: &Window) {
        let Some(toplevel) = window.toplevel() else {
            return;
        };
        if self.placement(toplevel) != Placement::Floating {
            let given = toplevel.with_pending_state(|state| state.size);
            let drawn = window.geometry().size;
            let resend = given.is_some_and(|given| given != drawn)
                && !remembered(toplevel.wl_surface(), |r| r.resent.replace(true));
            if resend {
                toplevel.send_configure();
            }
        }
        self.place_by_policy(window);
    }

    /// The window drawn scaled to fit the output, if scale-to-fit applies now: the only
    /// window, fullscreen, smaller than the output. (With a dialog over it, both are shown
    /// at their own size, as without scale-to-fit.)
    pub(crate) fn scaled_view(&self) -> Option<ScaledView> {
        // Layer surfaces are placed on the output, not on the scaled window.
        if !self.window.scale_to_fit || self.has_layers() {
            return None;
        }
        let mut windows = self.space.elements();
        let window = windows.next()?;
        if windows.next().is_some() {
            return None;
        }
        let toplevel = window.toplevel()?;
        if self.placement(toplevel) != Placement::Fullscreen {
            return None;
        }
        let geometry = window.geometry();
        let (scale, at) = fit(geometry.size, self.output_logical_size())?;
        let origin = self.space.element_location(window)?;
        Some(ScaledView {
            window: window.clone(),
            scale,
            at,
            space_at: super::geometry::plus_px(origin, geometry.loc),
        })
    }

    /// An output position as a position in the space: the same, unless a window is drawn
    /// scaled, whose surface then gets the point under that output position.
    pub(crate) fn space_point(&self, p: Point<f64, Logical>) -> Point<f64, Logical> {
        match self.scaled_view() {
            Some(view) => space_point_in(&view, p),
            None => p,
        }
    }

    /// The inverse of [`State::space_point`]: where a position in the space is shown.
    pub(crate) fn output_point(&self, p: Point<f64, Logical>) -> Point<f64, Logical> {
        match self.scaled_view() {
            Some(view) => {
                let start = view.space_at.to_f64();
                Point::from((
                    view.at.x + (p.x - start.x) * view.scale,
                    view.at.y + (p.y - start.y) * view.scale,
                ))
            }
            None => p,
        }
    }

    /// `place_window`'s mark: the policy leaves this window where it was put.
    pub(crate) fn pin(&self, surface: &WlSurface) {
        remembered(surface, |r| r.pinned.set(true));
    }
}

/// `p` on the output, as a position in the space under `view`'s scaling.
pub(crate) fn space_point_in(view: &ScaledView, p: Point<f64, Logical>) -> Point<f64, Logical> {
    let start = view.space_at.to_f64();
    Point::from((
        start.x + (p.x - view.at.x) / view.scale,
        start.y + (p.y - view.at.y) / view.scale,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_windows_are_centred_and_larger_ones_start_at_the_origin() {
        let output = Rectangle::from_size((1280, 720).into());
        assert_eq!(centred((640, 360).into(), output), Point::from((320, 180)));
        assert_eq!(centred((1280, 720).into(), output), Point::from((0, 0)));
        assert_eq!(centred((2000, 360).into(), output), Point::from((0, 180)));
        let parent = Rectangle::new((100, 50).into(), (400, 300).into());
        assert_eq!(centred((200, 100).into(), parent), Point::from((200, 150)));
    }

    #[test]
    fn smaller_surfaces_fit_the_output_keeping_their_aspect() {
        let output = Size::from((1280, 720));
        let (scale, at) = fit((480, 360).into(), output).unwrap();
        assert_eq!(scale, 2.0);
        assert_eq!(at, Point::from((160.0, 0.0)));
        let (scale, at) = fit((640, 200).into(), output).unwrap();
        assert_eq!(scale, 2.0);
        assert_eq!(at, Point::from((0.0, 160.0)));
        assert_eq!(fit((1280, 720).into(), output), None);
        assert_eq!(fit((1300, 360).into(), output), None);
        assert_eq!(fit((0, 360).into(), output), None);
    }
}
