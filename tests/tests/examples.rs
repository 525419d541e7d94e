//! Every example in `examples/` runs as its README says, against the built plugin and
//! binary, with the test client as the application.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gwd_tests::host::{TestHost, client, exe, png_pixel};
use gwd_tests::{Output, decode_rgb, plugin_dir, private_dir, run, run_group, target_dir};

const TIMEOUT: Duration = Duration::from_secs(120);
const RED: (u8, u8, u8) = (255, 0, 0);

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// An example program with our plugin on the path and `runtime` as `XDG_RUNTIME_DIR`.
fn example(program: impl AsRef<Path>, runtime: &Path) -> Command {
    let mut cmd = Command::new(program.as_ref());
    cmd.env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", target_dir().join("gst-registry-tests.bin"))
        .env("XDG_RUNTIME_DIR", runtime);
    cmd
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed:\n{}", out.all());
    assert!(!out.all().contains("panicked"), "{what}:\n{}", out.all());
}

/// Within what H.264 at ultrafast leaves of a flat colour.
fn near(a: (u8, u8, u8), b: (u8, u8, u8)) -> bool {
    let d = |x: u8, y: u8| x.abs_diff(y) <= 40;
    d(a.0, b.0) && d(a.1, b.1) && d(a.2, b.2)
}

#[test]
fn pipeline_examples_stream_the_app_into_playable_files() {
    for (script, file) in [
        ("software.sh", "out.mp4"),
        ("auto.sh", "out.mkv"),
        ("wolf-producer.sh", "out.mkv"),
    ] {
        let runtime = private_dir("gwd-example-rt");
        let out_dir = tempfile::tempdir().unwrap();
        let video = out_dir.path().join(file);
        let mut cmd = example(examples().join("pipelines").join(script), runtime.path());
        cmd.envs([
            ("WIDTH", "320"),
            ("HEIGHT", "240"),
            ("FPS", "30"),
            ("SECONDS_TO_RUN", "2"),
        ])
        .arg(&video)
        .arg(client());
        let out = run_group(cmd, TIMEOUT);
        assert_ok(&out, script);
        assert!(
            out.stdout.contains("drawn 320 240"),
            "{script}:\n{}",
            out.all()
        );

        let decoded = decode_rgb(&video);
        let pixel = decoded.pixel(10, 10);
        assert_eq!(decoded.frames, 60, "{script}: frames in {file}");
        assert!(
            near(pixel, RED),
            "{script}: the app is not in the video ({pixel:?})"
        );
        let left: Vec<_> = std::fs::read_dir(runtime.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{script} left {left:?} behind");
    }
}

#[test]
fn send_input_example_reaches_the_app() {
    let runtime = private_dir("gwd-example-rt");
    let mut cmd = example("/usr/bin/python3", runtime.path());
    cmd.arg(examples().join("send-input.py"))
        .arg("--")
        .arg(client());
    let out = run_group(cmd, TIMEOUT);
    assert_ok(&out, "send-input.py");
    for line in [
        "pointer enter 160.0 120.0",
        "pointer button 272 pressed",
        "pointer button 272 released",
        "key 30 pressed",
        "key 30 released",
    ] {
        assert!(out.stdout.contains(line), "no {line:?}:\n{}", out.all());
    }

    // A file of events, one malformed: the element drops that one and takes the rest.
    let events = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        events.path(),
        "# a key with a string code is dropped\n\
         KeyboardKey, key=(string)a, pressed=(boolean)true\n\n\
         KeyboardKey, key=(uint)31, pressed=(boolean)true\n",
    )
    .unwrap();
    let mut cmd = example("/usr/bin/python3", runtime.path());
    cmd.arg(examples().join("send-input.py"))
        .arg("--events")
        .arg(events.path())
        .arg("--")
        .arg(client());
    let out = run_group(cmd, TIMEOUT);
    assert_ok(&out, "send-input.py --events");
    assert!(out.stdout.contains("key 31 pressed"), "{}", out.all());
    assert!(!out.stdout.contains("key 30"), "{}", out.all());
}

/// The unit's `ExecStart`, as words.
fn exec_start(unit: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has no ExecStart");
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_unit_verifies_and_its_command_serves_the_api_session() {
    let unit_text =
        std::fs::read_to_string(examples().join("gst-wayland-display.service")).unwrap();
    let exec = exec_start(&unit_text);
    assert_eq!(exec[0], "/usr/bin/gst-wayland-display");
    assert_eq!(exec[1..3], ["serve", "--config"]);
    assert_eq!(exec.len(), 4, "{exec:?}");

    // systemd's own check, with the binary where this build has it.
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("gst-wayland-display.service");
    std::fs::write(&unit, unit_text.replace(&exec[0], exe().to_str().unwrap())).unwrap();
    let mut verify = Command::new("systemd-analyze");
    verify.arg("verify").arg(&unit);
    let out = run(verify, TIMEOUT);
    assert_ok(&out, "systemd-analyze verify");
    assert!(out.stderr.trim().is_empty(), "{}", out.all());

    // The unit's command with the example config; the test's own paths come as flags,
    // which win over the file, as they would over /etc's copy.
    let config = examples().join("host.toml");
    // (`TestHost` says `serve` itself.)
    let host = TestHost::start_in(dir.path(), &[&exec[2], config.to_str().unwrap()], &[]);
    let shots = tempfile::tempdir().unwrap();
    let mut session = Command::new(examples().join("api-session.sh"));
    session
        .env("GWD_SOCKET", &host.socket)
        .env("APP", client())
        .env("OUT_DIR", shots.path());
    let out = run_group(session, TIMEOUT);
    assert_ok(&out, "api-session.sh");
    for line in [
        "created lobby",
        "ready: WAYLAND_DISPLAY=",
        "sent input",
        "lobby stopped",
    ] {
        assert!(out.stdout.contains(line), "no {line:?}:\n{}", out.all());
    }
    assert!(
        out.stdout.contains("gwd_lobbies_created_total 1"),
        "{}",
        out.all()
    );
    let png = std::fs::read(shots.path().join("screenshot.png")).unwrap();
    assert_eq!(
        png_pixel(&png, 10, 10),
        RED,
        "the screenshot does not show the app"
    );
}

#[test]
fn core_example_reads_the_apps_frames() {
    let runtime = private_dir("gwd-example-rt");
    let mut cmd = example(target_dir().join("examples/core-frames"), runtime.path());
    cmd.args(["--frames", "4", "--"]).arg(client());
    let out = run_group(cmd, TIMEOUT);
    assert_ok(&out, "core-frames");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.ends_with("ClientBuffer, pixel (10,10) #ff0000")),
        "{}",
        out.all()
    );
    let bad = run(
        {
            let mut c = example(target_dir().join("examples/core-frames"), runtime.path());
            c.args(["--size", "0x0", "--", "true"]);
            c
        },
        TIMEOUT,
    );
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("bad --size"), "{}", bad.all());
}
