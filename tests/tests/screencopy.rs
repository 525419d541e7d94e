//! Screen capture through `zwlr_screencopy_manager_v1` (`comp/handlers/screencopy.rs`):
//! Debian's `grim` writes the lobby as a PNG (whole, a region, with and without the
//! cursor), a raw client that breaks the protocol gets its errors while the lobby goes on,
//! and without privileged protocols there is nothing to capture with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gwd_tests::rawwire::{Ending, ProtocolError, RawClient, request, string_words};
use gwd_tests::{Decoded, Lobby, decode_rgb};
use waylanddisplaycore::socket::SocketSpec;
use waylanddisplaycore::{DisplayConfig, RenderTarget, VideoMode, WaylandDisplay};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);

const BLACK: (u8, u8, u8) = (0, 0, 0);
const RED: (u8, u8, u8) = (255, 0, 0);
const GREEN: (u8, u8, u8) = (0, 255, 0);
const BLUE: (u8, u8, u8) = (0, 0, 255);
const WHITE: (u8, u8, u8) = (255, 255, 255);

fn caps(format: &str) -> String {
    format!("video/x-raw,format={format},width=640,height=480,framerate=30/1")
}

/// A lobby showing the test client's quadrants at 200x100, centred on black: from
/// (220, 190) to (420, 290), red | green over blue | white, split at (320, 240).
fn lobby_with_quadrants(format: &str) -> (Lobby, gwd_tests::ChildGuard) {
    let lobby = Lobby::start("render-node=software", &caps(format));
    let client = lobby.client(CLIENT, &["--min-max", "--size", "200x100"]);
    client.expect_line(WAIT, "drawn 200 100");
    lobby.frame_until(WAIT, |f| f.rgb(221, 191) == RED);
    (lobby, client)
}

/// Runs `grim ARGS… FILE` on the socket; the decoded PNG, or grim's output on failure.
fn grim(dir: &Path, socket: &str, args: &[&str]) -> Result<Decoded, String> {
    let out_dir = gwd_tests::private_dir("gwd-grim");
    let png: PathBuf = out_dir.path().join("out.png");
    let mut cmd = Command::new("grim");
    cmd.args(args)
        .arg(&png)
        .env("WAYLAND_DISPLAY", socket)
        .env("XDG_RUNTIME_DIR", dir);
    let out = gwd_tests::run(cmd, WAIT);
    if !out.status.success() {
        assert!(!png.exists(), "grim failed but wrote {}", png.display());
        return Err(out.all());
    }
    Ok(decode_rgb(&png))
}

fn assert_pixels(png: &Decoded, what: &str, expected: &[(usize, usize, (u8, u8, u8))]) {
    for &(x, y, colour) in expected {
        assert_eq!(png.pixel(x, y), colour, "{what} at ({x},{y})");
    }
}

#[test]
fn grim_writes_the_output_as_the_client_drew_it() {
    let (lobby, _client) = lobby_with_quadrants("BGRx");
    let png = grim(&lobby.dir, &lobby.socket, &[]).unwrap();
    assert_eq!(png.size(), (640, 480));
    assert_pixels(
        &png,
        "the whole output",
        &[
            (220, 190, RED),
            (319, 239, RED),
            (320, 190, GREEN),
            (419, 239, GREEN),
            (220, 240, BLUE),
            (319, 289, BLUE),
            (320, 240, WHITE),
            (419, 289, WHITE),
            // Centred on black.
            (0, 0, BLACK),
            (219, 240, BLACK),
            (420, 240, BLACK),
            (320, 189, BLACK),
            (320, 290, BLACK),
            (639, 479, BLACK),
        ],
    );
    // The lobby streams on.
    lobby.frame_until(WAIT, |f| f.rgb(419, 289) == WHITE);
}

#[test]
fn grim_captures_a_region_clamped_to_the_output() {
    // RGBx output: the copy swaps red and blue into the buffer's XRGB8888.
    let (lobby, _client) = lobby_with_quadrants("RGBx");
    let png = grim(&lobby.dir, &lobby.socket, &["-g", "310,230 20x20"]).unwrap();
    assert_eq!(png.size(), (20, 20));
    assert_pixels(
        &png,
        "the region around the centre",
        &[
            (0, 0, RED),
            (9, 9, RED),
            (10, 0, GREEN),
            (19, 9, GREEN),
            (0, 10, BLUE),
            (9, 19, BLUE),
            (10, 10, WHITE),
            (19, 19, WHITE),
        ],
    );
    // Reaching past the bottom right corner (grim keeps the size it asked for).
    let png = grim(&lobby.dir, &lobby.socket, &["-g", "410,280 400x400"]).unwrap();
    assert_pixels(
        &png,
        "the region over the corner",
        &[
            (0, 0, WHITE),
            (9, 9, WHITE),
            (10, 10, BLACK),
            (229, 199, BLACK),
        ],
    );
}

#[test]
fn grim_draws_the_cursor_only_when_asked() {
    let (lobby, _client) = lobby_with_quadrants("BGRx");
    // The pointer over the red quadrant: the arrow's tip at (250, 200), its white inside
    // from (251, 202) down.
    assert!(
        lobby.send_input(
            gst::Structure::builder("MouseMoveAbsolute")
                .field("pointer_x", 250.0)
                .field("pointer_y", 200.0)
                .build()
        )
    );
    lobby.frame_until(WAIT, |f| f.rgb(251, 205) == WHITE);
    let arrow = [(250, 200, BLACK), (250, 205, BLACK), (251, 205, WHITE)];
    let with = grim(&lobby.dir, &lobby.socket, &["-c"]).unwrap();
    assert_pixels(&with, "with -c", &arrow);
    let without = grim(&lobby.dir, &lobby.socket, &[]).unwrap();
    assert_pixels(
        &without,
        "without -c",
        &[(250, 200, RED), (250, 205, RED), (251, 205, RED)],
    );
    // The stream keeps its cursor after a capture without it.
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        let frame = lobby.frame_until(WAIT, |_| true);
        assert_eq!(frame.rgb(251, 205), WHITE, "the stream lost its cursor");
    }
    let again = grim(&lobby.dir, &lobby.socket, &["-c"]).unwrap();
    assert_pixels(&again, "with -c again", &arrow);
}

/// A raw client bound to `wl_shm` (4), `wl_output` (5) and the screencopy manager (6).
struct Capturer {
    raw: RawClient,
    globals: Vec<(u32, String, u32)>,
    next_id: u32,
    /// The pool's backing file, `POOL_BYTES` long, as pool 7.
    file: std::fs::File,
}

const POOL_BYTES: u32 = 640 * 480 * 4;
const SHM: u32 = 4;
const OUTPUT: u32 = 5;
const MANAGER: u32 = 6;
const POOL: u32 = 7;
// zwlr_screencopy_frame_v1 events and errors.
const BUFFER: u16 = 0;
const READY: u16 = 2;
const FAILED: u16 = 3;
const DAMAGE: u16 = 4;
const BUFFER_DONE: u16 = 6;
const ALREADY_USED: u32 = 0;
const INVALID_BUFFER: u32 = 1;
const XRGB8888: u32 = 1;

impl Capturer {
    fn connect(lobby: &Lobby) -> Self {
        let mut raw = RawClient::connect(&lobby.dir, &lobby.socket);
        let globals = raw.globals(2, 3, WAIT);
        let name_of = |wanted: &str| {
            globals
                .iter()
                .find(|(_, interface, _)| interface == wanted)
                .unwrap_or_else(|| panic!("no {wanted} global"))
                .0
        };
        for (interface, version, id) in [
            ("wl_shm", 1, SHM),
            ("wl_output", 1, OUTPUT),
            ("zwlr_screencopy_manager_v1", 3, MANAGER),
        ] {
            let mut bind = vec![name_of(interface)];
            bind.extend(string_words(interface));
            bind.extend([version, id]);
            raw.send(&request(2, 0, &bind), &[]).unwrap();
        }
        let file = tempfile::tempfile().unwrap();
        file.set_len(u64::from(POOL_BYTES)).unwrap();
        // wl_shm.create_pool(new id, fd, size)
        raw.send(&request(SHM, 0, &[POOL, POOL_BYTES]), &[file.as_fd()])
            .unwrap();
        Self {
            raw,
            globals,
            next_id: POOL,
            file,
        }
    }

    /// Binds the global `interface` at `version` as a new object.
    fn bind(&mut self, interface: &str, version: u32) -> u32 {
        let name = self
            .globals
            .iter()
            .find(|(_, i, _)| i == interface)
            .unwrap_or_else(|| panic!("no {interface} global"))
            .0;
        let id = self.id();
        let mut bind = vec![name];
        bind.extend(string_words(interface));
        bind.extend([version, id]);
        self.raw.send(&request(2, 0, &bind), &[]).unwrap();
        id
    }

    /// The events of `object` until one with an opcode in `last` (included).
    fn events_until(&mut self, object: u32, last: &[u16]) -> Vec<(u16, Vec<u32>)> {
        let deadline = Instant::now() + WAIT;
        let mut events = Vec::new();
        while let Some(event) = self.raw.next_event(deadline) {
            if event.object == 1 && event.opcode == 0 {
                panic!("protocol error: {:?}", event.string(2));
            }
            if event.object != object {
                continue;
            }
            let words = (0..event.body.len() / 4).map(|i| event.word(i).unwrap());
            events.push((event.opcode, words.collect()));
            if last.contains(&event.opcode) {
                return events;
            }
        }
        panic!("no event {last:?} of {object} within {WAIT:?}; got {events:?}");
    }

    /// The pixel at (x, y) of the pool's first 640-pixel-wide XRGB8888 buffer, as RGB.
    fn pool_pixel(&self, x: u64, y: u64) -> (u8, u8, u8) {
        use std::os::unix::fs::FileExt;
        let mut px = [0u8; 4];
        self.file.read_exact_at(&mut px, (y * 640 + x) * 4).unwrap();
        (px[2], px[1], px[0])
    }

    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// `wl_shm_pool.create_buffer` at offset 0 in XRGB8888.
    fn buffer(&mut self, width: u32, height: u32) -> u32 {
        let id = self.id();
        let args = [id, 0, width, height, width * 4, XRGB8888];
        self.raw.send(&request(POOL, 0, &args), &[]).unwrap();
        id
    }

    /// `capture_output` (no cursor), then its `buffer` events up to `buffer_done`: the
    /// frame and the (format, width, height, stride) offered.
    fn capture(&mut self) -> (u32, Vec<[u32; 4]>) {
        let frame = self.id();
        self.raw
            .send(&request(MANAGER, 0, &[frame, 0, OUTPUT]), &[])
            .unwrap();
        self.offers(frame)
    }

    /// `capture_output_region` (no cursor), and its offers as [`Self::capture`]'s.
    fn capture_region(&mut self, x: i32, y: i32, w: i32, h: i32) -> (u32, Vec<[u32; 4]>) {
        let frame = self.id();
        let args = [frame, 0, OUTPUT]
            .into_iter()
            .chain([x, y, w, h].map(|v| v as u32));
        let args: Vec<u32> = args.collect();
        self.raw.send(&request(MANAGER, 1, &args), &[]).unwrap();
        self.offers(frame)
    }

    fn offers(&mut self, frame: u32) -> (u32, Vec<[u32; 4]>) {
        let deadline = Instant::now() + WAIT;
        let mut offered = Vec::new();
        while let Some(event) = self.raw.next_event(deadline) {
            match (event.object == frame, event.opcode) {
                (true, BUFFER) => offered.push([0, 1, 2, 3].map(|i| event.word(i).unwrap())),
                (true, BUFFER_DONE) => return (frame, offered),
                // A region off the output: nothing to offer.
                (true, FAILED) if offered.is_empty() => return (frame, offered),
                (true, other) => panic!("frame event {other} before buffer_done"),
                _ if event.object == 1 && event.opcode == 0 => {
                    panic!("protocol error: {:?}", event.string(2))
                }
                _ => {}
            }
        }
        panic!("no buffer_done within {WAIT:?}");
    }

    /// The next event of `frame` other than `flags`/`damage` (`ready` or `failed`).
    fn outcome(&mut self, frame: u32) -> Option<u16> {
        let deadline = Instant::now() + WAIT;
        while let Some(event) = self.raw.next_event(deadline) {
            if event.object == frame && matches!(event.opcode, READY | FAILED) {
                return Some(event.opcode);
            }
        }
        None
    }

    fn expect_error(&mut self, object: u32, code: u32, needle: &str) {
        match self.raw.ending(WAIT) {
            Ending::Error(ProtocolError {
                object: o,
                code: c,
                message,
            }) if o == object && c == code && message.contains(needle) => {}
            other => panic!("expected error {code} on {object} ({needle:?}), got {other:?}"),
        }
    }
}

#[test]
fn a_raw_client_gets_the_protocol_and_its_errors_and_the_lobby_goes_on() {
    let (lobby, _client) = lobby_with_quadrants("BGRx");

    // The offer: the output's size in XRGB8888, tightly packed.
    let mut good = Capturer::connect(&lobby);
    let (frame, offered) = good.capture();
    assert_eq!(offered, [[1, 640, 480, 2560]]);
    let buffer = good.buffer(640, 480);
    good.raw.send(&request(frame, 0, &[buffer]), &[]).unwrap();
    assert_eq!(good.outcome(frame), Some(READY));
    // Regions are clamped to the output; one that misses it fails at once.
    let (_, offered) = good.capture_region(600, 400, 100, 100);
    assert_eq!(offered, [[1, 40, 80, 160]]);
    let (_, offered) = good.capture_region(-50, -50, 60, 70);
    assert_eq!(offered, [[1, 10, 20, 40]]);
    let (_, offered) = good.capture_region(640, 0, 10, 10);
    assert!(offered.is_empty());
    let (_, offered) = good.capture_region(0, 0, -5, 10);
    assert!(offered.is_empty());
    // A second copy of the same frame.
    good.raw.send(&request(frame, 0, &[buffer]), &[]).unwrap();
    good.expect_error(frame, ALREADY_USED, "already");

    // A buffer too small for the frame.
    let mut small = Capturer::connect(&lobby);
    let (frame, _) = small.capture();
    let buffer = small.buffer(10, 10);
    small.raw.send(&request(frame, 0, &[buffer]), &[]).unwrap();
    small.expect_error(frame, INVALID_BUFFER, "10x10");

    // The buffer destroyed before the copy is served: `failed`, and nothing else.
    let mut gone = Capturer::connect(&lobby);
    let (frame, _) = gone.capture();
    let buffer = gone.buffer(640, 480);
    let copy_then_destroy = [request(frame, 0, &[buffer]), request(buffer, 0, &[])].concat();
    gone.raw.send(&copy_then_destroy, &[]).unwrap();
    assert_eq!(gone.outcome(frame), Some(FAILED));
    // The frame destroyed before the copy is served: no answer, no harm.
    let (frame, _) = gone.capture();
    let buffer = gone.buffer(640, 480);
    let copy_then_destroy = [request(frame, 0, &[buffer]), request(frame, 1, &[])].concat();
    gone.raw.send(&copy_then_destroy, &[]).unwrap();
    assert!(gone.raw.roundtrip(3, WAIT), "the client was dropped");

    // Copies waiting for damage are bounded per client: the fifth of one batch fails at
    // once (the picture is still, so the first four wait).
    let mut hoarder = Capturer::connect(&lobby);
    let buffer = hoarder.buffer(640, 480);
    let frames: Vec<u32> = (0..5).map(|_| hoarder.capture().0).collect();
    let batch: Vec<u8> = frames
        .iter()
        .flat_map(|&frame| request(frame, 2, &[buffer]))
        .collect();
    hoarder.raw.send(&batch, &[]).unwrap();
    assert_eq!(hoarder.outcome(frames[4]), Some(FAILED));
    assert!(hoarder.raw.roundtrip(3, WAIT), "the hoarder was dropped");

    // The lobby goes on: streaming, and capturing for others.
    lobby.frame_until(WAIT, |f| f.rgb(419, 289) == WHITE);
    let png = grim(&lobby.dir, &lobby.socket, &[]).unwrap();
    assert_eq!(png.pixel(220, 190), RED);
}

#[test]
fn a_pool_truncated_under_its_buffer_gets_the_shm_error_and_the_lobby_goes_on() {
    let (lobby, _client) = lobby_with_quadrants("BGRx");
    let mut shrinker = Capturer::connect(&lobby);
    let (frame, _) = shrinker.capture();
    let buffer = shrinker.buffer(640, 480);
    assert!(shrinker.raw.roundtrip(3, WAIT));
    // The mapping keeps its size; writing past the file's new end faults.
    shrinker.file.set_len(0).unwrap();
    shrinker
        .raw
        .send(&request(frame, 0, &[buffer]), &[])
        .unwrap();
    const WL_SHM_INVALID_FD: u32 = 2;
    shrinker.expect_error(buffer, WL_SHM_INVALID_FD, "pool");

    lobby.frame_until(WAIT, |f| f.rgb(419, 289) == WHITE);
    let png = grim(&lobby.dir, &lobby.socket, &[]).unwrap();
    assert_eq!(png.pixel(220, 190), RED);
}

#[test]
fn copy_with_damage_waits_for_the_picture_to_change() {
    let (lobby, _client) = lobby_with_quadrants("BGRx");
    let mut recorder = Capturer::connect(&lobby);
    let (frame, _) = recorder.capture();
    let buffer = recorder.buffer(640, 480);
    recorder
        .raw
        .send(&request(frame, 2, &[buffer]), &[])
        .unwrap();
    // A still picture: the copy waits, however many frames the stream repeats meanwhile.
    let still_until = Instant::now() + Duration::from_millis(500);
    while let Some(event) = recorder.raw.next_event(still_until) {
        assert_ne!(event.object, frame, "served without a change: {event:?}");
    }
    // The cursor appears: damage (all of the region), then ready.
    assert!(
        lobby.send_input(
            gst::Structure::builder("MouseMoveAbsolute")
                .field("pointer_x", 100.0)
                .field("pointer_y", 100.0)
                .build()
        )
    );
    let deadline = Instant::now() + WAIT;
    let mut events = Vec::new();
    while let Some(event) = recorder.raw.next_event(deadline) {
        if event.object != frame {
            continue;
        }
        events.push(event.opcode);
        match event.opcode {
            DAMAGE => assert_eq!(
                [0, 1, 2, 3].map(|i| event.word(i).unwrap()),
                [0, 0, 640, 480]
            ),
            READY | FAILED => break,
            _ => {}
        }
    }
    // flags, damage, ready
    assert_eq!(events, [1, DAMAGE, READY]);
}

// ext-image-copy-capture: requests and events by opcode.
const CREATE_SOURCE: u16 = 0;
const CREATE_SESSION: u16 = 0;
const CREATE_FRAME: u16 = 0;
const FRAME_DESTROY: u16 = 0;
const ATTACH_BUFFER: u16 = 1;
const DAMAGE_BUFFER: u16 = 2;
const CAPTURE: u16 = 3;
const SESSION_DONE: u16 = 4;
const SESSION_STOPPED: u16 = 5;
const EXT_READY: u16 = 3;
const EXT_FAILED: u16 = 4;

/// An ext-image-copy-capture session of the output: its id and its constraints' events.
fn ext_session(capturer: &mut Capturer, options: u32) -> (u32, Vec<(u16, Vec<u32>)>) {
    let sources = capturer.bind("ext_output_image_capture_source_manager_v1", 1);
    let manager = capturer.bind("ext_image_copy_capture_manager_v1", 1);
    let source = capturer.id();
    capturer
        .raw
        .send(&request(sources, CREATE_SOURCE, &[source, OUTPUT]), &[])
        .unwrap();
    let session = capturer.id();
    let args = [session, source, options];
    capturer
        .raw
        .send(&request(manager, CREATE_SESSION, &args), &[])
        .unwrap();
    let events = capturer.events_until(session, &[SESSION_DONE, SESSION_STOPPED]);
    (session, events)
}

/// A frame of `session` with `buffer` attached and captured.
fn ext_capture(capturer: &mut Capturer, session: u32, buffer: u32) -> u32 {
    let frame = capturer.id();
    let batch = [
        request(session, CREATE_FRAME, &[frame]),
        request(frame, ATTACH_BUFFER, &[buffer]),
        request(frame, DAMAGE_BUFFER, &[0, 0, 640, 480]),
        request(frame, CAPTURE, &[]),
    ]
    .concat();
    capturer.raw.send(&batch, &[]).unwrap();
    frame
}

#[test]
fn ext_image_copy_capture_copies_the_output_then_waits_for_changes() {
    let (lobby, _client) = lobby_with_quadrants("RGBx");
    let mut capturer = Capturer::connect(&lobby);
    let (session, constraints) = ext_session(&mut capturer, 0);
    // buffer_size, shm_format XRGB8888, done.
    assert_eq!(
        constraints,
        [
            (0, vec![640, 480]),
            (1, vec![XRGB8888]),
            (SESSION_DONE, vec![])
        ]
    );
    let buffer = capturer.buffer(640, 480);
    let frame = ext_capture(&mut capturer, session, buffer);
    let events = capturer.events_until(frame, &[EXT_READY, EXT_FAILED]);
    let opcodes: Vec<u16> = events.iter().map(|(op, _)| *op).collect();
    // transform, damage (all of it), presentation_time, ready.
    assert_eq!(opcodes, [0, 1, 2, EXT_READY]);
    assert_eq!(events[0].1, [0]);
    assert_eq!(events[1].1, [0, 0, 640, 480]);
    for (x, y, colour) in [
        (220, 190, RED),
        (320, 190, GREEN),
        (220, 240, BLUE),
        (419, 289, WHITE),
        (0, 0, BLACK),
        (219, 240, BLACK),
    ] {
        assert_eq!(capturer.pool_pixel(x, y), colour, "at ({x},{y})");
    }

    // The next frame waits for a change.
    capturer
        .raw
        .send(&request(frame, FRAME_DESTROY, &[]), &[])
        .unwrap();
    let frame = ext_capture(&mut capturer, session, buffer);
    let still_until = Instant::now() + Duration::from_millis(500);
    while let Some(event) = capturer.raw.next_event(still_until) {
        assert_ne!(event.object, frame, "served without a change: {event:?}");
    }
    assert!(
        lobby.send_input(
            gst::Structure::builder("MouseMoveAbsolute")
                .field("pointer_x", 100.0)
                .field("pointer_y", 100.0)
                .build()
        )
    );
    let events = capturer.events_until(frame, &[EXT_READY, EXT_FAILED]);
    assert_eq!(events.last().unwrap().0, EXT_READY);

    // Capturing a frame twice.
    capturer
        .raw
        .send(&request(frame, CAPTURE, &[]), &[])
        .unwrap();
    capturer.expect_error(frame, 3, "already captured");
}

#[test]
fn ext_image_copy_capture_errors() {
    let (lobby, _client) = lobby_with_quadrants("BGRx");

    // A buffer the session did not describe: the frame fails, the client stays.
    let mut small = Capturer::connect(&lobby);
    let (session, _) = ext_session(&mut small, 0);
    let buffer = small.buffer(10, 10);
    let frame = ext_capture(&mut small, session, buffer);
    let events = small.events_until(frame, &[EXT_READY, EXT_FAILED]);
    const BUFFER_CONSTRAINTS: u32 = 1;
    assert_eq!(events, [(EXT_FAILED, vec![BUFFER_CONSTRAINTS])]);
    assert!(small.raw.roundtrip(3, WAIT));

    // Capture without a buffer.
    let mut bufferless = Capturer::connect(&lobby);
    let (session, _) = ext_session(&mut bufferless, 0);
    let frame = bufferless.id();
    let batch = [
        request(session, CREATE_FRAME, &[frame]),
        request(frame, CAPTURE, &[]),
    ]
    .concat();
    bufferless.raw.send(&batch, &[]).unwrap();
    bufferless.expect_error(frame, 1, "without an attached buffer");

    // Two frames at once.
    let mut greedy = Capturer::connect(&lobby);
    let (session, _) = ext_session(&mut greedy, 0);
    let (first, second) = (greedy.id(), greedy.id());
    let batch = [
        request(session, CREATE_FRAME, &[first]),
        request(session, CREATE_FRAME, &[second]),
    ]
    .concat();
    greedy.raw.send(&batch, &[]).unwrap();
    greedy.expect_error(session, 1, "already has a frame");

    // Unknown options.
    let mut odd = Capturer::connect(&lobby);
    let manager = odd.bind("ext_image_copy_capture_manager_v1", 1);
    let sources = odd.bind("ext_output_image_capture_source_manager_v1", 1);
    let (source, session) = (odd.id(), odd.id());
    let batch = [
        request(sources, CREATE_SOURCE, &[source, OUTPUT]),
        request(manager, CREATE_SESSION, &[session, source, 0x80]),
    ]
    .concat();
    odd.raw.send(&batch, &[]).unwrap();
    odd.expect_error(manager, 1, "options");

    lobby.frame_until(WAIT, |f| f.rgb(419, 289) == WHITE);
}

fn display(dir: &Path, privileged_protocols: bool) -> WaylandDisplay {
    WaylandDisplay::new(DisplayConfig {
        socket: SocketSpec::auto().in_dir(dir),
        render_target: RenderTarget::Software,
        mode: VideoMode {
            width: 320,
            height: 240,
            refresh_mhz: 60_000,
        },
        privileged_protocols,
        ..DisplayConfig::default()
    })
    .unwrap()
}

#[test]
fn screencopy_is_offered_only_with_privileged_protocols() {
    let dir = gwd_tests::private_dir("gwd-screencopy");
    // Nobody asks this compositor for frames: the capture is served all the same.
    let privileged = display(dir.path(), true);
    let png = grim(dir.path(), privileged.socket_name(), &[]).unwrap();
    assert_eq!(png.size(), (320, 240));
    assert_eq!(png.pixel(160, 120), BLACK);

    let captures = [
        "zwlr_screencopy_manager_v1",
        "ext_image_copy_capture_manager_v1",
        "ext_output_image_capture_source_manager_v1",
        // Not a capture, but privileged alike: an input method sees every key.
        "zwp_input_method_manager_v2",
    ];
    let interfaces = |display: &WaylandDisplay| -> Vec<String> {
        let mut raw = RawClient::connect(dir.path(), display.socket_name());
        let globals = raw.globals(2, 3, WAIT);
        globals
            .into_iter()
            .map(|(_, interface, _)| interface)
            .collect()
    };
    let offered = interfaces(&privileged);
    for capture in captures {
        assert!(offered.iter().any(|i| i == capture), "{capture} missing");
    }

    let plain = display(dir.path(), false);
    let offered = interfaces(&plain);
    for capture in captures {
        assert!(!offered.iter().any(|i| i == capture), "{capture} offered");
    }
    let Err(err) = grim(dir.path(), plain.socket_name(), &[]) else {
        panic!("grim captured without a screencopy global");
    };
    assert!(err.contains("screencopy"), "grim said: {err}");
}

/// A picture made for someone else — a capture by grim, the element's snapshot — leaves
/// the stream current: its next frame shows that picture, not the one it had cached (the
/// capture used up the "changed" mark the stream's cache relies on). A snapshot of YUV
/// output is the exact RGB picture.
#[test]
fn captures_and_snapshots_leave_the_stream_current() {
    use waylanddisplaycore::{Frame, OutputFormat};
    let colour = [0x99, 0x66, 0x33];
    let shows = |frame: &Frame| frame.pixel(10, 10).is_some_and(|p| p[..3] == colour);
    for (capture, output) in [
        ("grim", OutputFormat::Bgrx),
        ("snapshot", OutputFormat::Bgrx),
        ("snapshot", OutputFormat::I420),
    ] {
        let what = format!("{capture} with {output:?} output");
        let dir = gwd_tests::private_dir("gwd-screencopy");
        let display = display(dir.path(), true);
        let mode = VideoMode {
            width: 320,
            height: 240,
            refresh_mhz: 60_000,
        };
        display.set_mode(mode, output).unwrap();
        let empty = display.frame().unwrap();
        assert_eq!(empty.format, output, "{what}");
        let client = gwd_tests::client(
            CLIENT,
            &["--pattern", "solid:336699"],
            dir.path(),
            display.socket_name(),
        );
        client.expect_line(WAIT, "drawn");
        let deadline = Instant::now() + WAIT;
        loop {
            let captured = match capture {
                "grim" => {
                    grim(dir.path(), display.socket_name(), &[])
                        .unwrap()
                        .pixel(10, 10)
                        == (0x33, 0x66, 0x99)
                }
                _ => {
                    let snapshot = display.snapshot().unwrap();
                    assert_eq!(snapshot.format, OutputFormat::Bgrx, "{what}");
                    shows(&snapshot)
                }
            };
            if captured {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never captured the client"
            );
        }
        let frame = display.frame().unwrap();
        assert_eq!(frame.format, output, "{what}");
        assert!(
            !frame.same_memory(&empty),
            "{what}: the stream kept its old frame"
        );
        if output == OutputFormat::Bgrx {
            assert!(shows(&frame), "{what}: {:?}", frame.pixel(10, 10));
        }
    }
}
