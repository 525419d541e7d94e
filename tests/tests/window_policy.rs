//! The window policy (`comp/policy.rs`) with real clients: maximized or fullscreen
//! toplevels, dialogs centred over their parent, surfaces smaller than the output centred
//! on black or scaled to fit it (with input mapped back), and the mode an app sees first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use gst::prelude::*;
use gwd_tests::{ChildGuard, Lobby, VideoFrame, target_dir};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);
/// mpv takes its time to start in a loaded debug run.
const MPV_WAIT: Duration = Duration::from_secs(40);

const BLACK: (u8, u8, u8) = (0, 0, 0);
const RED: (u8, u8, u8) = (255, 0, 0);
const GREEN: (u8, u8, u8) = (0, 255, 0);
const BLUE: (u8, u8, u8) = (0, 0, 255);
const WHITE: (u8, u8, u8) = (255, 255, 255);

fn caps(w: u32, h: u32) -> String {
    format!("video/x-raw,format=BGRx,width={w},height={h},framerate=30/1")
}

/// The first line the client printed that starts with `prefix`.
fn first_line(client: &ChildGuard, prefix: &str) -> String {
    client
        .wait_line(WAIT, |l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line"))
}

/// Reddish, as a video player's YUV red comes back in RGB.
fn is_red(frame: &VideoFrame, x: u32, y: u32) -> bool {
    let (r, g, b) = frame.rgb(x, y);
    r > 200 && g < 60 && b < 60
}

#[test]
fn a_toplevel_is_maximized_by_default_and_fullscreen_when_the_mode_says_so() {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let client = lobby.client(CLIENT, &[]);
    assert_eq!(
        first_line(&client, "toplevel configure"),
        "toplevel configure 640 480 maximized"
    );
    client.expect_line(WAIT, "drawn 640 480");
    drop(client);
    drop(lobby);

    let lobby = Lobby::start(
        "render-node=software window-mode=fullscreen",
        &caps(640, 480),
    );
    let client = lobby.client(CLIENT, &[]);
    assert_eq!(
        first_line(&client, "toplevel configure"),
        "toplevel configure 640 480 fullscreen"
    );
    client.expect_line(WAIT, "drawn 640 480");
}

#[test]
fn a_client_that_asks_for_fullscreen_gets_it() {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let client = lobby.client(CLIENT, &["--fullscreen"]);
    assert_eq!(
        first_line(&client, "toplevel configure"),
        "toplevel configure 640 480 fullscreen"
    );
}

#[test]
fn a_dialog_is_centred_over_its_parent_at_its_own_size() {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let client = lobby.client(CLIENT, &["--dialog", "200x100:00ff00"]);
    client.expect_line(WAIT, "drawn 640 480");
    // No size: a dialog chooses its own.
    assert!(
        first_line(&client, "dialog configure").starts_with("dialog configure 0 0"),
        "the dialog was given a size"
    );
    client.expect_line(WAIT, "dialog drawn 200 100");
    // 200x100 over the 640x480 parent: from (220, 190) to (420, 290), above it.
    let frame = lobby.frame_until(WAIT, |f| f.rgb(221, 191) == GREEN);
    for (x, y) in [(221, 191), (320, 240), (419, 289), (221, 289), (419, 191)] {
        assert_eq!(frame.rgb(x, y), GREEN, "inside the dialog at ({x},{y})");
    }
    // Around it, the parent's quadrants.
    for (x, y, colour) in [
        (215, 195, RED),
        (425, 285, WHITE),
        (225, 295, BLUE),
        (0, 0, RED),
        (639, 479, WHITE),
    ] {
        assert_eq!(frame.rgb(x, y), colour, "the parent at ({x},{y})");
    }
}

#[test]
fn focus_goes_to_a_new_dialog_and_back_to_its_parent_when_it_closes() {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let client = lobby.client(
        CLIENT,
        &["--dialog", "200x100:00ff00", "--dialog-close-on-key"],
    );
    client.expect_line(WAIT, "keyboard enter main");
    client.expect_line(WAIT, "dialog drawn 200 100");
    client.expect_line(WAIT, "keyboard enter dialog");
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == GREEN);
    let key = gst::Structure::builder("KeyboardKey")
        .field("key", 30u32)
        .field("pressed", true)
        .build();
    assert!(lobby.send_input(key), "event not handled");
    client.expect_line(WAIT, "dialog closed");
    client.expect_line(WAIT, "keyboard enter main");
    // The parent shows where the dialog was.
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == WHITE);
}

#[test]
fn a_fixed_size_window_keeps_its_size_centred_on_the_output() {
    let lobby = Lobby::start("render-node=software", &caps(640, 480));
    let client = lobby.client(CLIENT, &["--min-max", "--size", "200x100"]);
    // No size, no maximized state: min = max is the window's own size.
    assert_eq!(
        first_line(&client, "toplevel configure"),
        "toplevel configure 0 0 none"
    );
    client.expect_line(WAIT, "drawn 200 100");
    // From (220, 190) to (420, 290).
    let frame = lobby.frame_until(WAIT, |f| f.rgb(221, 191) == RED);
    assert_eq!(frame.rgb(419, 289), WHITE);
    assert_eq!(frame.rgb(10, 10), BLACK);
    assert_eq!(frame.rgb(219, 240), BLACK);
    assert_eq!(frame.rgb(320, 291), BLACK);
}

#[test]
fn a_fullscreen_surface_smaller_than_the_output_is_centred_on_black() {
    let lobby = Lobby::start(
        "render-node=software window-mode=fullscreen",
        &caps(1280, 720),
    );
    let client = lobby.client(CLIENT, &["--fixed", "--size", "480x360"]);
    client.expect_line(WAIT, "drawn 480 360");
    // 480x360 in 1280x720: from (400, 180) to (880, 540).
    let frame = lobby.frame_until(WAIT, |f| f.rgb(401, 181) == RED);
    assert_eq!(frame.rgb(879, 539), WHITE);
    assert_eq!(frame.rgb(10, 10), BLACK);
    assert_eq!(frame.rgb(399, 360), BLACK);
    assert_eq!(frame.rgb(640, 541), BLACK);
}

/// 480x360 scaled by 2 to 960x720, from (160, 0) to (1120, 720); black bars beside.
fn assert_quadrants_scaled_to_fit(frame: &VideoFrame, renderer: &str) {
    for (x, y, colour) in [
        (170, 10, RED),
        (630, 350, RED),
        (1110, 10, GREEN),
        (170, 710, BLUE),
        (1110, 710, WHITE),
        (650, 370, WHITE),
        (10, 360, BLACK),
        (150, 360, BLACK),
        (1130, 360, BLACK),
        (1270, 360, BLACK),
    ] {
        assert_eq!(frame.rgb(x, y), colour, "{renderer} at ({x},{y})");
    }
}

#[test]
fn scale_to_fit_draws_alike_with_gles() {
    let lobby = Lobby::start(
        "render-node=llvmpipe window-mode=fullscreen scale-to-fit=true",
        &caps(1280, 720),
    );
    let client = lobby.client(CLIENT, &["--fixed", "--size", "480x360"]);
    client.expect_line(WAIT, "drawn 480 360");
    let frame = lobby.frame_until(WAIT, |f| f.rgb(170, 10) == RED);
    assert_quadrants_scaled_to_fit(&frame, "llvmpipe");
}

#[test]
fn scale_to_fit_fills_the_height_and_maps_input_back_to_the_surface() {
    let lobby = Lobby::start(
        "render-node=software window-mode=fullscreen scale-to-fit=true",
        &caps(1280, 720),
    );
    let client = lobby.client(CLIENT, &["--fixed", "--size", "480x360"]);
    client.expect_line(WAIT, "drawn 480 360");
    let frame = lobby.frame_until(WAIT, |f| f.rgb(170, 10) == RED);
    assert_quadrants_scaled_to_fit(&frame, "software");

    // Output (360, 100) shows surface (100, 50).
    let pointer = gst::Structure::builder("MouseMoveAbsolute")
        .field("pointer_x", 360.0)
        .field("pointer_y", 100.0)
        .build();
    assert!(lobby.send_input(pointer), "event not handled");
    client.expect_line(WAIT, "pointer enter 100.0 50.0");
    let pointer = gst::Structure::builder("MouseMoveAbsolute")
        .field("pointer_x", 1119.0)
        .field("pointer_y", 719.0)
        .build();
    assert!(lobby.send_input(pointer), "event not handled");
    client.expect_line(WAIT, "pointer motion 479.5 359.5");
    // A touch at the output's (0.5, 0.25), (640, 180), lands on surface (240, 90).
    let touch = gst::Structure::builder("TouchDown")
        .field("id", 7u32)
        .field("x", 0.5)
        .field("y", 0.25)
        .build();
    assert!(lobby.send_input(touch), "event not handled");
    client.expect_line(WAIT, "touch down 7 240.0 90.0");
}

/// mpv's software output (`--vo=wlshm`) playing a test clip: it draws the clip's size
/// whatever it is configured to.
fn mpv(lobby: &Lobby, size: &str) -> ChildGuard {
    let source = format!("av://lavfi:color=c=red:size={size}:rate=30");
    lobby.client(
        "mpv",
        &[
            "--no-config",
            "--vo=wlshm",
            "--ao=null",
            "--loop=inf",
            "--really-quiet",
            "--osc=no",
            "--osd-level=0",
            "--hwdec=no",
            &source,
        ],
    )
}

#[test]
fn mpv_is_centred_on_black_at_its_size() {
    let lobby = Lobby::start("render-node=software", &caps(1280, 720));
    let _mpv = mpv(&lobby, "640x360");
    // 640x360 in 1280x720: from (320, 180) to (960, 540).
    let frame = lobby.frame_until(MPV_WAIT, |f| is_red(f, 640, 360));
    for (x, y) in [(325, 185), (955, 535), (640, 360)] {
        assert!(
            is_red(&frame, x, y),
            "inside at ({x},{y}): {:?}",
            frame.rgb(x, y)
        );
    }
    for (x, y) in [(10, 10), (310, 360), (970, 360), (640, 170), (640, 550)] {
        assert_eq!(frame.rgb(x, y), BLACK, "outside at ({x},{y})");
    }
}

#[test]
fn mpv_is_scaled_to_fit_the_height_with_black_bars() {
    let lobby = Lobby::start(
        "render-node=software window-mode=fullscreen scale-to-fit=true",
        &caps(1280, 720),
    );
    let _mpv = mpv(&lobby, "480x360");
    // 480x360 (4:3) scaled to 960x720: from (160, 0) to (1120, 720). (The outermost output
    // pixels blend with what is beyond the clip's edge: scaling filters.)
    let frame = lobby.frame_until(MPV_WAIT, |f| is_red(f, 640, 3) && is_red(f, 170, 360));
    for (x, y) in [(640, 3), (640, 716), (164, 360), (1115, 360)] {
        assert!(
            is_red(&frame, x, y),
            "inside at ({x},{y}): {:?}",
            frame.rgb(x, y)
        );
    }
    for (x, y) in [(10, 360), (150, 360), (1130, 360), (1270, 360)] {
        assert_eq!(frame.rgb(x, y), BLACK, "a bar at ({x},{y})");
    }
}

/// A process that keeps one core busy until its guard goes.
fn busy_loop() -> ChildGuard {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "while :; do :; done"]);
    ChildGuard::spawn(cmd)
}

#[test]
fn apps_see_the_lobby_mode_in_their_first_events_under_load() {
    let exe = target_dir().join("gst-wayland-display");
    assert!(
        exe.exists(),
        "{} missing: build the workspace",
        exe.display()
    );
    let _busy = [busy_loop(), busy_loop()];
    for run in 0..20 {
        let dir = gwd_tests::private_dir("gwd-policy-run");
        let mut cmd = Command::new(&exe);
        cmd.env("XDG_RUNTIME_DIR", dir.path())
            .args(["run", "--render-node", "software"])
            .args(["--width", "1280", "--height", "720", "--fps", "30"])
            .args(["--duration", "1", "--"])
            .arg(CLIENT);
        let out = gwd_tests::run(cmd, Duration::from_secs(60));
        let all = out.all();
        let first = |prefix: &str| {
            all.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("run {run}: no {prefix:?} line in:\n{all}"))
                .to_owned()
        };
        assert_eq!(
            first("output mode"),
            "output mode 1280 720 30000",
            "run {run}"
        );
        assert_eq!(
            first("toplevel configure"),
            "toplevel configure 1280 720 maximized",
            "run {run}"
        );
    }
}

#[test]
fn window_mode_takes_the_two_modes_and_keeps_its_value_on_anything_else() {
    gwd_tests::init();
    let src = gst::ElementFactory::make("waylanddisplaysrc")
        .build()
        .unwrap();
    assert_eq!(src.property::<String>("window-mode"), "maximized");
    assert!(!src.property::<bool>("scale-to-fit"));
    src.set_property("window-mode", "Fullscreen");
    assert_eq!(src.property::<String>("window-mode"), "fullscreen");
    // A property cannot refuse a value: a wrong one leaves the previous (and warns).
    src.set_property("window-mode", "tiled");
    assert_eq!(src.property::<String>("window-mode"), "fullscreen");
    // Empty is the default, as in lobby requests.
    src.set_property("window-mode", "");
    assert_eq!(src.property::<String>("window-mode"), "maximized");
    src.set_property("scale-to-fit", true);
    assert!(src.property::<bool>("scale-to-fit"));
}

/// The announcement waits for negotiation: at READY the socket exists but nothing is
/// announced; once playing, an app started on the announcement sees the negotiated mode
/// first, and one that connected early sees the default mode, then the negotiated one.
#[test]
fn the_socket_is_announced_once_the_mode_is_negotiated() {
    gwd_tests::init();
    let socket = format!("wayland-policy-early-{}", std::process::id());
    let pipeline = gst::parse::launch(&format!(
        "waylanddisplaysrc name=src render-node=software socket-name={socket} ! {} ! appsink name=sink",
        caps(1280, 720)
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Ready).unwrap();
    let early = bus.timed_pop_filtered(
        gst::ClockTime::from_mseconds(500),
        &[gst::MessageType::Application],
    );
    assert!(early.is_none(), "announced before negotiation: {early:?}");
    let dir = gwd_tests::runtime_dir();
    assert!(dir.join(&socket).exists(), "no socket at READY");
    let early_client = gwd_tests::client(CLIENT, &[], dir, &socket);
    assert_eq!(
        first_line(&early_client, "output mode"),
        "output mode 1920 1080 60000"
    );

    pipeline.set_state(gst::State::Playing).unwrap();
    let (announced, announced_dir) = gwd_tests::wait_for_socket(&bus, WAIT);
    assert_eq!(announced, socket);
    let client = gwd_tests::client(CLIENT, &[], &announced_dir, &announced);
    assert_eq!(
        first_line(&client, "output mode"),
        "output mode 1280 720 30000"
    );
    assert_eq!(
        first_line(&client, "toplevel configure"),
        "toplevel configure 1280 720 maximized"
    );
    // The early client is told the new mode and configured to it.
    early_client.expect_line(WAIT, "output mode 1280 720 30000");
    early_client.expect_line(WAIT, "toplevel configure 1280 720");
    pipeline.set_state(gst::State::Null).unwrap();
}

/// `run --window-mode --scale-to-fit` reach the element through the lobby's spec (the
/// path the host's `video_settings.window_mode` and `scale_to_fit` take too).
#[test]
fn run_takes_the_window_mode() {
    let exe = target_dir().join("gst-wayland-display");
    let dir = gwd_tests::private_dir("gwd-policy-run");
    let mut cmd = Command::new(&exe);
    cmd.env("XDG_RUNTIME_DIR", dir.path())
        .args(["run", "--render-node", "software"])
        .args(["--width", "640", "--height", "480", "--fps", "30"])
        .args(["--window-mode", "fullscreen", "--scale-to-fit"])
        .args(["--duration", "1", "--"])
        .arg(CLIENT);
    let out = gwd_tests::run(cmd, Duration::from_secs(60));
    let all = out.all();
    assert!(out.status.success(), "{all}");
    assert_eq!(
        all.lines().find(|l| l.starts_with("toplevel configure")),
        Some("toplevel configure 640 480 fullscreen"),
        "{all}"
    );

    let mut cmd = Command::new(&exe);
    cmd.args(["run", "--window-mode", "tiled", "--", "true"]);
    let out = gwd_tests::run(cmd, Duration::from_secs(60));
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("window mode \"tiled\""),
        "{}",
        out.stderr
    );
}
