//! Lobby audio on a shared PulseAudio server (as on a streaming host): each lobby records
//! only its own app, and no sink outlives its lobby — stopped, failed, its worker killed,
//! its host killed and restarted — while a sink another program loaded stays.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestHost, alive, lobby_request};
use gwd_tests::media::{Audio, decode_audio, spectral_peak, tone_power};
use gwd_tests::pulse::PulseServer;
use serde_json::{Value, json};

/// An app that plays a sine of `freq` Hz into whatever sink `PULSE_SINK` names.
fn tone(freq: u32) -> String {
    format!("gst-launch-1.0 -q audiotestsrc is-live=true freq={freq} volume=0.5 ! pulsesink")
}

/// A lobby with audio whose app is `run_cmd`; its Opus stream goes to `ogg` when given.
fn audio_lobby(name: &str, run_cmd: &str, ogg: Option<&Path>) -> Value {
    let mut request = lobby_request(name, run_cmd);
    request["video_settings"]["width"] = json!(64);
    request["video_settings"]["height"] = json!(48);
    request["video_settings"]["refresh_rate"] = json!(10);
    request["video_settings"]["encoder_pipeline"] = json!("identity");
    let mut audio = json!({"channel_count": 2});
    if let Some(ogg) = ogg {
        audio["audio_pipeline"] = json!(format!("oggmux ! filesink location={}", ogg.display()));
    }
    request["audio_settings"] = audio;
    request
}

/// Polls until `done`, at most 20 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn shared_server_with_a_foreign_sink() -> PulseServer {
    let server = PulseServer::start().expect("a PulseAudio server for the test");
    server.null_sink("someone-elses").unwrap();
    server
}

/// A host using `server`, over a directory that outlives it (bind as `let (_dir, host)`:
/// the host is dropped first).
fn host_on(server: &PulseServer) -> (tempfile::TempDir, TestHost) {
    let dir = tempfile::Builder::new()
        .prefix("gwd-audio")
        .tempdir()
        .unwrap();
    let host = TestHost::start_in(dir.path(), &[], &[("PULSE_SERVER", &server.server())]);
    (dir, host)
}

/// The energy of `freq` in `samples`, relative to their total energy.
fn share_of(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let total: f64 = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    // A pure tone of N samples holds N/2 of its energy in its own bin: normalised to 1.
    2.0 * tone_power(samples, rate, freq) / (total.max(f64::MIN_POSITIVE) * samples.len() as f64)
}

/// The last whole second of the file's audio.
fn last_second(audio: &Audio) -> &[f32] {
    let n = audio.rate as usize;
    assert!(
        audio.samples.len() > n,
        "{} samples of audio",
        audio.samples.len()
    );
    &audio.samples[audio.samples.len() - n..]
}

#[test]
fn two_lobbies_record_only_their_own_tones() {
    let server = shared_server_with_a_foreign_sink();
    let before = server.counts();
    let (_dir, host) = host_on(&server);
    let out = tempfile::tempdir().unwrap();
    let (a_file, b_file) = (out.path().join("a.ogg"), out.path().join("b.ogg"));
    let a = host.create(audio_lobby("a", &tone(440), Some(&a_file)));
    let b = host.create(audio_lobby("b", &tone(880), Some(&b_file)));

    // The listing names each lobby's sink, and the server has it, with its owners.
    let sink_of = |id: &str| {
        let mut sink = String::new();
        wait_until("the lobby lists its sink", || {
            let lobby = host.lobby(id);
            sink = lobby["audio"]["sink"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            !sink.is_empty()
        });
        sink
    };
    let (a_sink, b_sink) = (sink_of(&a), sink_of(&b));
    assert_ne!(a_sink, b_sink);
    assert!(a_sink.ends_with(&a), "{a_sink}");
    let sinks = server.pactl(&["list", "sinks"]).unwrap();
    assert!(
        sinks.contains(&format!("gst-wayland-display.lobby = \"{a}\"")),
        "{sinks}"
    );
    assert!(host.lobby(&a)["audio"]["error"].is_null());
    // Metrics say which lobbies have audio, and their sinks.
    let (status, metrics) = host.api_raw("GET", "/metrics", None, &[]);
    assert_eq!(status, 200);
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("gwd_lobbies_with_audio 2"), "{metrics}");
    assert!(
        metrics.contains(&format!(
            "gwd_lobby_audio{{lobby=\"{a}\",sink=\"{a_sink}\"}} 1"
        )),
        "{metrics}"
    );

    // Both apps play at once for a while.
    wait_until("both files hold audio", || {
        [&a_file, &b_file]
            .iter()
            .all(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 40_000))
    });
    host.stop(&a);
    host.stop(&b);
    host.wait_state(&a, "stopped");
    host.wait_state(&b, "stopped");

    for (file, own, other) in [(&a_file, 440.0, 880.0), (&b_file, 880.0, 440.0)] {
        let audio = decode_audio(file).unwrap();
        assert_eq!(audio.rate, 48_000);
        assert_eq!(audio.channels, 2);
        let window = last_second(&audio);
        let peak = spectral_peak(window, audio.rate, 100.0, 2000.0, 5.0);
        assert!(
            (peak - own).abs() <= 5.0,
            "{}: peak at {peak} Hz",
            file.display()
        );
        let (mine, theirs) = (
            share_of(window, audio.rate, own),
            share_of(window, audio.rate, other),
        );
        assert!(
            mine > 0.5,
            "{}: {own} Hz holds {mine} of the energy",
            file.display()
        );
        assert!(
            theirs < 0.001,
            "{}: cross-talk, {other} Hz holds {theirs} of the energy",
            file.display()
        );
    }
    // Both sinks are gone; the other program's stays.
    assert_eq!(server.counts(), before);
    assert!(server.sink_names().contains(&"someone-elses".to_owned()));
}

#[test]
fn no_sink_outlives_its_lobby() {
    let server = shared_server_with_a_foreign_sink();
    let before = server.counts();
    let (dir, host) = host_on(&server);

    // Fifty lobbies, one after the other, stopped.
    for i in 0..50 {
        let id = host.create(audio_lobby(&format!("cycle-{i}"), "sleep 30", None));
        host.stop(&id);
        host.wait_state(&id, "stopped");
    }
    assert_eq!(server.counts(), before, "after 50 cycles");

    // The app exits: the lobby fails, its sink goes.
    let id = host.create(audio_lobby("exits", "sleep 1", None));
    let lobby = host.wait_end(&id);
    assert_eq!(lobby["state"], "failed", "{lobby}");
    assert_eq!(server.counts(), before, "after an app exit");

    // Its worker is SIGKILLed: the host unloads what it could not.
    let id = host.create(audio_lobby("killed", "sleep 30", None));
    let sink = host.lobby(&id)["audio"]["sink"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(server.sink_names().contains(&sink));
    let worker = host.lobby(&id)["worker_pid"].as_u64().unwrap();
    kill(worker);
    let lobby = host.wait_end(&id);
    assert!(
        lobby["error"].as_str().unwrap().contains("SIGKILL"),
        "{lobby}"
    );
    wait_until("the killed worker's sink is gone", || {
        !server.sink_names().contains(&sink)
    });
    assert_eq!(server.counts(), before, "after a killed worker");
    let (_, metrics) = host.api_raw("GET", "/metrics", None, &[]);
    assert!(
        String::from_utf8_lossy(&metrics).contains("gwd_audio_sinks_swept_total 1"),
        "{}",
        String::from_utf8_lossy(&metrics)
    );

    // The host is SIGKILLed while its worker is stopped (so that it cannot clean up
    // either): the next host, on the same state directory, unloads the sink.
    let id = host.create(audio_lobby("orphan", "sleep 30", None));
    let lobby = host.lobby(&id);
    let sink = lobby["audio"]["sink"].as_str().unwrap().to_owned();
    let worker = lobby["worker_pid"].as_u64().unwrap();
    signal(worker, rustix::process::Signal::STOP);
    kill(u64::from(host.pid()));
    wait_until("the host is gone", || !alive(u64::from(host.pid())));
    assert!(
        server.sink_names().contains(&sink),
        "the sink went with the host"
    );
    drop(host);
    let next = TestHost::start_in(dir.path(), &[], &[("PULSE_SERVER", &server.server())]);
    assert!(
        !server.sink_names().contains(&sink),
        "the restarted host left {sink}"
    );
    assert_eq!(next.lobby(&id)["state"], "failed");
    assert_eq!(server.counts(), before, "after a host crash");
    assert!(server.sink_names().contains(&"someone-elses".to_owned()));
}

#[test]
fn a_server_that_goes_away_fails_only_the_audio() {
    let server = PulseServer::start().unwrap();
    let (_dir, host) = host_on(&server);
    // An app that outlives the server (a player would exit with it, failing the lobby).
    let id = host.create(audio_lobby("survivor", "sleep 30", None));
    wait_until("the sink is listed", || {
        host.lobby(&id)["audio"]["sink"].is_string()
    });
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(20);
    let lobby = loop {
        let lobby = host.lobby(&id);
        if lobby["audio"]["error"].is_string() {
            break lobby;
        }
        assert!(
            Instant::now() < deadline,
            "no audio error reported: {lobby}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(lobby["state"], "ready", "{lobby}");
    let error = lobby["audio"]["error"].as_str().unwrap();
    assert!(error.contains("gwd_audio_src"), "{error}");
    // The video goes on: frames keep coming (workers report them every 5 s).
    let frames = |lobby: &Value| lobby["frames"].as_u64().unwrap_or(0);
    let at_error = frames(&lobby);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = host.lobby(&id);
        assert_eq!(now["state"], "ready", "{now}");
        if frames(&now) >= at_error + 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the video stopped with the audio: {now}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    host.stop(&id);
    let lobby = host.wait_state(&id, "stopped");
    assert!(lobby["error"].is_null(), "{lobby}");
}

#[test]
fn a_lobby_without_audio_settings_has_no_sink() {
    let server = PulseServer::start().unwrap();
    let before = server.counts();
    let (_dir, host) = host_on(&server);
    let mut request = audio_lobby("silent", "sleep 30", None);
    request.as_object_mut().unwrap().remove("audio_settings");
    let id = host.create(request);
    assert!(host.lobby(&id)["audio"].is_null());
    assert_eq!(server.counts(), before);
    // A bad channel count is refused, naming the field.
    let mut request = audio_lobby("bad", "sleep 30", None);
    request["audio_settings"]["channel_count"] = json!(9);
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&request.to_string()));
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("audio_settings.channel_count")
    );
    host.stop(&id);
    host.wait_state(&id, "stopped");
}

fn signal(pid: u64, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

fn kill(pid: u64) {
    signal(pid, rustix::process::Signal::KILL);
}
