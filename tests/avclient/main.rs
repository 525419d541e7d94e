//! `gwd-av-sync-client`: flashes the window white and plays a click at the same instant,
//! every period, for A/V sync checks of a lobby's stream.
//!
//! One pipeline, two live `appsrc`s, every buffer stamped with its running time:
//! `appsrc ! videoconvert ! waylandsink` (black, white at each flash) and
//! `appsrc ! audioconvert ! audioresample ! pulsesink` (silence, a 5 ms 2 kHz click at each
//! flash). Both sinks sync to the pipeline clock with the same latency, so a flash and its
//! click leave the client together. A normal Wayland client (`WAYLAND_DISPLAY`) and a normal
//! PulseAudio client (`PULSE_SERVER`, `PULSE_SINK`).
//!
//! The first flash is `--first-ms` (default 1000) after the pipeline starts: pulsesink
//! loses what it is given while its stream starts (a click at 0.5 s went missing).
//!
//! With `--output FILE.mkv` the pattern goes to a file instead, as fast as it encodes
//! (needs `--count`). Prints `playing` once both sinks run and `done` at the end; exits 0
//! after `--count` flashes or on SIGTERM/SIGINT, 1 on a pipeline error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;
use gwd_tests::avgen::{self, Output, Pattern};

const USAGE: &str = "usage: gwd-av-sync-client [--period-ms MS] [--count N] [--first-ms MS] \
[--width W] [--height H] [--fps FPS] [--rate HZ] [--channels 1|2] [--flash-frames N] \
[--click-ms MS] [--click-hz HZ] [--audio-offset-ms MS] [--output FILE.mkv|FILE.mp4]";

fn parse() -> Result<(Pattern, Option<PathBuf>), String> {
    let mut p = Pattern::default();
    let mut click_ms = 5.0f64;
    let mut output = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        fn num<T: std::str::FromStr>(arg: &str, v: String) -> Result<T, String> {
            v.parse().map_err(|_| format!("bad {arg}: {v}"))
        }
        let ms_to_ns = |ms: f64| -> Result<u64, String> {
            if (0.0..1e9).contains(&ms) {
                Ok((ms * 1e6).round() as u64)
            } else {
                Err(format!("bad {arg}: {ms}"))
            }
        };
        match arg.as_str() {
            "--period-ms" => p.period_ns = ms_to_ns(num(&arg, value()?)?)?,
            "--first-ms" => p.first_ns = ms_to_ns(num(&arg, value()?)?)?,
            "--count" => p.count = Some(num(&arg, value()?)?),
            "--width" => p.width = num(&arg, value()?)?,
            "--height" => p.height = num(&arg, value()?)?,
            "--fps" => p.fps = num(&arg, value()?)?,
            "--rate" => p.rate = num(&arg, value()?)?,
            "--channels" => p.channels = num(&arg, value()?)?,
            "--flash-frames" => p.flash_frames = num(&arg, value()?)?,
            "--click-ms" => click_ms = num(&arg, value()?)?,
            "--click-hz" => p.click_hz = num(&arg, value()?)?,
            "--audio-offset-ms" => {
                let ms: f64 = num(&arg, value()?)?;
                if !ms.is_finite() || ms.abs() >= 1e6 {
                    return Err(format!("bad {arg}: {ms}"));
                }
                p.audio_offset_ns = (ms * 1e6).round() as i64;
            }
            "--output" => output = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if p.period_ns < 300_000_000 {
        return Err("--period-ms must be at least 300 (clicks need quiet between)".to_owned());
    }
    if !(1..=240).contains(&p.fps)
        || !(8_000..=192_000).contains(&p.rate)
        || !(1..=8).contains(&p.channels)
        || p.width == 0
        || p.height == 0
        || p.width > 8192
        || p.height > 8192
    {
        return Err("--fps, --rate, --channels, --width or --height out of range".to_owned());
    }
    if !click_ms.is_finite() || click_ms <= 0.0 || click_ms > 100.0 {
        return Err("--click-ms must be in (0, 100]".to_owned());
    }
    p.click_samples = (click_ms * f64::from(p.rate) / 1000.0).round().max(1.0) as u64;
    if output.is_some() && p.count.is_none() {
        return Err("--output needs --count".to_owned());
    }
    Ok((p, output))
}

fn main() -> ExitCode {
    let (pattern, output) = match parse() {
        Ok(parsed) => parsed,
        Err(err) => {
            if !err.is_empty() {
                eprintln!("gwd-av-sync-client: {err}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = gst::init() {
        eprintln!("gwd-av-sync-client: {err}");
        return ExitCode::FAILURE;
    }
    if let Some(path) = output {
        let timeout = std::time::Duration::from_secs(600);
        return match avgen::write_file(&pattern, &path, timeout) {
            Ok(()) => {
                println!("done");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("gwd-av-sync-client: {err}");
                ExitCode::FAILURE
            }
        };
    }
    match play(&pattern) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gwd-av-sync-client: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Plays the pattern live until its end, an error or a signal.
fn play(pattern: &Pattern) -> Result<(), String> {
    let pipeline = avgen::pipeline(pattern, &Output::Display)?;
    let main_loop = glib::MainLoop::new(None, false);
    let error = Arc::new(Mutex::new(None::<String>));

    let bus = pipeline.bus().ok_or("no bus")?;
    let (l, e, weak) = (main_loop.clone(), Arc::clone(&error), pipeline.downgrade());
    let mut said_playing = false;
    let _watch = bus
        .add_watch(move |_, msg| {
            match msg.view() {
                gst::MessageView::Eos(_) => l.quit(),
                gst::MessageView::Error(err) => {
                    *e.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!(
                        "{}: {} ({:?})",
                        err.src()
                            .map(|s| s.path_string().to_string())
                            .unwrap_or_default(),
                        err.error(),
                        err.debug()
                    ));
                    l.quit();
                }
                gst::MessageView::StateChanged(change)
                    if !said_playing
                        && change.current() == gst::State::Playing
                        && weak
                            .upgrade()
                            .is_some_and(|p| msg.src() == Some(p.upcast_ref())) =>
                {
                    said_playing = true;
                    println!("playing");
                }
                _ => {}
            }
            glib::ControlFlow::Continue
        })
        .map_err(|e| format!("bus watch: {e}"))?;
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| format!("signal handlers: {e}"))?;
    let l = main_loop.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            l.quit();
        }
    });

    let started = pipeline.set_state(gst::State::Playing);
    let result = match started {
        Ok(_) => {
            main_loop.run();
            match error.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(err) => Err(err),
                None => Ok(()),
            }
        }
        Err(err) => {
            // The bus says why (a sink that cannot connect, say).
            let why = bus
                .timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
                .and_then(|m| match m.view() {
                    gst::MessageView::Error(e) => Some(e.error().to_string()),
                    _ => None,
                });
            Err(format!(
                "cannot play: {err}{}",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            ))
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    if result.is_ok() {
        println!("done");
    }
    result
}
