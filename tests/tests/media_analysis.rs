//! `gwd_tests::media` end to end: files with a known A/V offset, made by the sync client's
//! own pattern (`gwd_tests::avgen`) muxed with H.264 and Opus, decoded and analysed back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use gst::prelude::*;
use gwd_tests::avgen::{self, Pattern};
use gwd_tests::media::{self, MediaError};

const WAIT: Duration = Duration::from_secs(120);

/// Decodes `path` and checks every flash has its click `offset_ms` away, within 2 ms.
fn check_offsets(path: &std::path::Path, flashes_want: usize, offset_ms: f64) {
    let audio = media::decode_audio(path).unwrap();
    assert_eq!(audio.rate, 48_000);
    assert!(!audio.samples.is_empty());
    let luma = media::decode_video_luma(path).unwrap();
    let flashes = media::flash_times(&luma);
    let clicks = media::click_times(&audio);
    assert_eq!(flashes.len(), flashes_want, "flashes {flashes:?}");
    assert_eq!(clicks.len(), flashes_want, "clicks {clicks:?}");
    let offsets = media::av_offsets(&flashes, &clicks, 0.3);
    assert_eq!(offsets.len(), flashes_want, "{offsets:?}");
    eprintln!(
        "{}: offsets (ms) {:?}",
        path.display(),
        offsets.iter().map(|o| o * 1000.0).collect::<Vec<_>>()
    );
    for o in &offsets {
        assert!(
            (o * 1000.0 - offset_ms).abs() <= 2.0,
            "offsets {offsets:?} (ms: want {offset_ms}); flashes {flashes:?} clicks {clicks:?}"
        );
    }
    // The click is the client's 2 kHz tone, through Opus.
    let start = ((clicks[0] - audio.first_pts) * f64::from(audio.rate)).round() as usize;
    let window = &audio.samples[start..start + 200];
    let peak = media::spectral_peak(window, audio.rate, 500.0, 5000.0, 50.0);
    assert!((peak - 2000.0).abs() <= 100.0, "click peak at {peak} Hz");
}

#[test]
fn mkv_with_audio_30ms_late() {
    gwd_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.mkv");
    let pattern = Pattern {
        count: Some(4),
        audio_offset_ns: 30_000_000,
        ..Pattern::default()
    };
    avgen::write_file(&pattern, &path, WAIT).unwrap();
    check_offsets(&path, 4, 30.0);
}

#[test]
fn mp4_with_audio_early() {
    gwd_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("early.mp4");
    let pattern = Pattern {
        count: Some(3),
        audio_offset_ns: -45_000_000,
        channels: 1,
        ..Pattern::default()
    };
    avgen::write_file(&pattern, &path, WAIT).unwrap();
    check_offsets(&path, 3, -45.0);
}

/// The client binary's own file mode: its arguments reach the pattern.
#[test]
fn client_file_mode() {
    gwd_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.mkv");
    let mut cmd = Command::new(gwd_tests::target_dir().join("gwd-av-sync-client"));
    cmd.args([
        "--count",
        "3",
        "--period-ms",
        "700",
        "--audio-offset-ms",
        "12",
    ])
    .arg("--output")
    .arg(&path);
    let out = gwd_tests::run(cmd, WAIT);
    assert!(out.status.success(), "{}", out.all());
    check_offsets(&path, 3, 12.0);
    let flashes = media::flash_times(&media::decode_video_luma(&path).unwrap());
    assert!((flashes[1] - flashes[0] - 0.7).abs() < 0.002, "{flashes:?}");
}

/// A file without audio (made by gst-launch) says so instead of failing otherwise.
#[test]
fn video_only_file_has_no_audio_track() {
    gwd_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("video.mkv");
    let mut cmd = Command::new("gst-launch-1.0");
    cmd.args([
        "-q",
        "videotestsrc",
        "pattern=black",
        "num-buffers=15",
        "!",
        "video/x-raw,format=I420,width=64,height=48,framerate=30/1",
        "!",
        "x264enc",
        "!",
        "matroskamux",
        "!",
        "filesink",
    ])
    .arg(format!("location={}", path.display()));
    let out = gwd_tests::run(cmd, WAIT);
    assert!(out.status.success(), "{}", out.all());
    assert_eq!(
        media::decode_audio(&path).unwrap_err(),
        MediaError::NoTrack("audio")
    );
    let luma = media::decode_video_luma(&path).unwrap();
    assert_eq!(luma.len(), 15);
    assert!(luma.iter().all(|&(_, y)| y < 40.0), "{luma:?}");
    assert!(media::flash_times(&luma).is_empty());
    assert!(matches!(
        media::decode_audio(&dir.path().join("missing.mkv")),
        Err(MediaError::Decode(_))
    ));
}

/// The live client under our compositor, playing to a private PulseAudio: the flash
/// reaches the compositor's frames, the click reaches the null sink's monitor, and the
/// client ends by itself after `--count` and on SIGTERM, exit status 0 both times.
#[test]
fn live_client_flashes_clicks_and_exits() {
    if Command::new("pulseaudio")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: pulseaudio is not installed");
        return;
    }
    let pulse = gwd_tests::pulse::PulseServer::start().unwrap();
    pulse.null_sink("lobby").unwrap();
    let lobby = gwd_tests::Lobby::start(
        "render-node=software",
        "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1",
    );
    // The monitor, captured here: the click must arrive there.
    let capture = gst::parse::launch(&format!(
        "pulsesrc server={} device=lobby.monitor ! audio/x-raw,format=F32LE,rate=48000,\
         channels=2 ! appsink name=sink sync=false",
        pulse.server()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let monitor = capture
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    capture.set_state(gst::State::Playing).unwrap();
    // Capture takes a moment to start: the client starts once it delivers.
    assert!(
        monitor
            .try_pull_sample(gst::ClockTime::from_seconds(20))
            .is_some(),
        "the monitor delivered nothing"
    );

    let start = |args: &[&str]| {
        let mut cmd = Command::new(gwd_tests::target_dir().join("gwd-av-sync-client"));
        cmd.args(args)
            .env("WAYLAND_DISPLAY", &lobby.socket)
            .env("XDG_RUNTIME_DIR", &lobby.dir)
            .env("PULSE_SERVER", pulse.server())
            .env("PULSE_SINK", "lobby");
        gwd_tests::ChildGuard::spawn(cmd)
    };
    let mut client = start(&["--count", "3", "--period-ms", "600"]);
    client.expect_line(Duration::from_secs(20), "playing");
    // The whole output: waylandsink's window is maximized to it.
    let white = |f: &gwd_tests::VideoFrame| {
        [(0, 0), (160, 120), (319, 0), (0, 239), (319, 239)]
            .iter()
            .all(|&(x, y)| f.rgb(x, y) == (255, 255, 255))
    };
    lobby.frame_until(Duration::from_secs(10), white);
    // A click (0.8 at its start) among the silence, within a few seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut loudest = 0.0f32;
    while loudest < 0.5 && std::time::Instant::now() < deadline {
        let Some(sample) = monitor.try_pull_sample(gst::ClockTime::from_mseconds(200)) else {
            continue;
        };
        let map = sample.buffer().unwrap().map_readable().unwrap();
        for b in map.chunks_exact(4) {
            loudest = loudest.max(f32::from_le_bytes([b[0], b[1], b[2], b[3]]).abs());
        }
    }
    assert!(
        loudest >= 0.5,
        "no click on the monitor (loudest {loudest})"
    );
    client.expect_line(Duration::from_secs(10), "done");
    let status = client.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
    capture.set_state(gst::State::Null).unwrap();

    // Until killed: SIGTERM ends it cleanly.
    let mut client = start(&[]);
    client.expect_line(Duration::from_secs(20), "playing");
    let pid = rustix::process::Pid::from_raw(client.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = client.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "after SIGTERM: {status}");
}
