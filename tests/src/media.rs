//! Media analysis for the A/V sync checks: decode a file's audio and video with GStreamer,
//! find the clicks and the flashes on the file's timeline, pair them up.
//!
//! Nothing here panics on a file that lacks a stream: the decoders say so in their `Err`,
//! so a benchmark can print it as a row.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_video::prelude::*;

/// How long one file may take to decode, start to EOS.
pub const DECODE_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a file could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// The file has no stream of this kind ("audio", "video").
    NoTrack(&'static str),
    /// GStreamer could not open, decode or finish it.
    Decode(String),
}

impl std::fmt::Display for MediaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoTrack(kind) => write!(f, "no {kind} track"),
            Self::Decode(err) => write!(f, "decoding failed: {err}"),
        }
    }
}

impl std::error::Error for MediaError {}

/// A file's audio, mixed to mono, on one contiguous timeline: sample `i` is at
/// `first_pts + i / rate` seconds of the file. Gaps between buffers are filled with silence,
/// overlaps dropped, so that holds even if the stream was not contiguous.
#[derive(Debug, Clone, Default)]
pub struct Audio {
    pub rate: u32,
    /// Channels in the file (the samples here are their mean).
    pub channels: u32,
    pub samples: Vec<f32>,
    /// PTS of the first sample, in seconds.
    pub first_pts: f64,
}

impl Audio {
    /// The file time of sample `i`, in seconds.
    pub fn time_of(&self, i: usize) -> f64 {
        self.first_pts + i as f64 / f64::from(self.rate.max(1))
    }
}

/// Decodes the first audio stream of `path` (any container decodebin reads).
pub fn decode_audio(path: &Path) -> Result<Audio, MediaError> {
    let chunks = decode(
        path,
        "audio",
        "audioconvert",
        "audio/x-raw,format=F32LE,layout=interleaved",
        |sample| {
            let s = sample.caps()?.structure(0)?.to_owned();
            let rate = s.get::<i32>("rate").ok()?;
            let channels = s.get::<i32>("channels").ok()?;
            let buffer = sample.buffer()?;
            let pts = buffer.pts()?.nseconds() as f64 / 1e9;
            let map = buffer.map_readable().ok()?;
            let channels_n = usize::try_from(channels).ok()?.max(1);
            let mono: Vec<f32> = map
                .chunks_exact(4 * channels_n)
                .map(|frame| {
                    frame
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .sum::<f32>()
                        / channels_n as f32
                })
                .collect();
            Some((u32::try_from(rate).ok()?, channels as u32, pts, mono))
        },
    )?;
    let mut audio = Audio::default();
    let Some((rate, channels, first, _)) = chunks.first() else {
        return Ok(audio);
    };
    audio.rate = *rate;
    audio.channels = *channels;
    audio.first_pts = *first;
    let rate = f64::from(audio.rate.max(1));
    // Within this much of where it belongs, a buffer is taken as contiguous.
    let slack = (rate * 0.002) as i64;
    for (_, _, pts, mono) in chunks {
        let expected = audio.samples.len() as i64;
        let at = ((pts - audio.first_pts) * rate).round() as i64;
        if at > expected + slack {
            // A gap: silence until this buffer.
            audio.samples.resize(at as usize, 0.0);
            audio.samples.extend_from_slice(&mono);
        } else if at < expected - slack {
            // An overlap: keep what is new.
            let skip = usize::try_from(expected - at).unwrap_or(0);
            audio.samples.extend(mono.iter().skip(skip));
        } else {
            audio.samples.extend_from_slice(&mono);
        }
    }
    Ok(audio)
}

/// Each frame's PTS (seconds) and mean luma (0–255) of the first video stream of `path`.
pub fn decode_video_luma(path: &Path) -> Result<Vec<(f64, f64)>, MediaError> {
    decode(
        path,
        "video",
        "videoconvert",
        "video/x-raw,format=GRAY8",
        |sample| {
            let info = gst_video::VideoInfo::from_caps(sample.caps()?).ok()?;
            let buffer = sample.buffer()?;
            let pts = buffer.pts()?.nseconds() as f64 / 1e9;
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).ok()?;
            let stride = usize::try_from(*frame.plane_stride().first()?).ok()?;
            let data = frame.plane_data(0).ok()?;
            let (w, h) = (info.width() as usize, info.height() as usize);
            let sum: u64 = (0..h)
                .filter_map(|y| data.get(y * stride..y * stride + w))
                .flat_map(|row| row.iter().map(|&v| u64::from(v)))
                .sum();
            Some((pts, sum as f64 / (w * h).max(1) as f64))
        },
    )
}

/// Runs `filesrc ! decodebin`, sends the first stream whose caps start with `kind` through
/// `convert ! caps ! appsink` and every other stream to a fakesink; `each` turns a sample
/// into a value (`None`: skipped).
fn decode<T: Send + 'static>(
    path: &Path,
    kind: &'static str,
    convert: &'static str,
    caps: &'static str,
    each: impl Fn(&gst::Sample) -> Option<T> + Send + Sync + 'static,
) -> Result<Vec<T>, MediaError> {
    let err = |e: &dyn std::fmt::Display| MediaError::Decode(e.to_string());
    gst::init().map_err(|e| err(&e))?;
    if !path.exists() {
        return Err(MediaError::Decode(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", path.to_string_lossy().as_ref())
        .build()
        .map_err(|e| err(&e))?;
    let decodebin = gst::ElementFactory::make("decodebin")
        .build()
        .map_err(|e| err(&e))?;
    pipeline.add_many([&src, &decodebin]).map_err(|e| err(&e))?;
    src.link(&decodebin).map_err(|e| err(&e))?;

    let values = Arc::new(Mutex::new(Vec::new()));
    let found = Arc::new(Mutex::new(false));
    let each = Arc::new(each);
    let weak = pipeline.downgrade();
    let (values_in, found_in) = (Arc::clone(&values), Arc::clone(&found));
    decodebin.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let is_kind = pad
            .current_caps()
            .unwrap_or_else(|| pad.query_caps(None))
            .structure(0)
            .is_some_and(|s| s.name().starts_with(kind));
        let mut found = found_in.lock().unwrap_or_else(|e| e.into_inner());
        let elements: Vec<gst::Element> = if is_kind && !*found {
            *found = true;
            let values = Arc::clone(&values_in);
            let each = Arc::clone(&each);
            let sink = gst_app::AppSink::builder()
                .caps(
                    &caps
                        .parse::<gst::Caps>()
                        .unwrap_or_else(|_| gst::Caps::new_any()),
                )
                .sync(false)
                .callbacks(
                    gst_app::AppSinkCallbacks::builder()
                        .new_sample(move |sink| {
                            let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                            if let Some(v) = each(&sample) {
                                values.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                            }
                            Ok(gst::FlowSuccess::Ok)
                        })
                        .build(),
                )
                .build();
            [
                gst::ElementFactory::make("queue").build().ok(),
                gst::ElementFactory::make(convert).build().ok(),
                Some(sink.upcast()),
            ]
            .into_iter()
            .flatten()
            .collect()
        } else {
            gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .build()
                .into_iter()
                .collect()
        };
        let _ = pipeline.add_many(&elements);
        let _ = gst::Element::link_many(&elements);
        for e in &elements {
            let _ = e.sync_state_with_parent();
        }
        if let Some(sink_pad) = elements.first().and_then(|e| e.static_pad("sink")) {
            let _ = pad.link(&sink_pad);
        }
    });

    let result = crate::avgen::run_to_eos(&pipeline, DECODE_TIMEOUT);
    let _ = pipeline.set_state(gst::State::Null);
    result.map_err(MediaError::Decode)?;
    if !*found.lock().unwrap_or_else(|e| e.into_inner()) {
        return Err(MediaError::NoTrack(kind));
    }
    let values = std::mem::take(&mut *values.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(values)
}

/// The energy of `freq` Hz in `samples` (a Goertzel filter).
pub fn tone_power(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(rate.max(1))).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The frequency (Hz, from `lo_hz` to `hi_hz` in steps of `step_hz`) with the most energy
/// in `samples`, by a Goertzel filter per frequency; 0 for no samples. Give it a window
/// (0.5–1 s is plenty), not a whole file.
pub fn spectral_peak(samples: &[f32], rate: u32, lo_hz: f64, hi_hz: f64, step_hz: f64) -> f64 {
    if samples.is_empty() || rate == 0 || step_hz <= 0.0 || hi_hz < lo_hz {
        return 0.0;
    }
    let steps = ((hi_hz - lo_hz) / step_hz).floor() as usize;
    let mut best = (0.0, f64::MIN);
    for i in 0..=steps {
        let f = lo_hz + i as f64 * step_hz;
        let power = tone_power(samples, rate, f);
        if power > best.1 {
            best = (f, power);
        }
    }
    best.0
}

/// Onsets of clicks, in file seconds: the first sample whose magnitude exceeds a quarter of
/// the loudest (and 0.02) after at least 200 ms below it. Nothing before the first 200 ms
/// of the file counts (it has no quiet before it).
pub fn click_times(audio: &Audio) -> Vec<f64> {
    let peak = audio.samples.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    click_times_with(audio, (peak * 0.25).max(0.02), 0.2)
}

/// [`click_times`] with a chosen threshold (magnitude) and quiet before each onset
/// (seconds).
pub fn click_times_with(audio: &Audio, threshold: f32, quiet_s: f64) -> Vec<f64> {
    let quiet = (quiet_s * f64::from(audio.rate)).ceil() as usize;
    let mut last_loud: Option<usize> = None;
    let mut onsets = Vec::new();
    for (i, &x) in audio.samples.iter().enumerate() {
        if x.abs() <= threshold {
            continue;
        }
        let quiet_before = match last_loud {
            Some(last) => i - last > quiet,
            None => i >= quiet,
        };
        if quiet_before {
            onsets.push(audio.time_of(i));
        }
        last_loud = Some(i);
    }
    onsets
}

/// Flashes, in file seconds: the PTS of each frame whose mean luma is above 128 right after
/// one below it.
pub fn flash_times(luma: &[(f64, f64)]) -> Vec<f64> {
    flash_times_with(luma, 128.0)
}

/// [`flash_times`] with a chosen luma threshold.
pub fn flash_times_with(luma: &[(f64, f64)], threshold: f64) -> Vec<f64> {
    luma.windows(2)
        .filter(|w| w[0].1 < threshold && w[1].1 >= threshold)
        .map(|w| w[1].0)
        .collect()
}

/// For each flash, the nearest click within `max_pair_s`: click − flash in seconds
/// (positive: the audio is late). Flashes without a click that near are left out.
pub fn av_offsets(flashes: &[f64], clicks: &[f64], max_pair_s: f64) -> Vec<f64> {
    flashes
        .iter()
        .filter_map(|&f| {
            clicks
                .iter()
                .map(|&c| c - f)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                .filter(|d| d.abs() <= max_pair_s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    #[test]
    fn spectral_peak_finds_the_tone_fast() {
        let rate = 48_000;
        let samples = tone(rate, 440.0, rate as usize / 2);
        let t = std::time::Instant::now();
        let peak = spectral_peak(&samples, rate, 100.0, 5000.0, 10.0);
        assert!((peak - 440.0).abs() < 1.0, "{peak}");
        // Only reported: the machine's speed is not the test's business.
        eprintln!("spectral_peak over 0.5 s, 491 bins: {:?}", t.elapsed());
        let samples = tone(rate, 2000.0, rate as usize);
        assert_eq!(spectral_peak(&samples, rate, 1000.0, 3000.0, 50.0), 2000.0);
        assert_eq!(spectral_peak(&[], rate, 100.0, 200.0, 10.0), 0.0);
    }

    #[test]
    fn clicks_after_quiet_only() {
        let rate = 1000;
        let mut samples = vec![0.0f32; 3000];
        // A click at 0.5 s (5 samples, ringing), another at 0.6 s (too soon: same click),
        // one at 1.5 s, a faint one at 2.5 s under the threshold.
        samples[500..505].fill(0.9);
        samples[600] = -0.8;
        samples[1500] = -0.9;
        samples[2500] = 0.1;
        let audio = Audio {
            rate,
            channels: 1,
            samples,
            first_pts: 10.0,
        };
        let clicks = click_times(&audio);
        assert_eq!(clicks, vec![10.5, 11.5]);
        // With nothing quiet before it, a click at the very start does not count.
        let mut start = audio.clone();
        start.samples[10] = 1.0;
        assert_eq!(click_times(&start), vec![10.5, 11.5]);
    }

    #[test]
    fn flashes_are_rising_edges() {
        let luma: Vec<(f64, f64)> = (0..90)
            .map(|i| {
                let t = i as f64 / 30.0;
                let white = matches!(i, 0 | 15 | 16 | 45 | 75 | 76 | 77);
                (t, if white { 235.0 } else { 16.0 })
            })
            .collect();
        let flashes = flash_times(&luma);
        assert_eq!(flashes, vec![15.0 / 30.0, 45.0 / 30.0, 75.0 / 30.0]);
    }

    #[test]
    fn offsets_pair_nearest() {
        let flashes = [0.5, 1.5, 2.5, 3.5];
        let clicks = [0.53, 1.49, 2.52, 9.0];
        let offsets = av_offsets(&flashes, &clicks, 0.3);
        let want = [0.03, -0.01, 0.02];
        assert_eq!(offsets.len(), want.len());
        for (o, w) in offsets.iter().zip(want) {
            assert!((o - w).abs() < 1e-9, "{offsets:?}");
        }
        assert!(av_offsets(&flashes, &[], 1.0).is_empty());
    }

    #[test]
    fn error_names_the_missing_track() {
        assert_eq!(MediaError::NoTrack("audio").to_string(), "no audio track");
    }
}
