//! The lake's writer lock: one `extract` at a time writes a lake. An exclusive advisory lock
//! (`flock`, through std's `File::try_lock`) on `<lake>/.lock`, held until the process ends
//! (a kill -9 releases it with the process, so there is never a stale lock to clean up).
//! A second run does not wait: it stops with one line saying who holds the lake.
//!
//! The lock is taken before the first write, never earlier than needed: a run that writes
//! nothing (bad input, an unreachable API, a dry run) leaves no trace in the lake, not even the
//! lock file. Readers (`load`, zstdcat, DuckDB) ignore the file and never take the lock.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock file, at the lake root.
pub const LOCK_FILE: &str = ".lock";

/// Why the lake could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock: the run must stop without writing.
    #[error(
        "another extract is running on the lake {} (it holds {}): this run stopped without writing anything; run it again once the other one is done",
        lake.display(),
        file.display()
    )]
    Busy { lake: PathBuf, file: PathBuf },
    #[error("locking the lake {}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The writer lock of one lake, taken at most once and held until dropped.
#[derive(Debug)]
pub struct LakeLock {
    root: PathBuf,
    held: Mutex<Option<File>>,
}

impl LakeLock {
    pub fn new(root: &Path) -> LakeLock {
        LakeLock {
            root: root.to_path_buf(),
            held: Mutex::new(None),
        }
    }

    pub fn file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    /// Takes the lock unless this run holds it already; creates the lake root if need be.
    /// Cheap once held, so every write may call it first.
    pub fn acquire(&self) -> Result<(), LockError> {
        let mut held = self.held.lock().expect("lake lock mutex is never poisoned");
        if held.is_some() {
            return Ok(());
        }
        let file = self.file();
        let io = |source| LockError::Io {
            file: file.clone(),
            source,
        };
        std::fs::create_dir_all(&self.root).map_err(io)?;
        // Opened for writing too: some network file systems grant an exclusive lock only then.
        let handle = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&file)
            .map_err(io)?;
        match handle.try_lock() {
            Ok(()) => {
                *held = Some(handle);
                Ok(())
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy {
                lake: self.root.clone(),
                file,
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_lake_is_refused_until_the_first_is_dropped() {
        let root = std::env::temp_dir().join(format!(
            "pmu-lake-lock-{}-{}/lake",
            std::process::id(),
            rand::random::<u64>()
        ));
        let first = LakeLock::new(&root);
        first.acquire().unwrap();
        first
            .acquire()
            .expect("taking it again in the same run is a no-op");
        assert!(root.join(LOCK_FILE).is_file());

        let second = LakeLock::new(&root);
        let err = second.acquire().unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("another extract is running") && msg.contains(&root.display().to_string()),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one line: {msg}");

        drop(first);
        second.acquire().expect("free once the first run is gone");
        let _ = std::fs::remove_dir_all(root.parent().unwrap());
    }
}
