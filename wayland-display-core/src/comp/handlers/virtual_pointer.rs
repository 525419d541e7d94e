//! `zwlr_virtual_pointer_manager_v1` (wlroots), which Smithay lacks: a client (wlrctl,
//! ydotool's Wayland backends, remote-desktop servers) drives the seat's pointer. Motion,
//! buttons and scrolling take the path the element's input events take
//! (`comp/input.rs`), so focus, pointer constraints and scale-to-fit apply alike. A
//! privileged protocol: offered only with `privileged-protocols`. Events wait for the
//! client's `frame`, which applies them in order.

use std::sync::{Mutex, PoisonError};

use smithay::backend::input::{Axis, AxisSource};
use smithay::input::pointer::AxisFrame;
use smithay::reexports::wayland_protocols_wlr::virtual_pointer::v1::server::{
    zwlr_virtual_pointer_manager_v1::{self, ZwlrVirtualPointerManagerV1},
    zwlr_virtual_pointer_v1::{self, ZwlrVirtualPointerV1},
};
use smithay::reexports::wayland_server::backend::GlobalId;
use smithay::reexports::wayland_server::protocol::wl_pointer;
use smithay::reexports::wayland_server::{
    Client, DataInit, Dispatch, DisplayHandle, GlobalDispatch, New, Resource, WEnum,
};
use smithay::utils::{Logical, Point};

use crate::comp::{COORD_LIMIT, State, geometry};

/// The protocol's latest version (adds `create_virtual_pointer_with_output`).
const VERSION: u32 = 2;

/// Events a client may queue before its `frame`; one more applies them at once, so that a
/// client that never sends `frame` cannot grow the queue.
const PENDING_LIMIT: usize = 64;

/// One event waiting for its `frame`.
enum Event {
    Motion(Point<f64, Logical>),
    Absolute(Point<f64, Logical>),
    Button(u32, bool),
}

#[derive(Default)]
struct Pending {
    events: Vec<Event>,
    axis: Option<AxisFrame>,
}

/// A virtual pointer's events since its last `frame`: the protocol groups them, and a
/// client sees none until the frame.
#[derive(Default)]
pub(crate) struct VirtualPointer {
    pending: Mutex<Pending>,
}

impl VirtualPointer {
    fn with<T>(&self, f: impl FnOnce(&mut Pending) -> T) -> T {
        f(&mut self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn update_axis(&self, time: u32, f: impl FnOnce(AxisFrame) -> AxisFrame) {
        self.with(|pending| {
            let frame = pending.axis.take().unwrap_or_else(|| AxisFrame::new(time));
            pending.axis = Some(f(frame));
        });
    }

    /// Queues `event`; whether the queue is full and must be applied now.
    fn push(&self, event: Event) -> bool {
        self.with(|pending| {
            pending.events.push(event);
            pending.events.len() >= PENDING_LIMIT
        })
    }
}

impl State {
    /// Applies a virtual pointer's queued events, in order, as the element's would be.
    fn apply_frame(&mut self, pointer: &VirtualPointer) {
        let Pending { events, axis } = pointer.with(std::mem::take);
        for event in events {
            match event {
                Event::Motion(delta) => {
                    let target = geometry::plus(self.pointer_location, delta);
                    self.move_pointer(target, Some(delta));
                }
                Event::Absolute(at) => self.move_pointer(at, None),
                Event::Button(button, pressed) => self.pointer_button(button, pressed),
            }
        }
        if let Some(mut frame) = axis {
            // Each axis's sum of a frame's events, bounded as each one was.
            frame.axis = (bounded(frame.axis.0), bounded(frame.axis.1));
            self.pointer_axis_frame(frame);
        }
    }
}

pub(crate) fn new_global(dh: &DisplayHandle) -> GlobalId {
    dh.create_global::<State, ZwlrVirtualPointerManagerV1, _>(VERSION, ())
}

impl GlobalDispatch<ZwlrVirtualPointerManagerV1, ()> for State {
    fn bind(
        _state: &mut Self,
        _dh: &DisplayHandle,
        _client: &Client,
        resource: New<ZwlrVirtualPointerManagerV1>,
        _global_data: &(),
        data_init: &mut DataInit<'_, Self>,
    ) {
        data_init.init(resource, ());
    }
}

impl Dispatch<ZwlrVirtualPointerManagerV1, ()> for State {
    fn request(
        _state: &mut Self,
        _client: &Client,
        _manager: &ZwlrVirtualPointerManagerV1,
        request: zwlr_virtual_pointer_manager_v1::Request,
        _data: &(),
        _dh: &DisplayHandle,
        data_init: &mut DataInit<'_, Self>,
    ) {
        // One seat and one output: whichever a client names, it drives that pointer.
        match request {
            zwlr_virtual_pointer_manager_v1::Request::CreateVirtualPointer { id, .. }
            | zwlr_virtual_pointer_manager_v1::Request::CreateVirtualPointerWithOutput {
                id, ..
            } => {
                data_init.init(id, VirtualPointer::default());
            }
            zwlr_virtual_pointer_manager_v1::Request::Destroy => {}
            _ => {}
        }
    }
}

/// A client's displacement or scroll amount, finite and within the coordinate limit.
fn bounded(v: f64) -> f64 {
    let limit = f64::from(COORD_LIMIT);
    if v.is_finite() {
        v.clamp(-limit, limit)
    } else {
        0.0
    }
}

fn axis_of(axis: WEnum<wl_pointer::Axis>) -> Option<Axis> {
    match axis {
        WEnum::Value(wl_pointer::Axis::HorizontalScroll) => Some(Axis::Horizontal),
        WEnum::Value(wl_pointer::Axis::VerticalScroll) => Some(Axis::Vertical),
        _ => None,
    }
}

fn source_of(source: WEnum<wl_pointer::AxisSource>) -> Option<AxisSource> {
    match source {
        WEnum::Value(wl_pointer::AxisSource::Wheel) => Some(AxisSource::Wheel),
        WEnum::Value(wl_pointer::AxisSource::Finger) => Some(AxisSource::Finger),
        WEnum::Value(wl_pointer::AxisSource::Continuous) => Some(AxisSource::Continuous),
        WEnum::Value(wl_pointer::AxisSource::WheelTilt) => Some(AxisSource::WheelTilt),
        _ => None,
    }
}

/// The most wheel steps one `axis_discrete` may carry: their 120ths stay within the
/// coordinate limit. Smithay sums and negates 120ths (`i32::MIN.abs()` panics).
const STEP_LIMIT: i32 = COORD_LIMIT / 120;

/// `discrete` wheel steps in 120ths, bounded.
fn v120_of(discrete: i32) -> i32 {
    discrete.clamp(-STEP_LIMIT, STEP_LIMIT).saturating_mul(120)
}

/// `pos` of `extent` along an output side of `side` pixels; `None` for an empty extent.
fn absolute(pos: u32, extent: u32, side: u32) -> Option<f64> {
    (extent > 0).then(|| f64::from(pos) / f64::from(extent) * f64::from(side))
}

impl Dispatch<ZwlrVirtualPointerV1, VirtualPointer> for State {
    fn request(
        state: &mut Self,
        _client: &Client,
        pointer: &ZwlrVirtualPointerV1,
        request: zwlr_virtual_pointer_v1::Request,
        data: &VirtualPointer,
        _dh: &DisplayHandle,
        _data_init: &mut DataInit<'_, Self>,
    ) {
        let queue = |state: &mut Self, event: Event| {
            if data.push(event) {
                state.apply_frame(data);
            }
        };
        let invalid_axis = || {
            pointer.post_error(
                zwlr_virtual_pointer_v1::Error::InvalidAxis,
                "not a wl_pointer axis",
            );
        };
        match request {
            zwlr_virtual_pointer_v1::Request::Motion { dx, dy, .. } => {
                queue(state, Event::Motion((bounded(dx), bounded(dy)).into()));
            }
            zwlr_virtual_pointer_v1::Request::MotionAbsolute {
                x,
                y,
                x_extent,
                y_extent,
                ..
            } => {
                // An empty extent places nothing (wlroots ignores it too).
                let (Some(x), Some(y)) = (
                    absolute(x, x_extent, state.mode.width),
                    absolute(y, y_extent, state.mode.height),
                ) else {
                    return;
                };
                queue(state, Event::Absolute((x, y).into()));
            }
            zwlr_virtual_pointer_v1::Request::Button {
                button,
                state: button_state,
                ..
            } => {
                let pressed = match button_state {
                    WEnum::Value(wl_pointer::ButtonState::Pressed) => true,
                    WEnum::Value(wl_pointer::ButtonState::Released) => false,
                    // The protocol has no error for it; a button neither up nor down is
                    // no event.
                    _ => return,
                };
                queue(state, Event::Button(button, pressed));
            }
            zwlr_virtual_pointer_v1::Request::Axis { time, axis, value } => {
                let Some(axis) = axis_of(axis) else {
                    return invalid_axis();
                };
                data.update_axis(time, |frame| frame.value(axis, bounded(value)));
            }
            zwlr_virtual_pointer_v1::Request::AxisSource { axis_source } => {
                let Some(source) = source_of(axis_source) else {
                    pointer.post_error(
                        zwlr_virtual_pointer_v1::Error::InvalidAxisSource,
                        "not a wl_pointer axis source",
                    );
                    return;
                };
                data.update_axis(state.now_ms(), |frame| frame.source(source));
            }
            zwlr_virtual_pointer_v1::Request::AxisStop { time, axis } => {
                let Some(axis) = axis_of(axis) else {
                    return invalid_axis();
                };
                data.update_axis(time, |frame| frame.stop(axis));
            }
            zwlr_virtual_pointer_v1::Request::AxisDiscrete {
                time,
                axis,
                value,
                discrete,
            } => {
                let Some(axis) = axis_of(axis) else {
                    return invalid_axis();
                };
                let v120 = v120_of(discrete);
                data.update_axis(time, |frame| {
                    frame.value(axis, bounded(value)).v120(axis, v120)
                });
            }
            zwlr_virtual_pointer_v1::Request::Frame => state.apply_frame(data),
            zwlr_virtual_pointer_v1::Request::Destroy => {}
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_values_are_bounded_and_empty_extents_place_nothing() {
        assert_eq!(bounded(f64::NAN), 0.0);
        assert_eq!(bounded(f64::INFINITY), 0.0);
        assert_eq!(bounded(1e12), f64::from(COORD_LIMIT));
        assert_eq!(bounded(-1e12), -f64::from(COORD_LIMIT));
        assert_eq!(bounded(2.5), 2.5);
        assert_eq!(absolute(5, 0, 1920), None);
        assert_eq!(absolute(u32::MAX, u32::MAX, 1920), Some(1920.0));
        assert_eq!(absolute(1, 2, 1920), Some(960.0));
        assert_eq!(v120_of(-2), -240);
        assert_eq!(v120_of(i32::MIN), -STEP_LIMIT * 120);
        assert!(v120_of(i32::MAX) <= COORD_LIMIT);
    }
}
