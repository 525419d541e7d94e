//! Socket allocation against other processes: live sockets are skipped and left alone,
//! stale ones do not stop anyone, concurrent processes get distinct names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gwd_tests::{ChildGuard, private_dir};
use waylanddisplaycore::socket::{SocketSpec, sweep};
use waylanddisplaycore::{DisplayConfig, RenderTarget, VideoMode, WaylandDisplay};

const HOLDER: &str = env!("CARGO_BIN_EXE_gwd-socket-holder");

/// Another process holding `count` live sockets in `dir`; returns it and their names.
fn hold(dir: &Path, count: u32, name: Option<&str>) -> (ChildGuard, Vec<String>) {
    let mut cmd = Command::new(HOLDER);
    cmd.arg(dir)
        .arg(count.to_string())
        .args(name)
        .stdin(Stdio::piped());
    let holder = ChildGuard::spawn(cmd);
    let mut names = Vec::new();
    loop {
        let line = holder
            .wait_line(Duration::from_secs(20), |_| true)
            .expect("holder did not report its sockets");
        if line == "ready" {
            return (holder, names);
        }
        names.push(line);
    }
}

fn display_in(dir: &Path) -> WaylandDisplay {
    WaylandDisplay::new(DisplayConfig {
        socket: SocketSpec::auto().in_dir(dir),
        render_target: RenderTarget::Software,
        mode: VideoMode {
            width: 64,
            height: 64,
            refresh_mhz: 60_000,
        },
        ..DisplayConfig::default()
    })
    .unwrap()
}

fn is_socket(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn sixty_four_live_sockets_of_another_process_are_left_alone() {
    let dir = private_dir("gwd-live");
    let (_holder, live) = hold(dir.path(), 64, None);
    assert_eq!(live.len(), 64);

    let display = display_in(dir.path());
    assert!(
        !live.contains(&display.socket_name().to_owned()),
        "took a live name"
    );
    display.frame().unwrap();
    // A client can reach the new compositor.
    std::os::unix::net::UnixStream::connect(display.socket_path()).unwrap();
    drop(display);

    for name in &live {
        assert!(is_socket(&dir.path().join(name)), "{name} was removed");
        assert!(
            dir.path().join(format!("{name}.lock")).exists(),
            "{name}.lock was removed"
        );
    }
    // And a sweep keeps them too.
    let report = sweep(dir.path()).unwrap();
    assert!(report.removed.is_empty(), "{:?}", report.removed);
}

#[test]
fn five_thousand_stale_sockets_do_not_stop_a_compositor() {
    let dir = private_dir("gwd-stale");
    for n in 1..=5000 {
        File::create(dir.path().join(format!("wayland-{n}.lock"))).unwrap();
        drop(UnixListener::bind(dir.path().join(format!("wayland-{n}"))).unwrap());
    }
    let display = display_in(dir.path());
    // The first stale name is reclaimed: its dead socket replaced by a live one.
    assert_eq!(display.socket_name(), "wayland-1");
    std::os::unix::net::UnixStream::connect(display.socket_path()).unwrap();

    // A sweep removes the other leftovers and keeps the live one.
    let report = sweep(dir.path()).unwrap();
    assert_eq!(report.removed.len(), 2 * 4999);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    drop(display);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn stale_names_between_live_ones_are_reclaimed() {
    let dir = private_dir("gwd-mixed");
    let (_holder, live) = hold(dir.path(), 8, None);
    // Leftovers of a dead compositor right after the live names.
    for n in 9..=20 {
        File::create(dir.path().join(format!("wayland-{n}.lock"))).unwrap();
        drop(UnixListener::bind(dir.path().join(format!("wayland-{n}"))).unwrap());
    }
    let display = display_in(dir.path());
    assert_eq!(display.socket_name(), "wayland-9");
    for name in &live {
        assert!(is_socket(&dir.path().join(name)));
    }
}

#[test]
fn concurrent_processes_get_distinct_names() {
    let dir = private_dir("gwd-race");
    let holders: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = Command::new(HOLDER);
            cmd.arg(dir.path()).arg("16").stdin(Stdio::piped());
            ChildGuard::spawn(cmd)
        })
        .collect();
    let mut names = HashSet::new();
    for holder in &holders {
        loop {
            let line = holder
                .wait_line(Duration::from_secs(20), |_| true)
                .expect("holder did not finish");
            if line == "ready" {
                break;
            }
            assert!(names.insert(line.clone()), "{line} handed out twice");
        }
    }
    assert_eq!(names.len(), 64);
    drop(holders);
}

#[test]
fn explicit_name_of_another_process_is_refused() {
    let dir = private_dir("gwd-named");
    let (_holder, names) = hold(dir.path(), 1, Some("wayland-lobby-42"));
    assert_eq!(names, ["wayland-lobby-42"]);
    let err = WaylandDisplay::new(DisplayConfig {
        socket: SocketSpec::named("wayland-lobby-42").in_dir(dir.path()),
        render_target: RenderTarget::Software,
        ..DisplayConfig::default()
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("wayland-lobby-42") && text.contains("running compositor"),
        "{text}"
    );
    assert!(is_socket(&dir.path().join("wayland-lobby-42")));
}
