//! The vulnerability gate's reading of Trivy: its JSON reports in every shape current and older versions print,
//! and an ignore file whose entries carry a reason and an expiry date. Trivy runs without its own severity and
//! ignore filters, so the verdict (and why each finding was let through) is ours and the same on every version.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::config::{Severity, VulnGate};
use crate::yaml;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub package: String,
    pub installed: String,
    pub fixed: Option<String>,
    pub severity: Severity,
    pub target: String,
    /// Where a language package was found (`PkgPath`), for ignore entries limited by `paths`.
    pub pkg_path: Option<String>,
    /// The package URL (`PkgIdentifier.PURL`), for ignore entries limited by `purls`.
    pub purl: Option<String>,
}

/// All findings in a `trivy image --format json` report. Handles: schema 2 (`{"SchemaVersion":2,"Results":[...]}`),
/// `Results` or `Vulnerabilities` absent (Trivy omits empty lists) or null, and pre-0.20 reports (a bare array of
/// results). Unknown severities count as UNKNOWN.
pub fn parse_report(json: &str) -> Result<Vec<Finding>> {
    let v: Value = serde_json::from_str(json.trim()).context("Trivy did not print a JSON report")?;
    let results = match &v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => match o.get("Results") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => vec![],
            Some(_) => bail!("Trivy's report has a `Results` that is not a list"),
        },
        _ => bail!("Trivy's report is neither an object nor a list"),
    };
    let mut out = vec![];
    for r in results {
        let target = r["Target"].as_str().unwrap_or("").to_string();
        let Some(vulns) = r["Vulnerabilities"].as_array() else { continue };
        for f in vulns {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            let severity = match f["Severity"].as_str().unwrap_or("UNKNOWN").to_ascii_uppercase().as_str() {
                "CRITICAL" => Severity::Critical,
                "HIGH" => Severity::High,
                "MEDIUM" => Severity::Medium,
                "LOW" => Severity::Low,
                _ => Severity::Unknown,
            };
            let fixed = f["FixedVersion"].as_str().filter(|x| !x.is_empty()).map(str::to_string);
            out.push(Finding {
                id: s("VulnerabilityID"),
                package: s("PkgName"),
                installed: s("InstalledVersion"),
                fixed,
                severity,
                target: target.clone(),
                pkg_path: f["PkgPath"].as_str().map(str::to_string),
                purl: f["PkgIdentifier"]["PURL"].as_str().map(str::to_string),
            });
        }
    }
    Ok(out)
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
    /// Trivy's rule: the id matches, and when the entry names `paths` or `purls`, the finding is at one of them.
    fn applies_to(&self, f: &Finding) -> bool {
        let path = f.pkg_path.as_deref().unwrap_or(&f.target);
        self.id == f.id
            && (self.paths.is_empty() || self.paths.iter().any(|p| glob_path(p, path)))
            && (self.purls.is_empty() || f.purl.as_ref().is_some_and(|u| self.purls.contains(u)))
    }
}

/// A path pattern as Trivy's ignore file takes it: `*` within a segment, `**` across segments.
fn glob_path(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| go(rest, &s[i..])),
            [b'*', rest @ ..] => (0..=s.len()).take_while(|i| !s[..*i].contains(&b'/')).any(|i| go(rest, &s[i..])),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
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

/// Applies severities, ignore-unfixed and the ignore entries (as of `today`, `YYYY-MM-DD`).
pub fn judge(findings: Vec<Finding>, gate: &VulnGate, ignores: &[IgnoreEntry], today: &str) -> Verdict {
    let mut v = Verdict::default();
    for f in findings {
        if !gate.severities.contains(&f.severity) {
            v.below_threshold += 1;
            continue;
        }
        if gate.ignore_unfixed && f.fixed.is_none() {
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
}
