use std::io;
use std::path::PathBuf;

/// Why a Wayland socket could not be bound. Every variant names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error(
        "XDG_RUNTIME_DIR is not set: set it to a private directory owned by this user \
         (usually /run/user/$UID) so the compositor has somewhere to put its socket"
    )]
    RuntimeDirUnset,

    #[error(
        "runtime directory {path} cannot be used ({source}); create it or point XDG_RUNTIME_DIR elsewhere"
    )]
    RuntimeDirMissing { path: PathBuf, source: io::Error },

    #[error(
        "runtime directory {path} is not writable by this user ({source}); fix its permissions \
         or point XDG_RUNTIME_DIR at a directory this user owns"
    )]
    RuntimeDirNotWritable { path: PathBuf, source: io::Error },

    #[error(
        "socket path {path} is {len} bytes long but a Unix socket path holds at most {max}; \
         use a shorter runtime directory or socket name",
        max = super::MAX_SOCKET_PATH
    )]
    PathTooLong { path: PathBuf, len: usize },

    #[error("invalid socket name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error(
        "socket {path} belongs to a running compositor (its lock {lock} is held); \
         choose another name or stop that compositor"
    )]
    InUse { path: PathBuf, lock: PathBuf },

    #[error("could not open or lock {path}: {source}")]
    Lock { path: PathBuf, source: io::Error },

    #[error("could not bind {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },

    #[error(
        "no free Wayland socket name in {dir}: tried {tried} names from wayland-{first}; \
         {live} are held by running compositors, {unusable} could not be locked or bound, \
         {stale_removed} stale sockets were removed on the way. Stop unused compositors, \
         run `gst-wayland-display sweep`, or raise the limit"
    )]
    Exhausted {
        dir: PathBuf,
        first: u32,
        tried: u32,
        live: u32,
        unusable: u32,
        stale_removed: u32,
    },
}
