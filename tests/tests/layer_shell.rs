//! wlr-layer-shell with real clients: our `wayland-layer-client` (panels, overlays,
//! keyboard-exclusive launchers, hostile requests) and Debian's `swaybg` (a background),
//! stacked with the test client's maximized or fixed-size toplevel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use gwd_tests::{ChildGuard, Lobby};
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{
    DisplayConfig, Frame, FrameSource, OutputFormat, RenderTarget, VideoMode, WaylandDisplay,
};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const LAYER: &str = env!("CARGO_BIN_EXE_wayland-layer-client");
const WAIT: Duration = Duration::from_secs(15);

const RED: (u8, u8, u8) = (255, 0, 0);
const GREEN: (u8, u8, u8) = (0, 255, 0);
const BLUE: (u8, u8, u8) = (0, 0, 255);

fn caps(w: u32, h: u32) -> String {
    format!("video/x-raw,format=BGRx,width={w},height={h},framerate=30/1")
}

/// A lobby showing a red maximized toplevel of 640x480.
fn lobby_with_red_window() -> (Lobby, ChildGuard) {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let window = lobby.client(CLIENT, &["--pattern", "solid:ff0000"]);
    window.expect_line(WAIT, "drawn 640 480");
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == RED);
    (lobby, window)
}

fn key(lobby: &Lobby, code: u32, pressed: bool) {
    let event = gst::Structure::builder("KeyboardKey")
        .field("key", code)
        .field("pressed", pressed)
        .build();
    assert!(lobby.send_input(event), "event not handled");
}

#[test]
fn a_panel_is_drawn_above_the_window_and_its_exclusive_zone_shrinks_it() {
    let (lobby, window) = lobby_with_red_window();
    let panel = lobby.client(
        LAYER,
        &[
            "--layer",
            "top",
            "--anchor",
            "top,left,right",
            "--size",
            "0x40",
            "--exclusive",
            "40",
            "--colour",
            "0000ff",
        ],
    );
    panel.expect_line(WAIT, "layer configure 640 40");
    panel.expect_line(WAIT, "layer drawn 640 40");
    // The maximized window gets what the zone leaves, and sits below the panel.
    window.expect_line(WAIT, "toplevel configure 640 440");
    window.expect_line(WAIT, "drawn 640 440");
    let frame = lobby.frame_until(WAIT, |f| {
        f.rgb(320, 20) == BLUE && f.rgb(320, 41) == RED && f.rgb(0, 479) == RED
    });
    assert_eq!(frame.rgb(639, 39), BLUE, "the panel spans the top edge");

    // The zone goes with the panel: the window is maximized to the whole output again.
    drop(panel);
    window.expect_line(WAIT, "toplevel configure 640 480");
    window.expect_line(WAIT, "drawn 640 480");
    lobby.frame_until(WAIT, |f| f.rgb(320, 20) == RED && f.rgb(320, 479) == RED);
}

#[test]
fn an_overlay_without_a_zone_covers_the_window_without_moving_it() {
    let (lobby, window) = lobby_with_red_window();
    let overlay = lobby.client(
        LAYER,
        &[
            "--layer", "overlay", "--anchor", "bottom", "--size", "200x50", "--colour", "00ff00",
        ],
    );
    overlay.expect_line(WAIT, "layer configure 200 50");
    // Centred along the bottom edge, over the window.
    let frame = lobby.frame_until(WAIT, |f| f.rgb(320, 455) == GREEN);
    assert_eq!(frame.rgb(219, 455), RED, "left of the overlay");
    assert_eq!(frame.rgb(420, 455), RED, "right of the overlay");
    assert_eq!(frame.rgb(320, 429), RED, "above the overlay");
    assert!(
        window
            .drain_lines()
            .iter()
            .all(|l| !l.starts_with("toplevel configure")
                || l.starts_with("toplevel configure 640 480")),
        "a surface without a zone leaves the window's size alone"
    );
}

#[test]
fn swaybg_shows_around_a_fixed_size_window_and_below_it() {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let _bg = lobby.client("swaybg", &["-c", "#0000ff"]);
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == BLUE && f.rgb(0, 0) == BLUE);
    let window = lobby.client(
        CLIENT,
        &[
            "--pattern",
            "solid:ff0000",
            "--size",
            "200x100",
            "--min-max",
        ],
    );
    window.expect_line(WAIT, "drawn 200 100");
    // The window is centred over the background, which shows all around it.
    let frame = lobby.frame_until(WAIT, |f| f.rgb(320, 240) == RED);
    for (x, y) in [(0, 0), (639, 479), (219, 240), (420, 240), (320, 189)] {
        assert_eq!(frame.rgb(x, y), BLUE, "the background at ({x},{y})");
    }
    assert_eq!(frame.rgb(221, 191), RED, "the window's corner");
}

#[test]
fn an_exclusive_keyboard_layer_takes_the_keys_until_it_goes() {
    let (lobby, window) = lobby_with_red_window();
    window.expect_line(WAIT, "keyboard enter");
    let launcher = lobby.client(
        LAYER,
        &[
            "--layer",
            "top",
            "--size",
            "300x200",
            "--keyboard",
            "exclusive",
            "--colour",
            "00ff00",
        ],
    );
    launcher.expect_line(WAIT, "layer drawn 300 200");
    launcher.expect_line(WAIT, "keyboard enter");
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == GREEN);
    key(&lobby, 30, true);
    key(&lobby, 30, false);
    launcher.expect_line(WAIT, "keyboard key 30 pressed");
    launcher.expect_line(WAIT, "keyboard key 30 released");
    assert!(
        window
            .drain_lines()
            .iter()
            .all(|l| !l.starts_with("key 30")),
        "the window got a key while the launcher held the keyboard"
    );

    drop(launcher);
    window.expect_line(WAIT, "keyboard enter");
    key(&lobby, 31, true);
    window.expect_line(WAIT, "key 31 pressed");
}

#[test]
fn hostile_layer_requests_get_protocol_errors_and_the_lobby_goes_on() {
    let (lobby, window) = lobby_with_red_window();
    // Anchor bits the protocol does not define: zwlr_layer_surface_v1.invalid_anchor (2).
    let mut bad_anchor = lobby.client(LAYER, &["--raw-anchor", "99", "--size", "10x10"]);
    let line = bad_anchor.expect_line(WAIT, "protocol error");
    assert!(
        line.contains("zwlr_layer_surface_v1") && line.contains(" 2:"),
        "{line}"
    );
    assert!(!bad_anchor.wait_exit(WAIT).expect("client ended").success());

    // A zero size needs anchors on both opposite edges: invalid_size (1).
    let mut zero = lobby.client(LAYER, &["--size", "0x0"]);
    let line = zero.expect_line(WAIT, "protocol error");
    assert!(
        line.contains("zwlr_layer_surface_v1") && line.contains(" 1:"),
        "{line}"
    );
    assert!(!zero.wait_exit(WAIT).expect("client ended").success());

    // Sizes and zones past any output are bounded, not summed into overflows: the zone
    // leaves nothing, so the window keeps the whole output.
    let huge = lobby.client(
        LAYER,
        &[
            "--anchor",
            "top,left,right",
            "--size",
            "4294967295x4294967295",
            "--exclusive",
            "2147483647",
            "--colour",
            "0000ff",
        ],
    );
    huge.expect_line(WAIT, "layer drawn 640 480");
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == BLUE);
    drop(huge);

    // The lobby goes on: the window is shown and gets input.
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == RED);
    key(&lobby, 32, true);
    window.expect_line(WAIT, "key 32 pressed");
}

/// A compositor without GStreamer, with the pass-through path on, showing `w`x`h`.
fn display(dir: &Path, w: u32, h: u32) -> WaylandDisplay {
    WaylandDisplay::new(DisplayConfig {
        socket: SocketSpec::auto().in_dir(dir),
        render_target: RenderTarget::Software,
        mode: VideoMode {
            width: w,
            height: h,
            refresh_mhz: 60_000,
        },
        passthrough: true,
        ..DisplayConfig::default()
    })
    .unwrap()
}

fn frame_until(display: &WaylandDisplay, what: &str, pred: impl Fn(&Frame) -> bool) -> Frame {
    gwd_tests::display_frame_until(display, WAIT, what, pred)
}

/// A pixel of a BGRx frame as (R, G, B).
fn rgb(frame: &Frame, x: u32, y: u32) -> (u8, u8, u8) {
    let [b, g, r, _] = frame.pixel(x, y).unwrap();
    (r, g, b)
}

#[test]
fn a_layer_surface_turns_the_pass_through_copy_into_a_composition_while_it_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let display = display(dir.path(), 320, 240);
    let run = |program: &str, args: &[&str]| {
        gwd_tests::client(program, args, dir.path(), display.socket_name())
    };
    let window = run(CLIENT, &["--pattern", "solid:ff0000"]);
    window.expect_line(WAIT, "drawn 320 240");
    frame_until(&display, "copied from the window", |f| {
        f.source == FrameSource::ClientBuffer && rgb(f, 160, 10) == RED
    });

    let overlay = run(
        LAYER,
        &["--layer", "overlay", "--anchor", "top", "--size", "100x20"],
    );
    overlay.expect_line(WAIT, "layer drawn 100 20");
    let frame = frame_until(&display, "with the overlay", |f| rgb(f, 160, 10) == GREEN);
    assert_eq!(frame.source, FrameSource::Composed);
    assert_eq!(rgb(&frame, 160, 30), RED, "the window below the overlay");

    drop(overlay);
    frame_until(&display, "copied again once the overlay went", |f| {
        f.source == FrameSource::ClientBuffer && rgb(f, 160, 10) == RED
    });
}

#[test]
fn a_mode_change_arranges_the_layers_and_the_usable_area_again() {
    let dir = tempfile::tempdir().unwrap();
    let display = display(dir.path(), 320, 240);
    let run = |program: &str, args: &[&str]| {
        gwd_tests::client(program, args, dir.path(), display.socket_name())
    };
    let window = run(CLIENT, &["--pattern", "solid:ff0000"]);
    window.expect_line(WAIT, "drawn 320 240");
    let panel = run(
        LAYER,
        &[
            "--anchor",
            "bottom,left,right",
            "--size",
            "0x30",
            "--exclusive",
            "30",
            "--colour",
            "0000ff",
        ],
    );
    panel.expect_line(WAIT, "layer drawn 320 30");
    window.expect_line(WAIT, "drawn 320 210");

    let mode = VideoMode {
        width: 400,
        height: 300,
        refresh_mhz: 60_000,
    };
    display.set_mode(mode, OutputFormat::Bgrx).unwrap();
    // The panel spans the new width at the new bottom; the window gets what it leaves.
    panel.expect_line(WAIT, "layer drawn 400 30");
    window.expect_line(WAIT, "drawn 400 270");
    let frame = frame_until(&display, "in the new mode", |f| {
        f.width == 400 && rgb(f, 399, 299) == BLUE && rgb(f, 399, 269) == RED
    });
    assert_eq!(rgb(&frame, 0, 270), BLUE, "the panel's left end");
    assert_eq!(rgb(&frame, 0, 0), RED, "the window's top left");
}

#[test]
fn a_panel_unmapped_by_a_null_buffer_gives_its_zone_back_until_mapped_again() {
    let (lobby, window) = lobby_with_red_window();
    let panel = lobby.client(
        LAYER,
        &[
            "--anchor",
            "top,left,right",
            "--size",
            "0x40",
            "--exclusive",
            "40",
            "--colour",
            "0000ff",
            "--unmap-when-shown",
        ],
    );
    window.expect_line(WAIT, "toplevel configure 640 440");
    panel.expect_line(WAIT, "layer unmapped");
    // The client still holds its layer surface; only the buffer went.
    window.expect_line(WAIT, "toplevel configure 640 480");
    // Its initial commit again gets a first configure again, and the zone comes back.
    panel.expect_line(WAIT, "layer configure 640 40");
    panel.expect_line(WAIT, "layer drawn 640 40");
    window.expect_line(WAIT, "toplevel configure 640 440");
    lobby.frame_until(WAIT, |f| f.rgb(320, 20) == BLUE && f.rgb(320, 41) == RED);
}
