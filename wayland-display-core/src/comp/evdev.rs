//! Input read from evdev devices (the element's `mouse`/`keyboard` properties and
//! `VirtualDevicesReady` events) through libinput, delivered like injected input.

use std::os::fd::OwnedFd;
use std::path::Path;

use smithay::backend::input::{
    AbsolutePositionEvent, Axis, Event, InputEvent, KeyboardKeyEvent, PointerAxisEvent,
    PointerButtonEvent, PointerMotionEvent, TouchEvent,
};
use smithay::backend::libinput::LibinputInputBackend;
use smithay::input::pointer::AxisFrame;
use smithay::reexports::input::{Libinput, LibinputInterface};
use smithay::reexports::rustix::fs::{Mode, OFlags, open};
use smithay::utils::{Logical, Point};

use crate::comp::{State, geometry};

/// Opens devices for libinput directly; a lobby has no seat manager to ask.
struct DirectOpen;

impl LibinputInterface for DirectOpen {
    fn open_restricted(&mut self, path: &Path, flags: i32) -> Result<OwnedFd, i32> {
        open(
            path,
            OFlags::from_bits_retain(flags.cast_unsigned()) | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| err.raw_os_error())
    }

    fn close_restricted(&mut self, fd: OwnedFd) {
        drop(fd);
    }
}

pub(crate) fn new_context() -> (Libinput, LibinputInputBackend) {
    let context = Libinput::new_from_path(DirectOpen);
    let backend = LibinputInputBackend::new(context.clone());
    (context, backend)
}

/// Adds `path` to `context`, with the reason in words when it cannot be used.
pub(crate) fn add_device(context: &mut Libinput, path: &Path) -> Result<(), String> {
    // libinput only says "no"; opening it ourselves first tells why.
    if let Err(err) = open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        return Err(format!(
            "cannot open input device {}: {err}",
            path.display()
        ));
    }
    let Some(name) = path.to_str() else {
        return Err(format!("input device path {} is not UTF-8", path.display()));
    };
    match context.path_add_device(name) {
        Some(device) => {
            tracing::info!(path = name, device = device.name(), "input device added");
            Ok(())
        }
        None => Err(format!(
            "libinput does not accept {name} as an input device"
        )),
    }
}

impl State {
    pub(crate) fn handle_evdev(&mut self, event: InputEvent<LibinputInputBackend>) {
        let size = self.output_logical_size();
        match event {
            InputEvent::Keyboard { event } => self.keyboard_key(event.key_code(), event.state()),
            InputEvent::PointerMotion { event } => {
                let delta = event.delta();
                self.move_pointer(geometry::plus(self.pointer_location, delta), Some(delta));
            }
            InputEvent::PointerMotionAbsolute { event } => {
                let target: Point<f64, Logical> = event.position_transformed(size);
                self.move_pointer(target, None);
            }
            InputEvent::PointerButton { event } => {
                let pressed = event.state() == smithay::backend::input::ButtonState::Pressed;
                self.pointer_button(event.button_code(), pressed);
            }
            InputEvent::PointerAxis { event } => {
                let mut frame = AxisFrame::new(event.time_msec()).source(event.source());
                for axis in [Axis::Horizontal, Axis::Vertical] {
                    if let Some(v120) = event.amount_v120(axis) {
                        frame = frame.v120(axis, geometry::v120(v120));
                    }
                    if let Some(amount) = event.amount(axis) {
                        frame = frame.value(axis, amount);
                    }
                }
                self.pointer_axis_frame(frame);
            }
            InputEvent::TouchDown { event } => {
                self.touch_down_at(event.slot(), event.position_transformed(size));
            }
            InputEvent::TouchMotion { event } => {
                self.touch_motion_at(event.slot(), event.position_transformed(size));
            }
            InputEvent::TouchUp { event } => self.touch_up_slot(event.slot()),
            InputEvent::TouchCancel { .. } => self.handle_input(crate::InputEvent::TouchCancel),
            InputEvent::TouchFrame { .. } => self.handle_input(crate::InputEvent::TouchFrame),
            _ => {}
        }
    }
}
