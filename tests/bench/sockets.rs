//! Socket allocation among what other compositors left behind: stale `wayland-N` pairs
//! (a socket nobody listens on, a lock nobody holds) and live ones (locks held).

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Instant;

use serde_json::json;
use waylanddisplaycore::socket::{self, SocketSpec, WaylandSocket};

use crate::Options;
use crate::report::{Table, col, percentile};

/// What a compositor that died leaves: its socket file and its unlocked lock file.
fn leave_stale(dir: &Path, n: u32) {
    let path = dir.join(format!("wayland-{n}"));
    // Binding creates the file; closing the listener leaves it behind, as a crash does.
    drop(UnixListener::bind(&path).unwrap());
    std::fs::write(dir.join(format!("wayland-{n}.lock")), b"").unwrap();
}

/// Milliseconds for each of `runs` allocations, `before` run before each to set the scene.
fn time_allocations(dir: &Path, runs: usize, mut before: impl FnMut()) -> Vec<f64> {
    let spec = SocketSpec::auto().in_dir(dir);
    (0..runs)
        .map(|_| {
            before();
            let t = Instant::now();
            let socket = socket::allocate(&spec).unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            drop(socket);
            ms
        })
        .collect()
}

pub fn run(opts: &Options) -> Table {
    let mut table = Table::new(
        "sockets",
        "Socket allocation (automatic name, `wayland-1` on)",
        vec![
            col("scene", "runtime directory holds", 0),
            col("runs", "runs", 0),
            col("p50_ms", "p50 (ms)", 3),
            col("max_ms", "max (ms)", 3),
        ],
    );
    table.notes.push(
        "A stale entry is a socket file nobody listens on plus a lock file nobody holds; \
         each run finds all of them in place. Live sockets are held (locked and listening) \
         by this process. The sweep row is `gst-wayland-display sweep` over the stale \
         entries: what a host does once at start."
            .to_owned(),
    );
    let runs = opts.socket_runs;
    let mut push = |scene: String, mut times: Vec<f64>| {
        table.push(json!({
            "scene": scene,
            "runs": times.len(),
            "p50_ms": percentile(&mut times, 0.5),
            "max_ms": percentile(&mut times, 1.0),
        }));
    };

    for stale in [0u32, 100, 5000] {
        let dir = tempfile::tempdir().unwrap();
        for n in 1..=stale {
            leave_stale(dir.path(), n);
        }
        // The allocation reclaims the first stale name; put it back for the next run.
        let times = time_allocations(dir.path(), runs, || {
            if stale > 0 && !dir.path().join("wayland-1.lock").exists() {
                leave_stale(dir.path(), 1);
            }
        });
        push(format!("{stale} stale entries"), times);
        if stale == 5000 {
            let t = Instant::now();
            let report = socket::sweep(dir.path()).unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert!(report.removed.len() >= 2 * stale as usize - 2);
            push(format!("sweep of {stale} stale entries"), vec![ms]);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let spec = SocketSpec::auto().in_dir(dir.path());
    let live: Vec<WaylandSocket> = (0..64).map(|_| socket::allocate(&spec).unwrap()).collect();
    push(
        "64 live sockets".to_owned(),
        time_allocations(dir.path(), runs, || {}),
    );
    drop(live);
    table
}
