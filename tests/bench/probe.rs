//! What a benchmark reads while a pipeline runs: CPU clocks, buffers reaching the sink, the
//! frame counter our test client stamps into pixel (0,0), and the test client itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gwd_tests::ChildGuard;

/// CPU time of this whole process: compositor thread, element, sink, everything.
pub fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// utime + stime of another process from /proc (10 ms ticks: meaningful over seconds).
pub fn child_cpu(pid: u32) -> Duration {
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

/// CLOCK_MONOTONIC in nanoseconds: the clock the test client stamps its commits with.
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Counts buffers at the element named `sink` and, with `read_counter`, notes when each new
/// value of the test client's frame counter first arrives.
#[derive(Clone, Default)]
pub struct SinkProbe {
    pub buffers: Arc<AtomicU64>,
    /// (counter, CLOCK_MONOTONIC ns) for each counter value, in arrival order.
    arrivals: Arc<Mutex<Vec<(u32, u64)>>>,
    /// (sink running time − PTS) in ns, per buffer: latency through the pipeline.
    pts_lag: Arc<Mutex<Vec<u64>>>,
}

impl SinkProbe {
    pub fn attach(pipeline: &gst::Pipeline, read_counter: bool) -> Self {
        let probe = Self::default();
        let sink = pipeline
            .by_name("sink")
            .expect("the pipeline has no `sink`");
        let pad = sink.static_pad("sink").expect("sink has no sink pad");
        let this = probe.clone();
        let last = AtomicU32::new(u32::MAX);
        let element = sink.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            this.buffers.fetch_add(1, Ordering::Relaxed);
            let Some(buffer) = info.buffer() else {
                return gst::PadProbeReturn::Ok;
            };
            // Through the segment: encoders such as x264enc shift timestamps by 1000 hours
            // and their segment with them.
            let due = pad
                .sticky_event::<gst::event::Segment>(0)
                .zip(buffer.pts())
                .and_then(|(event, pts)| {
                    event
                        .segment()
                        .downcast_ref::<gst::ClockTime>()?
                        .to_running_time(pts)
                });
            if let (Some(due), Some(clock), Some(base)) =
                (due, element.clock(), element.base_time())
            {
                let now = clock.time().saturating_sub(base);
                this.pts_lag
                    .lock()
                    .unwrap()
                    .push(now.nseconds().saturating_sub(due.nseconds()));
            }
            if read_counter && let Ok(map) = buffer.map_readable() {
                // BGRx output of an ARGB8888 client: bytes B, G, R carry the 24-bit counter.
                if let [b, g, r, ..] = map.as_slice() {
                    let counter = *b as u32 | (*g as u32) << 8 | (*r as u32) << 16;
                    if last.swap(counter, Ordering::Relaxed) != counter {
                        this.arrivals
                            .lock()
                            .unwrap()
                            .push((counter, monotonic_ns()));
                    }
                }
            }
            gst::PadProbeReturn::Ok
        });
        probe
    }

    /// Forgets what arrived so far: measuring starts now.
    pub fn reset(&self) {
        self.arrivals.lock().unwrap().clear();
        self.pts_lag.lock().unwrap().clear();
    }

    pub fn take_arrivals(&self) -> Vec<(u32, u64)> {
        std::mem::take(&mut *self.arrivals.lock().unwrap())
    }

    /// Latency samples in milliseconds.
    pub fn take_pts_lag_ms(&self) -> Vec<f64> {
        std::mem::take(&mut *self.pts_lag.lock().unwrap())
            .into_iter()
            .map(|ns| ns as f64 / 1e6)
            .collect()
    }
}

/// Commit-to-sink latencies in milliseconds: client commit lines matched by counter with
/// the first buffer at the sink showing that counter.
pub fn commit_latencies_ms(commit_lines: &[String], arrivals: &[(u32, u64)]) -> Vec<f64> {
    let commits: HashMap<u32, u64> = commit_lines
        .iter()
        .filter_map(|line| {
            let mut words = line.strip_prefix("commit ")?.split_whitespace();
            let frame: u32 = words.next()?.parse().ok()?;
            let at: u64 = words.next()?.parse().ok()?;
            Some((frame & 0x00ff_ffff, at))
        })
        .collect();
    arrivals
        .iter()
        .filter_map(|(counter, at)| {
            let committed = commits.get(counter)?;
            Some(at.saturating_sub(*committed) as f64 / 1e6)
        })
        .collect()
}

/// Our test client, built next to this benchmark.
pub fn test_client_path() -> PathBuf {
    let exe = std::env::current_exe().expect("no path to this executable");
    let path = exe
        .parent()
        .map(|dir| dir.join("wayland-test-client"))
        .unwrap_or_default();
    assert!(
        path.exists(),
        "{} missing: build it with `cargo build -p gwd-tests --bins` (add --release for release figures)",
        path.display()
    );
    path
}

/// A client filling the whole output and redrawing every frame, printing its commits.
/// Our test client animating full screen; with `band`, only a 16-row band changes (and is
/// damaged) each frame instead of every pixel.
pub fn animating_client(dir: &Path, socket: &str, band: bool, scale: bool) -> ChildGuard {
    let mut args = vec!["--animate", "--pattern", "quadrants"];
    if band {
        args.extend(["--damage", "band"]);
    }
    if scale {
        args.extend(["--scale", "buffer"]);
    }
    let client = gwd_tests::client(&test_client_path().to_string_lossy(), &args, dir, socket);
    client.expect_line(Duration::from_secs(10), "drawn");
    client
}
