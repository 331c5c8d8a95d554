//! Helm: every helm command line the xtask runs, each aimed at a [`Release`] (name, namespace, kube context);
//! the release's values and flags; the JSON helm prints read into small typed structs; and the differences
//! between Helm 3 and Helm 4 (`--atomic` became `--rollback-on-failure`, and a bare `--wait` now means the watcher
//! strategy). The major version is read from `helm version` once per run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::Deserialize;
use serde_json::Value;
use xshell::{cmd, Shell};

use crate::config::{self, Config};
use crate::pipeline::exec::Exec;
use crate::pipeline::{secrets, Ran, StepCx};
use crate::version::Version;

/// The release a helm call acts on, and where: every cluster-side call names its namespace and kube context, so
/// another current context never changes what the xtask acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub context: &'a str,
}

impl<'a> Release<'a> {
    /// The configured release on the configured cluster.
    pub fn of(cfg: &'a Config) -> Release<'a> {
        Release { name: &cfg.release.name, namespace: &cfg.release.namespace, context: cfg.kube_context() }
    }
}

/// `helm status -o json`, as far as the xtask reads it (Helm `pkg/release/release.go`, `info.status`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusAnswer {
    #[serde(default)]
    pub info: Option<Info>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Info {
    #[serde(default)]
    pub status: Option<String>,
}

/// One entry of `helm history -o json` (Helm 3 `cmd/helm/history.go` releaseInfo: `revision`, `updated`,
/// `status`, `chart`, `app_version`, `description`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Revision {
    #[serde(default)]
    pub revision: u64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub description: String,
}

/// `helm lint CHART ARGS...`.
pub fn lint_cmd(sh: &Shell, chart: &Path, args: &[String]) -> Exec {
    cmd!(sh, "helm lint {chart} {args...}").into()
}

/// `helm template NAME CHART -n NS ARGS...`.
pub fn template_cmd(sh: &Shell, name: &str, chart: &Path, namespace: &str, args: &[String]) -> Exec {
    cmd!(sh, "helm template {name} {chart} -n {namespace} {args...}").into()
}

/// `helm ARGS...` for a command line built and shown elsewhere (the plain manifests' header names the same
/// `helm template` arguments, so users can run it by hand).
pub fn with_args_cmd(sh: &Shell, args: &[String]) -> Exec {
    cmd!(sh, "helm {args...}").into()
}

/// `helm upgrade NAME CHART -n NS --kube-context C FLAGS... ARGS...`. Helm enforces --timeout itself; the
/// caller's `backstop` is ours, kills helm only when Helm's own limit failed.
pub fn upgrade_cmd(
    sh: &Shell,
    r: Release,
    chart: &Path,
    flags: &[String],
    args: &[String],
    backstop: Duration,
) -> Exec {
    let Release { name, namespace, context } = r;
    Exec::from(cmd!(sh, "helm upgrade {name} {chart} -n {namespace} --kube-context {context} {flags...} {args...}"))
        .timeout(backstop)
}

/// `helm upgrade --install RELEASE CHART --repo REPO -n NS --create-namespace --kube-context C --wait --timeout
/// 300s EXTRA...`: a chart straight from its repository (the addons on kind and k3d), upgraded in place when there.
pub fn install_from_repo_cmd(sh: &Shell, r: Release, chart: &str, repo: &str, extra: &[String]) -> Exec {
    let Release { name, namespace, context } = r;
    cmd!(
        sh,
        "helm upgrade --install {name} {chart} --repo {repo} -n {namespace} --create-namespace --kube-context {context} --wait --timeout 300s {extra...}"
    )
    .into()
}

/// `helm test NAME -n NS --kube-context C --timeout T`.
pub fn test_cmd(sh: &Shell, r: Release, timeout: &str) -> Exec {
    let Release { name, namespace, context } = r;
    cmd!(sh, "helm test {name} -n {namespace} --kube-context {context} --timeout {timeout}").into()
}

/// `helm rollback NAME REVISION -n NS --kube-context C WAIT --timeout T`; Helm 4's `--wait` takes a strategy.
pub fn rollback_cmd(sh: &Shell, r: Release, revision: &str, major: u64, timeout: &str) -> Exec {
    let Release { name, namespace, context } = r;
    let wait = if major >= 4 { "--wait=watcher" } else { "--wait" };
    cmd!(sh, "helm rollback {name} {revision} -n {namespace} --kube-context {context} {wait} --timeout {timeout}")
        .into()
}

/// `helm uninstall NAME -n NS --kube-context C --wait`.
pub fn uninstall_cmd(sh: &Shell, r: Release) -> Exec {
    let Release { name, namespace, context } = r;
    cmd!(sh, "helm uninstall {name} -n {namespace} --kube-context {context} --wait").into()
}

/// `helm status NAME -n NS --kube-context C -o json`.
pub fn status_cmd(sh: &Shell, r: Release) -> Exec {
    let Release { name, namespace, context } = r;
    cmd!(sh, "helm status {name} -n {namespace} --kube-context {context} -o json").into()
}

/// `helm history NAME -n NS --kube-context C -o json`.
pub fn history_cmd(sh: &Shell, r: Release) -> Exec {
    let Release { name, namespace, context } = r;
    cmd!(sh, "helm history {name} -n {namespace} --kube-context {context} -o json").into()
}

/// Helm's major version, from `helm version --short` (`v3.16.2+g13654a5`, `v4.0.0+g...`).
pub fn major(cx: &mut StepCx) -> Result<u64> {
    if let Some(major) = cx.facts().helm_major {
        return Ok(major);
    }
    let major = match cx.query(cmd!(cx.sh, "helm version --short").into()).context("helm version")? {
        Ran::Done(out) => Version::find(&out.stdout)
            .map(|v| v.major)
            .with_context(|| format!("`helm version --short` printed no version: {}", out.tail(2)))?,
        // A plan shows Helm 3's flags.
        Ran::Planned => 3,
    };
    cx.facts().helm_major = Some(major);
    Ok(major)
}

/// `upgrade --install` flags that roll back on failure and wait, for the Helm major version at hand.
pub fn upgrade_flags(major: u64, timeout: &str) -> Vec<String> {
    let mut f = vec!["--install".to_string(), "--create-namespace".into()];
    if major >= 4 {
        // Helm 4: --atomic is deprecated in favour of --rollback-on-failure; --wait takes a strategy.
        f.extend(["--rollback-on-failure".into(), "--wait=watcher".into()]);
    } else {
        f.extend(["--atomic".into(), "--wait".into()]);
    }
    f.extend(["--timeout".into(), timeout.to_string()]);
    f
}

/// Helm's duration syntax (`300s`, Go's time.ParseDuration).
pub fn go_duration(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// The secrets' values, read from their env vars or git-ignored files (generated where the config allows) and
/// registered with the redactor before anything can print them.
/// A dry run writes nothing: a secret that would be generated is shown as a placeholder.
pub fn secret_values(root: &Path, cfg: &Config, dry_run: bool) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, s) in &cfg.secrets {
        let value = match config::read_secret(root, s)? {
            Some(v) => v,
            None if s.generate && s.file.is_some() && dry_run => {
                format!("<generated into {}>", s.file.as_deref().unwrap_or(Path::new("")).display())
            }
            None if s.generate && s.file.is_some() => generate(root, s.file.as_deref().unwrap_or(Path::new("")))?,
            None => anyhow::bail!(crate::error::Error::Config {
                at: cfg.position(&format!("secrets/{name}"), s.env.as_deref().unwrap_or("")),
                message: format!(
                    "secret `{name}` has no value: set {}{}",
                    s.env.as_deref().map(|e| format!("the env var {e}")).unwrap_or_default(),
                    s.file
                        .as_deref()
                        .map(|f| format!(" or write it to {} (git-ignored)", f.display()))
                        .unwrap_or_default()
                ),
                help: None,
            }),
        };
        secrets::register(&value);
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// A random password for a dev database, written to its git-ignored file (mode 0600) so the next run reuses it.
fn generate(root: &Path, rel: &Path) -> Result<String> {
    let mut bytes = [0u8; 18];
    match std::fs::File::open("/dev/urandom") {
        Ok(mut f) => std::io::Read::read_exact(&mut f, &mut bytes)?,
        Err(_) => {
            // No /dev/urandom (Windows): hash-seeded randomness from the OS-keyed RandomState.
            use std::hash::{BuildHasher, Hasher};
            for chunk in bytes.chunks_mut(8) {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u128(std::time::SystemTime::now().elapsed().map(|d| d.as_nanos()).unwrap_or(0));
                chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
            }
        }
    }
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let value: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    let path = root.join(rel);
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&path, format!("{value}\n")).with_context(|| format!("writing {}", rel.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(value)
}

/// `-f` and `--set` arguments for the release: values files, plain sets and image tags. Secrets are not among
/// them: see [`SecretValues`].
pub fn value_args(cfg: &Config, image_tags: &BTreeMap<String, String>) -> Vec<String> {
    let mut a = vec![];
    for f in &cfg.release.values {
        a.push("-f".into());
        a.push(f.display().to_string());
    }
    for (k, v) in &cfg.release.set {
        a.push("--set".into());
        a.push(format!("{k}={v}"));
    }
    for (k, name) in &cfg.release.image_values {
        if let Some(tag) = image_tags.get(name) {
            a.push("--set".into());
            a.push(format!("{k}={tag}"));
        }
    }
    a
}

/// The chart values that come from secrets (`release.secret_values`), as a nested JSON object (`database.password`
/// becomes `{"database":{"password":...}}`; JSON is YAML, so Helm reads it as a values file). Every value is a
/// string, as with `--set-string`: a password of digits stays a string.
pub fn secret_values_json(cfg: &Config, secrets: &BTreeMap<String, String>) -> Option<String> {
    let mut root = serde_json::Map::new();
    for (key, name) in &cfg.release.secret_values {
        let Some(v) = secrets.get(name) else { continue };
        let parts: Vec<&str> = key.split('.').collect();
        let mut node = &mut root;
        for p in &parts[..parts.len() - 1] {
            let next = node.entry(p.to_string()).or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !next.is_object() {
                *next = Value::Object(serde_json::Map::new());
            }
            node = next.as_object_mut().expect("just made an object");
        }
        node.insert(parts[parts.len() - 1].to_string(), Value::String(v.clone()));
    }
    (!root.is_empty()).then(|| Value::Object(root).to_string())
}

/// Secret values handed to one helm call as a values file (mode 0600, in the run folder under target/, removed
/// when this is dropped), never as `--set` arguments: a process's arguments can be read by every user of the
/// machine (`ps`, /proc/<pid>/cmdline).
pub struct SecretValues(Option<std::path::PathBuf>);

impl SecretValues {
    /// Writes the file for `step` and returns the `-f` arguments that pass it (none when there are no secrets).
    pub fn write(cx: &StepCx, json: Option<&str>, step: &str) -> Result<(SecretValues, Vec<String>)> {
        let Some(json) = json else { return Ok((SecretValues(None), vec![])) };
        let path = cx.run_dir.join("secrets").join(format!("{}.json", step.replace([':', '/', ' '], "_")));
        let shown = cx.ctx.rel(&path).display().to_string();
        // A plan writes nothing: it shows where the file would be.
        let Ran::Done(guard) = cx.for_real(|| Self::write_file(&path, json))? else {
            return Ok((SecretValues(None), vec!["-f".into(), shown]));
        };
        Ok((guard, vec!["-f".into(), shown]))
    }

    fn write_file(path: &Path, json: &str) -> Result<SecretValues> {
        let dir = path.parent().context("secrets folder")?;
        std::fs::create_dir_all(dir)?;
        // Tracked before it exists, so a hard exit between the write and the guard still removes it.
        secrets::track_file(path);
        let guard = SecretValues(Some(path.to_path_buf()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
            std::io::Write::write_all(&mut f, json.as_bytes())?;
        }
        #[cfg(not(unix))]
        std::fs::write(path, json)?;
        Ok(guard)
    }
}

impl Drop for SecretValues {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            secrets::forget_file(p);
        }
    }
}

/// `helm status -o json`: the release's status (`deployed`, `failed`, `pending-upgrade`, ...), None when there is
/// no such release (`Error: release: not found`).
pub fn status(cx: &mut StepCx, r: Release) -> Result<Option<String>> {
    let out = cx.probe(status_cmd(&cx.sh, r))?;
    if !out.success() {
        // Only Helm's own `release: not found` (pkg/storage/driver/driver.go:29): a missing kube context also says
        // "not found" (`Kubernetes cluster unreachable: context was not found for specified context: P`).
        if out.stderr.contains("release: not found") {
            return Ok(None);
        }
        anyhow::bail!("`helm status {}` failed: {}", r.name, out.tail(3));
    }
    let v: StatusAnswer = serde_json::from_str(out.stdout.trim()).context("helm status printed no JSON")?;
    Ok(v.info.and_then(|i| i.status))
}

/// `helm history -o json`: the release's revisions, oldest first; no answer reads as no revisions.
pub fn history(cx: &mut StepCx, r: Release) -> Result<Ran<Vec<Revision>>> {
    let Ran::Done(out) = cx.query(history_cmd(&cx.sh, r))? else { return Ok(Ran::Planned) };
    Ok(Ran::Done(serde_json::from_str(out.stdout.trim()).unwrap_or_default()))
}

/// The reason in a failed `helm upgrade`'s error: the line after `Error: UPGRADE FAILED:` / `INSTALLATION FAILED:`.
pub fn failure_reason(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("Error:"))
        .map(|l| l.trim_start_matches("Error:").trim().to_string())
        .unwrap_or_else(|| crate::pipeline::exec::tail_lines(stderr, 2))
}

/// The test pods a failed `helm test` names: `Error: 1 error occurred:` then `\t* pod NAME failed` (Helm 3
/// `pkg/action/release_testing.go`, the same in Helm 4; tests/fixtures/helm/test-fail-pod.stderr.txt).
pub fn failed_test_pods(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("* pod ")?.strip_suffix(" failed").map(str::to_string))
        .collect()
}

/// Whether the error says Helm rolled the release back (`--atomic` / `--rollback-on-failure`).
pub fn rolled_back(stderr: &str) -> bool {
    stderr.contains("has been rolled back") || stderr.contains("uninstalled due to")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/helm/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn reads_status_and_history() {
        let status: StatusAnswer = serde_json::from_str(&fixture("status.stdout.json")).unwrap();
        assert_eq!(status.info.and_then(|i| i.status).as_deref(), Some("deployed"));
        let history: Vec<Revision> = serde_json::from_str(&fixture("history.stdout.json")).unwrap();
        let got: Vec<(u64, &str)> = history.iter().map(|r| (r.revision, r.status.as_str())).collect();
        assert_eq!(got, [(3, "superseded"), (4, "deployed")]);
    }

    #[test]
    fn flags_per_major_version() {
        assert!(upgrade_flags(3, "300s").contains(&"--atomic".to_string()));
        assert!(upgrade_flags(4, "300s").contains(&"--rollback-on-failure".to_string()));
        assert!(!upgrade_flags(4, "300s").contains(&"--atomic".to_string()));
        assert!(upgrade_flags(4, "300s").contains(&"--wait=watcher".to_string()));
    }

    #[test]
    fn names_failed_test_pods() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/helm/test-fail-pod.stderr.txt");
        let text = std::fs::read_to_string(p).unwrap();
        assert_eq!(failed_test_pods(&text), ["camunda-identity-test-connection"]);
    }

    #[test]
    fn reads_failure_reasons() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/helm/upgrade-rollback-on-failure-v4.stderr.txt");
        let text = std::fs::read_to_string(p).unwrap();
        assert!(rolled_back(&text));
        assert!(failure_reason(&text).contains("release rollback-demo failed"));
    }
}
