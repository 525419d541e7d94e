//! The host's API under hostile peers: how long a health check takes on each listener while
//! 1100 idle TCP connections and 500 slowloris connections are held open (each reopened as
//! soon as the host closes it), next to the same check on a quiet host.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gwd_tests::flood::rss_mb;
use gwd_tests::host::{TestHost, health_request, raise_own_nofile, tcp_exchange, unix_exchange};
use serde_json::json;

use crate::Options;
use crate::report::{Table, col, percentile};

const TOKEN: &str = "bench-token";
const IDLE: usize = 1100;
const SLOWLORIS: usize = 500;
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Resident memory (MB) and open descriptors of process `pid`.
pub fn rss_mb_and_fds(pid: u32) -> (f64, usize) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss_mb(pid).0, fds)
}

/// Peers that keep `count` connections open: idle ones send nothing, slowloris ones a header
/// line every 500 ms and never the blank line. Closed ones are reopened.
fn attackers(
    addr: SocketAddr,
    count: usize,
    slow: bool,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let open = || {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
            if slow {
                s.write_all(b"GET /api/v1/system/health HTTP/1.1\r\n")
                    .ok()?;
            }
            s.set_nonblocking(true).ok()?;
            opened.fetch_add(1, Ordering::Relaxed);
            Some(s)
        };
        let mut peers: Vec<Option<TcpStream>> = (0..count).map(|_| open()).collect();
        let mut buf = [0u8; 512];
        while !stop.load(Ordering::Relaxed) {
            for peer in &mut peers {
                let alive = match peer {
                    Some(s) => {
                        let readable = match s.read(&mut buf) {
                            Ok(0) => false,
                            Ok(_) => true,
                            Err(e) => e.kind() == ErrorKind::WouldBlock,
                        };
                        readable && (!slow || s.write_all(b"X-Slow: 1\r\n").is_ok())
                    }
                    None => false,
                };
                if !alive {
                    *peer = open();
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })
}

fn probe(table: &mut Table, scenario: &str, host: &TestHost, addr: SocketAddr, duration: Duration) {
    let authorized = health_request(&format!("Authorization: Bearer {TOKEN}\r\n"));
    let plain = health_request("");
    for listener in ["unix", "tcp"] {
        let mut times = Vec::new();
        let mut failed = 0;
        let started = Instant::now();
        while started.elapsed() < duration {
            let t = Instant::now();
            let (status, _) = if listener == "unix" {
                unix_exchange(&host.socket, &plain, PROBE_TIMEOUT)
            } else {
                tcp_exchange(addr, &authorized, PROBE_TIMEOUT)
            };
            if status == 200 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            } else {
                failed += 1;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let (rss, fds) = rss_mb_and_fds(host.pid());
        let max = times.iter().copied().fold(0.0, f64::max);
        table.push(json!({
            "scenario": scenario,
            "listener": listener,
            "probes": times.len() + failed,
            "failed": failed,
            "p50_ms": percentile(&mut times, 0.5),
            "p99_ms": percentile(&mut times, 0.99),
            "max_ms": max,
            "rss_mb": rss,
            "fds": fds,
        }));
    }
}

pub fn hostile(opts: &Options) -> Table {
    let mut table = Table::new(
        "api_hostile",
        format!("Health checks under {IDLE} idle TCP and {SLOWLORIS} slowloris connections"),
        vec![
            col("scenario", "scenario", 0),
            col("listener", "listener", 0),
            col("probes", "probes", 0),
            col("failed", "failed", 0),
            col("p50_ms", "p50 (ms)", 1),
            col("p99_ms", "p99 (ms)", 1),
            col("max_ms", "max (ms)", 1),
            col("rss_mb", "host RSS (MB)", 1),
            col("fds", "host fds", 0),
        ],
    );
    table.notes.push(format!(
        "A host with default limits (512 connections per listener, 10 s header deadline) and \
         a TCP listener. Attackers hold {IDLE} idle and {SLOWLORIS} slowloris connections, \
         reopening each one the host closes (checked every 500 ms). A probe is a new \
         connection, one health request, read to the end; probes run back to back with 10 ms \
         between them, first on the Unix socket, then over TCP with the token. `attacker \
         connections opened` counts reopenings too."
    ));
    raise_own_nofile();
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::start_under(
        dir.path(),
        &[],
        &["--listen-tcp", "127.0.0.1:0"],
        &[("GWD_API_TOKEN", TOKEN)],
    );
    let addr = host.tcp_addr();
    let per_probe = opts.seconds.max(Duration::from_secs(1));
    probe(&mut table, "quiet", &host, addr, per_probe);

    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let threads = [
        attackers(addr, IDLE, false, stop.clone(), opened.clone()),
        attackers(addr, SLOWLORIS, true, stop.clone(), opened.clone()),
    ];
    // Let both groups connect and the host reach its cap.
    std::thread::sleep(Duration::from_secs(3));
    probe(&mut table, "under attack", &host, addr, per_probe);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    table.notes.push(format!(
        "attacker connections opened: {}",
        opened.load(Ordering::Relaxed)
    ));
    table
}
