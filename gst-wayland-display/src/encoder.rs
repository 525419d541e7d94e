//! Which encoder a lobby uses and the plumbing around it, for the host's workers and for
//! `run` alike.

/// Wolf's order: the first of these that exists on the machine encodes.
pub(crate) const DEFAULTS: [&str; 4] = ["nvh264enc", "vah264enc", "qsvh264enc", "x264enc"];

/// The encoder element and the gst-launch fragment that encodes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Encoder {
    pub(crate) element: String,
    pub(crate) fragment: String,
}

/// The encoder for `custom` (an element name, or a gst-launch fragment used as given), or
/// the first of [`DEFAULTS`] present.
pub(crate) fn pick(custom: Option<&str>) -> Result<Encoder, String> {
    let Some(custom) = custom else {
        let element = DEFAULTS
            .iter()
            .find(|name| gst::ElementFactory::find(name).is_some())
            .ok_or_else(|| {
                format!(
                    "no H.264 encoder available (looked for {}); install \
                     gstreamer1.0-plugins-ugly for x264enc or set video_settings.encoder_pipeline",
                    DEFAULTS.join(", ")
                )
            })?;
        return Ok(Encoder {
            element: (*element).to_owned(),
            fragment: plumbed(&tuned(element)),
        });
    };
    let custom = custom.trim();
    let element = custom
        .split('!')
        .map(str::trim)
        .find_map(|part| part.split_whitespace().next())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| "the encoder pipeline is empty".to_owned())?
        .to_owned();
    let bare = !custom.contains(['!', ' ']);
    let fragment = if bare && is_encoder(&element) {
        plumbed(&element)
    } else {
        custom.to_owned()
    };
    Ok(Encoder { element, fragment })
}

/// Software encoders tuned for latency, as a streaming host wants them.
fn tuned(element: &str) -> String {
    match element {
        "x264enc" => "x264enc tune=zerolatency speed-preset=ultrafast".to_owned(),
        other => other.to_owned(),
    }
}

/// An encoder with 4:2:0 input and its parser: hardware encoders take NV12, software ones
/// I420 (from RGB, videoconvert would hand x264enc 4:4:4, which gives High 4:4:4 streams
/// that most players and hardware decoders cannot play). `waylanddisplaysrc` makes both
/// itself, converting only what changed; `videoconvert` stays only for an encoder that
/// does not take them in system memory.
fn plumbed(encoder: &str) -> String {
    let element = encoder.split_whitespace().next().unwrap_or(encoder);
    let factory = gst::ElementFactory::find(element);
    let hardware = factory
        .as_ref()
        .and_then(|f| f.metadata(gst::ELEMENT_METADATA_KLASS))
        .is_some_and(|klass| klass.contains("Hardware"));
    let format = if hardware { "NV12" } else { "I420" };
    let convert = if factory
        .as_ref()
        .is_some_and(|f| takes_from_source(f, format))
    {
        ""
    } else {
        "videoconvert ! "
    };
    let parser = factory.as_ref().and_then(parser_for);
    match parser {
        Some(parser) => {
            format!("{convert}video/x-raw,format={format} ! {encoder} ! {parser}")
        }
        None => format!("{convert}video/x-raw,format={format} ! {encoder}"),
    }
}

/// Whether `waylanddisplaysrc` makes `format` and the encoder's sink takes it in system
/// memory.
fn takes_from_source(factory: &gst::ElementFactory, format: &str) -> bool {
    let made = waylanddisplaycore::OutputFormat::YUV
        .iter()
        .any(|f| f.gst_name() == format);
    let wanted = gst::Caps::builder("video/x-raw")
        .field("format", format)
        .build();
    made && factory
        .static_pad_templates()
        .into_iter()
        .filter(|t| t.direction() == gst::PadDirection::Sink)
        .any(|t| t.caps().can_intersect(&wanted))
}

fn is_encoder(element: &str) -> bool {
    gst::ElementFactory::find(element)
        .and_then(|f| f.metadata(gst::ELEMENT_METADATA_KLASS).map(str::to_owned))
        .is_some_and(|klass| klass.contains("Encoder"))
}

/// The parser for what the encoder produces, so muxers and sinks get complete access
/// units with their caps.
fn parser_for(factory: &gst::ElementFactory) -> Option<&'static str> {
    let caps = factory
        .static_pad_templates()
        .into_iter()
        .find(|t| t.direction() == gst::PadDirection::Src)?
        .caps();
    let produces = |media: &str| caps.iter().any(|s| s.name() == media);
    [
        ("video/x-h264", "h264parse"),
        ("video/x-h265", "h265parse"),
        ("video/x-av1", "av1parse"),
    ]
    .into_iter()
    .find(|(media, _)| produces(media))
    .map(|(_, parser)| parser)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_encoder_present() {
        gst::init().unwrap();
        let encoder = pick(None).unwrap();
        // This machine has no GPU encoders.
        assert_eq!(encoder.element, "x264enc");
        // The source makes I420 itself: no videoconvert.
        assert_eq!(
            encoder.fragment,
            "video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast ! \
             h264parse"
        );
        let custom = pick(Some(" openh264enc bitrate=1000 ! h264parse")).unwrap();
        assert_eq!(custom.element, "openh264enc");
        assert_eq!(custom.fragment, "openh264enc bitrate=1000 ! h264parse");
        assert!(pick(Some("  ")).is_err());
    }

    #[test]
    fn bare_encoders_get_their_plumbing_and_other_elements_do_not() {
        gst::init().unwrap();
        assert_eq!(
            pick(Some("x264enc")).unwrap().fragment,
            "video/x-raw,format=I420 ! x264enc ! h264parse"
        );
        // An encoder that takes no I420 in system memory keeps its conversion (pngenc is
        // in gstreamer1.0-plugins-good, which scripts/setup.sh installs).
        assert!(
            pick(Some("pngenc"))
                .unwrap()
                .fragment
                .starts_with("videoconvert ! video/x-raw,format=I420 ! pngenc")
        );
        if gst::ElementFactory::find("x265enc").is_some() {
            assert!(
                pick(Some("x265enc"))
                    .unwrap()
                    .fragment
                    .ends_with("x265enc ! h265parse")
            );
        }
        // Not an encoder: used as given (the benchmark drops frames with it).
        assert_eq!(pick(Some("identity")).unwrap().fragment, "identity");
    }
}
