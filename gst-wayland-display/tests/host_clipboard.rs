//! The lobby's clipboard over the host's API (`GET`/`POST /api/v1/lobbies/{id}/clipboard`)
//! with real clients holding or pasting it: `wl-copy` and `wl-paste` on the lobby's socket,
//! text and PNG.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{TestHost, WAIT, client, lobby_request};
use gwd_tests::{ChildGuard, png_bytes, run, until_prints};
use serde_json::{Value, json};

struct Ready {
    host: TestHost,
    id: String,
    display: String,
}

fn ready_lobby() -> Ready {
    let host = TestHost::start(&[]);
    let id = host.create(lobby_request("clipboard", &client().display().to_string()));
    let lobby = host.wait_state(&id, "ready");
    let display = lobby["wayland_display"].as_str().unwrap().to_owned();
    Ready { host, id, display }
}

impl Ready {
    fn wayland(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("WAYLAND_DISPLAY", &self.display)
            .env("XDG_RUNTIME_DIR", &self.host.runtime)
            .env_remove("DISPLAY");
        cmd
    }

    fn path(&self, query: &str) -> String {
        format!("/api/v1/lobbies/{}/clipboard{query}", self.id)
    }

    /// GETs until `done` holds for the answer (a copy reaches the compositor
    /// asynchronously).
    fn get_until(&self, query: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = self.host.api("GET", &self.path(query), None);
            if status == 200 && done(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "never: last {status} {body}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn post(&self, body: Value) -> (u16, Value) {
        self.host
            .api("POST", &self.path(""), Some(&body.to_string()))
    }
}

#[test]
fn text_round_trips_through_the_api_with_real_clients() {
    let lobby = ready_lobby();
    let (status, body) = lobby.host.api("GET", &lobby.path(""), None);
    assert_eq!((status, &body), (200, &json!({"type": "empty"})));

    // A client copies; the API reads it.
    let mut copy = lobby.wayland("wl-copy", &["--foreground", "from a client ✓"]);
    copy.stderr(Stdio::null());
    let owner = ChildGuard::spawn(copy);
    let body = lobby.get_until("", |b| b["data"] == "from a client ✓");
    assert_eq!(body["type"], "text", "{body}");
    drop(owner);

    // The API sets; a client pastes it.
    let (status, body) = lobby.post(json!({"type": "text", "data": "from the API é"}));
    assert_eq!((status, &body), (200, &json!({"success": true})));
    if let Err(out) = until_prints(
        || lobby.wayland("wl-paste", &["--no-newline"]),
        "from the API é",
        WAIT,
    ) {
        panic!("wl-paste never pasted it: {}", out.all());
    }
}

#[test]
fn a_png_round_trips_through_the_api_with_real_clients() {
    let lobby = ready_lobby();
    let png = png_bytes();

    // A client copies a PNG; the API reads it as an image.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &png).unwrap();
    let mut copy = lobby.wayland("wl-copy", &["--foreground", "--type", "image/png"]);
    copy.stdin(std::fs::File::open(file.path()).unwrap())
        .stderr(Stdio::null());
    let owner = ChildGuard::spawn(copy);
    let body = lobby.get_until("?type=image", |b| b["type"] == "image");
    assert_eq!(body["mime_type"], "image/png");
    assert_eq!(
        STANDARD.decode(body["data"].as_str().unwrap()).unwrap(),
        png
    );
    // Asking for text names what there is.
    let (status, body) = lobby.host.api("GET", &lobby.path("?type=text"), None);
    assert_eq!(status, 502, "{body}");
    assert!(body.to_string().contains("image/png"), "{body}");
    drop(owner);

    // The API sets a PNG; a client pastes the same bytes.
    let (status, _) = lobby.post(json!({"type": "image", "data": STANDARD.encode(&png)}));
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let pasted = dir.path().join("pasted.png");
    let script = format!("exec wl-paste --type image/png > '{}'", pasted.display());
    let deadline = Instant::now() + WAIT;
    loop {
        let out = run(
            lobby.wayland("sh", &["-c", &script]),
            Duration::from_secs(10),
        );
        if out.status.success() && std::fs::read(&pasted).unwrap() == png {
            break;
        }
        assert!(Instant::now() < deadline, "wl-paste: {}", out.all());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn bad_clipboard_requests_are_refused_with_the_reason() {
    let lobby = ready_lobby();
    for (body, needle) in [
        (json!({"type": "image", "data": "not base64!"}), "base64"),
        (
            json!({"type": "text", "data": "x", "mime_type": "image/png"}),
            "text type",
        ),
        (json!({"type": "data", "data": ""}), "mime_type"),
        (
            json!({"type": "image", "data": "", "mime_type": "png"}),
            "MIME type",
        ),
        (json!({"type": "sound", "data": ""}), "type"),
    ] {
        let (status, answer) = lobby.post(body.clone());
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer.to_string().contains(needle), "{body} → {answer}");
    }
    let (status, answer) = lobby.host.api("GET", &lobby.path("?type=bad"), None);
    assert_eq!(status, 400, "{answer}");
    let (status, _) = lobby
        .host
        .api("GET", "/api/v1/lobbies/nope/clipboard", None);
    assert_eq!(status, 404);
}
