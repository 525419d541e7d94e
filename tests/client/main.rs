//! A small deterministic Wayland client for integration tests.
//!
//! It draws a known pattern into an shm buffer sized by the compositor and logs
//! every input event it receives, one line each on stdout, so tests can check
//! exact pixel values and input delivery by reading its output through a pipe.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;

use rustix::fs::{MemfdFlags, ftruncate, memfd_create};
use wayland_client::backend::WaylandError;
use wayland_client::globals::{GlobalListContents, registry_queue_init};
use wayland_client::protocol::{
    wl_buffer::{self, WlBuffer},
    wl_callback::{self, WlCallback},
    wl_compositor::WlCompositor,
    wl_keyboard::{self, KeyState, WlKeyboard},
    wl_output::{self, WlOutput},
    wl_pointer::{self, Axis, ButtonState, WlPointer},
    wl_registry::WlRegistry,
    wl_seat::{self, Capability, WlSeat},
    wl_shm::{self, WlShm},
    wl_shm_pool::WlShmPool,
    wl_surface::{self, WlSurface},
    wl_touch::{self, WlTouch},
};
use wayland_client::{
    Connection, Dispatch, DispatchError, Proxy, QueueHandle, WEnum, delegate_noop,
};
use wayland_protocols::wp::cursor_shape::v1::client::{
    wp_cursor_shape_device_v1::{Shape, WpCursorShapeDeviceV1},
    wp_cursor_shape_manager_v1::WpCursorShapeManagerV1,
};
use wayland_protocols::wp::fractional_scale::v1::client::{
    wp_fractional_scale_manager_v1::WpFractionalScaleManagerV1,
    wp_fractional_scale_v1::{self, WpFractionalScaleV1},
};
use wayland_protocols::wp::viewporter::client::{
    wp_viewport::WpViewport, wp_viewporter::WpViewporter,
};
use wayland_protocols::xdg::activation::v1::client::{
    xdg_activation_token_v1::{self, XdgActivationTokenV1},
    xdg_activation_v1::XdgActivationV1,
};
use wayland_protocols::xdg::decoration::zv1::client::{
    zxdg_decoration_manager_v1::ZxdgDecorationManagerV1,
    zxdg_toplevel_decoration_v1::{self, ZxdgToplevelDecorationV1},
};
use wayland_protocols::xdg::foreign::zv2::client::{
    zxdg_exported_v2::{self, ZxdgExportedV2},
    zxdg_exporter_v2::ZxdgExporterV2,
    zxdg_imported_v2::ZxdgImportedV2,
    zxdg_importer_v2::ZxdgImporterV2,
};
use wayland_protocols::xdg::shell::client::{
    xdg_surface::{self, XdgSurface},
    xdg_toplevel::{self, XdgToplevel},
    xdg_wm_base::{self, XdgWmBase},
};

const USAGE: &str = "usage: wayland-test-client [--pattern quadrants|solid:RRGGBB] [--size WxH] \
[--animate [--damage band]] [--dialog WxH:RRGGBB] [--dialog-close-on-key] [--fixed] [--fullscreen] [--min-max] \
[--cursor-shape text|pointer|crosshair|wait] \
[--activate-on-leave token|bogus] [--dialog-foreign] [--decoration client|server] \
[--scale buffer|fractional] [--stay-open]";

/// Rows of the inverted band that `--damage band` moves down each frame.
const BAND_ROWS: i32 = 16;
/// How far the band moves per frame.
const BAND_STEP: i32 = 7;

/// Prints one line and flushes at once: tests read stdout through a pipe and
/// wait for specific lines, so nothing may sit in a buffer.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        // A reader that went away must not kill the client mid-test.
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

/// Implements `Dispatch<$iface, ()>` for App; the trait's long signature would
/// otherwise outweigh the handlers themselves.
macro_rules! handle {
    ($iface:ty, |$app:pat_param, $proxy:pat_param, $event:pat_param, $qh:pat_param| $body:block) => {
        impl Dispatch<$iface, ()> for App {
            fn event(
                $app: &mut Self,
                $proxy: &$iface,
                $event: <$iface as Proxy>::Event,
                _: &(),
                _: &Connection,
                $qh: &QueueHandle<Self>,
            ) $body
        }
    };
}

#[derive(Clone, Copy)]
enum Pattern {
    Quadrants,
    Solid(u32),
}

impl Pattern {
    fn parse(name: &str) -> Option<Self> {
        if name == "quadrants" {
            return Some(Self::Quadrants);
        }
        let hex = name.strip_prefix("solid:")?;
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        Some(Self::Solid(
            0xFF00_0000 | u32::from_str_radix(hex, 16).ok()?,
        ))
    }

    fn pixel(self, x: i32, y: i32, w: i32, h: i32) -> u32 {
        match self {
            Self::Solid(c) => c,
            Self::Quadrants => match (x < w / 2, y < h / 2) {
                (true, true) => 0xFFFF_0000,
                (false, true) => 0xFF00_FF00,
                (true, false) => 0xFF00_00FF,
                (false, false) => 0xFFFF_FFFF,
            },
        }
    }
}

struct Args {
    pattern: Pattern,
    size: (i32, i32),
    /// Redraw the whole surface on every frame callback, stamping a frame counter into
    /// pixel (0,0) and printing `commit N NANOSECONDS` (CLOCK_MONOTONIC) per frame.
    animate: bool,
    /// Animate by moving an inverted band over the pattern, damaging only the rows that
    /// changed, instead of inverting the whole buffer each frame.
    band: bool,
    /// A dialog of this fixed size and colour, the main window its parent, opened once
    /// the main window has drawn.
    dialog: Option<((i32, i32), u32)>,
    /// Draw `size` whatever the configure says, as a game of a fixed resolution does.
    fixed: bool,
    /// Ask for fullscreen before the first commit.
    fullscreen: bool,
    /// Set min and max size to `size` before the first commit: a fixed-size window.
    min_max: bool,
    /// Close the dialog when a key is pressed on it.
    dialog_close_on_key: bool,
    /// Ask for this cursor shape (cursor-shape-v1) whenever the pointer enters.
    cursor_shape: Option<Shape>,
    /// When the main window first loses the keyboard, ask to be activated again: with a
    /// token from xdg-activation, or with a made-up one (which must activate nothing).
    activate_on_leave: Option<Activation>,
    /// The dialog's parent is set through xdg-foreign (the main window exported, imported
    /// and made its parent with `set_parent_of`) instead of `set_parent`, and the dialog
    /// sets no min/max size: only its parent makes it a dialog.
    dialog_foreign: bool,
    /// Ask for this xdg-decoration mode and print the mode the compositor answers.
    decoration: Option<zxdg_toplevel_decoration_v1::Mode>,
    /// Follow the output's scale: `wl_surface.preferred_buffer_scale` (a buffer of the
    /// size times that, `set_buffer_scale`), or fractional-scale-v1 (a buffer of the size
    /// times the preferred scale, shown at the size through a viewport).
    scale: Option<ScaleMode>,
    /// Keep running when asked to close (printing `close requested`), as an app with
    /// unsaved work would: for tests where other clients may close windows.
    stay_open: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScaleMode {
    Buffer,
    Fractional,
}

/// How the buffer relates to the surface's size.
enum Scaling {
    /// One buffer pixel per surface unit.
    None,
    /// `set_buffer_scale(factor)`.
    Buffer(i32),
    /// A buffer of the size times `n120 / 120`, through the viewport.
    Fractional { viewport: WpViewport, n120: u32 },
}

impl Scaling {
    fn buffer_size(&self, (w, h): (i32, i32)) -> (i32, i32) {
        match self {
            Self::None => (w, h),
            Self::Buffer(k) => (w * k, h * k),
            Self::Fractional { n120, .. } => {
                let s = |v: i32| ((v as i64 * *n120 as i64 + 60) / 120) as i32;
                (s(w), s(h))
            }
        }
    }

    /// Tells the compositor how the next buffer maps onto a surface of `size`.
    fn apply(&self, surface: &WlSurface, (w, h): (i32, i32)) {
        match self {
            Self::None => {}
            Self::Buffer(k) => surface.set_buffer_scale(*k),
            Self::Fractional { viewport, .. } => viewport.set_destination(w, h),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Activation {
    Token,
    Bogus,
}

/// First row of the band in frame `n` of a `height`-row buffer.
fn band_top(n: u32, height: i32) -> i32 {
    ((n as i64 * BAND_STEP as i64) % (height - BAND_ROWS).max(1) as i64) as i32
}

fn parse_size(s: &str) -> Option<(i32, i32)> {
    let (w, h) = s.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        pattern: Pattern::Quadrants,
        size: (320, 240),
        animate: false,
        band: false,
        dialog: None,
        fixed: false,
        fullscreen: false,
        min_max: false,
        dialog_close_on_key: false,
        cursor_shape: None,
        activate_on_leave: None,
        dialog_foreign: false,
        decoration: None,
        scale: None,
        stay_open: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--pattern" => {
                let v = it.next().ok_or("--pattern needs a value")?;
                args.pattern = Pattern::parse(&v).ok_or(format!("bad pattern: {v}"))?;
            }
            "--animate" => args.animate = true,
            "--fixed" => args.fixed = true,
            "--fullscreen" => args.fullscreen = true,
            "--min-max" => args.min_max = true,
            "--dialog-close-on-key" => args.dialog_close_on_key = true,
            "--cursor-shape" => {
                let v = it.next().ok_or("--cursor-shape needs a value")?;
                args.cursor_shape = Some(match v.as_str() {
                    "text" => Shape::Text,
                    "pointer" => Shape::Pointer,
                    "crosshair" => Shape::Crosshair,
                    "wait" => Shape::Wait,
                    _ => return Err(format!("bad cursor shape: {v}")),
                });
            }
            "--dialog-foreign" => args.dialog_foreign = true,
            "--decoration" => {
                args.decoration = Some(match it.next().as_deref() {
                    Some("client") => zxdg_toplevel_decoration_v1::Mode::ClientSide,
                    Some("server") => zxdg_toplevel_decoration_v1::Mode::ServerSide,
                    other => return Err(format!("bad --decoration: {other:?}")),
                });
            }
            "--stay-open" => args.stay_open = true,
            "--scale" => {
                args.scale = Some(match it.next().as_deref() {
                    Some("buffer") => ScaleMode::Buffer,
                    Some("fractional") => ScaleMode::Fractional,
                    other => return Err(format!("bad --scale: {other:?}")),
                });
            }
            "--activate-on-leave" => {
                args.activate_on_leave = Some(match it.next().as_deref() {
                    Some("token") => Activation::Token,
                    Some("bogus") => Activation::Bogus,
                    other => return Err(format!("bad --activate-on-leave: {other:?}")),
                });
            }
            "--damage" => match it.next().as_deref() {
                Some("band") => args.band = true,
                other => return Err(format!("bad --damage: {other:?} (band)")),
            },
            "--size" => {
                let v = it.next().ok_or("--size needs a value")?;
                args.size = parse_size(&v).ok_or(format!("bad size: {v}"))?;
            }
            "--dialog" => {
                let v = it.next().ok_or("--dialog needs a value")?;
                let parsed = v.split_once(':').and_then(|(size, colour)| {
                    let Pattern::Solid(c) = Pattern::parse(&format!("solid:{colour}"))? else {
                        return None;
                    };
                    Some((parse_size(size)?, c))
                });
                args.dialog = Some(parsed.ok_or(format!("bad dialog: {v} (WxH:RRGGBB)"))?);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

struct App {
    args: Args,
    shm: WlShm,
    surface: WlSurface,
    /// Size from the latest xdg_toplevel.configure; applied on xdg_surface.configure.
    pending_size: (i32, i32),
    drawn: Option<(i32, i32)>,
    buffer: Option<WlBuffer>,
    pointer: Option<WlPointer>,
    keyboard: Option<WlKeyboard>,
    touch: Option<WlTouch>,
    closed: bool,
    /// Set from inside a callback, which cannot return an error itself.
    error: Option<String>,
    animation: Option<Animation>,
    /// The main window's toplevel: a dialog's parent.
    toplevel: Option<XdgToplevel>,
    /// The dialog, once opened: its surface (it draws once, at its own fixed size).
    dialog: Option<WlSurface>,
    /// The dialog's role objects, to close it.
    dialog_roles: Option<(XdgToplevel, XdgSurface)>,
    /// The dialog was closed (`--dialog-close-on-key`): it is not opened again.
    dialog_closed: bool,
    /// Whether the keyboard is on the dialog.
    keyboard_on_dialog: bool,
    /// Bound with `--cursor-shape`.
    cursor_shapes: Option<WpCursorShapeManagerV1>,
    /// `xdg_activation_v1`, if offered (for `--activate-on-leave`).
    activation: Option<XdgActivationV1>,
    /// `--activate-on-leave` has asked once; it does not ask again.
    activation_asked: bool,
    /// `--dialog-foreign`: the importer, and the main window's handle once exported.
    foreign: Option<Foreign>,
    /// How buffers are scaled (`--scale`), from the compositor's latest preference.
    scaling: Scaling,
}

struct Foreign {
    importer: ZxdgImporterV2,
    /// Kept: destroying it would revoke the handle.
    _exported: ZxdgExportedV2,
    handle: Option<String>,
    /// Kept while the dialog lives: destroying it would unset the parent.
    imported: Option<ZxdgImportedV2>,
}

/// Buffers reused in turn for `--animate`; each holds the pattern or its inverse, so
/// consecutive frames differ everywhere while the client only rewrites the counter pixel.
struct Animation {
    /// The buffers' size (the surface's, times the scale).
    size: (i32, i32),
    /// The surface's size.
    logical: (i32, i32),
    /// (buffer, its memory, whether the compositor released it, the frame it holds)
    buffers: Vec<(WlBuffer, File, bool, Option<u32>)>,
    frame: u32,
}

impl App {
    /// Prepares the animation buffers for `size` and commits the first frame.
    fn start_animation(
        &mut self,
        qh: &QueueHandle<Self>,
        logical: (i32, i32),
    ) -> std::io::Result<()> {
        let size = self.scaling.buffer_size(logical);
        if self
            .animation
            .as_ref()
            .is_some_and(|a| a.size == size && a.logical == logical)
        {
            return Ok(());
        }
        let running = self.animation.is_some();
        let (w, h) = size;
        let len = w as usize * h as usize * 4;
        let mut buffers = Vec::new();
        for i in 0..4u32 {
            let invert = if i % 2 == 1 && !self.args.band {
                0x00ff_ffff
            } else {
                0
            };
            let mut pixels = Vec::with_capacity(len);
            for y in 0..h {
                for x in 0..w {
                    pixels.extend_from_slice(
                        &(self.args.pattern.pixel(x, y, w, h) ^ invert).to_le_bytes(),
                    );
                }
            }
            let fd = memfd_create("wayland-test-client", MemfdFlags::CLOEXEC)?;
            ftruncate(&fd, len as u64)?;
            let mut file = File::from(fd);
            file.write_all(&pixels)?;
            let pool = self.shm.create_pool(file.as_fd(), len as i32, qh, ());
            let buffer = pool.create_buffer(0, w, h, w * 4, wl_shm::Format::Argb8888, qh, ());
            pool.destroy();
            buffers.push((buffer, file, true, None));
        }
        if let Some(old) = self.animation.replace(Animation {
            size,
            logical,
            buffers,
            frame: 0,
        }) {
            for (buffer, ..) in old.buffers {
                buffer.destroy();
            }
        }
        say!("drawn {} {}", logical.0, logical.1);
        if !matches!(self.scaling, Scaling::None) {
            say!("drawn buffer {w} {h}");
        }
        // A running animation continues from its pending frame callback.
        if running { Ok(()) } else { self.next_frame(qh) }
    }

    /// Commits the next frame: a free buffer, its counter pixel rewritten, full damage.
    fn next_frame(&mut self, qh: &QueueHandle<Self>) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let Some(animation) = &mut self.animation else {
            return Ok(());
        };
        let Some(slot) = animation.buffers.iter_mut().find(|b| b.2) else {
            // All four are still with the compositor: try again on the next callback.
            self.surface.frame(qh, ());
            self.surface.commit();
            return Ok(());
        };
        animation.frame += 1;
        let n = animation.frame;
        let counter = 0xff00_0000 | (n & 0x00ff_ffff);
        let (w, h) = animation.size;
        if self.args.band {
            // The whole buffer becomes f(n): the rows where it differs from the frame it
            // held are rewritten. Only what differs from f(n - 1) is damaged, below.
            let held = slot.3.map(|m| band_top(m, h));
            let mut rows: Vec<i32> = held
                .into_iter()
                .chain([band_top(n, h)])
                .flat_map(|top| top..top + BAND_ROWS)
                .chain([0])
                .collect();
            rows.sort_unstable();
            rows.dedup();
            for y in rows {
                let row = band_row(self.args.pattern, w, h, n, y);
                slot.1.write_all_at(&row, y as u64 * w as u64 * 4)?;
            }
        } else {
            slot.1.write_all_at(&counter.to_le_bytes(), 0)?;
        }
        slot.2 = false;
        slot.3 = Some(n);
        self.scaling.apply(&self.surface, animation.logical);
        self.surface.attach(Some(&slot.0), 0, 0);
        if self.args.band {
            self.surface.damage_buffer(0, 0, 1, 1);
            for top in [band_top(n - 1, h), band_top(n, h)] {
                self.surface.damage_buffer(0, top, w, BAND_ROWS);
            }
        } else {
            self.surface.damage_buffer(0, 0, w, h);
        }
        self.surface.frame(qh, ());
        self.surface.commit();
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        say!(
            "commit {} {}",
            animation.frame,
            t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
        );
        Ok(())
    }

    fn draw(&mut self, qh: &QueueHandle<Self>, size: (i32, i32)) -> std::io::Result<()> {
        let (w, h) = self.scaling.buffer_size(size);
        let len = w as usize * h as usize * 4;
        let mut pixels = Vec::with_capacity(len);
        for y in 0..h {
            for x in 0..w {
                pixels.extend_from_slice(&self.args.pattern.pixel(x, y, w, h).to_le_bytes());
            }
        }
        // Writing through the fd instead of mapping it keeps this file free of unsafe.
        let fd = memfd_create("wayland-test-client", MemfdFlags::CLOEXEC)?;
        ftruncate(&fd, len as u64)?;
        let mut file = File::from(fd);
        file.write_all(&pixels)?;

        let pool = self.shm.create_pool(file.as_fd(), len as i32, qh, ());
        let buffer = pool.create_buffer(0, w, h, w * 4, wl_shm::Format::Argb8888, qh, ());
        // The buffer keeps the memory alive; neither the pool nor our fd is needed any more.
        pool.destroy();
        drop(file);

        self.scaling.apply(&self.surface, size);
        self.surface.attach(Some(&buffer), 0, 0);
        self.surface.damage_buffer(0, 0, w, h);
        self.surface.commit();
        // The old buffer is no longer attached, so it can go even if unreleased.
        if let Some(old) = self.buffer.replace(buffer) {
            old.destroy();
        }
        self.drawn = Some(size);
        say!("drawn {} {}", size.0, size.1);
        if !matches!(self.scaling, Scaling::None) {
            say!("drawn buffer {w} {h}");
        }
        Ok(())
    }

    /// A new scale from the compositor: the window is drawn again at it.
    fn rescale(&mut self, qh: &QueueHandle<Self>, scaling: Scaling) {
        self.scaling = scaling;
        if let Some(logical) = self.animation.as_ref().map(|a| a.logical) {
            if let Err(e) = self.start_animation(qh, logical) {
                self.error = Some(format!("animating again at a new scale: {e}"));
            }
            return;
        }
        if let Some(size) = self.drawn
            && let Err(e) = self.draw(qh, size)
        {
            self.error = Some(format!("drawing again at a new scale: {e}"));
        }
    }
}

/// Row `y` of frame `n` of `--damage band`: the pattern, rows `band_top(n)..+BAND_ROWS` inverted,
/// and the frame counter in pixel (0, 0). Tests compute the same picture.
fn band_row(pattern: Pattern, w: i32, h: i32, n: u32, y: i32) -> Vec<u8> {
    let top = band_top(n, h);
    let invert = if (top..top + BAND_ROWS).contains(&y) {
        0x00ff_ffff
    } else {
        0
    };
    let mut row = Vec::with_capacity(w as usize * 4);
    for x in 0..w {
        row.extend_from_slice(&(pattern.pixel(x, y, w, h) ^ invert).to_le_bytes());
    }
    if y == 0 {
        row[..4].copy_from_slice(&(0xff00_0000 | (n & 0x00ff_ffff)).to_le_bytes());
    }
    row
}

handle!(XdgSurface, |app, xdg, event, qh| {
    let xdg_surface::Event::Configure { serial } = event else {
        return;
    };
    xdg.ack_configure(serial);
    let (pw, ph) = app.pending_size;
    let size = if app.args.fixed {
        app.args.size
    } else {
        (
            if pw > 0 { pw } else { app.args.size.0 },
            if ph > 0 { ph } else { app.args.size.1 },
        )
    };
    say!("configured {} {}", size.0, size.1);
    let result = if app.args.animate {
        app.start_animation(qh, size)
    } else if app.drawn != Some(size) {
        app.draw(qh, size)
    } else {
        Ok(())
    };
    if let Err(e) = result {
        app.error = Some(format!("drawing {}x{}: {e}", size.0, size.1));
    }
});

/// The states of an `xdg_toplevel.configure`, by name.
fn state_names(states: &[u8]) -> String {
    let names: Vec<&str> = states
        .chunks_exact(4)
        .map(|c| match u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) {
            1 => "maximized",
            2 => "fullscreen",
            3 => "resizing",
            4 => "activated",
            _ => "other",
        })
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(",")
    }
}

handle!(XdgToplevel, |app, _, event, _| {
    match event {
        xdg_toplevel::Event::Configure {
            width,
            height,
            states,
        } => {
            say!(
                "toplevel configure {width} {height} {}",
                state_names(&states)
            );
            app.pending_size = (width, height);
        }
        xdg_toplevel::Event::Close if app.args.stay_open => say!("close requested"),
        xdg_toplevel::Event::Close => app.closed = true,
        _ => {}
    }
});

/// The dialog's own objects carry this tag, to tell them from the main window's.
struct Dialog;

impl Dispatch<XdgSurface, Dialog> for App {
    fn event(
        app: &mut Self,
        xdg: &XdgSurface,
        event: xdg_surface::Event,
        _: &Dialog,
        _: &Connection,
        qh: &QueueHandle<Self>,
    ) {
        let xdg_surface::Event::Configure { serial } = event else {
            return;
        };
        xdg.ack_configure(serial);
        let (Some(surface), Some(((w, h), colour))) = (app.dialog.clone(), app.args.dialog) else {
            return;
        };
        match solid_buffer(&app.shm, qh, w, h, colour) {
            Ok(buffer) => {
                surface.attach(Some(&buffer), 0, 0);
                surface.damage_buffer(0, 0, w, h);
                surface.commit();
                say!("dialog drawn {w} {h}");
            }
            Err(e) => app.error = Some(format!("drawing the dialog: {e}")),
        }
    }
}

impl Dispatch<XdgToplevel, Dialog> for App {
    fn event(
        _: &mut Self,
        _: &XdgToplevel,
        event: xdg_toplevel::Event,
        _: &Dialog,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_toplevel::Event::Configure {
            width,
            height,
            states,
        } = event
        {
            say!("dialog configure {width} {height} {}", state_names(&states));
        }
    }
}

/// A `w`x`h` buffer of one colour.
fn solid_buffer(
    shm: &WlShm,
    qh: &QueueHandle<App>,
    w: i32,
    h: i32,
    colour: u32,
) -> std::io::Result<WlBuffer> {
    let len = w as usize * h as usize * 4;
    let fd = memfd_create("wayland-test-client", MemfdFlags::CLOEXEC)?;
    ftruncate(&fd, len as u64)?;
    let mut file = File::from(fd);
    file.write_all(&colour.to_le_bytes().repeat(w as usize * h as usize))?;
    let pool = shm.create_pool(file.as_fd(), len as i32, qh, ());
    let buffer = pool.create_buffer(0, w, h, w * 4, wl_shm::Format::Argb8888, qh, ());
    pool.destroy();
    Ok(buffer)
}

impl App {
    /// Opens the dialog (once): a toplevel whose parent is the main window, of a fixed size.
    fn open_dialog(&mut self, qh: &QueueHandle<Self>, compositor: &WlCompositor, wm: &XdgWmBase) {
        let (Some(((w, h), _)), None, Some(parent), false) = (
            self.args.dialog,
            &self.dialog,
            &self.toplevel,
            self.dialog_closed,
        ) else {
            return;
        };
        let handle = match &self.foreign {
            Some(foreign) => match &foreign.handle {
                Some(handle) => Some(handle.clone()),
                // Not exported yet: asked again after the next dispatch.
                None => return,
            },
            None => None,
        };
        let surface = compositor.create_surface(qh, ());
        let xdg = wm.get_xdg_surface(&surface, qh, Dialog);
        let toplevel = xdg.get_toplevel(qh, Dialog);
        match (handle, &mut self.foreign) {
            (Some(handle), Some(foreign)) => {
                let imported = foreign.importer.import_toplevel(handle, qh, ());
                imported.set_parent_of(&surface);
                foreign.imported = Some(imported);
            }
            _ => {
                toplevel.set_parent(Some(parent));
                toplevel.set_min_size(w, h);
                toplevel.set_max_size(w, h);
            }
        }
        toplevel.set_title("wayland-test-client dialog".into());
        surface.commit();
        self.dialog = Some(surface);
        self.dialog_roles = Some((toplevel, xdg));
    }

    /// Destroys the dialog (its role objects, then its surface).
    fn close_dialog(&mut self) {
        if let Some((toplevel, xdg)) = self.dialog_roles.take() {
            toplevel.destroy();
            xdg.destroy();
        }
        if let Some(surface) = self.dialog.take() {
            surface.destroy();
        }
        self.dialog_closed = true;
        say!("dialog closed");
    }
}

handle!(WlOutput, |_, _, event, _| {
    if let wl_output::Event::Mode {
        flags: WEnum::Value(flags),
        width,
        height,
        refresh,
    } = event
        && flags.contains(wl_output::Mode::Current)
    {
        say!("output mode {width} {height} {refresh}");
    }
    if let wl_output::Event::Scale { factor } = event {
        say!("output scale {factor}");
    }
});

handle!(XdgWmBase, |_, wm, event, _| {
    if let xdg_wm_base::Event::Ping { serial } = event {
        wm.pong(serial);
    }
});

handle!(WlBuffer, |app, buffer, event, _| {
    if !matches!(event, wl_buffer::Event::Release) {
        return;
    }
    if let Some(animation) = &mut app.animation
        && let Some(slot) = animation.buffers.iter_mut().find(|b| &b.0 == buffer)
    {
        slot.2 = true;
        return;
    }
    // The current buffer stays alive so the compositor may re-read it.
    if app.buffer.as_ref() != Some(buffer) {
        buffer.destroy();
    }
});

handle!(WlCallback, |app, _, event, qh| {
    if matches!(event, wl_callback::Event::Done { .. })
        && let Err(e) = app.next_frame(qh)
    {
        app.error = Some(format!("animating: {e}"));
    }
});

/// Gets or releases a device so our handles follow the seat's capabilities.
fn follow<T: Proxy>(
    slot: &mut Option<T>,
    has: bool,
    get: impl FnOnce() -> T,
    release: impl FnOnce(&T),
) {
    match slot.take() {
        None if has => *slot = Some(get()),
        // The release request only exists from wl_seat v3 on; before, dropping is all we can do.
        Some(dev) if !has && dev.version() >= 3 => release(&dev),
        Some(dev) if has => *slot = Some(dev),
        _ => {}
    }
}

handle!(WlSeat, |app, seat, event, qh| {
    let wl_seat::Event::Capabilities {
        capabilities: WEnum::Value(caps),
    } = event
    else {
        return;
    };
    let has = |c| caps.contains(c);
    follow(
        &mut app.pointer,
        has(Capability::Pointer),
        || seat.get_pointer(qh, ()),
        WlPointer::release,
    );
    follow(
        &mut app.keyboard,
        has(Capability::Keyboard),
        || seat.get_keyboard(qh, ()),
        WlKeyboard::release,
    );
    follow(
        &mut app.touch,
        has(Capability::Touch),
        || seat.get_touch(qh, ()),
        WlTouch::release,
    );
});

fn axis_name(axis: WEnum<Axis>) -> &'static str {
    match axis {
        WEnum::Value(Axis::HorizontalScroll) => "horizontal",
        _ => "vertical",
    }
}

handle!(WlPointer, |app, pointer, event, qh| {
    use wl_pointer::Event as E;
    match event {
        E::Enter {
            serial,
            surface_x: x,
            surface_y: y,
            ..
        } => {
            say!("pointer enter {x:.1} {y:.1}");
            if let (Some(manager), Some(shape)) = (&app.cursor_shapes, app.args.cursor_shape) {
                let device = manager.get_pointer(pointer, qh, ());
                device.set_shape(serial, shape);
                device.destroy();
                say!("cursor shape {shape:?}");
            }
        }
        E::Leave { .. } => say!("pointer leave"),
        E::Motion {
            surface_x: x,
            surface_y: y,
            ..
        } => say!("pointer motion {x:.1} {y:.1}"),
        E::Button { button, state, .. } => {
            let pressed = state == WEnum::Value(ButtonState::Pressed);
            say!(
                "pointer button {button} {}",
                if pressed { "pressed" } else { "released" }
            );
        }
        E::Axis { axis, value, .. } => say!("pointer axis {} {value:.1}", axis_name(axis)),
        E::AxisValue120 { axis, value120 } => {
            say!("pointer axis120 {} {value120}", axis_name(axis))
        }
        _ => {}
    }
});

handle!(WlKeyboard, |app, _, event, qh| {
    use wl_keyboard::Event as E;
    match event {
        // The fd is an OwnedFd and is closed when dropped here.
        E::Keymap { size, .. } => say!("keyboard keymap {size}"),
        E::Enter { surface, .. } => {
            app.keyboard_on_dialog = app.dialog.as_ref() == Some(&surface);
            let which = if app.keyboard_on_dialog {
                "dialog"
            } else {
                "main"
            };
            say!("keyboard enter {which}");
        }
        E::Leave { .. } => {
            say!("keyboard leave");
            if !app.keyboard_on_dialog {
                app.ask_activation(qh);
            }
        }
        E::Key { key, state, .. } => {
            let pressed = state == WEnum::Value(KeyState::Pressed);
            say!("key {key} {}", if pressed { "pressed" } else { "released" });
            if pressed && app.keyboard_on_dialog && app.args.dialog_close_on_key {
                app.close_dialog();
            }
        }
        E::Modifiers {
            mods_depressed,
            mods_latched,
            mods_locked,
            group,
            ..
        } => {
            say!("keyboard modifiers {mods_depressed} {mods_latched} {mods_locked} {group}")
        }
        _ => {}
    }
});

impl App {
    /// `--activate-on-leave`: asks once to have the main window activated again.
    fn ask_activation(&mut self, qh: &QueueHandle<Self>) {
        let (Some(mode), Some(activation), false) = (
            self.args.activate_on_leave,
            &self.activation,
            self.activation_asked,
        ) else {
            return;
        };
        self.activation_asked = true;
        match mode {
            Activation::Token => {
                let token = activation.get_activation_token(qh, ());
                token.set_surface(&self.surface);
                token.set_app_id("wayland-test-client".into());
                token.commit();
            }
            Activation::Bogus => {
                activation.activate("not-a-token-the-compositor-gave".into(), &self.surface);
                say!("activation requested bogus");
            }
        }
    }
}

handle!(XdgActivationTokenV1, |app, token, event, _| {
    if let xdg_activation_token_v1::Event::Done { token: value } = event {
        token.destroy();
        if let Some(activation) = &app.activation {
            activation.activate(value, &app.surface);
            say!("activation requested token");
        }
    }
});

handle!(WlTouch, |_, _, event, _| {
    use wl_touch::Event as E;
    match event {
        E::Down { id, x, y, .. } => say!("touch down {id} {x:.1} {y:.1}"),
        E::Motion { id, x, y, .. } => say!("touch motion {id} {x:.1} {y:.1}"),
        E::Up { id, .. } => say!("touch up {id}"),
        E::Frame => say!("touch frame"),
        E::Cancel => say!("touch cancel"),
        _ => {}
    }
});

impl Dispatch<WlRegistry, GlobalListContents> for App {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: <WlRegistry as Proxy>::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        // Globals appearing later are of no interest.
    }
}

delegate_noop!(App: WlCompositor);
delegate_noop!(App: WpCursorShapeManagerV1);
delegate_noop!(App: ignore WpCursorShapeDeviceV1);
delegate_noop!(App: XdgActivationV1);
delegate_noop!(App: ZxdgExporterV2);
delegate_noop!(App: ZxdgDecorationManagerV1);

handle!(ZxdgToplevelDecorationV1, |_, _, event, _| {
    if let zxdg_toplevel_decoration_v1::Event::Configure { mode } = event {
        let name = match mode {
            WEnum::Value(zxdg_toplevel_decoration_v1::Mode::ServerSide) => "server",
            WEnum::Value(zxdg_toplevel_decoration_v1::Mode::ClientSide) => "client",
            _ => "other",
        };
        say!("decoration {name}");
    }
});
delegate_noop!(App: ZxdgImporterV2);
delegate_noop!(App: ignore ZxdgImportedV2);

handle!(ZxdgExportedV2, |app, _, event, _| {
    if let zxdg_exported_v2::Event::Handle { handle } = event
        && let Some(foreign) = &mut app.foreign
    {
        foreign.handle = Some(handle);
    }
});
delegate_noop!(App: WlShmPool);
delegate_noop!(App: ignore WlShm);
handle!(WlSurface, |app, _, event, qh| {
    if let wl_surface::Event::PreferredBufferScale { factor } = event {
        say!("preferred buffer scale {factor}");
        if app.args.scale == Some(ScaleMode::Buffer) && factor > 0 {
            app.rescale(qh, Scaling::Buffer(factor));
        }
    }
});

handle!(WpFractionalScaleV1, |app, _, event, qh| {
    if let wp_fractional_scale_v1::Event::PreferredScale { scale } = event {
        say!("fractional scale {scale}");
        let viewport = match std::mem::replace(&mut app.scaling, Scaling::None) {
            Scaling::Fractional { viewport, .. } => viewport,
            _ => return,
        };
        app.rescale(
            qh,
            Scaling::Fractional {
                viewport,
                n120: scale,
            },
        );
    }
});
delegate_noop!(App: ignore WpFractionalScaleManagerV1);
delegate_noop!(App: ignore WpViewporter);
delegate_noop!(App: ignore WpViewport);

/// Whether a dispatch error means the compositor went away rather than a bug.
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

    // Version 6 (preferred_buffer_scale) with `--scale buffer`; 4 otherwise, as before.
    let compositor_version = if args.scale == Some(ScaleMode::Buffer) {
        6
    } else {
        4
    };
    let compositor: WlCompositor = globals
        .bind(&qh, 1..=compositor_version, ())
        .map_err(bind_err("wl_compositor"))?;
    let shm: WlShm = globals.bind(&qh, 1..=1, ()).map_err(bind_err("wl_shm"))?;
    let wm: XdgWmBase = globals
        .bind(&qh, 1..=3, ())
        .map_err(bind_err("xdg_wm_base"))?;
    let _seat: WlSeat = globals.bind(&qh, 1..=7, ()).map_err(bind_err("wl_seat"))?;
    // Bound first thing, so its first mode event is what the client learns at start.
    let _output: WlOutput = globals
        .bind(&qh, 1..=4, ())
        .map_err(bind_err("wl_output"))?;

    let cursor_shapes = match args.cursor_shape {
        Some(_) => Some(
            globals
                .bind(&qh, 1..=1, ())
                .map_err(bind_err("wp_cursor_shape_manager_v1"))?,
        ),
        None => None,
    };
    let activation: Option<XdgActivationV1> = globals.bind(&qh, 1..=1, ()).ok();

    let surface = compositor.create_surface(&qh, ());
    // Before the first commit, so the scale is known before the first buffer.
    let (scaling, _fractional) = if args.scale == Some(ScaleMode::Fractional) {
        let manager: WpFractionalScaleManagerV1 = globals
            .bind(&qh, 1..=1, ())
            .map_err(bind_err("wp_fractional_scale_manager_v1"))?;
        let viewporter: WpViewporter = globals
            .bind(&qh, 1..=1, ())
            .map_err(bind_err("wp_viewporter"))?;
        let fractional = manager.get_fractional_scale(&surface, &qh, ());
        let viewport = viewporter.get_viewport(&surface, &qh, ());
        (
            Scaling::Fractional {
                viewport,
                n120: 120,
            },
            Some(fractional),
        )
    } else {
        (Scaling::None, None)
    };
    let xdg = wm.get_xdg_surface(&surface, &qh, ());
    let toplevel = xdg.get_toplevel(&qh, ());
    toplevel.set_title("wayland-test-client".into());
    toplevel.set_app_id("wayland-test-client".into());
    if args.fullscreen {
        toplevel.set_fullscreen(None);
    }
    if args.min_max {
        toplevel.set_min_size(args.size.0, args.size.1);
        toplevel.set_max_size(args.size.0, args.size.1);
    }
    // Kept for the window's life: destroying it would drop the mode.
    let _decoration = match args.decoration {
        Some(mode) => {
            let manager: ZxdgDecorationManagerV1 = globals
                .bind(&qh, 1..=1, ())
                .map_err(bind_err("zxdg_decoration_manager_v1"))?;
            let decoration = manager.get_toplevel_decoration(&toplevel, &qh, ());
            decoration.set_mode(mode);
            Some(decoration)
        }
        None => None,
    };
    // The first commit carries no buffer: it asks the compositor for a configure.
    surface.commit();
    let foreign = if args.dialog_foreign {
        let exporter: ZxdgExporterV2 = globals
            .bind(&qh, 1..=1, ())
            .map_err(bind_err("zxdg_exporter_v2"))?;
        let importer: ZxdgImporterV2 = globals
            .bind(&qh, 1..=1, ())
            .map_err(bind_err("zxdg_importer_v2"))?;
        Some(Foreign {
            importer,
            _exported: exporter.export_toplevel(&surface, &qh, ()),
            handle: None,
            imported: None,
        })
    } else {
        None
    };

    let mut app = App {
        args,
        shm,
        surface,
        pending_size: (0, 0),
        drawn: None,
        buffer: None,
        pointer: None,
        keyboard: None,
        touch: None,
        closed: false,
        error: None,
        animation: None,
        toplevel: Some(toplevel),
        dialog: None,
        dialog_roles: None,
        dialog_closed: false,
        keyboard_on_dialog: false,
        cursor_shapes,
        activation,
        activation_asked: false,
        foreign,
        scaling,
    };
    while !app.closed {
        match queue.blocking_dispatch(&mut app) {
            Ok(_) => {}
            Err(e) if is_disconnect(&e) => break,
            Err(e) => return Err(format!("dispatch: {e}")),
        }
        if let Some(e) = app.error.take() {
            return Err(e);
        }
        if app.drawn.is_some() || app.animation.is_some() {
            app.open_dialog(&qh, &compositor, &wm);
        }
    }
    say!("closed");
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("wayland-test-client: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("wayland-test-client: {msg}");
            ExitCode::FAILURE
        }
    }
}
