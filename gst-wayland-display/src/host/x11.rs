//! What a killed worker's X display leaves behind. A worker's compositor takes display `:N`
//! with the lock `/tmp/.X{N}-lock` (its own pid, as Xorg writes it) and the socket
//! `/tmp/.X11-unix/X{N}`, and removes both, and its Xwayland, on every path it lives to
//! see; a SIGKILLed worker leaves them. Its Xwayland dies with it (parent-death signal).
//!
//! The sweep takes only what is provably that worker's: a lock that names its pid, owned by
//! this user, while no process has that pid (a lock naming a live process belongs to that
//! process, whoever it is). Xwayland is killed only if one still serves such a display and
//! is this user's and started after the worker (it cannot be the worker's otherwise).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::process::{PidfdFlags, Signal, pidfd_open, pidfd_send_signal};

use super::records::start_time_in;
use crate::lobby::app::pid_of;

/// Where X servers put their locks and their sockets' directory.
pub(crate) const X_ROOT: &str = "/tmp";
/// The directory of X sockets under the root.
const SOCKET_DIR: &str = ".X11-unix";
/// Xorg's lock holds "%10d\n"; more than this is not a lock we wrote.
const MAX_LOCK_BYTES: u64 = 32;
/// A cmdline longer than this is not Xwayland's `Xwayland :N …` start we look for.
const MAX_CMDLINE_BYTES: u64 = 64 * 1024;

/// A worker that has exited (and been reaped), as the host recorded it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeadWorker {
    pub(crate) pid: u32,
    /// Its start time (/proc/PID/stat); without it no process can be shown to be its child.
    pub(crate) started: Option<u64>,
}

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    /// Display numbers whose lock (and socket, if there was one) were removed.
    pub(crate) displays: Vec<u32>,
    /// Xwayland processes that were still running and were killed.
    pub(crate) killed: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SweepError {
    #[error("cannot list {dir} for X display locks: {source}")]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Removes the X displays `worker` left under `root` (`/tmp`, a temporary directory in
/// tests) and kills their Xwayland if it is still there, looking processes up in `proc`.
pub(crate) fn sweep_dead_worker(
    root: &Path,
    proc: &Path,
    worker: DeadWorker,
) -> Result<Swept, SweepError> {
    let mut swept = Swept::default();
    // A pid that lives again is someone else's now: its locks are theirs.
    if alive(proc, worker.pid) {
        return Ok(swept);
    }
    let uid = rustix::process::geteuid().as_raw();
    let entries = std::fs::read_dir(root).map_err(|source| SweepError::List {
        dir: root.to_path_buf(),
        source,
    })?;
    let mut ours = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(number) = name.to_str().and_then(lock_number) else {
            continue;
        };
        let lock = entry.path();
        if let Some(identity) = lock_of(&lock, uid, worker.pid) {
            ours.push((number, lock, identity));
        }
    }
    if ours.is_empty() {
        return Ok(swept);
    }
    for (number, lock, identity) in ours {
        // Xwayland first: while the lock stays, no compositor can take the display over,
        // so an Xwayland serving it now is the one the dead worker started.
        for pid in leftover_xwayland(proc, number, uid, worker.started) {
            if kill(proc, pid) {
                swept.killed.push(pid);
            }
        }
        // Re-read: a lock replaced since (another compositor found it stale) is theirs.
        if lock_of(&lock, uid, worker.pid) != Some(identity) {
            continue;
        }
        let socket = root.join(SOCKET_DIR).join(format!("X{number}"));
        match std::fs::symlink_metadata(&socket) {
            Ok(meta) if meta.file_type().is_socket() && meta.uid() == uid => {
                if let Err(err) = std::fs::remove_file(&socket) {
                    tracing::warn!(socket = %socket.display(), %err, "cannot remove a dead worker's X socket");
                }
            }
            Ok(_) => tracing::warn!(
                path = %socket.display(),
                "not a socket of this user; left alone"
            ),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(socket = %socket.display(), %err, "cannot look at an X socket")
            }
        }
        match std::fs::remove_file(&lock) {
            Ok(()) => swept.displays.push(number),
            Err(err) => {
                tracing::warn!(lock = %lock.display(), %err, "cannot remove a dead worker's X lock");
            }
        }
    }
    Ok(swept)
}

/// `N` of a lock's file name `.X{N}-lock`; anything else is not a lock.
fn lock_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(".X")?.strip_suffix("-lock")?;
    decimal(digits)
}

/// A number written only with ASCII digits (no sign, no blanks), that fits.
fn decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The pid a lock's content names: Xorg's `%10d\n`, i.e. a decimal number with blanks
/// around; anything else names no one.
fn lock_pid(content: &[u8]) -> Option<u32> {
    std::str::from_utf8(content)
        .ok()
        .map(str::trim)
        .and_then(decimal)
        .filter(|pid| *pid > 0)
}

/// The identity (device, inode) of `lock` if it is a regular file of `uid` that names
/// `pid`.
fn lock_of(lock: &Path, uid: u32, pid: u32) -> Option<(u64, u64)> {
    let meta = std::fs::symlink_metadata(lock).ok()?;
    if !meta.file_type().is_file() || meta.uid() != uid || meta.len() > MAX_LOCK_BYTES {
        return None;
    }
    let mut content = Vec::new();
    File::open(lock)
        .ok()?
        .take(MAX_LOCK_BYTES)
        .read_to_end(&mut content)
        .ok()?;
    (lock_pid(&content) == Some(pid)).then_some((meta.dev(), meta.ino()))
}

/// Whether a process `pid` exists and is not a zombie waiting to be reaped.
pub(crate) fn alive(proc: &Path, pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Xwayland processes serving display `number` that can be the dead worker's: started as
/// `Xwayland :N …`, this user's, alive, and started no earlier than the worker.
fn leftover_xwayland(proc: &Path, number: u32, uid: u32, worker_started: Option<u64>) -> Vec<u32> {
    let Some(worker_started) = worker_started else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let display = format!(":{number}");
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(decimal))
        .filter(|&pid| {
            let dir = proc.join(pid.to_string());
            std::fs::metadata(&dir).is_ok_and(|m| m.uid() == uid)
                && is_xwayland_of(&dir, &display)
                && alive(proc, pid)
                && start_time_in(proc, pid).is_some_and(|t| t >= worker_started)
        })
        .collect()
}

/// Whether the process at `dir` was started as `Xwayland <display> …`.
fn is_xwayland_of(dir: &Path, display: &str) -> bool {
    let mut cmdline = Vec::new();
    let read = File::open(dir.join("cmdline"))
        .and_then(|file| file.take(MAX_CMDLINE_BYTES).read_to_end(&mut cmdline));
    if read.is_err() {
        return false;
    }
    let mut argv = cmdline.split(|b| *b == 0);
    let program = argv.next().unwrap_or_default();
    let name = program.rsplit(|b| *b == b'/').next().unwrap_or_default();
    name == b"Xwayland" && argv.next() == Some(display.as_bytes())
}

/// SIGKILLs `pid` through a pidfd opened while it is still the process looked at (its start
/// time unchanged), so that a pid reused in between is never hit.
fn kill(proc: &Path, pid: u32) -> bool {
    let Some(raw) = pid_of(pid) else {
        return false;
    };
    let before = start_time_in(proc, pid);
    let Ok(pidfd) = pidfd_open(raw, PidfdFlags::empty()) else {
        return false;
    };
    if before.is_none() || start_time_in(proc, pid) != before {
        return false;
    }
    match pidfd_send_signal(&pidfd, Signal::KILL) {
        Ok(()) => {
            tracing::warn!(pid, "killed the Xwayland a dead worker left");
            true
        }
        Err(err) => {
            tracing::warn!(pid, %err, "cannot kill the Xwayland a dead worker left");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::host::records::start_time;

    /// A pid that no process has now: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(Path::new("/proc"), pid));
        pid
    }

    /// A fake `/tmp` holding display `number`'s lock with `content` and its socket.
    fn display(root: &Path, number: u32, content: &str) -> (PathBuf, PathBuf) {
        let lock = root.join(format!(".X{number}-lock"));
        std::fs::write(&lock, content).unwrap();
        let dir = root.join(SOCKET_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join(format!("X{number}"));
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        drop(listener);
        (lock, socket)
    }

    fn sweep(root: &Path, worker: DeadWorker) -> Swept {
        sweep_dead_worker(root, Path::new("/proc"), worker).unwrap()
    }

    #[test]
    fn a_dead_workers_display_goes_with_its_socket() {
        let root = tempfile::tempdir().unwrap();
        let pid = dead_pid();
        let (lock, socket) = display(root.path(), 7, &format!("{pid:>10}\n"));
        // Another dead process's display is not this worker's.
        let (other_lock, other_socket) = display(root.path(), 8, &format!("{:>10}\n", dead_pid()));
        let swept = sweep(root.path(), DeadWorker { pid, started: None });
        assert_eq!(swept.displays, [7]);
        assert!(!lock.exists() && !socket.exists());
        assert!(other_lock.exists() && other_socket.exists());
        // A lock without a socket still goes.
        let (lock, socket) = display(root.path(), 9, &format!("{pid}"));
        std::fs::remove_file(&socket).unwrap();
        let swept = sweep(root.path(), DeadWorker { pid, started: None });
        assert_eq!(swept.displays, [9]);
        assert!(!lock.exists());
    }

    #[test]
    fn a_lock_naming_a_live_process_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let (lock, socket) = display(root.path(), 3, &format!("{me:>10}\n"));
        let swept = sweep(
            root.path(),
            DeadWorker {
                pid: me,
                started: start_time(me),
            },
        );
        assert_eq!(swept, Swept::default());
        assert!(lock.exists() && socket.exists());

        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = sleeper.id();
        let (lock, socket) = display(root.path(), 4, &format!("{pid:>10}\n"));
        let swept = sweep(root.path(), DeadWorker { pid, started: None });
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        assert_eq!(swept, Swept::default());
        assert!(lock.exists() && socket.exists());
    }

    #[test]
    fn locks_that_are_not_plainly_ours_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let pid = dead_pid();
        let mut kept = Vec::new();
        for (number, content) in [
            (1, format!("+{pid}\n")),
            (2, format!("{pid}x\n")),
            (3, format!("{pid} {pid}\n")),
            (4, "garbage\n".to_owned()),
            (5, String::new()),
            (6, format!("{pid:>40}\n")),
            (7, "\u{0}\u{1}".to_owned()),
            (8, format!("-{pid}")),
        ] {
            kept.push(display(root.path(), number, &content));
        }
        // Names that are not `.X{N}-lock`.
        for name in [".X-lock", ".X1a-lock", ".X+2-lock", "X3-lock", ".X4-lock~"] {
            let path = root.path().join(name);
            std::fs::write(&path, format!("{pid}\n")).unwrap();
            kept.push((path, root.path().to_path_buf()));
        }
        // A symbolic link in a lock's place is not a lock.
        let target = root.path().join("target");
        std::fs::write(&target, format!("{pid}\n")).unwrap();
        let link = root.path().join(".X9-lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        kept.push((link, target));

        let swept = sweep(root.path(), DeadWorker { pid, started: None });
        assert_eq!(swept, Swept::default());
        for (lock, socket) in kept {
            assert!(lock.symlink_metadata().is_ok(), "{} went", lock.display());
            assert!(socket.exists(), "{} went", socket.display());
        }
    }

    #[test]
    fn lock_content_is_read_strictly() {
        assert_eq!(lock_pid(b"      4242\n"), Some(4242));
        assert_eq!(lock_pid(b"4242"), Some(4242));
        for bad in [
            &b""[..],
            b"\n",
            b"0\n",
            b"+1\n",
            b"1 2\n",
            b"x",
            b"99999999999\n",
            b"\xff1",
        ] {
            assert_eq!(lock_pid(bad), None, "{bad:?}");
        }
        assert_eq!(lock_number(".X12-lock"), Some(12));
        for bad in [
            ".X-lock",
            ".X+1-lock",
            ".X1 -lock",
            ".x1-lock",
            ".X1-lock.tmp",
        ] {
            assert_eq!(lock_number(bad), None, "{bad:?}");
        }
    }

    /// A stand-in for a leftover Xwayland: `xargs` waits on its stdin for ever and its
    /// cmdline reads `Xwayland :N`.
    fn fake_xwayland(display: &str) -> std::process::Child {
        Command::new("xargs")
            .arg0("Xwayland")
            .arg(display)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn gone_within(child: &mut std::process::Child, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_leftover_xwayland_of_the_dead_worker_is_killed() {
        let root = tempfile::tempdir().unwrap();
        // The worker "started" before the Xwayland below; its pid is dead now.
        let started = start_time(std::process::id());
        let pid = dead_pid();
        // High display numbers, so that no real X server on this machine is taken for one.
        let (lock, _) = display(root.path(), 64_001, &format!("{pid:>10}\n"));
        let mut ours = fake_xwayland(":64001");
        let mut other_display = fake_xwayland(":64002");
        std::thread::sleep(Duration::from_millis(100));
        let swept = sweep(root.path(), DeadWorker { pid, started });
        assert_eq!(swept.displays, [64_001]);
        assert_eq!(swept.killed, [ours.id()]);
        assert!(!lock.exists());
        assert!(gone_within(&mut ours, Duration::from_secs(5)));
        assert!(!gone_within(&mut other_display, Duration::from_millis(200)));

        // One that started before the worker cannot be its child: left alone.
        let (lock, _) = display(root.path(), 64_002, &format!("{pid:>10}\n"));
        let later = start_time(other_display.id()).map(|t| t + 1);
        let swept = sweep(
            root.path(),
            DeadWorker {
                pid,
                started: later,
            },
        );
        assert_eq!(swept.displays, [64_002]);
        assert!(swept.killed.is_empty());
        assert!(!lock.exists());
        // And without the worker's start time, no process is killed.
        let (_, _) = display(root.path(), 64_002, &format!("{pid:>10}\n"));
        let swept = sweep(root.path(), DeadWorker { pid, started: None });
        assert!(swept.killed.is_empty());
        assert!(!gone_within(&mut other_display, Duration::from_millis(100)));
        other_display.kill().unwrap();
        other_display.wait().unwrap();
    }

    #[test]
    fn zombies_are_not_alive() {
        let proc = tempfile::tempdir().unwrap();
        for (pid, state) in [(10, "S"), (11, "Z"), (12, "R")] {
            let dir = proc.path().join(pid.to_string());
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(
                dir.join("stat"),
                format!("{pid} (a) b) {state} 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0"),
            )
            .unwrap();
        }
        assert!(alive(proc.path(), 10));
        assert!(!alive(proc.path(), 11));
        assert!(alive(proc.path(), 12));
        assert!(!alive(proc.path(), 13));
    }
}
