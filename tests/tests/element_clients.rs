//! Real Wayland clients drawn through the element, exact pixels from our deterministic
//! client, and the element's input events arriving at a client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use gst::prelude::*;
use gwd_tests::{Lobby, VideoFrame};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);

const RED: (u8, u8, u8) = (255, 0, 0);
const GREEN: (u8, u8, u8) = (0, 255, 0);
const BLUE: (u8, u8, u8) = (0, 0, 255);
const WHITE: (u8, u8, u8) = (255, 255, 255);

fn caps(format: &str, w: u32, h: u32) -> String {
    format!("video/x-raw,format={format},width={w},height={h},framerate=30/1")
}

#[test]
fn test_client_pixels_are_exact_in_every_format() {
    for format in ["BGRx", "RGBx", "BGRA", "RGBA"] {
        let lobby = Lobby::start("render-node=software", &caps(format, 320, 240));
        let client = lobby.client(CLIENT, &[]);
        client.expect_line(WAIT, "drawn 320 240");
        let frame = lobby.frame_until(WAIT, |f| f.rgb(0, 0) == RED);
        assert_eq!(frame.format, format);
        for (x, y, expected) in [
            (0, 0, RED),
            (159, 119, RED),
            (160, 0, GREEN),
            (319, 119, GREEN),
            (0, 120, BLUE),
            (159, 239, BLUE),
            (160, 120, WHITE),
            (319, 239, WHITE),
        ] {
            assert_eq!(frame.rgb(x, y), expected, "{format} at ({x},{y})");
        }
        if format.ends_with('A') {
            let alpha = frame.data[3];
            assert_eq!(
                alpha, 255,
                "{format}: opaque client must give opaque output"
            );
        }
    }
}

#[test]
fn gles_on_llvmpipe_matches_pixman() {
    let mut frames = Vec::new();
    for node in ["software", "llvmpipe"] {
        let lobby = Lobby::start(&format!("render-node={node}"), &caps("BGRx", 320, 240));
        assert_eq!(
            lobby
                .src
                .property::<Option<String>>("render-node-in-use")
                .as_deref(),
            Some(node)
        );
        let client = lobby.client(CLIENT, &[]);
        client.expect_line(WAIT, "drawn 320 240");
        frames.push(lobby.frame_until(WAIT, |f| f.rgb(319, 239) == WHITE));
    }
    let (pixman, gles) = (&frames[0], &frames[1]);
    let mut worst = 0;
    for y in 0..240 {
        for x in 0..320 {
            let (a, b) = (pixman.rgb(x, y), gles.rgb(x, y));
            let diff =
                a.0.abs_diff(b.0)
                    .max(a.1.abs_diff(b.1))
                    .max(a.2.abs_diff(b.2));
            worst = worst.max(diff);
        }
    }
    assert!(
        worst <= 2,
        "GLES differs from Pixman by up to {worst} per channel"
    );
    assert_eq!(gles.rgb(0, 0), RED);
    assert_eq!(gles.rgb(160, 120), WHITE);
}

#[test]
fn empty_render_node_means_auto() {
    let lobby = Lobby::start("render-node=\"\"", &caps("BGRx", 64, 48));
    assert_eq!(
        lobby
            .src
            .property::<Option<String>>("render-node-in-use")
            .as_deref(),
        Some("software")
    );
    lobby.frame_until(WAIT, |_| true);
}

#[test]
fn resolution_change_reconfigures_the_client_without_restart() {
    let lobby = Lobby::start_launch(
        "waylanddisplaysrc name=src ! capsfilter name=caps caps=video/x-raw,format=BGRx,width=1280,height=720,framerate=30/1 \
         ! appsink name=sink",
    );
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 1280 720");
    lobby.frame_until(WAIT, |f| f.width == 1280 && f.rgb(1279, 719) == WHITE);

    let filter = lobby.pipeline.by_name("caps").unwrap();
    let new_caps: gst::Caps = "video/x-raw,format=BGRx,width=1920,height=1080,framerate=30/1"
        .parse()
        .unwrap();
    filter.set_property("caps", &new_caps);
    client.expect_line(WAIT, "configured 1920 1080");
    client.expect_line(WAIT, "drawn 1920 1080");
    let frame = lobby.frame_until(WAIT, |f| f.width == 1920 && f.rgb(1919, 1079) == WHITE);
    assert_eq!((frame.width, frame.height), (1920, 1080));
    assert_eq!(frame.rgb(959, 539), RED);
    // Same compositor, same client: nothing was restarted.
    let mut client = client;
    assert!(client.child.try_wait().unwrap().is_none(), "client exited");
    assert!(lobby.dir.join(&lobby.socket).exists());
}

#[test]
fn toplevels_are_configured_to_the_output_size() {
    let lobby = Lobby::start("", &caps("BGRx", 400, 300));
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "configured 400 300");
    client.expect_line(WAIT, "drawn 400 300");
    let frame = lobby.frame_until(WAIT, |f| f.rgb(399, 299) == WHITE);
    assert_eq!(frame.rgb(0, 0), RED);
}

#[test]
fn weston_simple_shm_is_drawn_where_it_draws() {
    let lobby = Lobby::start("", &caps("BGRx", 640, 480));
    let _client = lobby.client("weston-simple-shm", &[]);
    // simple-shm draws 250x250 whatever it is configured to: the policy centres what is
    // smaller than the output on black, at (195, 115).
    let frame = lobby.frame_until(WAIT, |f| f.non_black_in(195, 115, 445, 365) > 10_000);
    // Nothing is drawn beyond it.
    assert_eq!(frame.non_black_in(0, 0, 640, 110), 0);
    assert_eq!(frame.non_black_in(0, 370, 640, 480), 0);
    assert_eq!(frame.non_black_in(0, 0, 190, 480), 0);
    assert_eq!(frame.non_black_in(450, 0, 640, 480), 0);
    // It animates: the picture keeps changing.
    let first = frame.data.clone();
    lobby.frame_until(WAIT, |f| f.data != first);
}

#[test]
fn weston_terminal_is_drawn() {
    let lobby = Lobby::start("", &caps("BGRx", 640, 480));
    let _client = lobby.client("weston-terminal", &["--shell=/bin/sh"]);
    // Maximized (the default window mode), the terminal keeps its decorations: a title bar
    // across the top of the output, the prompt in the top-left corner of its body below.
    let frame = lobby.frame_until(WAIT, |f| f.non_black_in(8, 28, 200, 48) > 20);
    assert!(
        frame.non_black_in(0, 0, 640, 24) > 10_000,
        "the title bar spans the output"
    );
    assert!(
        frame.non_black_in(10, 100, 630, 470) < 50,
        "terminal body should be empty"
    );
}

fn input(name: &str) -> gst::structure::Builder {
    gst::Structure::builder(name)
}

#[test]
fn input_events_reach_the_client() {
    let lobby = Lobby::start("", &caps("BGRx", 320, 240));
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    lobby.frame_until(WAIT, |f| f.rgb(0, 0) == RED);
    client.expect_line(WAIT, "keyboard enter");

    let send = |s: gst::Structure| assert!(lobby.send_input(s), "event not handled");
    send(
        input("MouseMoveAbsolute")
            .field("pointer_x", 100.0)
            .field("pointer_y", 50.0)
            .build(),
    );
    client.expect_line(WAIT, "pointer enter 100.0 50.0");
    send(
        input("MouseMoveRelative")
            .field("pointer_x", 10.0)
            .field("pointer_y", 5.0)
            .build(),
    );
    client.expect_line(WAIT, "pointer motion 110.0 55.0");
    send(
        input("MouseButton")
            .field("button", 272u32)
            .field("pressed", true)
            .build(),
    );
    client.expect_line(WAIT, "pointer button 272 pressed");
    send(
        input("MouseButton")
            .field("button", 272u32)
            .field("pressed", false)
            .build(),
    );
    client.expect_line(WAIT, "pointer button 272 released");
    send(input("MouseAxis").field("x", 0.0).field("y", 120.0).build());
    client.expect_line(WAIT, "pointer axis vertical 15.0");
    send(
        input("KeyboardKey")
            .field("key", 30u32)
            .field("pressed", true)
            .build(),
    );
    client.expect_line(WAIT, "key 30 pressed");
    send(
        input("KeyboardKey")
            .field("key", 30u32)
            .field("pressed", false)
            .build(),
    );
    client.expect_line(WAIT, "key 30 released");

    // A malformed event is dropped and the next one still arrives.
    send(input("KeyboardKey").field("key", "a").build());
    send(
        input("KeyboardKey")
            .field("key", 31u32)
            .field("pressed", true)
            .build(),
    );
    client.expect_line(WAIT, "key 31 pressed");
}

#[test]
fn input_events_from_downstream_reach_the_client() {
    let lobby = Lobby::start("", &caps("BGRx", 320, 240));
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    lobby.frame_until(WAIT, |f| f.rgb(0, 0) == RED);

    // Upstream events travel from the sink to the source, as a player's navigation would.
    let pad = lobby.sink.static_pad("sink").unwrap();
    let push = |s: gst::Structure| assert!(pad.push_event(gst::event::CustomUpstream::new(s)));
    push(
        input("MouseMoveAbsolute")
            .field("pointer_x", 40.0)
            .field("pointer_y", 30.0)
            .build(),
    );
    client.expect_line(WAIT, "pointer enter 40.0 30.0");
    push(
        input("TouchDown")
            .field("id", 7u32)
            .field("x", 0.5)
            .field("y", 0.25)
            .build(),
    );
    client.expect_line(WAIT, "touch down 7 160.0 60.0");
    push(
        input("TouchMotion")
            .field("id", 7u32)
            .field("x", 0.25)
            .field("y", 0.5)
            .build(),
    );
    client.expect_line(WAIT, "touch motion 7 80.0 120.0");
    push(input("TouchUp").field("id", 7u32).build());
    client.expect_line(WAIT, "touch up 7");
    push(input("TouchFrame").build());
    client.expect_line(WAIT, "touch frame");
    push(
        input("TouchDown")
            .field("id", 8u32)
            .field("x", 0.1)
            .field("y", 0.1)
            .build(),
    );
    client.expect_line(WAIT, "touch down 8");
    push(input("TouchCancel").build());
    client.expect_line(WAIT, "touch cancel");
}

#[test]
fn a_window_mapped_under_a_resting_pointer_gets_pointer_focus() {
    let lobby = Lobby::start("", &caps("BGRx", 320, 240));
    lobby.frame_until(WAIT, |_| true);
    lobby.send_input(
        input("MouseMoveAbsolute")
            .field("pointer_x", 30.0)
            .field("pointer_y", 20.0)
            .build(),
    );
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    // No further motion: the enter comes with the next frame.
    client.expect_line(WAIT, "pointer enter 30.0 20.0");
}

#[test]
fn wayland_info_lists_every_protocol() {
    let lobby = Lobby::start("", &caps("BGRx", 320, 240));
    let mut info = lobby.client("wayland-info", &[]);
    info.wait_exit(WAIT).expect("wayland-info did not finish");
    let mut out = String::new();
    while let Some(line) = info.wait_line(Duration::from_millis(100), |_| true) {
        out.push_str(&line);
        out.push('\n');
    }
    for interface in [
        "wl_compositor",
        "wl_subcompositor",
        "wl_shm",
        "xdg_wm_base",
        "wl_seat",
        "wl_data_device_manager",
        "wl_output",
        "zxdg_output_manager_v1",
        "wp_presentation",
        "wp_viewporter",
        "zwp_relative_pointer_manager_v1",
        "zwp_pointer_constraints_v1",
        "wp_single_pixel_buffer_manager_v1",
        "zwp_text_input_manager_v3",
        "zwp_input_method_manager_v2",
        "wp_cursor_shape_manager_v1",
        "wp_fractional_scale_manager_v1",
        // Privileged protocols are on by default.
        "zwlr_screencopy_manager_v1",
        "ext_image_copy_capture_manager_v1",
        "ext_output_image_capture_source_manager_v1",
        // The desktop protocols (tests/tests/desktop_protocols.rs has them all, and the
        // privileged ones turned off).
        "zwp_primary_selection_device_manager_v1",
        "xdg_activation_v1",
        "zxdg_decoration_manager_v1",
        "wp_tearing_control_manager_v1",
        "zwlr_virtual_pointer_manager_v1",
        "zwlr_foreign_toplevel_manager_v1",
        "zwlr_layer_shell_v1",
    ] {
        assert!(
            out.contains(&format!("'{interface}'")),
            "{interface} missing:\n{out}"
        );
    }
    // The output is announced with the negotiated mode.
    assert!(out.contains("width: 320 px, height: 240 px"), "{out}");
}

#[test]
fn cursor_is_drawn_once_the_pointer_moves() {
    let lobby = Lobby::start("", &caps("BGRx", 320, 240));
    // Nothing has moved the pointer: no cursor in the picture.
    let black = lobby.frame_until(WAIT, |f| f.width == 320);
    assert_eq!(black.non_black_in(0, 0, 320, 240), 0);
    lobby.send_input(
        input("MouseMoveAbsolute")
            .field("pointer_x", 200.0)
            .field("pointer_y", 100.0)
            .build(),
    );
    let frame = lobby.frame_until(WAIT, |f: &VideoFrame| {
        f.non_black_in(195, 95, 215, 125) > 20
    });
    // The arrow's tip is at the pointer position and nothing else is drawn.
    assert_eq!(frame.non_black_in(0, 0, 190, 240), 0);
}

#[test]
fn idle_frames_are_repeated_not_redrawn() {
    let lobby = Lobby::start("", &caps("BGRx", 320, 240));
    lobby.frame_until(WAIT, |_| true);
    // With nothing changing, consecutive buffers share one memory block.
    let a = lobby.sink.pull_sample().unwrap();
    let b = lobby.sink.pull_sample().unwrap();
    let (a, b) = (a.buffer().unwrap(), b.buffer().unwrap());
    let ptr = |buf: &gst::BufferRef| buf.map_readable().unwrap().as_slice().as_ptr();
    assert_eq!(ptr(a), ptr(b));
    assert!(b.pts() > a.pts());
}

#[test]
fn timestamps_follow_the_framerate() {
    let lobby = Lobby::start("", &caps("BGRx", 64, 48));
    let samples: Vec<_> = (0..10).map(|_| lobby.sink.pull_sample().unwrap()).collect();
    let pts: Vec<_> = samples
        .iter()
        .map(|s| s.buffer().unwrap().pts().unwrap())
        .collect();
    for pair in pts.windows(2) {
        let step = pair[1] - pair[0];
        // 30 fps: 33.3 ms apart (a late frame may skip ahead, never go back).
        assert!(step >= gst::ClockTime::from_mseconds(33), "{pts:?}");
    }
    let dur = samples[0].buffer().unwrap().duration().unwrap();
    assert_eq!(dur, gst::ClockTime::from_nseconds(33_333_333));

    let mut q = gst::query::Latency::new();
    assert!(lobby.src.static_pad("src").unwrap().query(&mut q));
    let (live, min, _max) = q.result();
    assert!(live);
    assert!(min >= dur, "{min} < one frame");
}
