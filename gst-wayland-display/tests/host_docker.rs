//! The docker runner against a real host and a real Docker Engine: a lobby's app in a
//! container built from this machine's own files. Skipped loudly without an engine, unless
//! GWD_REQUIRE_DOCKER=1 (CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{TestHost, WAIT, alive, lobby_request};
use gwd_tests::docker::{
    LABEL_HOST, LABEL_LOBBY, audio_test_image, available, containers_with, docker, docker_try,
    engine_counts, inspect, test_image,
};
use gwd_tests::media::{decode_audio, spectral_peak};
use gwd_tests::pulse::PulseServer;
use serde_json::{Value, json};

/// The tests here take turns with the Engine: one counts everything the Engine holds, so
/// no other may create containers meanwhile.
static ENGINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn engine_turn() -> std::sync::MutexGuard<'static, ()> {
    ENGINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A docker lobby as Wolf's clients ask for one; `base` is `base_create_json`.
fn docker_request(name: &str, image: &str, base: Value) -> Value {
    let mut body = lobby_request(name, "unused");
    body["runner"] = json!({
        "type": "docker",
        "name": "gwd-test",
        "image": image,
        "mounts": [],
        "env": ["GWD_TEST=1", "GOW_REQUIRED_DEVICES=/dev/input/* /dev/dri/*"],
        "devices": [],
        "ports": [],
        "base_create_json": base.to_string(),
    });
    body
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn kill(pid: u64, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    let _ = rustix::process::kill_process(pid, signal);
}

#[test]
fn a_docker_lobby_shows_its_containers_client_and_is_removed_on_stop() {
    if !available("a_docker_lobby_shows_its_containers_client_and_is_removed_on_stop") {
        return;
    }
    let _turn = engine_turn();
    let image = test_image();
    let host = TestHost::start(&[]);
    // Not root, as Games on Whales images run their apps: the socket must still be usable.
    let base = json!({"User": "1000:1000", "HostConfig": {"IpcMode": "private"},
                      "Labels": {"team": "tests"}});
    let id = host.create(docker_request("docker", &image, base));
    let lobby = host.lobby(&id);
    let name = lobby["container"]
        .as_str()
        .expect("container name")
        .to_owned();
    assert_eq!(name, format!("gwd-test_{id}"));
    assert!(lobby["app_pid"].is_null(), "{lobby}");

    // The container: labelled, the lobby's socket mounted, the environment set, our own
    // base_create_json kept.
    let inspected = inspect(&name).expect("the container exists");
    let labels = &inspected["Config"]["Labels"];
    assert_eq!(labels[LABEL_LOBBY], id.as_str());
    assert!(labels[LABEL_HOST].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(labels["team"], "tests");
    assert_eq!(inspected["HostConfig"]["IpcMode"], "private");
    assert_eq!(inspected["Config"]["User"], "1000:1000");
    let display = lobby["wayland_display"].as_str().unwrap();
    let env: Vec<&str> = inspected["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for expected in [
        format!("WAYLAND_DISPLAY={display}"),
        "XDG_RUNTIME_DIR=/tmp/sockets".to_owned(),
        "GAMESCOPE_WIDTH=320".to_owned(),
        "GWD_TEST=1".to_owned(),
    ] {
        assert!(
            env.contains(&expected.as_str()),
            "{expected} not in {env:?}"
        );
    }
    // Host input devices never go to a lobby's container.
    let devices = inspected["HostConfig"]["Devices"].to_string();
    assert!(!devices.contains("/dev/input"), "{devices}");
    assert!(
        inspected["HostConfig"]["Binds"]
            .to_string()
            .contains(&format!("/tmp/sockets/{display}")),
        "{}",
        inspected["HostConfig"]["Binds"]
    );

    // Its client draws (its output is in the lobby's log) and is on screen.
    host.wait_log(&id, "[app] drawn 320 240");
    host.check_test_client(&id);

    // Stop removes the container.
    host.stop(&id);
    let lobby = host.wait_state(&id, "stopped");
    assert!(lobby["error"].is_null(), "{lobby}");
    assert!(inspect(&name).is_none(), "container {name} left behind");
    assert!(containers_with(&[&format!("{LABEL_LOBBY}={id}")]).is_empty());
}

#[test]
fn a_killed_workers_container_is_removed_by_the_host() {
    if !available("a_killed_workers_container_is_removed_by_the_host") {
        return;
    }
    let _turn = engine_turn();
    let image = test_image();
    let host = TestHost::start(&[]);
    let id = host.create(docker_request("killed", &image, json!({})));
    let lobby = host.lobby(&id);
    let name = lobby["container"].as_str().unwrap().to_owned();
    assert!(inspect(&name).is_some());
    kill(
        lobby["worker_pid"].as_u64().unwrap(),
        rustix::process::Signal::KILL,
    );
    let lobby = host.wait_end(&id);
    assert_eq!(lobby["state"], "failed", "{lobby}");
    assert!(inspect(&name).is_none(), "container {name} left behind");
    let (_, metrics) = host.api_raw("GET", "/metrics", None, &[]);
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains("gwd_containers_swept_total 1"),
        "{metrics}"
    );
}

#[test]
fn a_restarted_host_removes_its_previous_runs_containers_and_no_others() {
    if !available("a_restarted_host_removes_its_previous_runs_containers_and_no_others") {
        return;
    }
    let _turn = engine_turn();
    let image = test_image();
    let root = tempfile::Builder::new()
        .prefix("gwd-host")
        .tempdir()
        .unwrap();
    let mut host = TestHost::start_in(root.path(), &[], &[]);
    let id = host.create(docker_request("crash", &image, json!({})));
    let lobby = host.lobby(&id);
    let name = lobby["container"].as_str().unwrap().to_owned();
    let instance = inspect(&name).unwrap()["Config"]["Labels"][LABEL_HOST]
        .as_str()
        .unwrap()
        .to_owned();

    // Containers that are not this host's: unlabelled, and another host instance's.
    let tag = std::process::id();
    let unlabelled = format!("gwd-test-unlabelled-{tag}");
    let foreign = format!("gwd-test-foreign-{tag}");
    docker(&["create", "--name", &unlabelled, &image]);
    docker(&[
        "create",
        "--name",
        &foreign,
        "--label",
        &format!("{LABEL_HOST}=someone-else"),
        "--label",
        &format!("{LABEL_LOBBY}=theirs"),
        &image,
    ]);

    // The host crashes, and its worker dies with it before it could clean up: frozen
    // first, so that the parent-death SIGTERM cannot make it remove its container.
    let worker = lobby["worker_pid"].as_u64().unwrap();
    kill(worker, rustix::process::Signal::STOP);
    kill(u64::from(host.pid()), rustix::process::Signal::KILL);
    host.process.wait_exit(WAIT);
    kill(worker, rustix::process::Signal::KILL);
    wait_until("the worker is gone", || !alive(worker));
    assert!(
        inspect(&name).is_some(),
        "the container should have outlived its host"
    );

    let restarted = TestHost::start_in(root.path(), &[], &[]);
    wait_until("the previous run's container is removed", || {
        inspect(&name).is_none()
    });
    assert_eq!(restarted.lobby(&id)["state"], "failed");
    assert!(
        inspect(&unlabelled).is_some(),
        "an unlabelled container was touched"
    );
    assert!(
        inspect(&foreign).is_some(),
        "another host's container was touched"
    );
    assert!(containers_with(&[&format!("{LABEL_HOST}={instance}")]).is_empty());
    for other in [&unlabelled, &foreign] {
        docker(&["rm", "-f", other]);
    }
}

#[test]
fn a_missing_image_or_an_exiting_container_fails_the_lobby_clearly() {
    if !available("a_missing_image_or_an_exiting_container_fails_the_lobby_clearly") {
        return;
    }
    let _turn = engine_turn();
    let image = test_image();
    let host = TestHost::start(&[]);

    let missing = "gwd-test-no-such-image:0";
    assert!(docker_try(&["image", "inspect", missing]).is_none());
    // Wolf's answer: the create waits and says why the lobby could not start.
    let body = docker_request("missing", missing, json!({}));
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&body.to_string()));
    assert_eq!(status, 500, "{reply}");
    let lobby = host.lobby(reply["lobby_id"].as_str().unwrap());
    assert_eq!(lobby["state"], "failed");
    let error = reply["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("image \"{missing}\" is not on this host")),
        "{error}"
    );

    let exiting = json!({"Cmd": ["/bin/sh", "-c", "echo last words; exit 3"]});
    let id = host.create_nowait(docker_request("exiting", &image, exiting));
    let lobby = host.wait_end(&id);
    assert_eq!(lobby["state"], "failed");
    let error = lobby["error"].as_str().unwrap();
    assert!(error.contains("exited with status 3"), "{error}");
    assert!(error.contains("last words"), "{error}");
    assert!(containers_with(&[&format!("{LABEL_LOBBY}={id}")]).is_empty());

    // A bad base_create_json is the request's fault: 400, nothing created.
    let mut body = docker_request("bad", &image, json!({}));
    body["runner"]["base_create_json"] = json!("{not json");
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&body.to_string()));
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("base_create_json")
    );
}

#[test]
fn twenty_docker_lobbies_leave_no_container_network_or_volume() {
    if !available("twenty_docker_lobbies_leave_no_container_network_or_volume") {
        return;
    }
    let _turn = engine_turn();
    let image = test_image();
    let host = TestHost::start(&[]);
    let before = engine_counts();
    // With a volume each, which must go with its container.
    let base = json!({"Volumes": {"/scratch": {}}});
    for round in 0..4 {
        let ids: Vec<String> = (0..5)
            .map(|i| {
                host.create_nowait(docker_request(
                    &format!("many-{round}-{i}"),
                    &image,
                    base.clone(),
                ))
            })
            .collect();
        for id in &ids {
            host.wait_state(id, "ready");
        }
        for id in &ids {
            host.stop(id);
        }
        for id in &ids {
            assert_eq!(host.wait_end(id)["state"], "stopped");
        }
    }
    assert_eq!(engine_counts(), before, "(containers, networks, volumes)");
    assert!(common::lobby_children(host.pid()).is_empty());
}

/// Helix's recorded create body (tests/fixtures), docker runner and all: only what cannot
/// exist on this machine is swapped (its image for the test image, its workspace volume for
/// a temporary directory, its compose network for the default one) or dropped (its nofile
/// ulimit of 65536, above what this machine's Docker may grant).
#[test]
fn helixs_docker_body_becomes_a_ready_lobby_that_its_pin_guards() {
    if !available("helixs_docker_body_becomes_a_ready_lobby_that_its_pin_guards") {
        return;
    }
    let _turn = engine_turn();
    let image = test_image();
    let host = TestHost::start(&[]);
    let mut body: Value =
        serde_json::from_str(include_str!("fixtures/helix-create-lobby.json")).unwrap();
    let work = tempfile::Builder::new()
        .prefix("gwd-helix-work")
        .tempdir()
        .unwrap();
    body["runner"]["image"] = json!(image);
    body["runner"]["mounts"] = json!([format!("{}:/home/retro/work", work.path().display())]);
    let mut base: Value =
        serde_json::from_str(body["runner"]["base_create_json"].as_str().unwrap()).unwrap();
    let host_config = base["HostConfig"].as_object_mut().unwrap();
    host_config.remove("NetworkMode");
    host_config.remove("Ulimits");
    body["runner"]["base_create_json"] = json!(base.to_string());
    let pin = body["pin"].clone();

    // The create answers once the container runs (Wolf's behaviour).
    let (status, reply) = host.api("POST", "/api/v1/lobbies/create", Some(&body.to_string()));
    assert_eq!(status, 200, "{reply}");
    let id = reply["lobby_id"].as_str().unwrap().to_owned();
    let lobby = host.lobby(&id);
    assert_eq!(lobby["state"], "ready");
    assert_eq!(lobby["runner"]["type"], "docker");
    assert_eq!(lobby["runner"]["image"], image.as_str());
    assert_eq!(lobby["pin_required"], true);
    let name = lobby["container"].as_str().unwrap().to_owned();
    let inspected = inspect(&name).unwrap();
    let caps = inspected["HostConfig"]["CapAdd"].to_string();
    assert!(
        caps.contains("SYS_ADMIN") && caps.contains("MKNOD"),
        "{caps}"
    );
    assert_eq!(inspected["HostConfig"]["IpcMode"], "host");
    assert!(
        inspected["Config"]["Env"]
            .to_string()
            .contains("HELIX_SESSION_ID=ses_"),
    );
    host.wait_log(&id, "[app] drawn 1920 1080");

    // A wrong PIN leaves it alone; the right one stops it and removes the container.
    let stop = |pin: &Value| {
        let body = json!({"lobby_id": id, "pin": pin});
        host.api("POST", "/api/v1/lobbies/stop", Some(&body.to_string()))
    };
    let (status, reply) = stop(&json!([0, 0, 0, 0]));
    assert_eq!(status, 403, "{reply}");
    assert_eq!(host.lobby(&id)["state"], "ready");
    assert!(inspect(&name).is_some());
    let (status, reply) = stop(&pin);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(host.wait_end(&id)["state"], "stopped");
    assert!(inspect(&name).is_none(), "container {name} left behind");
    let (_, listed) = host.api("GET", "/api/v1/lobbies", None);
    assert!(!listed.to_string().contains(&id), "{listed}");
}

/// A docker lobby with audio on a local server: the server's socket is mounted into the
/// container, and the app (paplay, not root) plays into the lobby's own sink, which the
/// lobby records.
#[test]
fn a_docker_lobbys_app_plays_into_its_own_sink() {
    if !available("a_docker_lobbys_app_plays_into_its_own_sink") {
        return;
    }
    let _turn = engine_turn();
    let image = audio_test_image();
    let server = PulseServer::start().expect("a PulseAudio server for the test");
    let sinks_before = server.sink_names();
    let root = tempfile::Builder::new()
        .prefix("gwd-host")
        .tempdir()
        .unwrap();
    let host = TestHost::start_in(root.path(), &[], &[("PULSE_SERVER", &server.server())]);
    let out = tempfile::tempdir().unwrap();
    let ogg = out.path().join("d.ogg");

    // Plays the tone over and over; a paplay that fails ends the container, and with it the
    // lobby, with paplay's complaint as the error.
    let base = json!({
        "User": "1000:1000",
        "Cmd": ["/bin/sh", "-c", "while paplay /tone.wav; do :; done; exit 1"],
    });
    let mut body = docker_request("audio", &image, base);
    body["runner"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("HOME=/tmp"));
    body["audio_settings"] = json!({
        "channel_count": 2,
        "audio_pipeline": format!("oggmux ! filesink location={}", ogg.display()),
    });
    let id = host.create(body);
    let lobby = host.lobby(&id);
    let sink = lobby["audio"]["sink"]
        .as_str()
        .unwrap_or_else(|| panic!("the lobby lists no sink: {lobby}"))
        .to_owned();
    assert!(server.sink_names().contains(&sink), "{sink}");
    let name = lobby["container"].as_str().unwrap().to_owned();

    // The container: the server's socket mounted, the app pointed at it and at the sink.
    let inspected = inspect(&name).expect("the container exists");
    let socket = server.server();
    let socket = socket.strip_prefix("unix:").unwrap();
    let binds = inspected["HostConfig"]["Binds"].to_string();
    assert!(
        binds.contains(&format!(
            "{socket}:/tmp/gst-wayland-display-pulse/native:rw"
        )),
        "{binds}"
    );
    let env: Vec<&str> = inspected["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for expected in [
        "PULSE_SERVER=unix:/tmp/gst-wayland-display-pulse/native".to_owned(),
        format!("PULSE_SINK={sink}"),
    ] {
        assert!(
            env.contains(&expected.as_str()),
            "{expected} not in {env:?}"
        );
    }
    assert_eq!(inspected["Config"]["User"], "1000:1000");

    // The app plays a while (the lobby must not end meanwhile: that is paplay failing).
    wait_until("the recording holds audio", || {
        let lobby = host.lobby(&id);
        assert_eq!(lobby["state"], "ready", "{lobby}\n{}", host.log(&id));
        std::fs::metadata(&ogg).is_ok_and(|m| m.len() > 40_000)
    });
    host.stop(&id);
    let lobby = host.wait_state(&id, "stopped");
    assert!(lobby["error"].is_null(), "{lobby}");
    assert!(inspect(&name).is_none(), "container {name} left behind");

    let audio = decode_audio(&ogg).unwrap();
    assert_eq!(audio.rate, 48_000);
    assert_eq!(audio.channels, 2);
    let n = audio.rate as usize;
    assert!(
        audio.samples.len() > n,
        "{} samples of audio",
        audio.samples.len()
    );
    let last_second = &audio.samples[audio.samples.len() - n..];
    let peak = spectral_peak(last_second, audio.rate, 100.0, 2000.0, 5.0);
    assert!((peak - 440.0).abs() <= 5.0, "peak at {peak} Hz");
    assert_eq!(
        server.sink_names(),
        sinks_before,
        "the lobby's sink is gone"
    );
}
