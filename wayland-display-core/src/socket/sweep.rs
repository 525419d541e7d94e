//! Removing what dead compositors left in a runtime directory, and nothing else.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use super::lock::{LockAttempt, NameLock};
use super::{AUTO_PREFIX, NamePaths, SocketError};

/// What [`sweep`] did in one directory.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub dir: PathBuf,
    /// True when nothing was removed and `removed` lists what would have been.
    pub dry_run: bool,
    pub removed: Vec<PathBuf>,
    pub kept: Vec<SweepEntry>,
}

/// A `wayland-*` name that was left alone, and why.
#[derive(Debug)]
pub struct SweepEntry {
    pub path: PathBuf,
    pub reason: KeptBecause,
}

#[derive(Debug)]
pub enum KeptBecause {
    /// Its lock is held by a running compositor.
    Live,
    /// No lock file, but something accepts connections on it.
    ListeningWithoutLock,
    /// Not a socket or lock file; not ours to judge.
    NotASocket,
    /// It could not be inspected.
    Error(io::Error),
}

impl fmt::Display for KeptBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeptBecause::Live => f.write_str("live: its lock is held"),
            KeptBecause::ListeningWithoutLock => {
                f.write_str("live: no lock file, but it accepts connections")
            }
            KeptBecause::NotASocket => f.write_str("not a socket"),
            KeptBecause::Error(err) => write!(f, "could not inspect it: {err}"),
        }
    }
}

/// Removes stale `wayland-*` sockets and lock files from `dir`: those whose lock nobody
/// holds, and lock-less sockets nobody listens on. Live ones are never touched.
pub fn sweep(dir: &Path) -> Result<SweepReport, SocketError> {
    sweep_inner(dir, false)
}

/// Reports what [`sweep`] would remove, without removing anything.
pub fn sweep_dry_run(dir: &Path) -> Result<SweepReport, SocketError> {
    sweep_inner(dir, true)
}

fn sweep_inner(dir: &Path, dry_run: bool) -> Result<SweepReport, SocketError> {
    let entries = fs::read_dir(dir).map_err(|source| SocketError::RuntimeDirMissing {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut names = BTreeSet::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        if !name.starts_with(AUTO_PREFIX) {
            continue;
        }
        names.insert(name.strip_suffix(".lock").unwrap_or(name).to_owned());
    }

    let mut report = SweepReport {
        dir: dir.to_path_buf(),
        dry_run,
        ..SweepReport::default()
    };
    for name in names {
        let Ok(paths) = NamePaths::new(dir, &name) else {
            // Too long to be a socket; only a lock file can be under it.
            let lock = dir.join(format!("{name}.lock"));
            sweep_lock_only(&lock, dry_run, &mut report);
            continue;
        };
        if paths.lock.exists() {
            sweep_locked_name(&paths, dry_run, &mut report);
        } else {
            sweep_lockless_socket(&paths.socket, dry_run, &mut report);
        }
    }
    Ok(report)
}

fn sweep_lock_only(lock_path: &Path, dry_run: bool, report: &mut SweepReport) {
    match NameLock::acquire_existing(lock_path) {
        LockAttempt::Acquired(lock) => {
            if !dry_run {
                lock.remove_file();
            }
            report.removed.push(lock_path.to_path_buf());
        }
        other => keep(report, lock_path, other),
    }
}

fn sweep_locked_name(paths: &NamePaths, dry_run: bool, report: &mut SweepReport) {
    let lock = match NameLock::acquire_existing(&paths.lock) {
        LockAttempt::Acquired(lock) => lock,
        other => {
            keep(report, &paths.socket, other);
            return;
        }
    };
    // Holding the lock, everything under the name is a dead owner's leftover.
    match fs::symlink_metadata(&paths.socket) {
        Ok(m) if m.file_type().is_socket() => {
            if dry_run || remove(&paths.socket, report) {
                report.removed.push(paths.socket.clone());
            }
        }
        Ok(_) => report.kept.push(SweepEntry {
            path: paths.socket.clone(),
            reason: KeptBecause::NotASocket,
        }),
        Err(_) => {}
    }
    if !dry_run {
        lock.remove_file();
    }
    report.removed.push(paths.lock.clone());
}

fn sweep_lockless_socket(socket: &Path, dry_run: bool, report: &mut SweepReport) {
    match fs::symlink_metadata(socket) {
        Ok(m) if m.file_type().is_socket() => {}
        Ok(_) => {
            report.kept.push(SweepEntry {
                path: socket.to_path_buf(),
                reason: KeptBecause::NotASocket,
            });
            return;
        }
        Err(_) => return,
    }
    // Without a lock file only a connection attempt can tell whether someone listens.
    match probe_listening(socket) {
        Ok(false) => {
            if dry_run || remove(socket, report) {
                report.removed.push(socket.to_path_buf());
            }
        }
        Ok(true) => report.kept.push(SweepEntry {
            path: socket.to_path_buf(),
            reason: KeptBecause::ListeningWithoutLock,
        }),
        Err(err) => report.kept.push(SweepEntry {
            path: socket.to_path_buf(),
            reason: KeptBecause::Error(err),
        }),
    }
}

fn keep(report: &mut SweepReport, path: &Path, attempt: LockAttempt) {
    let reason = match attempt {
        LockAttempt::Held | LockAttempt::Replaced | LockAttempt::Acquired(_) => KeptBecause::Live,
        LockAttempt::Failed(err) => KeptBecause::Error(err),
    };
    report.kept.push(SweepEntry {
        path: path.to_path_buf(),
        reason,
    });
}

fn remove(path: &Path, report: &mut SweepReport) -> bool {
    match fs::remove_file(path) {
        Ok(()) => true,
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => {
            report.kept.push(SweepEntry {
                path: path.to_path_buf(),
                reason: KeptBecause::Error(err),
            });
            false
        }
    }
}

/// Whether something accepts connections on the Unix socket at `path`. Non-blocking, so a
/// listener with a full backlog answers "yes" instead of hanging us.
pub fn probe_listening(path: &Path) -> io::Result<bool> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    let addr = SocketAddrUnix::new(path)?;
    match rustix::net::connect(&fd, &addr) {
        Ok(()) | Err(Errno::AGAIN) | Err(Errno::INPROGRESS) => Ok(true),
        Err(Errno::CONNREFUSED) | Err(Errno::NOENT) => Ok(false),
        Err(err) => Err(err.into()),
    }
}
