//! The element under gstreamer-check's Harness: buffers, caps, metadata, timestamps and
//! upstream input events, without a pipeline around it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Once, OnceLock};

use gst::prelude::*;

fn init() {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
        // SAFETY: set once, before GStreamer or any other test in this process reads the
        // environment; the other tests wait on this Once.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.path()) };
        gst::init().unwrap();
        gstwaylanddisplaysrc::plugin_register_static().unwrap();
    });
}

fn harness(caps: &str) -> gst_check::Harness {
    init();
    let mut h = gst_check::Harness::new("waylanddisplaysrc");
    // The source is live and paced by the clock; the harness's test clock never advances
    // by itself.
    h.use_systemclock();
    h.set_sink_caps_str(caps);
    h.play();
    h
}

#[test]
fn buffers_have_the_negotiated_layout() {
    let mut h = harness("video/x-raw,format=RGBA,width=64,height=48,framerate=30/1");
    let buffer = h.pull().unwrap();
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
    assert_eq!((info.width(), info.height()), (64, 48));
    assert_eq!(info.format(), gst_video::VideoFormat::Rgba);

    assert_eq!(buffer.size(), 64 * 48 * 4);
    let meta = buffer.meta::<gst_video::VideoMeta>().unwrap();
    assert_eq!(
        (meta.width(), meta.height(), meta.stride()[0]),
        (64, 48, 256)
    );
    let map = buffer.map_readable().unwrap();
    // An empty output is opaque black.
    assert!(map.chunks_exact(4).all(|px| px == [0, 0, 0, 255]));
}

#[test]
fn timestamps_advance_by_the_frame_duration() {
    let mut h = harness("video/x-raw,width=32,height=32,framerate=50/1");
    let buffers: Vec<_> = (0..5).map(|_| h.pull().unwrap()).collect();
    for b in &buffers {
        assert_eq!(b.duration(), Some(gst::ClockTime::from_mseconds(20)));
    }
    for pair in buffers.windows(2) {
        assert!(
            pair[1].pts().unwrap() >= pair[0].pts().unwrap() + gst::ClockTime::from_mseconds(20)
        );
        assert_eq!(pair[1].offset(), pair[0].offset() + 1);
    }
}

#[test]
fn unchanged_frames_share_memory() {
    let mut h = harness("video/x-raw,width=32,height=32,framerate=100/1");
    let a = h.pull().unwrap();
    let b = h.pull().unwrap();
    let ptr = |b: &gst::Buffer| b.map_readable().unwrap().as_slice().as_ptr();
    assert_eq!(ptr(&a), ptr(&b));
}

#[test]
fn input_events_from_downstream_are_consumed() {
    let mut h = harness("video/x-raw,width=32,height=32,framerate=30/1");
    h.pull().unwrap();
    let event = |s: gst::Structure| gst::event::CustomUpstream::new(s);
    assert!(
        h.push_upstream_event(event(
            gst::Structure::builder("MouseMoveAbsolute")
                .field("pointer_x", 5.0)
                .field("pointer_y", 6.0)
                .build()
        ))
    );
    // Malformed: logged and dropped, but still recognised as ours.
    assert!(
        h.push_upstream_event(event(
            gst::Structure::builder("MouseButton")
                .field("button", 1u32)
                .build()
        ))
    );
    // Not an input event: BaseSrc's usual answer.
    assert!(!h.push_upstream_event(event(gst::Structure::builder("something-else").build())));
    h.pull().unwrap();
}

#[test]
fn renegotiation_changes_the_output_size() {
    let mut h = harness("video/x-raw,width=32,height=32,framerate=100/1");
    let mut last = h.pull().unwrap();
    for _ in 0..20 {
        last = h.pull().unwrap();
    }
    assert_eq!(last.size(), 32 * 32 * 4);
    h.set_sink_caps_str("video/x-raw,width=48,height=16,framerate=30/1");
    h.push_upstream_event(gst::event::Reconfigure::new());
    let mut resized = None;
    for _ in 0..10 {
        let buffer = h.pull().unwrap();
        if buffer.size() == 48 * 16 * 4 {
            resized = Some(buffer);
            break;
        }
    }
    let resized = resized.expect("no buffer of the new size");
    // Pacing restarts at the new rate from now, not from where the old run would be.
    let gap = resized.pts().unwrap() - last.pts().unwrap();
    assert!(
        gap < gst::ClockTime::from_mseconds(500),
        "next frame stamped {gap} later"
    );
}

#[test]
fn dmabuf_is_offered_only_when_a_gpu_renders() {
    for node in ["software", "llvmpipe"] {
        init();
        let mut h = gst_check::Harness::new("waylanddisplaysrc");
        h.element().unwrap().set_property("render-node", node);
        h.use_systemclock();
        h.set_sink_caps_str("video/x-raw,width=32,height=32,framerate=30/1");
        h.play();
        h.pull().unwrap();
        let src = h.element().unwrap().static_pad("src").unwrap();
        let caps = src.query_caps(None);
        assert!(!caps.is_empty());
        for features in caps.iter_with_features().map(|(_, f)| f) {
            assert!(!features.contains("memory:DMABuf"), "{node}: {caps}");
        }
    }
}
