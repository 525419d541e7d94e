//! A lobby under an input flood: four threads send input requests back to back for the
//! whole run, over keep-alive connections. What the host accepts and refuses, how much
//! memory the host and the lobby's worker take, the lobby's frame rate meanwhile, and how
//! long a stop takes once the flood ends.

use std::time::{Duration, Instant};

use gwd_tests::flood::{EVENTS_PER_REQUEST, Flood, mixed_events, motion_events, rss_mb};
use gwd_tests::host::{TestHost, lobby_request};
use serde_json::{Value, json};

use crate::Options;
use crate::report::{Table, col};

const THREADS: usize = 4;
const POLL: Duration = Duration::from_millis(500);

/// The lobby's frame counter over the flood, from the rate reports its worker sends every
/// five seconds: frames per second between the first and the last report seen, or the last
/// reported rate when the flood was shorter than two reports.
struct FrameWatch {
    first: Option<(Instant, u64)>,
    last: Option<(Instant, u64)>,
    seen: u64,
    reported_fps: Option<f64>,
}

impl FrameWatch {
    fn new(lobby: &Value) -> Self {
        Self {
            first: None,
            last: None,
            seen: lobby["frames"].as_u64().unwrap_or(0),
            reported_fps: None,
        }
    }

    fn sample(&mut self, lobby: &Value) {
        let frames = lobby["frames"].as_u64().unwrap_or(0);
        if frames != self.seen {
            self.seen = frames;
            self.reported_fps = lobby["fps"].as_f64();
            let now = (Instant::now(), frames);
            self.first.get_or_insert(now);
            self.last = Some(now);
        }
    }

    /// `None` when no report came during the flood.
    fn fps(&self) -> Option<f64> {
        match (self.first, self.last) {
            (Some((t0, f0)), Some((t1, f1))) if t1 > t0 => {
                Some((f1 - f0) as f64 / (t1 - t0).as_secs_f64())
            }
            _ => self.reported_fps,
        }
    }
}

fn scenario(table: &mut Table, name: &str, events: Vec<Value>, seconds: Duration) {
    let host = TestHost::start(&[]);
    let id = host.create(lobby_request("flooded", "weston-simple-shm"));
    let lobby = host.wait_state(&id, "ready");
    let worker = u32::try_from(lobby["worker_pid"].as_u64().unwrap()).unwrap();
    let mut frames = FrameWatch::new(&lobby);

    let flood = Flood::start(&host.socket, &id, THREADS, events);
    let started = Instant::now();
    while started.elapsed() < seconds {
        std::thread::sleep(POLL.min(seconds.saturating_sub(started.elapsed())));
        frames.sample(&host.lobby(&id));
    }
    let stats = flood.finish();
    let flooded = started.elapsed().as_secs_f64();
    let (_, host_peak) = rss_mb(host.pid());
    let (_, worker_peak) = rss_mb(worker);

    let asked = Instant::now();
    host.stop(&id);
    let ended = host.wait_end(&id);
    let stop_ms = asked.elapsed().as_secs_f64() * 1000.0;
    table.push(json!({
        "scenario": name,
        "seconds": flooded,
        "accepted": stats.accepted_events,
        "accepted_per_s": stats.accepted_events as f64 / flooded,
        "refused": stats.refused_events,
        "failed": stats.failed_requests,
        "host_mb": host_peak,
        "worker_mb": worker_peak,
        "fps": frames.fps(),
        "stop_ms": stop_ms,
        "ended": ended["state"],
    }));
    if let Some(failure) = stats.failure {
        table
            .notes
            .push(format!("{name}: a request failed: {failure}"));
    }
}

pub fn run(opts: &Options) -> Table {
    let mut table = Table::new(
        "api_flood",
        format!(
            "An input flood against one lobby ({THREADS} threads, {EVENTS_PER_REQUEST} events \
             a request)"
        ),
        vec![
            col("scenario", "events", 0),
            col("seconds", "flood (s)", 1),
            col("accepted", "accepted", 0),
            col("accepted_per_s", "accepted/s", 0),
            col("refused", "refused (429)", 0),
            col("failed", "failed requests", 0),
            col("host_mb", "host peak RSS (MB)", 1),
            col("worker_mb", "worker peak RSS (MB)", 1),
            col("fps", "lobby fps during the flood", 1),
            col("stop_ms", "stop → stopped (ms)", 0),
            col("ended", "ended", 0),
        ],
    );
    table.notes.push(
        "A host with its defaults; the lobby runs weston-simple-shm at 320x240, 30 fps, \
         x264enc into fakesink. Each thread keeps one connection and sends the same request \
         back to back. `relative motion`: nothing but MouseMoveRelative (which the queues \
         fold into one event); `mixed`: absolute and relative motion and key presses taking \
         turns (which nothing folds). Peak RSS is VmHWM. The lobby's rate comes from its \
         worker's reports (every 5 s); the stop is timed from the request to the `stopped` \
         state, after the flood."
            .to_owned(),
    );
    let seconds = opts.flood_seconds;
    scenario(
        &mut table,
        "relative motion",
        motion_events(EVENTS_PER_REQUEST),
        seconds,
    );
    scenario(
        &mut table,
        "mixed",
        mixed_events(EVENTS_PER_REQUEST),
        seconds,
    );
    table
}
