//! `waylanddisplaysrc` in YUV: caps that name the colorimetry and chroma siting of what
//! it makes, buffers laid out as GStreamer lays them out by default, the test client's
//! colours as the reference converts them, and an encoder linked straight to the element.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::Lobby;
use gwd_tests::yuv_ref::{self, Bgrx};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);

/// (Y, U, V) of a solid BGRx colour by the reference conversion.
fn reference_yuv(bgr: [u8; 3], c: yuv_ref::Colorimetry) -> (u8, u8, u8) {
    let px = [bgr[0], bgr[1], bgr[2], 0xff].repeat(4);
    let src = Bgrx {
        data: &px,
        width: 2,
        height: 2,
        stride: 8,
    };
    let out = yuv_ref::I420::from_bgrx(&src, c);
    (out.y[0], out.u[0], out.v[0])
}

/// (Y, U, V) at (x, y) of a YUV sample, read through its `GstVideoMeta`.
fn sample_yuv(sample: &gst::Sample, x: usize, y: usize) -> (u8, u8, u8) {
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let buffer = sample.buffer().unwrap();
    let meta = buffer.meta::<gst_video::VideoMeta>().unwrap();
    let (offsets, strides) = (meta.offset(), meta.stride());
    let map = buffer.map_readable().unwrap();
    let data = map.as_slice();
    let at =
        |plane: usize, x: usize, y: usize| data[offsets[plane] + y * strides[plane] as usize + x];
    let luma = at(0, x, y);
    match info.format() {
        gst_video::VideoFormat::I420 => (luma, at(1, x / 2, y / 2), at(2, x / 2, y / 2)),
        gst_video::VideoFormat::Nv12 => {
            (luma, at(1, x / 2 * 2, y / 2), at(1, x / 2 * 2 + 1, y / 2))
        }
        other => panic!("not YUV: {other:?}"),
    }
}

/// The sample's pixel at `at` is `bgr` converted by the reference: Y within 1, chroma
/// within 2 (a 2x2 block's average rounds either way).
fn assert_pixel(
    sample: &gst::Sample,
    (x, y): (usize, usize),
    bgr: [u8; 3],
    reference: yuv_ref::Colorimetry,
    what: &str,
) {
    let (gy, gu, gv) = sample_yuv(sample, x, y);
    let (ry, ru, rv) = reference_yuv(bgr, reference);
    assert!(
        gy.abs_diff(ry) <= 1 && gu.abs_diff(ru) <= 2 && gv.abs_diff(rv) <= 2,
        "{what} at ({x},{y}): got {:?}, want {:?}",
        (gy, gu, gv),
        (ry, ru, rv)
    );
}

fn pull_until(lobby: &Lobby, pred: impl Fn(&gst::Sample) -> bool) -> gst::Sample {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(err) = gwd_tests::bus_error(&lobby.pipeline) {
            panic!("pipeline error: {err}");
        }
        if let Some(sample) = lobby
            .sink
            .try_pull_sample(gst::ClockTime::from_mseconds(200))
            && pred(&sample)
        {
            return sample;
        }
    }
    panic!("no matching sample within {WAIT:?}");
}

#[test]
fn yuv_frames_name_their_colorimetry_and_hold_the_clients_colours() {
    let full_709 = yuv_ref::Colorimetry::BT709_FULL;
    for (format, (w, h), extra, colorimetry, reference) in [
        ("I420", (320, 240), "", "bt601", yuv_ref::Colorimetry::BT601),
        (
            "NV12",
            (1280, 720),
            "",
            "bt709",
            yuv_ref::Colorimetry::BT709,
        ),
        (
            "NV12",
            (320, 240),
            ",colorimetry=(string)1:3:5:1",
            "1:3:5:1",
            full_709,
        ),
    ] {
        let what = format!("{format} {w}x{h} {colorimetry}");
        let caps =
            format!("video/x-raw,format={format},width={w},height={h},framerate=30/1{extra}");
        let lobby = Lobby::start("render-node=software", &caps);
        let client = lobby.client(CLIENT, &[]);
        client.expect_line(WAIT, &format!("drawn {w} {h}"));
        // The client's quadrants: red, green / blue, white.
        let quadrants = [
            (w / 4, h / 4, [0, 0, 255]),
            (3 * w / 4, h / 4, [0, 255, 0]),
            (w / 4, 3 * h / 4, [255, 0, 0]),
            (3 * w / 4, 3 * h / 4, [255, 255, 255]),
        ];
        let red = reference_yuv([0, 0, 255], reference);
        let sample = pull_until(&lobby, |s| {
            sample_yuv(s, w / 4, h / 4).0.abs_diff(red.0) <= 1
        });

        let caps = sample.caps().unwrap();
        let s = caps.structure(0).unwrap();
        assert_eq!(s.get::<&str>("format").unwrap(), format, "{what}");
        assert_eq!(s.get::<&str>("colorimetry").unwrap(), colorimetry, "{what}");
        assert_eq!(s.get::<&str>("chroma-site").unwrap(), "jpeg", "{what}");
        // Laid out as GStreamer's defaults, so a consumer that ignores the meta reads it
        // right.
        let info = gst_video::VideoInfo::from_caps(caps).unwrap();
        let buffer = sample.buffer().unwrap();
        let meta = buffer.meta::<gst_video::VideoMeta>().unwrap();
        let planes = info.n_planes() as usize;
        assert_eq!(meta.offset(), &info.offset()[..planes], "{what}");
        assert_eq!(meta.stride(), &info.stride()[..planes], "{what}");
        assert!(buffer.size() >= info.size(), "{what}");

        for (x, y, bgr) in quadrants {
            assert_pixel(&sample, (x, y), bgr, reference, &what);
        }
    }
}

/// The GPU conversion (GLES on llvmpipe with the shader asked for, composed so it converts
/// every frame) at an odd size: the last column and row have chroma blocks of their own
/// pixels only, which the texture's edge clamping gives (wrapping around would mix in the
/// far edge's colour).
#[test]
fn the_shader_converts_odd_sizes_to_their_edges() {
    let reference = yuv_ref::Colorimetry::BT601;
    let (w, h) = (161usize, 121usize);
    for format in ["I420", "NV12"] {
        let caps = format!("video/x-raw,format={format},width={w},height={h},framerate=30/1");
        let lobby = Lobby::start(
            "render-node=llvmpipe passthrough=false yuv-conversion=gpu",
            &caps,
        );
        let client = lobby.client(CLIENT, &[]);
        client.expect_line(WAIT, &format!("drawn {w} {h}"));
        let red = reference_yuv([0, 0, 255], reference);
        let sample = pull_until(&lobby, |s| sample_yuv(s, 1, 1).0.abs_diff(red.0) <= 1);
        // Red, green / blue, white; each corner pixel, the right column and the bottom row.
        for (x, y, bgr) in [
            (0, 0, [0, 0, 255]),
            (w - 1, 0, [0, 255, 0]),
            (w - 1, h / 4, [0, 255, 0]),
            (0, h - 1, [255, 0, 0]),
            (w / 4, h - 1, [255, 0, 0]),
            (w - 1, h - 1, [255, 255, 255]),
        ] {
            assert_pixel(
                &sample,
                (x, y),
                bgr,
                reference,
                &format!("{format} {w}x{h}"),
            );
        }
    }
}

#[test]
fn an_encoder_links_straight_to_the_element() {
    let lobby = Lobby::start_launch(
        "waylanddisplaysrc name=src render-node=software ! \
         video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc tune=zerolatency speed-preset=ultrafast ! appsink name=sink",
    );
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    let sample = pull_until(&lobby, |s| s.buffer().is_some_and(|b| b.size() > 0));
    let h264 = sample
        .caps()
        .unwrap()
        .structure(0)
        .unwrap()
        .name()
        .to_string();
    assert_eq!(h264, "video/x-h264");
    let caps = lobby.src.static_pad("src").unwrap().current_caps().unwrap();
    let s = caps.structure(0).unwrap();
    assert_eq!(s.get::<&str>("format").unwrap(), "I420", "{caps}");
    assert_eq!(s.get::<&str>("colorimetry").unwrap(), "bt601", "{caps}");
}

/// The `snapshot` action signal gives the picture in RGB, exact, while the stream is YUV.
#[test]
fn a_snapshot_is_the_exact_rgb_picture_of_a_yuv_stream() {
    let lobby = Lobby::start(
        "render-node=software",
        "video/x-raw,format=NV12,width=320,height=240,framerate=30/1",
    );
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    let red = reference_yuv([0, 0, 255], yuv_ref::Colorimetry::BT601);
    pull_until(&lobby, |s| sample_yuv(s, 80, 60).0.abs_diff(red.0) <= 1);
    let sample = lobby
        .src
        .emit_by_name::<Option<gst::Sample>>(gstwaylanddisplaysrc::SNAPSHOT_SIGNAL, &[])
        .expect("a snapshot");
    let frame = gwd_tests::VideoFrame::from_sample(&sample);
    assert_eq!(frame.format, "BGRx");
    assert_eq!((frame.width, frame.height), (320, 240));
    for (x, y, rgb) in [
        (80, 60, (255, 0, 0)),
        (240, 60, (0, 255, 0)),
        (80, 180, (0, 0, 255)),
        (240, 180, (255, 255, 255)),
    ] {
        assert_eq!(frame.rgb(x, y), rgb, "at ({x},{y})");
    }
    // The stream goes on.
    pull_until(&lobby, |s| sample_yuv(s, 80, 60).0.abs_diff(red.0) <= 1);
}
