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

/// The whole pipeline: source, caps, a queue to the encoder and sink, and (with `audio`)
/// the audio branch. Screenshots come from the source's `snapshot` signal, not the stream
/// (whose frames may be YUV or on a GPU).
pub(crate) fn description(
    spec: &LobbySpec,
    encoder_fragment: &str,
    audio: Option<&AudioSpec>,
) -> String {
    let audio = audio
        .map(|audio| format!(" {}", branch::description(audio.channels, &audio.pipeline)))
        .unwrap_or_default();
    format!(
        "waylanddisplaysrc name=src ! {caps} ! queue ! {encoder_fragment} ! {sink}{audio}",
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

        let mut dmabuf = spec();
        dmabuf.buffer_caps = Some("video/x-raw(memory:DMABuf), format=DMA_DRM".into());
        let description = super::description(&dmabuf, "fakesink", None);
        assert!(description.contains("width=(int)640"), "{description}");
    }
}
