//! The lobby's pipeline as a gst-launch description, and the encoder Wolf would pick.

use super::protocol::LobbySpec;

/// Wolf's order: the first of these that exists on the machine encodes.
pub(crate) const ENCODERS: [&str; 4] = ["nvh264enc", "vah264enc", "qsvh264enc", "x264enc"];

/// The encoder element's name and the gst-launch fragment that encodes with it.
pub(crate) fn pick_encoder(custom: Option<&str>) -> Result<(String, String), String> {
    if let Some(fragment) = custom {
        let name = fragment
            .split('!')
            .map(str::trim)
            .find_map(|part| part.split_whitespace().next())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| "the encoder pipeline is empty".to_owned())?;
        return Ok((name.to_owned(), fragment.to_owned()));
    }
    ENCODERS
        .iter()
        .find(|name| gst::ElementFactory::find(name).is_some())
        .map(|name| (name.to_string(), default_fragment(name)))
        .ok_or_else(|| {
            format!(
                "no H.264 encoder available (looked for {}); install gstreamer1.0-plugins-ugly \
                 for x264enc or set video_settings.encoder_pipeline",
                ENCODERS.join(", ")
            )
        })
}

/// Encoders get 4:2:0 input: from RGB, videoconvert would otherwise hand x264enc 4:4:4,
/// which gives High 4:4:4 streams most players and hardware decoders cannot play.
fn default_fragment(encoder: &str) -> String {
    match encoder {
        // Software: tuned for latency, as a streaming host wants it.
        "x264enc" => {
            "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast ! h264parse"
                .to_owned()
        }
        other => format!("videoconvert ! video/x-raw,format=NV12 ! {other} ! h264parse"),
    }
}

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

/// The whole pipeline: source, caps, a tee to the encoder and sink, and (for system
/// memory) a leaky branch keeping the latest frame for screenshots. That appsink must not
/// wait for its frame to be pulled before passing EOS on, or a finishing file never ends.
pub(crate) fn description(spec: &LobbySpec, encoder_fragment: &str) -> String {
    let shot = if system_memory(spec) {
        " t. ! queue leaky=downstream max-size-buffers=1 ! appsink name=shot sync=false max-buffers=1 drop=true async=false wait-on-eos=false"
    } else {
        ""
    };
    format!(
        "waylanddisplaysrc name=src ! {caps} ! tee name=t t. ! queue ! {encoder_fragment} ! {sink}{shot}",
        caps = caps(spec),
        sink = spec.sink_pipeline,
    )
}

#[cfg(test)]
mod tests {
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
            start_timeout_ms: 10_000,
            stop_grace_ms: 2000,
        }
    }

    #[test]
    fn picks_the_first_encoder_present() {
        gst::init().unwrap();
        let (name, fragment) = pick_encoder(None).unwrap();
        // This machine has no GPU encoders.
        assert_eq!(name, "x264enc");
        assert!(fragment.contains("x264enc tune=zerolatency"));
        let (name, _) = pick_encoder(Some(" openh264enc bitrate=1000 ! h264parse")).unwrap();
        assert_eq!(name, "openh264enc");
        assert!(pick_encoder(Some("  ")).is_err());
    }

    #[test]
    fn description_builds_a_pipeline() {
        gst::init().unwrap();
        gstwaylanddisplaysrc::plugin_register_static().ok();
        let (_, encoder) = pick_encoder(None).unwrap();
        let description = description(&spec(), &encoder);
        let pipeline = gst::parse::launch(&description).unwrap();
        let bin = pipeline.downcast::<gst::Bin>().unwrap();
        assert!(bin.by_name("src").is_some());
        assert!(bin.by_name("shot").is_some());

        let mut dmabuf = spec();
        dmabuf.buffer_caps = Some("video/x-raw(memory:DMABuf), format=DMA_DRM".into());
        let description = super::description(&dmabuf, "fakesink");
        assert!(!description.contains("appsink"), "{description}");
        assert!(description.contains("width=(int)640"), "{description}");
    }
}
