//! Fake `helm` (3 by default, 4 with FAKE_HELM_VERSION=4.x): releases per namespace with revision history;
//! `upgrade --install`, `status`, `history`, `rollback`, `uninstall`, `test`, `list`, `lint`, `template`.
//!
//! Sources: helm/helm `pkg/cmd/status.go` (the NAME/LAST DEPLOYED/... block, TEST SUITE lines),
//! `pkg/cmd/upgrade.go` (install-now and "Happy Helming!" lines; Helm 4 deprecates --atomic/--force in favour of
//! --rollback-on-failure/--force-replace and makes --wait a strategy), `pkg/cmd/version.go` (formatVersion),
//! `pkg/cmd/testdata/output/*` and the issues quoted in tests/fixtures/helm/SOURCES.md for error texts.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Value};

use crate::cluster::{self, Kube};
use crate::releases::{HelmState, Rev};
use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{ctx::Ctx, state, template};

const VALUED: &[&str] = &[
    "-n",
    "--namespace",
    "-f",
    "--values",
    "--set",
    "--set-string",
    "--set-file",
    "--set-json",
    "--timeout",
    "-o",
    "--output",
    "--version",
    "--kube-context",
    "--kubeconfig",
    "--template",
    "--description",
    "--history-max",
    "--max",
    "--post-renderer",
    "--repo",
    "--filter",
    "--cascade",
    "-a",
    "--api-versions",
    "--kube-version",
    "-s",
    "--show-only",
    "--output-dir",
    "--server-side",
    "--reset-values-file",
];

const V3: (&str, &str, &str) = ("3.16.2", "13654a52f7c70a143b1dd51416d633e1071faffb", "go1.22.7");
/// Helm 4 values are illustrative (no Helm 4 release output was captured; shape from pkg/cmd/testdata/output/version.txt).
const V4: (&str, &str, &str) = ("4.0.0", "99cd19648f8e2e8ac1fd1d1e1e5b5cd4ca6cbd40", "go1.24.9");

fn version(ctx: &Ctx) -> (String, String, String) {
    let v = ctx.env("FAKE_HELM_VERSION").map(|v| v.trim_start_matches('v').to_string());
    let (default, commit, go) = if v.as_deref().is_some_and(|v| v.starts_with('4')) { V4 } else { V3 };
    (format!("v{}", v.unwrap_or_else(|| default.into())), commit.into(), go.into())
}

fn helm4(ctx: &Ctx) -> bool {
    version(ctx).0.starts_with("v4")
}

fn namespace(ctx: &Ctx, f: &Flags) -> String {
    f.get(&["-n", "--namespace"]).or_else(|| ctx.env("HELM_NAMESPACE")).unwrap_or_else(|| "default".into())
}

fn key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

/// The release and namespace the current command line names (for scenario `then_state`).
pub fn target(ctx: &Ctx) -> (String, String) {
    let f = Flags::parse(&ctx.args, VALUED);
    (namespace(ctx, &f), f.pos.get(1).cloned().unwrap_or_default())
}

pub fn force_status(ctx: &Ctx, ns: &str, name: &str, status: Option<&str>, new_revision: Option<&str>) -> Result<()> {
    // A release's records are Secrets in its namespace (Helm's default storage driver): the namespace exists.
    state::update(ctx, "kube", |k: &mut Kube| k.namespaces.insert(ns.to_string()))?;
    state::update(ctx, "helm", |st: &mut HelmState| {
        let revs = st.releases.entry(key(ns, name)).or_default();
        let now = util::now_ms();
        if let Some(s) = new_revision {
            let mut next = revs.last().cloned().unwrap_or_else(|| placeholder(name, now));
            next.revision = revs.last().map_or(1, |r| r.revision + 1);
            next.status = s.to_string();
            next.updated_ms = now;
            next.description = format!("Upgrade \"{name}\" failed: context deadline exceeded");
            revs.push(next);
        }
        if let Some(s) = status {
            if revs.is_empty() {
                revs.push(placeholder(name, now));
            }
            if let Some(last) = revs.last_mut() {
                last.status = s.to_string();
            }
        }
    })
}

fn placeholder(name: &str, now: u64) -> Rev {
    Rev {
        revision: 1,
        first_ms: now,
        updated_ms: now,
        status: "deployed".into(),
        chart: name.into(),
        chart_version: "0.1.0".into(),
        app_version: "0.1.0".into(),
        description: "Install complete".into(),
        ..Rev::default()
    }
}

fn fail(msg: impl AsRef<str>) -> Reply {
    Reply::fail(1, format!("Error: {}\n", msg.as_ref()))
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(&ctx.args, VALUED);
    let sub = f.pos.first().map(String::as_str).unwrap_or("");
    match sub {
        "version" => version_cmd(ctx, &f),
        "lint" => lint(ctx, &f),
        "template" => template_cmd(ctx, &f),
        "upgrade" | "install" => upgrade(ctx, &f, sub == "install"),
        "status" => status(ctx, &f),
        "history" | "hist" => history(ctx, &f),
        "rollback" => rollback(ctx, &f),
        "uninstall" | "delete" | "del" | "un" => uninstall(ctx, &f),
        "test" => test(ctx, &f),
        "list" | "ls" => list(ctx, &f),
        "get" if f.pos.get(1).is_some_and(|s| s == "values") => get_values(ctx, &f),
        "" => Ok(Reply::ok("The Kubernetes package manager\n")),
        other => Ok(fail(format!("unknown command \"{other}\" for \"helm\"\nRun 'helm --help' for usage."))),
    }
}

fn version_cmd(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let (v, commit, go) = version(ctx);
    let info = json!({"Version": v, "GitCommit": commit, "GitTreeState": "clean", "GoVersion": go});
    let out = if let Some(t) = f.get(&["--template"]) {
        template::render(&t, &info)
    } else if f.has(&["--short"]) {
        format!("{v}+g{}", &commit[..7])
    } else if helm4(ctx) {
        format!("version.BuildInfo{{Version:\"{v}\", GitCommit:\"{commit}\", GitTreeState:\"clean\", GoVersion:\"{go}\", KubeClientVersion:\"v1.34\"}}")
    } else {
        format!(
            "version.BuildInfo{{Version:\"{v}\", GitCommit:\"{commit}\", GitTreeState:\"clean\", GoVersion:\"{go}\"}}"
        )
    };
    Ok(Reply::ok(format!("{out}\n")))
}

struct Chart {
    dir: PathBuf,
    name: String,
    version: String,
    app_version: String,
    has_icon: bool,
}

fn read_chart(ctx: &Ctx, path: &str) -> Option<Chart> {
    let dir = ctx.cwd().join(path);
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).ok()?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
            .unwrap_or_default()
    };
    Some(Chart {
        name: field("name"),
        version: field("version"),
        app_version: field("appVersion"),
        has_icon: text.lines().any(|l| l.starts_with("icon:")),
        dir,
    })
}

/// LocateChart: a path that is not a chart directory is read as `repo/chart` (helm/helm pkg/action/install.go).
fn chart_missing(path: &str) -> Reply {
    match path.split_once('/') {
        Some((repo, _)) if !Path::new(path).is_absolute() => fail(format!("repo {repo} not found")),
        _ => fail(format!("path \"{path}\" not found")),
    }
}

fn fullname(release: &str, chart: &str) -> String {
    let n = if release.contains(chart) { release.to_string() } else { format!("{release}-{chart}") };
    n.chars().take(63).collect::<String>().trim_end_matches('-').to_string()
}

fn lint(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let charts: Vec<String> = if f.pos.len() > 1 { f.pos[1..].to_vec() } else { vec![".".into()] };
    let mut out = String::new();
    let mut failed = 0;
    for c in &charts {
        out.push_str(&format!("==> Linting {c}\n"));
        match read_chart(ctx, c) {
            Some(chart) => {
                if !chart.has_icon {
                    out.push_str("[INFO] Chart.yaml: icon is recommended\n");
                }
                for v in f.all(&["-f", "--values"]) {
                    if !ctx.cwd().join(&v).is_file() {
                        out.push_str(&format!("[ERROR] values file {v}: open {v}: no such file or directory\n"));
                        failed += 1;
                    }
                }
            }
            None => {
                out.push_str("[ERROR] Chart.yaml: file does not exist\n");
                failed += 1;
            }
        }
        out.push('\n');
    }
    let summary = format!("{} chart(s) linted, {failed} chart(s) failed", charts.len());
    Ok(if failed > 0 {
        Reply::ok(out).with_err(format!("Error: {summary}\n")).with_code(1)
    } else {
        Reply::ok(format!("{out}{summary}\n"))
    })
}

fn template_cmd(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let (name, path) = match f.pos.as_slice() {
        [_, name, path, ..] => (name.clone(), path.clone()),
        [_, path] => ("release-name".to_string(), path.clone()),
        _ => return Ok(fail("\"helm template\" requires at least 1 argument")),
    };
    let Some(chart) = read_chart(ctx, &path) else { return Ok(chart_missing(&path)) };
    // The fake has no template engine: a test chart may ship the manifests it renders to.
    if let Ok(text) = std::fs::read_to_string(ctx.cwd().join(&path).join("fake-render.yaml")) {
        return Ok(Reply::ok(text));
    }
    let ns = namespace(ctx, f);
    let full = fullname(&name, &chart.name);
    let labels = format!(
        "    helm.sh/chart: {c}-{v}\n    app.kubernetes.io/name: {c}\n    app.kubernetes.io/instance: {name}\n    app.kubernetes.io/version: \"{a}\"\n    app.kubernetes.io/managed-by: Helm",
        c = chart.name,
        v = chart.version,
        a = chart.app_version
    );
    Ok(Reply::ok(format!(
        "---\n# Source: {c}/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: {full}\n  namespace: {ns}\n  labels:\n{labels}\nspec:\n  type: ClusterIP\n  ports:\n    - port: 8080\n      targetPort: http\n      protocol: TCP\n      name: http\n  selector:\n    app.kubernetes.io/name: {c}\n    app.kubernetes.io/instance: {name}\n---\n# Source: {c}/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {full}\n  namespace: {ns}\n  labels:\n{labels}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {c}\n      app.kubernetes.io/instance: {name}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {c}\n        app.kubernetes.io/instance: {name}\n    spec:\n      containers:\n        - name: {c}\n          image: \"{c}:{a}\"\n          ports:\n            - name: http\n              containerPort: 8080\n",
        c = chart.name,
        a = chart.app_version
    )))
}

/// `--set a.b=1,c=x` into nested JSON (typed like helm's strvals: bools, null and integers).
/// The user-supplied values of a release, as `helm get values` shows them: `-f` files merged in order (JSON or YAML,
/// as Helm reads them), then `--set`/`--set-string` on top.
fn set_values(ctx: &Ctx, f: &Flags) -> Value {
    let mut root = json!({});
    for file in f.all(&["-f", "--values"]) {
        let text = std::fs::read_to_string(ctx.cwd().join(&file)).unwrap_or_default();
        if let Ok(v) = serde_norway::from_str::<Value>(&text) {
            merge(&mut root, v);
        }
    }
    for (flag, v) in &f.flags {
        let typed = match flag.as_str() {
            "--set" => true,
            "--set-string" => false,
            _ => continue,
        };
        for pair in v.as_deref().unwrap_or("").split(',') {
            let Some((path, val)) = pair.split_once('=') else { continue };
            let value = match (typed, val) {
                (true, "true") => json!(true),
                (true, "false") => json!(false),
                (true, "null") => Value::Null,
                (true, v) if v.parse::<i64>().is_ok() => json!(v.parse::<i64>().unwrap_or(0)),
                (_, v) => json!(v),
            };
            let mut cur = &mut root;
            let parts: Vec<&str> = path.split('.').collect();
            for (i, p) in parts.iter().enumerate() {
                if i + 1 == parts.len() {
                    cur[*p] = value.clone();
                } else {
                    if !cur[*p].is_object() {
                        cur[*p] = json!({});
                    }
                    cur = &mut cur[*p];
                }
            }
        }
    }
    root
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// The chart's test pods (one per file under templates/tests, named `<fullname>-<file stem>`), and those of them
/// whose delete policy includes `hook-succeeded` (read from the template text: the fake renders no templates).
fn tests_of(chart: &Chart, release: &str) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(chart.dir.join("templates/tests"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let stem = e.path().file_stem()?.to_string_lossy().into_owned();
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let succeeded =
                        text.lines().any(|l| l.contains("helm.sh/hook-delete-policy") && l.contains("hook-succeeded"));
                    Some((format!("{}-{stem}", fullname(release, &chart.name)), succeeded))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let deleted = names.iter().filter(|(_, d)| *d).map(|(n, _)| n.clone()).collect();
    (names.into_iter().map(|(n, _)| n).collect(), deleted)
}

/// Whether `helm test --logs` reads the logs after the test hooks' delete policy ran: every Helm 3 and Helm 4.0.0 to
/// 4.0.4 (v3.21.4 `pkg/action/hooks.go:121-130` deletes `hook-succeeded` pods inside `execHook`, then
/// `cmd/helm/release_testing.go:67,82` calls `GetPodLogs`, which fails at `pkg/action/release_testing.go:131`;
/// helm/helm#9098). Fixed in 4.0.5/4.1.0 by 7a557580e (v4.2.2 `pkg/action/release_testing.go:106`, a shutdown hook
/// that deletes the pods after the logs were read).
fn logs_after_hook_delete(ctx: &Ctx) -> bool {
    semver(ctx) < (4, 0, 5)
}

/// The modelled Helm version as (major, minor, patch).
fn semver(ctx: &Ctx) -> (u64, u64, u64) {
    let v = version(ctx).0;
    let n: Vec<u64> =
        v.trim_start_matches('v').split(['.', '+', '-']).take(3).map(|p| p.parse().unwrap_or(0)).collect();
    (n.first().copied().unwrap_or(3), n.get(1).copied().unwrap_or(0), n.get(2).copied().unwrap_or(0))
}

fn notes_of(chart: &Chart, release: &str, ns: &str) -> String {
    std::fs::read_to_string(chart.dir.join("templates/NOTES.txt"))
        .unwrap_or_default()
        .replace("{{ .Release.Name }}", release)
        .replace("{{ .Release.Namespace }}", ns)
}

/// pkg/cmd/status.go printer: the block shared by install/upgrade/status/test.
/// Helm 4 always prints `DESCRIPTION:` (v4.2.2 `pkg/cmd/status.go:160`; Helm 3 only with `--show-desc`,
/// v3.21.4 `cmd/helm/status.go:143-145`); `helm test` hides the NOTES in Helm 4 (v4.2.2
/// `pkg/cmd/release_testing.go:93` `hideNotes: true`) and with `--hide-notes` in Helm 3.
fn block(ctx: &Ctx, name: &str, ns: &str, rev: &Rev, test_runs: Option<&[(String, &str)]>, hide_notes: bool) -> String {
    let mut s = format!(
        "NAME: {name}\nLAST DEPLOYED: {}\nNAMESPACE: {ns}\nSTATUS: {}\nREVISION: {}\n",
        util::ansic(rev.updated_ms),
        rev.status,
        rev.revision
    );
    if helm4(ctx) {
        s.push_str(&format!("DESCRIPTION: {}\n", rev.description));
    }
    match test_runs {
        Some(runs) => {
            for (t, phase) in runs {
                s.push_str(&format!(
                    "TEST SUITE:     {t}\nLast Started:   {}\nLast Completed: {}\nPhase:          {phase}\n",
                    util::ansic(util::now_ms()),
                    util::ansic(util::now_ms())
                ));
            }
        }
        // Hooks that never ran print nothing; a chart without test hooks prints "TEST SUITE: None".
        None if rev.tests.is_empty() => s.push_str("TEST SUITE: None\n"),
        None => {}
    }
    if !rev.notes.is_empty() && !hide_notes {
        s.push_str(&format!("NOTES:\n{}\n", rev.notes.trim_end()));
    }
    s
}

/// The flags that differ between Helm 3 and 4: an error for a flag the version does not have, the deprecation
/// warnings (printed before anything else) otherwise.
fn flag_warnings(ctx: &Ctx, f: &Flags) -> std::result::Result<String, Reply> {
    let v4 = helm4(ctx);
    let mut warn = String::new();
    // Flag differences between the majors (helm/helm pkg/cmd/upgrade.go and flags.go in Helm 4).
    for flag in ["--rollback-on-failure", "--force-replace", "--force-conflicts", "--take-ownership", "--server-side"] {
        if !v4 && f.flags.iter().any(|(k, _)| k == flag) && flag != "--take-ownership" {
            return Err(fail(format!("unknown flag: {flag}")));
        }
    }
    if v4 && f.has(&["--atomic"]) {
        warn.push_str("Flag --atomic has been deprecated, use --rollback-on-failure instead\n");
    }
    if v4 && f.has(&["--force"]) {
        warn.push_str("Flag --force has been deprecated, use --force-replace instead\n");
    }
    if let Some((_, Some(w))) = f.flags.iter().rev().find(|(k, _)| k == "--wait") {
        // Helm 4's wait strategy value (v4.0.0 `pkg/cmd/flags.go:82-97`: watcher|legacy; from v4.1.0 also hookOnly,
        // v4.2.2 `flags.go:82-97`). The warnings go through slog (its framing is not modelled, only the text).
        let since_4_1 = semver(ctx) >= (4, 1, 0);
        let valid = if since_4_1 { "watcher, hookOnly, and legacy" } else { "watcher, and legacy" };
        match (v4, w.as_str()) {
            (false, "true" | "false") | (true, "watcher" | "legacy") => {}
            (true, "hookOnly") if since_4_1 => {}
            (true, "true") => {
                warn.push_str("--wait=true is deprecated (boolean value) and can be replaced with --wait=watcher\n")
            }
            (true, "false") if since_4_1 => {
                warn.push_str("--wait=false is deprecated (boolean value) and can be replaced with --wait=hookOnly\n")
            }
            (true, "false") => warn.push_str(
                "--wait=false is deprecated (boolean value) and can be replaced by omitting the --wait flag\n",
            ),
            (false, other) => {
                return Err(fail(format!(
                    "invalid argument \"{other}\" for \"--wait\" flag: strconv.ParseBool: parsing \"{other}\": invalid syntax"
                )))
            }
            (true, other) => {
                return Err(fail(format!(
                    "invalid argument \"{other}\" for \"--wait\" flag: invalid wait input \"{other}\". Valid inputs are {valid}"
                )))
            }
        }
    }
    Ok(warn)
}

/// The chart at PATH, or with `--repo URL CHART` the named chart: LocateChart fetches CHART from that
/// repository's index (helm/helm pkg/action/install.go, the RepoURL branch). The fake has no network: any name
/// resolves to an empty chart (addons on kind/k3d).
fn chart_of(ctx: &Ctx, f: &Flags, path: &str) -> Option<Chart> {
    match (read_chart(ctx, path), f.get(&["--repo"])) {
        (Some(c), _) => Some(c),
        (None, Some(_)) => Some(Chart {
            dir: ctx.state_dir().join("repo-charts").join(path),
            name: path.to_string(),
            version: "0.0.0".into(),
            app_version: String::new(),
            has_icon: false,
        }),
        (None, None) => None,
    }
}

fn upgrade(ctx: &Ctx, f: &Flags, plain_install: bool) -> Result<Reply> {
    let warn = match flag_warnings(ctx, f) {
        Ok(warn) => warn,
        Err(reply) => return Ok(reply),
    };
    let (name, path) = match f.pos.as_slice() {
        [_, name, path, ..] => (name.clone(), path.clone()),
        _ => return Ok(fail(format!("\"helm {}\" requires 2 arguments", f.pos[0]))),
    };
    if let Some(u) = cluster::reach(ctx)? {
        return Ok(Reply::fail(1, format!("{warn}{}", cluster::helm_error(&u))));
    }
    let Some(chart) = chart_of(ctx, f, &path) else {
        return Ok(chart_missing(&path).with_err_prefix(&warn));
    };
    for v in f.all(&["-f", "--values"]) {
        if !ctx.cwd().join(&v).is_file() {
            return Ok(Reply::fail(1, format!("{warn}Error: open {v}: no such file or directory\n")));
        }
    }
    let ns = namespace(ctx, f);
    let install = plain_install || f.has(&["-i", "--install"]);
    let create_ns = f.has(&["--create-namespace"]);
    let now = util::now_ms();
    let (tests, deleted_on_success) = tests_of(&chart, &name);
    let notes = notes_of(&chart, &name, &ns);
    let values = set_values(ctx, f);
    let _lock = state::lock(ctx)?;
    let mut kube: Kube = state::load(ctx, "kube")?;
    let mut st: HelmState = state::load(ctx, "helm")?;
    let revs = st.releases.entry(key(&ns, &name)).or_default();
    let live = revs.last().is_some_and(|r| r.status != "uninstalled");
    let verb = if live && !plain_install { "UPGRADE" } else { "INSTALLATION" };
    if kube.managed && !kube.namespaces.contains(&ns) {
        if create_ns && install {
            kube.namespaces.insert(ns.clone());
            state::save(ctx, "kube", &kube)?;
        } else {
            return Ok(Reply::fail(
                1,
                format!("{warn}Error: {verb} FAILED: create: failed to create: namespaces \"{ns}\" not found\n"),
            ));
        }
    }
    if plain_install && live {
        return Ok(Reply::fail(
            1,
            format!("{warn}Error: INSTALLATION FAILED: cannot re-use a name that is still in use\n"),
        ));
    }
    if !live && !install {
        return Ok(Reply::fail(1, format!("{warn}Error: UPGRADE FAILED: \"{name}\" has no deployed releases\n")));
    }
    if revs.last().is_some_and(|r| r.status.starts_with("pending-")) {
        return Ok(Reply::fail(
            1,
            format!("{warn}Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"),
        ));
    }
    let first_ms = revs.first().map_or(now, |r| r.first_ms);
    for r in revs.iter_mut() {
        if r.status == "deployed" {
            r.status = "superseded".into();
        }
    }
    let rev = Rev {
        revision: revs.last().map_or(1, |r| r.revision + 1),
        first_ms,
        updated_ms: now,
        status: "deployed".into(),
        chart: chart.name.clone(),
        chart_version: chart.version.clone(),
        app_version: chart.app_version.clone(),
        description: if live { "Upgrade complete".into() } else { "Install complete".into() },
        chart_path: chart.dir.to_string_lossy().into_owned(),
        values,
        notes,
        tests,
        deleted_on_success,
    };
    revs.push(rev.clone());
    state::save(ctx, "helm", &st)?;
    let head = if plain_install {
        String::new()
    } else if live {
        format!("Release \"{name}\" has been upgraded. Happy Helming!\n")
    } else {
        format!("Release \"{name}\" does not exist. Installing it now.\n")
    };
    Ok(Reply::ok(format!("{head}{}", block(ctx, &name, &ns, &rev, None, false))).with_err(warn))
}

trait ErrPrefix {
    fn with_err_prefix(self, prefix: &str) -> Reply;
}

impl ErrPrefix for Reply {
    fn with_err_prefix(mut self, prefix: &str) -> Reply {
        self.err = format!("{prefix}{}", self.err);
        self
    }
}

/// (namespace, release, revisions), or helm's answer instead.
type Found = std::result::Result<(String, String, Vec<Rev>), Reply>;

/// Reads the release's revisions, or helm's answer when it is missing / the cluster is down.
fn revisions(ctx: &Ctx, f: &Flags) -> Result<Found> {
    let Some(name) = f.pos.get(1).cloned() else {
        return Ok(Err(fail(format!("\"helm {}\" requires 1 argument", f.pos[0]))));
    };
    if let Some(u) = cluster::reach(ctx)? {
        return Ok(Err(Reply::fail(1, cluster::helm_error(&u))));
    }
    let ns = namespace(ctx, f);
    let st: HelmState = state::load(ctx, "helm")?;
    match st.releases.get(&key(&ns, &name)) {
        Some(revs) if !revs.is_empty() => Ok(Ok((ns, name, revs.clone()))),
        _ => Ok(Err(fail("release: not found"))),
    }
}

fn release_json(name: &str, ns: &str, r: &Rev) -> Value {
    json!({
        "name": name,
        "info": {
            "first_deployed": util::rfc3339(r.first_ms),
            "last_deployed": util::rfc3339(r.updated_ms),
            "deleted": "",
            "description": r.description,
            "status": r.status,
            "notes": r.notes
        },
        "chart": {
            "metadata": {"name": r.chart, "version": r.chart_version, "appVersion": r.app_version, "apiVersion": "v2", "type": "application"},
            "lock": null, "templates": [], "values": {}, "schema": null, "files": []
        },
        "config": r.values,
        "manifest": format!("---\n# Source: {}/templates/service.yaml\napiVersion: v1\nkind: Service\n", r.chart),
        "hooks": r.tests.iter().map(|t| json!({"name": t, "kind": "Pod", "path": format!("{}/templates/tests/{t}.yaml", r.chart), "events": ["test"]})).collect::<Vec<_>>(),
        "version": r.revision,
        "namespace": ns
    })
}

fn status(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let (ns, name, revs) = match revisions(ctx, f)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let want: Option<u32> = f.get(&["--revision"]).and_then(|r| r.parse().ok());
    let Some(r) = revs.iter().rev().find(|r| match want {
        Some(w) => w == r.revision,
        None => true,
    }) else {
        return Ok(fail("release: not found"));
    };
    Ok(Reply::ok(match f.get(&["-o", "--output"]).as_deref() {
        Some("json") => format!("{}\n", release_json(&name, &ns, r)),
        _ => block(ctx, &name, &ns, r, None, false),
    }))
}

fn history(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let (_, _, revs) = match revisions(ctx, f)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let max: usize = f.get(&["--max"]).and_then(|m| m.parse().ok()).unwrap_or(256);
    let shown = &revs[revs.len().saturating_sub(max)..];
    let rows: Vec<Value> = shown
        .iter()
        .map(|r| {
            json!({"revision": r.revision, "updated": util::rfc3339(r.updated_ms), "status": r.status,
                   "chart": format!("{}-{}", r.chart, r.chart_version), "app_version": r.app_version, "description": r.description})
        })
        .collect();
    Ok(Reply::ok(match f.get(&["-o", "--output"]).as_deref() {
        Some("json") => format!("{}\n", Value::Array(rows)),
        _ => {
            let mut s = "REVISION\tUPDATED                 \tSTATUS    \tCHART     \tAPP VERSION\tDESCRIPTION     \n"
                .to_string();
            for r in shown {
                s.push_str(&format!(
                    "{:<8}\t{}\t{:<10}\t{}-{}\t{:<11}\t{}\n",
                    r.revision,
                    util::ansic(r.updated_ms),
                    r.status,
                    r.chart,
                    r.chart_version,
                    r.app_version,
                    r.description
                ));
            }
            s
        }
    }))
}

fn rollback(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let (ns, name, revs) = match revisions(ctx, f)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let last = revs.last().map_or(1, |r| r.revision);
    let target: u32 = match f.pos.get(2) {
        Some(r) => match r.parse() {
            Ok(n) if n > 0 => n,
            _ => return Ok(fail(format!("invalid revision number: \"{r}\""))),
        },
        None => last.saturating_sub(1).max(1),
    };
    let Some(src) = revs.iter().find(|r| r.revision == target).cloned() else {
        return Ok(fail(format!("release has no {target} version")));
    };
    state::update(ctx, "helm", |st: &mut HelmState| {
        let revs = st.releases.entry(key(&ns, &name)).or_default();
        for r in revs.iter_mut() {
            if r.status == "deployed" {
                r.status = "superseded".into();
            }
        }
        let mut next = src;
        next.revision = last + 1;
        next.updated_ms = util::now_ms();
        next.status = "deployed".into();
        next.description = format!("Rollback to {target}");
        revs.push(next);
    })?;
    Ok(Reply::ok("Rollback was a success! Happy Helming!\n"))
}

fn uninstall(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let names: Vec<String> = f.pos.iter().skip(1).cloned().collect();
    if names.is_empty() {
        return Ok(fail("\"helm uninstall\" requires at least 1 argument"));
    }
    if let Some(u) = cluster::reach(ctx)? {
        return Ok(Reply::fail(1, cluster::helm_error(&u)));
    }
    let ns = namespace(ctx, f);
    let keep = f.has(&["--keep-history"]);
    let ignore = f.has(&["--ignore-not-found"]);
    let (out, err) = state::update(ctx, "helm", |st: &mut HelmState| {
        let (mut out, mut err) = (String::new(), String::new());
        for name in &names {
            let k = key(&ns, name);
            let live = st.releases.get(&k).and_then(|r| r.last()).is_some_and(|r| r.status != "uninstalled");
            if !live {
                if !ignore {
                    // helm/helm#9687
                    err.push_str(&format!("Error: uninstall: Release not loaded: {name}: release: not found\n"));
                }
                continue;
            }
            if keep {
                if let Some(r) = st.releases.get_mut(&k).and_then(|r| r.last_mut()) {
                    r.status = "uninstalled".into();
                    r.description = "Uninstallation complete".into();
                }
            } else {
                st.releases.remove(&k);
            }
            out.push_str(&format!("release \"{name}\" uninstalled\n"));
        }
        (out, err)
    })?;
    let code = i32::from(!err.is_empty());
    Ok(Reply::ok(out).with_err(err).with_code(code))
}

/// FAKE_HELM_TEST_FAIL=1 fails the last test pod (`Error: 1 error occurred:` + `* pod X failed`, exit 1;
/// camunda/camunda-platform-helm#1900).
fn test(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let (ns, name, revs) = match revisions(ctx, f)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let Some(rev) = revs.last() else { return Ok(fail("release: not found")) };
    let failing = ctx.env_is("FAKE_HELM_TEST_FAIL", "1");
    let hide_notes = helm4(ctx) || f.has(&["--hide-notes"]);
    let runs: Vec<(String, &str)> = rev
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), if failing && i + 1 == rev.tests.len() { "Failed" } else { "Succeeded" }))
        .collect();
    let mut out = if runs.is_empty() {
        let mut r = rev.clone();
        r.tests.clear();
        block(ctx, &name, &ns, &r, None, hide_notes)
    } else {
        block(ctx, &name, &ns, rev, Some(&runs), hide_notes)
    };
    if f.has(&["--logs"]) && logs_after_hook_delete(ctx) {
        // GetPodLogs walks the test hooks in order and stops at the first pod the delete policy already removed;
        // its error replaces the suite's own result (helm/helm#12320), exit 1 (cmd/helm/helm.go:91-98).
        if let Some((t, _)) = runs.iter().find(|(t, p)| *p == "Succeeded" && rev.deleted_on_success.contains(t)) {
            return Ok(Reply::ok(out)
                .with_err(format!("Error: unable to get pod logs for {t}: pods \"{t}\" not found\n"))
                .with_code(1));
        }
    }
    if f.has(&["--logs"]) {
        for (t, _) in &runs {
            out.push_str(&format!(
                "\nPOD LOGS: {t}\nConnecting to {}:8080\nremote file exists\n",
                fullname(&name, &rev.chart)
            ));
        }
    }
    match runs.iter().find(|(_, p)| *p == "Failed") {
        Some((t, _)) => {
            Ok(Reply::ok(out).with_err(format!("Error: 1 error occurred:\n\t* pod {t} failed\n\n")).with_code(1))
        }
        None => Ok(Reply::ok(out)),
    }
}

fn list(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    if let Some(u) = cluster::reach(ctx)? {
        return Ok(Reply::fail(1, cluster::helm_error(&u)));
    }
    let ns = namespace(ctx, f);
    let all_ns = f.has(&["-A", "--all-namespaces"]);
    let st: HelmState = state::load(ctx, "helm")?;
    let mut rows = Vec::new();
    for (k, revs) in &st.releases {
        let (rns, name) = k.split_once('/').unwrap_or(("default", k));
        let Some(r) = revs.last() else { continue };
        if (!all_ns && rns != ns) || r.status == "uninstalled" || r.status == "superseded" {
            continue;
        }
        rows.push(json!({"name": name, "namespace": rns, "revision": r.revision.to_string(),
                         "updated": util::go_time_string(r.updated_ms), "status": r.status,
                         "chart": format!("{}-{}", r.chart, r.chart_version), "app_version": r.app_version}));
    }
    Ok(Reply::ok(match f.get(&["-o", "--output"]).as_deref() {
        Some("json") => format!("{}\n", Value::Array(rows)),
        _ => {
            let mut s = "NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\n".to_string();
            for r in &rows {
                s.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    r["name"].as_str().unwrap_or(""),
                    r["namespace"].as_str().unwrap_or(""),
                    r["revision"].as_str().unwrap_or(""),
                    r["updated"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["chart"].as_str().unwrap_or(""),
                    r["app_version"].as_str().unwrap_or("")
                ));
            }
            s
        }
    }))
}

fn get_values(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let mut g = f.clone();
    g.pos.remove(0);
    let (_, _, revs) = match revisions(ctx, &g)? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let values = revs.last().map(|r| r.values.clone()).unwrap_or(Value::Null);
    Ok(Reply::ok(match f.get(&["-o", "--output"]).as_deref() {
        Some("json") => format!("{values}\n"),
        _ => format!("USER-SUPPLIED VALUES:\n{}\n", serde_json::to_string_pretty(&values)?),
    }))
}
