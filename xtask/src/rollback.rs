//! `cargo xtask rollback [REVISION]`: return the release to an earlier revision (the last good one by default).

use anyhow::{bail, Result};

use crate::config::Config;
use crate::context::Context;
use crate::helm;
use crate::kinds::{StepId, StepKind, Tool};
use crate::pipeline::{Done, Placeholder, Ran, Run, Step, StepCx};

pub struct Rollback {
    pub revision: Option<u64>,
}

impl Rollback {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let cfg = ctx.config()?;
        let mut run = Run::new(ctx, "rollback");
        let rev = self.revision;
        let name = cfg.release.name.clone();
        run.add(crate::preflight::preflight_step(vec![Tool::Helm]));
        run.add(
            Step::new(StepId::rollback(&name), StepKind::Deploy, format!("helm rollback {name}"), move |cx| {
                rollback(cx, cfg, rev)
            })
            .after([StepId::preflight_tools()]),
        );
        run.execute().map(drop)
    }
}

fn rollback(cx: &mut StepCx, cfg: &Config, revision: Option<u64>) -> Result<Done> {
    let r = &cfg.release;
    let rel = helm::Release::of(cfg);
    let name = rel.name;
    let history = helm::history(cx, rel)?;
    let target = match (revision, history) {
        (Some(rev), Ran::Planned) => rev.to_string(),
        (Some(rev), Ran::Done(history)) => {
            if !history.iter().any(|h| h.revision == rev) {
                let known: Vec<String> = history.iter().map(|h| format!("{} ({})", h.revision, h.status)).collect();
                return Err(crate::error::Error::usage(format!(
                    "release {name} has no revision {rev}; revisions: {}",
                    known.join(", ")
                ))
                .into());
            }
            rev.to_string()
        }
        (None, Ran::Planned) => Placeholder::PreviousRevision.to_string(),
        (None, Ran::Done(history)) => {
            // The newest revision before the current one that went live: superseded by a later one, or still
            // `deployed` when the current one is failed or stuck pending.
            let current = history.last().map(|h| h.revision).unwrap_or(0);
            match history
                .iter()
                .rev()
                .find(|h| h.revision < current && (h.status == "superseded" || h.status == "deployed"))
            {
                Some(h) => h.revision.to_string(),
                None => bail!(
                    "release {name} has no earlier good revision to return to (history: {} revision(s))",
                    history.len()
                ),
            }
        }
    };
    let t = helm::go_duration(r.timeout.0);
    let major = helm::major(cx)?;
    cx.run(helm::rollback_cmd(&cx.sh, rel, &target, major, &t))?;
    // The release no longer matches what `up` last deployed: the next `up` must upgrade again.
    cx.invalidate(&StepId::deploy(name));
    cx.invalidate(&StepId::test(name));
    cx.note(format!("release {name} rolled back to revision {target}"));
    Ok(Done::Passed)
}
