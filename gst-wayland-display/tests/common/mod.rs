//! The host test helpers live in `gwd_tests::host` (the lobby benchmark uses them too).
#![allow(dead_code)]

pub use gwd_tests::host::*;

/// Cargo builds this before the tests that name it; `host::exe()` finds the same file.
pub const EXE: &str = env!("CARGO_BIN_EXE_gst-wayland-display");
