//! `verify --static`: the checks that need no cluster: helm lint with each values file, the rendered manifests
//! against the deployment policy, the committed plain manifests, and each Dockerfile (the built-in policy, plus
//! hadolint when it is installed).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Deserialize;
use xshell::cmd;

use crate::config::{Config, Image};
use crate::kinds::{StepId, StepKind, Tool};
use crate::pipeline::exec::Exec;
use crate::pipeline::{Done, Ran, Run, Step, StepCx};

pub fn add_steps<'c>(cfg: &'c Config, run: &mut Run<'c>, secrets: BTreeMap<String, String>) {
    // helm (lint, render): found, or installed like `up` does, in one preflight instead of one raw
    // "is helm installed?" per step.
    run.add(crate::preflight::preflight_step(vec![Tool::Helm]));
    crate::chart::add_static_steps(cfg, run, secrets, Some(StepId::preflight_tools()));
    crate::manifests::add_check_step(cfg, run, Some(StepId::preflight_tools()));
    for img in &cfg.images {
        run.add(Step::new(
            StepId::lint_dockerfile(&img.name),
            StepKind::Lint,
            format!("Dockerfile lint: {}", img.dockerfile.display()),
            move |cx| lint_dockerfile(cx, cfg, img),
        ));
    }
}

/// One finding of `hadolint --format json`, an array of `{"code", "column", "file", "level", "line", "message"}`.
#[derive(Debug, Default, Deserialize)]
struct Finding {
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The image policy that can be read from the Dockerfile alone (pinned bases, a numeric non-root USER, a
/// HEALTHCHECK, the port EXPOSEd), plus hadolint when it is installed.
fn lint_dockerfile(cx: &mut StepCx, cfg: &Config, img: &Image) -> Result<Done> {
    let root = cx.ctx.root.clone();
    let text = crate::docker::read_dockerfile(&root, &img.dockerfile, &img.name)?;
    // The image's config is the final stage's: what it sets, and what it inherits from an earlier stage.
    let config = crate::docker::final_stage_config(&text);
    let mut problems = crate::build::policy_problems(&config, &text, &img.build_args, img, &cfg.gates.policy);
    let df = &img.dockerfile;
    let e: Exec = cmd!(cx.sh, "hadolint --format json {df}").into();
    let linted = if crate::tools::locate(&cx.ctx.local_bin(), "hadolint").is_some() {
        cx.ask(e)?.map(Some)
    } else {
        // A plan shows hadolint's command whether or not it is installed here.
        cx.declare(e).map(|_| None)
    };
    match linted {
        Ran::Done(Some(out)) => {
            let findings: Vec<Finding> = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
            for f in &findings {
                let level = f.level.as_deref().unwrap_or("?");
                let line = format!(
                    "{}:{}: {level} {}: {}",
                    df.display(),
                    f.line.unwrap_or(0),
                    f.code.as_deref().unwrap_or("?"),
                    f.message.as_deref().unwrap_or("")
                );
                if level == "error" {
                    problems.push(line);
                } else {
                    cx.note(line);
                }
            }
            if findings.is_empty() && !out.success() {
                problems.push(format!("hadolint failed: {}", out.tail(3)));
            }
        }
        Ran::Done(None) => cx.note("hadolint is not installed: only the built-in Dockerfile checks ran"),
        Ran::Planned => {}
    }
    if !problems.is_empty() {
        bail!("{}:\n  - {}", df.display(), problems.join("\n  - "));
    }
    Ok(Done::Passed)
}
