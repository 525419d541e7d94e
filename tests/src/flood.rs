//! Input floods against a host's `/lobbies/input`, over keep-alive connections from several
//! threads: for the host's bounded-work test and the `api-flood` benchmark.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// One keep-alive HTTP/1.1 connection to a Unix socket; requests one at a time, answers
/// read by their `Content-Length`.
pub struct Connection {
    stream: BufReader<UnixStream>,
}

impl Connection {
    pub fn open(socket: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    /// POSTs `body` as JSON; the status and the answer's body. An error means the
    /// connection is no longer usable (the host closed it, or it timed out).
    pub fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: gwd\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {line:?}")))?;
        let mut length = 0usize;
        let mut close = false;
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().map_err(std::io::Error::other)?;
                } else if name.eq_ignore_ascii_case("connection") {
                    close = value.eq_ignore_ascii_case("close");
                }
            }
        }
        let mut answer = vec![0u8; length];
        self.stream.read_exact(&mut answer)?;
        if close {
            return Err(std::io::Error::other("the host closed the connection"));
        }
        Ok((status, answer))
    }
}

/// What a flood's requests were answered.
#[derive(Clone, Debug, Default)]
pub struct FloodStats {
    /// Events in requests answered 200.
    pub accepted_events: u64,
    pub accepted_requests: u64,
    /// Requests answered 429.
    pub refused_requests: u64,
    pub refused_events: u64,
    /// Requests answered otherwise, or not at all.
    pub failed_requests: u64,
    /// One 429 answer, as the host wrote it.
    pub refusal: Option<String>,
    /// One other answer (or the error), as it came.
    pub failure: Option<String>,
}

/// Events per request: as many as a client batching a busy second would send.
pub const EVENTS_PER_REQUEST: usize = 500;

/// Input no queue can coalesce: absolute and relative motion taking turns, with key presses
/// between them.
pub fn mixed_events(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| match i % 4 {
            0 => json!({"type": "MouseMoveAbsolute", "pointer_x": (i % 300) as f64, "pointer_y": 100}),
            1 => json!({"type": "MouseMoveRelative", "pointer_x": 1, "pointer_y": -1}),
            2 => json!({"type": "KeyboardKey", "key": 30, "pressed": true}),
            _ => json!({"type": "KeyboardKey", "key": 30, "pressed": false}),
        })
        .collect()
}

/// Nothing but relative pointer motion, which a queue may fold into one event.
pub fn motion_events(count: usize) -> Vec<Value> {
    (0..count)
        .map(|_| json!({"type": "MouseMoveRelative", "pointer_x": 1, "pointer_y": 1}))
        .collect()
}

#[derive(Default)]
struct Counters {
    accepted_events: AtomicU64,
    accepted_requests: AtomicU64,
    refused_requests: AtomicU64,
    refused_events: AtomicU64,
    failed_requests: AtomicU64,
}

/// Threads sending the same input request to a lobby back to back until [`finish`]ed.
///
/// [`finish`]: Flood::finish
pub struct Flood {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<(Option<String>, Option<String>)>>,
}

impl Flood {
    pub fn start(socket: &Path, lobby_id: &str, threads: usize, events: Vec<Value>) -> Self {
        let count = events.len() as u64;
        let body: Arc<[u8]> = json!({"lobby_id": lobby_id, "events": events})
            .to_string()
            .into_bytes()
            .into();
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let threads = (0..threads)
            .map(|_| {
                let (socket, body, stop, counters) = (
                    PathBuf::from(socket),
                    body.clone(),
                    stop.clone(),
                    counters.clone(),
                );
                std::thread::spawn(move || flood_thread(&socket, &body, count, &stop, &counters))
            })
            .collect();
        Self {
            stop,
            counters,
            threads,
        }
    }

    /// Events accepted so far.
    pub fn accepted_events(&self) -> u64 {
        self.counters.accepted_events.load(Ordering::Relaxed)
    }

    /// Stops the threads (each ends after its request in flight) and counts the answers.
    pub fn finish(mut self) -> FloodStats {
        self.stop.store(true, Ordering::Relaxed);
        let mut stats = FloodStats::default();
        for thread in std::mem::take(&mut self.threads) {
            if let Ok((refusal, failure)) = thread.join() {
                stats.refusal = stats.refusal.or(refusal);
                stats.failure = stats.failure.or(failure);
            }
        }
        let c = &self.counters;
        stats.accepted_events = c.accepted_events.load(Ordering::Relaxed);
        stats.accepted_requests = c.accepted_requests.load(Ordering::Relaxed);
        stats.refused_requests = c.refused_requests.load(Ordering::Relaxed);
        stats.refused_events = c.refused_events.load(Ordering::Relaxed);
        stats.failed_requests = c.failed_requests.load(Ordering::Relaxed);
        stats
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn flood_thread(
    socket: &Path,
    body: &[u8],
    events: u64,
    stop: &AtomicBool,
    counters: &Counters,
) -> (Option<String>, Option<String>) {
    let (mut refusal, mut failure) = (None, None);
    let mut connection = None;
    while !stop.load(Ordering::Relaxed) {
        if connection.is_none() {
            match Connection::open(socket) {
                Ok(c) => connection = Some(c),
                Err(err) => {
                    counters.failed_requests.fetch_add(1, Ordering::Relaxed);
                    failure.get_or_insert_with(|| format!("connect: {err}"));
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let Some(c) = connection.as_mut() else {
            continue;
        };
        match c.post("/api/v1/lobbies/input", body) {
            Ok((200, _)) => {
                counters.accepted_requests.fetch_add(1, Ordering::Relaxed);
                counters
                    .accepted_events
                    .fetch_add(events, Ordering::Relaxed);
            }
            Ok((429, answer)) => {
                counters.refused_requests.fetch_add(1, Ordering::Relaxed);
                counters.refused_events.fetch_add(events, Ordering::Relaxed);
                refusal.get_or_insert_with(|| String::from_utf8_lossy(&answer).into_owned());
            }
            Ok((status, answer)) => {
                counters.failed_requests.fetch_add(1, Ordering::Relaxed);
                failure.get_or_insert_with(|| {
                    format!("{status}: {}", String::from_utf8_lossy(&answer))
                });
            }
            Err(err) => {
                counters.failed_requests.fetch_add(1, Ordering::Relaxed);
                failure.get_or_insert_with(|| err.to_string());
                connection = None;
            }
        }
    }
    (refusal, failure)
}

/// A process's resident memory in MB: now (`VmRSS`) and its peak so far (`VmHWM`).
pub fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .map_or(0.0, |kb: f64| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
