//! Files as Docker would send them, hashed: the walk of a build context that a `.dockerignore` filters, and each
//! file's SHA-256, remembered across runs by size, mtime and inode (target/xtask/file-hashes.json) so a no-op run
//! rehashes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dockerignore::Ignore;
use crate::files::write_atomic;
use crate::text::hex;

/// Content hashes of files already hashed, keyed by repo-relative path and checked against size, mtime and inode
/// (as git's index does): a no-op run rehashes nothing. Only the content hash enters a fingerprint, never the
/// timestamps, so a moved or renamed checkout still hits the cache (it just rehashes once).
#[derive(Default, Serialize, Deserialize)]
struct HashCache {
    files: BTreeMap<String, (u64, i128, u64, String)>,
    #[serde(skip)]
    dirty: bool,
}

static HASHES: std::sync::Mutex<Option<(PathBuf, HashCache)>> = std::sync::Mutex::new(None);

/// Loads the file-hash cache kept at `path` (once per run).
pub fn load_file_hashes(path: &Path) {
    let cache: HashCache = std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    *HASHES.lock().unwrap_or_else(|p| p.into_inner()) = Some((path.to_path_buf(), cache));
}

/// Writes the file-hash cache back if it changed.
pub fn save_file_hashes() -> Result<()> {
    let guard = HASHES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((path, cache)) = guard.as_ref() {
        if cache.dirty {
            write_atomic(path, serde_json::to_string(cache)?.as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn stamp(m: &std::fs::Metadata) -> (u64, i128, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.len(), i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()), m.ino())
}

#[cfg(not(unix))]
fn stamp(m: &std::fs::Metadata) -> (u64, i128, u64) {
    let t = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos() as i128);
    (m.len(), t.unwrap_or(0), 0)
}

/// SHA-256 of a file's content (and, with `mode`, its executable bit, which Docker sends with the file).
pub(super) fn file_hash(root: &Path, rel: &Path, mode: bool) -> Result<String> {
    let full = root.join(rel);
    let meta = std::fs::metadata(&full)?;
    let (len, mtime, ino) = stamp(&meta);
    let key = format!("{}{}", if mode { "m:" } else { "" }, slash(rel));
    if let Some((_, c)) = HASHES.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        if let Some((l, t, i, h)) = c.files.get(&key) {
            if (*l, *t, *i) == (len, mtime, ino) {
                return Ok(h.clone());
            }
        }
    }
    let bytes = std::fs::read(&full).with_context(|| format!("reading {}", rel.display()))?;
    let mut h = Sha256::new();
    h.update(&bytes);
    if mode {
        h.update([u8::from(is_executable(&full))]);
    }
    let digest = hex(&h.finalize());
    if let Some((_, c)) = HASHES.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        c.files.insert(key, (len, mtime, ino, digest.clone()));
        c.dirty = true;
    }
    Ok(digest)
}

pub(super) fn slash(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(_p: &Path) -> bool {
    false
}

/// Files under `dir` (relative paths, sorted) that `ignore` keeps. Symlinks are hashed by their target's content,
/// as Docker sends the link and the build reads through it.
pub(super) fn walk(dir: &Path, ignore: &Ignore) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let full = dir.join(&rel);
        let entries = match std::fs::read_dir(&full) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.as_os_str().is_empty() => return Ok(out),
            Err(e) => return Err(e).with_context(|| format!("listing {}", full.display())),
        };
        for entry in entries {
            let entry = entry?;
            let r = rel.join(entry.file_name());
            let ft = entry.file_type()?;
            let path = slash(&r);
            if ft.is_dir() {
                // Descend unless the folder is excluded and no `!` rule could bring back something inside it.
                if !ignore.excluded(&path) || ignore.has_exceptions() {
                    stack.push(r);
                }
            } else if !ignore.excluded(&path) && (ft.is_file() || full.join(entry.file_name()).is_file()) {
                out.push(r);
            }
        }
    }
    out.sort();
    Ok(out)
}
