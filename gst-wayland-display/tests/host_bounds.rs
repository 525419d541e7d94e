//! The host's bounded work and its disk: an input flood is refused once a lobby's queue is
//! full while stop still goes through at once, and a full state directory fails creates
//! with 507 instead of losing their records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{TestHost, client, lobby_children, lobby_request};
use gwd_tests::flood::{EVENTS_PER_REQUEST, Flood, mixed_events, rss_mb};
use serde_json::json;

/// The host's resident memory may grow this far during a flood: its own (about 15 MB), the
/// connections' buffers and a full queue, with room to spare, and far below what an
/// unbounded queue reaches within seconds.
const HOST_RSS_LIMIT_MB: f64 = 150.0;
const FLOOD: Duration = Duration::from_secs(6);
/// A stop must end the lobby within this, flood or not (the stop grace here is 2 s).
const STOP_WITHIN: Duration = Duration::from_secs(5);

#[test]
fn an_input_flood_gets_429_once_the_queue_is_full_and_stop_goes_through_at_once() {
    let host = TestHost::start(&[]);
    let mut request = lobby_request("flooded", "weston-simple-shm");
    request["video_settings"]["encoder_pipeline"] = json!("identity");
    let id = host.create(request);
    let lobby = host.wait_state(&id, "ready");
    let worker = u32::try_from(lobby["worker_pid"].as_u64().unwrap()).unwrap();

    let flood = Flood::start(&host.socket, &id, 4, mixed_events(EVENTS_PER_REQUEST));
    let started = Instant::now();
    let mut host_peak = 0.0f64;
    while started.elapsed() < FLOOD {
        host_peak = host_peak.max(rss_mb(host.pid()).0);
        // An unbounded queue is caught at the limit rather than at the machine's end.
        if host_peak > HOST_RSS_LIMIT_MB {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = flood.finish();
    let (_, worker_peak) = rss_mb(worker);
    eprintln!("flood: {stats:?}; host peak {host_peak:.1} MB; worker peak {worker_peak:.1} MB");

    assert!(
        host_peak <= HOST_RSS_LIMIT_MB,
        "the host grew to {host_peak:.0} MB under the flood ({stats:?})"
    );
    assert!(stats.accepted_events > 0, "{stats:?}");
    assert!(
        stats.refused_requests > 0,
        "no request was refused: the queue is unbounded ({stats:?})"
    );
    assert_eq!(stats.failed_requests, 0, "{stats:?}");
    let refusal = stats.refusal.unwrap();
    assert!(
        refusal.contains("input queue is full") && refusal.contains(&id),
        "{refusal}"
    );

    // The flood is over but the queues may still hold its tail: stop must not wait behind
    // it, nor for the host to kill the worker.
    let asked = Instant::now();
    host.stop(&id);
    let lobby = loop {
        let lobby = host.lobby(&id);
        if lobby["state"] == "stopped" || lobby["state"] == "failed" {
            break lobby;
        }
        assert!(
            asked.elapsed() < STOP_WITHIN,
            "lobby still {} {STOP_WITHIN:?} after the stop",
            lobby["state"]
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(lobby["state"], "stopped", "{lobby}");
    assert!(
        !host.host_log().contains("did not stop in time"),
        "{}",
        host.host_log()
    );
    assert!(lobby_children(host.pid()).is_empty());
}

#[test]
fn screenshots_beyond_two_in_flight_for_a_lobby_get_429() {
    let host = TestHost::start(&[]);
    // One frame a second: each screenshot waits up to a second for the next frame, so a
    // burst of them overlaps.
    let mut request = lobby_request("photographed", &client().display().to_string());
    request["video_settings"]["refresh_rate"] = json!(1);
    request["video_settings"]["encoder_pipeline"] = json!("identity");
    let id = host.create(request);
    host.wait_state(&id, "ready");
    host.wait_log(&id, "drawn 320 240");
    let path = format!("/api/v1/lobbies/{id}/screenshot");
    let api = &host.api;
    let answers: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| api.api_raw("GET", &path, None, &[])))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let taken = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == 429)
        .map(|(_, body)| String::from_utf8_lossy(body).into_owned())
        .collect();
    assert_eq!(
        taken + refused.len(),
        answers.len(),
        "{:?}",
        answers.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    assert!(taken >= 1, "no screenshot was taken");
    assert!(
        !refused.is_empty(),
        "six screenshots were all let in at once"
    );
    assert!(
        refused[0].contains("screenshots already") && refused[0].contains(&id),
        "{}",
        refused[0]
    );
    for (_, png) in answers.iter().filter(|(status, _)| *status == 200) {
        assert_eq!(&png[1..4], b"PNG");
    }
    // The burst is over: the next one is taken.
    assert_eq!(host.api_raw("GET", &path, None, &[]).0, 200);
    host.stop(&id);
    host.wait_state(&id, "stopped");
}

/// `path` as process `pid` sees it: through its root, so inside its mount namespace.
fn seen_by(pid: u32, path: &Path) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/root")).join(path.strip_prefix("/").unwrap())
}

/// Writes to `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = [0x55u8; 1024];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_all())
        .is_ok()
    {}
}

fn health(host: &TestHost) -> serde_json::Value {
    let (status, health) = host.api("GET", "/api/v1/system/health", None);
    assert_eq!(status, 200, "{health}");
    health
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_full_state_directory_fails_creates_with_507_and_health_says_degraded() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: mounting a tmpfs in a private mount namespace needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // The state directory is a tiny tmpfs seen by the host (and its workers) alone.
    let mount = "mkdir -p \"$STATE\" && mount -t tmpfs -o size=128k,mode=0700 tmpfs \"$STATE\" \
                 && exec \"$@\"";
    let host = TestHost::start_under(
        dir.path(),
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            mount,
            "sh",
        ],
        &[],
        &[("STATE", state.to_str().unwrap())],
    );
    let view = seen_by(host.pid(), &state);
    let records = view.join("lobbies");
    assert!(records.is_dir(), "{}", host.host_log());
    let filler = view.join("filler");
    fill(&filler);

    let mut request = lobby_request("on-a-full-disk", "sleep 30");
    request["video_settings"]["encoder_pipeline"] = json!("identity");
    let body = request.to_string();
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&body));
    assert_eq!(status, 507, "{reply}");
    let error = reply["error"].as_str().unwrap();
    let named = state.join("lobbies").display().to_string();
    assert!(
        error.contains(&named) && error.contains("No space left on device"),
        "{error}"
    );
    // Nothing runs for it, nothing lists it, nothing half-written is left.
    let (_, list) = host.api("GET", "/api/v1/lobbies", None);
    assert_eq!(list["lobbies"], json!([]), "{list}");
    assert!(lobby_children(host.pid()).is_empty());
    assert_eq!(temp_files(&records), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(&records).unwrap().count(), 0);
    let degraded = health(&host);
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    let reason = degraded["reason"].as_str().unwrap();
    assert!(
        reason.contains(&named) && reason.contains("No space left on device"),
        "{reason}"
    );

    // Space again: health recovers by itself, and creates work and are recorded.
    std::fs::remove_file(&filler).unwrap();
    let recovered = health(&host);
    assert_eq!(recovered["status"], "ok", "{recovered}");
    assert!(recovered["reason"].is_null(), "{recovered}");
    let id = host.create(request);
    host.wait_state(&id, "ready");
    assert!(records.join(format!("{id}.json")).is_file());
    assert_eq!(temp_files(&records), Vec::<String>::new());
    host.stop(&id);
    host.wait_state(&id, "stopped");
    assert_eq!(health(&host)["status"], "ok");
}
