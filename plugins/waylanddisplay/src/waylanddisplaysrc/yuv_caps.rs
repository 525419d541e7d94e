//! YUV caps: the formats the compositor converts into, and the colorimetries it can
//! produce, as GStreamer names them.
//!
//! The default is what players assume when nothing says otherwise: BT.601 under 720 lines,
//! BT.709 from 720 lines up, video range. Downstream asks for another (full range, say)
//! through caps: `video/x-raw,format=NV12,colorimetry=1:3:5:1`.

use std::str::FromStr;

use gst_video::{VideoColorRange, VideoColorimetry};
use waylanddisplaycore::{Colorimetry, OutputFormat, YuvMatrix, YuvValueRange};

/// Where chroma samples sit: at the centre of each 2x2 block (they are its average).
pub(crate) const CHROMA_SITE: &str = "jpeg";

fn gst_colorimetry(c: Colorimetry) -> Option<VideoColorimetry> {
    let base = match c.matrix {
        YuvMatrix::Bt601 => "bt601",
        YuvMatrix::Bt709 => "bt709",
    };
    let named = VideoColorimetry::from_str(base).ok()?;
    let range = match c.range {
        YuvValueRange::Limited => VideoColorRange::Range16_235,
        YuvValueRange::Full => VideoColorRange::Range0_255,
    };
    Some(VideoColorimetry::new(
        range,
        named.matrix(),
        named.transfer(),
        named.primaries(),
    ))
}

/// The colorimetries offered, each as GStreamer writes it.
fn offered() -> Vec<String> {
    let mut out = Vec::new();
    for matrix in [YuvMatrix::Bt709, YuvMatrix::Bt601] {
        for range in [YuvValueRange::Limited, YuvValueRange::Full] {
            if let Some(c) = gst_colorimetry(Colorimetry { matrix, range }) {
                out.push(c.to_string());
            }
        }
    }
    out
}

/// The caps field value for `c`.
pub(crate) fn colorimetry_string(c: Colorimetry) -> Option<String> {
    gst_colorimetry(c).map(|c| c.to_string())
}

/// What a `colorimetry` caps value asks for, if we can produce it. The transfer function
/// and primaries are the display's business, not the conversion's: any is accepted.
pub(crate) fn parse_colorimetry(value: &str) -> Option<Colorimetry> {
    let c = VideoColorimetry::from_str(value).ok()?;
    let matrix = match c.matrix() {
        gst_video::VideoColorMatrix::Bt601 => YuvMatrix::Bt601,
        gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
        _ => return None,
    };
    let range = match c.range() {
        VideoColorRange::Range0_255 => YuvValueRange::Full,
        VideoColorRange::Range16_235 => YuvValueRange::Limited,
        _ => return None,
    };
    Some(Colorimetry { matrix, range })
}

/// System-memory YUV caps: I420 and NV12, every colorimetry we make; sizes and rates are
/// the caller's to add.
pub(crate) fn yuv_caps_builder() -> gst::caps::Builder<gst::caps::NoFeature> {
    let formats: Vec<&str> = OutputFormat::YUV.iter().map(|f| f.gst_name()).collect();
    with_yuv_fields(gst::Caps::builder("video/x-raw").field("format", gst::List::new(formats)))
}

/// The fields every YUV structure we offer has: the colorimetries we make and where chroma
/// sits.
pub(crate) fn with_yuv_fields(
    builder: gst::caps::Builder<gst::caps::NoFeature>,
) -> gst::caps::Builder<gst::caps::NoFeature> {
    builder
        .field("colorimetry", gst::List::new(offered()))
        .field("chroma-site", CHROMA_SITE)
}

/// Fixes a YUV structure's colorimetry (only YUV structures have the field; the format
/// may still be open) on the default for its (fixed) height, when downstream left the
/// choice open and the default is among what it allows.
pub(crate) fn fixate_colorimetry(s: &mut gst::StructureRef) {
    if !s.has_field("colorimetry") {
        return;
    }
    let Some(height) = s
        .get::<i32>("height")
        .ok()
        .and_then(|h| u32::try_from(h).ok())
    else {
        return;
    };
    let Some(wanted) = colorimetry_string(Colorimetry::for_height(height)) else {
        return;
    };
    let allowed = match s.value("colorimetry") {
        Ok(v) => match v.get::<gst::List>() {
            Ok(list) => list
                .iter()
                .any(|c| c.get::<&str>().is_ok_and(|c| c == wanted)),
            Err(_) => v.get::<&str>().is_ok_and(|c| c == wanted),
        },
        Err(_) => false,
    };
    if allowed {
        s.set("colorimetry", wanted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().unwrap();
    }

    #[test]
    fn every_offered_colorimetry_parses_back() {
        init();
        let all = offered();
        assert_eq!(all.len(), 4, "{all:?}");
        for matrix in [YuvMatrix::Bt709, YuvMatrix::Bt601] {
            for range in [YuvValueRange::Limited, YuvValueRange::Full] {
                let c = Colorimetry { matrix, range };
                let s = colorimetry_string(c).unwrap();
                assert!(all.contains(&s));
                assert_eq!(parse_colorimetry(&s), Some(c), "{s}");
            }
        }
        assert_eq!(colorimetry_string(Colorimetry::BT709).unwrap(), "bt709");
        assert_eq!(colorimetry_string(Colorimetry::BT601).unwrap(), "bt601");
        assert_eq!(parse_colorimetry("bt2020"), None);
        assert_eq!(parse_colorimetry("sRGB"), None);
        assert_eq!(parse_colorimetry("nonsense"), None);
    }

    #[test]
    fn fixation_picks_the_default_for_the_height_when_allowed() {
        init();
        let fixed = |caps: &str| {
            let mut caps = gst::Caps::from_str(caps).unwrap();
            fixate_colorimetry(caps.make_mut().structure_mut(0).unwrap());
            caps.structure(0)
                .unwrap()
                .get::<String>("colorimetry")
                .unwrap()
        };
        let open = "colorimetry={ bt601, bt709, (string)1:3:5:1 }";
        assert_eq!(
            fixed(&format!("video/x-raw,format=I420,height=1080,{open}")),
            "bt709"
        );
        assert_eq!(
            fixed(&format!("video/x-raw,format=NV12,height=480,{open}")),
            "bt601"
        );
        // The format not chosen yet.
        assert_eq!(
            fixed(&format!(
                "video/x-raw,format={{I420,NV12}},height=240,{open}"
            )),
            "bt601"
        );
        // Asked for: kept.
        assert_eq!(
            fixed("video/x-raw,format=NV12,height=480,colorimetry=1:3:5:1"),
            "1:3:5:1"
        );
    }
}
