//! Helix's Wolf client, unchanged, against a real host: its create body (recorded in
//! `tests/fixtures/helix-create-lobby.json`, see the README there) with a process runner
//! in place of its docker runner; the PIN guarding the stop and never shown; the listing
//! it searches for its session; the memory and health figures it reads; the Moonlight
//! endpoints it may call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;

use common::{TestHost, WAIT, client, lobby_request};
use serde_json::{Value, json};

const HELIX: &str = include_str!("fixtures/helix-create-lobby.json");

/// The fixture's PIN, as everything that could leak it would write it.
const PIN_FORMS: [&str; 5] = [
    "[7,3,9,1]",
    "[7, 3, 9, 1]",
    "7,3,9,1",
    "7, 3, 9, 1",
    "\"pin\":",
];

/// Requests whose raw answers are kept, to look for the PIN in them afterwards.
struct Recorder<'a> {
    host: &'a TestHost,
    answers: RefCell<Vec<u8>>,
}

impl Recorder<'_> {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string);
        let (status, raw) =
            self.host
                .api_raw(method, path, body.as_deref().map(str::as_bytes), &[]);
        self.answers.borrow_mut().extend_from_slice(&raw);
        self.answers.borrow_mut().push(b'\n');
        let json = serde_json::from_slice(&raw)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into()));
        (status, json)
    }

    fn lobby(&self, id: &str) -> Value {
        let (status, reply) = self.call("GET", &format!("/api/v1/lobbies/{id}"), None);
        assert_eq!(status, 200, "{reply}");
        reply["lobby"].clone()
    }

    fn listed(&self, path: &str, id: &str) -> Option<Value> {
        let (status, reply) = self.call("GET", path, None);
        assert_eq!(status, 200, "{reply}");
        reply["lobbies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .cloned()
    }
}

fn assert_no_pin(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for form in PIN_FORMS {
        assert!(
            !text.contains(form),
            "{what} holds the PIN as {form:?}:\n{text}"
        );
    }
}

/// Every file under `dir`, read.
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((path.display().to_string(), bytes));
        }
    }
    found
}

#[test]
fn helixs_create_body_gets_a_lobby_its_pin_guards_and_no_answer_shows() {
    let host = TestHost::start(&[]);
    let events = host.events();
    let api = Recorder {
        host: &host,
        answers: RefCell::new(Vec::new()),
    };
    let fixture: Value = serde_json::from_str(HELIX).unwrap();
    let pin = fixture["pin"].clone();
    assert_eq!(pin, json!([7, 3, 9, 1]));
    let env = fixture["runner"]["env"].clone();
    let session = env
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.as_str().unwrap().strip_prefix("HELIX_SESSION_ID="))
        .unwrap()
        .to_owned();
    let mut body = fixture.clone();
    body["runner"] = json!({"type": "process", "run_cmd": "weston-simple-shm", "env": env});

    // The create answers once the lobby is ready, as Wolf's does.
    let (status, created) = api.call("POST", "/api/v1/lobbies/create", Some(&body));
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["success"], true, "{created}");
    assert_eq!(created["state"], "ready", "{created}");
    let id = created["lobby_id"].as_str().unwrap().to_owned();

    // Listed in Wolf's shape: Helix finds its session's lobby by HELIX_SESSION_ID in the
    // runner's environment.
    let lobby = api.listed("/api/v1/lobbies", &id).expect("not listed");
    assert_eq!(lobby["state"], "ready", "{lobby}");
    assert_eq!(lobby["started_by_profile_id"], "helix-sessions", "{lobby}");
    assert_eq!(lobby["pin_required"], true, "{lobby}");
    assert!(lobby.get("pin").is_none(), "{lobby}");
    assert_eq!(lobby["runner"]["type"], "process", "{lobby}");
    assert_eq!(lobby["runner"]["run_cmd"], "weston-simple-shm", "{lobby}");
    assert_eq!(lobby["runner"]["env"], env, "{lobby}");
    let found: Vec<&Value> = [&lobby]
        .into_iter()
        .filter(|l| {
            l["runner"]["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str() == Some(&format!("HELIX_SESSION_ID={session}")))
        })
        .collect();
    assert_eq!(found.len(), 1);
    // The empty strings became the host's defaults.
    assert_eq!(lobby["render_node"], "auto", "{lobby}");
    assert!(lobby["runner_render_node"].is_null(), "{lobby}");

    // A missing or wrong PIN does not stop it.
    for stop in [
        json!({"lobby_id": id}),
        json!({"lobby_id": id, "pin": [0, 0, 0, 0]}),
        json!({"lobby_id": id, "pin": [7, 3, 9]}),
        json!({"lobby_id": id, "pin": [7, 3, 9, 1, 0]}),
        json!({"lobby_id": id, "pin": []}),
    ] {
        let (status, reply) = api.call("POST", "/api/v1/lobbies/stop", Some(&stop));
        assert_eq!(status, 403, "{stop}: {reply}");
        assert_eq!(reply["success"], false, "{reply}");
        assert!(reply["error"].as_str().unwrap().contains("PIN"), "{reply}");
        assert_eq!(api.lobby(&id)["state"], "ready", "{stop} stopped it");
    }
    // The right one does.
    let (status, reply) = api.call(
        "POST",
        "/api/v1/lobbies/stop",
        Some(&json!({"lobby_id": id, "pin": pin})),
    );
    assert_eq!(status, 200, "{reply}");
    host.wait_state(&id, "stopped");

    // Ended: gone from the default listing (Helix counts every listed lobby against its
    // cap), still in ?all=true and by id.
    assert!(api.listed("/api/v1/lobbies", &id).is_none());
    let ended = api
        .listed("/api/v1/lobbies?all=true", &id)
        .expect("not in ?all=true");
    assert_eq!(ended["state"], "stopped", "{ended}");
    assert_eq!(api.lobby(&id)["state"], "stopped");

    // The PIN is in no answer, no event, no log and no record.
    let stream = RefCell::new(Vec::new());
    events
        .wait_line(WAIT, |line| {
            stream.borrow_mut().extend_from_slice(line.as_bytes());
            stream.borrow_mut().push(b'\n');
            line.starts_with("data:") && line.contains("\"state\":\"stopped\"")
        })
        .expect("no stopped event");
    let stream = stream.into_inner();
    let stream_text = String::from_utf8_lossy(&stream).into_owned();
    for state in ["starting", "ready", "stopping", "stopped"] {
        assert!(
            stream_text.contains(&format!("event: {state}")),
            "no {state} event:\n{stream_text}"
        );
    }
    assert!(
        stream_text.contains(&format!("HELIX_SESSION_ID={session}")),
        "{stream_text}"
    );
    assert!(
        stream_text.contains("\"pin_required\":true"),
        "{stream_text}"
    );
    assert_no_pin("the event stream", &stream);
    assert_no_pin("the answers", &api.answers.borrow());
    assert_no_pin("the host's log", host.host_log().as_bytes());
    let state_files = files_under(&host.state);
    assert!(
        state_files
            .iter()
            .any(|(path, _)| path.ends_with(&format!("{id}.log"))),
        "no worker log among {:?}",
        state_files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, bytes) in &state_files {
        assert_no_pin(path, bytes);
    }
}

#[test]
fn a_lobby_that_cannot_start_answers_500_with_the_cause_and_wait_false_answers_at_once() {
    let host = TestHost::start(&[]);
    let fixture: Value = serde_json::from_str(HELIX).unwrap();
    let mut body = fixture.clone();
    body["runner"] = json!({"type": "process", "run_cmd": "no-such-sandbox",
        "env": fixture["runner"]["env"]});
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&body.to_string()));
    assert_eq!(status, 500, "{reply}");
    assert_eq!(reply["success"], false, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("\"no-such-sandbox\" not found in PATH"),
        "{reply}"
    );
    let id = reply["lobby_id"].as_str().unwrap();
    assert_eq!(host.lobby(id)["state"], "failed");

    // ?wait=false: at once, starting; then ready as before.
    let id = host.create_nowait(lobby_request("at-once", &client().display().to_string()));
    host.wait_state(&id, "ready");
    let (status, reply) = host.api(
        "POST",
        "/api/v1/lobbies/create?wait=maybe",
        Some(&lobby_request("x", "y").to_string()),
    );
    assert_eq!(status, 400, "{reply}");
    host.stop(&id);
    host.wait_state(&id, "stopped");
}

#[test]
fn memory_and_health_answer_in_wolfs_shape_with_real_figures() {
    let host = TestHost::start(&["--max-lobbies", "1"]);
    let (status, health) = host.api("GET", "/api/v1/system/health", None);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["overall_status"], "healthy", "{health}");
    assert!(health["process_uptime_seconds"].is_u64(), "{health}");
    assert!(
        health["total_thread_count"].as_u64().unwrap() >= 2,
        "{health}"
    );
    assert_eq!(health["stuck_thread_count"], 0, "{health}");
    assert_eq!(health["threads"], json!([]), "{health}");
    assert_eq!(health["can_create_new_pipelines"], true, "{health}");

    let id = host.create(lobby_request("measured", &client().display().to_string()));
    let (status, memory) = host.api("GET", "/api/v1/system/memory", None);
    assert_eq!(status, 200, "{memory}");
    println!("{memory:#}");
    assert_eq!(memory["success"], true);
    assert!(
        memory["process_rss_bytes"].as_u64().unwrap() > 1 << 20,
        "{memory}"
    );
    assert_eq!(memory["gstreamer_buffer_bytes"], 0);
    let total = memory["total_memory_bytes"].as_u64().unwrap();
    let available = memory["available_memory_bytes"].as_u64().unwrap();
    assert!(total > 0 && available > 0 && available <= total, "{memory}");
    assert_eq!(memory["apps"], json!([]));
    assert_eq!(memory["clients"], json!([]));
    let lobbies = memory["lobbies"].as_array().unwrap();
    assert_eq!(lobbies.len(), 1, "{memory}");
    assert_eq!(lobbies[0]["lobby_id"], id.as_str());
    assert_eq!(lobbies[0]["lobby_name"], "measured");
    assert_eq!(lobbies[0]["client_count"], 0);
    // The worker (a GStreamer pipeline) alone is many megabytes.
    let lobby_bytes = lobbies[0]["memory_bytes"].as_u64().unwrap();
    assert!(lobby_bytes > 10 << 20, "{memory}");
    assert_eq!(
        memory["gstreamer_pipelines"],
        json!({"producer_pipelines": 1, "consumer_pipelines": 0, "total_pipelines": 1})
    );
    // This lobby renders in software: no GPU to report.
    assert!(memory["gpu_stats"].is_null(), "{memory}");

    // At --max-lobbies, no new pipelines.
    let (_, health) = host.api("GET", "/api/v1/system/health", None);
    assert_eq!(health["can_create_new_pipelines"], false, "{health}");
    host.stop(&id);
    host.wait_state(&id, "stopped");
    let (_, memory) = host.api("GET", "/api/v1/system/memory", None);
    assert_eq!(memory["lobbies"], json!([]), "{memory}");
}

#[test]
fn moonlight_endpoints_answer_501_whatever_the_method() {
    let host = TestHost::start(&[]);
    for (method, path) in [
        ("POST", "/api/v1/lobbies/join"),
        ("GET", "/api/v1/sessions"),
        ("POST", "/api/v1/sessions/add"),
        ("POST", "/api/v1/sessions/stop"),
        ("GET", "/api/v1/apps"),
        ("POST", "/api/v1/apps/add"),
        ("POST", "/api/v1/apps/delete"),
        ("GET", "/api/v1/pair/pending"),
        ("POST", "/api/v1/pair/client"),
        ("GET", "/api/v1/clients"),
        ("DELETE", "/api/v1/clients/x"),
    ] {
        let body = (method != "GET").then(|| json!({"lobby_id": "x"}).to_string());
        let (status, reply) = host.api(method, path, body.as_deref());
        assert_eq!(status, 501, "{method} {path}: {reply}");
        assert_eq!(reply["success"], false, "{reply}");
        let error = reply["error"].as_str().unwrap();
        assert!(
            error.contains("does not speak Moonlight") && error.contains("sink_pipeline"),
            "{error}"
        );
    }
}
