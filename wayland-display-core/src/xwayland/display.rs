//! An X display number and its files, allocated as X servers do: whoever creates
//! `/tmp/.X{N}-lock` (holding its pid) owns `:N` and its socket `/tmp/.X11-unix/X{N}`.
//!
//! - a lock naming a live process is never touched: `:N` is skipped;
//! - a lock naming a dead process is stale: it is removed and `:N` taken;
//! - a lock we cannot read or parse is someone else's business: skipped, untouched;
//! - a socket that answers without a lock is a live server outside the convention:
//!   skipped too.
//!
//! The pid in our locks is the compositor's process (the lobby worker), so that a host
//! can sweep what a killed worker left without touching anybody else's display.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::process::{Pid, test_kill_process};

use super::XwaylandError;
use crate::socket::{FileId, probe_listening};

/// Where X servers keep their lock files.
pub const X11_LOCK_DIR: &str = "/tmp";
/// Where X clients look for the socket of display `:N` (`X{N}`).
pub const X11_SOCKET_DIR: &str = "/tmp/.X11-unix";

/// The first display tried: `:0` is conventionally a machine's own screen.
pub(crate) const FIRST_DISPLAY: u32 = 1;
/// Displays tried before giving up (X has no limit of its own; Smithay stops at 33).
pub(crate) const DISPLAYS_TRIED: u32 = 4096;

/// Where the display's files go, and whether the abstract socket (which X clients on
/// Linux try first) is bound too. Tests use their own directories and no abstract socket.
#[derive(Clone, Debug)]
pub(crate) struct XDirs {
    pub(crate) lock_dir: PathBuf,
    pub(crate) socket_dir: PathBuf,
    pub(crate) abstract_socket: bool,
}

impl Default for XDirs {
    fn default() -> Self {
        Self {
            lock_dir: PathBuf::from(X11_LOCK_DIR),
            socket_dir: PathBuf::from(X11_SOCKET_DIR),
            abstract_socket: true,
        }
    }
}

/// An allocated X display: its lock and socket files, removed on drop if they are still
/// ours, and its listening sockets until the compositor takes them.
#[derive(Debug)]
pub(crate) struct XDisplay {
    number: u32,
    lock_path: PathBuf,
    lock_id: FileId,
    socket_path: PathBuf,
    socket_id: FileId,
    listeners: Vec<OwnedFd>,
}

impl XDisplay {
    pub(crate) fn number(&self) -> u32 {
        self.number
    }

    /// `DISPLAY` for clients.
    pub(crate) fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// The listening sockets, for Xwayland's `-listenfd` (given once).
    pub(crate) fn take_listeners(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.listeners)
    }
}

impl Drop for XDisplay {
    fn drop(&mut self) {
        // The socket first: once the lock goes, the number may be somebody else's.
        for (path, id) in [
            (&self.socket_path, self.socket_id),
            (&self.lock_path, self.lock_id),
        ] {
            if FileId::of_path(path) == Some(id)
                && let Err(err) = fs::remove_file(path)
            {
                tracing::warn!(path = %path.display(), %err, "could not remove an X display file");
            }
        }
    }
}

/// Takes the first free display from `first` on, trying `count` numbers.
pub(crate) fn allocate(dirs: &XDirs, first: u32, count: u32) -> Result<XDisplay, XwaylandError> {
    ensure_socket_dir(&dirs.socket_dir).map_err(|err| XwaylandError::Display {
        display: first,
        err,
    })?;
    let pid = std::process::id();
    let last = first.saturating_add(count.saturating_sub(1));
    for number in first..=last {
        let lock_path = dirs.lock_dir.join(format!(".X{number}-lock"));
        let lock_id = match take_lock(&lock_path, pid) {
            Ok(Some(id)) => id,
            Ok(None) => continue,
            Err(err) => {
                return Err(XwaylandError::Display {
                    display: number,
                    err,
                });
            }
        };
        let release = |lock_path: &Path| {
            if FileId::of_path(lock_path) == Some(lock_id) {
                let _ = fs::remove_file(lock_path);
            }
        };
        match bind_sockets(dirs, number) {
            Ok(Some((socket_id, listeners))) => {
                tracing::debug!(display = number, "X display allocated");
                return Ok(XDisplay {
                    number,
                    socket_path: dirs.socket_dir.join(format!("X{number}")),
                    lock_path,
                    lock_id,
                    socket_id,
                    listeners,
                });
            }
            Ok(None) => release(&lock_path),
            Err(err) => {
                release(&lock_path);
                return Err(XwaylandError::Display {
                    display: number,
                    err,
                });
            }
        }
    }
    Err(XwaylandError::NoFreeDisplay {
        first,
        last,
        dir: dirs.lock_dir.display().to_string(),
    })
}

/// `/tmp/.X11-unix`, made world-writable and sticky (as X servers make it) if missing.
fn ensure_socket_dir(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o1777)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// The lock at `path` for `pid`: `Some` when taken, `None` when the display is someone
/// else's.
fn take_lock(path: &Path, pid: u32) -> io::Result<Option<FileId>> {
    for _ in 0..2 {
        match create_lock(path, pid) {
            Ok(id) => return Ok(Some(id)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
        match lock_owner(path) {
            Some(owner) if !process_alive(owner) => {
                tracing::info!(path = %path.display(), owner, "reclaiming a stale X lock");
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(_) => return Ok(None),
                }
            }
            // Alive, unreadable or not a pid: not ours to judge.
            _ => return Ok(None),
        }
    }
    Ok(None)
}

fn create_lock(path: &Path, pid: u32) -> io::Result<FileId> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(path)?;
    // Xorg's format: the pid right-aligned in ten columns and a newline.
    let written = file.write_all(format!("{pid:>10}\n").as_bytes());
    let id = file.metadata().map(|m| FileId::of_metadata(&m));
    match (written, id) {
        (Ok(()), Ok(id)) => Ok(id),
        (Err(err), _) | (_, Err(err)) => {
            let _ = fs::remove_file(path);
            Err(err)
        }
    }
}

/// The pid an X lock file names, if it holds exactly one.
pub(crate) fn lock_owner(path: &Path) -> Option<i32> {
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(64)
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse::<i32>().ok().filter(|pid| *pid > 0)
}

fn process_alive(pid: i32) -> bool {
    let Some(pid) = Pid::from_raw(pid) else {
        return false;
    };
    // EPERM: it exists but belongs to another user.
    !matches!(test_kill_process(pid), Err(Errno::SRCH))
}

/// Binds `:number`'s sockets; `None` if a live server already answers there.
fn bind_sockets(dirs: &XDirs, number: u32) -> io::Result<Option<(FileId, Vec<OwnedFd>)>> {
    let path = dirs.socket_dir.join(format!("X{number}"));
    if fs::symlink_metadata(&path).is_ok() {
        if probe_listening(&path).unwrap_or(true) {
            return Ok(None);
        }
        fs::remove_file(&path)?;
    }
    let mut listeners = Vec::new();
    if dirs.abstract_socket {
        let name = SocketAddr::from_abstract_name(path.as_os_str().as_bytes())?;
        match UnixListener::bind_addr(&name) {
            Ok(listener) => listeners.push(OwnedFd::from(listener)),
            Err(err) if err.kind() == io::ErrorKind::AddrInUse => return Ok(None),
            Err(err) => return Err(err),
        }
    }
    let listener = UnixListener::bind(&path)?;
    // Apps in containers run as other users. (Before the identity is taken: a chmod
    // changes the file's change time.)
    fs::set_permissions(&path, fs::Permissions::from_mode(0o777))?;
    let id = fs::symlink_metadata(&path).map(|m| FileId::of_metadata(&m))?;
    listeners.push(OwnedFd::from(listener));
    Ok(Some((id, listeners)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> XDirs {
        XDirs {
            lock_dir: root.to_path_buf(),
            socket_dir: root.join(".X11-unix"),
            abstract_socket: false,
        }
    }

    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id() as i32
    }

    #[test]
    fn a_free_display_is_taken_and_its_files_go_with_it() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        let display = allocate(&d, 1, 8).unwrap();
        assert_eq!(display.name(), ":1");
        let lock = root.path().join(".X1-lock");
        assert_eq!(
            fs::read_to_string(&lock).unwrap(),
            format!("{:>10}\n", std::process::id())
        );
        assert!(d.socket_dir.join("X1").exists());
        drop(display);
        assert!(!lock.exists());
        assert!(!d.socket_dir.join("X1").exists());
    }

    #[test]
    fn live_unreadable_and_answering_displays_are_skipped_untouched() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        fs::create_dir(&d.socket_dir).unwrap();
        // :1 — a live owner (init); :2 — not a pid; :3 — a server without a lock.
        fs::write(root.path().join(".X1-lock"), "         1\n").unwrap();
        fs::write(root.path().join(".X2-lock"), "garbage\n").unwrap();
        let live = UnixListener::bind(d.socket_dir.join("X3")).unwrap();
        let display = allocate(&d, 1, 8).unwrap();
        assert_eq!(display.number(), 4);
        drop(display);
        assert_eq!(
            fs::read_to_string(root.path().join(".X1-lock")).unwrap(),
            "         1\n"
        );
        assert_eq!(
            fs::read_to_string(root.path().join(".X2-lock")).unwrap(),
            "garbage\n"
        );
        assert!(d.socket_dir.join("X3").exists());
        drop(live);
    }

    #[test]
    fn a_stale_lock_and_socket_are_reclaimed() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        fs::create_dir(&d.socket_dir).unwrap();
        fs::write(
            root.path().join(".X1-lock"),
            format!("{:>10}\n", dead_pid()),
        )
        .unwrap();
        drop(UnixListener::bind(d.socket_dir.join("X1")).unwrap());
        let display = allocate(&d, 1, 8).unwrap();
        assert_eq!(display.number(), 1);
    }

    #[test]
    fn running_out_of_numbers_is_an_error_naming_the_range() {
        let root = tempfile::tempdir().unwrap();
        let d = dirs(root.path());
        fs::write(root.path().join(".X5-lock"), "         1\n").unwrap();
        let err = allocate(&d, 5, 1).unwrap_err().to_string();
        assert!(err.contains(":5 and :5"), "{err}");
    }
}
