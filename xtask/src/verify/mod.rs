//! `cargo xtask verify`: proof that the deployment works (rollouts, health, a task round-trip through the
//! frontend, pod-deletion resilience, persistence across restarts, autoscaling, ingress), and `--static`: the
//! checks that need no cluster (lint, render, schema and policy, Dockerfile lint). On failure the diagnostics are
//! collected into the run folder and the culprit is named. One file per check; `reach.rs` holds how the checks
//! reach the app (port-forwards, the frontend's URL, HTTP expectations).

use anyhow::Result;

use crate::context::Context;
use crate::diagnose;
use crate::kinds::{Check, StepId, StepKind};
use crate::pipeline::{Run, Step};

mod health;
mod hpa;
mod ingress;
mod persistence;
mod reach;
mod resilience;
mod rollout;
mod roundtrip;
mod static_checks;

pub struct Verify {
    pub only: Vec<Check>,
    pub skip: Vec<Check>,
    /// Run the bounded in-cluster load generator and report whether the backend scaled up.
    pub load: bool,
    pub static_only: bool,
}

const ALL: [Check; 7] = Check::ALL;

impl Verify {
    pub fn run(self, ctx: &Context) -> Result<()> {
        // Each check stands alone: one run shows every broken check.
        let mut run = Run::new(ctx, if self.static_only { "verify --static" } else { "verify" }).keep_going();
        self.add_steps(ctx, &mut run)?;
        run.execute().map(drop)
    }

    pub fn add_steps<'c>(&self, ctx: &'c Context, run: &mut Run<'c>) -> Result<()> {
        let cfg = ctx.config()?;
        let secrets = crate::helm::secret_values(&ctx.root, cfg, ctx.global.dry_run)?;
        if self.static_only {
            static_checks::add_steps(cfg, run, secrets);
            return Ok(());
        }
        drop(secrets);
        // --only wins over the config's `verify.checks`, which wins over all checks.
        let base: &[Check] = if !self.only.is_empty() {
            &self.only
        } else if !cfg.verify.checks.is_empty() {
            &cfg.verify.checks
        } else {
            &ALL
        };
        let wanted: Vec<Check> = ALL.into_iter().filter(|c| base.contains(c) && !self.skip.contains(c)).collect();
        let mut prev: Option<StepId> = None;
        for &check in &wanted {
            let id = StepId::verify(check);
            let load = self.load;
            let step = Step::new(id.clone(), StepKind::Verify, title(check), move |cx| match check {
                Check::Rollout => rollout::check(cx, cfg),
                Check::Health => health::check(cx, cfg),
                Check::Roundtrip => roundtrip::check(cx, cfg),
                Check::Resilience => resilience::check(cx, cfg),
                Check::Persistence => persistence::check(cx, cfg),
                Check::Hpa => hpa::check(cx, cfg, load),
                Check::Ingress => ingress::check(cx, cfg),
            });
            // One at a time: resilience and persistence disturb the pods the other checks read. Each check stands
            // on its own, except that nothing disturbs a deployment that did not roll out.
            let step = step.after_any(prev.clone());
            let step = if check != Check::Rollout && wanted.contains(&Check::Rollout) {
                step.after([StepId::verify(Check::Rollout)])
            } else {
                step
            };
            run.add(step);
            prev = Some(id);
        }
        diagnose::add_on_failure(cfg, run);
        Ok(())
    }
}

fn title(c: Check) -> &'static str {
    match c {
        Check::Rollout => "Every Deployment and StatefulSet rolled out, every pod Ready",
        Check::Health => "Health endpoints answer",
        Check::Roundtrip => "Task round-trip through the frontend: create, list, complete, delete",
        Check::Resilience => "A deleted backend pod is replaced while the service keeps answering",
        Check::Persistence => "A task survives restarting the backend and the database",
        Check::Hpa => "HorizontalPodAutoscalers exist and report metrics",
        Check::Ingress => "Ingress routes / and /api",
    }
}
