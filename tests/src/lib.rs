//! Shared helpers for the integration tests: the built plugin, child processes that are
//! always reaped, bounded waits, and resource counts for leak checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use gst::prelude::*;

pub mod avgen;
pub mod band_client;
pub mod docker;
pub mod flood;
pub mod host;
pub mod media;
pub mod pulse;
pub mod rawwire;
pub mod yuv_ref;

/// The directory every in-process test uses as `XDG_RUNTIME_DIR`.
pub fn runtime_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("gwd-test-xdg")
            .tempdir()
            .unwrap()
    })
    .path()
}

/// Initialises GStreamer with the plugin registered in-process, and `XDG_RUNTIME_DIR`
/// pointing at [`runtime_dir`]. Call first in every in-process test.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let dir = runtime_dir().to_owned();
        // SAFETY: runs once, before any test in this process has started GStreamer or
        // anything else that reads the environment; other tests wait on this Once.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        gst::init().unwrap();
        gstwaylanddisplaysrc::plugin_register_static().unwrap();
    });
}

/// `target/<profile>`, where cargo put the plugin and our binaries.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test binary>, or target/<profile>/<binary>
    let dir = exe.parent().unwrap();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap().to_owned()
    } else {
        dir.to_owned()
    }
}

/// The directory holding `libgstwaylanddisplaysrc.so`, for `GST_PLUGIN_PATH`.
pub fn plugin_dir() -> PathBuf {
    let dir = target_dir();
    let so = dir.join("libgstwaylanddisplaysrc.so");
    assert!(
        so.exists(),
        "{} missing: run `cargo build --workspace` first",
        so.display()
    );
    dir
}

/// A child process that is killed and reaped when the guard goes, pass or fail.
pub struct ChildGuard {
    pub child: Child,
    lines: Option<Receiver<String>>,
    pub name: String,
}

impl ChildGuard {
    /// Starts `cmd` with stdout piped into a line reader.
    pub fn spawn(mut cmd: Command) -> Self {
        let name = format!("{:?}", cmd.get_program());
        cmd.stdout(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines: Some(rx),
            name,
        }
    }

    /// The next stdout line satisfying `pred`, waiting at most `timeout`.
    pub fn wait_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let rx = self.lines.as_ref()?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match rx.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Every line printed since the last call, without waiting.
    pub fn drain_lines(&self) -> Vec<String> {
        self.lines
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default()
    }

    /// Like [`wait_line`](Self::wait_line) but fails the test with what was expected.
    pub fn expect_line(&self, timeout: Duration, what: &str) -> String {
        self.wait_line(timeout, |l| l.starts_with(what))
            .unwrap_or_else(|| panic!("{} did not print `{what}` within {timeout:?}", self.name))
    }

    /// Waits for the process to exit on its own, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Wayland client connected to `socket` in `dir`.
pub fn client(program: &str, args: &[&str], dir: &Path, socket: &str) -> ChildGuard {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("WAYLAND_DISPLAY", socket)
        .env("XDG_RUNTIME_DIR", dir)
        .stderr(Stdio::null());
    ChildGuard::spawn(cmd)
}

/// What a finished command printed.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion, killing it (and failing the test) after `timeout`.
pub fn run(cmd: Command, timeout: Duration) -> Output {
    run_with(cmd, timeout, false)
}

/// Runs `make()` until it exits successfully printing exactly `want` (each run bounded to
/// 10 s, all of them to `timeout`); what it printed last otherwise. For clients that read
/// state another process sets asynchronously (a clipboard, a selection).
pub fn until_prints(
    mut make: impl FnMut() -> Command,
    want: &str,
    timeout: Duration,
) -> Result<(), Output> {
    let deadline = Instant::now() + timeout;
    loop {
        let out = run(make(), Duration::from_secs(10));
        if out.status.success() && out.stdout == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(out);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A small real PNG (8x8, red), made by GStreamer's `pngenc`: what an image copy carries.
pub fn png_bytes() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("red.png");
    let mut cmd = Command::new("gst-launch-1.0");
    cmd.args([
        "-q",
        "videotestsrc",
        "num-buffers=1",
        "pattern=red",
        "!",
        "video/x-raw,width=8,height=8",
        "!",
        "pngenc",
        "!",
        "filesink",
        &format!("location={}", path.display()),
    ]);
    let out = run(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "{}", out.all());
    std::fs::read(&path).unwrap()
}

/// Like [`run`], for scripts: `cmd` leads a process group of its own, and whatever is left
/// in that group when it ends (or times out) is killed.
pub fn run_group(mut cmd: Command, timeout: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    run_with(cmd, timeout, true)
}

/// Kills the process group `pid` leads, when dropped.
struct GroupKill(u32);

impl Drop for GroupKill {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.0).unwrap());
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

fn run_with(mut cmd: Command, timeout: Duration, group: bool) -> Output {
    let name = format!("{cmd:?}");
    let out = tempfile::tempfile().unwrap();
    let err = tempfile::tempfile().unwrap();
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap());
    let mut guard = ChildGuard {
        child: cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}")),
        lines: None,
        name: name.clone(),
    };
    // Declared after `guard`, so dropped first: the group goes before the leader is reaped.
    let _group = group.then(|| GroupKill(guard.child.id()));
    let status = guard
        .wait_exit(timeout)
        .unwrap_or_else(|| panic!("{name} did not finish within {timeout:?}"));
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut s = String::new();
        f.rewind().unwrap();
        f.read_to_string(&mut s).unwrap();
        s
    };
    Output {
        status,
        stdout: read(out),
        stderr: read(err),
    }
}

/// `gst-launch-1.0 -m ARGS` with our plugin, in the given runtime dir (`None`: unset).
pub fn gst_launch(args: &str, xdg_runtime_dir: Option<&Path>) -> Command {
    let mut cmd = Command::new("gst-launch-1.0");
    cmd.arg("-m")
        .args(args.split_whitespace())
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", target_dir().join("gst-registry-tests.bin"))
        .env_remove("XDG_RUNTIME_DIR");
    if let Some(dir) = xdg_runtime_dir {
        cmd.env("XDG_RUNTIME_DIR", dir);
    }
    cmd
}

/// A private runtime directory, as a login session would have.
pub fn private_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// Counts of what a leak would grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub fds: usize,
    pub threads: usize,
    pub runtime_entries: usize,
    /// Mappings of shared-memory files (client shm pools, keymaps).
    pub memfd_maps: usize,
}

pub fn counts(runtime_dir: &Path) -> Counts {
    let count = |p: &str| std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    Counts {
        fds: count("/proc/self/fd"),
        threads: count("/proc/self/task"),
        runtime_entries: std::fs::read_dir(runtime_dir)
            .map(|d| d.count())
            .unwrap_or(0),
        memfd_maps: maps.lines().filter(|l| l.contains("/memfd:")).count(),
    }
}

/// Waits (bounded) for the counts to come back to `baseline` or below: threads and fds are
/// released a moment after the call that ends them returns.
pub fn settle(runtime_dir: &Path, baseline: Counts) -> Counts {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = counts(runtime_dir);
        let settled = now.fds <= baseline.fds
            && now.threads <= baseline.threads
            && now.runtime_entries <= baseline.runtime_entries
            && now.memfd_maps <= baseline.memfd_maps;
        if settled || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running in-process pipeline: `waylanddisplaysrc PROPS ! CAPS ! appsink`.
pub struct Lobby {
    pub pipeline: gst::Pipeline,
    pub src: gst::Element,
    pub sink: gst_app::AppSink,
    pub socket: String,
    pub dir: PathBuf,
    /// `DISPLAY` from the announcement: set when the element runs an Xwayland.
    pub display: Option<String>,
}

impl Lobby {
    pub fn start(props: &str, caps: &str) -> Self {
        Self::start_launch(&format!(
            "waylanddisplaysrc name=src {props} ! {caps} ! appsink name=sink"
        ))
    }

    pub fn start_launch(launch: &str) -> Self {
        init();
        let pipeline = gst::parse::launch(launch)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        let src = pipeline.by_name("src").unwrap();
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
            .unwrap();
        let bus = pipeline.bus().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let announced = wait_for_announcement(&bus, Duration::from_secs(10));
        let (socket, dir) = socket_of(&announced);
        Self {
            pipeline,
            src,
            sink,
            socket,
            dir,
            display: announced.get::<String>("DISPLAY").ok(),
        }
    }

    /// Pulls frames until `pred` holds (at most `timeout`) and returns that frame.
    pub fn frame_until(&self, timeout: Duration, pred: impl Fn(&VideoFrame) -> bool) -> VideoFrame {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(err) = bus_error(&self.pipeline) {
                panic!("pipeline error while waiting for a frame: {err}");
            }
            let Some(sample) = self
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(200))
            else {
                continue;
            };
            let frame = VideoFrame::from_sample(&sample);
            if pred(&frame) {
                return frame;
            }
            last = Some(frame);
        }
        let summary = last.map(|f| format!("{}x{} {}", f.width, f.height, f.format));
        panic!("no matching frame within {timeout:?}; last: {summary:?}");
    }

    pub fn client(&self, program: &str, args: &[&str]) -> ChildGuard {
        client(program, args, &self.dir, &self.socket)
    }

    /// Sends one of the element's input events the way applications do.
    pub fn send_input(&self, structure: gst::Structure) -> bool {
        self.src
            .send_event(gst::event::CustomUpstream::new(structure))
    }
}

impl Drop for Lobby {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Asks `display` for frames until `pred` holds (at most `timeout`) and returns that frame;
/// `what` names the frame waited for in the failure.
pub fn display_frame_until(
    display: &waylanddisplaycore::WaylandDisplay,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&waylanddisplaycore::Frame) -> bool,
) -> waylanddisplaycore::Frame {
    let deadline = Instant::now() + timeout;
    loop {
        let frame = display.frame().unwrap();
        if pred(&frame) {
            return frame;
        }
        assert!(
            Instant::now() < deadline,
            "no frame {what} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `wayland.src` announcement: (WAYLAND_DISPLAY, XDG_RUNTIME_DIR).
pub fn wait_for_socket(bus: &gst::Bus, timeout: Duration) -> (String, PathBuf) {
    socket_of(&wait_for_announcement(bus, timeout))
}

/// (WAYLAND_DISPLAY, XDG_RUNTIME_DIR) of a `wayland.src` announcement.
fn socket_of(announced: &gst::Structure) -> (String, PathBuf) {
    let socket = announced.get::<String>("WAYLAND_DISPLAY").unwrap();
    let dir = announced.get::<String>("XDG_RUNTIME_DIR").unwrap();
    (socket, PathBuf::from(dir))
}

/// The whole `wayland.src` announcement (with `DISPLAY` when there is an Xwayland).
pub fn wait_for_announcement(bus: &gst::Bus, timeout: Duration) -> gst::Structure {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64)) else {
            break;
        };
        match msg.view() {
            gst::MessageView::Application(app) => {
                if let Some(s) = app.structure().filter(|s| s.name() == "wayland.src") {
                    return s.to_owned();
                }
            }
            gst::MessageView::Error(err) => panic!("pipeline error before ready: {err:?}"),
            _ => {}
        }
    }
    panic!("no wayland.src message within {timeout:?}");
}

/// The first error message waiting on the pipeline's bus, if any.
pub fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    let msg = bus.pop_filtered(&[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(err) => Some(format!("{} ({:?})", err.error(), err.debug())),
        _ => None,
    }
}

/// A copy of a sample's pixels with what is needed to read them.
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub format: String,
    pub data: Vec<u8>,
    pub pts: Option<gst::ClockTime>,
}

impl VideoFrame {
    pub fn from_sample(sample: &gst::Sample) -> Self {
        let caps = sample.caps().unwrap();
        let info = gst_video::VideoInfo::from_caps(caps).unwrap();
        let buffer = sample.buffer().unwrap();
        let stride = buffer
            .meta::<gst_video::VideoMeta>()
            .map(|m| m.stride()[0] as usize)
            .unwrap_or(info.stride()[0] as usize);
        let map = buffer.map_readable().unwrap();
        Self {
            width: info.width(),
            height: info.height(),
            stride,
            format: info.format().to_str().to_string(),
            data: map.as_slice().to_vec(),
            pts: buffer.pts(),
        }
    }

    /// (R, G, B) at (x, y), whatever the byte order of the format.
    pub fn rgb(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let at = y as usize * self.stride + x as usize * 4;
        let p = &self.data[at..at + 4];
        match self.format.as_str() {
            "BGRx" | "BGRA" => (p[2], p[1], p[0]),
            "RGBx" | "RGBA" => (p[0], p[1], p[2]),
            other => panic!("unexpected format {other}"),
        }
    }

    /// Writes the frame as a binary PPM, to look at what a failing check saw.
    pub fn save_ppm(&self, path: &Path) -> std::io::Result<()> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        for y in 0..self.height {
            for x in 0..self.width {
                let (r, g, b) = self.rgb(x, y);
                out.extend_from_slice(&[r, g, b]);
            }
        }
        std::fs::write(path, out)
    }

    pub fn non_black_in(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
        let mut n = 0;
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                if self.rgb(x, y) != (0, 0, 0) {
                    n += 1;
                }
            }
        }
        n
    }
}

/// A media file decoded to RGB: how many frames it held, and the last one.
pub struct Decoded {
    pub frames: usize,
    last: gst::Sample,
}

impl Decoded {
    /// (width, height) of the last frame.
    pub fn size(&self) -> (u32, u32) {
        let info = gst_video::VideoInfo::from_caps(self.last.caps().unwrap()).unwrap();
        (info.width(), info.height())
    }

    /// (R, G, B) at (x, y) of the last frame.
    pub fn pixel(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let info = gst_video::VideoInfo::from_caps(self.last.caps().unwrap()).unwrap();
        let map = self.last.buffer().unwrap().map_readable().unwrap();
        let at = y * info.stride()[0] as usize + x * 3;
        (map[at], map[at + 1], map[at + 2])
    }
}

/// Decodes `path` (any format decodebin knows: PNG, MP4, Matroska…) to the end, failing
/// the test if it stalls for 10 s or holds no frame.
pub fn decode_rgb(path: &Path) -> Decoded {
    gst::init().unwrap();
    let (pipeline, sink) = launch_with_sink(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB \
         ! appsink name=sink sync=false",
        path.display()
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut frames, mut last) = (0, None);
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        frames += 1;
        last = Some(sample);
    }
    let eos = sink.is_eos();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        eos,
        "{}: decoding stalled after {frames} frames",
        path.display()
    );
    let last = last.unwrap_or_else(|| panic!("{}: no frames", path.display()));
    Decoded { frames, last }
}

/// A pipeline from a gst-launch description, and its appsink named `sink`.
pub fn launch_with_sink(description: &str) -> (gst::Pipeline, gst_app::AppSink) {
    let pipeline = gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    (pipeline, sink)
}
