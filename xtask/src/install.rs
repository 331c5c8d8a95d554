//! `cargo xtask tools install`: pinned helm, minikube, kubectl and trivy for the host OS and architecture, each
//! download checked against the SHA-256 pinned in xtask/tools.lock.yaml before anything lands in .xtask/bin.
//!
//! Downloads use the `curl` executable (shipped with Linux distributions, macOS and Windows 10+) and archives are
//! unpacked with `tar`/`unzip`, so the xtask compiles no TLS or archive stack: it is the first thing every user
//! waits for.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use xshell::cmd;

use crate::config::ByteSize;
use crate::context::Context;
use crate::error::Error;
use crate::pipeline::console::{self, Shown};
use crate::pipeline::exec::{self, Exec};
use crate::report::CommandRecord;
use crate::text::hex;
use crate::yaml;

/// curl gives up on a connection (DNS, TCP, TLS) that takes longer than this.
pub const CONNECT_TIMEOUT_SECS: u64 = 10;
/// ... and on a transfer slower than [`LOW_SPEED_BYTES`] per second for this long (a server that accepts and never
/// answers, a stalled proxy).
pub const LOW_SPEED_SECS: u64 = 15;
pub const LOW_SPEED_BYTES: u64 = 1024;
/// curl retries a timed-out transfer this often (curl(1) `--retry`: timeouts and DNS failures are transient).
pub const RETRIES: u64 = 1;
/// The stated bound on a stalled download of one tool: every attempt ends within the connect timeout plus the
/// low-speed window, and curl waits 1 s before its retry: 2 × (10 + 15) + 1 = 51 s.
pub const STALL_BOUND_SECS: u64 = (RETRIES + 1) * (CONNECT_TIMEOUT_SECS + LOW_SPEED_SECS) + RETRIES;
/// A download that keeps making (slow) progress is stopped after this long.
pub const DOWNLOAD_LIMIT: Duration = Duration::from_secs(600);

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
    let lock: Lock = yaml::from_str(Path::new("xtask/tools.lock.yaml"), &text)?;
    lock.check(&text)?;
    Ok(lock)
}

impl Lock {
    /// The lock file decides where files go: tool and executable names must be plain names and the path inside
    /// an archive a relative path without `..`, so no entry can place or move a file outside .xtask/bin.
    fn check(&self, text: &str) -> Result<()> {
        let at = |key: &str, v: &str| {
            let (l, c) = crate::config_check::locate(text, key, v, false);
            crate::error::Position::new(Path::new("xtask/tools.lock.yaml"), l, c)
        };
        let refuse = |key: &str, v: &str, why: String| -> anyhow::Error {
            Error::config_at(at(key, v), format!("{key} `{}` {why}", v.escape_default())).into()
        };
        for (name, t) in &self.tools {
            crate::names::plain(name).map_err(|w| refuse(name, name, format!("is not a plain tool name: {w}")))?;
            if let Some(b) = &t.binary {
                crate::names::plain(b).map_err(|w| refuse("binary", b, format!("is not a plain file name: {w}")))?;
            }
            for a in t.platforms.values() {
                if !(a.url.starts_with("https://") || a.url.starts_with("http://")) {
                    return Err(refuse("url", &a.url, "is not an http(s) URL".into()));
                }
                if a.sha256.trim().len() != 64 || !a.sha256.trim().chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(refuse("sha256", &a.sha256, "is not a SHA-256 (64 hex digits)".into()));
                }
                if let Some(p) = &a.path_in_archive {
                    let path = Path::new(p);
                    let plain = !p.is_empty()
                        && !p.starts_with('-')
                        && path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
                    if !plain {
                        return Err(refuse(
                            "path_in_archive",
                            p,
                            "must be a relative path inside the archive, without `..`, `.` or a leading `/`".into(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
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
                return Err(Error::usage(format!(
                    "no pinned version of `{name}` in xtask/tools.lock.yaml; pinned tools: {}",
                    known.join(", ")
                ))
                .into());
            }
        }
        // Independent downloads run at once; progress lines at most every 5 s per tool.
        let last_shown = std::sync::Mutex::new(BTreeMap::<String, Instant>::new());
        let show = |name: &str, line: &str| {
            let mut last = last_shown.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.get(name).is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
            if due {
                last.insert(name.to_string(), Instant::now());
                console::show(Shown::Info(line));
            }
        };
        let results: Vec<(String, Result<String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let (lock, show) = (&lock, &show);
                    scope.spawn(move || {
                        let commands = std::sync::Mutex::new(vec![]);
                        let progress = |line: &str| show(name, line);
                        let io = InstallIo { progress: &progress, log: None, commands: &commands };
                        (name.clone(), install_one(ctx, lock, name, self.force, &io))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| (String::new(), Err(anyhow::anyhow!("panicked")))))
                .collect()
        });
        if exec::interrupted() {
            return Err(Error::Interrupted.into());
        }
        let mut failed = vec![];
        for (name, r) in results {
            match r {
                Ok(msg) => console::show(Shown::Info(&msg)),
                Err(e) => {
                    console::show(Shown::Info(&format!("{name}: {e:#}")));
                    failed.push(name);
                }
            }
        }
        if !failed.is_empty() {
            bail!("not installed: {} (nothing was left in .xtask/bin for them)", failed.join(", "));
        }
        Ok(())
    }
}

/// Where an install reports to; shared by installs running at once.
pub struct InstallIo<'a> {
    /// The download's state about once a second: the first line names the URL, the later ones bytes of total.
    pub progress: &'a (dyn Fn(&str) + Sync),
    /// The step log that gets each command line and its output.
    pub log: Option<PathBuf>,
    /// Each command run (curl, tar), for the report.
    pub commands: &'a std::sync::Mutex<Vec<CommandRecord>>,
}

impl InstallIo<'_> {
    fn run(&self, mut e: Exec) -> std::io::Result<exec::Output> {
        e.log = self.log.clone();
        let shown = e.display();
        let out = exec::run(e)?;
        self.commands.lock().unwrap_or_else(|p| p.into_inner()).push(CommandRecord {
            command: shown,
            exit_code: out.code,
            duration_ms: out.duration.as_millis() as u64,
            timed_out: out.timed_out,
        });
        Ok(out)
    }
}

/// Installs one pinned tool, or says why not. Nothing reaches .xtask/bin unless the checksum matched.
/// Err([`Interrupted`]) after Ctrl-C, and nothing is started once the run was interrupted.
pub fn install_one(ctx: &Context, lock: &Lock, name: &str, force: bool, io: &InstallIo) -> Result<String> {
    let progress = io.progress;
    if exec::interrupted() {
        return Err(Error::Interrupted.into());
    }
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
    // A name of ours: the URL's last segment could be `..` or hold a separator.
    let file_name = match art.archive {
        ArchiveKind::TarGz => "download.tar.gz",
        ArchiveKind::Zip => "download.zip",
        ArchiveKind::Binary => "download",
    };
    let download = work.join(file_name);
    let url = &art.url;
    progress(&format!("{name}: downloading {name} {} for {platform} from {url}", tool.version));
    let headers = work.join("headers.txt");
    // Shown relative to the project (the shell runs there), so reports do not carry the checkout's location.
    let (download_arg, headers_arg) = (ctx.rel(&download).into_owned(), ctx.rel(&headers).into_owned());
    let (connect, low_time, low_bytes, retries) = (
        CONNECT_TIMEOUT_SECS.to_string(),
        LOW_SPEED_SECS.to_string(),
        LOW_SPEED_BYTES.to_string(),
        RETRIES.to_string(),
    );
    // curl(1): --connect-timeout bounds DNS + TCP + TLS; --speed-limit/--speed-time abort a transfer that moves
    // less than N bytes/s for M seconds (also while waiting for the response); --retry retries timeouts. The
    // headers of every response (redirects too) go to a file, so the progress line can show the total size.
    let curl = Exec::from(cmd!(
        sh,
        "curl --fail --silent --show-error --location --connect-timeout {connect} --speed-limit {low_bytes} --speed-time {low_time} --retry {retries} --dump-header {headers_arg} --output {download_arg} {url}"
    ))
    .timeout(DOWNLOAD_LIMIT);
    let started = Instant::now();
    let out = std::thread::scope(|scope| {
        let curl = scope.spawn(|| io.run(curl));
        let mut shown = Instant::now();
        while !curl.is_finished() {
            std::thread::sleep(Duration::from_millis(100));
            if shown.elapsed() >= Duration::from_secs(1) {
                shown = Instant::now();
                let got = std::fs::metadata(&download).map(|m| m.len()).unwrap_or(0);
                let total = content_length(&headers).map(|t| ByteSize(t).to_string()).unwrap_or_else(|| "?".into());
                progress(&format!(
                    "{name}: {} of {total} from {url} ({}s)",
                    ByteSize(got),
                    started.elapsed().as_secs()
                ));
            }
        }
        curl.join().unwrap_or_else(|_| Err(std::io::Error::other("the download thread panicked")))
    })
    .context("running curl (is it installed?)")?;
    if out.interrupted {
        return Err(Error::Interrupted.into());
    }
    if !out.success() {
        bail!("{}", download_failure(url, &out));
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
            let unpack_arg = ctx.rel(&unpack).into_owned();
            let c = match kind {
                ArchiveKind::TarGz => cmd!(sh, "tar -xzf {download_arg} -C {unpack_arg}"),
                _ if cfg!(windows) => cmd!(sh, "tar -xf {download_arg} -C {unpack_arg}"),
                _ => cmd!(sh, "unzip -q {download_arg} -d {unpack_arg}"),
            };
            let out = io.run(Exec::from(c).timeout(Duration::from_secs(300)))?;
            if !out.success() {
                bail!("unpacking {file_name} failed: {}", out.tail(3));
            }
            regular_entry(&unpack, inner).with_context(|| format!("{file_name} ({url}): {inner}"))?
        }
    };
    // The executable is copied into a fresh file of ours (never chmod-ed or moved where it was unpacked: a link
    // there could point anywhere), then renamed into place, which replaces a link at the destination, not its target.
    let ready = work.join("ready");
    copy_into_new(&binary, &ready)?;
    std::fs::rename(&ready, &dest).with_context(|| format!("moving {name} into .xtask/bin"))?;
    crate::files::write_atomic(&stamp, stamp_text.as_bytes())?;
    Ok(format!("{name} {} installed into .xtask/bin (sha256 verified)", tool.version))
}

/// Why a download failed, with curl's own last line once (its retries repeat it).
fn download_failure(url: &str, out: &exec::Output) -> String {
    let last = out.stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_string();
    if out.timed_out {
        return format!(
            "download of {url} was still running after {} (it kept making slow progress) and was stopped",
            crate::text::fmt_duration(DOWNLOAD_LIMIT)
        );
    }
    match out.code {
        // curl's CURLE_OPERATION_TIMEDOUT: the connect timeout or the low-speed limit.
        Some(28) => format!(
            "download of {url} timed out: no connection within {CONNECT_TIMEOUT_SECS} s, or less than \
             {LOW_SPEED_BYTES} bytes/s for {LOW_SPEED_SECS} s, on each of {} attempts (a stalled download gives up \
             within {STALL_BOUND_SECS} s): {last}. Check the network or the proxy (HTTPS_PROXY)",
            RETRIES + 1
        ),
        _ => format!("download of {url} failed (curl {}): {last}", out.ending()),
    }
}

/// The size announced by the last response (after redirects), from curl's `--dump-header` file.
fn content_length(headers: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(headers).ok()?;
    text.lines().rev().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        // A redirect's own length (often 0) is not the file's.
        k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok().filter(|n| *n > 0)).flatten()
    })
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

/// The unpacked entry `inner` under `unpack`, if every folder on the way is a real folder and the entry a regular
/// file with one link: a symbolic link or a hard link in the archive is refused, wherever it points.
fn regular_entry(unpack: &Path, inner: &str) -> Result<PathBuf> {
    let mut p = unpack.to_path_buf();
    let parts: Vec<_> = Path::new(inner).components().collect();
    for (i, c) in parts.iter().enumerate() {
        p.push(c.as_os_str());
        let meta = std::fs::symlink_metadata(&p)
            .with_context(|| "the archive has no such entry: the lock file's path_in_archive is wrong".to_string())?;
        let last = i + 1 == parts.len();
        if meta.file_type().is_symlink() {
            bail!("the archive holds it as a symbolic link, not a file; refused (nothing was installed)");
        }
        if !last && !meta.is_dir() {
            bail!("the archive has no such entry: the lock file's path_in_archive is wrong");
        }
        if last {
            if !meta.is_file() {
                bail!("the archive holds it as something other than a regular file; refused (nothing was installed)");
            }
            #[cfg(unix)]
            if std::os::unix::fs::MetadataExt::nlink(&meta) > 1 {
                bail!("the archive holds it as a hard link; refused (nothing was installed)");
            }
        }
    }
    Ok(p)
}

/// Copies `from` (a regular file) into `to`, a file that must not exist yet, made executable.
fn copy_into_new(from: &Path, to: &Path) -> Result<()> {
    let mut src = std::fs::File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o755);
    let mut dst = o.open(to).with_context(|| format!("creating {}", to.display()))?;
    std::io::copy(&mut src, &mut dst)?;
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
    console::show(Shown::Result(&format!("{:<10}  {:<10}  {:<12}  LOCAL", "TOOL", "PINNED", "PLATFORM")));
    for (name, t) in &lock.tools {
        let exe = t.binary.as_deref().unwrap_or(name);
        let stamp = ctx.local_bin().join(format!(".{exe}.version"));
        let local = std::fs::read_to_string(stamp).unwrap_or_else(|_| "-".into());
        let plat = if t.platforms.contains_key(&platform) { platform.as_str() } else { "(none here)" };
        console::show(Shown::Result(&format!("{name:<10}  {:<10}  {plat:<12}  {local}", t.version)));
    }
    Ok(())
}
