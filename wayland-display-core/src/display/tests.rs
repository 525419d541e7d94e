use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::device::{RenderChoice, RenderTarget, RendererKind};
use crate::render::{Frame, GlDevice, OutputFormat, RenderBackend};
use crate::socket::SocketSpec;
use crate::{DisplayError, InputEvent};

fn config(dir: &Path, width: u32, height: u32) -> DisplayConfig {
    DisplayConfig {
        socket: SocketSpec::auto().in_dir(dir),
        render_target: RenderTarget::Software,
        mode: VideoMode {
            width,
            height,
            refresh_mhz: 60_000,
        },
        ..DisplayConfig::default()
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gwd-disp")
        .tempdir()
        .unwrap()
}

/// A client process killed (and reaped) when the test ends, pass or fail.
struct ClientGuard(Child);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_client(display: &WaylandDisplay, program: &str, args: &[&str]) -> ClientGuard {
    let child = Process::new(program)
        .args(args)
        .env("WAYLAND_DISPLAY", display.socket_name())
        .env("XDG_RUNTIME_DIR", display.runtime_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed for this test (apt install weston): {e}"));
    ClientGuard(child)
}

/// Frames until `pred` holds, for at most `limit`.
fn frame_until(display: &WaylandDisplay, limit: Duration, pred: impl Fn(&Frame) -> bool) -> Frame {
    let start = Instant::now();
    loop {
        let frame = display.frame().unwrap();
        if pred(&frame) {
            return frame;
        }
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn non_black_pixels(frame: &Frame) -> usize {
    frame
        .data()
        .chunks_exact(4)
        .filter(|px| px[0] | px[1] | px[2] != 0)
        .count()
}

#[test]
fn empty_output_is_black_and_unchanged_frames_are_shared() {
    let dir = tmp();
    let display = WaylandDisplay::new(config(dir.path(), 64, 48)).unwrap();
    let first = display.frame().unwrap();
    assert_eq!((first.width, first.height, first.stride), (64, 48, 256));
    assert_eq!(first.pixel(10, 10), Some([0, 0, 0, 255]));
    assert!(!first.repeated);
    let second = display.frame().unwrap();
    assert!(second.repeated);
    assert!(first.same_memory(&second), "an unchanged frame was redrawn");
    assert_eq!(first.seq, second.seq);
}

#[test]
fn drop_removes_the_socket_and_joins_the_thread() {
    let dir = tmp();
    let display = WaylandDisplay::new(config(dir.path(), 32, 32)).unwrap();
    let path = display.socket_path().to_owned();
    assert!(path.exists());
    drop(display);
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_panic_in_the_compositor_becomes_an_error() {
    let dir = tmp();
    let display = WaylandDisplay::new(config(dir.path(), 32, 32)).unwrap();
    display.inject_panic().unwrap();
    let err = display.frame().unwrap_err();
    assert!(
        matches!(err, DisplayError::Panicked(ref text) if text.contains("injected")),
        "{err:?}"
    );
    // Later calls keep failing the same way instead of hanging.
    assert!(matches!(
        display.input(InputEvent::TouchFrame),
        Err(DisplayError::Panicked(_))
    ));
    drop(display);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn mode_change_resizes_frames() {
    let dir = tmp();
    let display = WaylandDisplay::new(config(dir.path(), 32, 32)).unwrap();
    assert_eq!(display.frame().unwrap().width, 32);
    display
        .set_mode(VideoMode::from_fps(80, 40, 30, 1), OutputFormat::Rgba)
        .unwrap();
    let frame = display.frame().unwrap();
    assert_eq!(
        (frame.width, frame.height, frame.format),
        (80, 40, OutputFormat::Rgba)
    );
    // The first frame after every change has the new size, never the previous one again.
    for i in 0..50u32 {
        let (w, h) = (16 + i % 2 * 8, 16);
        display
            .set_mode(VideoMode::from_fps(w, h, 30, 1), OutputFormat::Bgrx)
            .unwrap();
        let frame = display.frame().unwrap();
        assert_eq!((frame.width, frame.height), (w, h), "change {i}");
        assert_eq!(display.frame().unwrap().width, w);
    }
}

#[test]
fn failed_start_leaves_nothing_behind() {
    let dir = tmp();
    let mut config = config(dir.path(), 32, 32);
    config.render_target = RenderTarget::Node("/dev/dri/does-not-exist".into());
    let err = WaylandDisplay::new(config).unwrap_err();
    assert!(matches!(err, DisplayError::Device(_)), "{err:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn weston_simple_shm_is_drawn() {
    let dir = tmp();
    let display = WaylandDisplay::new(config(dir.path(), 320, 240)).unwrap();
    let _client = spawn_client(&display, "weston-simple-shm", &[]);
    let frame = frame_until(&display, Duration::from_secs(10), |f| {
        non_black_pixels(f) > 1000
    });
    // simple-shm draws 250x250 at the window origin, which is the output origin.
    assert_ne!(frame.pixel(100, 100).unwrap()[..3], [0, 0, 0]);
    // It animates: frames keep changing while it runs.
    let later = frame_until(&display, Duration::from_secs(5), |f| f.seq > frame.seq + 3);
    assert!(!later.repeated);
}

#[test]
fn missing_input_device_is_an_error_naming_it() {
    let dir = tmp();
    let display = WaylandDisplay::new(config(dir.path(), 32, 32)).unwrap();
    let err = display
        .add_input_device("/dev/input/does-not-exist")
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/dev/input/does-not-exist"), "{text}");
    assert!(text.contains("No such file"), "{text}");
    // A regular file opens but is no input device.
    let file = dir.path().join("not-a-device");
    std::fs::write(&file, b"x").unwrap();
    let err = display.add_input_device(&file).unwrap_err();
    assert!(err.to_string().contains("libinput"), "{err}");
    // The compositor carries on.
    display.frame().unwrap();
}

fn start_gles(dir: &Path, width: u32, height: u32, format: OutputFormat) -> WaylandDisplay {
    let mut config = config(dir, width, height);
    config.format = format;
    let render = RenderTarget::Software.resolve().unwrap();
    WaylandDisplay::start(
        config,
        render,
        RenderBackend::Gles(crate::GlDevice::Software),
    )
    .expect("GLES on Mesa's software EGL device (llvmpipe) must work here")
}

#[test]
fn gles_on_llvmpipe_renders_clients() {
    let dir = tmp();
    for format in OutputFormat::ALL {
        let display = start_gles(dir.path(), 320, 240, format);
        let black = display.frame().unwrap();
        assert_eq!(black.format, format);
        assert_eq!(black.pixel(5, 5).map(|p| p[..3] == [0, 0, 0]), Some(true));
        let _client = spawn_client(&display, "weston-simple-shm", &[]);
        let frame = frame_until(&display, Duration::from_secs(10), |f| {
            non_black_pixels(f) > 1000
        });
        assert_ne!(frame.pixel(100, 100).unwrap()[..3], [0, 0, 0]);
        // Nothing beyond simple-shm's 250x250 window.
        assert_eq!(frame.pixel(300, 200).unwrap()[..3], [0, 0, 0]);
    }
}

fn gpu_choice(node: &str) -> RenderChoice {
    RenderChoice {
        renderer: RendererKind::Gpu,
        node: Some(node.into()),
        device: None,
        reason: format!("auto: picked {node}"),
        fallback: false,
    }
}

#[test]
fn auto_falls_back_to_software_when_gles_cannot_start() {
    let dir = tmp();
    let mut config = config(dir.path(), 32, 32);
    config.render_target = RenderTarget::Auto;
    let node = "/dev/dri/renderD999";
    let backend = RenderBackend::Gles(GlDevice::Node(node.into()));
    let display = WaylandDisplay::start(config, gpu_choice(node), backend).unwrap();
    let choice = display.render_choice();
    assert_eq!(choice.renderer, RendererKind::Software);
    assert!(choice.fallback);
    assert!(
        choice.reason.contains(node) && choice.reason.contains("software"),
        "{}",
        choice.reason
    );
    display.frame().unwrap();
}

#[test]
fn an_explicit_gpu_that_cannot_render_is_an_error() {
    let dir = tmp();
    let node = "/dev/dri/renderD999";
    let mut config = config(dir.path(), 32, 32);
    config.render_target = RenderTarget::Node(node.into());
    let backend = RenderBackend::Gles(GlDevice::Node(node.into()));
    let err = WaylandDisplay::start(config, gpu_choice(node), backend).unwrap_err();
    assert!(err.to_string().contains(node), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
