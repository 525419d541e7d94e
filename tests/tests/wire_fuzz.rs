//! Hostile Wayland wire traffic against a lobby as users start one (`gst-launch-1.0
//! waylanddisplaysrc …`) with a good client drawing: the lobby must survive and keep
//! serving the good client, whatever other clients send.
//!
//! `a_lobby_survives_a_minute_of_wire_fuzzing` runs `gwd-wire-fuzz` for
//! `GWD_WIRE_FUZZ_SECONDS` (default 60) with `GWD_WIRE_FUZZ_CLIENTS` connections (default 3;
//! `GWD_WIRE_FUZZ_SEED` repeats a run). The `defect_*` tests replay the shortest request
//! sequences the fuzzer found that killed or stalled a lobby, each guarding its fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gwd_tests::{ChildGuard, client, gst_launch, private_dir, run};

const FUZZER: &str = env!("CARGO_BIN_EXE_gwd-wire-fuzz");
const GOOD_CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
/// The longest the good client may go without a new frame, and the pipeline without a
/// new buffer, while others fuzz.
const MAX_GAP: Duration = Duration::from_secs(5);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes to the test's stderr past libtest's capture, which only takes `print!` and
/// `eprint!`: CI logs show the seed and the summary (requests sent) of passing runs too.
fn show(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// How long a counter went without growing, at worst.
struct Progress {
    value: u64,
    since: Instant,
    worst: Duration,
}

impl Progress {
    fn new(value: u64) -> Self {
        Self {
            value,
            since: Instant::now(),
            worst: Duration::ZERO,
        }
    }

    fn update(&mut self, value: u64) {
        if value > self.value {
            self.worst = self.worst.max(self.since.elapsed());
            self.value = value;
            self.since = Instant::now();
        }
    }

    fn worst_gap(&self) -> Duration {
        self.worst.max(self.since.elapsed())
    }
}

/// `gst-launch-1.0 waylanddisplaysrc ! … ! fpsdisplaysink`, whose `last-message` counts
/// the buffers that went through.
struct Lobby {
    gst: ChildGuard,
    stderr: std::fs::File,
    dir: tempfile::TempDir,
    socket_name: String,
    rendered: u64,
    errors: Vec<String>,
}

impl Lobby {
    fn start() -> Self {
        let dir = private_dir("gwd-wire-fuzz");
        let render_node = std::env::var("GWD_WIRE_FUZZ_RENDER_NODE").unwrap_or("software".into());
        let mut cmd = gst_launch(
            &format!(
                "-v waylanddisplaysrc render-node={render_node} ! \
                 video/x-raw,width=320,height=240,framerate=30/1 ! \
                 fpsdisplaysink video-sink=fakesink text-overlay=false sync=true"
            ),
            Some(dir.path()),
        );
        let stderr = tempfile::tempfile().unwrap();
        cmd.stderr(stderr.try_clone().unwrap());
        let gst = ChildGuard::spawn(cmd);
        let announced = gst
            .wait_line(Duration::from_secs(30), |l| {
                l.contains("wayland.src, WAYLAND_DISPLAY=")
            })
            .unwrap_or_else(|| panic!("the lobby announced no socket within 30 s"));
        let socket_name = announced
            .split("WAYLAND_DISPLAY=(string)")
            .nth(1)
            .and_then(|rest| rest.split([',', ';']).next())
            .unwrap()
            .to_owned();
        Self {
            gst,
            stderr,
            dir,
            socket_name,
            rendered: 0,
            errors: Vec::new(),
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join(&self.socket_name)
    }

    fn poll(&mut self) {
        for line in self.gst.drain_lines() {
            if let Some(n) = line
                .split("last-message = rendered: ")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse().ok())
            {
                self.rendered = n;
            }
            if line.contains("ERROR") {
                self.errors.push(line);
            }
        }
    }

    /// What went wrong with the lobby so far: an exit, an error, a panic.
    fn problems(&mut self) -> Vec<String> {
        self.poll();
        let mut problems: Vec<String> = self.errors.clone();
        if let Some(status) = self.gst.child.try_wait().unwrap() {
            problems.push(format!("the lobby exited: {status}"));
        }
        let mut stderr = String::new();
        self.stderr.rewind().unwrap();
        self.stderr.read_to_string(&mut stderr).unwrap();
        for line in stderr.lines() {
            if line.contains("panicked") || line.contains("ERROR") {
                problems.push(format!("lobby stderr: {line}"));
            }
        }
        problems
    }
}

/// `wayland-test-client --animate`: draws whenever the compositor says a frame was shown,
/// printing `commit N …` for frame N. It stays open when asked to close: a fuzzing client
/// holding foreign toplevel management (a privileged protocol) may ask that of any window,
/// as a task bar's close button does.
struct GoodClient {
    guard: ChildGuard,
    frame: u64,
}

impl GoodClient {
    fn start(lobby: &Lobby) -> Self {
        let guard = client(
            GOOD_CLIENT,
            &["--animate", "--stay-open"],
            lobby.dir.path(),
            &lobby.socket_name,
        );
        let mut good = Self { guard, frame: 0 };
        let deadline = Instant::now() + Duration::from_secs(30);
        while good.frame < 2 {
            assert!(
                Instant::now() < deadline,
                "the good client drew nothing within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
            good.poll();
        }
        good
    }

    fn poll(&mut self) {
        for line in self.guard.drain_lines() {
            if let Some(n) = line
                .strip_prefix("commit ")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
            {
                self.frame = n;
            }
        }
    }

    fn connected(&mut self) -> bool {
        self.guard.child.try_wait().unwrap().is_none()
    }
}

#[test]
fn a_lobby_survives_a_minute_of_wire_fuzzing() {
    let seconds: u64 = env_or("GWD_WIRE_FUZZ_SECONDS", 60);
    let clients: u64 = env_or("GWD_WIRE_FUZZ_CLIENTS", 3);
    let mut lobby = Lobby::start();
    let mut good = GoodClient::start(&lobby);
    let dumps = private_dir("gwd-wire-fuzz-dumps");
    let fuzzer_stderr = tempfile::tempfile().unwrap();
    let mut cmd = Command::new(FUZZER);
    cmd.arg("--socket")
        .arg(lobby.socket())
        .args(["--seconds", &seconds.to_string()])
        .args(["--clients", &clients.to_string()])
        .arg("--dump")
        .arg(dumps.path())
        .stderr(fuzzer_stderr.try_clone().unwrap());
    if let Ok(seed) = std::env::var("GWD_WIRE_FUZZ_SEED") {
        cmd.args(["--seed", &seed]);
    }
    let mut fuzzer = ChildGuard::spawn(cmd);
    let mut output = Vec::new();
    let (mut frames, mut buffers) = (Progress::new(good.frame), Progress::new(lobby.rendered));
    let deadline = Instant::now() + Duration::from_secs(seconds + 60);
    let status = loop {
        std::thread::sleep(Duration::from_millis(250));
        lobby.poll();
        good.poll();
        frames.update(good.frame);
        buffers.update(lobby.rendered);
        for line in fuzzer.drain_lines() {
            // The seed first, so that even a run killed by a timeout can be repeated.
            show(&line);
            output.push(line);
        }
        if let Some(status) = fuzzer.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "gwd-wire-fuzz did not finish within {} s",
            seconds + 60
        );
    };
    while let Some(line) = fuzzer.wait_line(Duration::from_millis(500), |_| true) {
        show(&line);
        output.push(line);
    }
    let mut stderr = String::new();
    let mut file = fuzzer_stderr;
    file.rewind().unwrap();
    file.read_to_string(&mut stderr).unwrap();
    eprint!("{stderr}");

    let mut problems = lobby.problems();
    if !status.success() {
        problems.push(format!(
            "gwd-wire-fuzz failed ({status}): the lobby died or stalled; \
             the connections' requests are in {}",
            dumps.keep().display()
        ));
    }
    if !good.connected() {
        problems.push("the good client was disconnected".into());
    }
    if frames.worst_gap() > MAX_GAP {
        problems.push(format!(
            "the good client went {:?} without a frame (frame {})",
            frames.worst_gap(),
            good.frame
        ));
    }
    if buffers.worst_gap() > MAX_GAP {
        problems.push(format!(
            "the pipeline went {:?} without a buffer ({} so far)",
            buffers.worst_gap(),
            lobby.rendered
        ));
    }
    let requests = output
        .iter()
        .find_map(|l| l.trim().strip_prefix("requests sent: "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    if requests.unwrap_or(0) == 0 {
        problems.push("the fuzzer reported no requests sent".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Replays `script` (gwd-wire-fuzz's replay form) against a fresh lobby with the good
/// client drawing, and checks that the lobby, the compositor and the good client all
/// carry on. Returns the replay's report.
fn assert_survives(script: &str) -> String {
    let mut lobby = Lobby::start();
    let mut good = GoodClient::start(&lobby);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(script.as_bytes()).unwrap();
    let mut cmd = Command::new(FUZZER);
    cmd.arg("--socket")
        .arg(lobby.socket())
        .arg("--replay")
        .arg(file.path())
        .stdin(Stdio::null());
    let replay = run(cmd, Duration::from_secs(60));
    let before = good.frame;
    let deadline = Instant::now() + MAX_GAP;
    while good.frame < before + 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        good.poll();
    }
    let mut problems = lobby.problems();
    if !replay.status.success() {
        problems.push(format!("the replay failed ({}):", replay.status));
    }
    if !good.connected() {
        problems.push("the good client was disconnected".into());
    } else if good.frame < before + 5 {
        problems.push(format!(
            "the good client drew {} frames in {MAX_GAP:?} after the replay",
            good.frame - before
        ));
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        replay.all()
    );
    replay.stdout
}

/// The start every reproduction shares: the registry, then globals by interface name.
fn script(lines: &[&str]) -> String {
    let mut s = String::from("1.1 wl_display.get_registry n2\n");
    for line in lines {
        s.push_str(line);
        s.push('\n');
    }
    s
}

#[test]
fn a_correct_client_replays_without_harm() {
    let report = assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n4"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n5"#,
        "3.0 wl_compositor.create_surface n6",
        "5.2 xdg_wm_base.get_xdg_surface n7 o6",
        "7.1 xdg_surface.get_toplevel n8",
        "6.6 wl_surface.commit",
        "7.4 xdg_surface.ack_configure u@event:7",
        "4.0 wl_shm.create_pool n9 hmemfd#1:76800 i76800",
        "9.0 wl_shm_pool.create_buffer n10 i0 i160 i120 i640 u1",
        "6.1 wl_surface.attach o10 i0 i0",
        "6.9 wl_surface.damage_buffer i0 i0 i160 i120",
        "6.6 wl_surface.commit",
        "sleep 300",
    ]));
    assert!(report.contains("connection 0 still open"), "{report}");
}

#[test]
fn a_protocol_error_costs_only_its_client() {
    let report = assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n3"#,
        "3.0 wl_shm.create_pool n4 hmemfd#1:4096 i0",
    ]));
    assert!(report.contains("invalid wl_shm_pool size"), "{report}");
}

// ---- reproductions of defects found by gwd-wire-fuzz, each guarding its fix ----

/// Found by gwd-wire-fuzz (fixed): xdg_surface.get_popup with the surface as its own parent
/// spins the compositor thread forever (smithay find_popup_root_surface, from
/// State::unconstrained_popup_geometry)
#[test]
fn defect_popup_parented_to_itself() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "4.1 xdg_wm_base.create_positioner n6",
        "6.1 xdg_positioner.set_size i10 i10",
        "6.2 xdg_positioner.set_anchor_rect i0 i0 i1 i1",
        "4.2 xdg_wm_base.get_xdg_surface n7 o5",
        "7.2 xdg_surface.get_popup n8 o7 o6",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): wl_region.add with a negative height panics the
/// compositor thread (smithay Size::new debug assertion)
#[test]
fn defect_negative_region_rectangle() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        "3.1 wl_compositor.create_region n4",
        "4.1 wl_region.add i0 i0 i10 i-1",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): wl_surface.damage with a negative width panics the
/// compositor thread (smithay Size::new debug assertion)
#[test]
fn defect_negative_surface_damage() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        "3.0 wl_compositor.create_surface n4",
        "4.2 wl_surface.damage i0 i0 i-1 i1",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): xdg_toplevel.set_max_size (and set_min_size) with a
/// negative width panics the compositor thread (smithay Size::new debug assertion)
#[test]
fn defect_negative_toplevel_size_limit() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "4.2 xdg_wm_base.get_xdg_surface n6 o5",
        "6.1 xdg_surface.get_toplevel n7",
        "7.7 xdg_toplevel.set_max_size i-1 i0",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): xdg_surface.set_window_geometry with a negative width
/// panics the compositor thread (smithay Size::new debug assertion)
#[test]
fn defect_negative_window_geometry() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "4.2 xdg_wm_base.get_xdg_surface n6 o5",
        "6.1 xdg_surface.get_toplevel n7",
        "6.3 xdg_surface.set_window_geometry i0 i0 i-5 i10",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): xdg_positioner.set_parent_size with a negative width
/// panics the compositor thread (smithay Size::new debug assertion)
#[test]
fn defect_negative_positioner_parent_size() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u3 n3"#,
        "3.1 xdg_wm_base.create_positioner n4",
        "4.8 xdg_positioner.set_parent_size i-1 i1",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): wl_subsurface.place_above with its own surface as the
/// sibling panics the compositor thread (smithay PrivateSurfaceData::reorder: insertion
/// index out of bounds)
#[test]
fn defect_subsurface_placed_above_itself() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        r#"2.0 wl_registry.bind u@wl_subcompositor s"wl_subcompositor" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "3.0 wl_compositor.create_surface n6",
        "4.1 wl_subcompositor.get_subsurface n7 o6 o5",
        "7.2 wl_subsurface.place_above o6",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): a virtual keyboard's keymap of size 0 panics the
/// compositor thread (xkbcommon-rs's `new_from_fd` computes `size - 1`)
#[test]
fn defect_empty_virtual_keymap() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_seat s"wl_seat" u1 n3"#,
        r#"2.0 wl_registry.bind u@zwp_virtual_keyboard_manager_v1 s"zwp_virtual_keyboard_manager_v1" u1 n4"#,
        "4.0 zwp_virtual_keyboard_manager_v1.create_virtual_keyboard o3 n5",
        "5.0 zwp_virtual_keyboard_v1.keymap u1 hmemfd#1:1559 u0",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): wl_shm_pool.resize to 0 panics the compositor thread
/// (smithay posts the error, then unwraps NonZeroUsize::try_from(0))
#[test]
fn defect_shm_pool_resized_to_zero() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n3"#,
        "3.0 wl_shm.create_pool n4 hmemfd#1:4096 i4096",
        "4.2 wl_shm_pool.resize i0",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): a null string where the protocol forbids one (here
/// wl_data_source.offer) panics the compositor thread (unwrap in wayland-server's generated
/// parse_request)
#[test]
fn defect_null_string_argument() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_data_device_manager s"wl_data_device_manager" u1 n3"#,
        "3.0 wl_data_device_manager.create_data_source n4",
        "4.0 wl_data_source.offer s-",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): wl_registry.bind with a null interface name panics the
/// compositor thread (unreachable!() in wayland-backend's handle_registry_request)
#[test]
fn defect_null_interface_in_bind() {
    assert_survives(&script(&["2.0 wl_registry.bind u@wl_compositor s- u1 n3"]));
}

/// A toplevel, configured, showing a 320x240 buffer (10) from the pool (9) that `pool`
/// makes from memfd #1.
fn mapped_toplevel_with_buffer(pool: &[&str], between: &[&str]) -> String {
    let mut lines = vec![
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n4"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n5"#,
        "3.0 wl_compositor.create_surface n6",
        "5.2 xdg_wm_base.get_xdg_surface n7 o6",
        "7.1 xdg_surface.get_toplevel n8",
        "6.6 wl_surface.commit",
        "7.4 xdg_surface.ack_configure u@event:7",
    ];
    lines.extend(pool);
    lines.push("9.0 wl_shm_pool.create_buffer n10 i0 i320 i240 i1280 u1");
    lines.extend(between);
    lines.extend([
        "6.1 wl_surface.attach o10 i0 i0",
        "6.9 wl_surface.damage_buffer i0 i0 i320 i240",
        "6.6 wl_surface.commit",
        "sleep 500",
    ]);
    script(&lines)
}

/// Found by gwd-wire-fuzz (fixed): an shm pool declared larger than its file fails the
/// whole lobby when the buffer is drawn (rendering failed: BufferAccessError(BadMap)), not
/// just the client
#[test]
fn defect_shm_pool_larger_than_its_file() {
    assert_survives(&mapped_toplevel_with_buffer(
        &["4.0 wl_shm.create_pool n9 hmemfd#1:4096 i307200"],
        &[],
    ));
}

/// Found by gwd-wire-fuzz (fixed): an shm pool resized beyond its file fails the whole
/// lobby when a buffer in the new part is drawn (rendering failed:
/// BufferAccessError(BadMap)), not just the client
#[test]
fn defect_shm_pool_grown_beyond_its_file() {
    assert_survives(&mapped_toplevel_with_buffer(
        &[
            "4.0 wl_shm.create_pool n9 hmemfd#1:4096 i4096",
            "9.2 wl_shm_pool.resize i307200",
        ],
        &[],
    ));
}

/// Found by gwd-wire-fuzz (fixed): an fd sent with a request that takes none is queued and
/// becomes the next pool's file; a buffer beyond that file's end fails the whole lobby when
/// drawn (rendering failed: BufferAccessError(BadMap)), not just the client
#[test]
fn defect_stray_fd_becomes_a_pool() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n4"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n5"#,
        // The stray fd: a 4 KiB memfd on a request with no fd argument.
        "3.0 wl_compositor.create_surface n6 hmemfd#2:4096",
        "5.2 xdg_wm_base.get_xdg_surface n7 o6",
        "7.1 xdg_surface.get_toplevel n8",
        "6.6 wl_surface.commit",
        "7.4 xdg_surface.ack_configure u@event:7",
        "4.0 wl_shm.create_pool n9 hmemfd#1:307200 i307200",
        "9.0 wl_shm_pool.create_buffer n10 i0 i320 i240 i1280 u1",
        "6.1 wl_surface.attach o10 i0 i0",
        "6.9 wl_surface.damage_buffer i0 i0 i320 i240",
        "6.6 wl_surface.commit",
        "sleep 500",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): an shm file shrunk under a buffer fails the whole lobby
/// when the buffer is drawn (rendering failed: BufferAccessError(BadMap)), not just the
/// client
#[test]
fn defect_shm_file_shrunk_under_a_buffer() {
    assert_survives(&mapped_toplevel_with_buffer(
        &["4.0 wl_shm.create_pool n9 hmemfd#1:307200 i307200"],
        &["truncate #1 0"],
    ));
}

/// Found by gwd-wire-fuzz (fixed): xdg_surface.get_popup on two surfaces parented to each
/// other spins the compositor thread forever (smithay find_popup_root_surface follows the
/// cycle)
#[test]
fn defect_popups_parented_to_each_other() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "3.0 wl_compositor.create_surface n6",
        "4.1 xdg_wm_base.create_positioner n7",
        "7.1 xdg_positioner.set_size i10 i10",
        "7.2 xdg_positioner.set_anchor_rect i0 i0 i1 i1",
        "4.2 xdg_wm_base.get_xdg_surface n8 o5",
        "4.2 xdg_wm_base.get_xdg_surface n9 o6",
        "8.2 xdg_surface.get_popup n10 o9 o7",
        "9.2 xdg_surface.get_popup n11 o8 o7",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): a popup whose positioner offset is i32::MIN panics the
/// compositor thread (arithmetic overflow in smithay PositionerState::get_geometry)
#[test]
fn defect_positioner_offset_overflow() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u1 n3"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "4.1 xdg_wm_base.create_positioner n6",
        "6.1 xdg_positioner.set_size i10 i10",
        "6.2 xdg_positioner.set_anchor_rect i0 i0 i1 i1",
        "6.6 xdg_positioner.set_offset i-2147483648 i0",
        "4.2 xdg_wm_base.get_xdg_surface n7 o5",
        "7.2 xdg_surface.get_popup n8 o0 o6",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): a 1x1 shm buffer scaled to 100000x100000 by wp_viewport
/// fails the whole lobby when drawn (rendering failed: Unsupported, from Pixman's
/// transform), not just the client
#[test]
fn defect_viewport_scale_beyond_the_renderer() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n4"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n5"#,
        r#"2.0 wl_registry.bind u@wp_viewporter s"wp_viewporter" u1 n6"#,
        "3.0 wl_compositor.create_surface n7",
        "5.2 xdg_wm_base.get_xdg_surface n8 o7",
        "8.1 xdg_surface.get_toplevel n9",
        "7.6 wl_surface.commit",
        "8.4 xdg_surface.ack_configure u@event:8",
        "6.1 wp_viewporter.get_viewport n10 o7",
        "10.2 wp_viewport.set_destination i100000 i100000",
        "4.0 wl_shm.create_pool n11 hmemfd#1:4 i4",
        "11.0 wl_shm_pool.create_buffer n12 i0 i1 i1 i4 u1",
        "7.1 wl_surface.attach o12 i0 i0",
        "7.9 wl_surface.damage_buffer i0 i0 i1 i1",
        "7.6 wl_surface.commit",
        "sleep 500",
    ]));
}

/// Found by gwd-wire-fuzz (fixed): one client nesting 8000 desync subsurfaces under a
/// mapped toplevel, committing each, keeps the compositor thread busy past the element's 5
/// s frame timeout, which fails the whole lobby (a commit costs more the deeper the tree;
/// no per-client limit stops it; 3000 levels pass here, 6000 do not)
#[test]
fn defect_deeply_nested_subsurfaces() {
    let mut lines: Vec<String> = [
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n4"#,
        r#"2.0 wl_registry.bind u@xdg_wm_base s"xdg_wm_base" u1 n5"#,
        r#"2.0 wl_registry.bind u@wl_subcompositor s"wl_subcompositor" u1 n6"#,
        "3.0 wl_compositor.create_surface n7",
        "5.2 xdg_wm_base.get_xdg_surface n8 o7",
        "8.1 xdg_surface.get_toplevel n9",
        "7.6 wl_surface.commit",
        "8.4 xdg_surface.ack_configure u@event:8",
        "4.0 wl_shm.create_pool n10 hmemfd#1:1024 i1024",
        "10.0 wl_shm_pool.create_buffer n11 i0 i16 i16 i64 u1",
        "7.1 wl_surface.attach o11 i0 i0",
        "7.6 wl_surface.commit",
    ]
    .map(String::from)
    .to_vec();
    let mut parent = 7;
    for level in 0..8000 {
        let (surface, subsurface) = (12 + 2 * level, 13 + 2 * level);
        lines.extend([
            format!("3.0 wl_compositor.create_surface n{surface}"),
            format!("6.1 wl_subcompositor.get_subsurface n{subsurface} o{surface} o{parent}"),
            format!("{subsurface}.5 wl_subsurface.set_desync"),
            format!("{surface}.1 wl_surface.attach o11 i0 i0"),
            format!("{surface}.6 wl_surface.commit"),
        ]);
        parent = surface;
    }
    lines.push("sleep 1000".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_survives(&script(&lines));
}

/// Found by gwd-wire-fuzz (fixed): wl_surface.damage at x = i32::MIN on a buffer with
/// transform 180 panics the compositor thread on commit (overflow in smithay
/// Transform::transform_rect_in)
#[test]
fn defect_extreme_damage_on_a_transformed_buffer() {
    assert_survives(&script(&[
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wl_shm s"wl_shm" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "4.0 wl_shm.create_pool n6 hmemfd#1:1024 i1024",
        "6.0 wl_shm_pool.create_buffer n7 i0 i16 i16 i64 u1",
        "5.1 wl_surface.attach o7 i0 i0",
        "5.7 wl_surface.set_buffer_transform i2",
        "5.2 wl_surface.damage i-2147483648 i0 i1 i1",
        "5.6 wl_surface.commit",
    ]));
}
