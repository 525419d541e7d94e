//! `run` records the app's sound: Opus beside the video in its .mkv/.mp4, from a private
//! PulseAudio or the shared one `PULSE_SERVER` names, where a killed run's sink is unloaded
//! by the next run and other programs' sinks stay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gwd_tests::media::{MediaError, decode_audio, spectral_peak};
use gwd_tests::pulse::PulseServer;
use gwd_tests::{ChildGuard, run};

/// This crate's binary, built before its tests.
const EXE: &str = env!("CARGO_BIN_EXE_gst-wayland-display");
const TIMEOUT: Duration = Duration::from_secs(120);

/// `run` at a small size for `seconds`, writing `output`, with `app`.
fn run_cmd(output: &std::path::Path, seconds: &str, extra: &[&str], app: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.args([
        "run",
        "--render-node",
        "software",
        "--width",
        "160",
        "--height",
        "120",
        "--fps",
        "15",
        "--encoder",
        "x264enc",
        "--duration",
        seconds,
        "--output",
    ])
    .arg(output)
    .args(extra)
    .arg("--")
    .args(app)
    .env_remove("XDG_RUNTIME_DIR")
    .env_remove("PULSE_SERVER");
    cmd
}

/// An app that plays a 440 Hz sine into the sink `PULSE_SINK` names.
const TONE: &[&str] = &[
    "gst-launch-1.0",
    "-q",
    "audiotestsrc",
    "is-live=true",
    "freq=440",
    "!",
    "pulsesink",
];

#[test]
fn run_muxes_the_apps_tone_into_mkv_and_mp4() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.mkv", "out.mp4"] {
        let file = dir.path().join(name);
        let out = run(run_cmd(&file, "3", &[], TONE), TIMEOUT);
        assert!(out.status.success(), "{}", out.all());
        assert!(
            out.stdout.contains("recording the app's sound"),
            "{}",
            out.stdout
        );
        let audio = decode_audio(&file).unwrap();
        assert_eq!((audio.rate, audio.channels), (48_000, 2), "{name}");
        // The track covers the run, from its start (not after the sink's first block).
        let seconds = audio.samples.len() as f64 / 48_000.0;
        assert!(seconds > 2.0, "{name}: {seconds} s of audio");
        assert!(
            audio.first_pts < 0.5,
            "{name}: audio starts at {}",
            audio.first_pts
        );
        let last = &audio.samples[audio.samples.len() - 24_000..];
        let peak = spectral_peak(last, 48_000, 100.0, 2000.0, 5.0);
        assert!((peak - 440.0).abs() <= 5.0, "{name}: peak at {peak} Hz");
    }
    // Five channels asked for, five recorded; none without audio.
    let file = dir.path().join("surround.mkv");
    let out = run(
        run_cmd(&file, "2", &["--audio-channels", "5"], TONE),
        TIMEOUT,
    );
    assert!(out.status.success(), "{}", out.all());
    assert_eq!(decode_audio(&file).unwrap().channels, 5);
    let file = dir.path().join("silent.mkv");
    let out = run(
        run_cmd(&file, "1", &["--no-audio"], &["sleep", "5"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{}", out.all());
    assert_eq!(
        decode_audio(&file).unwrap_err(),
        MediaError::NoTrack("audio")
    );
    let out = run(
        run_cmd(&file, "1", &["--audio-channels", "9"], &["sleep", "5"]),
        TIMEOUT,
    );
    assert!(!out.status.success());
    assert!(out.all().contains("--audio-channels"), "{}", out.all());
}

#[test]
fn a_killed_runs_sink_on_a_shared_server_goes_with_the_next_run() {
    let server = PulseServer::start().unwrap();
    server.null_sink("someone-elses").unwrap();
    let sinks = || server.sink_names();
    let before = sinks();
    let dir = tempfile::tempdir().unwrap();

    let mut first = run_cmd(&dir.path().join("a.mkv"), "60", &[], &["sleep", "60"]);
    first
        .env("PULSE_SERVER", server.server())
        .stdout(Stdio::piped());
    let mut first = ChildGuard::spawn(first);
    let line = first.expect_line(Duration::from_secs(30), "recording the app's sound");
    let sink = line.rsplit(' ').next().unwrap().to_owned();
    assert!(sinks().contains(&sink), "{sink} not in {:?}", sinks());
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(first.child.id() as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    first.wait_exit(Duration::from_secs(10)).unwrap();
    // A server of our own would have died with it; a shared one keeps the sink.
    assert!(sinks().contains(&sink));

    let mut second = run_cmd(&dir.path().join("b.mkv"), "1", &[], &["sleep", "5"]);
    second.env("PULSE_SERVER", server.server());
    let out = run(second, TIMEOUT);
    assert!(out.status.success(), "{}", out.all());
    assert!(
        out.stdout
            .contains(&format!("unloaded sinks of ended runs: {sink}")),
        "{}",
        out.stdout
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while sinks() != before {
        assert!(Instant::now() < deadline, "{:?} is not {before:?}", sinks());
        std::thread::sleep(Duration::from_millis(50));
    }
}
