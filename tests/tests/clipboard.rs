//! The clipboard through the element (`ClipboardGet`/`ClipboardSet` custom events, the
//! `wayland.clipboard` answer) with real clients holding or pasting it: `wl-copy` and
//! `wl-paste`, text and PNG.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};

use gst::prelude::*;
use std::time::{Duration, Instant};

use gwd_tests::{ChildGuard, Lobby, png_bytes, run, until_prints};

const WAIT: Duration = Duration::from_secs(20);

fn lobby() -> Lobby {
    Lobby::start(
        "render-node=software",
        "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1",
    )
}

fn wayland_command(lobby: &Lobby, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("WAYLAND_DISPLAY", &lobby.socket)
        .env("XDG_RUNTIME_DIR", &lobby.dir)
        .env_remove("DISPLAY");
    cmd
}

/// Asks the element for the clipboard and waits for its answer on the bus.
fn get(lobby: &Lobby, mime: Option<&str>, id: u64) -> gst::Structure {
    let mut ask = gst::Structure::builder("ClipboardGet").field("id", id);
    if let Some(mime) = mime {
        ask = ask.field("mime-type", mime);
    }
    assert!(lobby.send_input(ask.build()));
    let bus = lobby.pipeline.bus().unwrap();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(200),
            &[gst::MessageType::Application],
        ) else {
            continue;
        };
        if let Some(s) = msg.structure()
            && s.name() == "wayland.clipboard"
            && s.get::<u64>("id").ok() == Some(id)
        {
            return s.to_owned();
        }
    }
    panic!("no wayland.clipboard answer to request {id}");
}

/// Asks until the answer has `text` (a copy reaches the compositor asynchronously).
fn get_text_until(lobby: &Lobby, want: &str) -> gst::Structure {
    let deadline = Instant::now() + WAIT;
    let mut id = 0;
    loop {
        id += 1;
        let answer = get(lobby, None, id);
        if answer.get::<String>("text").ok().as_deref() == Some(want) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "never read {want:?}; last: {answer}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn data(answer: &gst::Structure) -> Vec<u8> {
    let buffer = answer.get::<gst::Buffer>("data").unwrap();
    buffer.map_readable().unwrap().as_slice().to_vec()
}

#[test]
fn an_empty_clipboard_answers_with_an_error() {
    let lobby = lobby();
    let answer = get(&lobby, None, 1);
    assert_eq!(
        answer.get::<String>("error").unwrap(),
        "the clipboard is empty"
    );
}

#[test]
fn text_a_client_copied_is_read() {
    let lobby = lobby();
    let mut cmd = wayland_command(&lobby, "wl-copy", &["--foreground", "copied ✓"]);
    cmd.stderr(Stdio::null());
    let _owner = ChildGuard::spawn(cmd);
    let answer = get_text_until(&lobby, "copied ✓");
    assert!(
        answer
            .get::<String>("mime-type")
            .unwrap()
            .starts_with("text/plain"),
        "{answer}"
    );
    assert_eq!(data(&answer), "copied ✓".as_bytes());
}

#[test]
fn a_png_a_client_copied_is_read_as_png() {
    let lobby = lobby();
    let png = png_bytes();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &png).unwrap();
    let mut cmd = wayland_command(&lobby, "wl-copy", &["--foreground", "--type", "image/png"]);
    cmd.stdin(std::fs::File::open(file.path()).unwrap())
        .stderr(Stdio::null());
    let _owner = ChildGuard::spawn(cmd);
    let deadline = Instant::now() + WAIT;
    let mut id = 100;
    let answer = loop {
        id += 1;
        let answer = get(&lobby, Some("image/png"), id);
        if answer.get::<String>("error").is_err() {
            break answer;
        }
        assert!(Instant::now() < deadline, "never read the PNG: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(answer.get::<String>("mime-type").unwrap(), "image/png");
    assert!(answer.get::<String>("text").is_err());
    assert_eq!(data(&answer), png);
    // Text is not there: asking for it says what is.
    let answer = get(&lobby, Some("text/plain;charset=utf-8"), 999);
    let error = answer.get::<String>("error").unwrap();
    assert!(error.contains("image/png"), "{error}");
}

#[test]
fn text_set_through_the_element_is_pasted_by_a_client_and_read_back() {
    let lobby = lobby();
    assert!(
        lobby.send_input(
            gst::Structure::builder("ClipboardSet")
                .field("text", "set by the owner é")
                .build()
        )
    );
    if let Err(out) = until_prints(
        || wayland_command(&lobby, "wl-paste", &["--no-newline"]),
        "set by the owner é",
        WAIT,
    ) {
        panic!("wl-paste never pasted it: {}", out.all());
    }
    // The compositor holds it: reading it back needs no client.
    get_text_until(&lobby, "set by the owner é");
}

#[test]
fn a_png_set_through_the_element_is_pasted_as_png() {
    let lobby = lobby();
    let png = png_bytes();
    assert!(
        lobby.send_input(
            gst::Structure::builder("ClipboardSet")
                .field("mime-type", "image/png")
                .field("data", gst::Buffer::from_slice(png.clone()))
                .build()
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let pasted = dir.path().join("pasted.png");
    let script = format!("exec wl-paste --type image/png > '{}'", pasted.display());
    let deadline = Instant::now() + WAIT;
    loop {
        let out = run(
            wayland_command(&lobby, "sh", &["-c", &script]),
            Duration::from_secs(10),
        );
        if out.status.success() && std::fs::read(&pasted).unwrap() == png {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "wl-paste never pasted the PNG: {}",
            out.all()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
