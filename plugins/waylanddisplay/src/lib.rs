//! GStreamer plugin `waylanddisplaysrc`: a headless Wayland compositor as a live video source.

mod gst_log;
mod waylanddisplaysrc;

pub use waylanddisplaysrc::{WaylandDisplaySrc, input_event};

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
