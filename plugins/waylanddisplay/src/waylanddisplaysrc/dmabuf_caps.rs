//! DMABuf caps in both styles GStreamer has used, picked at run time so one build serves
//! both: 1.24 and newer describe a DMABuf as `format=DMA_DRM, drm-format=XR24:0x…` (fourcc
//! and modifier); older versions only know plain video formats, which for DMABuf means
//! linear buffers.

/// `DRM_FORMAT_MOD_LINEAR`.
pub(crate) const LINEAR: u64 = 0;
/// `DRM_FORMAT_MOD_INVALID`: the buffer's layout is implicit (driver-chosen).
pub(crate) const INVALID: u64 = 0x00ff_ffff_ffff_ffff;

pub(crate) const MEMORY_DMABUF: &str = "memory:DMABuf";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CapsStyle {
    /// `format=DMA_DRM` plus `drm-format` (GStreamer 1.24+).
    DmaDrm,
    /// Plain formats, linear buffers only (GStreamer 1.22 and older).
    Plain,
}

impl CapsStyle {
    /// The style the GStreamer we run on (not the one we were built against) understands.
    pub(crate) fn running() -> Self {
        Self::for_version(gst::version())
    }

    pub(crate) fn for_version((major, minor, _, _): (u32, u32, u32, u32)) -> Self {
        if (major, minor) >= (1, 24) {
            Self::DmaDrm
        } else {
            Self::Plain
        }
    }
}

/// The GStreamer name of a DRM fourcc among those we produce.
pub(crate) fn gst_format_name(fourcc: u32) -> Option<&'static str> {
    Some(match &fourcc.to_le_bytes() {
        b"XR24" => "BGRx",
        b"XB24" => "RGBx",
        b"AR24" => "BGRA",
        b"AB24" => "RGBA",
        b"NV12" => "NV12",
        _ => return None,
    })
}

/// Whether a fourcc we produce is YUV (converted by a shader), whose caps name a
/// colorimetry.
fn is_yuv(fourcc: u32) -> bool {
    fourcc == fourcc_code(b"NV12")
}

fn fourcc_code(code: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*code)
}

/// `drm-format` field value: the fourcc's four characters, then `:0x` and the modifier in
/// 16 hex digits unless it is linear.
pub(crate) fn drm_format_string(fourcc: u32, modifier: u64) -> Option<String> {
    let bytes = fourcc.to_le_bytes();
    if !bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return None;
    }
    let code: String = bytes.iter().map(|&b| b as char).collect();
    let code = code.trim_end().to_owned();
    Some(if modifier == LINEAR {
        code
    } else {
        format!("{code}:0x{modifier:016x}")
    })
}

/// Parses a `drm-format` value back into (fourcc, modifier).
pub(crate) fn parse_drm_format(value: &str) -> Option<(u32, u64)> {
    let (code, modifier) = match value.split_once(':') {
        Some((code, m)) => {
            let hex = m.strip_prefix("0x").or_else(|| m.strip_prefix("0X"))?;
            (code, u64::from_str_radix(hex, 16).ok()?)
        }
        None => (value, LINEAR),
    };
    if code.is_empty() || code.len() > 4 || !code.is_ascii() {
        return None;
    }
    let mut bytes = [b' '; 4];
    bytes[..code.len()].copy_from_slice(code.as_bytes());
    Some((fourcc_code(&bytes), modifier))
}

/// Caps for DMABuf output of the given (fourcc, modifiers) in `style`, any size and rate:
/// the RGB formats, then the YUV ones with the colorimetries they can have. `None` when
/// nothing can be expressed (e.g. no linear modifier in the plain style).
pub(crate) fn dmabuf_caps(formats: &[(u32, Vec<u64>)], style: CapsStyle) -> Option<gst::Caps> {
    let (yuv, rgb): (Vec<_>, Vec<_>) = formats.iter().cloned().partition(|(f, _)| is_yuv(*f));
    let mut caps = gst::Caps::new_empty();
    for (group, is_yuv) in [(rgb, false), (yuv, true)] {
        let Some(builder) = dmabuf_structure(&group, style) else {
            continue;
        };
        let builder = if is_yuv {
            super::yuv_caps::with_yuv_fields(builder)
        } else {
            builder
        };
        caps.merge(full_ranges(builder).features([MEMORY_DMABUF]).build());
    }
    (!caps.is_empty()).then_some(caps)
}

/// The format fields of DMABuf caps for `formats`, or `None` when none is expressible.
fn dmabuf_structure(
    formats: &[(u32, Vec<u64>)],
    style: CapsStyle,
) -> Option<gst::caps::Builder<gst::caps::NoFeature>> {
    match style {
        CapsStyle::DmaDrm => {
            let drm_formats: Vec<String> = formats
                .iter()
                .flat_map(|(fourcc, modifiers)| {
                    modifiers
                        .iter()
                        .filter(|&&m| m != INVALID)
                        .filter_map(move |&m| drm_format_string(*fourcc, m))
                })
                .collect();
            if drm_formats.is_empty() {
                return None;
            }
            Some(
                gst::Caps::builder("video/x-raw")
                    .field("format", "DMA_DRM")
                    .field("drm-format", gst::List::new(drm_formats)),
            )
        }
        CapsStyle::Plain => {
            let names: Vec<&str> = formats
                .iter()
                .filter(|(_, modifiers)| modifiers.contains(&LINEAR))
                .filter_map(|(fourcc, _)| gst_format_name(*fourcc))
                .collect();
            if names.is_empty() {
                return None;
            }
            Some(gst::Caps::builder("video/x-raw").field("format", gst::List::new(names)))
        }
    }
}

/// Any size and frame rate.
fn full_ranges(
    builder: gst::caps::Builder<gst::caps::NoFeature>,
) -> gst::caps::Builder<gst::caps::NoFeature> {
    builder
        .field("width", gst::IntRange::new(1, i32::MAX))
        .field("height", gst::IntRange::new(1, i32::MAX))
        .field(
            "framerate",
            gst::FractionRange::new(
                gst::Fraction::new(1, i32::MAX),
                gst::Fraction::new(i32::MAX, 1),
            ),
        )
}

/// System-memory caps, any size and rate: every format we render first (no conversion,
/// what a consumer that takes anything gets), then the YUV formats we convert into.
pub(crate) fn system_caps() -> gst::Caps {
    let formats = ["BGRx", "RGBx", "BGRA", "RGBA"];
    let mut caps =
        full_ranges(gst::Caps::builder("video/x-raw").field("format", gst::List::new(formats)))
            .build();
    caps.merge(full_ranges(super::yuv_caps::yuv_caps_builder()).build());
    caps
}

/// The pad template: system memory, and DMABuf in either style (what a run offers is
/// decided by the caps query).
pub(crate) fn template_caps() -> gst::Caps {
    let mut caps = system_caps();
    let formats = ["BGRx", "RGBx", "BGRA", "RGBA", "DMA_DRM"];
    let dmabuf =
        full_ranges(gst::Caps::builder("video/x-raw").field("format", gst::List::new(formats)))
            .features([MEMORY_DMABUF])
            .build();
    caps.merge(dmabuf);
    let nv12 =
        super::yuv_caps::with_yuv_fields(gst::Caps::builder("video/x-raw").field("format", "NV12"));
    caps.merge(full_ranges(nv12).features([MEMORY_DMABUF]).build());
    caps
}

/// What the element offers now: DMABuf first (no copy) when the renderer can export it,
/// then system memory.
pub(crate) fn offered_caps(dmabuf_formats: &[(u32, Vec<u64>)], style: CapsStyle) -> gst::Caps {
    let mut caps = dmabuf_caps(dmabuf_formats, style).unwrap_or_else(gst::Caps::new_empty);
    caps.merge(system_caps());
    caps
}

/// What fixed caps ask for: `Some((fourcc, modifier))` for DMABuf caps of either style,
/// `None` for system-memory caps (or caps we cannot read).
pub(crate) fn negotiated_dmabuf(caps: &gst::CapsRef) -> Option<(u32, u64)> {
    let features = caps.features(0)?;
    if !features.contains(MEMORY_DMABUF) {
        return None;
    }
    let s = caps.structure(0)?;
    let format = s.get::<&str>("format").ok()?;
    if format == "DMA_DRM" {
        parse_drm_format(s.get::<&str>("drm-format").ok()?)
    } else {
        let code = match format {
            "BGRx" => b"XR24",
            "RGBx" => b"XB24",
            "BGRA" => b"AR24",
            "RGBA" => b"AB24",
            "NV12" => b"NV12",
            _ => return None,
        };
        Some((fourcc_code(code), LINEAR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XR24: u32 = u32::from_le_bytes(*b"XR24");
    const AB24: u32 = u32::from_le_bytes(*b"AB24");
    const NV_TILED: u64 = 0x0300_0000_0060_6014;

    fn init() {
        gst::init().unwrap();
    }

    #[test]
    fn style_follows_the_running_version() {
        assert_eq!(CapsStyle::for_version((1, 22, 0, 0)), CapsStyle::Plain);
        assert_eq!(CapsStyle::for_version((1, 23, 90, 0)), CapsStyle::Plain);
        assert_eq!(CapsStyle::for_version((1, 24, 0, 0)), CapsStyle::DmaDrm);
        assert_eq!(CapsStyle::for_version((1, 26, 2, 0)), CapsStyle::DmaDrm);
        assert_eq!(CapsStyle::for_version((2, 0, 0, 0)), CapsStyle::DmaDrm);
    }

    #[test]
    fn drm_format_strings_round_trip() {
        assert_eq!(drm_format_string(XR24, LINEAR).as_deref(), Some("XR24"));
        assert_eq!(
            drm_format_string(AB24, NV_TILED).as_deref(),
            Some("AB24:0x0300000000606014")
        );
        for (fourcc, modifier) in [(XR24, LINEAR), (AB24, NV_TILED), (XR24, 1)] {
            let s = drm_format_string(fourcc, modifier).unwrap();
            assert_eq!(parse_drm_format(&s), Some((fourcc, modifier)), "{s}");
        }
        assert_eq!(
            parse_drm_format("R8"),
            Some((u32::from_le_bytes(*b"R8  "), LINEAR))
        );
        for bad in ["", "XR24:", "XR24:12", "XR24:0xzz", "TOOLONG", "XR24:0x1:2"] {
            assert_eq!(parse_drm_format(bad), None, "{bad}");
        }
    }

    #[test]
    fn dma_drm_caps_list_every_fourcc_and_modifier() {
        init();
        let caps = dmabuf_caps(
            &[
                (XR24, vec![LINEAR, NV_TILED, INVALID]),
                (AB24, vec![LINEAR]),
            ],
            CapsStyle::DmaDrm,
        )
        .unwrap();
        let s = caps.structure(0).unwrap();
        assert!(caps.features(0).unwrap().contains(MEMORY_DMABUF));
        assert_eq!(s.get::<&str>("format").unwrap(), "DMA_DRM");
        let list = s.get::<gst::List>("drm-format").unwrap();
        let values: Vec<&str> = list.iter().map(|v| v.get::<&str>().unwrap()).collect();
        assert_eq!(values, ["XR24", "XR24:0x0300000000606014", "AB24"]);
    }

    #[test]
    fn nv12_comes_after_rgb_with_its_colorimetries() {
        init();
        let nv12 = u32::from_le_bytes(*b"NV12");
        for style in [CapsStyle::DmaDrm, CapsStyle::Plain] {
            let caps = dmabuf_caps(&[(nv12, vec![LINEAR]), (XR24, vec![LINEAR])], style).unwrap();
            assert_eq!(caps.size(), 2, "{caps}");
            let (rgb, yuv) = (caps.structure(0).unwrap(), caps.structure(1).unwrap());
            assert!(!rgb.has_field("colorimetry"), "{caps}");
            assert_eq!(yuv.get::<&str>("chroma-site").unwrap(), "jpeg");
            let colorimetries = yuv.get::<gst::List>("colorimetry").unwrap();
            assert_eq!(colorimetries.len(), 4, "{caps}");
            let field = match style {
                CapsStyle::DmaDrm => "drm-format",
                CapsStyle::Plain => "format",
            };
            let list = yuv.get::<gst::List>(field).unwrap();
            let format = list.first().unwrap().get::<String>().unwrap();
            assert_eq!(format, "NV12");
            assert!(
                caps.is_subset(&template_caps()),
                "{caps} not within the template"
            );
            let fixed: gst::Caps = match style {
                CapsStyle::DmaDrm => "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=NV12, width=64, height=48",
                CapsStyle::Plain => "video/x-raw(memory:DMABuf), format=NV12, width=64, height=48",
            }
            .parse()
            .unwrap();
            assert_eq!(negotiated_dmabuf(&fixed), Some((nv12, LINEAR)));
        }
    }

    #[test]
    fn plain_caps_offer_only_linear_formats() {
        init();
        let caps = dmabuf_caps(
            &[(XR24, vec![NV_TILED]), (AB24, vec![NV_TILED, LINEAR])],
            CapsStyle::Plain,
        )
        .unwrap();
        let list = caps
            .structure(0)
            .unwrap()
            .get::<gst::List>("format")
            .unwrap();
        let values: Vec<&str> = list.iter().map(|v| v.get::<&str>().unwrap()).collect();
        assert_eq!(values, ["RGBA"]);
        assert!(dmabuf_caps(&[(XR24, vec![NV_TILED])], CapsStyle::Plain).is_none());
    }

    #[test]
    fn offered_caps_put_dmabuf_first_and_always_offer_system_memory() {
        init();
        let linear = [(XR24, vec![LINEAR])];
        for style in [CapsStyle::DmaDrm, CapsStyle::Plain] {
            let caps = offered_caps(&linear, style);
            // DMABuf, then system memory in RGB, then in YUV.
            assert_eq!(caps.size(), 3, "{caps}");
            assert!(caps.features(0).unwrap().contains(MEMORY_DMABUF));
            assert!(!caps.features(1).unwrap().contains(MEMORY_DMABUF));
            assert!(!caps.features(2).unwrap().contains(MEMORY_DMABUF));
            assert!(
                caps.is_subset(&template_caps()),
                "{caps} not within the template"
            );
        }
        let software = offered_caps(&[], CapsStyle::DmaDrm);
        assert_eq!(software.size(), 2);
        assert_eq!(software, system_caps());
    }

    #[test]
    fn negotiated_caps_of_both_styles_are_read_back() {
        init();
        let new_style: gst::Caps =
            "video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=XR24:0x0300000000606014, width=64, height=48"
                .parse()
                .unwrap();
        assert_eq!(negotiated_dmabuf(&new_style), Some((XR24, NV_TILED)));
        let old_style: gst::Caps = "video/x-raw(memory:DMABuf), format=RGBA, width=64, height=48"
            .parse()
            .unwrap();
        assert_eq!(negotiated_dmabuf(&old_style), Some((AB24, LINEAR)));
        let system: gst::Caps = "video/x-raw, format=RGBA, width=64, height=48"
            .parse()
            .unwrap();
        assert_eq!(negotiated_dmabuf(&system), None);
    }
}
