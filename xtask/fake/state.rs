//! Per-tool JSON state under `$FAKE_DIR/state/`, read-modify-written under a lock file.
//!
//! Tests run builds in parallel, so every update holds `state/.lock` (created with `create_new`, removed on drop).
//! Never sleep while holding it: slow fakes (docker build) must still overlap in time.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ctx::Ctx;

pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

pub fn lock(ctx: &Ctx) -> Result<Lock> {
    let dir = ctx.state_dir();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(".lock");
    loop {
        match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(Lock { path }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                // A holder killed mid-update leaves the file behind; nothing holds the lock for seconds.
                let stale = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > Duration::from_secs(10));
                if stale {
                    let _ = fs::remove_file(&path);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
}

fn file(ctx: &Ctx, name: &str) -> PathBuf {
    ctx.state_dir().join(format!("{name}.json"))
}

/// Loads `state/<name>.json` (default when absent). Call with the lock held if you will save.
pub fn load<T: DeserializeOwned + Default>(ctx: &Ctx, name: &str) -> Result<T> {
    let path = file(ctx, name);
    match fs::read_to_string(&path) {
        Ok(text) if text.trim().is_empty() => Ok(T::default()),
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes through a temp file + rename so lock-free readers never see half a file.
pub fn save<T: Serialize>(ctx: &Ctx, name: &str, value: &T) -> Result<()> {
    let path = file(ctx, name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    fs::write(&tmp, serde_json::to_vec_pretty(value)?).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// Locked read-modify-write of one state file.
pub fn update<T, R>(ctx: &Ctx, name: &str, f: impl FnOnce(&mut T) -> R) -> Result<R>
where
    T: DeserializeOwned + Serialize + Default,
{
    let _lock = lock(ctx)?;
    let mut value: T = load(ctx, name)?;
    let r = f(&mut value);
    save(ctx, name, &value)?;
    Ok(r)
}

/// A seeded or fixture file under `state/` (e.g. `kube/pods.json`), raw.
pub fn raw(ctx: &Ctx, rel: &str) -> Option<String> {
    fs::read_to_string(ctx.state_dir().join(rel)).ok()
}
