//! Every H.264, H.265 and AV1 encoder on this machine, fed by `waylanddisplaysrc` with a
//! full-screen client animating, both ways in the same run: BGRx converted by
//! `videoconvert`, and I420/NV12 straight from the element. Frames out per second, CPU,
//! and latency through the encoder (running time at the sink minus the frame's timestamp).

use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::wait_for_socket;
use serde_json::json;

use crate::Options;
use crate::frames::raw_caps;
use crate::probe::{self, SinkProbe};
use crate::report::{Table, col, percentile};

const CODECS: [(&str, &str); 3] = [
    ("video/x-h264", "H.264"),
    ("video/x-h265", "H.265"),
    ("video/x-av1", "AV1"),
];

/// How the encoder gets 4:2:0 frames.
#[derive(Clone, Copy)]
enum Feed {
    /// `BGRx ! videoconvert ! I420|NV12`: the conversion in the pipeline.
    Videoconvert,
    /// `I420|NV12` from the element, which converts only the rows that changed.
    Element,
}

impl Feed {
    /// What follows `waylanddisplaysrc !` up to the encoder; the encoder picks the format.
    fn downstream(self, size: (u32, u32)) -> String {
        const QUEUE: &str = "queue max-size-buffers=2 max-size-bytes=0 max-size-time=0";
        match self {
            Self::Videoconvert => format!(
                "{} ! {QUEUE} ! videoconvert ! video/x-raw,format={{I420,NV12}}",
                raw_caps("BGRx", size)
            ),
            Self::Element => format!("{} ! {QUEUE}", raw_caps("{I420,NV12}", size)),
        }
    }

    /// The row's label, with the format the encoder took.
    fn label(self, format: &str) -> String {
        match self {
            Self::Videoconvert => format!("BGRx ! videoconvert ! {format}"),
            Self::Element => format!("{format} from the element"),
        }
    }
}

/// Encoder elements present, with the codec each makes, hardware first by rank.
fn present() -> Vec<(String, &'static str)> {
    let mut found: Vec<(String, &'static str, i32)> = Vec::new();
    let factories = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::VIDEO_ENCODER,
        gst::Rank::NONE,
    );
    for factory in factories {
        let codec = factory
            .static_pad_templates()
            .iter()
            .filter(|t| t.direction() == gst::PadDirection::Src)
            .find_map(|t| {
                let caps = t.caps();
                CODECS
                    .iter()
                    .find(|(name, _)| caps.iter().any(|s| s.name() == *name))
                    .map(|(_, codec)| *codec)
            });
        if let Some(codec) = codec {
            found.push((factory.name().to_string(), codec, i32::from(factory.rank())));
        }
    }
    found.sort_by(|a, b| a.1.cmp(b.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    found
        .into_iter()
        .map(|(name, codec, _)| (name, codec))
        .collect()
}

/// Low-latency settings for whichever of them `encoder` has: what a streaming host sets.
fn low_latency_fragment(encoder: &str) -> String {
    let Ok(element) = gst::ElementFactory::make(encoder).build() else {
        return encoder.to_owned();
    };
    let has = |p: &str| element.find_property(p).is_some();
    let mut fragment = encoder.to_owned();
    let settings: &[(&str, &str)] = &[
        ("tune", "zerolatency"),
        ("speed-preset", "ultrafast"),
        ("zerolatency", "true"),
        ("usage-profile", "realtime"),
        ("cpu-used", "10"),
        ("lag-in-frames", "0"),
        ("complexity", "low"),
        ("b-frames", "0"),
        ("bframes", "0"),
        ("rc-lookahead", "0"),
    ];
    for (property, value) in settings {
        // x265enc's tune is a string list; x264enc's is flags; both take this spelling.
        if has(property) {
            fragment += &format!(" {property}={value}");
        }
    }
    fragment
}

pub fn run(opts: &Options) -> Table {
    let (w, h) = opts.encoder_size;
    let mut table = Table::new(
        "encoders",
        format!("Encoders fed by waylanddisplaysrc, {w}x{h}@60, full-screen client animating"),
        vec![
            col("codec", "codec", 0),
            col("encoder", "encoder and settings", 0),
            col("input", "input", 0),
            col("fps", "frames out/s", 1),
            col("cpu_percent", "process CPU %", 0),
            col("cpu_ms_per_frame", "CPU per frame (ms)", 2),
            col("latency_p50_ms", "latency p50 (ms)", 1),
            col("latency_p99_ms", "p99 (ms)", 1),
            col("error", "error", 0),
        ],
    );
    table.notes.push(format!(
        "Pipelines: `waylanddisplaysrc ! video/x-raw,format=BGRx,width={w},height={h},\
         framerate=60/1 ! queue max-size-buffers=2 ! videoconvert ! \
         video/x-raw,format=I420|NV12 ! ENCODER ! fakesink sync=false` (input \
         \"BGRx ! videoconvert\"), and `waylanddisplaysrc ! video/x-raw,format=I420|NV12,\
         width={w},height={h},framerate=60/1 ! queue max-size-buffers=2 ! ENCODER ! fakesink \
         sync=false` (input \"from the element\", which converts only the rows that \
         changed); the input column names the format the encoder took. CPU is the whole \
         process, conversion included. Latency is the sink's running time minus the \
         buffer's PTS (when the frame was due), so it holds queueing, conversion and \
         encoding. {:.1} s after {:.1} s of warm-up.",
        opts.seconds.as_secs_f64(),
        opts.warmup.as_secs_f64()
    ));
    let encoders = present();
    if encoders.is_empty() {
        table
            .notes
            .push("No H.264, H.265 or AV1 encoder is installed.".to_owned());
    }
    for (encoder, codec) in encoders {
        let fragment = low_latency_fragment(&encoder);
        for feed in [Feed::Videoconvert, Feed::Element] {
            let row = match measure(opts, &fragment, feed) {
                Ok(m) => {
                    let mut lag = m.lag_ms;
                    json!({
                        "codec": codec,
                        "encoder": fragment,
                        "input": feed.label(&m.format),
                        "fps": m.fps,
                        "cpu_percent": m.cpu_percent,
                        "cpu_ms_per_frame": m.cpu_ms_per_frame,
                        "latency_p50_ms": percentile(&mut lag, 0.5),
                        "latency_p99_ms": percentile(&mut lag, 0.99),
                    })
                }
                Err(error) => json!({
                    "codec": codec,
                    "encoder": fragment,
                    "input": feed.label("I420|NV12"),
                    "error": error,
                }),
            };
            table.push(row);
        }
    }
    table
}

struct Measured {
    /// The raw format the encoder took.
    format: String,
    fps: f64,
    cpu_percent: f64,
    cpu_ms_per_frame: f64,
    lag_ms: Vec<f64>,
}

fn measure(opts: &Options, fragment: &str, feed: Feed) -> Result<Measured, String> {
    let description = format!(
        "{source} ! {downstream} ! {fragment} name=encoder ! fakesink name=sink sync=false",
        source = opts.source(),
        downstream = feed.downstream(opts.encoder_size),
    );
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| e.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_owned())?;
    let guard = PipelineGuard(pipeline.clone());
    let probe = SinkProbe::attach(&pipeline, false);
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| gwd_tests::bus_error(&pipeline).unwrap_or_else(|| "cannot play".into()))?;
    let (socket, dir) = wait_for_socket(&pipeline.bus().unwrap(), Duration::from_secs(10));
    let _client = probe::animating_client(&dir, &socket, false, false);
    std::thread::sleep(opts.warmup);
    if let Some(err) = gwd_tests::bus_error(&pipeline) {
        return Err(err);
    }
    let format = pipeline
        .by_name("encoder")
        .and_then(|e| e.static_pad("sink"))
        .and_then(|pad| pad.current_caps())
        .and_then(|caps| caps.structure(0)?.get::<String>("format").ok())
        .unwrap_or_else(|| "?".to_owned());
    probe.reset();
    let (cpu0, n0, t0) = (
        probe::process_cpu(),
        probe.buffers.load(std::sync::atomic::Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(opts.seconds);
    let cpu = probe::process_cpu() - cpu0;
    let frames = probe.buffers.load(std::sync::atomic::Ordering::Relaxed) - n0;
    let wall = t0.elapsed().as_secs_f64();
    if let Some(err) = gwd_tests::bus_error(&pipeline) {
        return Err(err);
    }
    drop(guard);
    Ok(Measured {
        format,
        fps: frames as f64 / wall,
        cpu_percent: cpu.as_secs_f64() / wall * 100.0,
        cpu_ms_per_frame: cpu.as_secs_f64() * 1000.0 / frames.max(1) as f64,
        lag_ms: probe.take_pts_lag_ms(),
    })
}

struct PipelineGuard(gst::Pipeline);

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}
