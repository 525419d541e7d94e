//! The compositor without GStreamer: start a `WaylandDisplay`, run an application on its
//! socket, and read the frames it draws.
//!
//! ```sh
//! cargo run -p wayland-display-core --example core-frames -- [--frames N] [--size WxH] -- APP ARGS…
//! ```
//!
//! Prints one line per new frame (size, where its pixels came from, the pixel at 10,10)
//! and ends after N new frames, once the picture has been still for a second (the
//! compositor draws only when something changed), or when the app exits.

use std::error::Error;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use waylanddisplaycore::{
    DisplayConfig, Frame, OutputFormat, RenderTarget, VideoMode, WaylandDisplay,
};

/// How long a picture must stay unchanged to count as finished.
const STILL_FOR: Duration = Duration::from_secs(1);
/// How long the app has to show anything at all.
const GIVE_UP_AFTER: Duration = Duration::from_secs(20);

struct Args {
    frames: u32,
    width: u32,
    height: u32,
    app: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        frames: 5,
        width: 320,
        height: 240,
        app: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--frames" => {
                let v = it.next().ok_or("--frames needs a count")?;
                args.frames = v.parse().map_err(|_| format!("bad --frames {v:?}"))?;
            }
            "--size" => {
                let v = it.next().ok_or("--size needs WxH")?;
                let (w, h) = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .filter(|&(w, h): &(u32, u32)| {
                        (1..=16384).contains(&w) && (1..=16384).contains(&h)
                    })
                    .ok_or(format!("bad --size {v:?}: want WxH, 1 to 16384 each"))?;
                (args.width, args.height) = (w, h);
            }
            "--" => args.app = it.by_ref().collect(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.app.is_empty() {
        return Err("usage: core-frames [--frames N] [--size WxH] -- APP ARGS…".into());
    }
    Ok(args)
}

/// Ends the app when the example ends, however it ends.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pixel at (x, y) as (r, g, b), whatever the byte order of the (RGB) output format.
fn rgb(frame: &Frame, x: u32, y: u32) -> Option<(u8, u8, u8)> {
    let [a, b, c, _] = frame.pixel(x, y)?;
    match frame.format {
        OutputFormat::Bgrx | OutputFormat::Bgra => Some((c, b, a)),
        OutputFormat::Rgbx | OutputFormat::Rgba => Some((a, b, c)),
        OutputFormat::I420 | OutputFormat::Nv12 => None,
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let display = WaylandDisplay::new(DisplayConfig {
        render_target: RenderTarget::Software,
        mode: VideoMode {
            width: args.width,
            height: args.height,
            refresh_mhz: 60_000,
        },
        ..DisplayConfig::default()
    })?;
    println!(
        "compositor on {} in {}",
        display.socket_name(),
        display.runtime_dir().display()
    );

    let mut app = App(Command::new(&args.app[0])
        .args(&args.app[1..])
        .env("WAYLAND_DISPLAY", display.socket_name())
        .env("XDG_RUNTIME_DIR", display.runtime_dir())
        .spawn()
        .map_err(|err| format!("cannot start {:?}: {err}", args.app[0]))?);

    let started = Instant::now();
    let mut last_change = started;
    let mut new_frames = 0;
    while new_frames < args.frames {
        if let Some(status) = app.0.try_wait()? {
            println!("the app exited ({status})");
            break;
        }
        // `frame` draws only when something changed; otherwise it hands out the last one.
        let frame = display.frame()?;
        if frame.repeated {
            // The first frame is the empty desktop; stillness counts once the app drew.
            if new_frames >= 2 && last_change.elapsed() >= STILL_FOR {
                println!("the picture has been still for {STILL_FOR:?}");
                break;
            }
            if started.elapsed() > GIVE_UP_AFTER {
                return Err(format!("the app drew nothing in {GIVE_UP_AFTER:?}").into());
            }
            std::thread::sleep(Duration::from_millis(16));
            continue;
        }
        last_change = Instant::now();
        new_frames += 1;
        let at = rgb(&frame, 10, 10)
            .map(|(r, g, b)| format!("#{r:02x}{g:02x}{b:02x}"))
            .unwrap_or_else(|| "outside".into());
        println!(
            "frame {}: {}x{} {:?}, pixel (10,10) {at}",
            frame.seq, frame.width, frame.height, frame.source
        );
    }
    Ok(())
}
