//! The lobby host against real clients, over its real Unix socket: the lifecycle, faults,
//! malformed requests, and the TCP token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{TestHost, WAIT, alive, client, lobby_request};
use serde_json::json;

#[test]
fn lobby_lifecycle_with_a_real_client() {
    let host = TestHost::start(&[]);
    let events = host.events();
    let run_cmd = format!(
        "echo \"app env: WAYLAND_DISPLAY=$WAYLAND_DISPLAY XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR GWD_TEST=$GWD_TEST\"; exec {}",
        client().display()
    );
    let id = host.create(lobby_request("lifecycle", &run_cmd));

    // Ready, through the event stream and the listing.
    events.expect_line(WAIT, "event: starting");
    events.expect_line(WAIT, "event: ready");
    let lobby = host.wait_state(&id, "ready");
    let display = lobby["wayland_display"].as_str().unwrap().to_owned();
    assert!(display.starts_with("wayland-"), "{lobby}");
    assert_eq!(lobby["encoder"], "x264enc");
    let (status, list) = host.api("GET", "/api/v1/lobbies", None);
    assert_eq!(status, 200);
    assert!(
        list["lobbies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == id.as_str() && l["state"] == "ready")
    );

    // The app runs with the lobby's socket in its environment.
    let runtime = host.runtime.display().to_string();
    host.wait_log(
        &id,
        &format!("app env: WAYLAND_DISPLAY={display} XDG_RUNTIME_DIR={runtime} GWD_TEST=1"),
    );
    host.wait_log(&id, "drawn 320 240");
    let app_pid = lobby["app_pid"].as_u64().unwrap();
    let worker_pid = lobby["worker_pid"].as_u64().unwrap();
    assert!(alive(app_pid) && alive(worker_pid));

    // The screenshot shows the client's quadrants, and input reaches it.
    host.check_test_client(&id);

    // Stop: stopped, socket gone, nothing left running.
    host.stop(&id);
    events.expect_line(WAIT, "event: stopping");
    events.expect_line(WAIT, "event: stopped");
    let lobby = host.wait_state(&id, "stopped");
    assert!(lobby["error"].is_null(), "{lobby}");
    assert!(!host.runtime.join(&display).exists(), "socket left behind");
    assert!(
        !host.runtime.join(format!("{display}.lock")).exists(),
        "lock left behind"
    );
    assert!(!alive(app_pid), "the app outlived its lobby");
    assert!(!alive(worker_pid), "the worker outlived its lobby");
    assert!(common::lobby_children(host.pid()).is_empty());
    // The record is gone too.
    assert_eq!(
        std::fs::read_dir(host.state.join("lobbies"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count(),
        0
    );
}

#[test]
fn killed_worker_fails_the_lobby_and_is_cleaned_up() {
    let host = TestHost::start(&[]);
    let id = host.create(lobby_request("doomed", &client().display().to_string()));
    let lobby = host.wait_state(&id, "ready");
    let display = lobby["wayland_display"].as_str().unwrap().to_owned();
    let (worker, app) = (
        lobby["worker_pid"].as_u64().unwrap(),
        lobby["app_pid"].as_u64().unwrap(),
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(worker as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let lobby = host.wait_end(&id);
    assert_eq!(lobby["state"], "failed", "{lobby}");
    assert!(
        lobby["error"]
            .as_str()
            .unwrap()
            .contains("killed by SIGKILL"),
        "{lobby}"
    );
    // Its socket (no longer locked by anyone) was swept, its app ended.
    assert!(
        !host.runtime.join(&display).exists(),
        "the dead lobby's socket was not swept"
    );
    assert!(!alive(app));
    // The host carries on.
    let next = host.create(lobby_request("next", &client().display().to_string()));
    host.wait_state(&next, "ready");
    host.stop(&next);
    host.wait_state(&next, "stopped");
}

/// The create waits, so a lobby that fails answers 500 with the cause, and is listed
/// failed with the same cause.
fn assert_fails(host: &TestHost, request: serde_json::Value, needle: &str) {
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&request.to_string()));
    assert_eq!(status, 500, "{reply}");
    assert_eq!(reply["success"], false, "{reply}");
    let error = reply["error"].as_str().unwrap();
    assert!(error.contains(needle), "expected {needle:?} in {error:?}");
    let lobby = host.lobby(reply["lobby_id"].as_str().unwrap());
    assert_eq!(lobby["state"], "failed", "{lobby}");
    assert_eq!(lobby["error"].as_str(), Some(error), "{lobby}");
}

/// A fault that may come just after the lobby was ready (then the create answered 200):
/// created with `?wait=false`, the lobby ends failed with the cause.
fn assert_fails_later(host: &TestHost, request: serde_json::Value, needle: &str) {
    let id = host.create_nowait(request);
    let lobby = host.wait_end(&id);
    assert_eq!(lobby["state"], "failed", "{lobby}");
    let error = lobby["error"].as_str().unwrap();
    assert!(error.contains(needle), "expected {needle:?} in {error:?}");
}

#[test]
fn lobby_faults_end_as_failed_with_the_cause() {
    let host = TestHost::start(&[]);
    // An app that exits at once (the lobby may be ready for a moment before).
    assert_fails_later(
        &host,
        lobby_request("quitter", "true"),
        "the app exited (exit status 0)",
    );
    // A runner command that does not exist.
    assert_fails(
        &host,
        lobby_request("typo", "no-such-game --fullscreen"),
        "\"no-such-game\" not found in PATH",
    );
    // An encoder element that does not exist.
    let mut request = lobby_request("bad-encoder", &client().display().to_string());
    request["video_settings"]["encoder_pipeline"] = json!("nosuchenc");
    assert_fails(&host, request, "no element \"nosuchenc\"");
    // An encoder that errors mid-stream.
    let mut request = lobby_request("broken-encoder", &client().display().to_string());
    request["video_settings"]["encoder_pipeline"] = json!("identity error-after=15");
    assert_fails_later(&host, request, "identity");
    // The host is fine.
    let (status, health) = host.api("GET", "/api/v1/system/health", None);
    assert_eq!(status, 200);
    assert_eq!(health["lobbies"]["failed"], 4, "{health}");
    assert!(common::lobby_children(host.pid()).is_empty());
}

#[test]
fn malformed_requests_get_clear_errors_and_the_host_keeps_serving() {
    let host = TestHost::start(&[]);
    let cases: Vec<(&str, &str, Option<String>, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/lobbies/create",
            Some("{not json".into()),
            400,
            "invalid JSON",
        ),
        (
            "POST",
            "/api/v1/lobbies/create",
            Some(
                lobby_request("x", "y")
                    .to_string()
                    .replace("\"width\":320", "\"width\":\"wide\""),
            ),
            400,
            "video_settings.width",
        ),
        (
            "POST",
            "/api/v1/lobbies/create",
            Some(json!({"name": "x"}).to_string()),
            400,
            "missing field",
        ),
        (
            "POST",
            "/api/v1/lobbies/create",
            Some({
                let mut r = lobby_request("x", "y");
                r["runner"]["type"] = json!("vm");
                r.to_string()
            }),
            400,
            "runner.type",
        ),
        (
            "POST",
            "/api/v1/lobbies/create",
            Some(format!("{{\"name\": \"{}\"}}", "x".repeat(100_000))),
            413,
            "larger than",
        ),
        (
            "POST",
            "/api/v1/lobbies/stop",
            Some(json!({"lobby_id": "nope"}).to_string()),
            404,
            "no lobby with id",
        ),
        (
            "POST",
            "/api/v1/lobbies/stop",
            Some(json!({"lobby": 1}).to_string()),
            400,
            "lobby_id",
        ),
        ("GET", "/api/v1/lobbies/nope", None, 404, "no lobby with id"),
        (
            "GET",
            "/api/v1/lobbies/nope/screenshot",
            None,
            404,
            "no lobby with id",
        ),
        (
            "POST",
            "/api/v1/lobbies/input",
            Some(json!({"lobby_id": "nope", "events": []}).to_string()),
            404,
            "no lobby with id",
        ),
        (
            "POST",
            "/api/v1/lobbies/input",
            Some(json!({"lobby_id": "nope", "events": [{"type": "Jump"}]}).to_string()),
            400,
            "events[0]: unknown input event type",
        ),
        ("GET", "/api/v1/nothing", None, 404, "no such endpoint"),
        (
            "DELETE",
            "/api/v1/lobbies",
            None,
            405,
            "does not take that method",
        ),
    ];
    for (method, path, body, status, needle) in cases {
        let (got, reply) = host.api(method, path, body.as_deref());
        assert_eq!(got, status, "{method} {path}: {reply}");
        assert_eq!(reply["success"], false, "{method} {path}: {reply}");
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(needle),
            "{method} {path}: {error:?} lacks {needle:?}"
        );
    }
    let (status, health) = host.api("GET", "/api/v1/system/health", None);
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, metrics) = host.api_raw("GET", "/metrics", None, &[]);
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("gwd_lobbies{state=\"ready\"} 0"),
        "{metrics}"
    );
    // OpenMetrics names the counter family without `_total`, its sample with it.
    assert!(
        metrics.contains("# TYPE gwd_lobbies_created counter")
            && metrics.contains("\ngwd_lobbies_created_total "),
        "{metrics}"
    );
}

#[test]
fn tcp_needs_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::start_in(
        dir.path(),
        &["--listen-tcp", "127.0.0.1:0"],
        &[("GWD_API_TOKEN", "s3cret")],
    );
    let line = host
        .process
        .expect_line(WAIT, "gst-wayland-display: serving on http://");
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let curl = |headers: &[&str]| {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        let out = cmd
            .arg(format!("http://{addr}/api/v1/system/health"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(curl(&[]), "401");
    assert_eq!(curl(&["Authorization: Bearer wrong"]), "401");
    assert_eq!(curl(&["Authorization: Bearer s3cret"]), "200");
    // The Unix socket needs none: only this user can reach it.
    assert_eq!(host.api("GET", "/api/v1/system/health", None).0, 200);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&host.socket).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn tcp_without_a_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rt")).unwrap();
    let out = std::process::Command::new(common::EXE)
        .args(["serve", "--listen-tcp", "127.0.0.1:0", "--state-dir"])
        .arg(dir.path().join("state"))
        .arg("--runtime-dir")
        .arg(dir.path().join("rt"))
        .env_remove("GWD_API_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bearer token"), "{err}");
    let _ = Duration::ZERO;
}

#[test]
fn a_burst_of_creates_stops_at_the_lobby_cap_and_ended_lobbies_free_room() {
    let host = TestHost::start(&["--max-lobbies", "2"]);
    let body = lobby_request("capped", "sleep 60").to_string();
    // Twelve creates at once: counting and adding are one step, so exactly two get in.
    let api = &host.api;
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| api.api("POST", "/api/v1/lobbies/create", Some(&body))))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let admitted: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, json)| json["lobby_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(admitted.len(), 2, "{answers:?}");
    for (status, json) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 503, "{json}");
        let error = json["error"].as_str().unwrap();
        assert!(
            error.contains("2 lobbies are running") && error.contains("--max-lobbies"),
            "{error}"
        );
    }
    // Health still answers at the cap, and the refused ones were never listed.
    assert_eq!(host.api("GET", "/api/v1/system/health", None).0, 200);
    let (_, list) = host.api("GET", "/api/v1/lobbies", None);
    assert_eq!(list["lobbies"].as_array().unwrap().len(), 2, "{list}");

    host.stop(&admitted[0]);
    host.wait_state(&admitted[0], "stopped");
    let (status, json) = host.api("POST", "/api/v1/lobbies/create", Some(&body));
    assert_eq!(status, 200, "an ended lobby still counted: {json}");
}

/// The soft open-file limit of process `pid`.
fn soft_nofile(pid: u64) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().to_owned()
}

#[test]
fn host_and_worker_raise_the_open_file_limit_and_apps_get_the_original() {
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .map_or("unlimited".to_owned(), |h| h.to_string());
    let dir = tempfile::tempdir().unwrap();
    let limit = format!("--nofile=256:{hard}");
    let host = TestHost::start_under(dir.path(), &["prlimit", &limit, "--"], &[], &[]);
    let raised = |pid: u64| {
        let soft = soft_nofile(pid);
        soft != "256" && (hard == "unlimited" || soft == hard)
    };
    assert!(
        raised(u64::from(host.pid())),
        "host: {}",
        soft_nofile(u64::from(host.pid()))
    );

    let run_cmd = format!(
        "echo \"app nofile $(ulimit -n)\"; exec {}",
        client().display()
    );
    let id = host.create(lobby_request("fd-limit", &run_cmd));
    let lobby = host.wait_state(&id, "ready");
    let worker = lobby["worker_pid"].as_u64().unwrap();
    assert!(raised(worker), "worker: {}", soft_nofile(worker));
    host.wait_log(&id, "app nofile 256");
}
