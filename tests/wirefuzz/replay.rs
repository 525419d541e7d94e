//! Replays a script (a connection's dump, or a reproduction cut down by hand) exactly as
//! written, byte for byte and id for id, then asks a fresh connection whether the
//! compositor still answers.
//!
//! A script is one step per line: a request in the log's text form, `connect N` (later
//! lines go to connection N, opened on first use; connection 0 is the default),
//! `truncate #TAG LEN` (resize the memfd sent as `hmemfd#TAG:…`), `sleep MS`, or a comment.
//! In a request, `u@INTERFACE` stands for the global number the compositor advertised for
//! INTERFACE on that connection, so that hand-written reproductions survive renumbering,
//! and `u@event:ID` for the first word of the latest event object ID received (the serial
//! of an `xdg_surface.configure`, say), waited for if none came yet.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fds::Fds;
use crate::protocols;
use crate::wire::{Arg, Conn, ConnError, EventArg, RawEvent, Request, decode};

enum Step {
    Connect(u32),
    /// A request line, parsed when sent, once its `u@INTERFACE` words can be filled in.
    Send(String),
    Truncate {
        tag: u32,
        len: u64,
    },
    Sleep(Duration),
}

fn parse(script: &str) -> Result<Vec<(usize, Step)>, String> {
    let mut steps = Vec::new();
    for (n, line) in script.lines().enumerate() {
        let line = line.trim();
        let at = |e: String| format!("line {}: {e}", n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let step = match words.as_slice() {
            ["connect", id] => Step::Connect(id.parse().map_err(|e| at(format!("{e}")))?),
            ["sleep", ms] => Step::Sleep(Duration::from_millis(
                ms.parse().map_err(|e| at(format!("{e}")))?,
            )),
            ["truncate", tag, len] => Step::Truncate {
                tag: tag
                    .trim_start_matches('#')
                    .parse()
                    .map_err(|e| at(format!("{e}")))?,
                len: len.parse().map_err(|e| at(format!("{e}")))?,
            },
            _ => {
                let check: Vec<String> = words
                    .iter()
                    .map(|w| match w.strip_prefix("u@") {
                        Some(_) => "u0".to_owned(),
                        None => (*w).to_owned(),
                    })
                    .collect();
                if !line.contains("s\"") {
                    check.join(" ").parse::<Request>().map_err(at)?;
                }
                Step::Send(line.to_owned())
            }
        };
        steps.push((n + 1, step));
    }
    Ok(steps)
}

/// A `wl_display.error` among `events`, as text.
fn protocol_error(events: &[RawEvent]) -> Option<String> {
    let sig = protocols::display().events.first()?.signature;
    events
        .iter()
        .filter(|e| e.object == 1 && e.opcode == 0)
        .find_map(|e| match decode(sig, &e.body)?.as_slice() {
            [
                EventArg::Object(id),
                EventArg::Uint(code),
                EventArg::Str(msg),
            ] => Some(format!(
                "wl_display.error: object {id}, code {code}: {}",
                String::from_utf8_lossy(msg.as_deref().unwrap_or_default())
            )),
            _ => None,
        })
}

struct Connection {
    conn: Conn,
    ended: Option<String>,
    /// Ids of the `wl_registry` objects this script made, and the globals they announced.
    registries: Vec<u32>,
    globals: Vec<(u32, String)>,
    /// The first word of the latest event per object.
    first_words: BTreeMap<u32, u32>,
}

impl Connection {
    /// Reads what arrived, waiting up to `wait` for something; notes how the connection
    /// ended, if it did. Reads on while events come, since a close behind them is only
    /// reported by the next read.
    fn poll(&mut self, mut wait: Duration) {
        while self.ended.is_none() {
            match self.conn.read(wait) {
                Ok(events) if events.is_empty() => return,
                Ok(events) => {
                    if let Some(error) = protocol_error(&events) {
                        self.ended = Some(error);
                    }
                    self.note_globals(&events);
                }
                Err(ConnError::Closed) => self.ended = Some("closed without an error".into()),
                Err(e) => self.ended = Some(e.to_string()),
            }
            wait = Duration::ZERO;
        }
    }
}

impl Connection {
    fn note_globals(&mut self, events: &[RawEvent]) {
        use wayland_client::backend::protocol::{AllowNull, ArgumentType};
        let sig = [
            ArgumentType::Uint,
            ArgumentType::Str(AllowNull::No),
            ArgumentType::Uint,
        ];
        for e in events {
            if let Some(word) = e.body.get(..4) {
                let word = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]);
                self.first_words.insert(e.object, word);
            }
            if e.opcode != 0 || !self.registries.contains(&e.object) {
                continue;
            }
            if let Some([EventArg::Uint(name), EventArg::Str(Some(iface)), _]) =
                decode(&sig, &e.body).as_deref()
            {
                let iface = String::from_utf8_lossy(iface).into_owned();
                self.globals.push((*name, iface));
            }
        }
    }

    /// `line` with each `u@INTERFACE` replaced by that global's number, waiting up to 2 s
    /// for the registry to announce it.
    fn resolve(&mut self, line: &str) -> Result<Request, String> {
        let mut words = Vec::new();
        for word in line.split(' ') {
            let Some(iface) = word.strip_prefix("u@") else {
                words.push(word.to_owned());
                continue;
            };
            let deadline = Instant::now() + Duration::from_secs(2);
            let event_of: Option<u32> = iface.strip_prefix("event:").and_then(|id| id.parse().ok());
            loop {
                let value = match event_of {
                    Some(id) => self.first_words.get(&id).copied(),
                    None => self.globals.iter().find(|(_, i)| i == iface).map(|g| g.0),
                };
                if let Some(value) = value {
                    words.push(format!("u{value}"));
                    break;
                }
                if Instant::now() > deadline || self.ended.is_some() {
                    return Err(format!("nothing came for u@{iface}"));
                }
                self.poll(Duration::from_millis(50));
            }
        }
        let req: Request = words.join(" ").parse()?;
        if req.object == 1 && req.opcode == 1 {
            self.registries
                .extend(req.args.iter().filter_map(|a| match a {
                    Arg::NewId(id) => Some(*id),
                    _ => None,
                }));
        }
        Ok(req)
    }
}

/// Runs `script` against `socket`; Ok(true) if the compositor still answered afterwards.
pub fn run(socket: &Path, script: &str) -> Result<bool, String> {
    let steps = parse(script)?;
    let mut fds = Fds::default();
    let mut conns: BTreeMap<u32, Connection> = BTreeMap::new();
    let mut current = 0u32;
    let open = |conns: &mut BTreeMap<u32, Connection>, id: u32| -> Result<(), String> {
        if let std::collections::btree_map::Entry::Vacant(slot) = conns.entry(id) {
            let conn = Conn::connect(socket).map_err(|e| format!("connecting: {e}"))?;
            slot.insert(Connection {
                conn,
                ended: None,
                registries: Vec::new(),
                globals: Vec::new(),
                first_words: BTreeMap::new(),
            });
        }
        Ok(())
    };
    for (line, step) in steps {
        match step {
            Step::Connect(id) => current = id,
            Step::Sleep(d) => std::thread::sleep(d),
            Step::Truncate { tag, len } => {
                fds.truncate(tag, len)
                    .map_err(|e| format!("line {line}: truncate: {e}"))?;
            }
            Step::Send(text) => {
                if let Err(e) = open(&mut conns, current) {
                    println!("line {line}: {e}: the compositor is gone");
                    return Ok(false);
                }
                let Some(c) = conns.get_mut(&current) else {
                    continue;
                };
                if c.ended.is_some() {
                    // What followed on a dead connection never reached the compositor.
                    continue;
                }
                let req = c.resolve(&text).map_err(|e| format!("line {line}: {e}"))?;
                let made: Result<Vec<_>, _> = req.fds().map(|s| fds.make(s)).collect();
                let made = made.map_err(|e| format!("line {line}: making fds: {e}"))?;
                c.conn
                    .queue(&req, made)
                    .ok_or(format!("line {line}: message too long"))?;
                let flushed = c.conn.flush(Instant::now() + Duration::from_secs(5));
                // A protocol error that closed the connection says more than the close.
                c.poll(Duration::ZERO);
                if let Err(e) = flushed {
                    c.ended.get_or_insert(format!("line {line}: {e}"));
                }
                if let Some(why) = &c.ended {
                    println!("connection {current} ended at line {line}: {why}");
                }
            }
        }
    }
    for (id, c) in &mut conns {
        if c.ended.is_some() {
            continue;
        }
        c.poll(Duration::from_millis(500));
        match &c.ended {
            Some(why) => println!("connection {id} ended: {why}"),
            None => println!("connection {id} still open"),
        }
    }
    let alive = probe(socket);
    match &alive {
        Ok(()) => println!("the compositor answers a new connection"),
        Err(e) => println!("the compositor does not answer: {e}"),
    }
    Ok(alive.is_ok())
}

/// `wl_display.get_registry` and `sync` on a new connection, answered within 5 s.
pub fn probe(socket: &Path) -> Result<(), String> {
    let mut conn = Conn::connect(socket).map_err(|e| format!("connecting: {e}"))?;
    for (opcode, label, id) in [(1, "wl_display.get_registry", 2), (0, "wl_display.sync", 3)] {
        let req = Request {
            object: 1,
            opcode,
            label: label.into(),
            args: vec![Arg::NewId(id)],
        };
        conn.queue(&req, Vec::new()).ok_or("message too long")?;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    conn.flush(deadline).map_err(|e| e.to_string())?;
    while Instant::now() < deadline {
        let events = conn
            .read(deadline.saturating_duration_since(Instant::now()))
            .map_err(|e| e.to_string())?;
        if events.iter().any(|e| e.object == 3) {
            return Ok(());
        }
    }
    Err("no answer to wl_display.sync within 5 s".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse() {
        let steps = parse(
            "# a comment\n\nconnect 2\n1.1 wl_display.get_registry n2\ntruncate #3 0\nsleep 5\n",
        )
        .unwrap();
        assert_eq!(steps.len(), 4);
        assert!(matches!(steps[0].1, Step::Connect(2)));
        assert!(matches!(steps[2].1, Step::Truncate { tag: 3, len: 0 }));
        assert!(parse("1.x nonsense").is_err());
    }
}
