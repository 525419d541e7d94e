//! `gwd-wire-fuzz`: a structure-aware Wayland wire fuzzer. Parallel raw connections learn
//! the globals, bind them at random versions and send requests generated from the protocol
//! descriptors (valid framing; random objects, opcodes, arguments and fds), reconnecting
//! whenever the compositor disconnects one. It stops with a dump of every connection's
//! requests when the compositor dies or stops answering, and prints what happened.
//!
//! `--replay FILE` sends such a dump (or any script in its form) again, exactly.

mod fds;
mod generate;
mod objects;
mod protocols;
mod recipes;
mod replay;
mod rng;
mod session;
mod stats;
mod values;
mod wire;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rng::Rng;
use session::{Log, Session};
use stats::{End, Stats};

const USAGE: &str = "usage: gwd-wire-fuzz [--socket PATH] [--seconds N] [--seed S] [--clients K] \
[--rate REQUESTS_PER_S] [--log FILE] [--dump DIR] [--skip INTERFACE[.REQUEST]|truncate]...\n       gwd-wire-fuzz [--socket PATH] --replay FILE|-\n\
The socket defaults to $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY.";

struct Options {
    socket: PathBuf,
    seconds: u64,
    seed: u64,
    clients: usize,
    /// Requests per second per connection; 0: as fast as the compositor reads.
    rate: u32,
    log: Option<PathBuf>,
    dump: PathBuf,
    replay: Option<String>,
    skip: Vec<String>,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s:?}: {e}"))
}

fn default_socket() -> Result<PathBuf, String> {
    let display =
        std::env::var_os("WAYLAND_DISPLAY").ok_or("no --socket and no WAYLAND_DISPLAY")?;
    let display = PathBuf::from(display);
    if display.is_absolute() {
        return Ok(display);
    }
    let dir = std::env::var_os("XDG_RUNTIME_DIR").ok_or("XDG_RUNTIME_DIR is not set")?;
    Ok(Path::new(&dir).join(display))
}

fn parse_args() -> Result<Options, String> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut opts = Options {
        socket: PathBuf::new(),
        seconds: 60,
        seed: Rng::new(seed).next_u64(),
        clients: 4,
        rate: 0,
        log: None,
        dump: PathBuf::new(),
        replay: None,
        skip: Vec::new(),
    };
    let mut socket = None;
    let mut dump = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--socket" => socket = Some(PathBuf::from(value()?)),
            "--seconds" => opts.seconds = parse_u64(&value()?)?,
            "--seed" => opts.seed = parse_u64(&value()?)?,
            "--clients" => opts.clients = parse_u64(&value()?)?.clamp(1, 64) as usize,
            "--rate" => opts.rate = parse_u64(&value()?)?.min(u64::from(u32::MAX)) as u32,
            "--log" => opts.log = Some(PathBuf::from(value()?)),
            "--dump" => dump = Some(PathBuf::from(value()?)),
            "--replay" => opts.replay = Some(value()?),
            "--skip" => opts.skip.push(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    opts.socket = match socket {
        Some(s) => s,
        None => default_socket()?,
    };
    opts.dump =
        dump.unwrap_or_else(|| std::env::temp_dir().join(format!("gwd-wire-fuzz-{:x}", opts.seed)));
    Ok(opts)
}

struct Shared {
    opts: Options,
    until: Instant,
    log: Option<Arc<Mutex<BufWriter<File>>>>,
    /// Set when the compositor died or stalled: every connection stops and dumps.
    failed: AtomicBool,
}

/// How many of a client's latest connections are dumped when the compositor fails: the
/// one that broke it may have closed just before a reconnect that saw the failure.
const DUMPED: usize = 3;

/// Writes a connection's requests where `--replay` can take them, and shows the last ones.
fn dump(shared: &Shared, client: usize, connection: u64, end: &End, lines: &[String]) {
    let path = shared
        .opts
        .dump
        .join(format!("client-{client}-connection-{connection}.script"));
    let header = format!(
        "# gwd-wire-fuzz seed {:#x}, client {client}, connection {connection}: {end:?}\n\
         # gwd-wire-fuzz --socket SOCKET --replay {}\n",
        shared.opts.seed,
        path.display()
    );
    let written = std::fs::create_dir_all(&shared.opts.dump).and_then(|()| {
        let mut file = BufWriter::new(File::create(&path)?);
        file.write_all(header.as_bytes())?;
        for line in lines {
            writeln!(file, "{line}")?;
        }
        file.flush()
    });
    let mut err = std::io::stderr().lock();
    match written {
        Ok(()) => {
            let _ = writeln!(
                err,
                "client {client} connection {connection} ({end:?}): {} requests in {}; the last ones:",
                lines.len(),
                path.display()
            );
        }
        Err(e) => {
            let _ = writeln!(err, "client {client}: cannot write {}: {e}", path.display());
        }
    }
    for line in lines.iter().rev().take(15).rev() {
        let _ = writeln!(err, "  {line}");
    }
}

/// One client: connection after connection until the time is up or the compositor fails.
fn client(shared: &Shared, id: usize) -> Stats {
    let mut rng = Rng::new(shared.opts.seed ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut stats = Stats::default();
    let mut latest: VecDeque<(u64, End, Vec<String>)> = VecDeque::new();
    let mut connection = 0u64;
    while Instant::now() < shared.until && !shared.failed.load(Ordering::Relaxed) {
        connection += 1;
        let log = Log::new(shared.log.clone(), format!("c{id}.{connection}"));
        let mut session = match Session::connect(&shared.opts.socket, rng.fork(), log) {
            Ok(s) => s,
            Err(e) => {
                // The socket is gone or nobody listens on it: the compositor died.
                let why = format!("client {id} cannot connect: {e}");
                eprintln!("gwd-wire-fuzz: {why}");
                stats.lobby_gone = Some(why);
                shared.failed.store(true, Ordering::Relaxed);
                break;
            }
        };
        stats.connections += 1;
        session.rate = shared.opts.rate;
        session.skip = shared.opts.skip.clone();
        // Most connections stay close to correct so that they reach deep states (mapped
        // windows, subsurface trees, cursors) before an error ends them; the rest break
        // the protocol often, to test the error paths.
        (session.broken_per_mille, session.recipe_percent) = match rng.below(10) {
            0..=4 => (2, 40),
            5..=7 => (20, 12),
            _ => (100, 12),
        };
        // Connections that no error ends close after a random number of requests, so
        // that the compositor also tears down clients with all their objects alive.
        let budget = 200 + rng.below(6000) as u64;
        let end = session.run(shared.until, budget, &shared.failed);
        stats.requests += session.written();
        stats.avoided += session.avoided;
        stats.frames_shown += session.frames_shown;
        stats.record(&end);
        if let End::Stalled(why) = &end {
            eprintln!("gwd-wire-fuzz: client {id}: {why}");
            shared.failed.store(true, Ordering::Relaxed);
        }
        if latest.len() >= DUMPED {
            latest.pop_front();
        }
        latest.push_back((connection, end, session.log.lines.into_iter().collect()));
    }
    if shared.failed.load(Ordering::Relaxed) {
        for (connection, end, lines) in &latest {
            dump(shared, id, *connection, end, lines);
        }
    }
    stats
}

fn fuzz(opts: Options) -> Result<bool, String> {
    let log = match &opts.log {
        Some(path) => {
            let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(Arc::new(Mutex::new(BufWriter::new(file))))
        }
        None => None,
    };
    println!(
        "gwd-wire-fuzz: seed {:#x} (--seed to repeat), {} clients for {} s on {}",
        opts.seed,
        opts.clients,
        opts.seconds,
        opts.socket.display()
    );
    let start = Instant::now();
    let clients = opts.clients;
    let shared = Shared {
        until: start + Duration::from_secs(opts.seconds),
        opts,
        log,
        failed: AtomicBool::new(false),
    };
    let mut total = Stats::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let shared = &shared;
                s.spawn(move || client(shared, id))
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(stats) => total.merge(stats),
                Err(_) => total.local.push("a client thread panicked".into()),
            }
        }
    });
    if let Some(log) = &shared.log
        && let Ok(mut file) = log.lock()
    {
        let _ = file.flush();
    }
    print!(
        "{}",
        total.summary(shared.opts.seed, clients, start.elapsed())
    );
    if shared.failed.load(Ordering::Relaxed) {
        println!(
            "gwd-wire-fuzz: FAILED; the connections' requests are in {}",
            shared.opts.dump.display()
        );
    }
    Ok(!shared.failed.load(Ordering::Relaxed))
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("gwd-wire-fuzz: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match &opts.replay {
        Some(file) => {
            let script = if file == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map(|_| s)
                    .map_err(|e| format!("stdin: {e}"))
            } else {
                std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))
            };
            script.and_then(|s| replay::run(&opts.socket, &s))
        }
        None => fuzz(opts),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(msg) => {
            eprintln!("gwd-wire-fuzz: {msg}");
            ExitCode::from(2)
        }
    }
}
