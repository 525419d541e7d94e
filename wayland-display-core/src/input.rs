//! Input the compositor can be given from outside, in the element's vocabulary.

/// One input event. Pointer positions are output pixels; touch positions are normalised to
/// the output (0.0 to 1.0); keys are evdev codes; buttons are evdev codes (`BTN_LEFT` =
/// 0x110); scroll amounts are in 1/120ths of a wheel detent.
#[derive(Clone, Debug, PartialEq)]
pub enum InputEvent {
    PointerMotion { dx: f64, dy: f64 },
    PointerMotionAbsolute { x: f64, y: f64 },
    PointerButton { button: u32, pressed: bool },
    PointerAxis { x: f64, y: f64 },
    Key { key: u32, pressed: bool },
    TouchDown { id: u32, x: f64, y: f64 },
    TouchMotion { id: u32, x: f64, y: f64 },
    TouchUp { id: u32 },
    TouchFrame,
    TouchCancel,
}
