//! A small deterministic X11 client for the Xwayland tests, the X11 counterpart of
//! `wayland-test-client`.
//!
//! It maps a window filled with one colour and prints what happens to it, one line each on
//! stdout (flushed at once), so tests can wait for lines and check pixels:
//!
//! - `mapped W H`, `unmapped`, `configure W H` (when the size changes), `drawn W H` (after
//!   filling the window on Expose);
//! - `state A B …`: `_NET_WM_STATE` whenever it changes, without the `_NET_WM_STATE_`
//!   prefix, sorted (`state MAXIMIZED_HORZ MAXIMIZED_VERT`, `state FULLSCREEN`, `state`);
//! - `focus in`, `focus out`;
//! - `key press KEYCODE`, `key release KEYCODE` (X keycodes: evdev code + 8);
//! - `button press N X Y`, `button release N X Y`, `enter X Y`, `motion X Y` (window
//!   coordinates);
//! - `closed` when the window manager asks it to close or the X server goes away.
//!
//! The dialog of `--transient-for-self-dialog` prints the same lines prefixed `dialog `.

use std::io::Write;
use std::process::ExitCode;

use x11rb::connection::Connection;
use x11rb::errors::ConnectionError;
use x11rb::properties::{WmHints, WmHintsState, WmSizeHints, WmSizeHintsSpecification};
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, Gcontext, NotifyDetail,
    PropMode, Rectangle, Visualid, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

const USAGE: &str = "usage: x11-test-client [--solid RRGGBB] [--size WxH] [--fullscreen] [--fixed] \
[--transient-for-self-dialog WxH:RRGGBB] [--override-redirect X,Y] [--title TITLE]";

/// Prints one line and flushes at once: tests read stdout through a pipe and wait for
/// specific lines, so nothing may sit in a buffer.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        // A reader that went away must not kill the client mid-test.
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        WM_PROTOCOLS,
        WM_DELETE_WINDOW,
        UTF8_STRING,
        _NET_WM_NAME,
        _NET_WM_STATE,
        _NET_WM_STATE_FULLSCREEN,
        _NET_WM_STATE_MAXIMIZED_VERT,
        _NET_WM_STATE_MAXIMIZED_HORZ,
        _NET_WM_STATE_HIDDEN,
        _NET_WM_STATE_FOCUSED,
        _NET_WM_STATE_MODAL,
        _NET_WM_STATE_ABOVE,
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    colour: u32,
    size: (u16, u16),
    fullscreen: bool,
    fixed: bool,
    dialog: Option<((u16, u16), u32)>,
    /// An override-redirect window at this place (a menu or a tooltip): no window
    /// manager involved.
    override_redirect: Option<(i16, i16)>,
    title: String,
}

fn parse_colour(hex: &str) -> Option<u32> {
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn parse_size(s: &str) -> Option<(u16, u16)> {
    let (w, h) = s.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        colour: 0xff_0000,
        size: (320, 240),
        fullscreen: false,
        fixed: false,
        dialog: None,
        override_redirect: None,
        title: "x11-test-client".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--solid" => {
                let v = it.next().ok_or("--solid needs a value")?;
                args.colour = parse_colour(&v).ok_or(format!("bad colour: {v} (RRGGBB)"))?;
            }
            "--size" => {
                let v = it.next().ok_or("--size needs a value")?;
                args.size = parse_size(&v).ok_or(format!("bad size: {v}"))?;
            }
            "--title" => args.title = it.next().ok_or("--title needs a value")?,
            "--fullscreen" => args.fullscreen = true,
            "--fixed" => args.fixed = true,
            "--override-redirect" => {
                let v = it.next().ok_or("--override-redirect needs a value")?;
                let parsed = v
                    .split_once(',')
                    .and_then(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)));
                args.override_redirect = Some(parsed.ok_or(format!("bad place: {v} (X,Y)"))?);
            }
            "--transient-for-self-dialog" => {
                let v = it
                    .next()
                    .ok_or("--transient-for-self-dialog needs a value")?;
                let parsed = v
                    .split_once(':')
                    .and_then(|(size, colour)| Some((parse_size(size)?, parse_colour(colour)?)));
                args.dialog = Some(parsed.ok_or(format!("bad dialog: {v} (WxH:RRGGBB)"))?);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

/// One of our windows and what it last printed.
struct Win {
    id: Window,
    gc: Gcontext,
    size: (u16, u16),
    /// `""` for the main window, `"dialog "` for the dialog.
    prefix: &'static str,
    state: Option<String>,
}

struct Client {
    conn: RustConnection,
    atoms: Atoms,
    root: Window,
    visual: Visualid,
    windows: Vec<Win>,
}

impl Client {
    /// Creates (does not map) a window of `size` filled with `colour`; override-redirect
    /// at `at` if given.
    fn create_window(
        &mut self,
        size: (u16, u16),
        colour: u32,
        title: &str,
        prefix: &'static str,
        at: Option<(i16, i16)>,
    ) -> Res<Window> {
        let conn = &self.conn;
        let id = conn.generate_id()?;
        let events = EventMask::EXPOSURE
            | EventMask::STRUCTURE_NOTIFY
            | EventMask::PROPERTY_CHANGE
            | EventMask::FOCUS_CHANGE
            | EventMask::KEY_PRESS
            | EventMask::KEY_RELEASE
            | EventMask::BUTTON_PRESS
            | EventMask::BUTTON_RELEASE
            | EventMask::ENTER_WINDOW
            | EventMask::POINTER_MOTION;
        let (x, y) = at.unwrap_or((0, 0));
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            id,
            self.root,
            x,
            y,
            size.0,
            size.1,
            0,
            WindowClass::INPUT_OUTPUT,
            self.visual,
            &CreateWindowAux::new()
                .background_pixel(colour)
                .override_redirect(u32::from(at.is_some()))
                .event_mask(events),
        )?;
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            title.as_bytes(),
        )?;
        conn.change_property8(
            PropMode::REPLACE,
            id,
            self.atoms._NET_WM_NAME,
            self.atoms.UTF8_STRING,
            title.as_bytes(),
        )?;
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_CLASS,
            AtomEnum::STRING,
            b"x11-test-client\0X11TestClient\0",
        )?;
        conn.change_property32(
            PropMode::REPLACE,
            id,
            self.atoms.WM_PROTOCOLS,
            AtomEnum::ATOM,
            &[self.atoms.WM_DELETE_WINDOW],
        )?;
        let mut hints = WmHints::new();
        hints.input = Some(true);
        hints.initial_state = Some(WmHintsState::Normal);
        hints.set(conn, id)?;
        let gc = conn.generate_id()?;
        conn.create_gc(gc, id, &CreateGCAux::new().foreground(colour))?;
        self.windows.push(Win {
            id,
            gc,
            size,
            prefix,
            state: None,
        });
        Ok(id)
    }

    fn win(&mut self, id: Window) -> Option<&mut Win> {
        self.windows.iter_mut().find(|w| w.id == id)
    }

    /// `_NET_WM_STATE` of `id` as printed: short names, sorted.
    fn state_of(&self, id: Window) -> Res<String> {
        let reply = self
            .conn
            .get_property(false, id, self.atoms._NET_WM_STATE, AtomEnum::ATOM, 0, 64)?
            .reply()?;
        let a = &self.atoms;
        let known = [
            (a._NET_WM_STATE_FULLSCREEN, "FULLSCREEN"),
            (a._NET_WM_STATE_MAXIMIZED_VERT, "MAXIMIZED_VERT"),
            (a._NET_WM_STATE_MAXIMIZED_HORZ, "MAXIMIZED_HORZ"),
            (a._NET_WM_STATE_HIDDEN, "HIDDEN"),
            (a._NET_WM_STATE_FOCUSED, "FOCUSED"),
            (a._NET_WM_STATE_MODAL, "MODAL"),
            (a._NET_WM_STATE_ABOVE, "ABOVE"),
        ];
        let mut names: Vec<String> = reply
            .value32()
            .into_iter()
            .flatten()
            .map(|atom| {
                known
                    .iter()
                    .find(|(k, _)| *k == atom)
                    .map(|(_, n)| (*n).to_owned())
                    .unwrap_or_else(|| format!("atom{atom}"))
            })
            .collect();
        names.sort();
        Ok(names.join(" "))
    }

    /// Handles one event; `false` once the client should end.
    fn handle(&mut self, event: Event, dialog: &mut Option<((u16, u16), u32)>) -> Res<bool> {
        match event {
            Event::Expose(e) if e.count == 0 => {
                if let Some(w) = self.windows.iter().find(|w| w.id == e.window) {
                    let (width, height) = w.size;
                    self.conn.poly_fill_rectangle(
                        w.id,
                        w.gc,
                        &[Rectangle {
                            x: 0,
                            y: 0,
                            width,
                            height,
                        }],
                    )?;
                    self.conn.flush()?;
                    say!("{}drawn {width} {height}", w.prefix);
                }
            }
            Event::ConfigureNotify(e) => {
                if let Some(w) = self.win(e.window)
                    && w.size != (e.width, e.height)
                {
                    w.size = (e.width, e.height);
                    say!("{}configure {} {}", w.prefix, e.width, e.height);
                }
            }
            Event::MapNotify(e) => {
                let main = self.windows.first().map(|w| w.id);
                if let Some(w) = self.win(e.window) {
                    say!("{}mapped {} {}", w.prefix, w.size.0, w.size.1);
                }
                if main == Some(e.window)
                    && let Some((size, colour)) = dialog.take()
                {
                    self.open_dialog(e.window, size, colour)?;
                }
            }
            Event::UnmapNotify(e) => {
                if let Some(w) = self.win(e.window) {
                    say!("{}unmapped", w.prefix);
                }
            }
            Event::PropertyNotify(e) if e.atom == self.atoms._NET_WM_STATE => {
                let state = self.state_of(e.window)?;
                if let Some(w) = self.win(e.window)
                    && w.state.as_ref() != Some(&state)
                {
                    say!("{}state {state}", w.prefix);
                    w.state = Some(state);
                }
            }
            Event::FocusIn(e) => {
                if let Some(w) = self.win(e.event)
                    && is_own_focus(e.detail)
                {
                    say!("{}focus in", w.prefix);
                }
            }
            Event::FocusOut(e) => {
                if let Some(w) = self.win(e.event)
                    && is_own_focus(e.detail)
                {
                    say!("{}focus out", w.prefix);
                }
            }
            Event::KeyPress(e) => {
                if let Some(w) = self.win(e.event) {
                    say!("{}key press {}", w.prefix, e.detail);
                }
            }
            Event::KeyRelease(e) => {
                if let Some(w) = self.win(e.event) {
                    say!("{}key release {}", w.prefix, e.detail);
                }
            }
            Event::ButtonPress(e) => {
                if let Some(w) = self.win(e.event) {
                    say!(
                        "{}button press {} {} {}",
                        w.prefix,
                        e.detail,
                        e.event_x,
                        e.event_y
                    );
                }
            }
            Event::ButtonRelease(e) => {
                if let Some(w) = self.win(e.event) {
                    say!(
                        "{}button release {} {} {}",
                        w.prefix,
                        e.detail,
                        e.event_x,
                        e.event_y
                    );
                }
            }
            Event::EnterNotify(e) => {
                if let Some(w) = self.win(e.event) {
                    say!("{}enter {} {}", w.prefix, e.event_x, e.event_y);
                }
            }
            Event::MotionNotify(e) => {
                if let Some(w) = self.win(e.event) {
                    say!("{}motion {} {}", w.prefix, e.event_x, e.event_y);
                }
            }
            Event::ClientMessage(e)
                if e.type_ == self.atoms.WM_PROTOCOLS
                    && e.data.as_data32()[0] == self.atoms.WM_DELETE_WINDOW =>
            {
                return Ok(false);
            }
            Event::Error(e) => eprintln!("x11-test-client: X error: {e:?}"),
            _ => {}
        }
        Ok(true)
    }

    /// Maps the dialog: a window of its own size, WM_TRANSIENT_FOR the main one.
    fn open_dialog(&mut self, parent: Window, size: (u16, u16), colour: u32) -> Res<()> {
        let id = self.create_window(size, colour, "x11-test-client dialog", "dialog ", None)?;
        self.conn.change_property32(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_TRANSIENT_FOR,
            AtomEnum::WINDOW,
            &[parent],
        )?;
        self.conn.map_window(id)?;
        self.conn.flush()?;
        Ok(())
    }
}

/// Focus events about our window itself, not about the pointer or the root.
fn is_own_focus(detail: NotifyDetail) -> bool {
    !matches!(
        detail,
        NotifyDetail::POINTER | NotifyDetail::POINTER_ROOT | NotifyDetail::NONE
    )
}

/// Whether an error means the X server went away rather than a bug.
fn is_disconnect(err: &ConnectionError) -> bool {
    matches!(err, ConnectionError::IoError(_))
}

fn run(args: Args) -> Res<()> {
    let (conn, screen) = x11rb::connect(None).map_err(|e| format!("connect: {e}"))?;
    let setup = conn.setup();
    let root = setup
        .roots
        .get(screen)
        .ok_or_else(|| format!("no screen {screen}"))?;
    if root.root_depth != 24 {
        return Err(format!(
            "the root window is {} bits deep: colours assume 24",
            root.root_depth
        )
        .into());
    }
    let (root_window, visual) = (root.root, root.root_visual);
    let atoms = Atoms::new(&conn)?.reply()?;
    let mut client = Client {
        conn,
        atoms,
        root: root_window,
        visual,
        windows: Vec::new(),
    };
    let main = client.create_window(
        args.size,
        args.colour,
        &args.title,
        "",
        args.override_redirect,
    )?;
    if args.fixed {
        let mut hints = WmSizeHints::new();
        let (w, h) = (i32::from(args.size.0), i32::from(args.size.1));
        hints.size = Some((WmSizeHintsSpecification::ProgramSpecified, w, h));
        hints.min_size = Some((w, h));
        hints.max_size = Some((w, h));
        hints.set_normal_hints(&client.conn, main)?;
    }
    if args.fullscreen {
        client.conn.change_property32(
            PropMode::REPLACE,
            main,
            client.atoms._NET_WM_STATE,
            AtomEnum::ATOM,
            &[client.atoms._NET_WM_STATE_FULLSCREEN],
        )?;
    }
    client.conn.map_window(main)?;
    client.conn.flush()?;

    let mut dialog = args.dialog;
    loop {
        let event = match client.conn.wait_for_event() {
            Ok(event) => event,
            Err(e) if is_disconnect(&e) => break,
            Err(e) => return Err(e.into()),
        };
        if !client.handle(event, &mut dialog)? {
            break;
        }
    }
    say!("closed");
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("x11-test-client: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("x11-test-client: {msg}");
            ExitCode::FAILURE
        }
    }
}
