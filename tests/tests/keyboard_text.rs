//! `KeyboardText{text}`: Unicode text sent as an input event reaches the focused client as
//! that text, through text-input-v3 when the client has it enabled (GTK 3's Wayland input
//! method) and as key presses on a keymap holding the characters otherwise (GTK's simple
//! input method, which reads only keys).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gwd_tests::{ChildGuard, Lobby, run};

/// GTK takes its time to start in a loaded debug run.
const WAIT: Duration = Duration::from_secs(60);
const TEXT: &str = "héllo ✓";

/// One text entry with the focus. It prints `ready` once its focus is in and the compositor
/// has seen everything GTK sent for it (a roundtrip, so a text input it enables is
/// enabled), then `text N <content>` on every change, N being the key presses GTK saw.
const GTK_ENTRY: &str = r#"
import gi
gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gtk, Gdk, GLib
window = Gtk.Window(title="entry")
entry = Gtk.Entry()
window.add(entry)
window.connect("destroy", Gtk.main_quit)
keys = [0]
def key(_widget, event):
    keys[0] += 1
    return False
window.connect("key-press-event", key)
entry.connect("changed", lambda e: print("text", keys[0], e.get_text(), flush=True))
announced = [False]
def ready():
    Gdk.Display.get_default().sync()
    if not announced[0]:
        announced[0] = True
        print("ready", flush=True)
    return False
entry.connect_after("focus-in-event", lambda *_: GLib.idle_add(ready) and False)
window.show_all()
Gtk.main()
"#;

fn require_gtk() {
    let check = run(
        {
            let mut cmd = Command::new("/usr/bin/python3");
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
}

fn gtk_entry(lobby: &Lobby, im_module: Option<&str>) -> ChildGuard {
    assert!(
        Path::new("/usr/bin/python3").exists(),
        "/usr/bin/python3 missing"
    );
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.args(["-c", GTK_ENTRY])
        .env("WAYLAND_DISPLAY", &lobby.socket)
        .env("XDG_RUNTIME_DIR", &lobby.dir)
        .env("GDK_BACKEND", "wayland")
        .env("NO_AT_BRIDGE", "1")
        .env_remove("DISPLAY")
        .stderr(Stdio::null());
    match im_module {
        Some(module) => cmd.env("GTK_IM_MODULE", module),
        None => cmd.env_remove("GTK_IM_MODULE"),
    };
    ChildGuard::spawn(cmd)
}

fn send_text(lobby: &Lobby, text: &str) {
    assert!(
        lobby.send_input(
            gst::Structure::builder("KeyboardText")
                .field("text", text)
                .build()
        ),
        "the element refused KeyboardText"
    );
}

fn lobby() -> Lobby {
    Lobby::start(
        "render-node=software",
        "video/x-raw,format=BGRx,width=640,height=480,framerate=30/1",
    )
}

/// The entry's last `text` line once it holds `want` (bounded by [`WAIT`]).
fn wait_text(app: &ChildGuard, want: &str) -> String {
    app.wait_line(WAIT, |l| l.starts_with("text ") && l.ends_with(want))
        .unwrap_or_else(|| {
            panic!(
                "the entry never held {want:?}; it printed {:?}",
                app.drain_lines()
            )
        })
}

#[test]
fn text_reaches_a_text_input_client_as_text() {
    require_gtk();
    let lobby = lobby();
    // GTK 3 on Wayland uses its text-input-v3 input method when the compositor offers it.
    let app = gtk_entry(&lobby, None);
    app.expect_line(WAIT, "ready");
    send_text(&lobby, TEXT);
    let line = wait_text(&app, TEXT);
    // Committed as text: GTK saw no key press, and got it in one change.
    assert_eq!(line, format!("text 0 {TEXT}"));
}

#[test]
fn text_reaches_a_keys_only_client_as_key_presses() {
    require_gtk();
    let lobby = lobby();
    let app = gtk_entry(&lobby, Some("gtk-im-context-simple"));
    app.expect_line(WAIT, "ready");
    send_text(&lobby, TEXT);
    let line = wait_text(&app, TEXT);
    // One key press per character, each on the keymap made for the text.
    let n = TEXT.chars().count();
    assert_eq!(line, format!("text {n} {TEXT}"));

    // The seat's own keymap is back: an evdev key event types its US-layout letter
    // (KEY_A = 30).
    for pressed in [true, false] {
        assert!(
            lobby.send_input(
                gst::Structure::builder("KeyboardKey")
                    .field("key", 30u32)
                    .field("pressed", pressed)
                    .build()
            )
        );
    }
    wait_text(&app, &format!("{TEXT}a"));
}
