//! `cargo bench -p gst-wayland-display --bench lobbies [-- --quick]`: how fast a lobby
//! starts (create -> ready, p50/p99) and how many 1280x720@30 lobbies with an animating
//! client (weston-simple-damage) this machine holds at full frame rate, with x264 and with
//! no encoding. Prints Markdown; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::TestHost;
use serde_json::json;

fn request(
    name: &str,
    width: u32,
    height: u32,
    fps: u32,
    app: &str,
    encoder: Option<&str>,
) -> serde_json::Value {
    let mut video = json!({"width": width, "height": height, "refresh_rate": fps, "wayland_render_node": "software"});
    if let Some(encoder) = encoder {
        video["encoder_pipeline"] = json!(encoder);
    }
    json!({"name": name, "video_settings": video, "runner": {"type": "process", "run_cmd": app}})
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn start_latency(host: &TestHost, runs: usize) -> Vec<f64> {
    let mut times = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let id = host.create(request(
            &format!("start-{i}"),
            1280,
            720,
            30,
            "weston-simple-shm",
            None,
        ));
        host.wait_state(&id, "ready");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        host.stop(&id);
        host.wait_end(&id);
    }
    times.sort_by(f64::total_cmp);
    times
}

/// Adds lobbies one by one until one of them falls below `min_fps`; returns how many ran
/// at full rate, and the rates seen at each step.
fn density(
    host: &TestHost,
    encoder: Option<&str>,
    max: usize,
    settle: Duration,
) -> (usize, Vec<(usize, f64)>) {
    let app = "weston-simple-damage --width=1280 --height=720";
    let mut ids = Vec::new();
    let mut steps = Vec::new();
    let mut held = 0;
    for n in 1..=max {
        let id = host.create(request(&format!("dense-{n}"), 1280, 720, 30, app, encoder));
        host.wait_state(&id, "ready");
        ids.push(id);
        // Workers report their rate every 5 s; wait for a full window with all running.
        std::thread::sleep(settle);
        let worst = ids
            .iter()
            .map(|id| host.lobby(id)["fps"].as_f64().unwrap_or(0.0))
            .fold(f64::INFINITY, f64::min);
        steps.push((n, worst));
        eprintln!("{n} lobbies: slowest at {worst:.1} fps");
        if worst < 29.0 {
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

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let host = TestHost::start(&[]);
    let runs = if quick { 3 } else { 20 };
    let latency = start_latency(&host, runs);
    println!(
        "## Lobby start latency (create -> ready), {runs} runs, 1280x720@30, weston-simple-shm\n"
    );
    println!("| p50 | p99 | max |\n|---|---|---|");
    println!(
        "| {:.0} ms | {:.0} ms | {:.0} ms |\n",
        percentile(&latency, 0.5),
        percentile(&latency, 0.99),
        latency.last().unwrap()
    );

    let (max, settle) = if quick {
        (2, Duration::from_secs(6))
    } else {
        (24, Duration::from_secs(11))
    };
    println!("## Lobbies held at full rate (1280x720@30, weston-simple-damage animating)\n");
    println!("| encoding | lobbies at >= 29 fps | slowest lobby at each step |\n|---|---|---|");
    for (label, encoder) in [
        ("x264enc (default)", None),
        (
            "none (frames dropped after the compositor)",
            Some("identity"),
        ),
    ] {
        let (held, steps) = density(&host, encoder, max, settle);
        let trace: Vec<String> = steps
            .iter()
            .map(|(n, fps)| format!("{n}: {fps:.1}"))
            .collect();
        println!(
            "| {label} | {held}{} | {} |",
            if held == max { "+" } else { "" },
            trace.join(", ")
        );
    }
}
