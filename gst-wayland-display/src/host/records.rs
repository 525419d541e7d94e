//! What the host writes down about each running lobby, so that after a crash its next run
//! can find and end what the lobby left. One JSON file per lobby, written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Record {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) created_at: f64,
    pub(crate) worker_pid: Option<u32>,
    /// Start times (clock ticks since boot, from /proc) tell our processes from others that
    /// got the same pid later.
    pub(crate) worker_started: Option<u64>,
    pub(crate) app_pid: Option<u32>,
    pub(crate) app_started: Option<u64>,
    pub(crate) wayland_display: Option<String>,
    pub(crate) runtime_dir: Option<PathBuf>,
}

pub(crate) struct Records {
    dir: PathBuf,
}

/// Records that could not be read, and where they were moved.
pub(crate) struct Corrupt {
    pub(crate) path: PathBuf,
    pub(crate) moved_to: Option<PathBuf>,
    pub(crate) error: String,
}

impl Records {
    pub(crate) fn open(state_dir: &Path) -> std::io::Result<Self> {
        let dir = state_dir.join("lobbies");
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes to a temporary file, syncs it, and renames it over the record (then syncs the
    /// directory, so the rename itself survives a power cut): a crash leaves the old record
    /// or the new one, never half of one. A temporary file that a crash left behind is
    /// removed by [`load_all`](Self::load_all).
    pub(crate) fn write(&self, record: &Record) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        let mut file = tempfile::Builder::new()
            .prefix(&format!(".{}.", record.id))
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        file.write_all(&json)?;
        file.as_file().sync_all()?;
        file.persist(self.path(&record.id)).map_err(|e| e.error)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }

    pub(crate) fn remove(&self, id: &str) {
        if let Err(err) = std::fs::remove_file(self.path(id))
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(id, %err, "cannot remove a lobby record");
        }
    }

    /// Every record, and the unreadable ones moved to `corrupt/` beside them.
    pub(crate) fn load_all(&self) -> (Vec<Record>, Vec<Corrupt>) {
        let mut records = Vec::new();
        let mut corrupt = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (records, corrupt);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                // A write that never completed.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if !name.ends_with(".json") || !path.is_file() {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<Record>(&bytes).map_err(|e| e.to_string())
                }) {
                Ok(record) => records.push(record),
                Err(error) => {
                    let moved_to = self.move_aside(&path);
                    corrupt.push(Corrupt {
                        path,
                        moved_to,
                        error,
                    });
                }
            }
        }
        (records, corrupt)
    }

    fn move_aside(&self, path: &Path) -> Option<PathBuf> {
        let dir = self.dir.join("corrupt");
        std::fs::create_dir_all(&dir).ok()?;
        let name = path.file_name()?.to_string_lossy().to_string();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let target = dir.join(format!("{name}.{stamp}"));
        std::fs::rename(path, &target).ok()?;
        Some(target)
    }
}

/// A process's start time (field 22 of /proc/PID/stat), if it exists.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything; fields follow the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is still the process that started at `started`.
pub(crate) fn same_process(pid: u32, started: Option<u64>) -> bool {
    match (start_time(pid), started) {
        (Some(now), Some(then)) => now == then,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_corrupt_ones_move_aside() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path()).unwrap();
        let record = Record {
            id: "a1".into(),
            name: "x".into(),
            worker_pid: Some(42),
            ..Record::default()
        };
        records.write(&record).unwrap();
        std::fs::write(dir.path().join("lobbies/bad.json"), b"{ not json").unwrap();
        std::fs::write(dir.path().join("lobbies/.b2.tmp"), b"half").unwrap();
        let (loaded, corrupt) = records.load_all();
        assert_eq!(loaded, [record]);
        assert_eq!(corrupt.len(), 1);
        assert!(corrupt[0].moved_to.as_ref().unwrap().exists());
        assert!(!dir.path().join("lobbies/bad.json").exists());
        assert!(!dir.path().join("lobbies/.b2.tmp").exists());
        records.remove("a1");
        assert!(records.load_all().0.is_empty());
    }

    #[test]
    fn process_identity_uses_the_start_time() {
        let me = std::process::id();
        let started = start_time(me);
        assert!(started.is_some());
        assert!(same_process(me, started));
        assert!(!same_process(me, started.map(|s| s + 1)));
        assert!(!same_process(u32::MAX - 1, started));
    }
}
