//! A headless Wayland compositor whose output is a stream of video frames.
//!
//! [`WaylandDisplay`] is the handle: it binds a socket ([`socket`]), runs the compositor
//! on its own thread, hands out rendered [`Frame`]s and takes [`InputEvent`]s.

// Values from clients, users and the OS meet arithmetic here: conversions are checked and
// sums cannot wrap or panic (clippy enforces it outside the tests).
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss
    )
)]

pub mod clipboard;
mod comp;
pub mod device;
mod display;
mod error;
mod input;
mod render;
pub mod socket;
pub mod xwayland;

pub use device::{RenderChoice, RenderTarget, RendererKind};
pub use display::{
    ClientHandle, ClientLimits, DisplayConfig, OutputScale, ScaleOutOfRange, Timeouts, VideoMode,
    WaylandDisplay, WindowMode, WindowPolicy,
};
pub use error::DisplayError;
pub use input::{
    EventFields, FieldValue, InputError, InputEvent, MAX_TEXT_BYTES, RawFields, RawValue, Text,
};
pub use render::{
    Colorimetry, DmabufPlane, Frame, FramePlane, FrameSource, GlDevice, OutputFormat, OutputTarget,
    PlaneCopy, RenderBackend, RenderError, YuvConversion, YuvMatrix, YuvValueRange, builtin_cursor,
};
pub use xwayland::{XwaylandError, XwaylandMode};
