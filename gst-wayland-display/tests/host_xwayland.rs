//! A lobby with the built-in Xwayland through the real host: the X11 app gets the lobby's
//! `DISPLAY`, and when its worker is SIGKILLed (nothing of the worker runs its `Drop`), the
//! host removes the display's lock and socket and no Xwayland of it is left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{TestHost, WAIT, alive, lobby_request};

/// The X11 test client, built beside the program running this (it is `gwd-tests`').
fn x11_client() -> PathBuf {
    let path = gwd_tests::target_dir().join("x11-test-client");
    assert!(
        path.exists(),
        "{} missing: build the workspace",
        path.display()
    );
    path
}

fn x_files(display: &str) -> (PathBuf, PathBuf) {
    let n = display.strip_prefix(':').expect("an X display is `:N`");
    (
        PathBuf::from(format!("/tmp/.X{n}-lock")),
        PathBuf::from(format!("/tmp/.X11-unix/X{n}")),
    )
}

/// Pids of Xwayland processes serving `display` (their argv names it).
fn xwaylands_of(display: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_xwayland = args.first().is_some_and(|a| a.ends_with(b"Xwayland"));
        if is_xwayland && args.contains(&display.as_bytes()) && alive(pid.into()) {
            pids.push(pid);
        }
    }
    pids
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_workers_x_display_is_swept_by_the_host() {
    if which::which("Xwayland").is_err() {
        panic!("Xwayland is missing: run scripts/setup.sh");
    }
    let host = TestHost::start(&[]);
    let mut request = lobby_request(
        "x11",
        &format!(
            "echo \"app DISPLAY=$DISPLAY\"; exec {}",
            x11_client().display()
        ),
    );
    request["video_settings"]["xwayland"] = "on".into();
    let id = host.create(request);
    let lobby = host.wait_state(&id, "ready");
    let display = lobby["x_display"]
        .as_str()
        .unwrap_or_else(|| panic!("no x_display: {lobby}"))
        .to_owned();
    host.wait_log(&id, &format!("app DISPLAY={display}"));
    // Drawn through Xwayland: the server, the window manager and the client all run.
    host.wait_log(&id, "drawn 320 240");
    let (lock, socket) = x_files(&display);
    assert!(lock.exists() && socket.exists(), "{display}: files missing");
    let servers = xwaylands_of(&display);
    assert_eq!(servers.len(), 1, "one Xwayland for {display}: {servers:?}");

    let worker = lobby["worker_pid"].as_u64().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(worker).unwrap()).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let ended = host.wait_end(&id);
    assert_eq!(ended["state"], "failed", "{ended}");

    eventually("the X lock and socket are removed", || {
        !lock.exists() && !socket.exists()
    });
    eventually("no Xwayland serves the display", || {
        xwaylands_of(&display).is_empty()
    });
    // The host, not the worker, removed them: its counter says so.
    let (status, metrics) = host.api_raw("GET", "/metrics", None, &[]);
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("gwd_x11_displays_swept_total 1"),
        "{metrics}"
    );
}
