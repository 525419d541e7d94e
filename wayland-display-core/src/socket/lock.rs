//! The `NAME.lock` + `flock` half of the naming convention.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::FileId;

/// An exclusive `flock` on a lock file; released when dropped.
#[derive(Debug)]
pub(crate) struct NameLock {
    // Held only for its flock; closing it unlocks.
    _file: File,
    path: PathBuf,
    id: FileId,
    created: bool,
}

pub(crate) enum LockAttempt {
    Acquired(NameLock),
    /// Another open file description holds the lock: the name is live.
    Held,
    /// The path no longer names the file we locked (it was removed or replaced between
    /// our open and our lock), so the lock proves nothing.
    Replaced,
    Failed(io::Error),
}

impl NameLock {
    /// Opens (creating if needed) and locks `path` without blocking.
    pub(crate) fn acquire(path: &Path) -> LockAttempt {
        // create_new first, so we know whether the file is ours to remove if we give up.
        let mut options = OpenOptions::new();
        options.read(true).write(true).mode(0o660);
        let (file, created) = match options.clone().create_new(true).open(path) {
            Ok(file) => (file, true),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => match options.open(path) {
                Ok(file) => (file, false),
                Err(err) => return LockAttempt::Failed(err),
            },
            Err(err) => return LockAttempt::Failed(err),
        };
        Self::lock_open_file(file, path, created)
    }

    /// Locks `path` only if it exists; used by sweeping, which must not create files.
    pub(crate) fn acquire_existing(path: &Path) -> LockAttempt {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => Self::lock_open_file(file, path, false),
            Err(err) => LockAttempt::Failed(err),
        }
    }

    fn lock_open_file(file: File, path: &Path, created: bool) -> LockAttempt {
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return LockAttempt::Held,
            Err(TryLockError::Error(err)) => return LockAttempt::Failed(err),
        }
        let id = match file.metadata() {
            Ok(m) => FileId::of_metadata(&m),
            Err(err) => return LockAttempt::Failed(err),
        };
        // An owner that exits unlinks its lock file and then closes it; had we opened the
        // file before the unlink, we would now hold a lock on a file nobody can see while a
        // newcomer creates and locks a fresh one under the same name.
        if FileId::of_path(path) != Some(id) {
            return LockAttempt::Replaced;
        }
        LockAttempt::Acquired(NameLock {
            _file: file,
            path: path.to_path_buf(),
            id,
            created,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file if the path still names it. The lock itself is released when
    /// `self` drops, after the unlink, so nobody can lock the name while the file goes.
    pub(crate) fn remove_file(&self) {
        if FileId::of_path(&self.path) == Some(self.id)
            && let Err(err) = fs::remove_file(&self.path)
        {
            tracing::warn!(path = %self.path.display(), %err, "could not remove lock file");
        }
    }

    /// Gives up a name we could not bind: a lock file we created goes, one we found stays.
    pub(crate) fn remove_file_if_created(self) {
        if self.created {
            self.remove_file();
        }
    }
}
