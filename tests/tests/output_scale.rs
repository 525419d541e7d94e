//! The output's scale (element property `scale`, `DisplayConfig::scale`): clients lay out
//! at the mode divided by it and learn it from `wl_output.scale`,
//! `wl_surface.preferred_buffer_scale` and fractional-scale-v1; a buffer drawn at the
//! output's pixels is shown pixel for pixel (and copied, on the pass-through path), one
//! drawn at the logical size is scaled up; input positions in stream pixels reach clients
//! in their own coordinates; `grim` captures in output pixels, regions given in logical
//! coordinates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gst::prelude::*;
use gwd_tests::{ChildGuard, Lobby, decode_rgb, run};
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{
    DisplayConfig, Frame, FrameSource, InputEvent, OutputScale, RenderTarget, VideoMode,
    WaylandDisplay,
};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);

// The test client's quadrants, as the frame's (B, G, R).
const RED: [u8; 3] = [0, 0, 255];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [255, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

fn start(dir: &Path, scale: f64, (width, height): (u32, u32), passthrough: bool) -> WaylandDisplay {
    WaylandDisplay::new(DisplayConfig {
        socket: SocketSpec::auto().in_dir(dir),
        render_target: RenderTarget::Software,
        mode: VideoMode {
            width,
            height,
            refresh_mhz: 60_000,
        },
        scale: OutputScale::new(scale).unwrap(),
        passthrough,
        ..DisplayConfig::default()
    })
    .unwrap()
}

fn client(display: &WaylandDisplay, dir: &Path, args: &[&str]) -> ChildGuard {
    gwd_tests::client(CLIENT, args, dir, display.socket_name())
}

fn bgr(frame: &Frame, x: u32, y: u32) -> [u8; 3] {
    let [b, g, r, _] = frame.pixel(x, y).unwrap();
    [b, g, r]
}

fn frame_until(display: &WaylandDisplay, what: &str, pred: impl Fn(&Frame) -> bool) -> Frame {
    gwd_tests::display_frame_until(display, WAIT, what, pred)
}

/// Asserts the quadrants of a window covering the output split at (`sx`, `sy`) output
/// pixels: the corners, and the pixels `margin` away from each split on either side (0:
/// the pixels next to it; a window scaled up blends the few in between).
fn assert_quadrants(frame: &Frame, (sx, sy): (u32, u32), margin: u32, what: &str) {
    let (w, h) = (frame.width, frame.height);
    let (before_x, before_y) = (sx - 1 - margin, sy - 1 - margin);
    let (after_x, after_y) = (sx + margin, sy + margin);
    for (x, y, want) in [
        (0, 0, RED),
        (before_x, before_y, RED),
        (after_x, 0, GREEN),
        (w - 1, before_y, GREEN),
        (0, after_y, BLUE),
        (before_x, h - 1, BLUE),
        (after_x, after_y, WHITE),
        (w - 1, h - 1, WHITE),
    ] {
        assert_eq!(bgr(frame, x, y), want, "{what}: pixel ({x},{y})");
    }
}

#[test]
fn a_client_that_ignores_the_scale_is_laid_out_small_and_drawn_large() {
    let dir = tempfile::tempdir().unwrap();
    let display = start(dir.path(), 2.0, (640, 480), true);
    let client = client(&display, dir.path(), &[]);
    client.expect_line(WAIT, "output scale 2");
    client.expect_line(WAIT, "toplevel configure 320 240");
    client.expect_line(WAIT, "drawn 320 240");
    let frame = frame_until(&display, "with the window", |f| bgr(f, 639, 479) == WHITE);
    // A 320x240 buffer at scale 1 cannot be copied: it is drawn twice as large.
    assert_eq!(frame.source, FrameSource::Composed);
    assert_quadrants(&frame, (320, 240), 2, "scaled up");
}

#[test]
fn a_buffer_at_the_output_scale_is_shown_pixel_for_pixel_on_both_paths() {
    let frames: Vec<Frame> = [true, false]
        .into_iter()
        .map(|passthrough| {
            let dir = tempfile::tempdir().unwrap();
            let display = start(dir.path(), 2.0, (640, 480), passthrough);
            let client = client(&display, dir.path(), &["--scale", "buffer"]);
            client.expect_line(WAIT, "preferred buffer scale 2");
            client.expect_line(WAIT, "drawn buffer 640 480");
            frame_until(&display, "with the window", |f| bgr(f, 639, 479) == WHITE);
            // The cursor is drawn at the scale too: the arrow's pixels are 2x2.
            display
                .input(InputEvent::MouseMoveAbsolute {
                    pointer_x: 101.0,
                    pointer_y: 101.0,
                })
                .unwrap();
            client.expect_line(WAIT, "pointer enter 50.5 50.5");
            let frame = frame_until(&display, "with the cursor", |f| bgr(f, 102, 102) == [0; 3]);
            let source = if passthrough {
                FrameSource::ClientBuffer
            } else {
                FrameSource::Composed
            };
            assert_eq!(frame.source, source, "passthrough={passthrough}");
            // The buffer's own edges, exactly: one buffer pixel per output pixel.
            let what = format!("passthrough={passthrough}");
            assert_quadrants(&frame, (320, 240), 0, &what);
            assert_eq!(bgr(&frame, 319, 0), RED, "{what}");
            // The arrow's tip, its hotspot, on the pointer: black, 2x2 output pixels per
            // arrow pixel, the pattern right of its outline.
            for (x, y) in [(101, 101), (102, 102), (101, 104), (102, 103)] {
                assert_eq!(bgr(&frame, x, y), [0; 3], "{what}: arrow at ({x},{y})");
            }
            assert_eq!(bgr(&frame, 103, 101), RED, "{what}: beside the arrow");
            drop(client);
            frame
        })
        .collect();
    let (copied, composed) = (&frames[0], &frames[1]);
    for y in 0..480 {
        for x in 0..640 {
            assert_eq!(
                bgr(copied, x, y),
                bgr(composed, x, y),
                "pass-through and composition differ at ({x},{y})"
            );
        }
    }
}

#[test]
fn a_fractional_scale_client_draws_the_output_pixels_through_a_viewport() {
    let dir = tempfile::tempdir().unwrap();
    // 960x720 at 1.5: a 640x480 desktop.
    let display = start(dir.path(), 1.5, (960, 720), true);
    let client = client(&display, dir.path(), &["--scale", "fractional"]);
    client.expect_line(WAIT, "fractional scale 180");
    client.expect_line(WAIT, "toplevel configure 640 480");
    client.expect_line(WAIT, "drawn buffer 960 720");
    let frame = frame_until(&display, "copied from the client", |f| {
        f.source == FrameSource::ClientBuffer && bgr(f, 959, 719) == WHITE
    });
    assert_quadrants(&frame, (480, 360), 0, "fractional");
}

#[test]
fn input_in_stream_pixels_reaches_clients_in_their_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let display = start(dir.path(), 2.0, (640, 480), true);
    let client = client(&display, dir.path(), &[]);
    client.expect_line(WAIT, "drawn 320 240");
    frame_until(&display, "with the window", |f| bgr(f, 639, 479) == WHITE);
    display
        .input(InputEvent::MouseMoveAbsolute {
            pointer_x: 200.0,
            pointer_y: 100.0,
        })
        .unwrap();
    client.expect_line(WAIT, "pointer enter 100.0 50.0");
    // Relative motion is a distance the user moved, in the layout's units.
    display
        .input(InputEvent::MouseMoveRelative {
            pointer_x: 10.0,
            pointer_y: 0.0,
        })
        .unwrap();
    client.expect_line(WAIT, "pointer motion 110.0 50.0");
    // Touch is normalised to the output: its middle is the middle of the layout.
    display
        .input(InputEvent::TouchDown {
            id: 3,
            x: 0.5,
            y: 0.25,
        })
        .unwrap();
    client.expect_line(WAIT, "touch down 3 160.0 60.0");
}

#[test]
fn a_scale_change_reaches_running_clients() {
    let dir = tempfile::tempdir().unwrap();
    let display = start(dir.path(), 1.0, (640, 480), true);
    let client = client(&display, dir.path(), &["--scale", "buffer"]);
    client.expect_line(WAIT, "toplevel configure 640 480");
    client.expect_line(WAIT, "drawn 640 480");
    display.set_scale(OutputScale::new(2.0).unwrap()).unwrap();
    client.expect_line(WAIT, "output scale 2");
    client.expect_line(WAIT, "preferred buffer scale 2");
    client.expect_line(WAIT, "toplevel configure 320 240");
    client.expect_line(WAIT, "drawn buffer 640 480");
    let frame = frame_until(&display, "copied at the new scale", |f| {
        f.source == FrameSource::ClientBuffer && bgr(f, 639, 479) == WHITE
    });
    assert_quadrants(&frame, (320, 240), 0, "after the change");
}

#[test]
fn scales_out_of_range_are_refused() {
    for bad in [0.0, 0.5, 4.5, f64::NAN, f64::INFINITY, -1.0] {
        assert!(OutputScale::new(bad).is_err(), "{bad} accepted");
    }
    assert_eq!(OutputScale::new(1.2501).unwrap().get(), 1.25);
    assert_eq!("2".parse::<OutputScale>().unwrap().get(), 2.0);
    assert!("two".parse::<OutputScale>().is_err());
}

/// `wayland-info`'s output, run in `lobby`.
fn wayland_info(lobby: &Lobby) -> String {
    let mut cmd = Command::new("wayland-info");
    cmd.env("WAYLAND_DISPLAY", &lobby.socket)
        .env("XDG_RUNTIME_DIR", &lobby.dir);
    let out = run(cmd, WAIT);
    assert!(out.status.success(), "wayland-info failed: {}", out.all());
    out.all()
}

#[test]
fn the_elements_scale_property_lays_out_the_lobby_and_grim_captures_its_pixels() {
    let lobby = Lobby::start(
        "render-node=software scale=2",
        "video/x-raw,format=BGRx,width=640,height=480,framerate=30/1",
    );
    assert_eq!(lobby.src.property::<f64>("scale"), 2.0);
    let info = wayland_info(&lobby);
    assert!(info.contains("wp_fractional_scale_manager_v1"), "{info}");
    let squeezed: String = info.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        squeezed.contains("scale: 2"),
        "no output scale 2 in: {info}"
    );
    assert!(
        squeezed.contains("logical_width: 320, logical_height: 240"),
        "no 320x240 logical size in: {info}"
    );

    let client = lobby.client(CLIENT, &["--scale", "buffer"]);
    client.expect_line(WAIT, "drawn buffer 640 480");
    lobby.frame_until(WAIT, |f| f.rgb(639, 479) == (255, 255, 255));

    let out_dir = gwd_tests::private_dir("gwd-grim-scale");
    let grim = |args: &[&str], name: &str| {
        let png = out_dir.path().join(name);
        let mut cmd = Command::new("grim");
        cmd.args(args)
            .arg(&png)
            .env("WAYLAND_DISPLAY", &lobby.socket)
            .env("XDG_RUNTIME_DIR", &lobby.dir);
        let out = run(cmd, WAIT);
        assert!(out.status.success(), "grim {args:?}: {}", out.all());
        decode_rgb(&png)
    };
    let whole = grim(&[], "whole.png");
    assert_eq!(whole.size(), (640, 480));
    assert_eq!(whole.pixel(319, 239), (255, 0, 0));
    assert_eq!(whole.pixel(320, 240), (255, 255, 255));
    // grim's region is in the output's logical coordinates (xdg-output): the picture
    // holds its output pixels, twice as many each way.
    let region = grim(&["-g", "150,110 20x20"], "region.png");
    assert_eq!(region.size(), (40, 40));
    assert_eq!(region.pixel(0, 0), (255, 0, 0));
    assert_eq!(region.pixel(19, 19), (255, 0, 0));
    assert_eq!(region.pixel(20, 19), (0, 255, 0));
    assert_eq!(region.pixel(19, 20), (0, 0, 255));
    assert_eq!(region.pixel(39, 39), (255, 255, 255));
}
