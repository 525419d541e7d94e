//! What the host writes down about each running lobby, so that after a crash its next run
//! can find and end what the lobby left. One JSON file per lobby, written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// Why the last write failed, until one succeeds: the host is degraded meanwhile.
    problem: Mutex<Option<String>>,
}

/// A record that could not be written; nothing of it was left behind.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write the lobby record in {}: {source} (free space there, or give the host \
     another --state-dir)",
    dir.display()
)]
pub(crate) struct WriteError {
    dir: PathBuf,
    source: std::io::Error,
}

/// How much a probe writes: about a record, so that a disk with room for it has room for
/// a record.
const PROBE_BYTES: usize = 512;

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
        Ok(Self {
            dir,
            problem: Mutex::new(None),
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes to a temporary file, syncs it, and renames it over the record (then syncs the
    /// directory, so the rename itself survives a power cut): a crash leaves the old record
    /// or the new one, never half of one. A temporary file that a crash left behind is
    /// removed by [`load_all`](Self::load_all); one that a failed write made goes at once.
    pub(crate) fn write(&self, record: &Record) -> Result<(), WriteError> {
        let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other);
        let written = json.and_then(|json| {
            self.write_file(
                &format!(".{}.", record.id),
                &json,
                Some(&self.path(&record.id)),
            )
        });
        self.note(written)
    }

    /// Whether the last write failed (cheap: no probe).
    pub(crate) fn failing(&self) -> bool {
        self.lock_problem().is_some()
    }

    /// Why records cannot be written, if the last write failed and a fresh attempt (a
    /// probe, never kept) still fails; `None` once there is room again.
    pub(crate) fn problem(&self) -> Option<String> {
        self.lock_problem().as_ref()?;
        self.note(self.write_file(".probe.", &[b' '; PROBE_BYTES], None))
            .err()
            .map(|err| err.to_string())
    }

    fn lock_problem(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.problem.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers the outcome of a write for [`problem`](Self::problem).
    fn note(&self, written: std::io::Result<()>) -> Result<(), WriteError> {
        let mut problem = self.lock_problem();
        match written {
            Ok(()) => {
                *problem = None;
                Ok(())
            }
            Err(source) => {
                let err = WriteError {
                    dir: self.dir.clone(),
                    source,
                };
                *problem = Some(err.to_string());
                Err(err)
            }
        }
    }

    /// `bytes` in a synced temporary file, renamed to `target` if given; on any error (and
    /// without a target) the temporary file is removed as it drops.
    fn write_file(&self, prefix: &str, bytes: &[u8], target: Option<&Path>) -> std::io::Result<()> {
        let mut file = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        let Some(target) = target else {
            return Ok(());
        };
        file.persist(target).map_err(|e| e.error)?;
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
    start_time_in(Path::new("/proc"), pid)
}

/// [`start_time`] from the /proc at `proc` (tests read a fake one).
pub(crate) fn start_time_in(proc: &Path, pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc.join(pid.to_string()).join("stat")).ok()?;
    stat_field(&stat, 19)
}

/// Field `index` (0 is the state) of a /proc/PID/stat line, counted after the command
/// name, which is in parentheses and may contain anything.
pub(crate) fn stat_field(stat: &str, index: usize) -> Option<u64> {
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(index)?
        .parse()
        .ok()
}

/// Whether `pid` is still the process that started at `started`.
pub(crate) fn same_process(pid: u32, started: Option<u64>) -> bool {
    same_process_in(Path::new("/proc"), pid, started)
}

/// [`same_process`] against the /proc at `proc`.
pub(crate) fn same_process_in(proc: &Path, pid: u32, started: Option<u64>) -> bool {
    match (start_time_in(proc, pid), started) {
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
        assert_eq!(records.problem(), None);
    }

    #[test]
    fn a_failed_write_names_the_directory_until_a_write_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path()).unwrap();
        let lobbies = dir.path().join("lobbies");
        // A directory in the record's place: the rename fails after the temporary file
        // was written.
        std::fs::create_dir(lobbies.join("a1.json")).unwrap();
        std::fs::write(lobbies.join("a1.json/x"), b"").unwrap();
        let record = Record {
            id: "a1".into(),
            ..Record::default()
        };
        let err = records.write(&record).unwrap_err().to_string();
        assert!(err.contains(&lobbies.display().to_string()), "{err}");
        assert!(err.contains("--state-dir"), "{err}");
        assert_eq!(
            std::fs::read_dir(&lobbies).unwrap().count(),
            1,
            "a temporary file was left behind"
        );
        // The probe writes fine, so the problem is over.
        assert_eq!(records.problem(), None);
        records
            .write(&Record {
                id: "b2".into(),
                ..Record::default()
            })
            .unwrap();
        assert_eq!(records.problem(), None);
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
