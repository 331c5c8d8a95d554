//! Guard rails for clusters that matter, decided before any step runs: a protected target (every existing cluster
//! by default) must be named with `--target` and confirmed (a typed name on a terminal, `--yes` elsewhere), and an
//! existing cluster's kube context must still point at the API server recorded for the target.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::Error;
use crate::pipeline::console::{self, Shown};
use crate::target::{ClusterSpec, Target};

/// What the pipeline remembers about a target between runs (target/xtask/targets/<name>.json).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The API server the context pointed at when the target was first used (when the config names none).
    #[serde(default)]
    pub server: Option<String>,
    /// Whether the release namespace was created by the pipeline (so teardown may delete it).
    #[serde(default)]
    pub created_namespace: Option<bool>,
}

fn record_path(ctx: &Context, target: &str) -> PathBuf {
    ctx.state_dir().join("targets").join(format!("{target}.json"))
}

pub fn load_record(ctx: &Context, target: &str) -> Record {
    std::fs::read_to_string(record_path(ctx, target))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn save_record(ctx: &Context, target: &str, r: &Record) -> Result<()> {
    let path = record_path(ctx, target);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", ctx.rel(dir).display()))?;
    }
    crate::files::write_atomic(&path, serde_json::to_string_pretty(r)?.as_bytes())
}

/// One guard decision, as `plan` shows it.
#[derive(Debug)]
enum Decision {
    Pass(String),
    Refuse(String),
}

/// Prints the active target, then decides; a refusal is a usage error (exit 2) and nothing runs. `plan` prints
/// the decisions and the plan without refusing.
pub fn check(ctx: &Context) -> Result<()> {
    let cfg = ctx.config()?;
    let t = &cfg.target;
    let dry = ctx.global.dry_run;
    let yes = ctx.target_args.as_ref().is_some_and(|a| a.yes);
    console::show(Shown::Guard { line: &t.describe(), dry });
    // In order, stopping at the first refusal: a refused run asks nothing of the cluster.
    let show = |d: Decision| -> Result<()> {
        match d {
            Decision::Pass(s) => console::show(Shown::Guard { line: &format!("guard: {s}"), dry }),
            Decision::Refuse(s) if dry => {
                console::show(Shown::Guard { line: &format!("guard: would refuse: {s}"), dry })
            }
            Decision::Refuse(s) => anyhow::bail!(Error::usage(format!("refusing to act on target `{}`: {s}", t.name))),
        }
        Ok(())
    };
    if t.protected {
        show(named(t))?;
        show(confirmed(t, yes, dry)?)?;
    }
    if let ClusterSpec::Existing(e) = &t.cluster {
        show(server(ctx, t, e.server.as_deref(), &e.context, dry)?)?;
    }
    Ok(())
}

fn named(t: &Target) -> Decision {
    if t.explicit {
        Decision::Pass(format!("protected target named with `--target {}`", t.name))
    } else {
        Decision::Refuse(format!(
            "it is protected and was only the default target: name it with `--target {}` to act on it",
            t.name
        ))
    }
}

/// `--yes`, or the target's name typed on a terminal. CI (CI=true) never prompts.
fn confirmed(t: &Target, yes: bool, dry: bool) -> Result<Decision> {
    if yes {
        return Ok(Decision::Pass("confirmed with --yes".into()));
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if ci || !tty {
        let why = if ci { "in CI" } else { "off a terminal" };
        return Ok(Decision::Refuse(format!(
            "a protected target needs a confirmation: pass `--yes` ({why} nothing can be asked)"
        )));
    }
    if dry {
        return Ok(Decision::Pass("a confirmation will be asked (type the target's name)".into()));
    }
    console::show(Shown::Prompt(&format!(
        "Target `{}` is protected (context {}). Type its name to go on: ",
        t.name,
        t.kube_context()
    )));
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the confirmation")?;
    Ok(typed(t, &line))
}

/// The answer to the prompt: the target's exact name confirms, anything else (an empty line, `y`) refuses.
fn typed(t: &Target, line: &str) -> Decision {
    if line.trim() == t.name {
        Decision::Pass("confirmed on the terminal".into())
    } else {
        Decision::Refuse(format!("the confirmation did not match (typed {:?}, expected {:?})", line.trim(), t.name))
    }
}

/// The context's API server must be the configured one, or the one recorded at the first run: a renamed or
/// re-pointed context then cannot send a deploy to another cluster.
fn server(ctx: &Context, t: &Target, configured: Option<&str>, context: &str, dry: bool) -> Result<Decision> {
    let record = load_record(ctx, &t.name);
    let (expected, source) = match (configured, &record.server) {
        (Some(s), _) => {
            (Some(s.to_string()), format!("{} (targets.{}.cluster.server)", ctx.config_shown.display(), t.name))
        }
        (None, Some(s)) => {
            (Some(s.clone()), format!("target/xtask/targets/{}.json, recorded at the first run", t.name))
        }
        (None, None) => (None, String::new()),
    };
    if dry {
        return Ok(Decision::Pass(match &expected {
            Some(s) => format!("the server of context `{context}` will be compared with {s} from {source}"),
            None => format!("the server of context `{context}` will be recorded for later runs"),
        }));
    }
    let actual = context_server(ctx, context)?;
    match expected {
        Some(s) if s.trim_end_matches('/') == actual.trim_end_matches('/') => {
            Ok(Decision::Pass(format!("context `{context}` points at {actual}, as recorded")))
        }
        Some(s) => Ok(Decision::Refuse(format!(
            "kube context `{context}` now points at {actual}, but the target's server is {s} (from {source}). If \
             the cluster really moved, update the server there; otherwise fix the context (`kubectl config \
             get-contexts`)"
        ))),
        None => {
            save_record(ctx, &t.name, &Record { server: Some(actual.clone()), ..record })?;
            Ok(Decision::Pass(format!("context `{context}` points at {actual}: recorded for later runs")))
        }
    }
}

/// `kubectl config view --minify --context C`: the one cluster's `server` (YAML; JSON with `-o json`).
fn context_server(ctx: &Context, context: &str) -> Result<String> {
    let sh = ctx.shell()?;
    let out = crate::kube::context_view_cmd(&sh, context).quiet().ignore_status().output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        anyhow::bail!(Error::usage(format!(
            "cannot read kube context `{context}`: {} — check `kubectl config get-contexts` and the target's \
             `cluster.context`",
            stderr.trim()
        )));
    }
    let v: crate::kube::KubeconfigView =
        serde_norway::from_slice(&out.stdout).context("`kubectl config view` printed no YAML")?;
    v.clusters
        .into_iter()
        .next()
        .and_then(|c| c.cluster.server)
        .with_context(|| format!("`kubectl config view --minify --context {context}` names no server"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Target {
        Target { name: "prod".into(), protected: true, explicit: true, ..Target::default() }
    }

    #[test]
    fn only_the_targets_exact_name_confirms() {
        assert!(matches!(typed(&prod(), "prod\n"), Decision::Pass(_)));
        for answer in ["\n", "y\n", "yes\n", "Prod\n", "prod-eu\n"] {
            assert!(matches!(typed(&prod(), answer), Decision::Refuse(_)), "{answer:?} must not confirm");
        }
    }

    #[test]
    fn yes_confirms_without_asking_and_a_default_target_is_refused() {
        assert!(matches!(confirmed(&prod(), true, false).unwrap(), Decision::Pass(_)));
        let implicit = Target { explicit: false, ..prod() };
        assert!(matches!(named(&implicit), Decision::Refuse(_)));
        assert!(matches!(named(&prod()), Decision::Pass(_)));
    }
}
