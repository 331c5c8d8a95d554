//! One run at a time per checkout (see [`RunLock`]).

use std::time::Duration;

use anyhow::{anyhow, Result};

use crate::error::Error;

/// One run at a time per checkout: two runs would race on the cache state, the images and the release. The lock
/// is an OS file lock (flock on Unix, LockFileEx on Windows) on target/xtask/run.lock, held for the run's life and
/// released by the OS however the process ends, so a killed run never leaves a lock to break. The file holds the
/// owner's pid and command, for the message the refused run prints; it is never deleted, because a run that
/// opened the old file would then lock a different one than a run that created the new file.
pub(super) struct RunLock(std::fs::File);

impl RunLock {
    pub(super) fn take(state_dir: &std::path::Path, command: &str) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        std::fs::create_dir_all(state_dir)?;
        let path = state_dir.join("run.lock");
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| anyhow!("could not open target/xtask/run.lock: {e}"))?;
        match f.try_lock() {
            Ok(()) => {
                f.set_len(0)?;
                f.write_all(format!("{} cargo xtask {command}\n", std::process::id()).as_bytes())?;
                f.flush()?;
                Ok(RunLock(f))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                // The holder writes its pid right after locking; give it a moment to do so.
                let mut holder = String::new();
                for _ in 0..50 {
                    holder.clear();
                    let _ = f.rewind();
                    let _ = f.read_to_string(&mut holder);
                    if holder.ends_with('\n') {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let holder = holder.trim().split_once(' ').map(|(pid, cmd)| (pid.to_string(), cmd.to_string()));
                Err(Error::Locked { holder }.into())
            }
            Err(std::fs::TryLockError::Error(e)) => Err(anyhow!(
                "could not lock target/xtask/run.lock: {e} — the file system may not support locks; run from a local \
                 disk"
            )),
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptied while still held, so the next holder's pid is never mixed with ours; closing the file unlocks.
        let _ = self.0.set_len(0);
    }
}
