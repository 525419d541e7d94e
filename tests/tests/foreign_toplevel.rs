//! Window listing through `zwlr_foreign_toplevel_manager_v1`
//! (`comp/handlers/foreign_toplevel.rs`): a raw client binds the manager on a real
//! `waylanddisplaysrc`, sees the test client's window with its title, app id and states,
//! then `closed` when the client exits, a dialog with its parent, and an X11 window closed
//! through its handle; a hostile
//! `set_rectangle` gets the protocol's error while the lobby goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

use gwd_tests::rawwire::{Ending, ProtocolError, RawClient, request, string_words};
use gwd_tests::{ChildGuard, Lobby};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const X11_CLIENT: &str = env!("CARGO_BIN_EXE_x11-test-client");
/// Xwayland starts on demand, within it.
const WAIT: Duration = Duration::from_secs(20);

const REGISTRY: u32 = 2;
const CALLBACK: u32 = 3;
const COMPOSITOR: u32 = 4;
const OUTPUT: u32 = 5;
const MANAGER: u32 = 6;
// zwlr_foreign_toplevel_manager_v1: the `toplevel` event, the `stop` request.
const TOPLEVEL: u16 = 0;
const FINISHED: u16 = 1;
const STOP: u16 = 0;
// zwlr_foreign_toplevel_handle_v1 events.
const TITLE: u16 = 0;
const APP_ID: u16 = 1;
const OUTPUT_ENTER: u16 = 2;
const STATE: u16 = 4;
const DONE: u16 = 5;
const CLOSED: u16 = 6;
const PARENT: u16 = 7;
// ... and requests.
const CLOSE: u16 = 5;
const SET_RECTANGLE: u16 = 6;
const INVALID_RECTANGLE: u32 = 0;
const MAXIMIZED: u32 = 0;
const ACTIVATED: u32 = 2;

fn lobby() -> Lobby {
    Lobby::start(
        "render-node=software",
        "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1",
    )
}

/// What a handle said up to its `done`.
#[derive(Debug, Default)]
struct Toplevel {
    handle: u32,
    title: Option<String>,
    app_id: Option<String>,
    states: Vec<u32>,
    outputs: Vec<u32>,
    parent: Option<u32>,
}

/// A raw client bound to `wl_compositor`, `wl_output` and the manager (version 3).
struct Lister {
    raw: RawClient,
}

impl Lister {
    fn connect(lobby: &Lobby) -> Self {
        let mut raw = RawClient::connect(&lobby.dir, &lobby.socket);
        let globals = raw.globals(REGISTRY, CALLBACK, WAIT);
        for (interface, version, id) in [
            ("wl_compositor", 1, COMPOSITOR),
            ("wl_output", 1, OUTPUT),
            ("zwlr_foreign_toplevel_manager_v1", 3, MANAGER),
        ] {
            let name = globals
                .iter()
                .find(|(_, i, _)| i == interface)
                .unwrap_or_else(|| panic!("no {interface} global"))
                .0;
            let mut bind = vec![name];
            bind.extend(string_words(interface));
            bind.extend([version, id]);
            raw.send(&request(REGISTRY, 0, &bind), &[]).unwrap();
        }
        Self { raw }
    }

    /// The first toplevel announced, as its handle says it is at its first `done`.
    fn toplevel(&mut self) -> Toplevel {
        self.toplevels_until(1, |_| true).remove(0)
    }

    /// The toplevels announced, as their handles say they are at their latest `done`,
    /// once there are `count` of them and `settled` holds (within the wait).
    fn toplevels_until(
        &mut self,
        count: usize,
        settled: impl Fn(&[Toplevel]) -> bool,
    ) -> Vec<Toplevel> {
        let deadline = Instant::now() + WAIT;
        // What each handle said so far, and what it said at its latest `done`.
        let mut pending: Vec<Toplevel> = Vec::new();
        let mut done: Vec<Toplevel> = Vec::new();
        while let Some(event) = self.raw.next_event(deadline) {
            assert!(
                !(event.object == 1 && event.opcode == 0),
                "protocol error: {:?}",
                event.string(2)
            );
            if event.object == MANAGER && event.opcode == TOPLEVEL {
                pending.push(Toplevel {
                    handle: event.word(0).unwrap(),
                    ..Toplevel::default()
                });
                continue;
            }
            let Some(t) = pending.iter_mut().find(|t| t.handle == event.object) else {
                continue;
            };
            match event.opcode {
                TITLE => t.title = event.string(0).map(|(s, _)| s),
                APP_ID => t.app_id = event.string(0).map(|(s, _)| s),
                OUTPUT_ENTER => t.outputs.push(event.word(0).unwrap()),
                STATE => {
                    let count = event.word(0).unwrap() as usize / 4;
                    t.states = (1..=count).map(|i| event.word(i).unwrap()).collect();
                }
                PARENT => t.parent = event.word(0).filter(|id| *id != 0),
                DONE => {
                    let now = Toplevel {
                        handle: t.handle,
                        title: t.title.clone(),
                        app_id: t.app_id.clone(),
                        states: t.states.clone(),
                        outputs: t.outputs.clone(),
                        parent: t.parent,
                    };
                    match done.iter_mut().find(|d| d.handle == now.handle) {
                        Some(d) => *d = now,
                        None => done.push(now),
                    }
                    if done.len() >= count && done.len() == pending.len() && settled(&done) {
                        return done;
                    }
                }
                _ => {}
            }
        }
        panic!("not {count} settled toplevels within {WAIT:?}: {done:?}");
    }

    /// Whether `handle` gets `closed` within the wait.
    fn closed(&mut self, handle: u32) -> bool {
        let deadline = Instant::now() + WAIT;
        while let Some(event) = self.raw.next_event(deadline) {
            if event.object == handle && event.opcode == CLOSED {
                return true;
            }
        }
        false
    }
}

#[test]
fn a_lister_sees_the_test_client_s_window_then_closed_when_it_exits() {
    let lobby = lobby();
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");

    let mut lister = Lister::connect(&lobby);
    // Maximized by the policy, and focused: the only window.
    let toplevel = lister
        .toplevels_until(1, |t| t[0].states == [MAXIMIZED, ACTIVATED])
        .remove(0);
    assert_eq!(toplevel.title.as_deref(), Some("wayland-test-client"));
    assert_eq!(toplevel.app_id.as_deref(), Some("wayland-test-client"));
    assert_eq!(toplevel.outputs, vec![OUTPUT]);

    drop(client);
    assert!(
        lister.closed(toplevel.handle),
        "no closed for the window of a client that exited"
    );

    // `stop` ends the events with `finished`.
    lister.raw.send(&request(MANAGER, STOP, &[]), &[]).unwrap();
    let deadline = Instant::now() + WAIT;
    let finished = std::iter::from_fn(|| lister.raw.next_event(deadline))
        .any(|e| e.object == MANAGER && e.opcode == FINISHED);
    assert!(finished, "no finished after stop");
}

#[test]
fn a_dialog_is_listed_with_its_parent_and_the_focus() {
    let lobby = lobby();
    let client = lobby.client(CLIENT, &["--dialog", "200x100:00ff00"]);
    client.expect_line(WAIT, "dialog drawn 200 100");

    let mut lister = Lister::connect(&lobby);
    // The dialog floats and has the keyboard; its parent stays maximized (the lister may
    // have bound before the dialog took the focus: the states settle).
    let toplevels = lister.toplevels_until(2, |t| {
        t.iter().filter(|t| t.states.contains(&ACTIVATED)).count() == 1
    });
    let main = toplevels
        .iter()
        .find(|t| t.title.as_deref() == Some("wayland-test-client"))
        .unwrap_or_else(|| panic!("no main window in {toplevels:?}"));
    let dialog = toplevels
        .iter()
        .find(|t| t.title.as_deref() == Some("wayland-test-client dialog"))
        .unwrap_or_else(|| panic!("no dialog in {toplevels:?}"));
    assert_eq!(dialog.parent, Some(main.handle), "{toplevels:?}");
    assert_eq!(main.parent, None, "{toplevels:?}");
    assert_eq!(dialog.states, vec![ACTIVATED], "{toplevels:?}");
    assert_eq!(main.states, vec![MAXIMIZED], "{toplevels:?}");
}

#[test]
fn an_x11_window_is_listed_and_closed_through_its_handle() {
    let lobby = lobby();
    let display = lobby.display.clone().expect("wayland.src has no DISPLAY");
    let mut cmd = Command::new(X11_CLIENT);
    cmd.env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", &lobby.dir);
    let mut client = ChildGuard::spawn(cmd);
    client.expect_line(WAIT, "drawn 320 240");

    let mut lister = Lister::connect(&lobby);
    let toplevel = lister
        .toplevels_until(1, |t| t[0].states == [MAXIMIZED, ACTIVATED])
        .remove(0);
    assert_eq!(toplevel.title.as_deref(), Some("x11-test-client"));
    // WM_CLASS's class.
    assert_eq!(toplevel.app_id.as_deref(), Some("X11TestClient"));

    // WM_DELETE_WINDOW: the client exits, and the window is gone.
    lister
        .raw
        .send(&request(toplevel.handle, CLOSE, &[]), &[])
        .unwrap();
    assert!(
        client.wait_exit(WAIT).is_some(),
        "the X11 client did not exit"
    );
    assert!(
        lister.closed(toplevel.handle),
        "no closed for the X11 window"
    );
}

#[test]
fn a_negative_rectangle_is_a_protocol_error_and_the_lobby_goes_on() {
    let lobby = lobby();
    let client = lobby.client(CLIENT, &[]);
    client.expect_line(WAIT, "drawn 320 240");

    let mut hostile = Lister::connect(&lobby);
    let handle = hostile.toplevel().handle;
    // wl_compositor.create_surface, then set_rectangle(surface, 0, 0, -1, 10).
    let surface = 7;
    hostile
        .raw
        .send(&request(COMPOSITOR, 0, &[surface]), &[])
        .unwrap();
    let args = [surface, 0, 0, (-1i32) as u32, 10];
    hostile
        .raw
        .send(&request(handle, SET_RECTANGLE, &args), &[])
        .unwrap();
    match hostile.raw.ending(WAIT) {
        Ending::Error(ProtocolError { object, code, .. }) => {
            assert_eq!((object, code), (handle, INVALID_RECTANGLE));
        }
        other => panic!("expected invalid_rectangle, got {other:?}"),
    }

    // The lobby goes on: the window is still listed for another client, and still drawn.
    let mut lister = Lister::connect(&lobby);
    let toplevel = lister.toplevel();
    assert_eq!(toplevel.title.as_deref(), Some("wayland-test-client"));
    let args = [surface, 0, 0, 10, 10];
    lister
        .raw
        .send(&request(COMPOSITOR, 0, &[surface]), &[])
        .unwrap();
    lister
        .raw
        .send(&request(toplevel.handle, SET_RECTANGLE, &args), &[])
        .unwrap();
    assert!(
        lister.raw.roundtrip(8, WAIT),
        "a valid rectangle ended the client"
    );
    lobby.frame_until(WAIT, |f| f.non_black_in(0, 0, 320, 240) > 0);
}
