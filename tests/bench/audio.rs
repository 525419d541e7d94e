//! Audio: A/V sync of `gst-wayland-display run` (a client flashing and clicking together,
//! the file analysed) and the CPU an audio lobby costs (PulseAudio capture + Opus).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::ChildGuard;
use gwd_tests::media::{self, MediaError};
use gwd_tests::pulse::{PulseServer, cpu_seconds};
use serde_json::json;

use crate::Options;
use crate::report::{Table, col, percentile};

/// A binary built beside this benchmark.
fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("no path to this executable");
    let path = exe.parent().map(|dir| dir.join(name)).unwrap_or_default();
    assert!(
        path.exists(),
        "{} missing: build it with `./scripts/cargo-build.sh`",
        path.display()
    );
    path
}

pub fn av_sync(opts: &Options) -> Table {
    let mut table = Table::new(
        "av_sync",
        format!(
            "A/V sync of `run` (640x480@30, {} s to .mkv): click − flash",
            opts.av_seconds
        ),
        vec![
            col("file", "file", 0),
            col("flashes", "flashes", 0),
            col("clicks", "clicks", 0),
            col("pairs", "pairs", 0),
            col("p50_ms", "offset p50 (ms)", 1),
            col("min_ms", "min (ms)", 1),
            col("max_ms", "max (ms)", 1),
            col("mean_abs_ms", "mean |offset| (ms)", 1),
            col("click_hz", "click tone (Hz)", 0),
        ],
    );
    table.notes.push(
        "`gst-wayland-display run --output X.mkv -- gwd-av-sync-client`: the client flashes \
         its window white and plays a 5 ms 2 kHz click at the same running time every second \
         (waylandsink and pulsesink on one clock). In the file, each flash is the first bright \
         frame's PTS and each click the first loud sample's; the offset is click − flash \
         (positive: audio late). Video frames come every 33 ms, so a flash can land up to one \
         frame late. `run` starts its own PulseAudio (PULSE_SERVER is unset for it)."
            .to_owned(),
    );
    let dir = gwd_tests::private_dir("gwd-bench-av");
    let file = dir.path().join("av.mkv");
    let seconds = opts.av_seconds;
    // Flashes from 1 s into the client, one a second, the last one ending well before the
    // run does (the client needs a moment to start).
    let count = seconds.saturating_sub(2).max(1);
    let mut cmd = Command::new(sibling("gst-wayland-display"));
    cmd.args(["run", "--width", "640", "--height", "480", "--fps", "30"])
        .arg("--output")
        .arg(&file)
        .args(["--duration", &seconds.to_string(), "--"])
        .arg(sibling("gwd-av-sync-client"))
        .args(["--count", &count.to_string()])
        .env_remove("PULSE_SERVER")
        .env_remove("PULSE_SINK")
        .env_remove("XDG_RUNTIME_DIR");
    let out = gwd_tests::run_group(cmd, Duration::from_secs(seconds + 60));
    let label = "run --output .mkv";
    if !out.status.success() || !file.exists() {
        table.push(json!({"file": format!("{label}: run failed ({})", out.status)}));
        table
            .notes
            .push(format!("`run` printed:\n\n```\n{}\n```", out.all().trim()));
        return table;
    }
    // Why the client stopped early, if it did (no PulseAudio to play to, say).
    let client_said: Vec<&str> = out
        .stderr
        .lines()
        .chain(out.stdout.lines())
        .filter(|l| l.starts_with("gwd-av-sync-client:"))
        .collect();
    if !client_said.is_empty() {
        table
            .notes
            .push(format!("The client said: `{}`", client_said.join("` `")));
    }
    let flashes = match media::decode_video_luma(&file) {
        Ok(luma) => media::flash_times(&luma),
        Err(err) => {
            table.push(json!({"file": format!("{label}: video: {err}")}));
            return table;
        }
    };
    let audio = match media::decode_audio(&file) {
        Ok(audio) => audio,
        Err(err @ MediaError::NoTrack(_)) => {
            table.push(
                json!({"file": format!("{label}: {err}"), "flashes": flashes.len(),
                "clicks": 0, "pairs": 0}),
            );
            return table;
        }
        Err(err) => {
            table.push(json!({"file": format!("{label}: audio: {err}"),
                "flashes": flashes.len()}));
            return table;
        }
    };
    let clicks = media::click_times(&audio);
    let mut offsets: Vec<f64> = media::av_offsets(&flashes, &clicks, 0.4)
        .into_iter()
        .map(|o| o * 1000.0)
        .collect();
    let click_hz = clicks.first().and_then(|&c| {
        let start = ((c - audio.first_pts) * f64::from(audio.rate)).round() as usize;
        let window = audio
            .samples
            .get(start..start + audio.rate as usize / 200)?;
        Some(media::spectral_peak(
            window, audio.rate, 500.0, 5000.0, 50.0,
        ))
    });
    let mean_abs = (!offsets.is_empty())
        .then(|| offsets.iter().map(|o| o.abs()).sum::<f64>() / offsets.len() as f64);
    table.push(json!({
        "file": label,
        "flashes": flashes.len(),
        "clicks": clicks.len(),
        "pairs": offsets.len(),
        "min_ms": percentile(&mut offsets, 0.0),
        "p50_ms": percentile(&mut offsets, 0.5),
        "max_ms": percentile(&mut offsets, 1.0),
        "mean_abs_ms": mean_abs,
        "click_hz": click_hz,
    }));
    table
}

/// The null sinks of one step, unloaded when dropped.
struct Sinks<'a> {
    server: &'a PulseServer,
    modules: Vec<String>,
}

impl Drop for Sinks<'_> {
    fn drop(&mut self) {
        for m in &self.modules {
            let _ = self.server.pactl(&["unload-module", m]);
        }
    }
}

pub fn audio_cpu(opts: &Options) -> Table {
    let mut table = Table::new(
        "audio_cpu",
        "CPU per audio lobby: PulseAudio capture + Opus 128 kb/s, 48 kHz stereo, 10 ms frames",
        vec![
            col("lobbies", "lobbies", 0),
            col("audio_s", "audio per lobby (s)", 2),
            col("ms_per_s", "worker CPU per s of audio (ms)", 2),
            col("core_pct", "worker % of a core per lobby", 2),
            col("server_core_pct", "pulseaudio % of a core per lobby", 2),
        ],
    );
    table.notes.push(format!(
        "One private pulseaudio; per lobby a null sink with a 440 Hz tone played into it \
         (`gst-launch-1.0 audiotestsrc is-live=true ! pulsesink`, a process of its own, not \
         counted) and, in this process, `pulsesrc device=SINK.monitor buffer-time=100000 \
         latency-time=10000 ! audioconvert ! audioresample ! opusenc bitrate=128000 \
         bitrate-type=cbr frame-size=10 audio-type=restricted-lowdelay ! fakesink`: the \
         capture + encode cost in the lobby worker. Worker CPU is this process's utime+stime \
         over {:.1} s (from {:.1} s after every pipeline delivered its first buffer), divided \
         by the audio the pipelines delivered; the server's share is pulseaudio's own utime+stime (mixing the tone into each sink \
         and serving each monitor) per lobby. /proc ticks are 10 ms.",
        opts.seconds.as_secs_f64(),
        opts.warmup.as_secs_f64()
    ));
    let server = match PulseServer::start() {
        Ok(server) => server,
        Err(err) => {
            table.notes.push(format!("Skipped: {err}"));
            return table;
        }
    };
    for &n in &opts.audio_lobbies {
        match audio_step(&server, n, opts) {
            Ok(row) => table.push(row),
            Err(err) => {
                table.push(json!({"lobbies": format!("{n} (failed: {err})")}));
            }
        }
    }
    table
}

fn audio_step(server: &PulseServer, n: usize, opts: &Options) -> Result<serde_json::Value, String> {
    let mut sinks = Sinks {
        server,
        modules: Vec::new(),
    };
    let names: Vec<String> = (0..n).map(|i| format!("bench{n}_{i}")).collect();
    for name in &names {
        let module = server.null_sink(name)?;
        sinks.modules.push(module);
    }
    let mut tones = Vec::new();
    for name in &names {
        let mut cmd = Command::new("gst-launch-1.0");
        cmd.args([
            "-q",
            "audiotestsrc",
            "is-live=true",
            "freq=440",
            "!",
            "pulsesink",
        ])
        .arg(format!("device={name}"))
        .env("PULSE_SERVER", server.server())
        .stderr(Stdio::null());
        tones.push(ChildGuard::spawn(cmd));
    }
    let delivered: Vec<Arc<AtomicU64>> = (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut pipelines = Vec::new();
    for (name, ns) in names.iter().zip(&delivered) {
        let launch = format!(
            "pulsesrc server={} device={name}.monitor provide-clock=false buffer-time=100000 \
             latency-time=10000 ! audio/x-raw,rate=48000,channels=2 ! queue ! audioconvert ! \
             audioresample ! opusenc bitrate=128000 bitrate-type=cbr frame-size=10 \
             audio-type=restricted-lowdelay ! fakesink name=sink",
            server.server()
        );
        let pipeline = gst::parse::launch(&launch)
            .map_err(|e| format!("{launch}: {e}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "not a pipeline".to_owned())?;
        let pad = pipeline
            .by_name("sink")
            .and_then(|s| s.static_pad("sink"))
            .ok_or("no fakesink pad")?;
        let ns = Arc::clone(ns);
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(d) = info.buffer().and_then(|b| b.duration()) {
                ns.fetch_add(d.nseconds(), Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
        pipelines.push(Stopping(pipeline));
    }
    for p in &pipelines {
        p.0.set_state(gst::State::Playing)
            .map_err(|e| format!("cannot play a capture pipeline: {e}"))?;
    }
    // Capture takes a second or two to start: the window opens once every pipeline
    // delivers, plus the warm-up.
    let deadline = Instant::now() + Duration::from_secs(20);
    while delivered.iter().any(|d| d.load(Ordering::Relaxed) == 0) {
        check_bus(&pipelines)?;
        if Instant::now() > deadline {
            return Err("a capture pipeline delivered nothing within 20 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(opts.warmup);
    check_bus(&pipelines)?;
    let before: Vec<u64> = delivered
        .iter()
        .map(|d| d.load(Ordering::Relaxed))
        .collect();
    let (self_cpu, server_cpu, t0) = (cpu_seconds("/proc/self/stat"), server.cpu(), Instant::now());
    std::thread::sleep(opts.seconds);
    let wall = t0.elapsed().as_secs_f64();
    let self_cpu = cpu_seconds("/proc/self/stat") - self_cpu;
    let server_cpu = server.cpu() - server_cpu;
    let audio: f64 = delivered
        .iter()
        .zip(before)
        .map(|(d, b)| d.load(Ordering::Relaxed).saturating_sub(b) as f64 / 1e9)
        .sum();
    check_bus(&pipelines)?;
    drop(pipelines);
    drop(tones);
    drop(sinks);
    if audio <= 0.0 {
        return Err("no audio came through".to_owned());
    }
    Ok(json!({
        "lobbies": n,
        "audio_s": audio / n as f64,
        "ms_per_s": self_cpu * 1000.0 / audio,
        "core_pct": self_cpu / wall / n as f64 * 100.0,
        "server_core_pct": server_cpu / wall / n as f64 * 100.0,
    }))
}

/// A pipeline set to NULL when dropped.
struct Stopping(gst::Pipeline);

impl Drop for Stopping {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// The first error any pipeline posted.
fn check_bus(pipelines: &[Stopping]) -> Result<(), String> {
    for p in pipelines {
        let msg =
            p.0.bus()
                .and_then(|b| b.pop_filtered(&[gst::MessageType::Error]));
        if let Some(gst::MessageView::Error(e)) = msg.as_ref().map(|m| m.view()) {
            return Err(e.error().to_string());
        }
    }
    Ok(())
}
