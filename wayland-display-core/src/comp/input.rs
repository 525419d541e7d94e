//! Input injected from outside (the element's events, evdev devices) delivered through the
//! seat to the client under the pointer or with keyboard focus.

use smithay::backend::input::{Axis, AxisSource, ButtonState, KeyState, TouchSlot};
use smithay::desktop::{Window, WindowSurfaceType};
use smithay::input::keyboard::{FilterResult, Keycode};
use smithay::input::pointer::{AxisFrame, ButtonEvent, MotionEvent, RelativeMotionEvent};
use smithay::input::touch::{DownEvent, MotionEvent as TouchMotionEvent, TouchTarget, UpEvent};
use smithay::reexports::wayland_server::Resource;
use smithay::reexports::wayland_server::protocol::wl_surface::WlSurface;
use smithay::utils::{Logical, Point, SERIAL_COUNTER};
use smithay::wayland::compositor::get_parent;
use smithay::wayland::pointer_constraints::{PointerConstraint, with_pointer_constraint};
use smithay::wayland::shell::wlr_layer::Layer;

use crate::InputEvent;
use smithay::wayland::seat::WaylandFocus;

use crate::comp::{KeyboardFocus, State, geometry};

/// Scroll distance of one wheel detent (120 in the high-resolution units events carry), the
/// figure libinput reports for a wheel click.
const SCROLL_PER_DETENT: f64 = 15.0;

impl State {
    pub(crate) fn handle_input(&mut self, event: InputEvent) {
        match event {
            InputEvent::MouseMoveRelative {
                pointer_x: dx,
                pointer_y: dy,
            } => {
                let target = geometry::plus(self.pointer_location, Point::from((dx, dy)));
                self.move_pointer(target, Some((dx, dy).into()));
            }
            // Absolute positions are the stream's pixels; relative motion is a distance the
            // user moved, laid out like everything else (as a desktop treats a mouse).
            InputEvent::MouseMoveAbsolute {
                pointer_x,
                pointer_y,
            } => {
                let target = self.pixels_to_logical((pointer_x, pointer_y).into());
                self.move_pointer(target, None);
            }
            InputEvent::MouseButton { button, pressed } => self.pointer_button(button, pressed),
            InputEvent::MouseAxis { x, y } => self.pointer_axis(x, y),
            InputEvent::KeyboardKey { key, pressed } => self.key(key, pressed),
            InputEvent::KeyboardText { text } => self.keyboard_text(text.as_str()),
            InputEvent::TouchDown { id, x, y } => self.touch_down(id, x, y),
            InputEvent::TouchMotion { id, x, y } => self.touch_motion(id, x, y),
            InputEvent::TouchUp { id } => self.touch_up(id),
            InputEvent::TouchFrame => {
                if let Some(touch) = self.seat.get_touch() {
                    touch.frame(self);
                }
            }
            InputEvent::TouchCancel => self.touch_cancel(),
            // Devices are opened by the event loop, which owns the libinput context; the
            // seat only sees what they produce.
            InputEvent::VirtualDevicesReady { .. } => {}
        }
    }

    pub(crate) fn clamp_to_output(&self, p: Point<f64, Logical>) -> Point<f64, Logical> {
        let size = self.output_logical_size();
        let max_x = (f64::from(size.w) - 1.0).max(0.0);
        let max_y = (f64::from(size.h) - 1.0).max(0.0);
        (p.x.clamp(0.0, max_x), p.y.clamp(0.0, max_y)).into()
    }

    /// Where the pointer is in the space: where input positions are resolved and what
    /// clients are told (the output position, unless a window is drawn scaled).
    pub(crate) fn pointer_in_space(&self) -> Point<f64, Logical> {
        self.space_point(self.pointer_location)
    }

    /// The surface under `pos`, a position in the space (popups and subsurfaces included) and its origin.
    /// Layer surfaces count in their drawing order: top and overlay above the windows,
    /// bottom and background below.
    pub(crate) fn surface_under(
        &self,
        pos: Point<f64, Logical>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        self.layer_surface_under(&[Layer::Overlay, Layer::Top], pos)
            .or_else(|| self.window_surface_under(pos))
            .or_else(|| self.layer_surface_under(&[Layer::Bottom, Layer::Background], pos))
    }

    fn window_surface_under(
        &self,
        pos: Point<f64, Logical>,
    ) -> Option<(WlSurface, Point<f64, Logical>)> {
        let (window, location) = self.space.element_under(pos)?;
        window
            .surface_under(
                geometry::minus(pos, location.to_f64()),
                WindowSurfaceType::ALL,
            )
            .map(|(surface, offset)| (surface, geometry::plus_px(offset, location).to_f64()))
    }

    /// Global position of a surface the pointer is on.
    pub(crate) fn surface_origin(&self, surface: &WlSurface) -> Option<Point<f64, Logical>> {
        self.surface_under(self.pointer_in_space())
            .filter(|(under, _)| under == surface)
            .map(|(_, origin)| origin)
    }

    pub(crate) fn focus_keyboard(&mut self, surface: Option<WlSurface>) {
        let Some(keyboard) = self.seat.get_keyboard() else {
            return;
        };
        if keyboard.is_grabbed() {
            return;
        }
        // A layer surface with exclusive interactivity keeps the keyboard while mapped.
        if let Some(exclusive) = self.exclusive_layer()
            && surface.as_ref() != Some(&exclusive)
        {
            return;
        }
        let previous = keyboard.current_focus().map(WlSurface::from);
        let target = surface.clone().map(|surface| self.keyboard_target(surface));
        keyboard.set_focus(self, target, SERIAL_COUNTER.next_serial());
        self.activate_only(surface.as_ref());
        self.update_foreign_toplevels();
        // A pointer constraint holds while its window is the focused one: a new window
        // taking focus releases it, even where the pointer still rests on the old one
        // (windows the policy centres need not cover it).
        if let Some(previous) = previous.filter(|p| Some(p) != surface.as_ref())
            && let Some(pointer) = self.seat.get_pointer()
        {
            with_pointer_constraint(&previous, &pointer, |constraint| {
                if let Some(constraint) = constraint
                    && constraint.is_active()
                {
                    constraint.deactivate();
                }
            });
        }
    }

    /// What takes keyboard focus for `surface`: the X11 window it shows, if any, which
    /// also needs X's focus.
    fn keyboard_target(&self, surface: WlSurface) -> KeyboardFocus {
        let window = self.space.elements().find_map(|w| {
            let x11 = w.x11_surface()?;
            (x11.wl_surface().as_ref() == Some(&surface)).then(|| x11.clone())
        });
        match window {
            Some(window) => KeyboardFocus::X11 {
                window: Box::new(window),
                surface,
            },
            None => KeyboardFocus::Wayland(surface),
        }
    }

    /// The toplevel with keyboard focus is the one activated: clients draw focus from it.
    fn activate_only(&mut self, focused: Option<&WlSurface>) {
        for window in self.space.elements() {
            if let Some(x11) = window.x11_surface() {
                if !x11.is_override_redirect() {
                    let on = focused.is_some() && x11.wl_surface().as_ref() == focused;
                    let _ = x11.set_activated(on);
                }
                continue;
            }
            let Some(toplevel) = window.toplevel() else {
                continue;
            };
            window.set_activated(focused == Some(toplevel.wl_surface()));
            // Before its initial commit a toplevel gets its first configure then.
            if toplevel.is_initial_configure_sent() {
                toplevel.send_pending_configure();
            }
        }
    }

    /// Activates the constraint of `surface` if the pointer is inside its region.
    pub(crate) fn activate_constraint_at_pointer(&mut self, surface: &WlSurface) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let Some(origin) = self.surface_origin(surface) else {
            return;
        };
        let local = geometry::minus(self.pointer_in_space(), origin).to_i32_round();
        with_pointer_constraint(surface, &pointer, |constraint| {
            if let Some(constraint) = constraint
                && !constraint.is_active()
                && constraint.region().is_none_or(|r| r.contains(local))
            {
                constraint.activate();
            }
        });
    }

    /// Moves the pointer towards `target` (as far as an active constraint allows) and
    /// reports `delta` as relative motion, which locked pointers still receive. Absolute
    /// moves have no `delta`: like a tablet's, they are positions, not device motion, and
    /// `zwp_relative_pointer_v1` is for the latter (a game reading it would otherwise see
    /// the jump between two far-apart absolute positions as a flick).
    pub(crate) fn move_pointer(
        &mut self,
        target: Point<f64, Logical>,
        delta: Option<Point<f64, Logical>>,
    ) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        self.cursor_visible = true;
        let target = self.clamp_to_output(target);
        let focus = self.surface_under(self.pointer_in_space());
        let target_in_space = self.space_point(target);

        let mut may_move = true;
        if let Some((surface, origin)) = &focus {
            let target_surface = self.surface_under(target_in_space).map(|(s, _)| s);
            with_pointer_constraint(surface, &pointer, |constraint| {
                let Some(constraint) = constraint.filter(|c| c.is_active()) else {
                    return;
                };
                match &*constraint {
                    PointerConstraint::Locked(_) => may_move = false,
                    PointerConstraint::Confined(confined) => {
                        let local = geometry::minus(target_in_space, *origin).to_i32_round();
                        let in_region = confined.region().is_none_or(|r| r.contains(local));
                        if !in_region || target_surface.as_ref() != Some(surface) {
                            may_move = false;
                        }
                    }
                }
            });
        }
        if may_move {
            self.pointer_location = target;
        }

        let location = self.pointer_in_space();
        let under = self.surface_under(location);
        let time = self.now_ms();
        pointer.motion(
            self,
            under.clone(),
            &MotionEvent {
                location,
                serial: SERIAL_COUNTER.next_serial(),
                time,
            },
        );
        if let Some(delta) = delta {
            pointer.relative_motion(
                self,
                under.clone(),
                &RelativeMotionEvent {
                    delta,
                    delta_unaccel: delta,
                    utime: u64::try_from(self.now().as_micros()).unwrap_or(u64::MAX),
                },
            );
        }
        pointer.frame(self);
        if let Some((surface, _)) = under {
            self.activate_constraint_at_pointer(&surface);
        }
        self.changed.mark();
    }

    pub(crate) fn pointer_button(&mut self, button: u32, pressed: bool) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        let serial = SERIAL_COUNTER.next_serial();
        if pressed && !pointer.is_grabbed() {
            self.focus_window_under_pointer();
        }
        let state = if pressed {
            ButtonState::Pressed
        } else {
            ButtonState::Released
        };
        pointer.button(
            self,
            &ButtonEvent {
                serial,
                time: self.now_ms(),
                button,
                state,
            },
        );
        pointer.frame(self);
    }

    /// Click to focus: raise the window under the pointer and give it the keyboard; a
    /// layer surface that takes keys gets them when clicked.
    fn focus_window_under_pointer(&mut self) {
        let location = self.pointer_in_space();
        if let Some((surface, _)) =
            self.layer_surface_under(&[Layer::Overlay, Layer::Top], location)
            && self.press_on_layer(&root_of(&surface))
        {
            return;
        }
        if self.space.element_under(location).is_none() {
            if let Some((surface, _)) =
                self.layer_surface_under(&[Layer::Bottom, Layer::Background], location)
            {
                self.press_on_layer(&root_of(&surface));
            }
            return;
        }
        let Some((window, _)) = self
            .space
            .element_under(self.pointer_in_space())
            .map(|(w, p)| (w.clone(), p))
        else {
            return;
        };
        // Menus and tooltips of X11 apps are not windows to focus.
        if window
            .x11_surface()
            .is_some_and(|x| x.is_override_redirect())
        {
            return;
        }
        self.raise_and_focus(&window);
    }

    /// `xdg_activation_v1.activate` with a valid token: the toplevel of `surface` is
    /// raised and gets the keyboard, as a click on it would. A surface not (yet) mapped
    /// as a window is left alone: it gets focus at its first buffer anyway, the newest.
    pub(crate) fn activate_window(&mut self, surface: &WlSurface) {
        if let Some(window) = self.window_of(surface) {
            self.raise_and_focus(&window);
        }
    }

    /// Raises `window` and gives it the keyboard: what a click on it does.
    pub(crate) fn raise_and_focus(&mut self, window: &Window) {
        self.space.raise_element(window, true);
        if let Some(x11) = window.x11_surface()
            && let Some(wm) = self.x11.as_mut().and_then(|x| x.wm.as_mut())
        {
            let _ = wm.raise_window(x11);
        }
        let surface = window.wl_surface().map(|s| s.into_owned());
        self.focus_keyboard(surface);
        self.changed.mark();
    }

    fn pointer_axis(&mut self, x: f64, y: f64) {
        let mut frame = AxisFrame::new(self.now_ms()).source(AxisSource::Wheel);
        for (axis, v120) in [(Axis::Horizontal, x), (Axis::Vertical, y)] {
            if v120 != 0.0 {
                frame = frame
                    .value(axis, v120 * SCROLL_PER_DETENT / 120.0)
                    .v120(axis, geometry::v120(v120));
            }
        }
        self.pointer_axis_frame(frame);
    }

    pub(crate) fn pointer_axis_frame(&mut self, frame: AxisFrame) {
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        pointer.axis(self, frame);
        pointer.frame(self);
    }

    fn key(&mut self, key: u32, pressed: bool) {
        // Events carry evdev codes; xkb keycodes are offset by 8.
        let Some(code) = key.checked_add(8) else {
            tracing::warn!(key, "key code out of range, dropped");
            return;
        };
        let state = if pressed {
            KeyState::Pressed
        } else {
            KeyState::Released
        };
        self.keyboard_key(Keycode::new(code), state);
    }

    pub(crate) fn keyboard_key(&mut self, code: Keycode, state: KeyState) {
        let Some(keyboard) = self.seat.get_keyboard() else {
            return;
        };
        let time = self.now_ms();
        keyboard.input::<(), _>(
            self,
            code,
            state,
            SERIAL_COUNTER.next_serial(),
            time,
            |_, _, _| FilterResult::Forward,
        );
    }

    /// Touch positions arrive normalised to the output (0.0 to 1.0 on each axis).
    /// Logical positions, rounded to the protocol's 1/256: the wire format truncates, and
    /// a normalised position scaled back (100/1920*1920 = 99.99999…) would lose a step.
    fn touch_position(&self, x: f64, y: f64) -> Point<f64, Logical> {
        let to_wire = |v: f64| (v * 256.0).round() / 256.0;
        let size = self.output_logical_size();
        (
            to_wire(x * f64::from(size.w)),
            to_wire(y * f64::from(size.h)),
        )
            .into()
    }

    fn touch_down(&mut self, id: u32, x: f64, y: f64) {
        let location = self.touch_position(x, y);
        self.touch_down_at(Some(id).into(), location);
    }

    pub(crate) fn touch_down_at(&mut self, slot: TouchSlot, location: Point<f64, Logical>) {
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        let location = self.space_point(location);
        let under = self.surface_under(location);
        if let Some((surface, _)) = &under {
            // A touch focuses the toplevel or layer surface it lands on, like a click.
            let root = root_of(surface);
            if !self.press_on_layer(&root)
                && self
                    .space
                    .elements()
                    .any(|w| w.wl_surface().as_deref() == Some(&root))
            {
                self.focus_keyboard(Some(root));
            }
        }
        if let Some((surface, _)) = &under {
            self.touch_points.insert(slot, surface.clone());
        }
        touch.down(
            self,
            under,
            &DownEvent {
                slot,
                location,
                serial: SERIAL_COUNTER.next_serial(),
                time: self.now_ms(),
            },
        );
        // Streaming clients send TouchFrame rarely or never; each event is its own frame.
        touch.frame(self);
    }

    fn touch_motion(&mut self, id: u32, x: f64, y: f64) {
        let location = self.touch_position(x, y);
        self.touch_motion_at(Some(id).into(), location);
    }

    pub(crate) fn touch_motion_at(&mut self, slot: TouchSlot, location: Point<f64, Logical>) {
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        if !self.touch_points.contains_key(&slot) {
            // Never went down on a surface, or cancelled: nothing may follow a cancel.
            return;
        }
        let location = self.space_point(location);
        let under = self.surface_under(location);
        touch.motion(
            self,
            under,
            &TouchMotionEvent {
                slot,
                location,
                time: self.now_ms(),
            },
        );
        touch.frame(self);
    }

    fn touch_up(&mut self, id: u32) {
        self.touch_up_slot(Some(id).into());
    }

    pub(crate) fn touch_up_slot(&mut self, slot: TouchSlot) {
        let Some(touch) = self.seat.get_touch() else {
            return;
        };
        if self.touch_points.remove(&slot).is_none() {
            return;
        }
        touch.up(
            self,
            &UpEvent {
                slot,
                serial: SERIAL_COUNTER.next_serial(),
                time: self.now_ms(),
            },
        );
        touch.frame(self);
    }

    /// Lifts the touch points on a surface that is going away: its client must not keep
    /// waiting for their `up`.
    pub(crate) fn touch_surface_gone(&mut self, surface: &WlSurface) {
        let slots: Vec<TouchSlot> = self
            .touch_points
            .iter()
            .filter(|(_, s)| *s == surface)
            .map(|(slot, _)| *slot)
            .collect();
        for slot in slots {
            self.touch_up_slot(slot);
        }
    }

    /// Cancels every active touch point. Smithay's own cancel skips points whose events
    /// were already framed, which ours always are, so the clients are told directly.
    fn touch_cancel(&mut self) {
        let mut surfaces: Vec<WlSurface> = Vec::new();
        for (_, surface) in self.touch_points.drain() {
            if !surfaces.contains(&surface) {
                surfaces.push(surface);
            }
        }
        let seat = self.seat.clone();
        for surface in surfaces.into_iter().filter(|s| s.is_alive()) {
            TouchTarget::cancel(&surface, &seat, self, SERIAL_COUNTER.next_serial());
        }
    }

    /// Gives pointer focus to whatever is now under a pointer that did not move: a window
    /// that maps (or goes away) under it must get its enter without waiting for motion.
    pub(crate) fn refresh_pointer_focus(&mut self) {
        if !self.cursor_visible {
            return;
        }
        let Some(pointer) = self.seat.get_pointer() else {
            return;
        };
        if pointer.is_grabbed() {
            return;
        }
        let location = self.pointer_in_space();
        let under = self.surface_under(location);
        if under.as_ref().map(|(s, _)| s) == pointer.current_focus().as_ref() {
            return;
        }
        let time = self.now_ms();
        pointer.motion(
            self,
            under,
            &MotionEvent {
                location,
                serial: SERIAL_COUNTER.next_serial(),
                time,
            },
        );
        pointer.frame(self);
    }
}

/// The root of `surface`'s subsurface tree (a popup is its own root).
fn root_of(surface: &WlSurface) -> WlSurface {
    let mut root = surface.clone();
    while let Some(parent) = get_parent(&root) {
        root = parent;
    }
    root
}
