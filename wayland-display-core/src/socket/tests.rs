use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::{Arc, Barrier};

use super::*;

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gwd-sock")
        .tempdir()
        .unwrap()
}

fn spec(dir: &Path) -> SocketSpec {
    SocketSpec::auto().in_dir(dir)
}

/// A name held the way a running compositor holds it: locked and listening.
struct LiveName {
    _lock: File,
    _listener: UnixListener,
}

fn make_live(dir: &Path, name: &str) -> LiveName {
    let lock = File::create(dir.join(format!("{name}.lock"))).unwrap();
    lock.try_lock().unwrap();
    let listener = UnixListener::bind(dir.join(name)).unwrap();
    LiveName {
        _lock: lock,
        _listener: listener,
    }
}

fn make_stale(dir: &Path, name: &str) {
    File::create(dir.join(format!("{name}.lock"))).unwrap();
    drop(UnixListener::bind(dir.join(name)).unwrap());
}

fn is_socket(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn auto_takes_first_free_name_and_drop_removes_both_files() {
    let dir = tmp();
    let socket = allocate(&spec(dir.path())).unwrap();
    assert_eq!(socket.display_name(), "wayland-1");
    assert!(is_socket(socket.socket_path()));
    assert!(socket.lock_path().exists());
    let (sock, lock) = (
        socket.socket_path().to_owned(),
        socket.lock_path().to_owned(),
    );
    drop(socket);
    assert!(!sock.exists());
    assert!(!lock.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn live_names_are_skipped_and_left_alone() {
    let dir = tmp();
    let live: Vec<_> = (1..=64)
        .map(|n| make_live(dir.path(), &format!("wayland-{n}")))
        .collect();
    let socket = allocate(&spec(dir.path())).unwrap();
    assert_eq!(socket.display_name(), "wayland-65");
    for n in 1..=64 {
        assert!(
            is_socket(&dir.path().join(format!("wayland-{n}"))),
            "wayland-{n} touched"
        );
        assert!(dir.path().join(format!("wayland-{n}.lock")).exists());
    }
    drop(live);
}

#[test]
fn stale_name_is_reused_and_its_leftover_replaced() {
    let dir = tmp();
    make_stale(dir.path(), "wayland-1");
    assert!(!sweep::probe_listening(&dir.path().join("wayland-1")).unwrap());
    let socket = allocate(&spec(dir.path())).unwrap();
    assert_eq!(socket.display_name(), "wayland-1");
    // The dead socket file was replaced by a listening one.
    assert!(sweep::probe_listening(socket.socket_path()).unwrap());
}

#[test]
fn five_thousand_stale_names_do_not_stop_allocation() {
    let dir = tmp();
    for n in 1..=5000 {
        File::create(dir.path().join(format!("wayland-{n}.lock"))).unwrap();
    }
    let socket = allocate(&spec(dir.path())).unwrap();
    assert_eq!(socket.display_name(), "wayland-1");
}

#[test]
fn exhaustion_reports_live_and_stale_counts() {
    let dir = tmp();
    let _live: Vec<_> = (1..=3)
        .map(|n| make_live(dir.path(), &format!("wayland-{n}")))
        .collect();
    let spec = SocketSpec {
        max_auto: 3,
        ..spec(dir.path())
    };
    match allocate(&spec) {
        Err(SocketError::Exhausted {
            tried: 3,
            live: 3,
            stale_removed: 0,
            ..
        }) => {}
        other => panic!("expected exhaustion, got {other:?}"),
    }
}

#[test]
fn unopenable_lock_file_is_skipped() {
    let dir = tmp();
    fs::create_dir(dir.path().join("wayland-1.lock")).unwrap();
    let socket = allocate(&spec(dir.path())).unwrap();
    assert_eq!(socket.display_name(), "wayland-2");
    assert!(dir.path().join("wayland-1.lock").is_dir());
}

#[test]
fn explicit_name_binds_and_refuses_live_name() {
    let dir = tmp();
    let socket = allocate(&SocketSpec::named("wayland-lobby-42").in_dir(dir.path())).unwrap();
    assert_eq!(socket.display_name(), "wayland-lobby-42");
    let err = allocate(&SocketSpec::named("wayland-lobby-42").in_dir(dir.path())).unwrap_err();
    assert!(matches!(err, SocketError::InUse { .. }), "{err:?}");
    assert!(err.to_string().contains("wayland-lobby-42"), "{err}");
    // The refused attempt must not have disturbed the live socket.
    assert!(sweep::probe_listening(socket.socket_path()).unwrap());
}

#[test]
fn explicit_absolute_path() {
    let dir = tmp();
    let path = dir.path().join("wayland-abs");
    let socket = allocate(&SocketSpec::named(path.to_str().unwrap())).unwrap();
    assert_eq!(socket.display_name(), path.to_str().unwrap());
    assert!(is_socket(&path));
}

/// Found by `props::absolute_names_reach_their_socket`: `Path` drops a trailing `/` or
/// `/.`, so `<dir>/wayland-abs/` was bound as `<dir>/wayland-abs` while clients were told
/// `<dir>/wayland-abs/`, which names a directory (and `<dir>/` tried to bind the directory
/// itself, with its lock file beside it).
#[test]
fn absolute_paths_must_end_in_the_file_name() {
    let dir = tmp();
    for suffix in ["/wayland-abs/", "/wayland-abs/.", "/"] {
        let name = format!("{}{suffix}", dir.path().to_str().unwrap());
        let err = allocate(&SocketSpec::named(name.as_str())).unwrap_err();
        assert!(
            matches!(err, SocketError::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn invalid_names_are_rejected() {
    let dir = tmp();
    for name in ["", "a/b", "wayland-1.lock", ".."] {
        let err = allocate(&SocketSpec::named(name).in_dir(dir.path())).unwrap_err();
        assert!(
            matches!(err, SocketError::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
    }
}

#[test]
fn missing_dir_and_file_instead_of_dir() {
    let dir = tmp();
    let missing = dir.path().join("nope");
    let err = allocate(&spec(&missing)).unwrap_err();
    assert!(matches!(err, SocketError::RuntimeDirMissing { .. }));
    assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");

    let file = dir.path().join("file");
    File::create(&file).unwrap();
    let err = allocate(&spec(&file)).unwrap_err();
    assert!(
        matches!(err, SocketError::RuntimeDirMissing { .. }),
        "{err:?}"
    );
}

#[test]
fn path_too_long_names_the_path() {
    let dir = tmp();
    let deep = dir.path().join("d".repeat(100));
    fs::create_dir(&deep).unwrap();
    let err = allocate(&spec(&deep)).unwrap_err();
    match &err {
        SocketError::PathTooLong { path, len } => {
            assert!(path.starts_with(&deep));
            assert!(*len > MAX_SOCKET_PATH);
        }
        other => panic!("{other:?}"),
    }
    // Nothing was created on the way.
    assert_eq!(fs::read_dir(&deep).unwrap().count(), 0);
}

#[test]
fn drop_leaves_a_replacement_alone() {
    let dir = tmp();
    let socket = allocate(&spec(dir.path())).unwrap();
    let path = socket.socket_path().to_owned();
    // Someone deletes our socket and binds their own in its place.
    fs::remove_file(&path).unwrap();
    let theirs = UnixListener::bind(&path).unwrap();
    drop(socket);
    assert!(is_socket(&path), "drop removed a socket that was not ours");
    drop(theirs);
}

#[test]
fn threads_get_distinct_names() {
    let dir = tmp();
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = barrier.clone();
            let dir = dir.path().to_owned();
            std::thread::spawn(move || {
                barrier.wait();
                (0..8)
                    .map(|_| allocate(&spec(&dir)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let sockets: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let names: HashSet<_> = sockets
        .iter()
        .map(|s| s.display_name().to_owned())
        .collect();
    assert_eq!(names.len(), threads * 8);
    drop(sockets);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn sweep_removes_only_stale_entries() {
    let dir = tmp();
    let _live = make_live(dir.path(), "wayland-1");
    make_stale(dir.path(), "wayland-2");
    File::create(dir.path().join("wayland-3.lock")).unwrap();
    // Lock-less sockets: one nobody listens on, one still listening.
    drop(UnixListener::bind(dir.path().join("wayland-4")).unwrap());
    let _listening = UnixListener::bind(dir.path().join("wayland-5")).unwrap();
    File::create(dir.path().join("wayland-6")).unwrap();
    File::create(dir.path().join("unrelated.lock")).unwrap();

    let dry = sweep_dry_run(dir.path()).unwrap();
    assert!(
        dir.path().join("wayland-2").exists(),
        "dry run removed something"
    );

    let report = sweep(dir.path()).unwrap();
    let removed: HashSet<_> = report
        .removed
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    let expected: HashSet<_> = ["wayland-2", "wayland-2.lock", "wayland-3.lock", "wayland-4"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(removed, expected);
    assert_eq!(dry.removed, report.removed);
    for kept in [
        "wayland-1",
        "wayland-1.lock",
        "wayland-5",
        "wayland-6",
        "unrelated.lock",
    ] {
        assert!(dir.path().join(kept).exists(), "{kept} was removed");
    }
    let kept: Vec<_> = report.kept.iter().map(|e| e.reason.to_string()).collect();
    assert_eq!(report.kept.len(), 3, "{kept:?}");
}
