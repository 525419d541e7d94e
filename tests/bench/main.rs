//! `gwd-bench`: what frames, sockets and encoding cost on this machine, in one run. Prints
//! Markdown tables and writes the same figures as JSON; no pass/fail.
//!
//! Every per-frame figure sits beside the memcpy of one frame of the same size measured in
//! the same run, so ratios carry across machines where milliseconds do not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod audio;
mod capture;
mod encoders;
mod flood;
mod frames;
mod lobbies;
mod probe;
mod report;
mod sockets;
mod yuv;
mod yuv_frames;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use waylanddisplaycore::YuvConversion;

use report::{Table, col};

const USAGE: &str = "usage: gwd-bench [--quick] [--seconds S] [--render-node NODE] \
[--yuv-conversion auto|gpu|cpu] [--sizes WxH,...] \
[--only frames,startup,sockets,encoders,lobby-start,lobby-density,api-hostile,api-flood,capture,\
av-sync,audio-cpu,yuv-convert,yuv-frames] [--json FILE]";

pub struct Options {
    pub quick: bool,
    /// Measured time per scenario, after `warmup`.
    pub seconds: Duration,
    pub warmup: Duration,
    pub render_node: String,
    /// The element's `yuv-conversion`: where GLES output converts to I420/NV12.
    pub yuv_conversion: YuvConversion,
    pub sizes: Vec<(u32, u32)>,
    pub encoder_size: (u32, u32),
    pub startup_runs: usize,
    /// grim runs per output kind in `capture`.
    pub capture_runs: usize,
    pub socket_runs: usize,
    /// Lobbies started one after the other through a host.
    pub lobby_runs: usize,
    /// The most lobbies the density run adds, and how long it lets each step run.
    pub density_max: usize,
    pub density_settle: Duration,
    /// How long `api-flood` floods each scenario (`--seconds` if given).
    pub flood_seconds: Duration,
    /// How long `av-sync` records (`run --duration`); it flashes once a second.
    pub av_seconds: u64,
    /// The lobby counts `audio-cpu` measures.
    pub audio_lobbies: Vec<usize>,
    sections: Vec<String>,
    json: PathBuf,
}

const ALL_SECTIONS: [&str; 13] = [
    "frames",
    "startup",
    "sockets",
    "encoders",
    "lobby-start",
    "lobby-density",
    "api-hostile",
    "api-flood",
    "capture",
    "av-sync",
    "audio-cpu",
    "yuv-convert",
    "yuv-frames",
];

impl Options {
    /// The source element with the renderer and conversion asked for, to start a
    /// pipeline description with.
    pub fn source(&self) -> String {
        format!(
            "waylanddisplaysrc render-node={} yuv-conversion={}",
            self.render_node, self.yuv_conversion
        )
    }
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        quick: false,
        seconds: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        render_node: "software".to_owned(),
        yuv_conversion: YuvConversion::default(),
        sizes: vec![(1280, 720), (1920, 1080), (3840, 2160)],
        encoder_size: (1920, 1080),
        startup_runs: 20,
        capture_runs: 30,
        socket_runs: 20,
        lobby_runs: 20,
        density_max: 24,
        // Workers report their rate every 5 s: a full window with all of them running.
        density_settle: Duration::from_secs(11),
        flood_seconds: Duration::from_secs(20),
        av_seconds: 12,
        audio_lobbies: vec![1, 4, 16],
        sections: ALL_SECTIONS.iter().map(|s| s.to_string()).collect(),
        json: std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("gwd-bench.json")))
            .unwrap_or_else(|| PathBuf::from("gwd-bench.json")),
    };
    let mut seconds = None;
    let mut sizes = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--seconds" => {
                let v = value()?;
                seconds = Some(
                    v.parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                        .filter(|d| !d.is_zero())
                        .ok_or(format!("bad --seconds: {v} (want a positive number)"))?,
                );
            }
            "--render-node" => opts.render_node = value()?,
            "--yuv-conversion" => {
                opts.yuv_conversion = value()?
                    .parse()
                    .map_err(|err| format!("bad --yuv-conversion: {err}"))?;
            }
            "--sizes" => {
                let v = value()?;
                sizes = Some(
                    v.split(',')
                        .map(|s| {
                            s.split_once('x')
                                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                                .ok_or(format!("bad size {s}: want WxH"))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            "--json" => opts.json = PathBuf::from(value()?),
            "--only" => {
                let v = value()?;
                opts.sections = v.split(',').map(str::to_owned).collect();
                if let Some(bad) = opts
                    .sections
                    .iter()
                    .find(|s| !ALL_SECTIONS.contains(&s.as_str()))
                {
                    return Err(format!("unknown section {bad}"));
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if opts.quick {
        // Checks that every section runs and prints; the figures mean little.
        opts.seconds = Duration::from_millis(300);
        opts.warmup = Duration::from_millis(200);
        opts.sizes = vec![(1280, 720)];
        opts.encoder_size = (1280, 720);
        opts.startup_runs = 2;
        opts.capture_runs = 2;
        opts.socket_runs = 2;
        opts.lobby_runs = 3;
        opts.density_max = 2;
        opts.density_settle = Duration::from_secs(6);
        opts.flood_seconds = Duration::from_secs(2);
        opts.av_seconds = 4;
        opts.audio_lobbies = vec![1, 2];
    }
    if let Some(s) = seconds {
        opts.seconds = s;
        opts.flood_seconds = s;
    }
    if let Some(s) = sizes {
        opts.sizes = s;
    }
    Ok(opts)
}

/// Milliseconds to copy one BGRx frame of `size`: the floor every frame figure is compared
/// to. The fastest of several rounds, each over fresh-enough memory not to sit in cache.
pub fn floor_ms((w, h): (u32, u32)) -> f64 {
    let len = w as usize * h as usize * 4;
    let src = vec![0x5au8; len];
    let mut dst = vec![0u8; len];
    let runs = (400_000_000 / len).clamp(10, 200);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..runs {
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&mut dst);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1000.0 / runs as f64);
    }
    best
}

/// Like [`floor_ms`], but each copy reads the next of four source frames, as the copy of a
/// client that draws into four buffers in turn does: more of it comes from main memory.
pub fn rotating_floor_ms((w, h): (u32, u32)) -> f64 {
    let len = w as usize * h as usize * 4;
    let sources: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; len]).collect();
    let mut dst = vec![0u8; len];
    let runs = (400_000_000 / len).clamp(12, 200);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for i in 0..runs {
            dst.copy_from_slice(std::hint::black_box(&sources[i % 4]));
            std::hint::black_box(&mut dst);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1000.0 / runs as f64);
    }
    best
}

fn floors(opts: &Options) -> Table {
    let mut table = Table::new(
        "memcpy",
        "The floor: copying one BGRx frame",
        vec![
            col("size", "size", 0),
            col("ms", "memcpy (ms)", 3),
            col("rotating_ms", "from 4 rotating sources (ms)", 3),
        ],
    );
    table.notes.push(
        "memcpy (the floor every × figure divides by): the same source frame copied again \
         and again, the fastest of three rounds. From 4 rotating sources: each copy reads the \
         next of four frames, as copying a client that draws into four buffers in turn does."
            .to_owned(),
    );
    let mut sizes = opts.sizes.clone();
    if !sizes.contains(&opts.encoder_size) {
        sizes.push(opts.encoder_size);
    }
    for (w, h) in sizes {
        table.push(json!({
            "size": format!("{w}x{h}"),
            "width": w,
            "height": h,
            "ms": floor_ms((w, h)),
            "rotating_ms": rotating_floor_ms((w, h)),
        }));
    }
    table
}

fn main() {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(err) => {
            if !err.is_empty() {
                eprintln!("gwd-bench: {err}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    gwd_tests::init();
    let runs = |section: &str| opts.sections.iter().any(|s| s == section);

    println!(
        "# gwd-bench{}: render-node={}, yuv-conversion={}, {} CPUs\n",
        if opts.quick { " --quick" } else { "" },
        opts.render_node,
        opts.yuv_conversion,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut tables = vec![floors(&opts)];
    println!("{}", tables[0].markdown());
    type Section = fn(&Options) -> Table;
    let sections: [(&str, Section); 13] = [
        ("frames", frames::run),
        ("startup", frames::startup),
        ("sockets", sockets::run),
        ("encoders", encoders::run),
        ("lobby-start", lobbies::start),
        ("lobby-density", lobbies::density),
        ("api-hostile", api::hostile),
        ("api-flood", flood::run),
        ("capture", capture::run),
        ("av-sync", audio::av_sync),
        ("audio-cpu", audio::audio_cpu),
        ("yuv-convert", yuv::run),
        ("yuv-frames", yuv_frames::run),
    ];
    for (name, section) in sections {
        if runs(name) {
            let table = section(&opts);
            println!("{}", table.markdown());
            tables.push(table);
        }
    }

    let document: serde_json::Map<String, Value> = tables
        .iter()
        .map(|t| (t.name.to_owned(), t.json()))
        .chain([
            ("render_node".to_owned(), json!(opts.render_node)),
            (
                "yuv_conversion".to_owned(),
                json!(opts.yuv_conversion.to_string()),
            ),
            ("quick".to_owned(), json!(opts.quick)),
        ])
        .collect();
    match std::fs::write(
        &opts.json,
        serde_json::to_string_pretty(&Value::Object(document)).unwrap(),
    ) {
        Ok(()) => println!("JSON: {}", opts.json.display()),
        Err(err) => {
            eprintln!("gwd-bench: cannot write {}: {err}", opts.json.display());
            std::process::exit(1);
        }
    }
}
