//! `cargo xtask tools install`: pinned helm, minikube, kubectl and trivy for the host OS and architecture, each
//! download checked against the SHA-256 pinned in xtask/tools.lock.yaml before anything lands in .xtask/bin.
//!
//! Downloads use the `curl` executable (shipped with Linux distributions, macOS and Windows 10+) and archives are
//! unpacked with `tar`/`unzip`, so the xtask compiles no TLS or archive stack: it is the first thing every user
//! waits for.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use xshell::cmd;

use crate::context::Context;
use crate::pipeline::exec::{self, Exec};
use crate::yaml;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub tools: BTreeMap<String, LockedTool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedTool {
    pub version: String,
    /// The executable it installs as (`helm4` installs as `helm`); the tool's name when absent.
    #[serde(default)]
    pub binary: Option<String>,
    /// Installed only when named (an alternative such as Helm 4), not by a bare `tools install`.
    #[serde(default)]
    pub optional: bool,
    pub platforms: BTreeMap<String, Artifact>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub url: String,
    pub sha256: String,
    pub archive: ArchiveKind,
    /// The executable's path inside the archive; absent for plain binaries.
    #[serde(default)]
    pub path_in_archive: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ArchiveKind {
    #[serde(rename = "tar.gz")]
    TarGz,
    #[serde(rename = "zip")]
    Zip,
    #[serde(rename = "binary")]
    Binary,
}

pub fn lock_path(root: &Path) -> PathBuf {
    root.join("xtask").join("tools.lock.yaml")
}

pub fn load_lock(root: &Path) -> Result<Lock> {
    let path = lock_path(root);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (the pinned tool versions)", "xtask/tools.lock.yaml"))?;
    Ok(yaml::from_str(Path::new("xtask/tools.lock.yaml"), &text)?)
}

/// `linux-amd64`, `darwin-arm64`, `windows-amd64`: the lock file's platform keys, as upstream names its downloads.
pub fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

pub struct Install {
    pub names: Vec<String>,
    pub force: bool,
}

impl Install {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let lock = load_lock(&ctx.root)?;
        let names: Vec<String> = if self.names.is_empty() {
            lock.tools.iter().filter(|(_, t)| !t.optional).map(|(n, _)| n.clone()).collect()
        } else {
            self.names.clone()
        };
        for name in &names {
            if !lock.tools.contains_key(name) {
                let known: Vec<&str> = lock.tools.keys().map(String::as_str).collect();
                return Err(crate::pipeline::UsageError(format!(
                    "no pinned version of `{name}` in xtask/tools.lock.yaml; pinned tools: {}",
                    known.join(", ")
                ))
                .into());
            }
        }
        let mut failed = vec![];
        for name in &names {
            match install_one(ctx, &lock, name, self.force) {
                Ok(msg) => crate::errln!("{msg}"),
                Err(e) => {
                    crate::errln!("{name}: {e:#}");
                    failed.push(name.clone());
                }
            }
        }
        if !failed.is_empty() {
            bail!("not installed: {} (nothing was left in .xtask/bin for them)", failed.join(", "));
        }
        Ok(())
    }
}

/// Installs one pinned tool, or says why not. Nothing reaches .xtask/bin unless the checksum matched.
pub fn install_one(ctx: &Context, lock: &Lock, name: &str, force: bool) -> Result<String> {
    let tool = &lock.tools[name];
    let platform = host_platform();
    let art = tool.platforms.get(&platform).with_context(|| {
        format!("xtask/tools.lock.yaml pins {name} {} for no {platform} download; install it yourself", tool.version)
    })?;
    let bin_dir = ctx.local_bin();
    let exe = tool.binary.as_deref().unwrap_or(name);
    let dest = bin_dir.join(format!("{exe}{}", std::env::consts::EXE_SUFFIX));
    // The stamp is per executable, so `helm4` replacing `helm` is seen by both.
    let stamp = bin_dir.join(format!(".{exe}.version"));
    let stamp_text = format!("{name} {}", tool.version);
    if !force && dest.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str()) {
        return Ok(format!("{name} {} already installed in .xtask/bin", tool.version));
    }
    if ctx.global.dry_run {
        return Ok(format!("would download {} and check sha256 {}", art.url, art.sha256));
    }
    std::fs::create_dir_all(&bin_dir).context("creating .xtask/bin")?;
    let sh = ctx.shell()?;
    // A temp folder next to the destination, so the final move is a rename on the same file system.
    let work = bin_dir.join(format!(".install-{name}-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(work.clone());
    std::fs::create_dir_all(&work)?;
    let file_name = art.url.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("download");
    let download = work.join(file_name);
    crate::errln!("{name}: downloading {} {} for {platform}", name, tool.version);
    let url = &art.url;
    let curl = Exec::from(cmd!(sh, "curl --fail --silent --show-error --location --retry 2 --output {download} {url}"))
        .timeout(Duration::from_secs(600));
    let out = exec::run(curl).context("running curl (is it installed?)")?;
    if !out.success() {
        bail!("download of {url} failed ({}): {}", describe_exit(&out), out.tail(3));
    }
    let got = sha256_file(&download)?;
    if !got.eq_ignore_ascii_case(art.sha256.trim()) {
        bail!(
            "checksum mismatch for {url}: expected {}, got {got}. The download is corrupt or was tampered with; \
             nothing was installed",
            art.sha256
        );
    }
    let binary = match art.archive {
        ArchiveKind::Binary => download.clone(),
        kind => {
            let inner = art.path_in_archive.as_deref().context("path_in_archive is missing in the lock file")?;
            let unpack = work.join("unpacked");
            std::fs::create_dir_all(&unpack)?;
            let c = match kind {
                ArchiveKind::TarGz => cmd!(sh, "tar -xzf {download} -C {unpack}"),
                _ if cfg!(windows) => cmd!(sh, "tar -xf {download} -C {unpack}"),
                _ => cmd!(sh, "unzip -q {download} -d {unpack}"),
            };
            let out = exec::run(Exec::from(c).timeout(Duration::from_secs(300)))?;
            if !out.success() {
                bail!("unpacking {file_name} failed: {}", out.tail(3));
            }
            let p = unpack.join(inner);
            if !p.is_file() {
                bail!("{file_name} has no {inner}: the lock file's path_in_archive is wrong");
            }
            p
        }
    };
    make_executable(&binary)?;
    std::fs::rename(&binary, &dest).with_context(|| format!("moving {name} into .xtask/bin"))?;
    std::fs::write(&stamp, &stamp_text)?;
    Ok(format!("{name} {} installed into .xtask/bin (sha256 verified)", tool.version))
}

fn describe_exit(out: &exec::Output) -> String {
    format!("curl {}", out.ending())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn make_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_p: &Path) -> Result<()> {
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `cargo xtask tools list`: pinned versions and what is installed.
pub fn list(ctx: &Context) -> Result<()> {
    let lock = load_lock(&ctx.root)?;
    let platform = host_platform();
    crate::outln!("{:<10}  {:<10}  {:<12}  LOCAL", "TOOL", "PINNED", "PLATFORM");
    for (name, t) in &lock.tools {
        let exe = t.binary.as_deref().unwrap_or(name);
        let stamp = ctx.local_bin().join(format!(".{exe}.version"));
        let local = std::fs::read_to_string(stamp).unwrap_or_else(|_| "-".into());
        let plat = if t.platforms.contains_key(&platform) { platform.as_str() } else { "(none here)" };
        crate::outln!("{name:<10}  {:<10}  {plat:<12}  {local}", t.version);
    }
    Ok(())
}
