//! The content-hash cache: a step's fingerprint is a SHA-256 over named inputs (files as Docker would send them,
//! values such as build args, config sections and tool versions). Names are repo-relative with `/` separators and
//! no timestamps go in, so renaming or moving the checkout keeps the cache. State is written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dockerignore::Ignore;
use super::file_hashes::{file_hash, slash, walk};
use crate::files::write_atomic;
use crate::text::hex;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Input name (`file:apps/todo-api/src/main.rs`, `arg:VERSION`) → SHA-256 of its content.
    pub inputs: BTreeMap<String, String>,
    /// Inputs a dry run cannot know (a tool's version, asked of the tool): taken from the last run as unchanged.
    pub unknown: Vec<String>,
}

impl Fingerprint {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn value(mut self, name: &str, value: &str) -> Self {
        self.inputs.insert(name.to_string(), sha(value.as_bytes()));
        self
    }

    /// A secret input: stored as an HMAC-SHA256 keyed with this checkout's random key ([`checkout_key`]), so
    /// state.json cannot be used to check a guessed password offline.
    pub fn secret_value(mut self, name: &str, value: &str, key: &[u8]) -> Self {
        self.inputs.insert(name.to_string(), hmac_sha256(key, value.as_bytes()));
        self
    }

    /// A value that may be unknown (None in a dry run, where no tool is asked).
    pub fn maybe_value(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.value(name, v),
            None => {
                self.unknown.push(name.to_string());
                self
            }
        }
    }

    /// Fills the unknown inputs from an earlier run's.
    pub fn assume_unchanged(&mut self, old: &BTreeMap<String, String>) {
        for k in std::mem::take(&mut self.unknown) {
            if let Some(v) = old.get(&k) {
                self.inputs.insert(k, v.clone());
            }
        }
    }

    /// One file, named by its path relative to `root`. A missing file is an input too (`missing`).
    pub fn file(mut self, root: &Path, rel: &Path) -> Result<Self> {
        let name = format!("file:{}", slash(rel));
        let digest = match file_hash(root, rel, false) {
            Ok(h) => h,
            Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) => {
                "missing".into()
            }
            Err(e) => return Err(e),
        };
        self.inputs.insert(name, digest);
        Ok(self)
    }

    /// Every file under `rel` (skipping `target/`, `node_modules/` and VCS folders).
    pub fn tree(mut self, root: &Path, rel: &Path) -> Result<Self> {
        let ignore = Ignore::parse("target\nnode_modules\n.git\n")?;
        for f in walk(&root.join(rel), &ignore)? {
            self = self.file(root, &rel.join(&f))?;
        }
        Ok(self)
    }

    /// A Docker build context as Docker would send it: every file under `context` that `.dockerignore` does not
    /// exclude, with its executable bit (Docker sends file modes).
    pub fn docker_context(mut self, root: &Path, context: &Path) -> Result<Self> {
        let dir = root.join(context);
        let file = context.join(".dockerignore");
        let ignore = match std::fs::read_to_string(root.join(&file)) {
            // Docker refuses the same patterns, so the build would fail on them too.
            Ok(t) => Ignore::parse(&t).with_context(|| format!("{} (Docker would refuse it too)", file.display()))?,
            Err(_) => Ignore::default(),
        };
        for f in walk(&dir, &ignore)? {
            let rel = context.join(&f);
            self.inputs.insert(format!("file:{}", slash(&rel)), file_hash(root, &rel, true)?);
        }
        Ok(self)
    }

    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (k, v) in &self.inputs {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        hex(&h.finalize())
    }

    /// Human reasons why `self` differs from `old`: "apps/x/src/main.rs changed", "arg:VERSION added".
    pub fn diff(&self, old: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = vec![];
        for (k, v) in &self.inputs {
            match old.get(k) {
                Some(o) if o == v => {}
                Some(_) => out.push(format!("{} changed", shown(k))),
                None => out.push(format!("{} added", shown(k))),
            }
        }
        for k in old.keys() {
            if !self.inputs.contains_key(k) {
                out.push(format!("{} removed", shown(k)));
            }
        }
        out
    }
}

fn shown(key: &str) -> &str {
    key.strip_prefix("file:").unwrap_or(key)
}

/// HMAC-SHA256 (RFC 2104) as hex.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    hex(&Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize())
}

/// This checkout's key for [`Fingerprint::secret_value`]: 32 random bytes in `target/xtask/secret.key` (0600),
/// made on first use. Deleting it only costs one redeploy.
pub fn checkout_key(state_dir: &Path) -> Result<Vec<u8>> {
    // Steps run in parallel: one makes the key, the others wait and read it.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = MAKING.lock().unwrap_or_else(|p| p.into_inner());
    let path = state_dir.join("secret.key");
    if let Ok(k) = std::fs::read(&path) {
        if k.len() == 32 {
            return Ok(k);
        }
    }
    std::fs::create_dir_all(state_dir).with_context(|| format!("creating {}", state_dir.display()))?;
    let mut key = vec![0u8; 32];
    {
        let mut f = std::fs::File::open("/dev/urandom").context("reading /dev/urandom for the checkout's key")?;
        std::io::Read::read_exact(&mut f, &mut key)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    std::io::Write::write_all(&mut f, &key)?;
    drop(f);
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(key)
}

pub fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// What the cache remembers of each step that succeeded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub steps: BTreeMap<String, StepState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepState {
    pub fingerprint: String,
    pub inputs: BTreeMap<String, String>,
    /// Facts the step wants back on a cached run (an image id, the URL it printed).
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

impl State {
    pub fn load(path: &Path) -> State {
        // A corrupt or older state only costs a rebuild; never fail a run on it.
        std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Write-then-rename, so an interrupted run never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, serde_json::to_string_pretty(self)?.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn diff_names_changed_inputs() {
        let a = Fingerprint::new().value("arg:V", "1").value("file:src/a.rs", "x");
        let b = Fingerprint::new().value("arg:V", "1").value("file:src/a.rs", "y").value("file:src/b.rs", "z");
        assert_eq!(b.diff(&a.inputs), vec!["src/a.rs changed", "src/b.rs added"]);
        assert_ne!(a.digest(), b.digest());
    }
}
