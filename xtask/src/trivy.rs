//! The vulnerability gate's reading of Trivy: its JSON reports in every shape current and older versions print,
//! and an ignore file whose entries carry a reason and an expiry date. Trivy runs without its own severity and
//! ignore filters, so the verdict (and why each finding was let through) is ours and the same on every version.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use serde_json::Value;
use xshell::cmd;

use crate::config::{Severity, VulnGate};
use crate::pipeline::exec::Exec;
use crate::pipeline::{Ran, StepCx};
use crate::yaml;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub package: String,
    pub installed: String,
    pub fixed: Option<String>,
    /// Trivy's `Status` (`fixed`, `affected`, `will_not_fix`, ...), absent in reports before v0.35.
    pub status: Option<String>,
    pub severity: Severity,
    pub target: String,
    /// Where a language package was found (`PkgPath`), for ignore entries limited by `paths`.
    pub pkg_path: Option<String>,
    /// The package URL (`PkgIdentifier.PURL`), for ignore entries limited by `purls`.
    pub purl: Option<String>,
}

/// One result of a Trivy report: a scanned target (the OS packages, a binary, a lock file) and its findings
/// (trivy `pkg/types/report.go` Result: `Target`, `Class`, `Type`, `Vulnerabilities`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReportResult {
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(rename = "Type", default)]
    kind: Option<String>,
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

/// One finding (trivy `pkg/types/vulnerability.go` DetectedVulnerability, with the `Vulnerability` it embeds).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID", default)]
    vulnerability_id: Option<String>,
    #[serde(default)]
    pkg_name: Option<String>,
    #[serde(default)]
    installed_version: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    pkg_path: Option<String>,
    #[serde(default)]
    pkg_identifier: Option<PkgIdentifier>,
}

#[derive(Debug, Default, Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL", default)]
    purl: Option<String>,
}

/// The results of a report: a bare array before v0.20, else the `Results` of the schema-2 object.
fn results_of(v: Value) -> Result<Vec<ReportResult>> {
    let results = match v {
        Value::Array(a) => Value::Array(a),
        Value::Object(mut o) => match o.remove("Results") {
            Some(Value::Array(a)) => Value::Array(a),
            Some(Value::Null) | None => return Ok(vec![]),
            Some(_) => bail!("Trivy's report has a `Results` that is not a list"),
        },
        _ => bail!("Trivy's report is neither an object nor a list"),
    };
    serde_json::from_value(results).context("Trivy's report has results of an unexpected shape")
}

/// All findings in a `trivy image --format json` report. Handles: schema 2 (`{"SchemaVersion":2,"Results":[...]}`),
/// `Results` or `Vulnerabilities` absent (Trivy omits empty lists) or null, and pre-0.20 reports (a bare array of
/// results). Unknown severities count as UNKNOWN.
pub fn parse_report(json: &str) -> Result<Vec<Finding>> {
    let v: Value = serde_json::from_str(json.trim()).context("Trivy did not print a JSON report")?;
    let mut out = vec![];
    for r in results_of(v)? {
        let target = r.target.unwrap_or_default();
        let Some(vulns) = r.vulnerabilities else { continue };
        for f in vulns {
            let severity = match f.severity.as_deref().unwrap_or("UNKNOWN").to_ascii_uppercase().as_str() {
                "CRITICAL" => Severity::Critical,
                "HIGH" => Severity::High,
                "MEDIUM" => Severity::Medium,
                "LOW" => Severity::Low,
                _ => Severity::Unknown,
            };
            out.push(Finding {
                id: f.vulnerability_id.unwrap_or_default(),
                package: f.pkg_name.unwrap_or_default(),
                installed: f.installed_version.unwrap_or_default(),
                fixed: f.fixed_version.filter(|x| !x.is_empty()),
                status: f.status.filter(|x| !x.is_empty()),
                severity,
                target: target.clone(),
                pkg_path: f.pkg_path,
                purl: f.pkg_identifier.and_then(|p| p.purl),
            });
        }
    }
    Ok(out)
}

/// The `Target`s of language-package results (`Class: lang-pkgs`, e.g. a `rustbinary`): what Trivy found to
/// match crates against. Trivy leaves out a binary it cannot read, so none for a Rust image means it saw no crate.
pub fn language_targets(json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json.trim()).unwrap_or(Value::Null);
    results_of(v)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r.class.as_deref() == Some("lang-pkgs") || matches!(r.kind.as_deref(), Some("rustbinary" | "cargo"))
        })
        .filter_map(|r| r.target)
        .collect()
}

/// `trivy version --format json`: the cached vulnerability database, when there is one (trivy
/// `pkg/version/version.go` VersionInfo: `VulnerabilityDB` with `DownloadedAt`, `NextUpdate`).
#[derive(Debug, Default, Deserialize)]
struct VersionAnswer {
    #[serde(rename = "VulnerabilityDB", default)]
    vulnerability_db: Option<DbInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DbInfo {
    #[serde(default)]
    downloaded_at: Option<String>,
    #[serde(default)]
    next_update: Option<String>,
}

/// Variables through which Trivy would filter or judge findings before we see them (flags win over them, but
/// the ones we do not pass would still apply).
const FILTER_ENV: &[&str] = &[
    "TRIVY_CONFIG",
    "TRIVY_SEVERITY",
    "TRIVY_IGNOREFILE",
    "TRIVY_IGNORE_UNFIXED",
    "TRIVY_IGNORE_STATUS",
    "TRIVY_IGNORE_POLICY",
    "TRIVY_EXIT_CODE",
    "TRIVY_EXIT_ON_EOL",
    "TRIVY_VEX",
    "TRIVY_SHOW_SUPPRESSED",
    "TRIVY_FORMAT",
    "TRIVY_OUTPUT",
    "TRIVY_QUIET",
];

/// Every severity Trivy knows: passed explicitly so neither a config file nor TRIVY_SEVERITY can narrow the scan.
const ALL_SEVERITIES: &str = "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL";

/// An empty config file and an empty ignore file of our own, so Trivy reads neither `trivy.yaml` nor
/// `.trivyignore` from the project (`pkg/flag/global_flags.go:15-22`, `pkg/flag/report_flags.go:67-71`): the
/// verdict and its ignore rules (with reason and expiry) are ours alone.
fn neutral_files(cx: &mut StepCx) -> Result<(String, String)> {
    let dir = cx.ctx.state_dir().join("trivy");
    let config = dir.join("empty-config.yaml");
    let ignore = dir.join("empty.trivyignore");
    // A plan writes nothing.
    cx.unless_planning(|_| {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for f in [&config, &ignore] {
            if !f.is_file() {
                std::fs::write(f, "").with_context(|| format!("writing {}", f.display()))?;
            }
        }
        Ok(())
    })?;
    let shown = |p: &Path| cx.ctx.rel(p).display().to_string();
    Ok((shown(&config), shown(&ignore)))
}

fn neutral(mut cmd: xshell::Cmd<'_>) -> Exec {
    for k in FILTER_ENV {
        cmd = cmd.env_remove(k);
    }
    cmd.into()
}

/// The vulnerability DB, fetched (or found fresh) once per run before any scan, by the first gate that scans;
/// the others wait for it. Scans then pass `--skip-db-update`, so no two processes write the DB at once
/// (Trivy's download lock is in-process only: `pkg/commands/operation/operation.go:22-28`). A failure is
/// remembered and repeated to every gate.
static DB_READY: std::sync::Mutex<Option<std::result::Result<String, String>>> = std::sync::Mutex::new(None);

/// Whether the user asked Trivy to use its cached DB as it is (Trivy reads TRIVY_SKIP_DB_UPDATE itself).
fn skip_db_update_env() -> bool {
    std::env::var("TRIVY_SKIP_DB_UPDATE").is_ok_and(|v| v == "true" || v == "1")
}

/// Makes sure the DB is there and current (`trivy image --download-db-only`), once per run.
pub fn prepare_db(cx: &mut StepCx) -> Result<()> {
    let (config, _) = neutral_files(cx)?;
    let download = neutral(cmd!(cx.sh, "trivy image --download-db-only --no-progress --config {config}"));
    // A plan shows the download for every gate; a run downloads once, in the first gate that gets here.
    let Ran::Done(download) = cx.declare(download) else { return Ok(()) };
    let mut ready = DB_READY.lock().unwrap_or_else(|p| p.into_inner());
    if ready.is_none() {
        *ready = Some(if skip_db_update_env() {
            Ok("TRIVY_SKIP_DB_UPDATE=true: scanning with the cached vulnerability database as it is".into())
        } else {
            fetch_db(cx, download)
        });
    }
    match ready.as_ref().expect("set above") {
        Ok(note) => {
            if !note.is_empty() {
                cx.note(note.clone());
            }
            Ok(())
        }
        Err(e) => bail!("{e}"),
    }
}

fn fetch_db(cx: &mut StepCx, download: Exec) -> std::result::Result<String, String> {
    let out = cx.probe(download).map_err(|e| format!("{e:#}"))?;
    if out.success() {
        return Ok(String::new());
    }
    let why = fatal_line(&out.stderr).unwrap_or_else(|| format!("trivy {}", out.ending()));
    // What is cached decides the advice: a DB past its next update can still be used offline; none cannot.
    let cached = cx
        .probe(cmd!(cx.sh, "trivy version --format json").into())
        .ok()
        .and_then(|o| serde_json::from_str::<VersionAnswer>(o.stdout.trim()).ok())
        .and_then(|v| v.vulnerability_db);
    Err(match cached {
        Some(db) if why.contains("failed to download vulnerability DB") => format!(
            "Trivy's vulnerability database is out of date (downloaded {}, next update due {}) and could not be \
             refreshed: {why}. If this machine is offline, scan with the cached database: set \
             TRIVY_SKIP_DB_UPDATE=true (Trivy's --skip-db-update), e.g. `TRIVY_SKIP_DB_UPDATE=true cargo xtask build`; \
             see docs/troubleshooting.md#trivy",
            db.downloaded_at.as_deref().unwrap_or("?"),
            db.next_update.as_deref().unwrap_or("?")
        ),
        None if why.contains("failed to download vulnerability DB") => format!(
            "Trivy could not download its vulnerability database and has none cached yet: {why}. Run once with \
             network access (or set TRIVY_DB_REPOSITORY to a reachable mirror); see docs/troubleshooting.md#trivy"
        ),
        _ => format!("Trivy could not prepare its vulnerability database: {why}; see docs/troubleshooting.md#trivy"),
    })
}

/// The last `FATAL` line of Trivy's log (its error chain), without the timestamp and level.
pub fn fatal_line(stderr: &str) -> Option<String> {
    stderr.lines().rev().find(|l| l.contains("\tFATAL\t") || l.contains(" FATAL ")).map(|l| {
        let msg = l.split_once("FATAL").map(|(_, m)| m).unwrap_or(l).trim();
        msg.replace('\t', " ")
    })
}

/// One scan: JSON on stdout, logs on stderr (no `--quiet`, which on 0.51.x also hid the fatal error: v0.51.0
/// `pkg/log/logger.go:30-34`), the DB as prepared, a scan cache in memory (no `fanal.db` lock for parallel scans
/// to collide on: `pkg/cache/fs.go:19,34-41`), and neither config nor ignore file of the project's.
pub fn scan(cx: &mut StepCx, tag: &str) -> Result<Ran<String>> {
    let (config, ignore) = neutral_files(cx)?;
    let sev = ALL_SEVERITIES;
    let c = cmd!(
        cx.sh,
        "trivy image --format json --scanners vuln --no-progress --skip-db-update --cache-backend memory --config {config} --ignorefile {ignore} --severity {sev} --exit-code 0 {tag}"
    );
    let Ran::Done(out) = cx.ask(neutral(c))? else { return Ok(Ran::Planned) };
    if out.success() {
        return Ok(Ran::Done(out.stdout));
    }
    let why = fatal_line(&out.stderr)
        .unwrap_or_else(|| format!("it printed no error ({}); run `trivy image {tag}` to see why", out.ending()));
    let hint = if why.contains("cache may be in use by another process") {
        "another Trivy holds its scan cache (this gate uses an in-memory cache, so that Trivy runs outside this build)"
    } else if why.contains("--skip-db-update cannot be specified on the first run") {
        "Trivy has no vulnerability database yet: run once with network access"
    } else if why.contains("unable to find the specified image") {
        "Trivy could not find the image in the Docker daemon: check `docker context ls` (Trivy >= 0.65 follows the active context)"
    } else {
        "see docs/troubleshooting.md#trivy"
    };
    bail!("Trivy could not scan {tag}: {why} — {hint}")
}

/// `.trivyignore.yaml`'s layout (Trivy's own format), with our rule that each entry says why and until when.
/// Trivy's other sections (misconfigurations, secrets, licenses) are not ours to judge, so unknown keys pass here.
#[derive(Debug, Deserialize)]
struct IgnoreFile {
    #[serde(default)]
    vulnerabilities: Vec<IgnoreEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    pub id: String,
    #[serde(default)]
    pub statement: Option<String>,
    /// `YYYY-MM-DD`; after this day the entry no longer ignores.
    #[serde(default)]
    pub expired_at: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub purls: Vec<String>,
}

impl IgnoreEntry {
    /// Trivy's rule (aquasecurity/trivy v0.69.3 `pkg/result/ignore.go:88-129,152-163`): the id matches, a `paths`
    /// pattern matches the result's `Target` or the package's `PkgPath`, and a `purls` entry matches the package's
    /// PURL by `purl.Match` (`pkg/purl/purl.go:269-294`). A finding without a PURL passes the `purls` test.
    fn applies_to(&self, f: &Finding) -> bool {
        let paths = [Some(f.target.as_str()), f.pkg_path.as_deref()];
        self.id == f.id
            && (self.paths.is_empty()
                || paths.iter().flatten().any(|path| self.paths.iter().any(|p| glob_path(p, path))))
            && (self.purls.is_empty()
                || f.purl
                    .as_deref()
                    .and_then(Purl::parse)
                    .is_none_or(|t| self.purls.iter().filter_map(|p| Purl::parse(p)).any(|p| p.matches(&t))))
    }
}

/// A package URL (`pkg:type/namespace/name@version?qualifiers#subpath`, package-url/purl-spec), as far as
/// Trivy's ignore matching reads it.
#[derive(Debug, PartialEq, Eq)]
struct Purl {
    kind: String,
    namespace: String,
    name: String,
    version: String,
    qualifiers: Vec<(String, String)>,
    subpath: String,
}

impl Purl {
    fn parse(s: &str) -> Option<Purl> {
        let rest = s.trim().strip_prefix("pkg:")?.trim_start_matches('/');
        let (rest, subpath) = rest.split_once('#').unwrap_or((rest, ""));
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (path, version) = match rest.rsplit_once('@') {
            Some((p, v)) if !p.is_empty() => (p, v),
            _ => (rest, ""),
        };
        let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segs.len() < 2 {
            return None;
        }
        let kind = segs.remove(0).to_ascii_lowercase();
        let name = percent_decode(segs.pop()?);
        let namespace = segs.iter().map(|s| percent_decode(s)).collect::<Vec<_>>().join("/");
        let qualifiers = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), percent_decode(v)))
            .collect();
        Some(Purl {
            kind,
            namespace,
            name,
            version: percent_decode(version),
            qualifiers,
            subpath: subpath.trim_matches('/').to_string(),
        })
    }

    /// `purl.Match`: type, namespace and name equal; version and subpath only when the constraint has one; every
    /// qualifier of the constraint present with the same value.
    fn matches(&self, target: &Purl) -> bool {
        self.kind == target.kind
            && self.namespace == target.namespace
            && self.name == target.name
            && (self.version.is_empty() || self.version == target.version)
            && (self.subpath.is_empty() || self.subpath == target.subpath)
            && self.qualifiers.iter().all(|q| target.qualifiers.contains(q))
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path pattern as Trivy matches it (`doublestar.Match`, bmatcuk/doublestar v4): `**` as a whole segment spans
/// any number of segments, `*` and `?` stay within one, `[...]` classes (`^` or `!` negates), `{a,b}` choices.
fn glob_path(pattern: &str, path: &str) -> bool {
    fn expand(p: &str) -> Vec<String> {
        // The first `{a,b}` group, recursively: doublestar tries each alternative.
        let Some(open) = p.find('{') else { return vec![p.to_string()] };
        let Some(close) = p[open..].find('}').map(|c| c + open) else { return vec![p.to_string()] };
        p[open + 1..close]
            .split(',')
            .flat_map(|alt| expand(&format!("{}{alt}{}", &p[..open], &p[close + 1..])))
            .collect()
    }
    fn segs(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", rest)) => (0..=s.len()).any(|i| segs(rest, &s[i..])),
            Some((first, rest)) => {
                s.first().is_some_and(|seg| one(first.as_bytes(), seg.as_bytes())) && segs(rest, &s[1..])
            }
        }
    }
    fn one(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') => (0..=s.len()).any(|i| one(&p[1..], &s[i..])),
            Some(b'?') => !s.is_empty() && one(&p[1..], &s[1..]),
            Some(b'[') => {
                let Some(end) = p.iter().skip(2).position(|c| *c == b']').map(|i| i + 2) else { return false };
                let Some(c) = s.first() else { return false };
                let (neg, class) = match p[1] {
                    b'^' | b'!' => (true, &p[2..end]),
                    _ => (false, &p[1..end]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= *c && *c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == *c;
                        i += 1;
                    }
                }
                hit != neg && one(&p[end + 1..], &s[1..])
            }
            Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && one(&p[2..], &s[1..]),
            Some(c) => s.first() == Some(c) && one(&p[1..], &s[1..]),
        }
    }
    let path: Vec<&str> = path.split('/').collect();
    expand(pattern).iter().any(|p| segs(&p.split('/').collect::<Vec<_>>(), &path))
}

pub fn load_ignores(root: &Path, rel: &Path) -> Result<Vec<IgnoreEntry>> {
    let text = match std::fs::read_to_string(root.join(rel)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("reading {}", rel.display())),
    };
    if text.trim().lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(vec![]);
    }
    let f: IgnoreFile = yaml::from_str(rel, &text)?;
    for e in &f.vulnerabilities {
        if e.statement.as_deref().is_none_or(|s| s.trim().is_empty()) {
            bail!("{}: the entry for {} has no `statement:`; say why it is safe to ignore", rel.display(), e.id);
        }
        match e.expired_at.as_deref() {
            Some(d) if is_date(d) => {}
            Some(d) => {
                bail!("{}: the entry for {} has `expired_at: {d}`; write a date as YYYY-MM-DD", rel.display(), e.id)
            }
            None => bail!(
                "{}: the entry for {} has no `expired_at:`; every ignore needs an expiry date (YYYY-MM-DD)",
                rel.display(),
                e.id
            ),
        }
    }
    Ok(f.vulnerabilities)
}

fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && d.chars().filter(|c| c.is_ascii_digit()).count() == 8
}

/// What the gate concluded.
#[derive(Debug, Default)]
pub struct Verdict {
    pub failing: Vec<Finding>,
    /// Findings let through, with why ("ignored until 2027-01-01: not reachable", "unfixed").
    pub let_through: Vec<(Finding, String)>,
    /// Expired entries that matched a finding, which therefore counts again.
    pub expired: Vec<String>,
    pub below_threshold: usize,
}

/// `--ignore-unfixed` as Trivy means it: every status but `fixed` (v0.69.3 `pkg/flag/vulnerability_flags.go:95-107`).
/// Reports without a `Status` fall back to "no fixed version".
fn unfixed(f: &Finding) -> bool {
    match f.status.as_deref() {
        Some(s) => s != "fixed",
        None => f.fixed.is_none(),
    }
}

/// Applies severities, ignore-unfixed and the ignore entries (as of `today`, `YYYY-MM-DD`).
pub fn judge(findings: Vec<Finding>, gate: &VulnGate, ignores: &[IgnoreEntry], today: &str) -> Verdict {
    let mut v = Verdict::default();
    for f in findings {
        if !gate.severities.contains(&f.severity) {
            v.below_threshold += 1;
            continue;
        }
        if gate.ignore_unfixed && unfixed(&f) {
            v.let_through.push((f, "no fixed version yet (ignore_unfixed)".into()));
            continue;
        }
        match ignores.iter().find(|e| e.applies_to(&f)) {
            Some(e) => {
                let until = e.expired_at.as_deref().unwrap_or("");
                // Trivy drops an entry once its expiry date has begun (pkg/result/ignore.go: ExpiredAt.Before(now),
                // with the date at 00:00 UTC), so on that day it no longer ignores.
                if until <= today {
                    v.expired.push(format!("{} (expired {until})", e.id));
                    v.failing.push(f);
                } else {
                    let why = e.statement.clone().unwrap_or_default();
                    v.let_through.push((f, format!("ignored until {until}: {why}")));
                }
            }
            None => v.failing.push(f),
        }
    }
    v.failing.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    v
}

pub fn describe(f: &Finding) -> String {
    format!(
        "{} {} in {} {} (fixed in {}) [{}]",
        f.severity.as_str(),
        f.id,
        f.package,
        f.installed,
        f.fixed.as_deref().unwrap_or("no release yet"),
        f.target
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trivy/");
        std::fs::read_to_string(format!("{p}{name}")).unwrap()
    }

    #[test]
    fn parses_every_shape() {
        let crit = parse_report(&fixture("image-critical-current.json")).unwrap();
        assert!(crit.iter().any(|f| f.severity == Severity::Critical));
        assert!(parse_report(&fixture("image-no-results-current.json")).unwrap().is_empty());
        assert!(parse_report(&fixture("image-no-vulns-current.json")).unwrap().is_empty());
        let legacy = parse_report(&fixture("image-critical-legacy-pre-0.20.json")).unwrap();
        assert!(!legacy.is_empty());
        assert!(parse_report(r#"{"SchemaVersion":2,"Results":null}"#).unwrap().is_empty());
        assert!(parse_report("not json").is_err());
    }

    #[test]
    fn judges_with_expiry() {
        let f = |id: &str, sev| Finding {
            id: id.into(),
            package: "p".into(),
            installed: "1".into(),
            fixed: Some("2".into()),
            status: None,
            severity: sev,
            target: "t".into(),
            pkg_path: None,
            purl: None,
        };
        let gate = VulnGate::default();
        let ign = |id: &str, until: &str| IgnoreEntry {
            id: id.into(),
            statement: Some("not reachable".into()),
            expired_at: Some(until.into()),
            paths: vec![],
            purls: vec![],
        };
        let v = judge(
            vec![f("CVE-1", Severity::Critical), f("CVE-2", Severity::High), f("CVE-3", Severity::Low)],
            &gate,
            &[ign("CVE-1", "2099-01-01"), ign("CVE-2", "2020-01-01")],
            "2026-11-22",
        );
        assert_eq!(v.failing.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), vec!["CVE-2"]);
        assert_eq!(v.let_through.len(), 1);
        assert_eq!(v.expired, vec!["CVE-2 (expired 2020-01-01)"]);
        assert_eq!(v.below_threshold, 1);
        // An entry limited to other paths does not ignore the finding here.
        let mut scoped = ign("CVE-1", "2099-01-01");
        scoped.paths = vec!["usr/lib/python3/**".into()];
        let v = judge(vec![f("CVE-1", Severity::Critical)], &gate, &[scoped.clone()], "2026-11-22");
        assert_eq!(v.failing.len(), 1);
        let mut hit = f("CVE-1", Severity::Critical);
        hit.pkg_path = Some("usr/lib/python3/site-packages/x/METADATA".into());
        assert_eq!(judge(vec![hit], &gate, &[scoped], "2026-11-22").failing.len(), 0);
    }

    /// pkg/purl/purl.go:269-294 `Match`, with the cases its doc comment names.
    #[test]
    fn purls_match_as_trivy_does() {
        let m = |c: &str, t: &str| Purl::parse(c).unwrap().matches(&Purl::parse(t).unwrap());
        assert!(m("pkg:cargo/foo", "pkg:cargo/foo@1.2.3"));
        assert!(m("pkg:cargo/foo@1.2.3", "pkg:cargo/foo@1.2.3"));
        assert!(!m("pkg:cargo/foo@1.2.4", "pkg:cargo/foo@1.2.3"));
        assert!(!m("pkg:cargo/bar", "pkg:cargo/foo@1.2.3"));
        assert!(!m("pkg:npm/foo", "pkg:cargo/foo@1.2.3"));
        assert!(m("pkg:npm/%40scope/foo", "pkg:npm/%40scope/foo@1.0.0"));
        assert!(!m("pkg:npm/other/foo", "pkg:npm/%40scope/foo@1.0.0"));
        // Constraint qualifiers must be in the target; extra target qualifiers do not matter.
        assert!(m("pkg:deb/debian/libssl@1?arch=amd64", "pkg:deb/debian/libssl@1?arch=amd64&distro=debian-12"));
        assert!(!m("pkg:deb/debian/libssl@1?arch=arm64", "pkg:deb/debian/libssl@1?arch=amd64"));
        assert!(Purl::parse("not-a-purl").is_none());
    }

    /// bmatcuk/doublestar v4 `Match` semantics for the cases ignore files use.
    #[test]
    fn paths_match_as_doublestar_does() {
        assert!(glob_path("usr/lib/**", "usr/lib/python3/x/METADATA"));
        assert!(glob_path("**/METADATA", "usr/lib/python3/x/METADATA"));
        assert!(glob_path("**", "app"));
        assert!(glob_path("app", "app"));
        assert!(!glob_path("app", "app/x"));
        assert!(glob_path("usr/*/x", "usr/lib/x"));
        assert!(!glob_path("usr/*/x", "usr/lib/a/x"));
        // `**` inside a segment is a plain `*` (doublestar: only a whole segment spans directories).
        assert!(!glob_path("usr/l**/x", "usr/lib/a/x"));
        assert!(glob_path("{usr,opt}/**", "opt/a"));
        assert!(glob_path("app-[0-9]", "app-7"));
        assert!(!glob_path("app-[!0-9]", "app-7"));
    }

    #[test]
    fn ignore_unfixed_follows_the_status() {
        let f = |status: Option<&str>, fixed: Option<&str>| Finding {
            id: "CVE-1".into(),
            package: "p".into(),
            installed: "1".into(),
            fixed: fixed.map(Into::into),
            status: status.map(Into::into),
            severity: Severity::High,
            target: "t".into(),
            pkg_path: None,
            purl: None,
        };
        assert!(!unfixed(&f(Some("fixed"), Some("2"))));
        assert!(unfixed(&f(Some("will_not_fix"), Some("2"))));
        assert!(unfixed(&f(Some("affected"), None)));
        assert!(unfixed(&f(None, None)));
        assert!(!unfixed(&f(None, Some("2"))));
    }

    #[test]
    fn reads_the_fatal_line_and_the_language_targets() {
        let err =
            "2026-11-29T00:00:00+00:00\tINFO\tx\n2026-11-29T00:00:01+00:00\tFATAL\tFatal error\trun error: boom\n";
        assert_eq!(fatal_line(err).as_deref(), Some("Fatal error run error: boom"));
        assert_eq!(fatal_line("nothing"), None);
        let rep = r#"{"Results":[{"Target":"todo-api","Class":"lang-pkgs","Type":"rustbinary"},{"Target":"x","Class":"os-pkgs"}]}"#;
        assert_eq!(language_targets(rep), ["todo-api"]);
        assert!(language_targets(r#"{"SchemaVersion":2}"#).is_empty());
    }
}
