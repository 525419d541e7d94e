//! A layer-shell client for integration tests: one `zwlr_layer_surface_v1` of one colour,
//! on the layer, anchors, size, exclusive zone and keyboard interactivity given. It prints
//! each configure, each buffer it draws and the keyboard events it gets, one line each on
//! stdout, and the protocol error that ends it, if one does.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;

use rustix::fs::{MemfdFlags, ftruncate, memfd_create};
use wayland_client::backend::WaylandError;
use wayland_client::globals::{GlobalListContents, registry_queue_init};
use wayland_client::protocol::{
    wl_buffer::WlBuffer,
    wl_callback::{self, WlCallback},
    wl_compositor::WlCompositor,
    wl_keyboard::{self, KeyState, WlKeyboard},
    wl_registry::WlRegistry,
    wl_seat::{self, Capability, WlSeat},
    wl_shm::{self, WlShm},
    wl_shm_pool::WlShmPool,
    wl_surface::WlSurface,
};
use wayland_client::{
    Connection, Dispatch, DispatchError, Proxy, QueueHandle, WEnum, delegate_noop,
};
use wayland_protocols_wlr::layer_shell::v1::client::{
    zwlr_layer_shell_v1::{Layer, ZwlrLayerShellV1},
    zwlr_layer_surface_v1::{self, Anchor, KeyboardInteractivity, ZwlrLayerSurfaceV1},
};

const USAGE: &str = "usage: wayland-layer-client [--layer background|bottom|top|overlay] \
[--anchor top,bottom,left,right] [--size WxH] [--exclusive N] [--colour RRGGBB] \
[--keyboard none|exclusive|on_demand] [--raw-anchor N] [--unmap-when-shown]";

/// Prints one line and flushes at once: tests read stdout through a pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

struct Args {
    layer: Layer,
    /// Anchor bits as sent: `--raw-anchor` sends values the protocol does not define.
    anchor: u32,
    size: (u32, u32),
    exclusive: i32,
    colour: u32,
    keyboard: KeyboardInteractivity,
    /// Once the first buffer was shown (its frame callback came), commit a null buffer,
    /// then map the surface again.
    unmap_when_shown: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        layer: Layer::Top,
        anchor: 0,
        size: (0, 0),
        exclusive: 0,
        colour: 0xFF00_FF00,
        keyboard: KeyboardInteractivity::None,
        unmap_when_shown: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--layer" => {
                args.layer = match value()?.as_str() {
                    "background" => Layer::Background,
                    "bottom" => Layer::Bottom,
                    "top" => Layer::Top,
                    "overlay" => Layer::Overlay,
                    other => return Err(format!("unknown layer {other}")),
                }
            }
            "--anchor" => {
                for edge in value()?.split(',') {
                    args.anchor |= match edge {
                        "top" => Anchor::Top,
                        "bottom" => Anchor::Bottom,
                        "left" => Anchor::Left,
                        "right" => Anchor::Right,
                        other => return Err(format!("unknown anchor {other}")),
                    }
                    .bits();
                }
            }
            "--raw-anchor" => {
                args.anchor = value()?.parse().map_err(|_| "bad --raw-anchor")?;
            }
            "--size" => {
                let v = value()?;
                let (w, h) = v.split_once('x').ok_or("bad --size")?;
                args.size = (
                    w.parse().map_err(|_| "bad --size")?,
                    h.parse().map_err(|_| "bad --size")?,
                );
            }
            "--unmap-when-shown" => args.unmap_when_shown = true,
            "--exclusive" => args.exclusive = value()?.parse().map_err(|_| "bad --exclusive")?,
            "--colour" => {
                args.colour =
                    0xFF00_0000 | u32::from_str_radix(&value()?, 16).map_err(|_| "bad --colour")?;
            }
            "--keyboard" => {
                args.keyboard = match value()?.as_str() {
                    "none" => KeyboardInteractivity::None,
                    "exclusive" => KeyboardInteractivity::Exclusive,
                    "on_demand" => KeyboardInteractivity::OnDemand,
                    other => return Err(format!("unknown keyboard interactivity {other}")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

struct App {
    colour: u32,
    unmap_when_shown: bool,
    shm: WlShm,
    surface: WlSurface,
    keyboard: Option<WlKeyboard>,
    buffer: Option<WlBuffer>,
    closed: bool,
    error: Option<String>,
}

/// A `w`x`h` buffer of one colour.
fn solid_buffer(
    shm: &WlShm,
    qh: &QueueHandle<App>,
    w: u32,
    h: u32,
    colour: u32,
) -> Result<WlBuffer, String> {
    let pixels = usize::try_from(u64::from(w) * u64::from(h)).map_err(|e| e.to_string())?;
    let len = pixels.checked_mul(4).ok_or("buffer too large")?;
    let (wi, hi) = (
        i32::try_from(w).map_err(|e| e.to_string())?,
        i32::try_from(h).map_err(|e| e.to_string())?,
    );
    let fd =
        memfd_create("wayland-layer-client", MemfdFlags::CLOEXEC).map_err(|e| e.to_string())?;
    ftruncate(&fd, len as u64).map_err(|e| e.to_string())?;
    let mut file = File::from(fd);
    file.write_all(&colour.to_le_bytes().repeat(pixels))
        .map_err(|e| e.to_string())?;
    let pool_len = i32::try_from(len).map_err(|e| e.to_string())?;
    let pool = shm.create_pool(file.as_fd(), pool_len, qh, ());
    let buffer = pool.create_buffer(0, wi, hi, wi * 4, wl_shm::Format::Argb8888, qh, ());
    pool.destroy();
    Ok(buffer)
}

impl Dispatch<ZwlrLayerSurfaceV1, ()> for App {
    fn event(
        app: &mut Self,
        layer: &ZwlrLayerSurfaceV1,
        event: zwlr_layer_surface_v1::Event,
        _: &(),
        _: &Connection,
        qh: &QueueHandle<Self>,
    ) {
        match event {
            zwlr_layer_surface_v1::Event::Configure {
                serial,
                width,
                height,
            } => {
                say!("layer configure {width} {height}");
                layer.ack_configure(serial);
                if width == 0 || height == 0 {
                    app.error = Some(format!("configured to {width}x{height}"));
                    return;
                }
                match solid_buffer(&app.shm, qh, width, height, app.colour) {
                    Ok(buffer) => {
                        app.surface.attach(Some(&buffer), 0, 0);
                        app.surface.damage_buffer(0, 0, i32::MAX, i32::MAX);
                        if app.unmap_when_shown {
                            app.surface.frame(qh, ());
                        }
                        app.surface.commit();
                        if let Some(old) = app.buffer.replace(buffer) {
                            old.destroy();
                        }
                        say!("layer drawn {width} {height}");
                    }
                    Err(e) => app.error = Some(format!("drawing: {e}")),
                }
            }
            zwlr_layer_surface_v1::Event::Closed => app.closed = true,
            _ => {}
        }
    }
}

impl Dispatch<WlSeat, ()> for App {
    fn event(
        app: &mut Self,
        seat: &WlSeat,
        event: wl_seat::Event,
        _: &(),
        _: &Connection,
        qh: &QueueHandle<Self>,
    ) {
        if let wl_seat::Event::Capabilities {
            capabilities: WEnum::Value(caps),
        } = event
            && caps.contains(Capability::Keyboard)
            && app.keyboard.is_none()
        {
            app.keyboard = Some(seat.get_keyboard(qh, ()));
        }
    }
}

impl Dispatch<WlKeyboard, ()> for App {
    fn event(
        _: &mut Self,
        _: &WlKeyboard,
        event: wl_keyboard::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wl_keyboard::Event::Enter { .. } => say!("keyboard enter"),
            wl_keyboard::Event::Leave { .. } => say!("keyboard leave"),
            wl_keyboard::Event::Key { key, state, .. } => {
                let state = match state {
                    WEnum::Value(KeyState::Pressed) => "pressed",
                    _ => "released",
                };
                say!("keyboard key {key} {state}");
            }
            _ => {}
        }
    }
}

impl Dispatch<WlRegistry, GlobalListContents> for App {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: <WlRegistry as Proxy>::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<WlCallback, ()> for App {
    fn event(
        app: &mut Self,
        _: &WlCallback,
        event: wl_callback::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wl_callback::Event::Done { .. } = event
            && app.unmap_when_shown
        {
            app.unmap_when_shown = false;
            app.surface.attach(None, 0, 0);
            app.surface.commit();
            say!("layer unmapped");
            // Mapped again the way the protocol asks: an initial commit without a buffer,
            // then the buffer once the new configure came.
            app.surface.commit();
        }
    }
}

delegate_noop!(App: WlCompositor);
delegate_noop!(App: WlShmPool);
delegate_noop!(App: ignore WlShm);
delegate_noop!(App: ignore WlSurface);
delegate_noop!(App: ignore WlBuffer);
delegate_noop!(App: ZwlrLayerShellV1);

fn is_disconnect(err: &DispatchError) -> bool {
    let DispatchError::Backend(WaylandError::Io(io)) = err else {
        return false;
    };
    matches!(
        io.kind(),
        ErrorKind::BrokenPipe
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof
    )
}

fn run(args: Args) -> Result<(), String> {
    let conn = Connection::connect_to_env().map_err(|e| format!("connect: {e}"))?;
    let (globals, mut queue) =
        registry_queue_init::<App>(&conn).map_err(|e| format!("registry: {e}"))?;
    let qh = queue.handle();
    let bind_err = |name: &'static str| move |e| format!("bind {name}: {e}");
    let compositor: WlCompositor = globals
        .bind(&qh, 1..=4, ())
        .map_err(bind_err("wl_compositor"))?;
    let shm: WlShm = globals.bind(&qh, 1..=1, ()).map_err(bind_err("wl_shm"))?;
    let shell: ZwlrLayerShellV1 = globals
        .bind(&qh, 1..=4, ())
        .map_err(bind_err("zwlr_layer_shell_v1"))?;
    let _seat: WlSeat = globals.bind(&qh, 1..=7, ()).map_err(bind_err("wl_seat"))?;

    let surface = compositor.create_surface(&qh, ());
    let layer = shell.get_layer_surface(
        &surface,
        None,
        args.layer,
        "wayland-layer-client".into(),
        &qh,
        (),
    );
    layer.set_size(args.size.0, args.size.1);
    // Sent raw: a hostile run asks for anchors the protocol does not define.
    layer
        .send_request(zwlr_layer_surface_v1::Request::SetAnchor {
            anchor: WEnum::Unknown(args.anchor),
        })
        .map_err(|e| format!("set_anchor: {e}"))?;
    layer.set_exclusive_zone(args.exclusive);
    layer.set_keyboard_interactivity(args.keyboard);
    // The first commit carries no buffer: it asks for the configure.
    surface.commit();

    let mut app = App {
        colour: args.colour,
        unmap_when_shown: args.unmap_when_shown,
        shm,
        surface,
        keyboard: None,
        buffer: None,
        closed: false,
        error: None,
    };
    while !app.closed {
        match queue.blocking_dispatch(&mut app) {
            Ok(_) => {}
            Err(e) if is_disconnect(&e) => break,
            Err(e) => {
                if let Some(err) = conn.protocol_error() {
                    say!(
                        "protocol error {}@{} {}: {}",
                        err.object_interface,
                        err.object_id,
                        err.code,
                        err.message
                    );
                }
                return Err(format!("dispatch: {e}"));
            }
        }
        if let Some(e) = app.error.take() {
            return Err(e);
        }
    }
    say!("closed");
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("wayland-layer-client: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("wayland-layer-client: {msg}");
            ExitCode::FAILURE
        }
    }
}
