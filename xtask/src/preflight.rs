//! `preflight:tools`: every tool a command needs, present at its minimum. Missing tools pinned in
//! xtask/tools.lock.yaml are installed first. Finding and judging a tool is `tools.rs`'s, installing one
//! `install.rs`'s; this step uses both, so neither needs the other.

use std::path::Path;

use crate::context::Context;
use crate::install::{self, Lock};
use crate::kinds::{StepId, StepKind, Tool};
use crate::pipeline::{Done, Ran, Step, StepCx};
use crate::tools::{def, hint, locate, minimum, probe, shortfall, Probe, Source, ToolDef};
use crate::version::Version;

/// Preflight for a command: every tool in `names` present at its minimum. Missing ones that are pinned in
/// xtask/tools.lock.yaml are installed into .xtask/bin first, all at once (unless `--no-install`), and the step
/// says so. After Ctrl-C nothing new starts and the step ends as interrupted, naming no tool.
pub fn ensure(cx: &mut StepCx, tools: &[Tool]) -> anyhow::Result<()> {
    let ctx = cx.ctx;
    let lock = install::load_lock(&ctx.root).ok();
    let defs: Vec<&'static ToolDef> = tools.iter().map(|t| def(*t)).collect();
    // A plan probes nothing: it says what it would check, and what it would install.
    if let Ran::Planned = cx.unless_planning(|cx| ensure_present(cx, &defs, lock.as_ref()))? {
        for line in planned_checks(ctx, &defs, lock.as_ref())? {
            cx.plan(line);
        }
    }
    Ok(())
}

/// What a plan of [`ensure`] shows for each tool: the minimum it checks, and the pinned download it would make.
fn planned_checks(ctx: &Context, defs: &[&'static ToolDef], lock: Option<&Lock>) -> anyhow::Result<Vec<String>> {
    let cfg = ctx.config()?;
    let pinned = |name: &str| lock.and_then(|l| l.tools.get(name));
    let mut lines = vec![];
    for def in defs {
        lines.push(format!("check {} >= {}", def.name(), minimum(def, Some(cfg))));
        if locate(&ctx.local_bin(), def.program).is_some() {
            continue;
        }
        let art = pinned(def.name()).and_then(|t| Some((t, t.platforms.get(&install::host_platform())?)));
        lines.push(match art {
            Some((t, a)) if !ctx.global.no_install => format!(
                "{} is not installed: would download {} {} from {} (sha256 {}) into .xtask/bin",
                def.name(),
                def.name(),
                t.version,
                a.url,
                a.sha256
            ),
            _ => format!("{} is not installed: the step would fail", def.name()),
        });
    }
    Ok(lines)
}

/// [`ensure`] for real: probe, install what is pinned and missing, and fail naming what is still short.
fn ensure_present(cx: &mut StepCx, defs: &[&'static ToolDef], lock: Option<&Lock>) -> anyhow::Result<()> {
    let ctx = cx.ctx;
    let cfg = ctx.config()?;
    let pinned = |name: &str| lock.and_then(|l| l.tools.get(name));
    let mut probes: Vec<Probe> = defs.iter().map(|def| probe(ctx, &cx.sh, def)).collect();
    record_probes(cx, &probes);
    if crate::pipeline::exec::interrupted() {
        return Err(crate::error::Error::Interrupted.into());
    }
    let mut install_errors: std::collections::BTreeMap<&str, String> = Default::default();
    let to_install: Vec<&'static ToolDef> = defs
        .iter()
        .zip(&probes)
        .filter(|(d, p)| !p.found && pinned(d.name()).is_some() && !ctx.global.no_install)
        .map(|(d, _)| *d)
        .collect();
    if !to_install.is_empty() {
        let lock = lock.expect("pinned tools come from the lock");
        for def in &to_install {
            let url = lock.tools[def.name()].platforms.get(&install::host_platform()).map(|a| a.url.as_str());
            cx.note(format!(
                "{} is missing: installing the pinned version from {} (turn this off with --no-install)",
                def.name(),
                url.unwrap_or("(no download for this platform)")
            ));
        }
        let status = cx.status_line();
        let commands = std::sync::Mutex::new(vec![]);
        let io =
            install::InstallIo { progress: &status, log: cx.log_path().map(Path::to_path_buf), commands: &commands };
        // Independent downloads run at once, so stalls overlap instead of adding up.
        let results: Vec<(&str, anyhow::Result<String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = to_install
                .iter()
                .map(|def| {
                    let io = &io;
                    scope.spawn(move || (def.name(), install::install_one(ctx, lock, def.name(), false, io)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| ("?", Err(anyhow::anyhow!("the install thread panicked")))))
                .collect()
        });
        cx.record_commands(commands.into_inner().unwrap_or_else(|p| p.into_inner()));
        if crate::pipeline::exec::interrupted() {
            return Err(crate::error::Error::Interrupted.into());
        }
        for (name, r) in results {
            match r {
                Ok(msg) => cx.note(msg),
                Err(e) => {
                    install_errors.insert(name, format!("{e:#}"));
                }
            }
        }
        for (def, p) in defs.iter().zip(probes.iter_mut()) {
            if to_install.iter().any(|d| d.tool == def.tool) && !install_errors.contains_key(def.name()) {
                *p = probe(ctx, &cx.sh, def);
                record_probes(cx, std::slice::from_ref(p));
            }
        }
    }
    let mut missing = vec![];
    for (def, probe) in defs.iter().zip(&probes) {
        let name = def.name();
        let min = minimum(def, Some(cfg));
        let why = match install_errors.get(name) {
            Some(e) => Some(format!("not found, and installing the pinned version failed: {e}")),
            None if !probe.found && ctx.global.no_install && pinned(name).is_some() => {
                Some("not found (not installed: --no-install)".to_string())
            }
            None => shortfall(probe, &min, true).map(|s| s.to_string()),
        };
        if let Some(v) = &probe.version {
            cx.facts().tool_versions.insert(def.tool, v.clone());
        }
        if let (Some(v), Tool::Helm) = (probe.version.as_deref().and_then(Version::parse), def.tool) {
            // Later steps pick Helm 3 or Helm 4 flags from this, without asking helm again.
            cx.facts().helm_major = Some(v.major);
        }
        match why {
            None => {
                let src = if probe.source == Some(Source::Pinned) { " (pinned, .xtask/bin)" } else { "" };
                cx.note(format!("{name} {}{src}", probe.version.as_deref().unwrap_or("?")));
            }
            Some(w) => {
                // The flag that makes the tool unnecessary, where there is one.
                let bypass = if def.tool == Tool::Trivy { "; or pass `--skip-gate vuln`" } else { "" };
                missing.push(format!("  - {name}: {w} — {}{bypass}", hint(def)));
            }
        }
    }
    if !missing.is_empty() {
        anyhow::bail!("required tools are missing or too old:\n{}", missing.join("\n"));
    }
    Ok(())
}

/// A command's `preflight:tools` step: `names` at their minimums, a missing pinned one installed first (unless
/// `--no-install`), the same for every command that needs a pinned tool.
pub fn preflight_step<'c>(tools: Vec<Tool>) -> Step<'c> {
    Step::new(StepId::preflight_tools(), StepKind::Preflight, preflight_title(&tools), move |cx| {
        ensure(cx, &tools)?;
        Ok(Done::Passed)
    })
}

/// The title of a `preflight:tools` step.
pub fn preflight_title(tools: &[Tool]) -> String {
    let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    format!("{} at their minimums", names.join(", "))
}

/// Puts the version commands the probes ran into the step's log and report.
fn record_probes(cx: &mut StepCx, probes: &[Probe]) {
    for p in probes {
        if let Some((shown, out)) = &p.ran {
            cx.record_output(shown, out);
        }
    }
}
