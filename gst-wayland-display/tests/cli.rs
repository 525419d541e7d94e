//! The command line: `run` streams a real client to a playable file with a screenshot;
//! `devices` and `sweep` report in plain words.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{EXE, client, png_pixel};

/// `gst-wayland-display ARGS…`
fn gwd(args: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args(args);
    cmd
}
use gwd_tests::run;

const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn run_streams_a_client_to_a_playable_file_with_a_screenshot() {
    let dir = tempfile::tempdir().unwrap();
    let (video, shot) = (dir.path().join("out.mp4"), dir.path().join("shot.png"));
    let mut cmd = Command::new(EXE);
    cmd.args([
        "run",
        "--render-node",
        "software",
        "--width",
        "320",
        "--height",
        "240",
        "--fps",
        "30",
        "--duration",
        "2",
    ])
    .arg("--output")
    .arg(&video)
    .arg("--screenshot")
    .arg(&shot)
    .arg("--")
    .arg(client())
    .env_remove("XDG_RUNTIME_DIR");
    let out = run(cmd, TIMEOUT);
    assert!(out.status.success(), "{}", out.all());
    assert!(out.stdout.contains("app started"), "{}", out.stdout);
    assert!(out.stdout.contains("wrote"), "{}", out.stdout);

    // Playable: demuxes and decodes, about two seconds of frames.
    let mut decode = Command::new("gst-launch-1.0");
    decode
        .args(["-m", "filesrc"])
        .arg(format!("location={}", video.display()))
        .args([
            "!",
            "qtdemux",
            "!",
            "h264parse",
            "!",
            "video/x-h264,stream-format=byte-stream",
            "!",
            "openh264dec",
            "!",
            "fakesink",
            "silent=false",
            "-v",
        ]);
    let decoded = run(decode, TIMEOUT);
    assert!(decoded.status.success(), "{}", decoded.all());
    let frames = decoded.stdout.matches("chain   *").count();
    assert!((45..=75).contains(&frames), "{frames} frames decoded");

    assert_eq!(
        png_pixel(&std::fs::read(&shot).unwrap(), 10, 10),
        (255, 0, 0)
    );
    assert_eq!(
        png_pixel(&std::fs::read(&shot).unwrap(), 300, 230),
        (255, 255, 255)
    );
}

#[test]
fn run_reports_a_missing_app() {
    let mut cmd = Command::new(EXE);
    cmd.args([
        "run",
        "--render-node",
        "software",
        "--duration",
        "1",
        "--",
        "no-such-app",
    ]);
    let out = run(cmd, TIMEOUT);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("\"no-such-app\" not found in PATH"),
        "{}",
        out.all()
    );
    assert!(!out.all().contains("panicked"));
}

#[test]
fn devices_says_what_auto_picks() {
    let out = run(gwd(&["devices"]), TIMEOUT);
    assert!(out.status.success(), "{}", out.all());
    assert!(out.stdout.contains("render-node=auto"), "{}", out.stdout);
    let json = run(gwd(&["devices", "--json"]), TIMEOUT);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(value["pick"]["renderer"].is_string(), "{value}");
    let missing = run(
        gwd(&["devices", "--render-node", "pci:0000:77:00.0"]),
        TIMEOUT,
    );
    assert!(!missing.status.success());
    assert!(
        missing.stdout.contains("pci:0000:77:00.0"),
        "{}",
        missing.all()
    );
}

#[test]
fn sweep_removes_only_stale_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    std::fs::File::create(dir.path().join("wayland-7.lock")).unwrap();
    drop(std::os::unix::net::UnixListener::bind(dir.path().join("wayland-7")).unwrap());
    let live_lock = std::fs::File::create(dir.path().join("wayland-8.lock")).unwrap();
    live_lock.try_lock().unwrap();
    let _live = std::os::unix::net::UnixListener::bind(dir.path().join("wayland-8")).unwrap();

    let dry = run(gwd(&["sweep", "--dry-run", path]), TIMEOUT);
    assert!(dry.stdout.contains("would remove"), "{}", dry.stdout);
    assert!(dir.path().join("wayland-7").exists());

    let out = run(gwd(&["sweep", path]), TIMEOUT);
    assert!(out.status.success(), "{}", out.all());
    assert!(out.stdout.contains("2 removed"), "{}", out.stdout);
    assert!(out.stdout.contains("kept"), "{}", out.stdout);
    assert!(!dir.path().join("wayland-7").exists());
    assert!(dir.path().join("wayland-8").exists());
}

/// Asserts `out` is a refusal that names `what` and says it wants seconds, without a panic.
fn assert_refused(out: &gwd_tests::Output, what: &str, value: &str) {
    let all = out.all();
    assert!(!out.status.success(), "{value}: accepted\n{all}");
    assert!(!all.contains("panicked"), "{value}: panicked\n{all}");
    assert!(
        out.stderr.contains(what) && out.stderr.contains("seconds"),
        "{value}: unreadable error\n{all}"
    );
}

#[test]
fn out_of_range_durations_are_refused_in_words_from_flags_and_files() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["-1", "nan", "1e20", "inf", "0"] {
        let out = run(
            gwd(&[
                "run",
                "--render-node",
                "software",
                "--duration",
                value,
                "--",
                "true",
            ]),
            TIMEOUT,
        );
        assert_refused(&out, "--duration", value);
        let out = run(
            gwd(&["run", "--start-timeout", value, "--", "true"]),
            TIMEOUT,
        );
        assert_refused(&out, "--start-timeout", value);
    }
    let scratch = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let places = [
        "--socket".to_owned(),
        scratch("api.sock"),
        "--state-dir".to_owned(),
        scratch("state"),
        "--runtime-dir".to_owned(),
        dir.path().to_str().unwrap().to_owned(),
    ];
    for value in ["-1", "nan", "1e20", "1e30"] {
        for flag in ["--start-timeout", "--stop-grace", "--sweep-interval"] {
            let mut cmd = gwd(&["serve", flag, value]);
            cmd.args(&places);
            assert_refused(&run(cmd, TIMEOUT), flag, value);
        }
        let config = dir.path().join("host.toml");
        for key in ["start_timeout", "stop_grace", "sweep_interval"] {
            std::fs::write(&config, format!("{key} = {value}\n")).unwrap();
            let mut cmd = gwd(&["serve", "--config"]);
            cmd.arg(&config).args(&places);
            assert_refused(&run(cmd, TIMEOUT), key, value);
        }
    }
    assert!(
        !dir.path().join("api.sock").exists(),
        "serve bound its socket"
    );
}
