//! Fake `trivy`: `--version`, `version --format json`, `image` scans and `image --download-db-only`, modelled on
//! aquasecurity/trivy v0.69.3 (line numbers from that tag unless another is named):
//! - the report: Trivy's JSON (`pkg/types/report.go`; `Results` and `Vulnerabilities` omitempty), built from the
//!   image the fake docker holds, or a seeded one from `state/trivy/<image with ':' and '/' as '_'>.json`;
//! - Rust binaries: only an executable ELF with cargo-auditable's `.dep-v0` section is a `rustbinary` target; any
//!   other binary is skipped without a word (`pkg/fanal/analyzer/language/rust/binary/binary.go:26-28`,
//!   `pkg/dependency/parser/rust/binary/parse.go:23-29`), and an image with nothing found has no `Results`;
//! - the scan cache: `<cache dir>/fanal/fanal.db` is held with an exclusive lock for the whole scan; from v0.66.0 a
//!   second process gives up after 5 s (`pkg/cache/fs.go:19,34-41`), before that it waits (trivy#650). The
//!   `memory` backend opens no file (`pkg/cache/client.go`);
//! - the vulnerability DB: downloaded when absent, or when past `NextUpdate` and downloaded over an hour ago
//!   (`pkg/db/db.go:105-184`); offline that fails (`pkg/commands/operation/operation.go:41`);
//!   `--skip-db-update` without a DB fails (db.go:122-124);
//! - config and ignore files picked up from the working directory when no flag names them: `trivy.yaml`
//!   (`pkg/flag/global_flags.go:15-22`, `pkg/commands/app.go` `initConfig`) and `.trivyignore`
//!   (`pkg/flag/report_flags.go:67-71`);
//! - `--quiet` on v0.51.x discards every log line, the fatal one included (v0.51.0 `pkg/log/logger.go:30-34`;
//!   fixed in v0.52.0, #6827).
//!
//! Knobs: FAKE_TRIVY_VERSION, FAKE_TRIVY_SCAN_MS (how long a scan holds the cache), FAKE_TRIVY_DB
//! (`fresh`, `stale`, `absent`), FAKE_TRIVY_OFFLINE=1 (every download fails).

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{ctx::Ctx, state};

const VALUED: &[&str] = &[
    "-f",
    "--format",
    "-s",
    "--severity",
    "--scanners",
    "-o",
    "--output",
    "--exit-code",
    "--ignorefile",
    "--cache-dir",
    "--cache-backend",
    "-c",
    "--config",
    "--timeout",
    "--db-repository",
    "--platform",
    "--image-src",
    "--pkg-types",
    "-t",
    "--template",
];

const HOUR_MS: u64 = 3_600_000;

fn version(ctx: &Ctx) -> String {
    ctx.env("FAKE_TRIVY_VERSION").unwrap_or_else(|| "0.69.3".into()).trim_start_matches('v').to_string()
}

/// (major, minor) of the modelled version.
fn minor(ctx: &Ctx) -> (u64, u64) {
    let v = version(ctx);
    let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// `db/metadata.json`'s times, in ms since the epoch.
#[derive(Serialize, Deserialize, Clone, Copy)]
struct DbMeta {
    next_update_ms: u64,
    downloaded_ms: u64,
}

/// The DB in the cache dir: what a download left in `state/trivy-db.json`, else FAKE_TRIVY_DB.
fn db_meta(ctx: &Ctx) -> Option<DbMeta> {
    if let Some(text) = state::raw(ctx, "trivy-db.json") {
        return serde_json::from_str(&text).ok();
    }
    let now = util::now_ms();
    match ctx.env("FAKE_TRIVY_DB").as_deref() {
        Some("absent") => None,
        Some("stale") => Some(DbMeta { next_update_ms: now - 24 * HOUR_MS, downloaded_ms: now - 48 * HOUR_MS }),
        _ => Some(DbMeta { next_update_ms: now + 6 * HOUR_MS, downloaded_ms: now - 2 * HOUR_MS }),
    }
}

fn db_json(m: &DbMeta) -> Value {
    json!({"Version": 2, "NextUpdate": util::rfc3339(m.next_update_ms), "UpdatedAt": util::rfc3339(m.downloaded_ms),
           "DownloadedAt": util::rfc3339(m.downloaded_ms)})
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(&ctx.args, VALUED);
    if f.has(&["-v", "--version"]) {
        let mut out = format!("Version: {}\n", version(ctx));
        if let Some(m) = db_meta(ctx) {
            out.push_str(&format!(
                "Vulnerability DB:\n  Version: 2\n  UpdatedAt: {}\n  NextUpdate: {}\n  DownloadedAt: {}\n",
                util::rfc3339(m.downloaded_ms),
                util::rfc3339(m.next_update_ms),
                util::rfc3339(m.downloaded_ms)
            ));
        }
        return Ok(Reply::ok(out));
    }
    match f.pos.first().map(String::as_str) {
        Some("version") => Ok(Reply::ok(match f.get(&["-f", "--format"]).as_deref() {
            // `VulnerabilityDB` is absent before the first download (docs/dev/tool-facts.md, trivy).
            Some("json") => {
                let mut v = json!({"Version": version(ctx)});
                if let Some(m) = db_meta(ctx) {
                    v["VulnerabilityDB"] = db_json(&m);
                }
                format!("{v}\n")
            }
            _ => format!("Version: {}\n", version(ctx)),
        })),
        Some("image" | "i") => image(ctx, &f),
        Some(other) => Ok(Reply::fail(
            1,
            format!("Error: unknown command \"{other}\" for \"trivy\"\nRun 'trivy --help' for usage.\n"),
        )),
        None => Ok(Reply::ok("Scanner for vulnerabilities in container images, file systems, and Git repositories\n")),
    }
}

fn log_line(level: &str, msg: &str) -> String {
    format!("{}\t{level}\t{msg}\n", util::rfc3339_secs(util::now_ms()).replace('Z', "+00:00"))
}

/// A fatal error as `cmd/trivy/main.go:18-31` prints it, and exit 1. `--quiet` discards the other log lines; the
/// fatal one still reaches stderr (`pkg/log/logger.go:86-94`), except on v0.51.x, which discards it too.
fn fatal(ctx: &Ctx, quiet: bool, logs: String, chain: &str) -> Reply {
    let line = log_line("FATAL", &format!("Fatal error\t{chain}"));
    Reply::fail(
        1,
        match (quiet, minor(ctx) == (0, 51)) {
            (true, true) => String::new(),
            (true, false) => line,
            (false, _) => format!("{logs}{line}"),
        },
    )
}

/// `trivy.yaml` keys the fake applies (a config file sets any flag by its name: `pkg/flag/options.go`).
#[derive(Default)]
struct Config {
    severity: Option<String>,
    exit_code: Option<i32>,
    ignorefile: Option<String>,
}

/// The config file: `--config`/`-c`, else `trivy.yaml` in the working directory if it exists. An explicitly named
/// file that is missing is an error (`initConfig`); an empty one sets nothing.
fn config(ctx: &Ctx, f: &Flags) -> std::result::Result<Config, String> {
    let named = f.get(&["-c", "--config"]);
    let path = ctx.cwd().join(named.clone().unwrap_or_else(|| "trivy.yaml".into()));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if named.is_none() => return Ok(Config::default()),
        Err(_) => {
            return Err(format!(
                "config file \"{}\" loading error: open {}: no such file or directory",
                named.unwrap_or_default(),
                path.display()
            ))
        }
    };
    let v: Value = serde_norway::from_str(&text).unwrap_or(Value::Null);
    Ok(Config {
        severity: v["severity"].as_str().map(str::to_string).or_else(|| {
            v["severity"].as_array().map(|a| a.iter().filter_map(|s| s.as_str()).collect::<Vec<_>>().join(","))
        }),
        exit_code: v["exit-code"].as_i64().map(|c| c as i32),
        ignorefile: v["ignorefile"].as_str().map(str::to_string),
    })
}

fn ignored_ids(ctx: &Ctx, f: &Flags, cfg: &Config) -> Vec<String> {
    let path = f.get(&["--ignorefile"]).or_else(|| cfg.ignorefile.clone()).unwrap_or_else(|| ".trivyignore".into());
    let text = std::fs::read_to_string(ctx.cwd().join(&path)).unwrap_or_default();
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        // `vulnerabilities: - id: CVE-...` entries; expired_at is not evaluated by the fake.
        text.lines()
            .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("id:"))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
            .collect()
    } else {
        text.lines().map(|l| l.split('#').next().unwrap_or("").trim().to_string()).filter(|l| !l.is_empty()).collect()
    }
}

/// `operation.DownloadDB` (operation.go:25-50): whether the DB needs an update, and the download.
fn prepare_db(ctx: &Ctx, skip: bool, logs: &mut String) -> std::result::Result<(), String> {
    let now = util::now_ms();
    let needs = match db_meta(ctx) {
        None if skip => {
            logs.push_str(&log_line("ERROR", "[vulndb] The first run cannot skip downloading DB"));
            return Err("database error: --skip-db-update cannot be specified on the first run".into());
        }
        None => true,
        Some(_) if skip => false,
        Some(m) => !(now < m.next_update_ms || now < m.downloaded_ms + HOUR_MS),
    };
    if !needs {
        return Ok(());
    }
    logs.push_str(&log_line("INFO", "[vulndb] Need to update DB"));
    logs.push_str(&log_line("INFO", "[vulndb] Downloading vulnerability DB..."));
    if ctx.env_is("FAKE_TRIVY_OFFLINE", "1") {
        return Err("failed to download vulnerability DB: OCI artifact error: failed to download vulnerability DB: \
                    failed to download artifact from mirror.gcr.io/aquasec/trivy-db:2: OCI repository error: Get \
                    \"https://mirror.gcr.io/v2/\": dial tcp: lookup mirror.gcr.io: no such host"
            .into());
    }
    let meta = DbMeta { next_update_ms: now + 6 * HOUR_MS, downloaded_ms: now };
    state::save(ctx, "trivy-db", &meta).map_err(|e| e.to_string())?;
    logs.push_str(&log_line("INFO", "[vulndb] Artifact successfully downloaded"));
    Ok(())
}

/// The scan cache's lock file, held until dropped (the process exiting releases it too, as bbolt's flock).
struct CacheLock(#[allow(dead_code)] std::fs::File);

/// Opens `<cache dir>/fanal/fanal.db` with an exclusive lock (bbolt `Open` with `Options.Timeout`).
fn lock_scan_cache(ctx: &Ctx, f: &Flags) -> std::result::Result<Option<CacheLock>, String> {
    let backend = f.get(&["--cache-backend"]).or_else(|| ctx.env("TRIVY_CACHE_BACKEND")).unwrap_or_else(|| "fs".into());
    if backend == "memory" {
        return Ok(None);
    }
    // The default cache dir is os.UserCacheDir()/trivy (`pkg/cache/dir.go`); the fake keeps it under FAKE_DIR.
    let dir = f
        .get(&["--cache-dir"])
        .map(|d| ctx.cwd().join(d))
        .or_else(|| ctx.env("TRIVY_CACHE_DIR").map(Into::into))
        .unwrap_or_else(|| ctx.state_dir().join("trivy-cache"));
    let path = dir.join("fanal").join("fanal.db");
    std::fs::create_dir_all(path.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let blocking = minor(ctx) < (0, 66);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if try_flock(&file, blocking) {
            return Ok(Some(CacheLock(file)));
        }
        if std::time::Instant::now() >= deadline {
            return Err("unable to initialize cache: unable to initialize fs cache: cache may be in use by another \
                        process: timeout"
                .into());
        }
        // bbolt retries its flock every 50 ms until the timeout (bolt_unix.go `flock`).
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
fn try_flock(file: &std::fs::File, blocking: bool) -> bool {
    use std::os::unix::io::AsRawFd;
    let op = if blocking { libc::LOCK_EX } else { libc::LOCK_EX | libc::LOCK_NB };
    // SAFETY: flock on a file descriptor this process owns.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

#[cfg(not(unix))]
fn try_flock(_file: &std::fs::File, _blocking: bool) -> bool {
    true
}

/// The report of an image no seeded report exists for: the image as the fake daemon holds it, with one
/// `rustbinary` result per executable that carries cargo-auditable's `.dep-v0` section (the only Rust binaries
/// Trivy reads). Err: the fatal chain for an image the daemon does not have.
fn report_from_daemon(
    ctx: &Ctx,
    img: &str,
    quiet: bool,
    logs: &mut String,
) -> Result<std::result::Result<Value, String>> {
    let st: crate::daemon::DockerState = state::load(ctx, "docker")?;
    let norm = crate::daemon::normalize(img);
    // FAKE_DOCKER_IMAGES: images the fake daemon is told it has (pulled bases), with no files we know of.
    let listed = ctx
        .env("FAKE_DOCKER_IMAGES")
        .is_some_and(|v| v.split(',').any(|i| crate::daemon::normalize(i.trim()) == norm))
        .then(|| crate::daemon::Image { id: format!("sha256:{}", util::hex256(img.as_bytes())), ..Default::default() });
    let found = st.tags.get(&norm).and_then(|id| st.images.get(id)).cloned().or(listed);
    let Some(image) = found else {
        return Ok(Err(format!("run error: image scan error: scan error: unable to initialize a scan service: unable to initialize an image scan service: unable to find the specified image \"{img}\" in [\"docker\" \"containerd\" \"podman\" \"remote\"]")));
    };
    if !quiet {
        logs.push_str(&log_line("INFO", "Detected OS\tfamily=\"none\""));
    }
    let results: Vec<Value> = image
        .files
        .iter()
        .filter(|f| f.executable && f.dep_v0)
        .map(|f| json!({"Target": f.path, "Class": "lang-pkgs", "Type": "rustbinary"}))
        .collect();
    let mut report = json!({
        "SchemaVersion": 2,
        "CreatedAt": util::rfc3339(util::now_ms()),
        "ArtifactName": img,
        "ArtifactType": "container_image",
        "Metadata": {"ImageID": image.id, "DiffIDs": image.layers, "RepoTags": [img], "RepoDigests": [],
                     "ImageConfig": {"architecture": "amd64", "os": "linux", "config": image.config}},
    });
    if !results.is_empty() {
        report["Results"] = json!(results);
    }
    Ok(Ok(report))
}

/// Drops the findings outside `--severity`, unfixed ones with `--ignore-unfixed`, and ignored ids; a result left
/// without findings loses its `Vulnerabilities` key. Returns how many remain.
fn filter_findings(
    report: &mut Value,
    severities: &Option<Vec<String>>,
    ignore_unfixed: bool,
    ignored: &[String],
) -> usize {
    let mut remaining = 0;
    if let Some(results) = report.get_mut("Results").and_then(Value::as_array_mut) {
        for r in results {
            if let Some(vulns) = r.get_mut("Vulnerabilities").and_then(Value::as_array_mut) {
                vulns.retain(|v| {
                    let sev = v["Severity"].as_str().unwrap_or("UNKNOWN");
                    let fixed = v.get("FixedVersion").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
                    let wanted = match &severities {
                        Some(list) => list.iter().any(|s| s == sev),
                        None => true,
                    };
                    wanted
                        && (!ignore_unfixed || fixed)
                        && !ignored.iter().any(|id| v["VulnerabilityID"] == id.as_str())
                });
                remaining += vulns.len();
                if vulns.is_empty() {
                    if let Some(o) = r.as_object_mut() {
                        o.remove("Vulnerabilities");
                    }
                }
            }
        }
    }
    remaining
}

fn image(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let quiet = f.has(&["-q", "--quiet"]);
    let mut logs = String::new();
    let cfg = match config(ctx, f) {
        Ok(c) => c,
        Err(e) => return Ok(fatal(ctx, quiet, logs, &e)),
    };
    if f.get(&["-c", "--config"]).is_none() && ctx.cwd().join("trivy.yaml").is_file() {
        logs.push_str(&log_line("INFO", "Loaded\tfile_path=\"trivy.yaml\""));
    }
    let skip_db = f.has(&["--skip-db-update", "--skip-update"]) || ctx.env_is("TRIVY_SKIP_DB_UPDATE", "true");
    if let Err(e) = prepare_db(ctx, skip_db, &mut logs) {
        return Ok(fatal(ctx, quiet, logs, &format!("run error: init error: DB error: {e}")));
    }
    if f.has(&["--download-db-only"]) {
        // artifact/run.go:337-343: only the DB, no scan.
        return Ok(Reply::ok("").with_err(if quiet { String::new() } else { logs }));
    }
    let Some(img) = f.pos.get(1).cloned() else {
        return Ok(fatal(ctx, quiet, logs, "requires at least 1 argument"));
    };
    if !quiet {
        logs.push_str(&log_line("INFO", "[vuln] Vulnerability scanning is enabled"));
    }
    let lock = match lock_scan_cache(ctx, f) {
        Ok(l) => l,
        Err(e) => {
            // pkg/commands/run.go:27-29 adds its hint before main prints the fatal error.
            logs.push_str(&log_line(
                "ERROR",
                "Failed to acquire cache or database lock, see https://trivy.dev/docs/latest/guide/references/troubleshooting/#database-and-cache-lock-errors for troubleshooting",
            ));
            let chain = format!("run error: image scan error: scan error: unable to initialize a scan service: {e}");
            return Ok(fatal(ctx, quiet, logs, &chain));
        }
    };
    if let Some(ms) = ctx.env("FAKE_TRIVY_SCAN_MS").and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let file = format!("trivy/{}.json", img.replace([':', '/'], "_"));
    let mut report: Value = match state::raw(ctx, &file) {
        Some(text) => serde_json::from_str(&text)?,
        None => match report_from_daemon(ctx, &img, quiet, &mut logs)? {
            Ok(report) => report,
            Err(chain) => return Ok(fatal(ctx, quiet, logs, &chain)),
        },
    };
    drop(lock);
    let severities: Option<Vec<String>> = f
        .get(&["-s", "--severity"])
        .or_else(|| cfg.severity.clone())
        .map(|s| s.split(',').map(|x| x.trim().to_uppercase()).collect());
    let ignore_unfixed = f.has(&["--ignore-unfixed"]);
    let ignored = ignored_ids(ctx, f, &cfg);
    let remaining = filter_findings(&mut report, &severities, ignore_unfixed, &ignored);
    let format = f.get(&["-f", "--format"]).unwrap_or_else(|| "table".into());
    let body = if format == "json" {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        format!("\n{img}\n{}\nTotal: {remaining}\n", "=".repeat(img.len()))
    };
    let out = match f.get(&["-o", "--output"]) {
        Some(p) => {
            std::fs::write(ctx.cwd().join(p), body)?;
            String::new()
        }
        None => body,
    };
    let exit_code: i32 = f.get(&["--exit-code"]).and_then(|c| c.parse().ok()).or(cfg.exit_code).unwrap_or(0);
    let logs = if quiet { String::new() } else { logs };
    Ok(Reply::ok(out).with_err(logs).with_code(if remaining > 0 { exit_code } else { 0 }))
}
