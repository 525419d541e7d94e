//! What a run did, counted per connection and added up at the end for the summary.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// How a connection ended.
#[derive(Debug, Clone)]
pub enum End {
    /// The compositor posted `wl_display.error` and closed: the fuzzer's fault, as intended.
    ProtocolError {
        interface: String,
        code: u32,
        message: String,
    },
    /// The compositor closed the connection without saying why.
    Closed,
    /// We ended it: its request budget or the run's time was spent.
    Done,
    /// A `wl_display.sync` went unanswered, or nothing could be sent, for too long.
    Stalled(String),
    /// A local failure (making an fd, say); the connection is dropped.
    Local(String),
}

#[derive(Default)]
pub struct Stats {
    pub requests: u64,
    /// Requests left out by `--skip`.
    pub avoided: u64,
    /// Frame callbacks the compositor answered: a sign the fuzzing reached drawn surfaces.
    pub frames_shown: u64,
    pub connections: u64,
    pub done: u64,
    pub closed_without_error: u64,
    /// (interface, code) → (count, the first message)
    pub errors: BTreeMap<(String, u32), (u64, String)>,
    pub stalls: Vec<String>,
    pub local: Vec<String>,
    pub lobby_gone: Option<String>,
}

impl Stats {
    pub fn record(&mut self, end: &End) {
        match end {
            End::ProtocolError {
                interface,
                code,
                message,
            } => {
                let entry = self
                    .errors
                    .entry((interface.clone(), *code))
                    .or_insert_with(|| (0, message.clone()));
                entry.0 += 1;
            }
            End::Closed => self.closed_without_error += 1,
            End::Done => self.done += 1,
            End::Stalled(why) => self.stalls.push(why.clone()),
            End::Local(why) => self.local.push(why.clone()),
        }
    }

    pub fn merge(&mut self, other: Stats) {
        self.requests += other.requests;
        self.avoided += other.avoided;
        self.frames_shown += other.frames_shown;
        self.connections += other.connections;
        self.done += other.done;
        self.closed_without_error += other.closed_without_error;
        for (key, (count, message)) in other.errors {
            self.errors.entry(key).or_insert((0, message)).0 += count;
        }
        self.stalls.extend(other.stalls);
        self.local.extend(other.local);
        self.lobby_gone = self.lobby_gone.take().or(other.lobby_gone);
    }

    pub fn summary(&self, seed: u64, clients: usize, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(0.001);
        let by_error: u64 = self.errors.values().map(|(n, _)| n).sum();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "gwd-wire-fuzz summary: seed {seed:#x}, {clients} clients, {secs:.1} s"
        );
        let _ = writeln!(
            s,
            "  requests sent: {} ({:.0}/s)",
            self.requests,
            self.requests as f64 / secs
        );
        if self.avoided > 0 {
            let _ = writeln!(s, "  left out by --skip: {}", self.avoided);
        }
        let _ = writeln!(s, "  connections: {}", self.connections);
        let _ = writeln!(
            s,
            "  frame callbacks answered (fuzzed surfaces drawn): {}",
            self.frames_shown
        );
        let _ = writeln!(s, "  disconnected by a protocol error: {by_error}");
        for ((interface, code), (count, message)) in &self.errors {
            let _ = writeln!(
                s,
                "    {interface} error {code}: {count} (e.g. {message:?})"
            );
        }
        let _ = writeln!(
            s,
            "  disconnected without wl_display.error: {}",
            self.closed_without_error
        );
        let _ = writeln!(s, "  ended by the fuzzer: {}", self.done);
        let _ = writeln!(s, "  local failures: {}", self.local.len());
        for why in self.local.iter().take(5) {
            let _ = writeln!(s, "    {why}");
        }
        let _ = writeln!(s, "  stalls: {}", self.stalls.len());
        for why in &self.stalls {
            let _ = writeln!(s, "    {why}");
        }
        let _ = writeln!(
            s,
            "  lobby deaths: {}",
            match &self.lobby_gone {
                Some(why) => format!("1 ({why})"),
                None => "0".to_owned(),
            }
        );
        s
    }
}
