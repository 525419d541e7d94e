//! Screen capture: how long Debian's `grim` takes to write a 1280x720 lobby to a file,
//! through wlr-screencopy, from its start to its exit (connect, capture, encode, write).

use std::process::Command;
use std::time::{Duration, Instant};

use gwd_tests::Lobby;
use serde_json::json;

use crate::Options;
use crate::probe::test_client_path;
use crate::report::{Table, col, percentile};

pub fn run(opts: &Options) -> Table {
    let mut table = Table::new(
        "capture",
        "grim capture of a 1280x720 lobby (process start → exit), wlr-screencopy into shm",
        vec![
            col("output", "grim output", 0),
            col("runs", "runs", 0),
            col("p50_ms", "p50 (ms)", 1),
            col("p99_ms", "p99 (ms)", 1),
            col("max_ms", "max (ms)", 1),
        ],
    );
    if Command::new("grim").arg("-h").output().is_err() {
        table
            .notes
            .push("grim is not installed (scripts/setup.sh installs it).".to_owned());
        return table;
    }
    let lobby = Lobby::start_launch(&format!(
        "{} name=src ! video/x-raw,width=1280,height=720,\
         framerate=30/1 ! appsink name=sink max-buffers=1 drop=true",
        opts.source()
    ));
    let client = lobby.client(&test_client_path().to_string_lossy(), &[]);
    client.expect_line(Duration::from_secs(10), "drawn");
    let out = gwd_tests::private_dir("gwd-bench-grim");
    for (label, args) in [
        ("PPM (no encoding)", ["-t", "ppm"]),
        ("PNG, level 0", ["-l", "0"]),
    ] {
        let mut times = Vec::new();
        for _ in 0..opts.capture_runs {
            let mut cmd = Command::new("grim");
            cmd.args(args)
                .arg(out.path().join("capture"))
                .env("WAYLAND_DISPLAY", &lobby.socket)
                .env("XDG_RUNTIME_DIR", &lobby.dir);
            let t0 = Instant::now();
            let done = gwd_tests::run(cmd, Duration::from_secs(10));
            assert!(done.status.success(), "grim failed: {}", done.all());
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        table.push(json!({
            "output": label,
            "runs": times.len(),
            "p50_ms": percentile(&mut times, 0.5),
            "p99_ms": percentile(&mut times, 0.99),
            "max_ms": percentile(&mut times, 1.0),
        }));
    }
    table
}
