//! Clients that misbehave at the connection level cost themselves only: fd hoarders,
//! object hoarders, clients stuck mid-message and malformed requests get a
//! `wl_display.error` that names the cause and are disconnected, and the compositor keeps
//! serving everyone else; running out of descriptors pauses accepting instead of spinning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use gwd_tests::rawwire::{DISPLAY, Ending, ProtocolError, RawClient, request, string_words};
use gwd_tests::{ChildGuard, Lobby, gst_launch, private_dir};

const CLIENT: &str = env!("CARGO_BIN_EXE_wayland-test-client");
const WAIT: Duration = Duration::from_secs(15);
const VERDICT: Duration = Duration::from_secs(5);
const CAPS: &str = "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1";

// wl_display.error codes
const INVALID_OBJECT: u32 = 0;
const INVALID_METHOD: u32 = 1;
const NO_MEMORY: u32 = 2;

/// Warnings the element logged, as text (every test in this binary shares them; each
/// looks for its own).
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// One test at a time: the fd counts are the whole process's.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn start(props: &str) -> Lobby {
    static LOG: Once = Once::new();
    LOG.call_once(|| {
        gwd_tests::init();
        // Before any callsite of the compositor is hit: tracing caches whether it is on.
        gst::log::set_threshold_for_name("waylanddisplaysrc", gst::DebugLevel::Warning);
        gst::log::add_log_function(|cat, level, _, _, _, _, msg| {
            if cat.name() == "waylanddisplaysrc"
                && level == gst::DebugLevel::Warning
                && let Some(text) = msg.get()
            {
                WARNINGS.lock().unwrap().push(text.to_string());
            }
        });
    });
    Lobby::start(&format!("render-node=software {props}"), CAPS)
}

/// Waits (bounded) for a warning containing every one of `needles`.
fn expect_warning(needles: &[&str]) -> String {
    let deadline = Instant::now() + VERDICT;
    loop {
        let found = WARNINGS
            .lock()
            .unwrap()
            .iter()
            .find(|w| needles.iter().all(|n| w.contains(n)))
            .cloned();
        if let Some(warning) = found {
            return warning;
        }
        assert!(
            Instant::now() < deadline,
            "no warning with {needles:?}; warnings: {:?}",
            WARNINGS.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The process's open fds, but for shm pools (`memfd`s): drawing clients may hold one
/// more or less as they redraw, which is no leak of ours.
fn fds_but_shm() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| !target.to_string_lossy().starts_with("/memfd:"))
        .count()
}

fn expect_error(client: &mut RawClient, code: u32, needle: &str) -> ProtocolError {
    match client.ending(VERDICT) {
        Ending::Error(err) if err.code == code && err.message.contains(needle) => err,
        other => panic!("expected wl_display.error {code} with {needle:?}, got {other:?}"),
    }
}

/// Asserts that a fresh raw client and our drawing client are served.
fn assert_serving(lobby: &Lobby) {
    let mut probe = RawClient::connect(&lobby.dir, &lobby.socket);
    assert!(probe.roundtrip(2, VERDICT), "a new client got no answer");
    let good = lobby.client(CLIENT, &[]);
    good.expect_line(WAIT, "drawn 320 240");
}

#[test]
fn fd_hoarder_is_cut_off_while_others_draw_and_its_fds_are_released() {
    let _serial = serial();
    let lobby = start("");
    let first = lobby.client(CLIENT, &[]);
    first.expect_line(WAIT, "drawn 320 240");
    let baseline = fds_but_shm();

    let null = File::open("/dev/null").unwrap();
    let fds = vec![null.as_fd(); 25];
    let mut hoarder = RawClient::connect(&lobby.dir, &lobby.socket);
    // 100 fds attached to requests that use none: under the limit of 128, kept.
    let mut id = 2;
    for _ in 0..4 {
        hoarder.send(&request(DISPLAY, 0, &[id]), &fds).unwrap();
        id += 1;
    }
    assert!(
        hoarder.roundtrip(id, VERDICT),
        "the hoarder under the limit was dropped"
    );
    id += 1;
    let held = fds_but_shm();
    assert!(held >= baseline + 100, "{held} fds, baseline {baseline}");

    // Others are served while the hoarder holds its fds.
    let second = lobby.client(CLIENT, &[]);
    second.expect_line(WAIT, "drawn 320 240");
    drop(second);

    // Past the limit: an error naming it, then the disconnect. Bounded well below the
    // process's own limit so that, without the cap, this fails instead of exhausting fds.
    let mut sent = 100;
    while sent < 600 {
        if hoarder.send(&request(DISPLAY, 0, &[id]), &fds).is_err() {
            break;
        }
        id += 1;
        sent += 25;
    }
    let err = expect_error(&mut hoarder, NO_MEMORY, "limit of 128");
    assert!(err.message.contains("file descriptors"), "{err:?}");
    assert_eq!(err.object, DISPLAY);
    let warning = expect_warning(&["limit of 128", "pid="]);
    assert!(
        warning.contains(&format!("pid={}", std::process::id())),
        "the warning does not name the client's pid: {warning}"
    );
    drop(hoarder);
    drop(fds);
    drop(null);

    let deadline = Instant::now() + VERDICT;
    while fds_but_shm() > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = fds_but_shm();
    assert!(
        after <= baseline,
        "the hoarder's fds were not released: {after} now, {baseline} before"
    );
    assert_serving(&lobby);
    drop(first);
}

#[test]
fn client_stuck_mid_message_is_dropped_after_the_stall_timeout() {
    let _serial = serial();
    let lobby = start("client-stall-timeout=500");
    let mut idle = RawClient::connect(&lobby.dir, &lobby.socket);
    assert!(idle.roundtrip(2, VERDICT));

    let mut stuck = RawClient::connect(&lobby.dir, &lobby.socket);
    let sync = request(DISPLAY, 0, &[2]);
    stuck.send(&sync[..6], &[]).unwrap();
    let sent = Instant::now();
    let err = expect_error(&mut stuck, INVALID_METHOD, "stall timeout of 500 ms");
    assert!(
        sent.elapsed() >= Duration::from_millis(500),
        "dropped after {:?}: {err:?}",
        sent.elapsed()
    );
    expect_warning(&["stall timeout of 500 ms", "pid="]);

    // The idle client sent only whole requests: it is still served, well past the timeout.
    assert!(idle.roundtrip(3, VERDICT), "the idle client was dropped");
    assert_serving(&lobby);
}

#[test]
fn object_hoarder_gets_no_memory_naming_the_limit_and_others_are_unaffected() {
    let _serial = serial();
    let lobby = start("client-max-objects=100");
    let mut hoarder = RawClient::connect(&lobby.dir, &lobby.socket);
    let globals = hoarder.globals(2, 3, VERDICT);
    let (name, _, _) = globals
        .iter()
        .find(|(_, interface, _)| interface == "wl_compositor")
        .unwrap()
        .clone();
    // wl_registry.bind(name, "wl_compositor", 4, new id 4)
    let mut bind = vec![name];
    bind.extend(string_words("wl_compositor"));
    bind.extend([4, 4]);
    hoarder.send(&request(2, 0, &bind), &[]).unwrap();
    // wl_compositor.create_region until past the cap: ids 5..=100 are allowed, 101 is not.
    let batch: Vec<u8> = (5..=101).flat_map(|id| request(4, 1, &[id])).collect();
    hoarder.send(&batch, &[]).unwrap();
    expect_error(&mut hoarder, NO_MEMORY, "limit of 100 objects");
    expect_warning(&["limit of 100 objects", "pid="]);
    assert_serving(&lobby);
}

#[test]
fn malformed_requests_get_the_protocol_error_before_the_disconnect() {
    let _serial = serial();
    let lobby = start("");
    let cases: Vec<(&str, Vec<u8>, u32, &str)> = vec![
        (
            "request to an object that does not exist",
            request(77, 0, &[]),
            INVALID_OBJECT,
            "invalid object 77",
        ),
        (
            "unknown opcode",
            request(DISPLAY, 7, &[]),
            INVALID_METHOD,
            "invalid method 7, object wl_display@1",
        ),
        (
            "string longer than its message",
            // wl_registry.bind(1, <string of 1000 bytes>, 1, 3) in a 28-byte message
            [
                request(DISPLAY, 1, &[2]),
                request(2, 0, &[1, 1000, 0x6c77, 1, 3]),
            ]
            .concat(),
            INVALID_METHOD,
            "invalid arguments for wl_registry@2.bind",
        ),
        (
            "new id in the server's range",
            request(DISPLAY, 0, &[0xff00_0000]),
            INVALID_OBJECT,
            "Invalid new_id",
        ),
        (
            "message larger than the connection buffer",
            {
                let mut big = request(DISPLAY, 0, &[2]);
                big[6..8].copy_from_slice(&8000u16.to_ne_bytes());
                big.resize(4096, 0);
                big
            },
            INVALID_METHOD,
            "4096-byte buffer",
        ),
    ];
    // Every case is tried, and every one that fails is reported.
    let mut failures = Vec::new();
    for (what, bytes, code, needle) in cases {
        let mut client = RawClient::connect(&lobby.dir, &lobby.socket);
        client.send(&bytes, &[]).unwrap();
        match client.ending(VERDICT) {
            Ending::Error(err) if err.code == code && err.message.contains(needle) => {
                // The error comes before the disconnect, not instead of it.
                let after = client.ending(VERDICT);
                if after != Ending::Closed {
                    failures.push(format!("{what}: still open after the error ({after:?})"));
                }
            }
            other => failures.push(format!(
                "{what}: expected error {code} with {needle:?}, got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_serving(&lobby);
}

/// CPU time (user + system) the thread has used.
fn thread_cpu(pid: u32, tid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap();
    // Fields after the command name, which may hold spaces: state is field 3, utime 14.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux architecture we run on.
    Duration::from_millis(ticks * 10)
}

fn compositor_thread(pid: u32) -> String {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap();
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == "wl-compositor" {
            return task.file_name().to_string_lossy().into_owned();
        }
    }
    panic!("no wl-compositor thread in process {pid}");
}

fn count_lines(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn running_out_of_descriptors_pauses_accepting_without_spinning() {
    let _serial = serial();
    let dir = private_dir("gwd-emfile");
    let log = dir.path().join("gst.log");
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let mut cmd: Command = gst_launch(
        "waylanddisplaysrc render-node=software ! \
         video/x-raw,width=64,height=64,framerate=5/1 ! fakesink",
        Some(&runtime),
    );
    cmd.env("GST_DEBUG", "waylanddisplaysrc:4")
        .env("GST_DEBUG_NO_COLOR", "1");
    // stderr, unlike a debug file, is not buffered: each line is there once logged.
    cmd.stderr(File::create(&log).unwrap());
    let launch = ChildGuard::spawn(cmd);
    let announce = launch
        .wait_line(WAIT, |l| l.contains("WAYLAND_DISPLAY=(string)"))
        .unwrap_or_else(|| panic!("no socket announced"));
    let socket = announce
        .split("WAYLAND_DISPLAY=(string)")
        .nth(1)
        .unwrap()
        .split([',', ';', ' '])
        .next()
        .unwrap()
        .to_owned();
    let pid = launch.child.id();
    let tid = compositor_thread(pid);

    // Leave the process a few descriptors: a dozen clients take them all.
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let limit = u64::try_from(open + 12).unwrap();
    rustix::process::prlimit(
        rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()),
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        },
    )
    .unwrap();

    // Connect until one is not answered: it waits in the backlog, not accepted.
    let mut served = Vec::new();
    let waiting = loop {
        assert!(
            served.len() < 40,
            "{} clients served under a limit of {limit}",
            served.len()
        );
        let mut client = RawClient::connect(&runtime, &socket);
        if client.roundtrip(2, Duration::from_millis(500)) {
            served.push(client);
        } else {
            break client;
        }
    };

    let before = thread_cpu(pid, &tid);
    std::thread::sleep(Duration::from_secs(3));
    let spent = thread_cpu(pid, &tid) - before;
    eprintln!("compositor thread CPU in 3 s while accepting is paused: {spent:?}");
    assert!(
        spent < Duration::from_millis(500),
        "the compositor thread used {spent:?} of CPU in 3 s while out of descriptors"
    );
    assert_eq!(
        count_lines(&log, "cannot accept clients"),
        1,
        "one warning per episode"
    );

    // Clients leaving free descriptors: the waiting client is accepted and answered.
    served.truncate(served.len() - 4);
    let mut waiting = waiting;
    let deadline = Instant::now() + VERDICT;
    let answered =
        std::iter::from_fn(|| waiting.next_event(deadline)).any(|e| e.object == 2 && e.opcode == 0);
    assert!(answered, "the waiting client was never accepted");
    assert_eq!(count_lines(&log, "accepting clients again"), 1);
    assert_eq!(count_lines(&log, "cannot accept clients"), 1);
    drop(served);
    let mut fresh = RawClient::connect(&runtime, &socket);
    assert!(fresh.roundtrip(2, VERDICT), "a new client got no answer");
}
