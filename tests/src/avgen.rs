//! The A/V sync pattern: black video with a white flash and silence with a click at the same
//! instant, every period. `gwd-av-sync-client` plays it on a display and PulseAudio; tests
//! mux it into a file (with a chosen audio offset) to check [`crate::media`] against it.
//!
//! Every buffer carries an explicit PTS counted from 0: on a live pipeline that is its
//! running time, so both sinks render a flash and its click at the same instant.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gst::prelude::*;

const NS: u64 = 1_000_000_000;

/// What the pattern looks and sounds like. Times are nanoseconds of running time.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub rate: u32,
    pub channels: u32,
    /// From one flash to the next.
    pub period_ns: u64,
    /// The first flash.
    pub first_ns: u64,
    /// Flashes before the streams end; `None`: until stopped.
    pub count: Option<u64>,
    /// White frames per flash (the first is the one at or right after the flash instant).
    pub flash_frames: u64,
    /// Samples of click per flash, its tone and amplitude (0..1).
    pub click_samples: u64,
    pub click_hz: f64,
    pub amplitude: f64,
    /// Where each click starts relative to its flash (tests: a known offset; 0 in sync).
    pub audio_offset_ns: i64,
    /// Samples per audio buffer.
    pub chunk: u64,
}

impl Default for Pattern {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
            fps: 30,
            rate: 48_000,
            channels: 2,
            period_ns: NS,
            // pulsesink loses what it is given in its stream's first ~0.5 s: a click at
            // 0.5 s went missing under a compositor, one at 1 s did not.
            first_ns: NS,
            count: None,
            flash_frames: 2,
            // 5 ms of 2 kHz at 0.8.
            click_samples: 240,
            click_hz: 2000.0,
            amplitude: 0.8,
            audio_offset_ns: 0,
            chunk: 480,
        }
    }
}

impl Pattern {
    /// The instant of flash `k`.
    pub fn flash_ns(&self, k: u64) -> u64 {
        self.first_ns
            .saturating_add(k.saturating_mul(self.period_ns))
    }

    /// Where both streams end: half a period after the last flash.
    pub fn end_ns(&self) -> Option<u64> {
        let count = self.count?;
        Some(
            self.flash_ns(count.saturating_sub(1))
                .saturating_add(self.period_ns / 2),
        )
    }

    fn frame_pts(&self, n: u64) -> u64 {
        mul_div(n, NS, u64::from(self.fps.max(1)))
    }

    /// The first frame at or after flash `k`.
    fn flash_frame(&self, k: u64) -> u64 {
        mul_div_ceil(self.flash_ns(k), u64::from(self.fps.max(1)), NS)
    }

    fn flashes(&self) -> u64 {
        self.count.unwrap_or(u64::MAX)
    }

    /// Whether frame `n` is white.
    pub fn frame_is_white(&self, n: u64) -> bool {
        let t = self.frame_pts(n);
        let k = t.saturating_sub(self.first_ns) / self.period_ns.max(1);
        // The flash frame of k can be after frame n (rounding up): look at k-1 as well.
        [k.checked_sub(1), Some(k), k.checked_add(1)]
            .into_iter()
            .flatten()
            .filter(|&k| k < self.flashes())
            .any(|k| {
                let f = self.flash_frame(k);
                n >= f && n < f.saturating_add(self.flash_frames)
            })
    }

    /// The first sample of click `k`.
    fn click_sample(&self, k: u64) -> Option<u64> {
        let at = i128::from(self.flash_ns(k)) + i128::from(self.audio_offset_ns);
        let at = u64::try_from(at).ok()?;
        Some(mul_div_round(at, u64::from(self.rate), NS))
    }

    /// The mono value of sample `s`, -1..1.
    pub fn sample(&self, s: u64) -> f64 {
        if self.period_ns == 0 || self.rate == 0 {
            return 0.0;
        }
        let t = mul_div(s, NS, u64::from(self.rate)) as i128 - i128::from(self.audio_offset_ns);
        let k = if t < i128::from(self.first_ns) {
            0
        } else {
            ((t - i128::from(self.first_ns)) / i128::from(self.period_ns)) as u64
        };
        for k in [k.checked_sub(1), Some(k), k.checked_add(1)]
            .into_iter()
            .flatten()
            .filter(|&k| k < self.flashes())
        {
            if let Some(start) = self.click_sample(k)
                && s >= start
                && s - start < self.click_samples
            {
                let i = (s - start) as f64;
                // A cosine: the click is loud from its first sample.
                return self.amplitude
                    * (2.0 * std::f64::consts::PI * self.click_hz * i / f64::from(self.rate))
                        .cos();
            }
        }
        0.0
    }

    pub fn video_caps(&self) -> gst::Caps {
        gst::Caps::builder("video/x-raw")
            .field("format", "BGRx")
            .field("width", self.width as i32)
            .field("height", self.height as i32)
            .field("framerate", gst::Fraction::new(self.fps as i32, 1))
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build()
    }

    pub fn audio_caps(&self) -> gst::Caps {
        gst::Caps::builder("audio/x-raw")
            .field("format", "S16LE")
            .field("layout", "interleaved")
            .field("rate", self.rate as i32)
            .field("channels", self.channels as i32)
            .build()
    }

    /// Frame `n` with its PTS and duration.
    pub fn video_buffer(&self, n: u64) -> gst::Buffer {
        let len = self.width as usize * self.height as usize * 4;
        let byte = if self.frame_is_white(n) { 0xff } else { 0x00 };
        let mut buffer = gst::Buffer::from_mut_slice(vec![byte; len]);
        let pts = self.frame_pts(n);
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(gst::ClockTime::from_nseconds(
                self.frame_pts(n + 1).saturating_sub(pts),
            ));
            b.set_offset(n);
        }
        buffer
    }

    /// `chunk` samples from sample `start`, every channel the same, with PTS and duration.
    pub fn audio_buffer(&self, start: u64) -> gst::Buffer {
        let channels = self.channels.max(1) as usize;
        let mut data = Vec::with_capacity(self.chunk as usize * channels * 2);
        for s in start..start + self.chunk {
            let v = (self.sample(s) * f64::from(i16::MAX)).round() as i16;
            for _ in 0..channels {
                data.extend_from_slice(&v.to_le_bytes());
            }
        }
        let mut buffer = gst::Buffer::from_mut_slice(data);
        let rate = u64::from(self.rate.max(1));
        let pts = mul_div(start, NS, rate);
        let end = mul_div(start + self.chunk, NS, rate);
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(gst::ClockTime::from_nseconds(end - pts));
            b.set_offset(start);
            b.set_offset_end(start + self.chunk);
        }
        buffer
    }
}

fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    u64::try_from(u128::from(a) * u128::from(b) / u128::from(c.max(1))).unwrap_or(u64::MAX)
}

fn mul_div_ceil(a: u64, b: u64, c: u64) -> u64 {
    u64::try_from((u128::from(a) * u128::from(b)).div_ceil(u128::from(c.max(1))))
        .unwrap_or(u64::MAX)
}

fn mul_div_round(a: u64, b: u64, c: u64) -> u64 {
    let c = u128::from(c.max(1));
    u64::try_from((u128::from(a) * u128::from(b) + c / 2) / c).unwrap_or(u64::MAX)
}

/// Where the pattern goes.
pub enum Output<'a> {
    /// `waylandsink` (the compositor maximizes it; it scales the video to the window) and
    /// `pulsesink`, both syncing to the clock: the live client. `pulsesink` honours
    /// `PULSE_SERVER` and `PULSE_SINK`.
    Display,
    /// H.264 and Opus in Matroska (`.mkv`) or MP4 (`.mp4`), as fast as they encode; the
    /// pattern must have a `count`.
    File(&'a Path),
}

/// The pipeline playing `pattern` to `output`, its two `appsrc`s fed on demand.
pub fn pipeline(pattern: &Pattern, output: &Output) -> Result<gst::Pipeline, String> {
    let live = matches!(output, Output::Display);
    let launch = match output {
        Output::Display => "appsrc name=video ! queue max-size-buffers=2 ! videoconvert ! \
                            waylandsink name=vsink \
                            appsrc name=audio ! audioconvert ! audioresample ! pulsesink name=asink"
            .to_owned(),
        Output::File(path) => {
            if pattern.count.is_none() {
                return Err("a file needs a pattern with a count".to_owned());
            }
            let location = path
                .to_str()
                .filter(|l| !l.contains('"'))
                .ok_or("the file's path must be UTF-8 without a double quote")?;
            let mux = match path.extension().and_then(|e| e.to_str()) {
                Some("mp4") => "mp4mux",
                _ => "matroskamux",
            };
            format!(
                "appsrc name=video ! videoconvert ! video/x-raw,format=I420 ! x264enc \
                 tune=zerolatency speed-preset=ultrafast key-int-max=30 ! \
                 video/x-h264,profile=constrained-baseline ! h264parse ! queue ! {mux} name=mux ! \
                 filesink location=\"{location}\" \
                 appsrc name=audio ! audioconvert ! audioresample ! opusenc bitrate=128000 \
                 frame-size=10 ! queue ! mux."
            )
        }
    };
    let pipeline = gst::parse::launch(&launch)
        .map_err(|e| format!("{launch}: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_owned())?;
    let appsrc = |name: &str| {
        pipeline
            .by_name(name)
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or(format!("no appsrc {name}"))
    };
    let (video, audio) = (appsrc("video")?, appsrc("audio")?);
    let pattern = Arc::new(pattern.clone());
    let end = pattern.end_ns();

    video.set_caps(Some(&pattern.video_caps()));
    audio.set_caps(Some(&pattern.audio_caps()));
    for src in [&video, &audio] {
        src.set_format(gst::Format::Time);
        src.set_is_live(live);
        // need-data comes when the queue is empty: one buffer ahead of what the sink took.
        if live {
            // Slack for the first buffers; the sinks apply the same latency to both.
            src.set_latency(gst::ClockTime::from_mseconds(100), None);
        }
    }

    let frame = Arc::new(AtomicU64::new(0));
    let p = Arc::clone(&pattern);
    video.set_callbacks(
        gst_app::AppSrcCallbacks::builder()
            .need_data(move |src, _| {
                let n = frame.fetch_add(1, Ordering::Relaxed);
                if end.is_some_and(|end| p.frame_pts(n) >= end) {
                    let _ = src.end_of_stream();
                    return;
                }
                let _ = src.push_buffer(p.video_buffer(n));
            })
            .build(),
    );
    let sample = Arc::new(AtomicU64::new(0));
    let p = Arc::clone(&pattern);
    audio.set_callbacks(
        gst_app::AppSrcCallbacks::builder()
            .need_data(move |src, _| {
                let s = sample.fetch_add(p.chunk, Ordering::Relaxed);
                if end.is_some_and(|end| mul_div(s, NS, u64::from(p.rate.max(1))) >= end) {
                    let _ = src.end_of_stream();
                    return;
                }
                let _ = src.push_buffer(p.audio_buffer(s));
            })
            .build(),
    );
    Ok(pipeline)
}

/// Plays `pattern` into `path` (it must have a `count`) and waits for the file to be
/// complete, at most `timeout`.
pub fn write_file(
    pattern: &Pattern,
    path: &Path,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let pipeline = pipeline(pattern, &Output::File(path))?;
    let result = run_to_eos(&pipeline, timeout);
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Sets `pipeline` playing and waits for its EOS (or error), at most `timeout`.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout: std::time::Duration) -> Result<(), String> {
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("cannot play: {e}"))?;
    let bus = pipeline.bus().ok_or("no bus")?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX)),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(err)) => Err(format!(
            "{}: {} ({:?})",
            err.src()
                .map(|s| s.path_string().to_string())
                .unwrap_or_default(),
            err.error(),
            err.debug()
        )),
        _ => Err(format!("no EOS within {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_frames_and_clicks_line_up() {
        let p = Pattern {
            count: Some(3),
            ..Pattern::default()
        };
        // 30 fps, first flash at 1 s = frame 30, then 60, 90; two frames each.
        let white: Vec<u64> = (0..150).filter(|&n| p.frame_is_white(n)).collect();
        assert_eq!(white, vec![30, 31, 60, 61, 90, 91]);
        // Clicks at samples 48000, 96000, 144000, 240 samples each.
        let loud: Vec<u64> = (0..250_000).filter(|&s| p.sample(s) != 0.0).collect();
        assert_eq!(loud.first(), Some(&48_000));
        assert!(loud.iter().all(|&s| (48_000..48_240).contains(&s)
            || (96_000..96_240).contains(&s)
            || (144_000..144_240).contains(&s)));
        assert_eq!(p.end_ns(), Some(3 * NS + NS / 2));
    }

    #[test]
    fn offset_moves_the_clicks_only() {
        let p = Pattern {
            count: Some(1),
            audio_offset_ns: 30_000_000,
            ..Pattern::default()
        };
        assert!(p.frame_is_white(30));
        assert_eq!(p.click_sample(0), Some(48_000 + 1440));
        assert!(p.sample(48_000 + 1440).abs() > 0.7);
        assert_eq!(p.sample(48_000 + 1439), 0.0);
    }
}
