//! Leak checks: open fds, threads, shared-memory mappings and runtime-dir entries return
//! to their starting counts after hundreds of compositor and pipeline lifetimes, including
//! failing ones. Runs without the test harness so nothing else runs in the process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::{Counts, Lobby, counts, init, runtime_dir, settle, wait_for_socket};
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{DisplayConfig, RenderTarget, VideoMode, WaylandDisplay};

const CAPS: &str = "video/x-raw,width=64,height=48,framerate=60/1";

/// Runs `cycle` once to warm up (GStreamer's thread pools, registry), takes the counts,
/// runs it `n` more times and checks nothing grew.
fn check(name: &str, n: usize, mut cycle: impl FnMut(usize)) -> Result<(), String> {
    let start = Instant::now();
    cycle(0);
    let before = settle(runtime_dir(), counts(runtime_dir()));
    for i in 1..=n {
        cycle(i);
    }
    let after = settle(runtime_dir(), before);
    let grew = |a: usize, b: usize| a > b;
    let ok = !grew(after.fds, before.fds)
        && !grew(after.threads, before.threads)
        && !grew(after.runtime_entries, before.runtime_entries)
        && !grew(after.memfd_maps, before.memfd_maps);
    let line = format!(
        "{name}: {n} cycles in {:.1}s: before {} after {}",
        start.elapsed().as_secs_f64(),
        show(before),
        show(after)
    );
    println!("{line}");
    if ok { Ok(()) } else { Err(line) }
}

fn show(c: Counts) -> String {
    format!(
        "[fds {} threads {} runtime-dir {} memfd-maps {}]",
        c.fds, c.threads, c.runtime_entries, c.memfd_maps
    )
}

fn pull(lobby: &Lobby, n: usize) {
    for _ in 0..n {
        lobby
            .sink
            .try_pull_sample(gst::ClockTime::from_seconds(10))
            .expect("no frame");
    }
}

fn display_cycles() -> Result<(), String> {
    check("WaylandDisplay create/frame/drop", 200, |_| {
        let display = WaylandDisplay::new(DisplayConfig {
            socket: SocketSpec::auto().in_dir(runtime_dir()),
            render_target: RenderTarget::Software,
            mode: VideoMode {
                width: 64,
                height: 48,
                refresh_mhz: 60_000,
            },
            ..DisplayConfig::default()
        })
        .unwrap();
        display.frame().unwrap();
    })
}

fn pipeline_cycles() -> Result<(), String> {
    check("pipeline NULL->PLAYING->NULL", 100, |_| {
        let lobby = Lobby::start("", CAPS);
        pull(&lobby, 2);
    })
}

fn gles_pipeline_cycles() -> Result<(), String> {
    check("pipeline on GLES/llvmpipe NULL->PLAYING->NULL", 30, |_| {
        let lobby = Lobby::start("render-node=llvmpipe", CAPS);
        let _client = lobby.client("weston-simple-shm", &[]);
        lobby.frame_until(Duration::from_secs(10), |f| {
            f.non_black_in(0, 0, 64, 48) > 100
        });
    })
}

fn failing_downstream() -> Result<(), String> {
    check(
        "pipeline failing downstream (identity error-after=3)",
        50,
        |_| {
            let lobby = Lobby::start_launch(&format!(
                "waylanddisplaysrc name=src ! {CAPS} ! identity error-after=3 ! appsink name=sink"
            ));
            let bus = lobby.pipeline.bus().unwrap();
            let msg = bus
                .timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Error])
                .expect("identity did not fail the pipeline");
            drop(msg);
        },
    )
}

fn stopped_with_client_connected() -> Result<(), String> {
    check(
        "pipeline stopped with weston-simple-shm connected",
        20,
        |_| {
            let lobby = Lobby::start("", "video/x-raw,width=320,height=240,framerate=60/1");
            let mut client = lobby.client("weston-simple-shm", &[]);
            lobby.frame_until(Duration::from_secs(10), |f| {
                f.non_black_in(0, 0, 250, 240) > 1000
            });
            lobby.pipeline.set_state(gst::State::Null).unwrap();
            // The compositor went away, so the client must see its connection close.
            assert!(
                client.wait_exit(Duration::from_secs(10)).is_some(),
                "client still connected after the compositor stopped"
            );
            drop(client);
        },
    )
}

fn same_pipeline_restarted() -> Result<(), String> {
    init();
    let (pipeline, sink) =
        gwd_tests::launch_with_sink(&format!("waylanddisplaysrc ! {CAPS} ! appsink name=sink"));
    let bus = pipeline.bus().unwrap();
    let result = check("same pipeline object restarted", 50, |i| {
        pipeline.set_state(gst::State::Playing).unwrap();
        let (socket, _) = wait_for_socket(&bus, Duration::from_secs(10));
        assert!(socket.starts_with("wayland-"), "cycle {i}: {socket}");
        for _ in 0..2 {
            sink.try_pull_sample(gst::ClockTime::from_seconds(10))
                .expect("no frame");
        }
        pipeline.set_state(gst::State::Null).unwrap();
    });
    drop(sink);
    result
}

type Check = (&'static str, fn() -> Result<(), String>);

fn renegotiation_cycles() -> Result<(), String> {
    let lobby = Lobby::start_launch(
        "waylanddisplaysrc name=src ! capsfilter name=caps caps=video/x-raw,width=64,height=48,framerate=60/1 \
         ! appsink name=sink max-buffers=2 drop=true",
    );
    let filter = lobby.pipeline.by_name("caps").unwrap();
    let result = check("renegotiation 64x48 <-> 128x96 in one pipeline", 50, |i| {
        let (w, h) = if i % 2 == 0 { (128, 96) } else { (64, 48) };
        let caps: gst::Caps = format!("video/x-raw,width={w},height={h},framerate=60/1")
            .parse()
            .unwrap();
        filter.set_property("caps", &caps);
        lobby.frame_until(Duration::from_secs(10), |f| f.width == w);
    });
    drop(lobby);
    result
}

fn main() {
    init();
    let checks: [Check; 7] = [
        ("display_cycles", display_cycles),
        ("pipeline_cycles", pipeline_cycles),
        ("gles_pipeline_cycles", gles_pipeline_cycles),
        ("failing_downstream", failing_downstream),
        (
            "stopped_with_client_connected",
            stopped_with_client_connected,
        ),
        ("same_pipeline_restarted", same_pipeline_restarted),
        ("renegotiation_cycles", renegotiation_cycles),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = Vec::new();
    for (name, check) in checks {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        if let Err(err) = check() {
            failed.push(err);
        }
    }
    if !failed.is_empty() {
        eprintln!("leaks found:\n{}", failed.join("\n"));
        std::process::exit(1);
    }
}
