//! Clients that send what the protocol forbids, or what no output could show, cost only
//! themselves: each gets the protocol's error (or its request is made harmless), and the
//! compositor goes on drawing a well-behaved client beside it. One test per class of
//! request that used to take the whole compositor down (a panic, a fatal render error or
//! a stall), each sent in-process with wayland-client as a real client would send it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::fs::{MemfdFlags, ftruncate, memfd_create};
use wayland_client::backend::protocol::ProtocolError;
use wayland_client::globals::{GlobalList, GlobalListContents, registry_queue_init};
use wayland_client::protocol::{
    wl_buffer::WlBuffer, wl_callback::WlCallback, wl_compositor::WlCompositor, wl_region::WlRegion,
    wl_registry::WlRegistry, wl_shm, wl_shm::WlShm, wl_shm_pool::WlShmPool,
    wl_subcompositor::WlSubcompositor, wl_subsurface::WlSubsurface, wl_surface::WlSurface,
};
use wayland_client::{Connection, Dispatch, EventQueue, Proxy, QueueHandle, delegate_noop};
use wayland_protocols::wp::viewporter::client::{
    wp_viewport::WpViewport, wp_viewporter::WpViewporter,
};
use wayland_protocols::xdg::shell::client::{
    xdg_popup::XdgPopup,
    xdg_positioner::XdgPositioner,
    xdg_surface::{self, XdgSurface},
    xdg_toplevel::XdgToplevel,
    xdg_wm_base::{self, XdgWmBase},
};
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{DisplayConfig, Frame, RenderTarget, VideoMode, WaylandDisplay};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);
const W: u32 = 320;
const H: u32 = 240;

/// The compositor and a well-behaved client animating full-screen beside the offender.
struct Lobby {
    display: WaylandDisplay,
    _good: gwd_tests::ChildGuard,
    _dir: tempfile::TempDir,
}

impl Lobby {
    fn start() -> Self {
        let dir = gwd_tests::private_dir("gwd-hostile");
        let display = WaylandDisplay::new(DisplayConfig {
            socket: SocketSpec::auto().in_dir(dir.path()),
            render_target: RenderTarget::Software,
            mode: VideoMode {
                width: W,
                height: H,
                refresh_mhz: 60_000,
            },
            ..DisplayConfig::default()
        })
        .unwrap();
        let good = gwd_tests::client(CLIENT, &["--animate"], dir.path(), display.socket_name());
        let lobby = Self {
            display,
            _good: good,
            _dir: dir,
        };
        lobby.assert_good_client_draws("at start");
        lobby
    }

    fn frame(&self) -> Frame {
        self.display
            .frame()
            .unwrap_or_else(|err| panic!("the compositor failed: {err}"))
    }

    /// The good client's frame counter (pixel (0, 0), as `wayland-test-client` stamps it)
    /// advances in the frames the compositor produces: both are alive.
    fn assert_good_client_draws(&self, when: &str) {
        let counter = |f: &Frame| {
            let px = &f.data()[..4];
            u32::from(px[0]) | (u32::from(px[1]) << 8) | (u32::from(px[2]) << 16)
        };
        let started = Instant::now();
        let first = counter(&self.frame());
        while started.elapsed() < WAIT {
            std::thread::sleep(Duration::from_millis(20));
            let now = counter(&self.frame());
            if now != first && now != 0 {
                return;
            }
        }
        panic!("{when}: the good client's frames stopped (counter stuck at {first})");
    }

    fn connect(&self) -> Offender {
        let socket = self.display.runtime_dir().join(self.display.socket_name());
        let stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
        let conn = Connection::from_socket(stream).unwrap();
        let (globals, queue) = registry_queue_init::<App>(&conn).unwrap();
        let qh = queue.handle();
        Offender {
            conn,
            globals,
            queue,
            qh,
        }
    }
}

/// An in-process client about to misbehave.
struct Offender {
    conn: Connection,
    globals: GlobalList,
    queue: EventQueue<App>,
    qh: QueueHandle<App>,
}

impl Offender {
    fn bind<I: Proxy + 'static>(&self, version: u32) -> I
    where
        App: Dispatch<I, ()>,
    {
        self.globals.bind(&self.qh, version..=version, ()).unwrap()
    }

    /// Round trips until the compositor answers with an error or `within` passes, letting
    /// the compositor draw meanwhile (some errors come from drawing).
    fn error_within(&mut self, lobby: &Lobby, within: Duration) -> Option<ProtocolError> {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.queue.roundtrip(&mut App).is_err() {
                break;
            }
            lobby.frame();
            // An error posted while drawing is read before anything more is written: the
            // compositor closes the connection behind it, and a client that writes first
            // gets EPIPE and never reads the error.
            if let Some(guard) = self.conn.prepare_read() {
                let _ = guard.read();
            }
            if self.queue.dispatch_pending(&mut App).is_err() {
                break;
            }
        }
        self.conn.protocol_error()
    }

    fn expect_error(&mut self, lobby: &Lobby, interface: &str, code: u32) -> ProtocolError {
        let err = self
            .error_within(lobby, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no protocol error; expected {interface} error {code}"));
        assert_eq!(
            (err.object_interface.as_str(), err.code),
            (interface, code),
            "{err:?}"
        );
        err
    }

    fn expect_no_error(&mut self, lobby: &Lobby) {
        let err = self.error_within(lobby, Duration::from_millis(300));
        assert!(err.is_none(), "unexpected protocol error {err:?}");
    }

    /// A mapped toplevel showing a `w`x`h` buffer from `memfd`.
    fn window(&mut self, memfd: &OwnedFd, w: i32, h: i32) -> (WlSurface, XdgToplevel) {
        let compositor: WlCompositor = self.bind(5);
        let wm: XdgWmBase = self.bind(5);
        let shm: WlShm = self.bind(1);
        let surface = compositor.create_surface(&self.qh, ());
        let xdg = wm.get_xdg_surface(&surface, &self.qh, ());
        let toplevel = xdg.get_toplevel(&self.qh, ());
        surface.commit();
        self.queue.roundtrip(&mut App).unwrap();
        let pool = shm.create_pool(memfd.as_fd(), w * h * 4, &self.qh, ());
        let buffer = pool.create_buffer(0, w, h, w * 4, wl_shm::Format::Xrgb8888, &self.qh, ());
        surface.attach(Some(&buffer), 0, 0);
        surface.damage_buffer(0, 0, w, h);
        surface.commit();
        self.queue.roundtrip(&mut App).unwrap();
        (surface, toplevel)
    }
}

fn memfd(len: u64, fill: u8) -> OwnedFd {
    let fd = memfd_create("gwd-hostile", MemfdFlags::CLOEXEC).unwrap();
    ftruncate(&fd, len).unwrap();
    let file = std::fs::File::from(fd.try_clone().unwrap());
    std::os::unix::fs::FileExt::write_all_at(&file, &vec![fill; len as usize], 0).unwrap();
    fd
}

struct App;

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

impl Dispatch<XdgWmBase, ()> for App {
    fn event(
        _: &mut Self,
        wm: &XdgWmBase,
        event: xdg_wm_base::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_wm_base::Event::Ping { serial } = event {
            wm.pong(serial);
        }
    }
}

impl Dispatch<XdgSurface, ()> for App {
    fn event(
        _: &mut Self,
        surface: &XdgSurface,
        event: xdg_surface::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_surface::Event::Configure { serial } = event {
            surface.ack_configure(serial);
        }
    }
}

delegate_noop!(App: ignore WlCompositor);
delegate_noop!(App: ignore WlSurface);
delegate_noop!(App: ignore WlRegion);
delegate_noop!(App: ignore WlSubcompositor);
delegate_noop!(App: ignore WlSubsurface);
delegate_noop!(App: ignore WlShm);
delegate_noop!(App: ignore WlShmPool);
delegate_noop!(App: ignore WlBuffer);
delegate_noop!(App: ignore WlCallback);
delegate_noop!(App: ignore XdgPositioner);
delegate_noop!(App: ignore XdgToplevel);
delegate_noop!(App: ignore XdgPopup);
delegate_noop!(App: ignore WpViewporter);
delegate_noop!(App: ignore WpViewport);

#[test]
fn a_subsurface_restacked_against_itself_is_a_bad_surface_error() {
    let lobby = Lobby::start();
    let mut client = lobby.connect();
    let compositor: WlCompositor = client.bind(5);
    let subcompositor: WlSubcompositor = client.bind(1);
    let parent = compositor.create_surface(&client.qh, ());
    let child = compositor.create_surface(&client.qh, ());
    let sub = subcompositor.get_subsurface(&child, &parent, &client.qh, ());
    sub.place_above(&child);
    // wl_subsurface.error.bad_surface = 0
    client.expect_error(&lobby, "wl_subsurface", 0);
    lobby.assert_good_client_draws("after the restack");

    // Below itself, too; and restacking against the parent stays valid.
    let mut client = lobby.connect();
    let compositor: WlCompositor = client.bind(5);
    let subcompositor: WlSubcompositor = client.bind(1);
    let parent = compositor.create_surface(&client.qh, ());
    let child = compositor.create_surface(&client.qh, ());
    let sub = subcompositor.get_subsurface(&child, &parent, &client.qh, ());
    sub.place_below(&parent);
    sub.place_above(&parent);
    client.expect_no_error(&lobby);
    sub.place_below(&child);
    client.expect_error(&lobby, "wl_subsurface", 0);
    lobby.assert_good_client_draws("after the second restack");
}

#[test]
fn a_pool_shrunk_under_a_shown_buffer_costs_its_client_not_the_frame() {
    let lobby = Lobby::start();
    let mut client = lobby.connect();
    let (w, h) = (64, 48);
    let fd = memfd((w * h * 4) as u64, 0x80);
    let (surface, _toplevel) = client.window(&fd, w, h);
    // The offender's window is shown (on top of the good client: grey in the middle of the
    // output, where the window policy centres a window that draws smaller than the
    // output).
    let started = Instant::now();
    while lobby
        .frame()
        .pixel(W / 2, H / 2)
        .map(|p| [p[0], p[1], p[2]])
        != Some([0x80; 3])
    {
        assert!(
            started.elapsed() < WAIT,
            "the offender's window never showed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The pool loses its pages, and the client says the buffer changed.
    ftruncate(&fd, 0).unwrap();
    surface.damage_buffer(0, 0, w, h);
    surface.commit();
    // wl_shm.error.invalid_fd = 2, on the buffer that could not be read.
    client.expect_error(&lobby, "wl_buffer", 2);
    lobby.assert_good_client_draws("after the shrunk pool");
}

#[test]
fn negative_sizes_get_invalid_size_and_negative_rectangles_are_harmless() {
    let lobby = Lobby::start();

    for (min, expected) in [(true, "min"), (false, "max")] {
        let mut client = lobby.connect();
        let compositor: WlCompositor = client.bind(5);
        let wm: XdgWmBase = client.bind(5);
        let surface = compositor.create_surface(&client.qh, ());
        let xdg = wm.get_xdg_surface(&surface, &client.qh, ());
        let toplevel = xdg.get_toplevel(&client.qh, ());
        if min {
            toplevel.set_min_size(-1, -1);
        } else {
            toplevel.set_max_size(-100, 5);
        }
        // xdg_toplevel.error.invalid_size = 2
        let err = client.expect_error(&lobby, "xdg_toplevel", 2);
        assert!(err.message.contains(expected), "{err:?}");
    }

    let mut client = lobby.connect();
    let compositor: WlCompositor = client.bind(5);
    let wm: XdgWmBase = client.bind(5);
    let surface = compositor.create_surface(&client.qh, ());
    let xdg = wm.get_xdg_surface(&surface, &client.qh, ());
    let _toplevel = xdg.get_toplevel(&client.qh, ());
    xdg.set_window_geometry(0, 0, -10, -10);
    // xdg_surface.error.invalid_size = 5
    client.expect_error(&lobby, "xdg_surface", 5);

    // Regions and damage have no error: negative rectangles hold nothing, and values far
    // outside any output are clamped, on a window that is drawn.
    let mut client = lobby.connect();
    let fd = memfd(32 * 32 * 4, 0x40);
    let (surface, _toplevel) = client.window(&fd, 32, 32);
    let compositor: WlCompositor = client.bind(5);
    let region = compositor.create_region(&client.qh, ());
    region.add(0, 0, -5, -5);
    region.add(i32::MAX, i32::MAX, i32::MAX, i32::MAX);
    region.subtract(i32::MIN, i32::MIN, 1, -1);
    surface.set_opaque_region(Some(&region));
    surface.set_input_region(Some(&region));
    surface.damage(0, 0, -5, -5);
    surface.damage(i32::MIN, i32::MIN, i32::MAX, i32::MAX);
    surface.damage_buffer(i32::MAX, i32::MAX, i32::MAX, i32::MAX);
    surface.offset(i32::MAX, i32::MIN);
    surface.commit();
    client.expect_no_error(&lobby);
    // Its window covers the good client's counter: it leaves, and the good client shows.
    drop(client);
    lobby.assert_good_client_draws("after negative sizes");
}

#[test]
fn positioner_values_beyond_any_output_get_invalid_input() {
    let lobby = Lobby::start();
    type Misuse = fn(&XdgPositioner);
    let cases: [(&str, Misuse); 4] = [
        ("anchor rect", |p| {
            p.set_anchor_rect(i32::MAX - 5, 0, 10, 10)
        }),
        ("offset", |p| p.set_offset(i32::MAX, i32::MIN)),
        ("size", |p| p.set_size(i32::MAX, 1)),
        ("anchor rect size", |p| {
            p.set_anchor_rect(0, 0, i32::MAX, i32::MAX)
        }),
    ];
    for (what, misuse) in cases {
        let mut client = lobby.connect();
        let fd = memfd(32 * 32 * 4, 0x40);
        let (parent, _toplevel) = client.window(&fd, 32, 32);
        let wm: XdgWmBase = client.bind(5);
        let compositor: WlCompositor = client.bind(5);
        let positioner = wm.create_positioner(&client.qh, ());
        positioner.set_size(10, 10);
        positioner.set_anchor_rect(0, 0, 1, 1);
        misuse(&positioner);
        // A popup placed by it: the placement is where the arithmetic overflowed.
        let popup_surface = compositor.create_surface(&client.qh, ());
        let popup_xdg = wm.get_xdg_surface(&popup_surface, &client.qh, ());
        let parent_xdg = wm.get_xdg_surface(&parent, &client.qh, ());
        let _popup = popup_xdg.get_popup(Some(&parent_xdg), &positioner, &client.qh, ());
        popup_surface.commit();
        // xdg_positioner.error.invalid_input = 0
        let err = client.expect_error(&lobby, "xdg_positioner", 0);
        assert!(err.message.contains("within"), "{what}: {err:?}");
    }
    lobby.assert_good_client_draws("after hostile positioners");
}

#[test]
fn a_client_past_the_surface_limit_is_disconnected_and_its_teardown_is_quick() {
    let lobby = Lobby::start();
    let mut client = lobby.connect();
    let compositor: WlCompositor = client.bind(5);
    let mut surfaces = Vec::new();
    // The default limit is 4096; a client used to be able to make 100 000 and stall the
    // compositor for seconds when it left.
    // In batches small enough to be written at once, each followed by a round trip: a
    // client that goes on writing after its error gets EPIPE and never reads the error.
    while surfaces.len() < 100_000 {
        for _ in 0..256 {
            surfaces.push(compositor.create_surface(&client.qh, ()));
        }
        if client.queue.roundtrip(&mut App).is_err() {
            break;
        }
    }
    let started = Instant::now();
    let err = client.expect_error(&lobby, "wl_display", 2);
    assert!(err.message.contains("wl_surface"), "{err:?}");
    assert!(err.message.contains("4096"), "{err:?}");
    // The compositor tore the client's surfaces down in time for the next frames.
    lobby.assert_good_client_draws("after the surface flood");
    eprintln!(
        "4096 surfaces: error to the good client's next frame in {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "teardown stalled the compositor for {:?}",
        started.elapsed()
    );
    drop(surfaces);
}

#[test]
fn shm_pool_misuse_gets_wl_shm_errors_and_mapping_limits() {
    let lobby = Lobby::start();
    let fd = memfd(4096, 0);

    // A resize to zero (Smithay unwrapped it as a non-zero size).
    let mut client = lobby.connect();
    let shm: WlShm = client.bind(1);
    let pool = shm.create_pool(fd.as_fd(), 4096, &client.qh, ());
    pool.resize(0);
    // wl_shm.error.invalid_fd = 2
    client.expect_error(&lobby, "wl_shm_pool", 2);

    // A pool larger than one client may map.
    let mut client = lobby.connect();
    let shm: WlShm = client.bind(1);
    let _pool = shm.create_pool(fd.as_fd(), i32::MAX, &client.qh, ());
    let err = client.expect_error(&lobby, "wl_display", 2);
    assert!(err.message.contains("wl_shm_pool size"), "{err:?}");

    // More pools and buffers than one client may hold mapped.
    let mut client = lobby.connect();
    let shm: WlShm = client.bind(1);
    let mut pools = Vec::new();
    // One sendmsg carries at most 28 descriptors: batches of 25 go at once (see above).
    while pools.len() < 2000 {
        for _ in 0..25 {
            pools.push(shm.create_pool(fd.as_fd(), 4096, &client.qh, ()));
        }
        if client.queue.roundtrip(&mut App).is_err() {
            break;
        }
    }
    let err = client.expect_error(&lobby, "wl_display", 2);
    assert!(err.message.contains("wl_shm pools and buffers"), "{err:?}");
    lobby.assert_good_client_draws("after shm misuse");
}

#[test]
fn a_viewport_destination_beyond_any_output_is_clamped() {
    let lobby = Lobby::start();
    let mut client = lobby.connect();
    let fd = memfd(32 * 32 * 4, 0x40);
    let (parent, _toplevel) = client.window(&fd, 32, 32);
    let compositor: WlCompositor = client.bind(5);
    let subcompositor: WlSubcompositor = client.bind(1);
    let shm: WlShm = client.bind(1);
    let viewporter: WpViewporter = client.bind(1);
    // A subsurface away from its parent's origin, scaled to the largest size there is:
    // its geometry (position + size) used to overflow.
    let child = compositor.create_surface(&client.qh, ());
    let sub = subcompositor.get_subsurface(&child, &parent, &client.qh, ());
    sub.set_position(100, 100);
    sub.set_desync();
    let viewport = viewporter.get_viewport(&child, &client.qh, ());
    viewport.set_destination(i32::MAX, i32::MAX);
    let pool = shm.create_pool(fd.as_fd(), 32 * 32 * 4, &client.qh, ());
    let buffer = pool.create_buffer(0, 32, 32, 128, wl_shm::Format::Xrgb8888, &client.qh, ());
    child.attach(Some(&buffer), 0, 0);
    child.damage_buffer(0, 0, 32, 32);
    child.commit();
    parent.commit();
    client.expect_no_error(&lobby);
    drop(client);
    lobby.assert_good_client_draws("after a huge viewport");
}
