//! `$FAKE_DIR/scenario.json`: rules that override the built-in answers (first match wins).
//!
//! ```json
//! {"rules":[{"tool":"helm","match":"upgrade --install *","stderr":"Error: ...","exit":1,"times":1,
//!            "then_state":{"helm_release_status":"failed"}}]}
//! ```
//! Unknown fields are rejected so a typo in a test fails loudly instead of silently not matching.
//!
//! A rule's output, exit code, delay and hang are what the test writes: the test cites the real answer it
//! replays (most use the captures in tests/fixtures/, whose SOURCES.md name their origin). What this module
//! models itself is the shared state a rule can change (`ThenState`): each field cites the real event it stands for.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::reply::Reply;
use crate::{ctx::Ctx, state, util};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub tool: String,
    #[serde(rename = "match", default = "any")]
    pub pattern: String,
    pub stdout: Option<String>,
    pub stdout_file: Option<String>,
    pub stderr: Option<String>,
    pub stderr_file: Option<String>,
    #[serde(default)]
    pub exit: i32,
    #[serde(default)]
    pub sleep_ms: u64,
    #[serde(default)]
    pub hang: bool,
    #[serde(default)]
    pub block_after_stdout: bool,
    pub times: Option<u32>,
    pub then_state: Option<ThenState>,
    #[serde(default)]
    pub fallthrough: bool,
}

fn any() -> String {
    "*".into()
}

/// State mutations a rule applies when it fires. Targets default to what the command line names
/// (helm: the release and `-n`; minikube: `-p`).
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ThenState {
    /// Sets the latest revision's status (creates revision 1 if the release does not exist): a release left
    /// behind by an interrupted or failed command, in one of Helm's statuses (helm/helm v3.16.2
    /// pkg/release/status.go:25-41; e.g. `pending-upgrade`, written before the upgrade runs, upgrade.go:294).
    pub helm_release_status: Option<String>,
    /// Appends a revision with this status: a failed upgrade leaves one behind, status `failed` and description
    /// `Upgrade "NAME" failed: ERR` (helm/helm v3.16.2 pkg/action/upgrade.go:485-489 `failRelease`).
    pub helm_new_revision: Option<String>,
    /// `NAMESPACE/RELEASE` the two helm keys apply to, instead of the command's own.
    pub helm_release: Option<String>,
    /// Running, Stopped, Paused or Nonexistent (deletes the profile): the host states `minikube status` reports
    /// (kubernetes/minikube v1.35.0 pkg/minikube/cluster/status.go:51-52 `Nonexistent`, :79 and :108 `Paused`),
    /// as after `minikube stop`, `pause` or `delete` run by someone else mid-run.
    pub minikube_profile_status: Option<String>,
    pub minikube_profile: Option<String>,
    /// A fixture (relative to FAKE_FIXTURES) copied to state/kube/pods.json.
    pub kube_pods_file: Option<String>,
    /// Marks the docker daemon "down" or "up" (like FAKE_DOCKER_DAEMON=down, but mid-run): from then on every
    /// docker command gets the client's connection error (daemon.rs `cannot_connect`), and minikube's docker
    /// driver cannot read its hosts (profiles.rs `host_error`).
    pub docker_daemon: Option<String>,
    /// Raw files to write under state/: path -> JSON value (strings are written verbatim). The files are the
    /// seeds the fakes read (docs/dev/testing.md, "The fake: files in FAKE_DIR"), so a rule can change what a
    /// later call sees.
    #[serde(default)]
    pub files: BTreeMap<String, Value>,
}

#[derive(serde::Serialize, Deserialize, Default)]
struct Counts {
    #[serde(default)]
    fired: BTreeMap<String, u32>,
}

/// Finds the first applicable rule and counts it (atomically, so `times` holds across parallel calls).
pub fn pick(ctx: &Ctx) -> Result<Option<Rule>> {
    let path = ctx.dir.join("scenario.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => return Ok(None),
    };
    let scenario: Scenario = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let line = ctx.args.join(" ");
    let candidates: Vec<(usize, &Rule)> = scenario
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.tool == ctx.tool && util::glob_match(&r.pattern, &line))
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    state::update(ctx, "rules", |counts: &mut Counts| {
        for (i, rule) in &candidates {
            let n = counts.fired.entry(i.to_string()).or_insert(0);
            if !matches!(rule.times, Some(t) if *n >= t) {
                *n += 1;
                return Some((*rule).clone());
            }
        }
        None
    })
}

impl Rule {
    fn text(&self, ctx: &Ctx, inline: &Option<String>, file: &Option<String>) -> Result<String> {
        let mut s = inline.clone().unwrap_or_default();
        if let Some(f) = file {
            let path = ctx.fixtures.join(f);
            s.push_str(&std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?);
        }
        Ok(s)
    }

    pub fn apply(&self, ctx: &Ctx) -> Result<Reply> {
        if self.sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.sleep_ms));
        }
        if let Some(then) = &self.then_state {
            apply_state(ctx, then)?;
        }
        let reply = Reply {
            out: self.text(ctx, &self.stdout, &self.stdout_file)?.into_bytes(),
            err: self.text(ctx, &self.stderr, &self.stderr_file)?,
            code: self.exit,
            block: self.hang || self.block_after_stdout,
        };
        Ok(reply)
    }
}

fn apply_state(ctx: &Ctx, then: &ThenState) -> Result<()> {
    if then.helm_release_status.is_some() || then.helm_new_revision.is_some() {
        let (ns, name) = match &then.helm_release {
            Some(t) => match t.split_once('/') {
                Some((ns, n)) => (ns.to_string(), n.to_string()),
                None => bail!("then_state.helm_release must be NAMESPACE/RELEASE, got {t:?}"),
            },
            None => crate::helm::target(ctx),
        };
        crate::helm::force_status(
            ctx,
            &ns,
            &name,
            then.helm_release_status.as_deref(),
            then.helm_new_revision.as_deref(),
        )?;
    }
    if let Some(status) = &then.minikube_profile_status {
        let profile = then.minikube_profile.clone().unwrap_or_else(|| crate::minikube::profile_flag(ctx));
        crate::minikube::force_status(ctx, &profile, status)?;
    }
    if let Some(f) = &then.kube_pods_file {
        let src = ctx.fixtures.join(f);
        let text = std::fs::read_to_string(&src).with_context(|| format!("reading {}", src.display()))?;
        write_state_file(ctx, "kube/pods.json", &text)?;
    }
    if let Some(d) = &then.docker_daemon {
        crate::daemon::set_daemon(ctx, d == "down")?;
    }
    for (rel, value) in &then.files {
        let text = match value {
            Value::String(s) => s.clone(),
            other => serde_json::to_string_pretty(other)?,
        };
        write_state_file(ctx, rel, &text)?;
    }
    Ok(())
}

fn write_state_file(ctx: &Ctx, rel: &str, text: &str) -> Result<()> {
    let path = ctx.state_dir().join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}
