//! The host against hostile API peers: idle and slowloris connections, bodies that never
//! come, unauthenticated peers, and running out of file descriptors. Each test bounds its
//! waits; the host keeps answering its health checks throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{TestHost, health_request, raise_own_nofile, tcp_exchange, unix_exchange};

const TOKEN: &str = "hardening-token";
const ANSWER: Duration = Duration::from_secs(5);

fn authorized() -> String {
    format!("Authorization: Bearer {TOKEN}\r\n")
}

fn tcp_host(
    dir: &std::path::Path,
    wrapper: &[&str],
    args: &[&str],
) -> (TestHost, std::net::SocketAddr) {
    let mut all = vec!["--listen-tcp", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let host = TestHost::start_under(dir, wrapper, &all, &[("GWD_API_TOKEN", TOKEN)]);
    let addr = host.tcp_addr();
    (host, addr)
}

/// Whether the host has closed `stream` (EOF or reset) within `within`.
fn closed_by_host(stream: &mut TcpStream, within: Duration) -> bool {
    use std::io::Read;
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 256];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
    false
}

fn metric(host: &TestHost, name: &str) -> u64 {
    let (_, text) = host.api_raw("GET", "/metrics", None, &[]);
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or_else(|| panic!("no {name} in {text}"), |v| v as u64)
}

#[test]
fn eleven_hundred_idle_tcp_peers_do_not_stop_the_host_answering() {
    assert!(
        raise_own_nofile() > 2500,
        "the test needs room for its own connections"
    );
    let dir = tempfile::tempdir().unwrap();
    // The usual 1024 as soft and hard limit: before connections were capped, the idle
    // peers took every descriptor and the Unix socket stopped answering too.
    let (host, addr) = tcp_host(dir.path(), &["prlimit", "--nofile=1024:1024", "--"], &[]);
    let mut idle = Vec::new();
    for _ in 0..1100 {
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            idle.push(stream);
        }
    }
    assert!(idle.len() >= 1000, "only {} connected", idle.len());
    for round in 0..10 {
        let started = Instant::now();
        let (status, text) = unix_exchange(&host.socket, &health_request(""), ANSWER);
        assert_eq!(status, 200, "unix health, round {round}: {text:?}");
        let (status, text) = tcp_exchange(addr, &health_request(&authorized()), ANSWER);
        assert_eq!(status, 200, "tcp health, round {round}: {text:?}");
        assert!(
            started.elapsed() < ANSWER,
            "round {round} took {:?}",
            started.elapsed()
        );
    }
    // Room was made by closing the oldest idle peers, which the host counts.
    assert!(metric(&host, "gwd_api_connections_evicted_total") > 0);
    drop(idle);
}

#[test]
fn slowloris_peers_are_closed_at_the_header_deadline_and_health_answers_meanwhile() {
    assert!(raise_own_nofile() > 1500);
    let dir = tempfile::tempdir().unwrap();
    let (host, addr) = tcp_host(dir.path(), &[], &["--header-timeout", "2"]);
    let mut peers: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
            s.write_all(b"GET /api/v1/system/health HTTP/1.1\r\n")
                .unwrap();
            s
        })
        .collect();
    // Trickle a header line every 250 ms for 4 s: a peer that never finishes its headers
    // is closed 2 s after it connected, however busy it keeps the line.
    let started = Instant::now();
    let mut closed = vec![false; peers.len()];
    while started.elapsed() < Duration::from_secs(4) {
        for (peer, closed) in peers.iter_mut().zip(closed.iter_mut()) {
            if !*closed && peer.write_all(b"X-Slow: 1\r\n").is_err() {
                *closed = true;
            }
        }
        let (status, _) = tcp_exchange(addr, &health_request(&authorized()), ANSWER);
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut still_open = 0;
    for (peer, closed) in peers.iter_mut().zip(&closed) {
        if !closed && !closed_by_host(peer, Duration::from_secs(2)) {
            still_open += 1;
        }
    }
    assert_eq!(
        still_open, 0,
        "slowloris peers outlived the header deadline"
    );
    assert_eq!(host.api("GET", "/api/v1/system/health", None).0, 200);
}

#[test]
fn a_body_shorter_than_its_length_gets_408_at_the_body_deadline() {
    let host = TestHost::start(&["--body-timeout", "1"]);
    let started = Instant::now();
    let (status, text) = unix_exchange(
        &host.socket,
        b"POST /api/v1/lobbies/create HTTP/1.1\r\nHost: gwd\r\nContent-Length: 1000\r\n\r\n{\"name\":",
        Duration::from_secs(20),
    );
    let took = started.elapsed();
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("did not arrive within 1 s"), "{text}");
    // ... and the connection was closed with the reply, not held for another request.
    assert!(took < Duration::from_secs(5), "held {took:?}");
    // A body nobody reads does not hold its connection either.
    let started = Instant::now();
    let (status, _) = unix_exchange(
        &host.socket,
        b"GET /api/v1/system/health HTTP/1.1\r\nHost: gwd\r\nContent-Length: 1000\r\n\r\n",
        Duration::from_secs(20),
    );
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        host.api("GET", "/api/v1/lobbies", None).1["lobbies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_unauthenticated_tcp_peer_gets_one_401_and_its_connection_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (_host, addr) = tcp_host(dir.path(), &[], &[]);
    // Two pipelined requests without the token, the second a create with a body: only the
    // first is answered, and nothing of the body is read.
    let pipelined = [
        &b"GET /api/v1/system/health HTTP/1.1\r\nHost: gwd\r\n\r\n"[..],
        b"POST /api/v1/lobbies/create HTTP/1.1\r\nHost: gwd\r\nContent-Length: 2\r\n\r\n{}",
    ]
    .concat();
    let started = Instant::now();
    let (status, text) = tcp_exchange(addr, &pipelined, Duration::from_secs(20));
    assert_eq!(status, 401, "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, _) = tcp_exchange(addr, &health_request(&authorized()), ANSWER);
    assert_eq!(status, 200);
}

/// CPU seconds (user + system) process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
fn out_of_descriptors_the_host_pauses_accepting_logs_once_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    // Twenty descriptors: the host needs about twelve of its own, so connections run it out
    // before the connection cap (half the limit) is reached.
    let host = TestHost::start_under(dir.path(), &["prlimit", "--nofile=20:20", "--"], &[], &[]);
    let peers: Vec<UnixStream> = (0..40)
        .filter_map(|_| UnixStream::connect(&host.socket).ok())
        .collect();
    assert!(!peers.is_empty());
    let before = cpu_seconds(host.pid());
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_seconds(host.pid()) - before;
    assert!(
        used < 0.5,
        "the host spun while out of descriptors: {used} s of CPU in 3 s"
    );
    let log = host.host_log();
    assert_eq!(
        log.matches("cannot accept API connections").count(),
        1,
        "one line per episode: {log}"
    );
    drop(peers);
    // Once the peers are gone the host answers again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = unix_exchange(&host.socket, &health_request(""), ANSWER);
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the host did not recover: {}",
            host.host_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(host.host_log().contains("accepting"), "{}", host.host_log());
    assert!(metric(&host, "gwd_api_accept_exhausted_total") > 0);
}
