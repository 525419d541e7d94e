//! `gwd-bench [--seconds S] [--runs N] [--render-node NODE]`: what frames cost in this
//! process, and how long a pipeline takes to its first buffer. Prints a Markdown table; no
//! pass/fail.
//!
//! CPU is the whole process (compositor thread, element, sink) from
//! CLOCK_PROCESS_CPUTIME_ID, divided by the buffers that reached the sink. Client CPU is
//! read from /proc (10 ms ticks, so only meaningful over seconds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::{ChildGuard, init, wait_for_socket};

fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// utime + stime of another process, from /proc.
fn child_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Calls `f` for every buffer reaching the element named `sink`.
fn on_sink_buffer(
    pipeline: &gst::Pipeline,
    f: impl Fn() -> gst::PadProbeReturn + Send + Sync + 'static,
) {
    pipeline
        .by_name("sink")
        .and_then(|sink| sink.static_pad("sink"))
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| f());
}

struct Pipeline {
    pipeline: gst::Pipeline,
    buffers: Arc<AtomicU64>,
    socket: String,
    dir: std::path::PathBuf,
}

fn start(node: &str, width: u32, height: u32, fps: u32, live: bool) -> Pipeline {
    let pipeline = gst::parse::launch(&format!(
        "waylanddisplaysrc render-node={node} is-live={live} ! video/x-raw,format=BGRx,\
         width={width},height={height},framerate={fps}/1 ! fakesink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let buffers = Arc::new(AtomicU64::new(0));
    let counter = buffers.clone();
    on_sink_buffer(&pipeline, move || {
        counter.fetch_add(1, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    let (socket, dir) = wait_for_socket(&pipeline.bus().unwrap(), Duration::from_secs(10));
    Pipeline {
        pipeline,
        buffers,
        socket,
        dir,
    }
}

struct Row {
    scenario: String,
    fps: f64,
    cpu_per_frame_ms: f64,
    cpu_percent: f64,
    client_percent: Option<f64>,
}

/// Measures `seconds` of a running pipeline after a one-second warm-up.
fn measure(name: &str, p: &Pipeline, client: Option<&ChildGuard>, seconds: f64) -> Row {
    std::thread::sleep(Duration::from_secs(1));
    let (cpu0, frames0, t0) = (
        process_cpu(),
        p.buffers.load(Ordering::Relaxed),
        Instant::now(),
    );
    let client0 = client.map(|c| child_cpu(c.child.id()));
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (cpu, frames, wall) = (
        process_cpu() - cpu0,
        p.buffers.load(Ordering::Relaxed) - frames0,
        t0.elapsed().as_secs_f64(),
    );
    let client_percent = client
        .zip(client0)
        .map(|(c, c0)| (child_cpu(c.child.id()) - c0).as_secs_f64() / wall * 100.0);
    Row {
        scenario: name.to_owned(),
        fps: frames as f64 / wall,
        cpu_per_frame_ms: cpu.as_secs_f64() * 1000.0 / frames.max(1) as f64,
        cpu_percent: cpu.as_secs_f64() / wall * 100.0,
        client_percent,
    }
}

fn memcpy_floor_ms(width: usize, height: usize) -> f64 {
    let src = vec![0x5au8; width * height * 4];
    let mut dst = vec![0u8; width * height * 4];
    let runs = 200;
    let t = Instant::now();
    for _ in 0..runs {
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
    }
    t.elapsed().as_secs_f64() * 1000.0 / runs as f64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let mut seconds = 5.0;
    let mut runs = 20;
    let mut node = "software".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds),
            "--runs" => runs = args.next().and_then(|s| s.parse().ok()).unwrap_or(runs),
            "--render-node" => node = args.next().unwrap_or(node),
            _ => {
                eprintln!("usage: gwd-bench [--seconds S] [--runs N] [--render-node NODE]");
                std::process::exit(2);
            }
        }
    }
    init();
    let floor = memcpy_floor_ms(1920, 1080);
    let mut rows = Vec::new();

    let p = start(&node, 1920, 1080, 60, true);
    rows.push(measure("idle, 1920x1080@60", &p, None, seconds));
    let client = ChildGuard::spawn({
        let mut cmd = std::process::Command::new("weston-simple-damage");
        cmd.args(["--width=1920", "--height=1080"])
            .env("WAYLAND_DISPLAY", &p.socket)
            .env("XDG_RUNTIME_DIR", &p.dir)
            .stderr(std::process::Stdio::null());
        cmd
    });
    rows.push(measure(
        "weston-simple-damage full screen, 1920x1080@60",
        &p,
        Some(&client),
        seconds,
    ));
    drop(client);
    p.pipeline.set_state(gst::State::Null).unwrap();

    let p = start(&node, 1920, 1080, 60, false);
    rows.push(measure(
        "idle, 1920x1080, unpaced (is-live=false)",
        &p,
        None,
        seconds,
    ));
    p.pipeline.set_state(gst::State::Null).unwrap();

    println!("render-node={node}; memcpy of one 1920x1080 BGRx frame (the floor): {floor:.3} ms\n");
    println!("| scenario | fps | CPU per frame (ms) | × memcpy | process CPU | client CPU |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.3} | {:.1} | {:.0}% | {} |",
            r.scenario,
            r.fps,
            r.cpu_per_frame_ms,
            r.cpu_per_frame_ms / floor,
            r.cpu_percent,
            r.client_percent
                .map(|c| format!("{c:.0}%"))
                .unwrap_or_else(|| "-".into())
        );
    }

    // Start-up: PLAYING to the first buffer at the sink, new pipeline each run.
    let mut startup = Vec::new();
    for _ in 0..runs {
        let pipeline = gst::parse::launch(&format!(
            "waylanddisplaysrc render-node={node} ! video/x-raw,width=1920,height=1080,framerate=60/1 \
             ! fakesink name=sink"
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        on_sink_buffer(&pipeline, move || {
            let _ = tx.try_send(Instant::now());
            gst::PadProbeReturn::Remove
        });
        let t0 = Instant::now();
        pipeline.set_state(gst::State::Playing).unwrap();
        let first = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("no first buffer");
        startup.push((first - t0).as_secs_f64() * 1000.0);
        pipeline.set_state(gst::State::Null).unwrap();
    }
    startup.sort_by(f64::total_cmp);
    println!(
        "\n| start to first buffer ({runs} runs) | p50 {:.1} ms | p99 {:.1} ms | max {:.1} ms |",
        percentile(&startup, 0.5),
        percentile(&startup, 0.99),
        startup.last().copied().unwrap_or(0.0)
    );
}
