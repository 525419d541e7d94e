//! [`WaylandDisplay`]: the handle to a running compositor. It owns the compositor thread
//! and the socket; every call returns a `Result`, and dropping it stops the thread within a
//! bounded time and removes the socket.
//!
//! - [`config`]: what a caller chooses (mode, format, socket, renderer, timeouts);
//! - [`handle`]: the public handle and its calls;
//! - [`thread`]: the compositor thread seen from the caller's side: commands, replies,
//!   the frame cache, start, stop and how it ended;
//! - [`input_gate`]: the bound on input waiting for the thread;
//! - [`event_loop`]: the thread itself, serving clients and commands.

mod config;
mod event_loop;
mod handle;
mod input_gate;
mod thread;
mod xwayland_loop;

pub(crate) use config::Setup;
pub use config::{
    ClientLimits, DisplayConfig, OutputScale, ScaleOutOfRange, Timeouts, VideoMode, WindowMode,
    WindowPolicy,
};
pub(crate) use event_loop::LoopData;
pub use handle::{ClientHandle, WaylandDisplay};
pub(crate) use xwayland_loop::X11Setup;

#[cfg(test)]
mod tests;
