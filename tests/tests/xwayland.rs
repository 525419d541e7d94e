//! The built-in Xwayland (`waylanddisplaysrc xwayland=on-demand|on|off`): X11 apps (xterm,
//! GTK 3, our `x11-test-client`) drawn through the element, the window policy applied to
//! X11 windows, input reaching them, the clipboard between X11 and Wayland, and the
//! display's files: `/tmp/.X{N}-lock` and `/tmp/.X11-unix/X{N}`, never a live server's,
//! gone with Xwayland itself when the element stops.
//!
//! Every test takes one lock, so they run one after the other: X display numbers, files in
//! /tmp and Xwayland processes are machine-wide, and the leak check counts them.
//! Nothing is skipped: a missing Xwayland (or xterm, xclip, wl-clipboard, GTK) fails the
//! test, saying to run `scripts/setup.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gwd_tests::{
    ChildGuard, Lobby, VideoFrame, plugin_dir, private_dir, run, target_dir, until_prints,
};

const CLIENT: &str = env!("CARGO_BIN_EXE_x11-test-client");
const WAYLAND_CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(20);
/// GTK and xterm take their time to start in a loaded debug run.
const APP_WAIT: Duration = Duration::from_secs(60);

const BLACK: (u8, u8, u8) = (0, 0, 0);
const RED: (u8, u8, u8) = (255, 0, 0);
const GREEN: (u8, u8, u8) = (0, 255, 0);
const BLUE: (u8, u8, u8) = (0, 0, 255);

const X11_UNIX: &str = "/tmp/.X11-unix";

/// One test at a time (see the module's comment).
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn caps(w: u32, h: u32) -> String {
    format!("video/x-raw,format=BGRx,width={w},height={h},framerate=30/1")
}

/// `program` on PATH, or the test fails saying how to install it.
fn require(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| is_executable(p))
    });
    found.unwrap_or_else(|| panic!("{program} not found on PATH: run scripts/setup.sh"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A 640x480 lobby on the software renderer with `props`, Xwayland present on PATH.
fn lobby(props: &str) -> Lobby {
    require("Xwayland");
    Lobby::start(&format!("render-node=software {props}"), &caps(640, 480))
}

/// The `DISPLAY` the lobby announced (":N").
fn display(lobby: &Lobby) -> String {
    let display = lobby
        .display
        .clone()
        .expect("wayland.src has no DISPLAY field");
    assert!(
        display_number(&display).is_some(),
        "DISPLAY is not \":N\": {display:?}"
    );
    display
}

fn display_number(display: &str) -> Option<u32> {
    display.strip_prefix(':')?.parse().ok()
}

/// An X11 client of the lobby's Xwayland: DISPLAY set, WAYLAND_DISPLAY unset.
fn x11_command(lobby: &Lobby, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("DISPLAY", display(lobby))
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", &lobby.dir);
    cmd
}

fn x11_client(lobby: &Lobby, program: &str, args: &[&str]) -> ChildGuard {
    let mut cmd = x11_command(lobby, program, args);
    // Our client's few messages help when a test fails; other apps' would only be noise.
    if program != CLIENT {
        cmd.stderr(Stdio::null());
    }
    ChildGuard::spawn(cmd)
}

/// A Wayland client of the lobby, with no DISPLAY to fall back on.
fn wayland_command(lobby: &Lobby, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("WAYLAND_DISPLAY", &lobby.socket)
        .env("XDG_RUNTIME_DIR", &lobby.dir)
        .env_remove("DISPLAY");
    cmd
}

fn input(name: &str) -> gst::structure::Builder {
    gst::Structure::builder(name)
}

fn send(lobby: &Lobby, event: gst::Structure) {
    assert!(lobby.send_input(event), "input event not handled");
}

/// The first line from `client` starting with `prefix`, failing the test without one.
fn line(client: &ChildGuard, timeout: Duration, prefix: &str) -> String {
    client.expect_line(timeout, prefix)
}

/// Waits for a `state …` line holding all of `names`.
fn expect_state(client: &ChildGuard, prefix: &str, names: &[&str]) -> String {
    let want = format!("{prefix}state");
    client
        .wait_line(WAIT, |l| {
            l.strip_prefix(&want)
                .is_some_and(|rest| names.iter().all(|n| rest.split(' ').any(|w| w == *n)))
        })
        .unwrap_or_else(|| panic!("no `{want}` line with {names:?} within {WAIT:?}"))
}

/// Saves the frame next to the test binaries when a pixel check is about to fail.
fn check_pixels(frame: &VideoFrame, name: &str, checks: &[(u32, u32, (u8, u8, u8))]) {
    let wrong: Vec<String> = checks
        .iter()
        .filter(|(x, y, want)| frame.rgb(*x, *y) != *want)
        .map(|(x, y, want)| format!("({x},{y}) is {:?}, not {want:?}", frame.rgb(*x, *y)))
        .collect();
    if !wrong.is_empty() {
        let path = target_dir().join(format!("xwayland-{name}.ppm"));
        let _ = frame.save_ppm(&path);
        panic!("{name}: {} (frame in {})", wrong.join(", "), path.display());
    }
}

fn is_red(frame: &VideoFrame, x: u32, y: u32) -> bool {
    let (r, g, b) = frame.rgb(x, y);
    r > 200 && g < 60 && b < 60
}

// ---------------------------------------------------------------------------------------
// Machine-wide state: lock files, sockets, Xwayland processes.

fn lock_path(n: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/.X{n}-lock"))
}

fn socket_path(n: u32) -> PathBuf {
    Path::new(X11_UNIX).join(format!("X{n}"))
}

/// What an X server writes into its lock file.
fn lock_content(pid: u32) -> String {
    format!("{pid:>10}\n")
}

fn lock_pid(n: u32) -> Option<i32> {
    std::fs::read_to_string(lock_path(n))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn pid_alive(pid: i32) -> bool {
    rustix::process::Pid::from_raw(pid)
        .is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
}

/// The lowest display number with neither a lock file nor a socket, from :1 (where the
/// compositor starts: :0 is conventionally a machine's own screen).
fn free_display_number() -> u32 {
    (1..1000)
        .find(|&n| !lock_path(n).exists() && std::fs::symlink_metadata(socket_path(n)).is_err())
        .expect("no free X display number below 1000")
}

/// Names in `dir` starting with `prefix` (and ending with `suffix`).
fn names(dir: &str, prefix: &str, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix) && n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

/// /proc/PID/stat of `pid`: (comm, state, ppid).
fn proc_stat(pid: u32) -> Option<(String, char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 2..)?.split(' ');
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

/// Every Xwayland process on the machine (zombies included): (pid, state, ours), where
/// ours means a descendant of this test process.
fn xwayland_processes() -> Vec<(u32, char, bool)> {
    let me = std::process::id();
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.into_iter()
        .filter_map(|pid| {
            let (comm, state, _) = proc_stat(pid)?;
            if comm != "Xwayland" {
                return None;
            }
            let mut ancestor = pid;
            let mut ours = false;
            for _ in 0..64 {
                let Some((_, _, ppid)) = proc_stat(ancestor) else {
                    break;
                };
                if ppid == me {
                    ours = true;
                    break;
                }
                if ppid <= 1 {
                    break;
                }
                ancestor = ppid;
            }
            Some((pid, state, ours))
        })
        .collect()
}

fn our_xwaylands() -> Vec<(u32, char)> {
    xwayland_processes()
        .into_iter()
        .filter(|p| p.2)
        .map(|(pid, state, _)| (pid, state))
        .collect()
}

/// Waits (bounded) until `cond` holds; false if it never did.
fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After the element stopped: display `n`'s lock file and socket are gone (or belong to a
/// live server that took the number since) and no Xwayland of ours is left, not even a
/// zombie.
fn assert_cleaned_up(n: u32) {
    let gone = eventually(Duration::from_secs(5), || {
        our_xwaylands().is_empty()
            && (!lock_path(n).exists() || lock_pid(n).is_some_and(|p| p != me() && pid_alive(p)))
    });
    assert!(
        gone,
        "after NULL: lock {:?} (pid {:?}), our Xwayland processes {:?}",
        lock_path(n),
        lock_pid(n),
        our_xwaylands()
    );
    let socket_left = std::fs::symlink_metadata(socket_path(n)).is_ok();
    assert!(
        !socket_left || lock_pid(n).is_some_and(|p| p != me() && pid_alive(p)),
        "{} left behind",
        socket_path(n).display()
    );
}

fn me() -> i32 {
    i32::try_from(std::process::id()).unwrap()
}

/// Removes a file when dropped, pass or fail.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// Real X11 apps.

#[test]
fn xterm_is_drawn_through_the_built_in_xwayland() {
    let _serial = serial();
    let xterm = require("xterm");
    let lobby = lobby("");
    let _xterm = x11_client(
        &lobby,
        xterm.to_str().unwrap(),
        &[
            "-bg", "red", "-fg", "red", "-cr", "red", "-e", "sleep", "120",
        ],
    );
    // Maximized (no transient-for, not fixed-size): red from corner to corner.
    let frame = lobby.frame_until(APP_WAIT, |f| {
        is_red(f, 320, 240) && is_red(f, 20, 20) && is_red(f, 620, 460)
    });
    assert!(is_red(&frame, 100, 400), "{:?}", frame.rgb(100, 400));
}

const GTK_APP: &str = r#"
import sys
import gi
gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
gi.require_version("GdkX11", "3.0")
from gi.repository import Gtk, Gdk, GdkX11
css = Gtk.CssProvider()
css.load_from_data(b"window, window * { background-color: #00ff00; background-image: none; }")
Gtk.StyleContext.add_provider_for_screen(
    Gdk.Screen.get_default(), css, Gtk.STYLE_PROVIDER_PRIORITY_USER)
window = Gtk.Window(title="gtk3-x11")
window.set_default_size(320, 240)
window.connect("destroy", Gtk.main_quit)
def mapped(*_):
    x11 = isinstance(window.get_window(), GdkX11.X11Window)
    print("mapped", "x11" if x11 else "not-x11", flush=True)
window.connect("map-event", mapped)
window.show_all()
Gtk.main()
"#;

#[test]
fn a_gtk3_app_with_the_x11_backend_is_drawn() {
    let _serial = serial();
    let python = Path::new("/usr/bin/python3");
    assert!(
        is_executable(python),
        "/usr/bin/python3 missing: run scripts/setup.sh"
    );
    let check = run(
        {
            let mut cmd = Command::new(python);
            cmd.args([
                "-c",
                "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk",
            ]);
            cmd
        },
        WAIT,
    );
    assert!(
        check.status.success(),
        "GTK 3 for Python missing (python3-gi, gir1.2-gtk-3.0): run scripts/setup.sh\n{}",
        check.all()
    );
    let lobby = lobby("");
    let mut cmd = x11_command(&lobby, "/usr/bin/python3", &["-c", GTK_APP]);
    cmd.env("GDK_BACKEND", "x11")
        .env("NO_AT_BRIDGE", "1")
        .stderr(Stdio::null());
    let app = ChildGuard::spawn(cmd);
    // GDK's X11 backend, not a Wayland fallback.
    assert_eq!(line(&app, APP_WAIT, "mapped"), "mapped x11");
    let frame = lobby.frame_until(APP_WAIT, |f| f.rgb(320, 240) == GREEN);
    check_pixels(&frame, "gtk3", &[(320, 240, GREEN), (320, 400, GREEN)]);
}

// ---------------------------------------------------------------------------------------
// The window policy for X11 windows.

#[test]
fn an_x11_toplevel_is_maximized_to_the_output() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(&lobby, CLIENT, &["--solid", "0000ff"]);
    // The state is set before the window is configured to its size.
    expect_state(&client, "", &["MAXIMIZED_HORZ", "MAXIMIZED_VERT"]);
    line(&client, WAIT, "configure 640 480");
    line(&client, WAIT, "drawn 640 480");
    let frame = lobby.frame_until(WAIT, |f| f.rgb(1, 1) == BLUE && f.rgb(638, 478) == BLUE);
    check_pixels(
        &frame,
        "maximized",
        &[(0, 0, BLUE), (320, 240, BLUE), (639, 479, BLUE)],
    );
    line(&client, WAIT, "focus in");
}

#[test]
fn a_fixed_size_x11_window_keeps_its_size_centred_on_black() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(
        &lobby,
        CLIENT,
        &["--fixed", "--size", "200x100", "--solid", "ff0000"],
    );
    line(&client, WAIT, "mapped 200 100");
    // 200x100 in 640x480: from (220, 190) to (420, 290).
    let frame = lobby.frame_until(WAIT, |f| f.rgb(221, 191) == RED && f.rgb(419, 289) == RED);
    check_pixels(
        &frame,
        "fixed",
        &[
            (220, 190, RED),
            (320, 240, RED),
            (419, 289, RED),
            (219, 240, BLACK),
            (420, 240, BLACK),
            (320, 189, BLACK),
            (320, 290, BLACK),
            (10, 10, BLACK),
            (630, 470, BLACK),
        ],
    );
    let resized: Vec<String> = client
        .drain_lines()
        .into_iter()
        .filter(|l| l.starts_with("configure "))
        .collect();
    assert!(
        resized.is_empty(),
        "a fixed-size window was resized: {resized:?}"
    );
}

#[test]
fn an_x11_client_that_asks_for_fullscreen_gets_it() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(&lobby, CLIENT, &["--fullscreen", "--solid", "00ff00"]);
    expect_state(&client, "", &["FULLSCREEN"]);
    line(&client, WAIT, "configure 640 480");
    let frame = lobby.frame_until(WAIT, |f| f.rgb(0, 0) == GREEN && f.rgb(639, 479) == GREEN);
    check_pixels(&frame, "fullscreen", &[(320, 240, GREEN)]);
}

#[test]
fn an_x11_dialog_is_centred_over_its_parent_at_its_own_size() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(
        &lobby,
        CLIENT,
        &[
            "--solid",
            "ff0000",
            "--transient-for-self-dialog",
            "200x100:00ff00",
        ],
    );
    line(&client, WAIT, "configure 640 480");
    line(&client, WAIT, "dialog mapped 200 100");
    // The newest mapped toplevel has the keyboard.
    line(&client, WAIT, "dialog focus in");
    // 200x100 over the 640x480 parent: from (220, 190) to (420, 290), above it.
    let frame = lobby.frame_until(WAIT, |f| {
        f.rgb(221, 191) == GREEN && f.rgb(419, 289) == GREEN && f.rgb(5, 5) == RED
    });
    check_pixels(
        &frame,
        "dialog",
        &[
            (320, 240, GREEN),
            (215, 195, RED),
            (425, 285, RED),
            (320, 185, RED),
            (320, 295, RED),
            (635, 475, RED),
        ],
    );
    let resized: Vec<String> = client
        .drain_lines()
        .into_iter()
        .filter(|l| l.starts_with("dialog configure "))
        .collect();
    assert!(resized.is_empty(), "the dialog was resized: {resized:?}");
}

#[test]
fn an_override_redirect_window_is_shown_where_it_asks() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(
        &lobby,
        CLIENT,
        &[
            "--override-redirect",
            "100,50",
            "--size",
            "200x100",
            "--solid",
            "00ff00",
        ],
    );
    line(&client, WAIT, "mapped 200 100");
    // From (100, 50) to (300, 150), at its own size.
    let frame = lobby.frame_until(WAIT, |f| {
        f.rgb(101, 51) == GREEN && f.rgb(299, 149) == GREEN
    });
    check_pixels(
        &frame,
        "override-redirect",
        &[
            (100, 50, GREEN),
            (299, 149, GREEN),
            (99, 100, BLACK),
            (300, 100, BLACK),
            (200, 49, BLACK),
            (200, 150, BLACK),
            (320, 240, BLACK),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Input.

#[test]
fn keys_and_clicks_reach_the_focused_x11_window() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(&lobby, CLIENT, &["--solid", "0000ff"]);
    line(&client, WAIT, "drawn 640 480");
    line(&client, WAIT, "focus in");
    lobby.frame_until(WAIT, |f| f.rgb(320, 240) == BLUE);

    send(
        &lobby,
        input("MouseMoveAbsolute")
            .field("pointer_x", 100.0)
            .field("pointer_y", 50.0)
            .build(),
    );
    client
        .wait_line(WAIT, |l| l == "enter 100 50" || l == "motion 100 50")
        .expect("no `enter 100 50` or `motion 100 50`");
    send(
        &lobby,
        input("MouseButton")
            .field("button", 272u32)
            .field("pressed", true)
            .build(),
    );
    assert_eq!(line(&client, WAIT, "button press"), "button press 1 100 50");
    send(
        &lobby,
        input("MouseButton")
            .field("button", 272u32)
            .field("pressed", false)
            .build(),
    );
    assert_eq!(
        line(&client, WAIT, "button release"),
        "button release 1 100 50"
    );
    send(
        &lobby,
        input("MouseButton")
            .field("button", 273u32)
            .field("pressed", true)
            .build(),
    );
    assert_eq!(line(&client, WAIT, "button press"), "button press 3 100 50");

    // KEY_A (30) is X keycode 38: evdev codes + 8.
    send(
        &lobby,
        input("KeyboardKey")
            .field("key", 30u32)
            .field("pressed", true)
            .build(),
    );
    assert_eq!(line(&client, WAIT, "key press"), "key press 38");
    send(
        &lobby,
        input("KeyboardKey")
            .field("key", 30u32)
            .field("pressed", false)
            .build(),
    );
    assert_eq!(line(&client, WAIT, "key release"), "key release 38");
}

#[test]
fn clicks_on_a_centred_x11_window_are_in_its_coordinates() {
    let _serial = serial();
    let lobby = lobby("");
    let client = x11_client(
        &lobby,
        CLIENT,
        &["--fixed", "--size", "200x100", "--solid", "ff0000"],
    );
    line(&client, WAIT, "drawn 200 100");
    line(&client, WAIT, "focus in");
    lobby.frame_until(WAIT, |f| f.rgb(221, 191) == RED);
    // The window's (10, 20) is the output's (230, 210).
    send(
        &lobby,
        input("MouseMoveAbsolute")
            .field("pointer_x", 230.0)
            .field("pointer_y", 210.0)
            .build(),
    );
    send(
        &lobby,
        input("MouseButton")
            .field("button", 272u32)
            .field("pressed", true)
            .build(),
    );
    assert_eq!(line(&client, WAIT, "button press"), "button press 1 10 20");
}

// ---------------------------------------------------------------------------------------
// Clipboard. The selection follows keyboard focus: a client's selection is taken while it
// (or, for X11, an X11 window) has the keyboard. So each side has a focused window when it
// sets the selection: x11-test-client mapped (the newest toplevel has the keyboard) for
// xclip, which maps no window of its own. wl-copy and wl-paste need none: they use data
// control (a privileged protocol, offered by default).

#[test]
fn the_clipboard_goes_from_x11_to_wayland() {
    let _serial = serial();
    let xclip = require("xclip");
    require("wl-paste");
    let lobby = lobby("");
    let focused = x11_client(&lobby, CLIENT, &[]);
    line(&focused, WAIT, "focus in");

    let text = "from-x11-through-xwayland";
    // -quiet keeps xclip in the foreground (it forks otherwise), serving the selection
    // until it is killed.
    let mut cmd = x11_command(
        &lobby,
        xclip.to_str().unwrap(),
        &["-quiet", "-selection", "clipboard", "-i"],
    );
    cmd.stdin(Stdio::piped()).stderr(Stdio::null());
    let mut owner = ChildGuard::spawn(cmd);
    {
        let mut stdin = owner.child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let pasted = until_prints(
        || wayland_command(&lobby, "wl-paste", &["--no-newline"]),
        text,
        WAIT,
    );
    if let Err(out) = pasted {
        panic!(
            "wl-paste never printed {text:?}; last run ({}): {}",
            out.status,
            out.all()
        );
    }
    drop(owner);
}

#[test]
fn the_clipboard_goes_from_wayland_to_x11() {
    let _serial = serial();
    let xclip = require("xclip");
    require("wl-copy");
    require("wl-paste");
    let lobby = lobby("");
    let text = "from-wayland-to-x11";
    // --foreground: served by this process until it is killed (it forks otherwise).
    let mut cmd = wayland_command(&lobby, "wl-copy", &["--foreground", text]);
    cmd.stderr(Stdio::null());
    let _owner = ChildGuard::spawn(cmd);
    // The Wayland side has it...
    if let Err(out) = until_prints(
        || wayland_command(&lobby, "wl-paste", &["--no-newline"]),
        text,
        WAIT,
    ) {
        panic!("wl-copy's selection never reached wl-paste: {}", out.all());
    }
    // ...and with an X11 window focused, so does X11.
    let focused = x11_client(&lobby, CLIENT, &[]);
    line(&focused, WAIT, "focus in");
    let xclip = xclip.to_str().unwrap().to_owned();
    if let Err(out) = until_prints(
        || x11_command(&lobby, &xclip, &["-o", "-selection", "clipboard"]),
        text,
        WAIT,
    ) {
        panic!(
            "xclip -o never printed {text:?}; last run ({}): {}",
            out.status,
            out.all()
        );
    }
}

#[test]
fn the_clipboard_the_owner_sets_is_pasted_by_x11() {
    let _serial = serial();
    let xclip = require("xclip");
    let lobby = lobby("");
    let focused = x11_client(&lobby, CLIENT, &[]);
    line(&focused, WAIT, "focus in");
    send(
        &lobby,
        input("ClipboardSet")
            .field("text", "set-by-the-owner")
            .build(),
    );
    let xclip = xclip.to_str().unwrap().to_owned();
    if let Err(out) = until_prints(
        || x11_command(&lobby, &xclip, &["-o", "-selection", "clipboard"]),
        "set-by-the-owner",
        WAIT,
    ) {
        panic!(
            "xclip -o never printed it; last run ({}): {}",
            out.status,
            out.all()
        );
    }
}

// ---------------------------------------------------------------------------------------
// The display's files and processes.

#[test]
fn the_element_offers_xwayland_on_demand_by_default() {
    let _serial = serial();
    gwd_tests::init();
    let src = gst::ElementFactory::make("waylanddisplaysrc")
        .build()
        .unwrap();
    assert_eq!(src.property::<String>("xwayland"), "on-demand");
    for value in ["on", "off", "on-demand"] {
        src.set_property("xwayland", value);
        assert_eq!(src.property::<String>("xwayland"), value);
    }
}

#[test]
fn on_demand_starts_xwayland_for_the_first_x11_client_and_cleans_up_at_null() {
    let _serial = serial();
    let lobby = lobby("");
    let display = display(&lobby);
    let n = display_number(&display).unwrap();
    assert_eq!(
        std::fs::read_to_string(lock_path(n)).unwrap(),
        lock_content(std::process::id()),
        "{}",
        lock_path(n).display()
    );
    assert!(
        std::fs::symlink_metadata(socket_path(n))
            .unwrap()
            .file_type()
            .is_socket(),
        "{} is not a socket",
        socket_path(n).display()
    );
    // Nothing connected yet: no Xwayland.
    lobby.frame_until(WAIT, |_| true);
    assert!(our_xwaylands().is_empty(), "{:?}", our_xwaylands());

    let mut client = x11_client(&lobby, CLIENT, &[]);
    line(&client, WAIT, "mapped");
    assert_eq!(our_xwaylands().len(), 1, "{:?}", our_xwaylands());

    lobby.pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        client.wait_exit(WAIT).is_some(),
        "the X11 client is still connected after NULL"
    );
    assert_cleaned_up(n);
}

#[test]
fn xwayland_on_starts_the_server_with_the_compositor() {
    let _serial = serial();
    let lobby = lobby("xwayland=on");
    let n = display_number(&display(&lobby)).unwrap();
    assert!(
        eventually(WAIT, || our_xwaylands().len() == 1),
        "no Xwayland of ours running: {:?}",
        our_xwaylands()
    );
    assert_eq!(
        std::fs::read_to_string(lock_path(n)).unwrap(),
        lock_content(std::process::id())
    );
    let client = x11_client(&lobby, CLIENT, &[]);
    line(&client, WAIT, "drawn 640 480");
    drop(client);
    drop(lobby);
    assert_cleaned_up(n);
}

#[test]
fn xwayland_off_announces_no_display_and_starts_nothing() {
    let _serial = serial();
    let lobby = lobby("xwayland=off");
    assert_eq!(lobby.display, None, "a DISPLAY with xwayland=off");
    lobby.frame_until(WAIT, |_| true);
    let ours: Vec<String> = names("/tmp", ".X", "-lock")
        .into_iter()
        .filter(|name| {
            std::fs::read_to_string(Path::new("/tmp").join(name))
                .is_ok_and(|c| c == lock_content(std::process::id()))
        })
        .collect();
    assert!(
        ours.is_empty(),
        "lock files of ours with xwayland=off: {ours:?}"
    );
    assert!(our_xwaylands().is_empty(), "{:?}", our_xwaylands());
}

#[test]
fn a_live_servers_lock_is_never_touched() {
    let _serial = serial();
    let n = free_display_number();
    let mut sleeper = Command::new("sleep");
    sleeper.arg("60");
    let sleeper = ChildGuard::spawn(sleeper);
    let content = lock_content(sleeper.child.id());
    let lock = RemoveOnDrop(lock_path(n));
    std::fs::write(&lock.0, &content).unwrap();

    let lobby = lobby("xwayland=on");
    let display = display(&lobby);
    assert_ne!(display, format!(":{n}"), "took the live server's display");
    drop(lobby);
    assert_cleaned_up(display_number(&display).unwrap());
    assert_eq!(
        std::fs::read_to_string(&lock.0).unwrap(),
        content,
        "{} changed",
        lock.0.display()
    );
    assert!(
        std::fs::symlink_metadata(socket_path(n)).is_err(),
        "{} appeared",
        socket_path(n).display()
    );
    drop(sleeper);
}

#[test]
fn a_stale_lock_is_reclaimed_and_removed_at_stop() {
    let _serial = serial();
    let n = free_display_number();
    // A process that has exited (and been reaped): its pid is dead.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    assert!(!pid_alive(i32::try_from(dead).unwrap()));
    let lock = RemoveOnDrop(lock_path(n));
    std::fs::write(&lock.0, lock_content(dead)).unwrap();
    // Every lower number held by a live server: then n is the lowest the element may take.
    let lowest = (1..n).all(|m| lock_pid(m).is_some_and(pid_alive));

    let lobby = lobby("xwayland=on");
    let taken = display_number(&display(&lobby)).unwrap();
    if lowest {
        assert_eq!(taken, n, "the stale lock of :{n} was not reclaimed");
    } else {
        assert!(taken <= n, "took :{taken} past the stale :{n}");
    }
    if taken == n {
        assert_eq!(
            std::fs::read_to_string(&lock.0).unwrap(),
            lock_content(std::process::id()),
            "the reclaimed lock does not hold our pid"
        );
    }
    drop(lobby);
    assert_cleaned_up(taken);
    if taken == n {
        assert!(!lock.0.exists(), "{} left at stop", lock.0.display());
    }
}

/// `gst-launch-1.0` found on the current PATH, run with PATH set to `path` (no Xwayland).
fn gst_launch_with_path(description: &str, dir: &Path, path: &Path) -> Command {
    let mut cmd = Command::new(require("gst-launch-1.0"));
    cmd.arg("-m")
        .args(description.split_whitespace())
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", target_dir().join("gst-registry-tests.bin"))
        .env("XDG_RUNTIME_DIR", dir)
        .env("PATH", path);
    cmd
}

#[test]
fn xwayland_on_without_xwayland_on_path_is_a_clear_error() {
    let _serial = serial();
    let dir = private_dir("gwd-xw-nopath");
    let empty = private_dir("gwd-xw-empty-path");
    let out = run(
        gst_launch_with_path(
            "waylanddisplaysrc render-node=software xwayland=on num-buffers=10 ! \
             video/x-raw,width=64,height=48,framerate=30/1 ! fakesink",
            dir.path(),
            empty.path(),
        ),
        Duration::from_secs(60),
    );
    let all = out.all();
    assert!(!out.status.success(), "expected failure:\n{all}");
    let error = all
        .lines()
        .skip_while(|l| !l.starts_with("ERROR: from element"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        error.contains("GstWaylandDisplaySrc") && error.contains("Xwayland"),
        "the error does not name Xwayland:\n{all}"
    );
    assert!(!all.contains("panicked"), "{all}");
}

#[test]
fn on_demand_without_xwayland_on_path_starts_fine() {
    let _serial = serial();
    let dir = private_dir("gwd-xw-nopath");
    let empty = private_dir("gwd-xw-empty-path");
    let out = run(
        gst_launch_with_path(
            "waylanddisplaysrc render-node=software num-buffers=10 ! \
             video/x-raw,width=64,height=48,framerate=30/1 ! fakesink",
            dir.path(),
            empty.path(),
        ),
        Duration::from_secs(60),
    );
    let all = out.all();
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("DISPLAY=(string):"),
        "no DISPLAY announced:\n{all}"
    );
    assert!(all.contains("Got EOS"), "{all}");
}

// ---------------------------------------------------------------------------------------
// Leaks.

/// Machine-wide counts, and what of it is ours.
#[derive(Debug, Clone, PartialEq, Eq)]
struct XState {
    locks: BTreeSet<String>,
    sockets: BTreeSet<String>,
    xwaylands: Vec<(u32, char, bool)>,
    fds: usize,
    threads: usize,
}

fn x_state() -> XState {
    let count = |p: &str| std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0);
    XState {
        locks: names("/tmp", ".X", "-lock"),
        sockets: names(X11_UNIX, "X", ""),
        xwaylands: xwayland_processes(),
        fds: count("/proc/self/fd"),
        threads: count("/proc/self/task"),
    }
}

fn show(s: &XState) -> String {
    format!(
        "[locks {} sockets {} Xwayland {} (ours {}) fds {} threads {}]",
        s.locks.len(),
        s.sockets.len(),
        s.xwaylands.len(),
        s.xwaylands.iter().filter(|p| p.2).count(),
        s.fds,
        s.threads
    )
}

#[test]
fn start_stop_cycles_with_an_x11_client_leak_nothing() {
    let _serial = serial();
    require("Xwayland");
    let cycle = |used: &mut BTreeSet<u32>| {
        let lobby = Lobby::start("render-node=software", &caps(64, 48));
        let n = display_number(&display(&lobby)).unwrap();
        used.insert(n);
        let mut client = x11_client(&lobby, CLIENT, &["--size", "32x24"]);
        line(&client, WAIT, "mapped");
        lobby.pipeline.set_state(gst::State::Null).unwrap();
        assert!(
            client.wait_exit(WAIT).is_some(),
            "the X11 client is still connected after NULL"
        );
        drop(client);
        drop(lobby);
    };
    let mut used = BTreeSet::new();
    // Warm-up: GStreamer's thread pools and registry.
    cycle(&mut used);
    assert!(eventually(Duration::from_secs(5), || our_xwaylands().is_empty()));
    let before = x_state();
    let start = Instant::now();
    for _ in 0..50 {
        cycle(&mut used);
    }
    let settled = |s: &XState| {
        s.fds <= before.fds
            && s.threads <= before.threads
            && s.locks.len() <= before.locks.len()
            && s.sockets.len() <= before.sockets.len()
            && !s.xwaylands.iter().any(|p| p.2)
            && s.xwaylands.len() <= before.xwaylands.len()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut after = x_state();
    while !settled(&after) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        after = x_state();
    }
    println!(
        "50 cycles with an X11 client in {:.1}s on displays {used:?}: before {} after {}",
        start.elapsed().as_secs_f64(),
        show(&before),
        show(&after)
    );
    // Other X servers on the machine may come and go meanwhile: what is left over must
    // not be ours (our pid in a lock, a socket of a display we used with no live owner,
    // an Xwayland we started).
    let our_locks: Vec<&String> = after
        .locks
        .difference(&before.locks)
        .filter(|name| {
            std::fs::read_to_string(Path::new("/tmp").join(name)).is_ok_and(|c| {
                c.trim()
                    .parse::<i32>()
                    .map_or(true, |pid| pid == me() || !pid_alive(pid))
            })
        })
        .collect();
    let our_sockets: Vec<&String> = after
        .sockets
        .difference(&before.sockets)
        .filter(|name| {
            name.strip_prefix('X')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| {
                    used.contains(&n) && !lock_pid(n).is_some_and(|p| p != me() && pid_alive(p))
                })
        })
        .collect();
    let our_processes: Vec<&(u32, char, bool)> = after.xwaylands.iter().filter(|p| p.2).collect();
    assert!(
        our_locks.is_empty()
            && our_sockets.is_empty()
            && our_processes.is_empty()
            && after.fds <= before.fds
            && after.threads <= before.threads,
        "leaked: locks {our_locks:?} sockets {our_sockets:?} Xwayland {our_processes:?}; \
         before {} after {}",
        show(&before),
        show(&after)
    );
    if !settled(&after) {
        println!(
            "note: machine-wide counts changed by other X servers: locks {:?} -> {:?}, \
             sockets {:?} -> {:?}",
            before.locks, after.locks, before.sockets, after.sockets
        );
    }
}

#[test]
fn wayland_and_x11_clients_share_the_output() {
    let _serial = serial();
    let lobby = lobby("");
    // A Wayland toplevel (quadrants) and, newer, a fixed-size X11 window centred above it.
    let wayland = lobby.client(WAYLAND_CLIENT, &[]);
    wayland.expect_line(WAIT, "drawn 640 480");
    let x11 = x11_client(
        &lobby,
        CLIENT,
        &["--fixed", "--size", "100x100", "--solid", "00ff00"],
    );
    line(&x11, WAIT, "focus in");
    wayland.expect_line(WAIT, "keyboard leave");
    let frame = lobby.frame_until(WAIT, |f| f.rgb(320, 240) == GREEN);
    // The Wayland client's red top-left quadrant around the X11 window.
    check_pixels(
        &frame,
        "shared",
        &[
            (10, 10, RED),
            (265, 200, RED),
            (300, 220, GREEN),
            (300, 300, BLUE),
        ],
    );
}
