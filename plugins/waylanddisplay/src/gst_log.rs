//! Routes `tracing` events (ours and Smithay's) into GStreamer's debug log, so `GST_DEBUG`
//! controls them like any element's log.

use std::fmt::Write;
use std::sync::LazyLock;

use gst::DebugLogger;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "waylanddisplaysrc",
        gst::DebugColorFlags::empty(),
        Some("Wayland display source"),
    )
});

/// A dispatcher that writes into [`CAT`]; installed around the element's calls into the
/// compositor and inherited by the compositor thread.
pub(crate) fn dispatch() -> tracing::Dispatch {
    static DISPATCH: LazyLock<tracing::Dispatch> =
        LazyLock::new(|| tracing::Dispatch::new(tracing_subscriber::registry().with(GstLayer)));
    DISPATCH.clone()
}

struct GstLayer;

fn gst_level(level: &Level) -> gst::DebugLevel {
    match *level {
        Level::ERROR => gst::DebugLevel::Error,
        Level::WARN => gst::DebugLevel::Warning,
        Level::INFO => gst::DebugLevel::Info,
        Level::DEBUG => gst::DebugLevel::Debug,
        Level::TRACE => gst::DebugLevel::Trace,
    }
}

impl<S: Subscriber> Layer<S> for GstLayer {
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        CAT.above_threshold(gst_level(metadata.level()))
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let level = gst_level(meta.level());
        if !CAT.above_threshold(level) {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let file = gst::glib::GString::from(meta.file().unwrap_or(""));
        let line = meta.line().unwrap_or(0);
        CAT.log(
            None::<&gst::glib::Object>,
            level,
            file.as_gstr(),
            meta.module_path().unwrap_or(meta.target()),
            line,
            format_args!("{}", text.0),
        );
    }
}

/// The message first, then `key=value` for each field.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{rest}");
        } else {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value}{rest}");
        } else {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
    }
}
