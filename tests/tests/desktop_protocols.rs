//! The desktop protocols Smithay implements and the two we add (tearing control, wlr
//! virtual pointer), with real clients on a real `waylanddisplaysrc`: `wayland-info`
//! sees every global (and no privileged one with `privileged-protocols=false`),
//! wl-clipboard copies and pastes through data control, `wtype` types through the virtual
//! keyboard, our own virtual-pointer client moves and clicks, and xdg-activation moves
//! the keyboard to the window that asks with a valid token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::Duration;

use gwd_tests::{ChildGuard, Lobby, run, until_prints};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const POINTER: &str = env!("CARGO_BIN_EXE_wayland-virtual-pointer");
const WAIT: Duration = Duration::from_secs(15);

const PRIVILEGED: [&str; 5] = [
    "zwlr_data_control_manager_v1",
    "ext_data_control_manager_v1",
    "zwp_virtual_keyboard_manager_v1",
    "zwlr_virtual_pointer_manager_v1",
    "zwlr_foreign_toplevel_manager_v1",
];

const UNPRIVILEGED: [&str; 12] = [
    "zwp_primary_selection_device_manager_v1",
    "xdg_activation_v1",
    "zxdg_decoration_manager_v1",
    "zwp_keyboard_shortcuts_inhibit_manager_v1",
    "zwp_idle_inhibit_manager_v1",
    "wp_content_type_manager_v1",
    "zxdg_exporter_v2",
    "zxdg_importer_v2",
    "wp_tearing_control_manager_v1",
    "wp_fractional_scale_manager_v1",
    "wp_cursor_shape_manager_v1",
    // Always there: the check that the listing was read at all.
    "wl_compositor",
];

fn lobby(props: &str) -> Lobby {
    Lobby::start(
        &format!("render-node=software {props}"),
        "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1",
    )
}

/// `program ARGS` as a client of `lobby`, its output collected.
fn command(lobby: &Lobby, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("WAYLAND_DISPLAY", &lobby.socket)
        .env("XDG_RUNTIME_DIR", &lobby.dir)
        .env_remove("DISPLAY");
    cmd
}

/// The interface names `wayland-info` lists.
fn interfaces(lobby: &Lobby) -> Vec<String> {
    let out = run(command(lobby, "wayland-info", &[]), WAIT);
    assert!(out.status.success(), "wayland-info failed: {}", out.all());
    out.stdout
        .lines()
        .filter_map(|line| {
            let rest = line.split_once("interface: '")?.1;
            Some(rest.split_once('\'')?.0.to_owned())
        })
        .collect()
}

#[test]
fn wayland_info_lists_the_desktop_protocols_and_the_privileged_ones_only_when_enabled() {
    let on = interfaces(&lobby(""));
    for name in PRIVILEGED.iter().chain(&UNPRIVILEGED) {
        assert!(on.iter().any(|i| i == name), "{name} missing from {on:?}");
    }

    let off = interfaces(&lobby("privileged-protocols=false"));
    for name in UNPRIVILEGED {
        assert!(off.iter().any(|i| i == name), "{name} missing from {off:?}");
    }
    for name in PRIVILEGED {
        assert!(
            !off.iter().any(|i| i == name),
            "{name} offered with privileged-protocols=false"
        );
    }
}

/// wl-copy with `extra` serves `text` in the foreground; wl-paste with `extra` must read
/// it back. No window is mapped: wl-clipboard uses data control when it is offered. The
/// owner is returned: the selection goes with it.
fn round_trip(lobby: &Lobby, extra: &[&str], text: &str) -> ChildGuard {
    let mut args = vec!["--foreground"];
    args.extend_from_slice(extra);
    args.push(text);
    let mut cmd = command(lobby, "wl-copy", &args);
    cmd.stderr(Stdio::null());
    let owner = ChildGuard::spawn(cmd);
    let mut paste = vec!["--no-newline"];
    paste.extend_from_slice(extra);
    if let Err(out) = until_prints(|| command(lobby, "wl-paste", &paste), text, WAIT) {
        panic!(
            "wl-paste {paste:?} never printed {text:?}; last run ({}): {}",
            out.status,
            out.all()
        );
    }
    owner
}

#[test]
fn wl_clipboard_copies_and_pastes_the_clipboard_and_the_primary_selection() {
    let lobby = lobby("");
    let _clipboard = round_trip(&lobby, &[], "through-the-clipboard");
    let _primary = round_trip(&lobby, &["--primary"], "through-the-primary-selection");
    // The two are separate selections.
    let out = run(
        command(&lobby, "wl-paste", &["--no-newline"]),
        Duration::from_secs(10),
    );
    assert_eq!(out.stdout, "through-the-clipboard", "{}", out.all());
}

/// The codes of the keys `client` reports pressed, until `count` of them.
fn pressed_keys(client: &ChildGuard, count: usize) -> Vec<u32> {
    let mut keys = Vec::new();
    while keys.len() < count {
        let line = client
            .wait_line(WAIT, |l| l.starts_with("key ") && l.ends_with(" pressed"))
            .unwrap_or_else(|| panic!("only {keys:?} pressed"));
        keys.push(line.split(' ').nth(1).unwrap().parse().unwrap());
    }
    keys
}

#[test]
fn wtype_types_into_the_focused_window() {
    let lobby = lobby("");
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    client.expect_line(WAIT, "keyboard enter main");
    let out = run(command(&lobby, "wtype", &["hello"]), WAIT);
    assert!(out.status.success(), "wtype failed: {}", out.all());
    // wtype sends its own keymap first, then one key per character: h e l l o is four
    // distinct keys, the third one twice.
    client.expect_line(WAIT, "keyboard keymap");
    let keys = pressed_keys(&client, 5);
    assert_eq!(keys[2], keys[3], "{keys:?}");
    let mut distinct = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{keys:?}");
}

#[test]
fn a_virtual_pointer_moves_clicks_and_scrolls_in_the_focused_window() {
    let lobby = lobby("");
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    // (1, 1)/(4, 4) of 320x240 is (80, 60); then 10 right and 5 down.
    let out = run(
        command(
            &lobby,
            POINTER,
            &[
                "abs", "1", "1", "4", "4", "rel", "10", "5", "button", "272", "scroll", "30",
            ],
        ),
        WAIT,
    );
    assert!(
        out.status.success(),
        "virtual pointer failed: {}",
        out.all()
    );
    assert_eq!(out.stdout, "done\n");
    client.expect_line(WAIT, "pointer enter 80.0 60.0");
    client.expect_line(WAIT, "pointer motion 90.0 65.0");
    client.expect_line(WAIT, "pointer button 272 pressed");
    client.expect_line(WAIT, "pointer button 272 released");
    client.expect_line(WAIT, "pointer axis vertical 30.0");
}

#[test]
fn a_virtual_pointer_s_values_are_bounded() {
    let lobby = lobby("");
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");
    // A scroll of a million pixels arrives as the coordinate limit (2^16); a motion of a
    // million stops at the output's edge.
    let out = run(
        command(
            &lobby,
            POINTER,
            &[
                "abs", "1", "1", "2", "2", "scroll", "1000000", "rel", "1000000", "0",
            ],
        ),
        WAIT,
    );
    assert!(
        out.status.success(),
        "virtual pointer failed: {}",
        out.all()
    );
    client.expect_line(WAIT, "pointer enter 160.0 120.0");
    client.expect_line(WAIT, "pointer axis vertical 65536.0");
    client.expect_line(WAIT, "pointer motion 319.0 120.0");
    // The next virtual pointer starts where this one left the seat's pointer.
    let out = run(command(&lobby, POINTER, &["rel", "-1", "0"]), WAIT);
    assert!(out.status.success(), "{}", out.all());
    client.expect_line(WAIT, "pointer motion 318.0 120.0");
}

#[test]
fn a_valid_activation_token_moves_the_keyboard_back_and_a_made_up_one_does_not() {
    let lobby = lobby("");
    let older = lobby.client(
        CLIENT,
        &["--pattern", "solid:ff0000", "--activate-on-leave", "token"],
    );
    older.expect_line(WAIT, "keyboard enter main");
    // The newest toplevel takes the keyboard; the older one asks for it back.
    let newer = lobby.client(CLIENT, &["--pattern", "solid:00ff00"]);
    newer.expect_line(WAIT, "keyboard enter main");
    older.expect_line(WAIT, "keyboard leave");
    older.expect_line(WAIT, "activation requested token");
    older.expect_line(WAIT, "keyboard enter main");
    newer.expect_line(WAIT, "keyboard leave");
    // ...and is raised: its red is on top again.
    lobby.frame_until(WAIT, |f| f.rgb(160, 120) == (255, 0, 0));
    drop((older, newer));

    let older = lobby.client(
        CLIENT,
        &["--pattern", "solid:ff0000", "--activate-on-leave", "bogus"],
    );
    older.expect_line(WAIT, "keyboard enter main");
    let newer = lobby.client(CLIENT, &["--pattern", "solid:00ff00"]);
    newer.expect_line(WAIT, "keyboard enter main");
    older.expect_line(WAIT, "activation requested bogus");
    lobby.frame_until(WAIT, |f| f.rgb(160, 120) == (0, 255, 0));
    assert!(
        older
            .wait_line(Duration::from_secs(2), |l| l == "keyboard enter main")
            .is_none(),
        "a made-up token activated the window"
    );
}

/// `run --no-privileged-protocols` reaches the element through the lobby's spec (the path
/// the host's `video_settings.privileged_protocols` takes too).
#[test]
fn run_leaves_the_privileged_protocols_out_when_told() {
    let exe = gwd_tests::target_dir().join("gst-wayland-display");
    let listed = |extra: &[&str]| {
        let dir = gwd_tests::private_dir("gwd-desktop-run");
        let mut cmd = Command::new(&exe);
        cmd.env("XDG_RUNTIME_DIR", dir.path())
            .args(["run", "--render-node", "software"])
            .args(["--width", "320", "--height", "240", "--fps", "30"])
            .args(extra)
            .args(["--duration", "2", "--", "wayland-info"]);
        let out = run(cmd, Duration::from_secs(60));
        assert!(out.status.success(), "{}", out.all());
        out.all()
    };
    let on = listed(&[]);
    let off = listed(&["--no-privileged-protocols"]);
    for name in PRIVILEGED {
        assert!(on.contains(&format!("'{name}'")), "{name} missing: {on}");
        assert!(!off.contains(&format!("'{name}'")), "{name} offered: {off}");
    }
    assert!(off.contains("'xdg_activation_v1'"), "{off}");
}

/// Sends `lines` (gwd-wire-fuzz's replay form) on one connection to `lobby`; its report.
fn replay(lobby: &Lobby, lines: &[&str]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, lines.join("\n").as_bytes()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gwd-wire-fuzz"));
    cmd.arg("--socket")
        .arg(lobby.dir.join(&lobby.socket))
        .arg("--replay")
        .arg(file.path());
    run(cmd, WAIT).all()
}

#[test]
fn a_surface_may_have_one_tearing_control_at_a_time() {
    let lobby = lobby("");
    let mut lines = vec![
        "1.1 wl_display.get_registry n2",
        r#"2.0 wl_registry.bind u@wl_compositor s"wl_compositor" u4 n3"#,
        r#"2.0 wl_registry.bind u@wp_tearing_control_manager_v1 s"wp_tearing_control_manager_v1" u1 n4"#,
        "3.0 wl_compositor.create_surface n5",
        "4.1 wp_tearing_control_manager_v1.get_tearing_control n6 o5",
        "6.0 wp_tearing_control_v1.set_presentation_hint u1",
        "5.6 wl_surface.commit",
        // Destroyed, it may be made again.
        "6.1 wp_tearing_control_v1.destroy",
        "4.1 wp_tearing_control_manager_v1.get_tearing_control n7 o5",
    ];
    let report = replay(&lobby, &lines);
    assert!(report.contains("connection 0 still open"), "{report}");
    // A second one while the first lives is the protocol's error.
    lines.push("4.1 wp_tearing_control_manager_v1.get_tearing_control n8 o5");
    let report = replay(&lobby, &lines);
    assert!(
        report.contains("code 0: the surface already has a tearing control object"),
        "{report}"
    );
}

#[test]
fn a_parent_set_through_xdg_foreign_makes_a_dialog_centred_over_it() {
    let lobby = lobby("");
    // The dialog sets no fixed size: without its imported parent it would be maximized.
    let client = lobby.client(CLIENT, &["--dialog", "200x100:00ff00", "--dialog-foreign"]);
    client.expect_line(WAIT, "drawn 320 240");
    let configure = client
        .wait_line(WAIT, |l| l.starts_with("dialog configure"))
        .expect("no dialog configure");
    assert!(
        configure.starts_with("dialog configure 0 0"),
        "the dialog was not floated: {configure}"
    );
    client.expect_line(WAIT, "dialog drawn 200 100");
    // 200x100 over the 320x240 parent: from (60, 70) to (260, 170), above it.
    let frame = lobby.frame_until(WAIT, |f| f.rgb(61, 71) == (0, 255, 0));
    assert_eq!(frame.rgb(259, 169), (0, 255, 0));
    assert_eq!(frame.rgb(55, 65), (255, 0, 0), "the parent's red quadrant");
}

#[test]
fn decorations_are_always_server_side() {
    let lobby = lobby("");
    for asked in ["client", "server"] {
        let client = lobby.client(CLIENT, &["--decoration", asked]);
        // The mode comes with the first configure, before the window draws.
        let mode = client
            .wait_line(WAIT, |l| l.starts_with("decoration "))
            .expect("no decoration configure");
        assert_eq!(mode, "decoration server", "asked for {asked}");
        client.expect_line(WAIT, "drawn 320 240");
    }
}
