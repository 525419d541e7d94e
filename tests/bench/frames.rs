//! What a frame costs: `waylanddisplaysrc ! fakesink` at each size, idle, with a small
//! animating client and with a full-screen one, paced and unpaced; commit-to-buffer
//! latency from the full-screen client's frame counter.

use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::{ChildGuard, wait_for_socket};
use serde_json::json;

use crate::probe::{self, SinkProbe};
use crate::report::{Table, col, percentile};
use crate::{Options, floor_ms};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Idle,
    /// weston-simple-shm: a 250x250 window redrawn every frame.
    SimpleShm,
    /// Our test client filling the output, every pixel changing every frame.
    FullScreen,
    /// The same with the element's `passthrough=false`: always composited.
    FullScreenComposed,
    /// Our test client filling the output, only a 16-row band changing each frame.
    FullScreenBand,
    /// `FullScreen` at the element's `scale=2`, the client drawing at the logical size:
    /// every frame scaled up by the renderer.
    FullScreenScaledUp,
    /// `FullScreen` at `scale=2`, the client drawing at the buffer scale it is told:
    /// output pixels, copied.
    FullScreenAtScale,
}

impl Client {
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::SimpleShm => "weston-simple-shm",
            Self::FullScreen => "full-screen animating",
            Self::FullScreenComposed => "full-screen animating, passthrough=false",
            Self::FullScreenBand => "full-screen, 16-row band damaged",
            Self::FullScreenScaledUp => "full-screen animating, scale=2, drawn at 1x",
            Self::FullScreenAtScale => "full-screen animating, scale=2, drawn at 2x",
        }
    }

    fn full_screen(self) -> bool {
        !matches!(self, Self::Idle | Self::SimpleShm)
    }

    fn scale(self) -> u32 {
        match self {
            Self::FullScreenScaledUp | Self::FullScreenAtScale => 2,
            _ => 1,
        }
    }
}

/// A pipeline playing with its client (if any) connected; both stop when it drops.
pub struct Running {
    pipeline: gst::Pipeline,
    probe: SinkProbe,
    client: Option<ChildGuard>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.client.take();
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// `video/x-raw` caps for `format` at `(w, h)`, 60 fps.
pub fn raw_caps(format: &str, (w, h): (u32, u32)) -> String {
    format!("video/x-raw,format={format},width={w},height={h},framerate=60/1")
}

fn start(opts: &Options, size: (u32, u32), client: Client, paced: bool) -> Running {
    launch(
        opts,
        client,
        paced,
        &raw_caps("BGRx", size),
        client.full_screen(),
    )
}

/// Plays `waylanddisplaysrc ! DOWNSTREAM ! fakesink` with the element set up for `client`
/// (pass-through, scale) and starts that client. `downstream` begins with the source's
/// caps; `read_counter` reads the test client's frame counter at the sink, which only BGRx
/// buffers there carry.
pub fn launch(
    opts: &Options,
    client: Client,
    paced: bool,
    downstream: &str,
    read_counter: bool,
) -> Running {
    let pipeline = gst::parse::launch(&format!(
        "{source} is-live={paced} passthrough={passthrough} scale={scale} ! {downstream} ! \
         fakesink name=sink sync=false",
        source = opts.source(),
        passthrough = client != Client::FullScreenComposed,
        scale = client.scale(),
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let probe = SinkProbe::attach(&pipeline, read_counter);
    pipeline.set_state(gst::State::Playing).unwrap();
    let (socket, dir) = wait_for_socket(&pipeline.bus().unwrap(), Duration::from_secs(10));
    let client = match client {
        Client::Idle => None,
        Client::SimpleShm => Some(gwd_tests::client("weston-simple-shm", &[], &dir, &socket)),
        Client::FullScreen | Client::FullScreenComposed | Client::FullScreenScaledUp => {
            Some(probe::animating_client(&dir, &socket, false, false))
        }
        Client::FullScreenBand => Some(probe::animating_client(&dir, &socket, true, false)),
        Client::FullScreenAtScale => Some(probe::animating_client(&dir, &socket, false, true)),
    };
    Running {
        pipeline,
        probe,
        client,
    }
}

pub fn run(opts: &Options) -> Table {
    let mut table = Table::new(
        "frames",
        format!("Frame cost, render-node={}", opts.render_node),
        vec![
            col("size", "size", 0),
            col("client", "client", 0),
            col("pacing", "pacing", 0),
            col("fps", "buffers/s", 1),
            col("client_fps", "client frames/s", 1),
            col("cpu_ms_per_frame", "CPU per buffer (ms)", 3),
            col("x_memcpy", "× memcpy", 2),
            col("cpu_percent", "process CPU %", 0),
            col("client_cpu_percent", "client CPU %", 0),
            col("latency_p50_ms", "commit→buffer p50 (ms)", 1),
            col("latency_p99_ms", "p99 (ms)", 1),
        ],
    );
    table.notes.push(format!(
        "CPU is this whole process (compositor, element, fakesink) per buffer reaching the \
         sink, {:.1} s after {:.1} s of warm-up; × memcpy compares it with copying one frame of \
         the same size. Client frames/s counts distinct frames of the full-screen client \
         seen at the sink; latency runs from its commit to the first buffer showing it.",
        opts.seconds.as_secs_f64(),
        opts.warmup.as_secs_f64()
    ));
    for &size in &opts.sizes {
        let floor = floor_ms(size);
        for client in [
            Client::Idle,
            Client::SimpleShm,
            Client::FullScreen,
            Client::FullScreenComposed,
            Client::FullScreenBand,
            Client::FullScreenScaledUp,
            Client::FullScreenAtScale,
        ] {
            for paced in [true, false] {
                let running = start(opts, size, client, paced);
                let row = measure(opts, &running);
                let cpu = row.cpu_ms_per_frame;
                let mut latencies = row.latencies;
                table.push(json!({
                    "size": format!("{}x{}", size.0, size.1),
                    "width": size.0,
                    "height": size.1,
                    "client": client.label(),
                    "pacing": if paced { "60 fps" } else { "unpaced" },
                    "fps": row.fps,
                    "client_fps": row.client_fps,
                    "cpu_ms_per_frame": cpu,
                    "memcpy_ms": floor,
                    "x_memcpy": cpu / floor,
                    "cpu_percent": row.cpu_percent,
                    "client_cpu_percent": row.client_cpu_percent,
                    "latency_samples": latencies.len(),
                    "latency_p50_ms": percentile(&mut latencies, 0.5),
                    "latency_p99_ms": percentile(&mut latencies, 0.99),
                }));
            }
        }
    }
    table
}

pub struct Measured {
    pub fps: f64,
    pub cpu_ms_per_frame: f64,
    pub cpu_percent: f64,
    pub client_fps: Option<f64>,
    pub client_cpu_percent: Option<f64>,
    pub latencies: Vec<f64>,
}

/// Buffers at the sink and CPU of this process (and of the client) over `opts.seconds`,
/// after `opts.warmup`.
pub fn measure(opts: &Options, r: &Running) -> Measured {
    std::thread::sleep(opts.warmup);
    let client_pid = r.client.as_ref().map(|c| c.child.id());
    if let Some(c) = &r.client {
        c.drain_lines();
    }
    r.probe.reset();
    let (cpu0, buffers0, t0) = (
        probe::process_cpu(),
        r.probe.buffers.load(std::sync::atomic::Ordering::Relaxed),
        Instant::now(),
    );
    let client0 = client_pid.map(probe::child_cpu);
    std::thread::sleep(opts.seconds);
    let cpu = probe::process_cpu() - cpu0;
    let buffers = r.probe.buffers.load(std::sync::atomic::Ordering::Relaxed) - buffers0;
    let wall = t0.elapsed().as_secs_f64();
    let client_cpu_percent = client_pid
        .zip(client0)
        .map(|(pid, c0)| (probe::child_cpu(pid) - c0).as_secs_f64() / wall * 100.0);
    let arrivals = r.probe.take_arrivals();
    let commits = r
        .client
        .as_ref()
        .map(|c| c.drain_lines())
        .unwrap_or_default();
    let latencies = probe::commit_latencies_ms(&commits, &arrivals);
    let counted = commits.iter().any(|l| l.starts_with("commit "));
    Measured {
        fps: buffers as f64 / wall,
        cpu_ms_per_frame: cpu.as_secs_f64() * 1000.0 / buffers.max(1) as f64,
        cpu_percent: cpu.as_secs_f64() / wall * 100.0,
        client_fps: counted.then(|| arrivals.len() as f64 / wall),
        client_cpu_percent,
        latencies,
    }
}

/// PLAYING to the first buffer at the sink, a new pipeline each run.
pub fn startup(opts: &Options) -> Table {
    let mut table = Table::new(
        "startup",
        "Start to first buffer (set_state(PLAYING) → first buffer at the sink, 1920x1080@60)",
        vec![
            col("runs", "runs", 0),
            col("p50_ms", "p50 (ms)", 1),
            col("p99_ms", "p99 (ms)", 1),
            col("max_ms", "max (ms)", 1),
        ],
    );
    let mut times = Vec::new();
    for _ in 0..opts.startup_runs {
        let pipeline = gst::parse::launch(&format!(
            "{} ! video/x-raw,width=1920,height=1080,framerate=60/1 ! fakesink name=sink",
            opts.source()
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        pipeline
            .by_name("sink")
            .and_then(|s| s.static_pad("sink"))
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                let _ = tx.try_send(Instant::now());
                gst::PadProbeReturn::Remove
            });
        let t0 = Instant::now();
        pipeline.set_state(gst::State::Playing).unwrap();
        let first = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("no first buffer within 10 s");
        times.push((first - t0).as_secs_f64() * 1000.0);
        pipeline.set_state(gst::State::Null).unwrap();
    }
    table.push(json!({
        "runs": times.len(),
        "p50_ms": percentile(&mut times, 0.5),
        "p99_ms": percentile(&mut times, 0.99),
        "max_ms": percentile(&mut times, 1.0),
    }));
    table
}
