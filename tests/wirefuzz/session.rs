//! One fuzzing connection from connect to close: it learns the globals, sends what the
//! generator and the recipes make, keeps the object map in step with the compositor's
//! events, and checks with `wl_display.sync` that the compositor still answers.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wayland_client::backend::protocol::{ANONYMOUS_INTERFACE, MessageDesc};

use crate::fds::Fds;
use crate::objects::Objects;
use crate::protocols;
use crate::rng::Rng;
use crate::stats::End;
use crate::wire::{Arg, Conn, ConnError, EventArg, MAX_MESSAGE, RawEvent, Request, decode};

/// How long the compositor may take to answer a `wl_display.sync` or to read what we send
/// before the fuzzer calls it stalled: far beyond any queueing delay of a healthy one.
pub const STALL: Duration = Duration::from_secs(10);
/// Requests are sent once this much is queued (and at every event check).
const FLUSH_AT: usize = 3072;
/// Unsigned values from recent events, where serials come from.
const SEEN: usize = 32;
/// The most lines a connection's log keeps: more than a connection's request budget
/// (main.rs), so a dump starts at the connection's first request and replays as it went.
const LOG_LINES: usize = 20_000;

pub struct Global {
    pub name: u32,
    pub interface: String,
    pub version: u32,
}

/// The requests of one connection in replayable form, and the shared `--log` file.
pub struct Log {
    pub lines: VecDeque<String>,
    shared: Option<Arc<Mutex<BufWriter<File>>>>,
    prefix: String,
}

impl Log {
    pub fn new(shared: Option<Arc<Mutex<BufWriter<File>>>>, prefix: String) -> Self {
        Self {
            lines: VecDeque::new(),
            shared,
            prefix,
        }
    }

    pub fn push(&mut self, line: String) {
        if let Some(file) = &self.shared
            && let Ok(mut file) = file.lock()
        {
            let _ = writeln!(file, "{} {line}", self.prefix);
        }
        if self.lines.len() >= LOG_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

pub struct Session {
    pub rng: Rng,
    conn: Conn,
    pub objects: Objects,
    pub fds: Fds,
    pub globals: Vec<Global>,
    pub seen: Vec<u32>,
    /// `xdg_surface.configure` serials not acknowledged yet: (xdg_surface, serial).
    pub acks: Vec<(u32, u32)>,
    /// `xdg_wm_base.ping` serials not answered yet: (xdg_wm_base, serial).
    pub pings: Vec<(u32, u32)>,
    /// Buffers the recipes made, with their size: (buffer, width, height).
    pub buffers: Vec<(u32, i32, i32)>,
    next_tag: u32,
    error: Option<End>,
    pub log: Log,
    pub sent: u64,
    /// The `wl_callback` of the roundtrip in flight, and whether it is done.
    sync: Option<(u32, bool)>,
    /// Requests per second at most; 0: as fast as the compositor reads.
    pub rate: u32,
    /// How many requests in a thousand break the protocol on purpose (see `Stray`); low
    /// for connections meant to reach deep states, high for ones that test the errors.
    pub broken_per_mille: u32,
    /// How many steps in a hundred are recipes rather than random requests.
    pub recipe_percent: usize,
    /// Labels (`interface.request`, a whole `interface`, or `truncate`) never sent.
    pub skip: Vec<String>,
    /// How many requests were left out for that.
    pub avoided: u64,
    /// Frame callbacks answered: how often this connection's surfaces were drawn.
    pub frames_shown: u64,
}

impl Session {
    pub fn connect(socket: &Path, rng: Rng, log: Log) -> std::io::Result<Self> {
        Ok(Self {
            rng,
            conn: Conn::connect(socket)?,
            objects: Objects::new(),
            fds: Fds::default(),
            globals: Vec::new(),
            seen: Vec::new(),
            acks: Vec::new(),
            pings: Vec::new(),
            buffers: Vec::new(),
            next_tag: 1,
            error: None,
            log,
            sent: 0,
            sync: None,
            rate: 0,
            broken_per_mille: 10,
            recipe_percent: 12,
            skip: Vec::new(),
            avoided: 0,
            frames_shown: 0,
        })
    }

    /// Fuzzes until `until`, `budget` requests or `stop`; how the connection ended.
    pub fn run(&mut self, until: Instant, budget: u64, stop: &AtomicBool) -> End {
        match self.drive(until, budget, stop) {
            Ok(()) => End::Done,
            Err(end) => end,
        }
    }

    fn drive(&mut self, until: Instant, budget: u64, stop: &AtomicBool) -> Result<(), End> {
        let registry = self.objects.next_id();
        self.send(Request {
            object: 1,
            opcode: 1,
            label: "wl_display.get_registry".into(),
            args: vec![Arg::NewId(registry)],
        })?;
        self.roundtrip()?;
        let mut steps = 0u64;
        let start = Instant::now();
        while self.sent < budget && Instant::now() < until && !stop.load(Ordering::Relaxed) {
            self.step()?;
            if self.rate > 0 {
                let due = start + Duration::from_secs(self.sent) / self.rate;
                if let Some(early) = due.checked_duration_since(Instant::now()) {
                    self.flush()?;
                    std::thread::sleep(early);
                }
            }
            steps += 1;
            if steps.is_multiple_of(32) {
                self.pump()?;
            }
            if steps.is_multiple_of(512) {
                self.roundtrip()?;
            }
        }
        // Whatever the last requests did to the compositor shows before the next connection.
        self.roundtrip()
    }

    fn step(&mut self) -> Result<(), End> {
        if !self.pings.is_empty() && self.rng.chance(60) {
            let (wm, serial) = self.pings.swap_remove(0);
            self.call(wm, "pong", vec![Arg::Uint(serial)])?;
        }
        let roll = self.rng.below(100);
        match roll {
            _ if roll < self.recipe_percent => self.recipe(),
            _ if roll < self.recipe_percent + 2 => self.truncate(),
            _ => match self.random_request() {
                Some(req) => self.send(req),
                None => Ok(()),
            },
        }
    }

    /// Requests written to the socket: what was still queued when the compositor closed
    /// the connection never left.
    pub fn written(&self) -> u64 {
        self.sent.saturating_sub(self.conn.queued_messages() as u64)
    }

    /// A new tag for a memfd, so that a later `truncate` can name it.
    pub fn tag(&mut self) -> u32 {
        self.next_tag += 1;
        self.next_tag
    }

    /// Shrinks (now and then grows) a memfd that a pool may have mapped already.
    fn truncate(&mut self) -> Result<(), End> {
        if self.skipped("truncate") {
            return Ok(());
        }
        let memfds = self.fds.memfds();
        let Some(&(tag, size)) = self.rng.pick(&memfds) else {
            return Ok(());
        };
        let len = match self.rng.below(5) {
            0 => 0,
            1 => size / 2,
            2 => size.saturating_sub(1),
            3 => 1,
            _ => size.saturating_mul(2).max(4096),
        };
        match self.fds.truncate(tag, len) {
            Ok(true) => self.log.push(format!("truncate #{tag} {len}")),
            Ok(false) => {}
            Err(e) => return Err(End::Local(format!("truncate #{tag} {len}: {e}"))),
        }
        Ok(())
    }

    /// Sends `name` on `object` by the request's name, when the object has it at its version.
    pub fn call(&mut self, object: u32, name: &str, args: Vec<Arg>) -> Result<(), End> {
        let Some(obj) = self.objects.get(object).filter(|o| o.alive) else {
            return Ok(());
        };
        let found = obj
            .iface
            .requests
            .iter()
            .enumerate()
            .find(|(_, r)| r.name == name && r.since <= obj.version);
        let Some((opcode, _)) = found else {
            return Ok(());
        };
        let label = format!("{}.{name}", obj.iface.name);
        self.send(Request {
            object,
            opcode: opcode as u16,
            label,
            args,
        })
    }

    /// Queues `req` (sending once enough is queued) and updates the object map as the
    /// compositor will: new objects, destructors.
    pub fn send(&mut self, req: Request) -> Result<(), End> {
        if req.wire_len() > MAX_MESSAGE || self.skipped(&req.label) {
            return Ok(());
        }
        let desc = self
            .objects
            .get(req.object)
            .and_then(|o| o.iface.requests.get(usize::from(req.opcode)))
            .copied();
        let mut fds = Vec::new();
        for spec in req.fds() {
            fds.push(
                self.fds
                    .make(spec)
                    .map_err(|e| End::Local(format!("making fd {spec}: {e}")))?,
            );
        }
        if self.conn.queue(&req, fds).is_none() {
            return Ok(());
        }
        if let Some(desc) = desc {
            self.note_created(&req, &desc);
            if desc.is_destructor {
                self.objects.destroyed(req.object);
            }
        }
        self.log.push(req.to_string());
        self.sent += 1;
        if self.conn.queued_bytes() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn skipped(&self, label: &str) -> bool {
        let iface = label.split(['.', '#']).next().unwrap_or(label);
        self.skip.iter().any(|s| s == label || s == iface)
    }

    fn note_created(&mut self, req: &Request, desc: &MessageDesc) {
        let Some(parent_version) = self.objects.get(req.object).map(|o| o.version) else {
            return;
        };
        let related = req
            .args
            .iter()
            .find_map(|a| match a {
                Arg::Object(id) if *id != 0 => Some(*id),
                _ => None,
            })
            .or(Some(req.object));
        for arg in &req.args {
            let Arg::NewId(id) = *arg else { continue };
            // A wrong id is refused by the compositor, which ends the connection.
            if id != self.objects.next_id() {
                continue;
            }
            let (iface, version) = match desc.child_interface {
                Some(child) => (child, parent_version),
                // wl_registry.bind: the interface and version are arguments. One we do not
                // know still takes the id, or our ids would go out of step.
                None => match req.args.as_slice() {
                    [_, Arg::Str(Some(name)), Arg::Uint(version), ..] => (
                        std::str::from_utf8(name)
                            .ok()
                            .and_then(protocols::global)
                            .unwrap_or(&ANONYMOUS_INTERFACE),
                        *version,
                    ),
                    _ => (&ANONYMOUS_INTERFACE, 1),
                },
            };
            self.objects.create(id, iface, version, related);
        }
    }

    fn flush(&mut self) -> Result<(), End> {
        let result = self.conn.flush(Instant::now() + STALL);
        result.map_err(|e| self.conn_end(e))
    }

    /// Sends what is queued and handles the events that arrived, without waiting.
    pub fn pump(&mut self) -> Result<(), End> {
        self.flush()?;
        let events = self.conn.read(Duration::ZERO);
        let events = events.map_err(|e| self.conn_end(e))?;
        events.into_iter().for_each(|e| self.handle(e));
        Ok(())
    }

    /// `wl_display.sync` and its answer, within [`STALL`].
    fn roundtrip(&mut self) -> Result<(), End> {
        let id = self.objects.next_id();
        self.send(Request {
            object: 1,
            opcode: 0,
            label: "wl_display.sync".into(),
            args: vec![Arg::NewId(id)],
        })?;
        self.sync = Some((id, false));
        self.flush()?;
        let deadline = Instant::now() + STALL;
        while self.sync != Some((id, true)) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(End::Stalled(format!(
                    "no answer to wl_display.sync (id {id}) within {STALL:?}, after {} requests",
                    self.sent
                )));
            }
            let events = self.conn.read(left).map_err(|e| self.conn_end(e))?;
            events.into_iter().for_each(|e| self.handle(e));
        }
        self.sync = None;
        Ok(())
    }

    fn conn_end(&mut self, e: ConnError) -> End {
        match e {
            ConnError::Closed => {
                // The reason, if any, is in what was still unread.
                while let Ok(events) = self.conn.read(Duration::ZERO) {
                    if events.is_empty() {
                        break;
                    }
                    events.into_iter().for_each(|e| self.handle(e));
                }
                self.error.take().unwrap_or(End::Closed)
            }
            ConnError::Stalled => End::Stalled(format!(
                "the compositor read nothing for {STALL:?}, after {} requests",
                self.sent
            )),
            ConnError::Io(e) => End::Local(format!("socket: {e}")),
        }
    }

    fn handle(&mut self, ev: RawEvent) {
        let Some(obj) = self.objects.get(ev.object) else {
            return;
        };
        let (iface, version) = (obj.iface, obj.version);
        let Some(desc) = iface.events.get(usize::from(ev.opcode)) else {
            return;
        };
        let Some(args) = decode(desc.signature, &ev.body) else {
            return;
        };
        match (iface.name, desc.name, args.as_slice()) {
            ("wl_display", "error", [EventArg::Object(id), EventArg::Uint(code), msg]) => {
                let interface = match self.objects.get(*id) {
                    Some(o) => o.iface.name.to_owned(),
                    None => format!("unknown object {id}"),
                };
                let message = match msg {
                    EventArg::Str(Some(m)) => String::from_utf8_lossy(m).into_owned(),
                    _ => String::new(),
                };
                self.error = Some(End::ProtocolError {
                    interface,
                    code: *code,
                    message,
                });
            }
            ("wl_display", "delete_id", [EventArg::Uint(id)]) => self.objects.deleted(*id),
            (
                "wl_registry",
                "global",
                [
                    EventArg::Uint(name),
                    EventArg::Str(Some(interface)),
                    EventArg::Uint(version),
                ],
            ) if !self.globals.iter().any(|g| g.name == *name) => {
                self.globals.push(Global {
                    name: *name,
                    interface: String::from_utf8_lossy(interface).into_owned(),
                    version: *version,
                });
            }
            ("wl_registry", "global_remove", [EventArg::Uint(name)]) => {
                self.globals.retain(|g| g.name != *name)
            }
            ("xdg_surface", "configure", [EventArg::Uint(serial)]) => {
                self.acks.push((ev.object, *serial));
                self.acks.truncate(64);
            }
            ("xdg_wm_base", "ping", [EventArg::Uint(serial)]) => {
                self.pings.push((ev.object, *serial));
                self.pings.truncate(16);
            }
            ("wl_callback", "done", _) => match &mut self.sync {
                Some((id, done)) if *id == ev.object => *done = true,
                // A frame callback: one of our surfaces was drawn into an output frame.
                _ => self.frames_shown += 1,
            },
            _ => {}
        }
        for arg in args {
            match arg {
                EventArg::Uint(v) => {
                    if self.seen.len() >= SEEN {
                        self.seen.remove(0);
                    }
                    self.seen.push(v);
                }
                EventArg::NewId(id) => {
                    if let Some(child) = desc.child_interface {
                        self.objects.create(id, child, version, Some(ev.object));
                    }
                }
                _ => {}
            }
        }
    }
}
