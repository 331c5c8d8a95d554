//! `cargo xtask ci [STAGE...]`: the pipeline as CI stages (preflight, static, build, deploy, verify, teardown).
//! Every stage writes its report, JUnit file and job-summary section into one CI folder, so a CI job can run the
//! stages as separate steps; teardown runs even when an earlier stage failed.

use std::path::PathBuf;

use anyhow::Result;

use crate::build::Build;
use crate::context::Context;
use crate::error::Error;
use crate::kinds::{Gate, Stage, Tool};
use crate::pipeline::console::{self, Shown};
use crate::pipeline::Run;
use crate::teardown::{ClusterAction, Teardown};
use crate::up::Up;
use crate::verify::Verify;

pub struct Ci {
    pub stages: Vec<Stage>,
    pub skip: Vec<Gate>,
}

/// The CI folder: one per CI run (GITHUB_RUN_ID and attempt on GitHub Actions, XTASK_CI_ID elsewhere), so the
/// stages of one job, run as separate steps, write side by side.
fn ci_dir(ctx: &Context) -> PathBuf {
    let id = std::env::var("XTASK_CI_ID").ok().filter(|s| !s.is_empty()).or_else(|| {
        std::env::var("GITHUB_RUN_ID")
            .ok()
            .map(|r| format!("{r}-{}", std::env::var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|_| "1".into())))
    });
    ctx.state_dir().join("ci").join(id.unwrap_or_else(|| "local".into()))
}

impl Ci {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let mut stages = self.stages.clone();
        if stages.is_empty() {
            stages = [Stage::Preflight, Stage::Static, Stage::Build].to_vec();
        }
        stages.sort();
        stages.dedup();
        let dir = ci_dir(ctx);
        let mut failed = vec![];
        for stage in stages {
            if !failed.is_empty() && stage != Stage::Teardown {
                console::show(Shown::Info(&format!(
                    "ci: stage {} not started: {} failed",
                    stage.name(),
                    failed.join(", ")
                )));
                continue;
            }
            let mut run = Run::new(ctx, format!("ci {}", stage.name())).in_dir(dir.join(stage.name()));
            self.add_stage(ctx, stage, &mut run)?;
            match run.execute() {
                Ok(_) => {}
                Err(e) if Error::is_steps_failed(&e) => failed.push(stage.name().to_string()),
                Err(e) => return Err(e),
            }
        }
        console::show(Shown::Info(&format!("ci: reports in {}", ctx.rel(&dir).display())));
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::StepsFailed { steps: failed }.into())
        }
    }

    fn add_stage<'c>(&self, ctx: &'c Context, stage: Stage, run: &mut Run<'c>) -> Result<()> {
        match stage {
            Stage::Preflight => {
                let cfg = ctx.config()?;
                let mut tools = vec![Tool::Helm];
                if !cfg.images.is_empty() {
                    tools.push(Tool::Docker);
                    if cfg.gates.vulnerabilities.enabled && !self.skip.contains(&Gate::Vuln) {
                        tools.push(Tool::Trivy);
                    }
                }
                if self.stages.iter().any(|s| s.needs_cluster()) {
                    tools.extend([Tool::Minikube, Tool::Kubectl]);
                }
                run.add(crate::preflight::preflight_step(tools));
                Ok(())
            }
            Stage::Static => Verify { only: vec![], skip: vec![], load: false, static_only: true }.add_steps(ctx, run),
            Stage::Build => {
                Build { skip: self.skip.clone(), images: vec![], tools_step: None }.add_steps(ctx, run).map(drop)
            }
            Stage::Deploy => {
                Up { build: Build { skip: self.skip.clone(), images: vec![], tools_step: None }, require_ai: false }
                    .add_steps(ctx, run)
            }
            Stage::Verify => Verify { only: vec![], skip: vec![], load: false, static_only: false }.add_steps(ctx, run),
            Stage::Teardown => Teardown { cluster: ClusterAction::Delete }.add_steps(ctx, run),
        }
    }
}
