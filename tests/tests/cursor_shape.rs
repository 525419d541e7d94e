//! cursor-shape-v1: a client that names a shape gets that shape drawn from the installed
//! cursor theme (Adwaita, with GTK 3), hotspot on the pointer; a client that names none
//! keeps the built-in arrow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use gwd_tests::{Lobby, VideoFrame};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);
const BLUE: (u8, u8, u8) = (0, 0, 255);
const AT: (i32, i32) = (160, 120);

/// The theme's `name` cursor at size 24, as the compositor picks it: (width, height, hotspot,
/// pixels in B, G, R, A order).
fn theme_cursor(name: &str) -> (i32, i32, (i32, i32), Vec<u8>) {
    let theme = xcursor::CursorTheme::load("default");
    let path = theme
        .load_icon(name)
        .unwrap_or_else(|| panic!("no {name:?} cursor in the theme: install adwaita-icon-theme"));
    let images = xcursor::parser::parse_xcursor(&std::fs::read(path).unwrap()).unwrap();
    let image = images
        .into_iter()
        .min_by_key(|i| (i.size.abs_diff(24), i.delay))
        .unwrap();
    (
        image.width as i32,
        image.height as i32,
        (image.xhot as i32, image.yhot as i32),
        image.pixels_rgba,
    )
}

/// Whether `frame` shows the cursor with its hotspot at [`AT`] over blue: every opaque
/// pixel of it drawn as is, every transparent one blue.
fn shows(frame: &VideoFrame, cursor: &(i32, i32, (i32, i32), Vec<u8>)) -> bool {
    let (w, h, (hx, hy), pixels) = cursor;
    let mut checked = 0;
    for y in 0..*h {
        for x in 0..*w {
            let i = ((y * w + x) * 4) as usize;
            let (b, g, r, a) = (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]);
            let (fx, fy) = (AT.0 - hx + x, AT.1 - hy + y);
            let want = match a {
                255 => (r, g, b),
                0 => BLUE,
                _ => continue,
            };
            if frame.rgb(fx as u32, fy as u32) != want {
                return false;
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "too few pixels to tell: {checked}");
    true
}

fn pointer_at(lobby: &Lobby) {
    assert!(
        lobby.send_input(
            gst::Structure::builder("MouseMoveAbsolute")
                .field("pointer_x", f64::from(AT.0))
                .field("pointer_y", f64::from(AT.1))
                .build()
        )
    );
}

fn lobby() -> Lobby {
    Lobby::start(
        "render-node=software",
        "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1",
    )
}

#[test]
fn a_named_shape_is_drawn_from_the_theme() {
    let text = theme_cursor("text");
    let lobby = lobby();
    let client = lobby.client(
        CLIENT,
        &["--pattern", "solid:0000ff", "--cursor-shape", "text"],
    );
    client.expect_line(WAIT, "drawn 320 240");
    pointer_at(&lobby);
    client.expect_line(WAIT, "cursor shape Text");
    lobby.frame_until(WAIT, |f| shows(f, &text));
}

#[test]
fn without_a_shape_the_arrow_stays() {
    let text = theme_cursor("text");
    let lobby = lobby();
    let client = lobby.client(CLIENT, &["--pattern", "solid:0000ff"]);
    client.expect_line(WAIT, "drawn 320 240");
    pointer_at(&lobby);
    client.expect_line(WAIT, "pointer enter");
    // The arrow's tip (its hotspot) is its black outline, and the I-beam is not drawn.
    let frame = lobby.frame_until(WAIT, |f| f.rgb(AT.0 as u32, AT.1 as u32) == (0, 0, 0));
    assert!(!shows(&frame, &text));
}
