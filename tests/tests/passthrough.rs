//! The pass-through path (a frame copied from the one client buffer covering the output)
//! gives exactly the picture composition gives: every frame of a client that damages only
//! a moving band of its buffer, under a moving cursor, is checked pixel by pixel against
//! the picture computed here, with the path on and off, on Pixman and on GLES (llvmpipe).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use gwd_tests::band_client::{H, W, expected, frame_at};
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{
    DisplayConfig, Frame, FrameSource, RenderTarget, VideoMode, WaylandDisplay, builtin_cursor,
};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);
fn counter(frame: &Frame) -> u32 {
    let [b, g, r, _] = frame.pixel(0, 0).unwrap();
    u32::from(b) | u32::from(g) << 8 | u32::from(r) << 16
}

/// The first pixel that differs, as (x, y, got, wanted).
fn first_difference(frame: &Frame, want: &[[u8; 3]]) -> Option<(i32, i32, [u8; 3], [u8; 3])> {
    let data = frame.data();
    for y in 0..H {
        let row = &data[(y as u32 * frame.stride) as usize..];
        for x in 0..W {
            let got = [
                row[x as usize * 4],
                row[x as usize * 4 + 1],
                row[x as usize * 4 + 2],
            ];
            let wanted = want[(y * W + x) as usize];
            if got != wanted {
                return Some((x, y, got, wanted));
            }
        }
    }
    None
}

fn start(dir: &Path, target: RenderTarget, compose_always: bool) -> WaylandDisplay {
    WaylandDisplay::new(DisplayConfig {
        socket: SocketSpec::auto().in_dir(dir),
        render_target: target,
        mode: VideoMode {
            width: W as u32,
            height: H as u32,
            refresh_mhz: 60_000,
        },
        passthrough: !compose_always,
        ..DisplayConfig::default()
    })
    .unwrap()
}

fn frame_until(display: &WaylandDisplay, what: &str, pred: impl Fn(&Frame) -> bool) -> Frame {
    gwd_tests::display_frame_until(display, WAIT, what, pred)
}

/// Takes `count` frames, moving the pointer before each, and checks every one. Returns the
/// distinct client frames seen.
fn check_frames(display: &WaylandDisplay, count: u32, source: FrameSource, what: &str) -> usize {
    let arrow = builtin_cursor();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..count {
        let (pointer, frame) = frame_at(display, i);
        let n = counter(&frame);
        assert_eq!(frame.source, source, "{what}: frame {i} (client frame {n})");
        if let Some((x, y, got, wanted)) = first_difference(&frame, &expected(n, pointer, &arrow)) {
            panic!(
                "{what}: frame {i} (client frame {n}, pointer {pointer:?}) differs at ({x},{y}): \
                 got {got:?}, want {wanted:?}"
            );
        }
        seen.insert(n);
        // Time for the client to draw its next frame, so most frames show a new one.
        std::thread::sleep(Duration::from_millis(3));
    }
    seen.len()
}

fn exact_frames(target: RenderTarget, compose_always: bool) {
    let what = format!("{target:?}, compose_always={compose_always}");
    let dir = tempfile::tempdir().unwrap();
    let display = start(dir.path(), target, compose_always);
    let client = gwd_tests::client(
        CLIENT,
        &["--animate", "--damage", "band"],
        dir.path(),
        display.socket_name(),
    );
    client.expect_line(WAIT, "drawn 320 240");
    frame_until(&display, "from the client", |f| counter(f) > 0);

    let source = if compose_always {
        FrameSource::Composed
    } else {
        FrameSource::ClientBuffer
    };
    let distinct = check_frames(&display, 120, source, &what);
    assert!(
        distinct >= 30,
        "{what}: only {distinct} client frames shown"
    );

    // A second window: composition takes over; when it goes, pass-through resumes (into
    // images last filled by composition) and stays exact.
    let other = gwd_tests::client(
        CLIENT,
        &["--pattern", "solid:808080"],
        dir.path(),
        display.socket_name(),
    );
    other.expect_line(WAIT, "drawn");
    frame_until(&display, "with the second window", |f| {
        f.pixel(100, 100).is_some_and(|p| p[..3] == [0x80; 3])
    });
    let frame = display.frame().unwrap();
    assert_eq!(frame.source, FrameSource::Composed, "{what}: two windows");
    drop(other);
    frame_until(&display, "after the second window went", |f| {
        f.pixel(100, 100).is_some_and(|p| p[..3] != [0x80; 3])
    });
    check_frames(
        &display,
        40,
        source,
        &format!("{what}, after a second window"),
    );
}

#[test]
fn passthrough_frames_are_exact_on_pixman() {
    exact_frames(RenderTarget::Software, false);
}

#[test]
fn composed_frames_are_exact_on_pixman() {
    exact_frames(RenderTarget::Software, true);
}

#[test]
fn passthrough_frames_are_exact_on_gles() {
    exact_frames(RenderTarget::SoftwareGl, false);
}

#[test]
fn composed_frames_are_exact_on_gles() {
    exact_frames(RenderTarget::SoftwareGl, true);
}
