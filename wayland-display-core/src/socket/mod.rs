//! Wayland socket allocation in a runtime directory.
//!
//! Follows the convention libwayland, weston and sway use: a socket `NAME` is owned by
//! whoever holds `flock(LOCK_EX)` on `NAME.lock`. A name whose lock can be taken is free,
//! whatever files lie under it; a name whose lock is held belongs to someone alive and is
//! never touched. There is no fixed limit of 32 names.

mod error;
mod lock;
mod sweep;

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

pub use error::SocketError;
pub use sweep::{KeptBecause, SweepEntry, SweepReport, probe_listening, sweep, sweep_dry_run};

use lock::{LockAttempt, NameLock};

/// Longest path a `sockaddr_un` holds, without its terminating NUL.
pub const MAX_SOCKET_PATH: usize = 107;

/// Prefix of automatically chosen names, as libwayland uses it.
pub const AUTO_PREFIX: &str = "wayland-";

/// Default number of automatic names walked before giving up.
pub const DEFAULT_MAX_AUTO: u32 = 4096;

/// Which name to bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketName {
    /// Walk `wayland-N` from [`SocketSpec::first_auto`] on and take the first free name.
    Auto,
    /// Exactly this name (relative to the runtime dir) or this absolute path.
    Explicit(String),
}

/// What [`allocate`] should bind.
#[derive(Clone, Debug)]
pub struct SocketSpec {
    /// Directory holding the socket; `None` reads `XDG_RUNTIME_DIR`.
    pub runtime_dir: Option<PathBuf>,
    pub name: SocketName,
    /// First `N` tried in auto mode. Defaults to 1: `wayland-0` is where clients without
    /// `WAYLAND_DISPLAY` connect, and a stray client must not land in somebody's lobby.
    pub first_auto: u32,
    /// How many names auto mode tries before it reports [`SocketError::Exhausted`].
    pub max_auto: u32,
}

impl Default for SocketSpec {
    fn default() -> Self {
        Self {
            runtime_dir: None,
            name: SocketName::Auto,
            first_auto: 1,
            max_auto: DEFAULT_MAX_AUTO,
        }
    }
}

impl SocketSpec {
    pub fn auto() -> Self {
        Self::default()
    }

    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: SocketName::Explicit(name.into()),
            ..Self::default()
        }
    }

    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.runtime_dir = Some(dir.into());
        self
    }
}

/// A bound, listening Wayland socket and the lock that makes it ours.
///
/// Dropping it removes the socket file and the lock file (only if they are still the ones
/// it created) and then releases the lock.
#[derive(Debug)]
pub struct WaylandSocket {
    listener: UnixListener,
    display_name: String,
    runtime_dir: PathBuf,
    socket_path: PathBuf,
    socket_id: FileId,
    lock: NameLock,
}

impl WaylandSocket {
    /// The value for `WAYLAND_DISPLAY`: the bare name, or the absolute path when one was
    /// requested.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    pub fn runtime_dir(&self) -> &Path {
        &self.runtime_dir
    }

    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    pub fn lock_path(&self) -> &Path {
        self.lock.path()
    }

    pub fn listener(&self) -> &UnixListener {
        &self.listener
    }
}

impl Drop for WaylandSocket {
    fn drop(&mut self) {
        // Someone may have deleted our file and bound their own under the same name (a
        // careless "rm wayland-*" followed by a new compositor): only remove what is ours.
        if FileId::of_path(&self.socket_path) == Some(self.socket_id)
            && let Err(err) = fs::remove_file(&self.socket_path)
        {
            tracing::warn!(path = %self.socket_path.display(), %err, "could not remove socket");
        }
        self.lock.remove_file();
        tracing::debug!(name = %self.display_name, "socket released");
    }
}

/// The identity of a file, to tell "still ours" from "replaced". The change time guards
/// against a replacement that reuses the inode number of the file it replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
    ctime: (i64, i64),
}

impl FileId {
    pub(crate) fn of_path(path: &Path) -> Option<Self> {
        fs::symlink_metadata(path)
            .ok()
            .map(|m| Self::of_metadata(&m))
    }

    pub(crate) fn of_metadata(m: &fs::Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// Resolves the runtime directory of `spec` and checks it is a usable directory.
pub fn runtime_dir(spec: &SocketSpec) -> Result<PathBuf, SocketError> {
    let dir = match &spec.runtime_dir {
        Some(dir) => dir.clone(),
        None => match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => return Err(SocketError::RuntimeDirUnset),
        },
    };
    check_dir(&dir)?;
    Ok(dir)
}

fn check_dir(dir: &Path) -> Result<(), SocketError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(SocketError::RuntimeDirMissing {
                path: dir.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        Err(source) => {
            return Err(SocketError::RuntimeDirMissing {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    // access(2) answers for the effective user, root included (a read-only mount is still
    // refused), so this is what creating the lock file would find.
    rustix::fs::access(
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .map_err(|errno| SocketError::RuntimeDirNotWritable {
        path: dir.to_path_buf(),
        source: errno.into(),
    })
}

/// Binds a Wayland socket as `spec` asks.
pub fn allocate(spec: &SocketSpec) -> Result<WaylandSocket, SocketError> {
    match &spec.name {
        SocketName::Explicit(name) => allocate_explicit(spec, name),
        SocketName::Auto => allocate_auto(spec),
    }
}

fn allocate_explicit(spec: &SocketSpec, name: &str) -> Result<WaylandSocket, SocketError> {
    let (dir, file_name, display_name) = if name.starts_with('/') {
        let path = Path::new(name);
        let (Some(parent), Some(file)) = (path.parent(), path.file_name().and_then(OsStr::to_str))
        else {
            return Err(SocketError::InvalidName {
                name: name.to_owned(),
                reason: "an absolute socket path needs a directory and a file name",
            });
        };
        // `Path` drops a trailing `/` or `/.`, but clients connect to the name as written
        // (`WAYLAND_DISPLAY`), where it would name a directory.
        if !name
            .strip_suffix(file)
            .is_some_and(|dir| dir.ends_with('/'))
        {
            return Err(SocketError::InvalidName {
                name: name.to_owned(),
                reason: "an absolute socket path must end in the socket's file name, not '/' or '/.'",
            });
        }
        check_dir(parent)?;
        (parent.to_path_buf(), file.to_owned(), name.to_owned())
    } else {
        (runtime_dir(spec)?, name.to_owned(), name.to_owned())
    };
    validate_name(&file_name).map_err(|reason| SocketError::InvalidName {
        name: name.to_owned(),
        reason,
    })?;
    let paths = NamePaths::new(&dir, &file_name)?;
    // A freshly deleted lock file can make one attempt lose a race; a second settles it.
    for _ in 0..3 {
        match claim(&paths, &dir, display_name.clone(), &mut 0) {
            Claim::Bound(socket) => return Ok(*socket),
            Claim::Live => {
                return Err(SocketError::InUse {
                    path: paths.socket,
                    lock: paths.lock,
                });
            }
            Claim::Raced => continue,
            Claim::Failed(err) => return Err(err),
        }
    }
    Err(SocketError::InUse {
        path: paths.socket,
        lock: paths.lock,
    })
}

fn allocate_auto(spec: &SocketSpec) -> Result<WaylandSocket, SocketError> {
    let dir = runtime_dir(spec)?;
    let last = spec
        .first_auto
        .saturating_add(spec.max_auto.saturating_sub(1));
    // The longest name decides whether the whole walk can fit in sun_path.
    NamePaths::new(&dir, &format!("{AUTO_PREFIX}{last}"))?;

    let mut stats = AutoStats::default();
    let mut n = spec.first_auto;
    let mut retries = 0u32;
    while n <= last && spec.max_auto > 0 {
        let name = format!("{AUTO_PREFIX}{n}");
        let paths = NamePaths::new(&dir, &name)?;
        match claim(&paths, &dir, name, &mut stats.stale_removed) {
            Claim::Bound(socket) => {
                tracing::debug!(
                    name = socket.display_name(),
                    live = stats.live,
                    stale_removed = stats.stale_removed,
                    "socket allocated"
                );
                return Ok(*socket);
            }
            Claim::Live => stats.live = stats.live.saturating_add(1),
            Claim::Raced if retries < 2 => {
                retries = retries.saturating_add(1);
                continue;
            }
            Claim::Raced => stats.live = stats.live.saturating_add(1),
            Claim::Failed(err) => {
                tracing::debug!(%err, "skipping socket name");
                stats.unusable = stats.unusable.saturating_add(1);
            }
        }
        retries = 0;
        // The walk ends at the last name; `last` may be u32::MAX.
        match n.checked_add(1) {
            Some(next) => n = next,
            None => break,
        }
    }
    Err(SocketError::Exhausted {
        dir,
        first: spec.first_auto,
        tried: spec.max_auto,
        live: stats.live,
        unusable: stats.unusable,
        stale_removed: stats.stale_removed,
    })
}

#[derive(Default)]
struct AutoStats {
    live: u32,
    unusable: u32,
    stale_removed: u32,
}

/// Checks a bare socket name: a single path component that is not a lock file.
fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name == "." || name == ".." {
        return Err("the name must be a file name");
    }
    if name.contains('/') {
        return Err("a relative name must not contain '/'; give an absolute path instead");
    }
    if name.contains('\0') {
        return Err("the name contains a NUL byte");
    }
    if name.ends_with(".lock") {
        return Err("names ending in .lock are reserved for lock files");
    }
    Ok(())
}

pub(crate) struct NamePaths {
    pub(crate) socket: PathBuf,
    pub(crate) lock: PathBuf,
}

impl NamePaths {
    pub(crate) fn new(dir: &Path, name: &str) -> Result<Self, SocketError> {
        let socket = dir.join(name);
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(SocketError::PathTooLong { path: socket, len });
        }
        let mut lock = socket.clone().into_os_string();
        lock.push(".lock");
        Ok(Self {
            socket,
            lock: PathBuf::from(lock),
        })
    }
}

enum Claim {
    Bound(Box<WaylandSocket>),
    /// Someone holds the lock.
    Live,
    /// The lock file was replaced or removed while we locked it; try the name again.
    Raced,
    Failed(SocketError),
}

/// Tries to make `paths` ours: take the lock, clear leftovers, bind. Counts the stale
/// socket files it removes in `stale_removed`.
fn claim(paths: &NamePaths, dir: &Path, display_name: String, stale_removed: &mut u32) -> Claim {
    let lock = match NameLock::acquire(&paths.lock) {
        LockAttempt::Acquired(lock) => lock,
        LockAttempt::Held => return Claim::Live,
        LockAttempt::Replaced => return Claim::Raced,
        LockAttempt::Failed(source) => {
            return Claim::Failed(SocketError::Lock {
                path: paths.lock.clone(),
                source,
            });
        }
    };
    match bind_locked(&paths.socket, stale_removed) {
        Ok((listener, socket_id)) => Claim::Bound(Box::new(WaylandSocket {
            listener,
            display_name,
            runtime_dir: dir.to_path_buf(),
            socket_path: paths.socket.clone(),
            socket_id,
            lock,
        })),
        Err(source) => {
            lock.remove_file_if_created();
            Claim::Failed(SocketError::Bind {
                path: paths.socket.clone(),
                source,
            })
        }
    }
}

/// Binds `socket` for a name whose lock we hold, so whatever lies there is a leftover of
/// a dead owner. On failure nothing of ours is left at the path.
fn bind_locked(socket: &Path, stale_removed: &mut u32) -> io::Result<(UnixListener, FileId)> {
    match fs::symlink_metadata(socket) {
        Ok(m) if m.file_type().is_socket() || m.file_type().is_file() => {
            fs::remove_file(socket)?;
            *stale_removed = stale_removed.saturating_add(1);
            tracing::debug!(path = %socket.display(), "removed stale socket");
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a directory or other non-socket file is in the way",
            ));
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let listener = UnixListener::bind(socket)?;
    let ready = fs::symlink_metadata(socket)
        .map(|m| FileId::of_metadata(&m))
        .and_then(|id| listener.set_nonblocking(true).map(|()| id));
    match ready {
        Ok(id) => Ok((listener, id)),
        Err(err) => {
            let _ = fs::remove_file(socket);
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
