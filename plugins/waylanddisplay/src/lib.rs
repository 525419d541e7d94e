//! GStreamer plugin `waylanddisplaysrc`: a headless Wayland compositor as a live video source.

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

mod gst_log;
mod waylanddisplaysrc;

pub use waylanddisplaysrc::{SNAPSHOT_SIGNAL, WaylandDisplaySrc, clipboard_event, input_event};

gst::plugin_define!(
    waylanddisplaysrc,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    env!("CARGO_PKG_VERSION"),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY")
);

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    waylanddisplaysrc::register(plugin)
}
