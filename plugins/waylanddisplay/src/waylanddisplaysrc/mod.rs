//! `waylanddisplaysrc`: a live video source whose picture is a headless Wayland
//! compositor's output. Applications connect to the socket announced in the `wayland.src`
//! bus message.

use gst::glib;
use gst::prelude::*;

pub mod clipboard_event;
mod dmabuf_caps;
mod imp;
pub mod input_event;
mod pacing;
mod yuv_caps;

pub use imp::SNAPSHOT_SIGNAL;

glib::wrapper! {
    pub struct WaylandDisplaySrc(ObjectSubclass<imp::WaylandDisplaySrc>)
        @extends gst_base::PushSrc, gst_base::BaseSrc, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "waylanddisplaysrc",
        gst::Rank::NONE,
        WaylandDisplaySrc::static_type(),
    )
}
