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

pub(crate) use config::Setup;
pub use config::{ClientLimits, DisplayConfig, Timeouts, VideoMode, WindowMode, WindowPolicy};
pub use handle::{ClientHandle, WaylandDisplay};

#[cfg(test)]
mod tests;
