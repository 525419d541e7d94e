//! Lobbies through a real host (`gst-wayland-display serve` on a Unix socket): how fast one
//! starts (create → ready) and how many 1280x720@30 lobbies with an animating client
//! (weston-simple-damage) this machine holds at full frame rate, with x264 and without
//! encoding.

use std::time::Instant;

use gwd_tests::host::TestHost;
use serde_json::json;

use crate::Options;
use crate::report::{Table, col, percentile};

/// A lobby below this rate no longer keeps up with 30 fps.
const FULL_RATE: f64 = 29.0;

fn request(name: &str, app: &str, encoder: Option<&str>) -> serde_json::Value {
    let mut video = json!({"width": 1280, "height": 720, "refresh_rate": 30,
        "wayland_render_node": "software"});
    if let Some(encoder) = encoder {
        video["encoder_pipeline"] = json!(encoder);
    }
    json!({"name": name, "video_settings": video, "runner": {"type": "process", "run_cmd": app}})
}

pub fn start(opts: &Options) -> Table {
    let mut table = Table::new(
        "lobby_start",
        "Lobby start latency (create → ready), 1280x720@30",
        vec![
            col("runner", "runner and app", 0),
            col("runs", "runs", 0),
            col("p50_ms", "p50 (ms)", 0),
            col("p99_ms", "p99 (ms)", 0),
            col("max_ms", "max (ms)", 0),
        ],
    );
    table.notes.push(
        "From the create request to its answer, which the host sends once the lobby is \
         `ready` (the compositor listens and the app runs: for docker, the container is \
         created and started), one lobby at a time. The docker rows use a local image holding only the test client \
         and its libraries (`gwd_tests::docker::test_image`)."
            .to_owned(),
    );
    let host = TestHost::start(&[]);
    let client = gwd_tests::host::client().display().to_string();
    let process = |app: &str| request("start", app, None);
    let mut rows = vec![
        (
            "process: weston-simple-shm",
            Some(process("weston-simple-shm")),
        ),
        ("process: wayland-test-client", Some(process(&client))),
    ];
    // Without an engine the row says so; the bench does not fail for it.
    let docker = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|out| out.status.success());
    let docker_row = docker.then(|| {
        let mut body = process("unused");
        body["runner"] = json!({"type": "docker", "name": "bench",
            "image": gwd_tests::docker::test_image()});
        body
    });
    rows.push(("docker: wayland-test-client", docker_row));
    for (label, body) in rows {
        let Some(body) = body else {
            table.push(
                json!({"runner": format!("{label} (skipped: no Docker Engine)"),
                "runs": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}),
            );
            continue;
        };
        let mut times: Vec<f64> = (0..opts.lobby_runs)
            .map(|_| {
                let t = Instant::now();
                // The create waits until the lobby is ready (and fails the run if it is not).
                let id = host.create(body.clone());
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                host.stop(&id);
                host.wait_end(&id);
                ms
            })
            .collect();
        let max = times.iter().copied().fold(0.0, f64::max);
        table.push(json!({
            "runner": label,
            "runs": times.len(),
            "p50_ms": percentile(&mut times, 0.5),
            "p99_ms": percentile(&mut times, 0.99),
            "max_ms": max,
        }));
    }
    table
}

pub fn density(opts: &Options) -> Table {
    let mut table = Table::new(
        "lobby_density",
        "Lobbies held at full rate (1280x720@30, weston-simple-damage animating)",
        vec![
            col("encoding", "encoding", 0),
            col("held", "lobbies at >= 29 fps", 0),
            col("steps", "slowest lobby at each step (fps)", 0),
        ],
    );
    table.notes.push(format!(
        "Lobbies are added one at a time; after each, the host's reported rates (workers \
         report every 5 s) are read after {} s. `+` means the run's cap of {} was reached.",
        opts.density_settle.as_secs(),
        opts.density_max
    ));
    let host = TestHost::start(&[]);
    for (label, encoder) in [
        ("x264enc (default)", None),
        (
            "none (frames dropped after the compositor)",
            Some("identity"),
        ),
    ] {
        let (held, steps) = hold(&host, encoder, opts);
        let trace: Vec<String> = steps
            .iter()
            .map(|(n, fps)| format!("{n}: {fps:.1}"))
            .collect();
        let plus = if held == opts.density_max { "+" } else { "" };
        table.push(json!({
            "encoding": label,
            "held": format!("{held}{plus}"),
            "steps": trace.join(", "),
        }));
    }
    table
}

/// Adds lobbies until one falls below [`FULL_RATE`]; how many ran at full rate, and the
/// slowest rate seen at each step.
fn hold(host: &TestHost, encoder: Option<&str>, opts: &Options) -> (usize, Vec<(usize, f64)>) {
    let app = "weston-simple-damage --width=1280 --height=720";
    let mut ids = Vec::new();
    let mut steps = Vec::new();
    let mut held = 0;
    for n in 1..=opts.density_max {
        let id = host.create(request(&format!("dense-{n}"), app, encoder));
        host.wait_state(&id, "ready");
        ids.push(id);
        std::thread::sleep(opts.density_settle);
        let worst = ids
            .iter()
            .map(|id| host.lobby(id)["fps"].as_f64().unwrap_or(0.0))
            .fold(f64::INFINITY, f64::min);
        steps.push((n, worst));
        eprintln!("{n} lobbies: slowest at {worst:.1} fps");
        if worst < FULL_RATE {
            break;
        }
        held = n;
    }
    for id in &ids {
        host.stop(id);
    }
    for id in &ids {
        host.wait_end(id);
    }
    (held, steps)
}
