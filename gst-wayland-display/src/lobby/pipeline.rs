//! The lobby's pipeline as a gst-launch description.

use super::protocol::{AudioSpec, LobbySpec};
use crate::audio::branch;

/// The caps between the source and the rest: Wolf's `video_producer_buffer_caps` (or raw
/// video) completed with the lobby's size and rate.
pub(crate) fn caps(spec: &LobbySpec) -> String {
    let base = spec
        .buffer_caps
        .as_deref()
        .unwrap_or("video/x-raw")
        .trim()
        .trim_end_matches(';');
    format!(
        "{base}, width=(int){}, height=(int){}, framerate=(fraction){}/1",
        spec.width, spec.height, spec.fps
    )
}

/// Whether frames are in system memory (then a screenshot branch can read them).
pub(crate) fn system_memory(spec: &LobbySpec) -> bool {
    !spec
        .buffer_caps
        .as_deref()
        .is_some_and(|caps| caps.contains("memory:"))
}

/// The whole pipeline: source, caps, a tee to the encoder and sink, (for system memory) a
/// leaky branch keeping the latest frame for screenshots, and (with `audio`) the audio
/// branch. That appsink must not wait for its frame to be pulled before passing EOS on, or
/// a finishing file never ends.
pub(crate) fn description(
    spec: &LobbySpec,
    encoder_fragment: &str,
    audio: Option<&AudioSpec>,
) -> String {
    let shot = if system_memory(spec) {
        " t. ! queue leaky=downstream max-size-buffers=1 ! appsink name=shot sync=false max-buffers=1 drop=true async=false wait-on-eos=false"
    } else {
        ""
    };
    let audio = audio
        .map(|audio| format!(" {}", branch::description(audio.channels, &audio.pipeline)))
        .unwrap_or_default();
    format!(
        "waylanddisplaysrc name=src ! {caps} ! tee name=t t. ! queue ! {encoder_fragment} ! {sink}{shot}{audio}",
        caps = caps(spec),
        sink = spec.sink_pipeline,
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gst::prelude::*;

    use super::*;

    pub(crate) fn spec() -> LobbySpec {
        LobbySpec {
            id: "l1".into(),
            name: "test".into(),
            width: 640,
            height: 480,
            fps: 30,
            render_node: "software".into(),
            buffer_caps: None,
            encoder_pipeline: None,
            sink_pipeline: "fakesink sync=false".into(),
            app: None,
            start_timeout: Duration::from_secs(10),
            stop_grace: Duration::from_secs(2),
            window_mode: waylanddisplaycore::WindowMode::default(),
            scale_to_fit: false,
            scale: 1.0,
            xwayland: crate::lobby::protocol::XwaylandMode::default(),
            privileged_protocols: true,
            audio: None,
        }
    }

    #[test]
    fn description_builds_a_pipeline() {
        gst::init().unwrap();
        gstwaylanddisplaysrc::plugin_register_static().ok();
        let encoder = crate::encoder::pick(None).unwrap();
        let description = description(&spec(), &encoder.fragment, None);
        let pipeline = gst::parse::launch(&description).unwrap();
        let bin = pipeline.downcast::<gst::Bin>().unwrap();
        assert!(bin.by_name("src").is_some());
        assert!(bin.by_name("shot").is_some());

        let mut dmabuf = spec();
        dmabuf.buffer_caps = Some("video/x-raw(memory:DMABuf), format=DMA_DRM".into());
        let description = super::description(&dmabuf, "fakesink", None);
        assert!(!description.contains("appsink"), "{description}");
        assert!(description.contains("width=(int)640"), "{description}");
    }
}
