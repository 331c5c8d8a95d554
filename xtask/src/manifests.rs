//! `cargo xtask manifests`: the chart rendered by `helm template`, checked against the deployment policy
//! (`policy/workload.rs`) and written to k8s/ for kubectl users, or compared with it (`--check`); and, with
//! `--policy`, the same policy over manifests rendered elsewhere.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use crate::config::Config;
use crate::context::Context;
use crate::kinds::{StepId, StepKind, Tool};
use crate::pipeline::{Done, Ran, Run, Step, StepCx};
use crate::policy::workload::{self, name, parse};

/// `cargo xtask manifests [--check]`: writes the rendered chart to the configured file, or with `--check` fails
/// when the committed file no longer matches the chart. With `--policy FILE...` it only judges rendered manifests.
pub struct Manifests {
    pub check: bool,
    /// Rendered manifests to check against the deployment policy (`-` is stdin) instead of rendering the chart.
    pub policy: Vec<PathBuf>,
}

impl Manifests {
    pub fn run(self, ctx: &Context) -> Result<()> {
        if !self.policy.is_empty() {
            return check_files(&self.policy);
        }
        let cfg = ctx.config()?;
        if cfg.manifests.is_none() {
            return Err(crate::error::Error::usage(format!(
                "{} has no `manifests:` section saying where and how to render the plain manifests",
                ctx.config_shown.display()
            ))
            .into());
        }
        let check = self.check;
        let mut run = Run::new(ctx, if check { "manifests --check" } else { "manifests" });
        let title = if check { "k8s manifests match the chart" } else { "Render the chart into plain manifests" };
        run.add(crate::preflight::preflight_step(vec![Tool::Helm]));
        run.add(
            Step::new(StepId::render_manifests(), StepKind::Render, title, move |cx| render(cx, cfg, check))
                .after([StepId::preflight_tools()]),
        );
        run.execute().map(drop)
    }
}

/// Adds the drift check of the committed plain manifests (part of `verify --static`).
pub fn add_check_step<'c>(cfg: &'c Config, run: &mut Run<'c>, after: Option<StepId>) {
    if cfg.manifests.is_some() {
        let title = "k8s manifests match the chart";
        run.add(
            Step::new(StepId::render_manifests(), StepKind::Render, title, move |cx| render(cx, cfg, true))
                .after(after),
        );
    }
}

/// The `helm template` arguments; the file's header names them, so users can run the same by hand.
fn template_args(cfg: &Config) -> Vec<String> {
    let m = cfg.manifests.as_ref().expect("checked by the caller");
    let r = &cfg.release;
    let mut a =
        vec!["template".to_string(), r.name.clone(), slash(&r.chart), "--namespace".into(), r.namespace.clone()];
    for f in &m.values {
        a.extend(["-f".into(), slash(f)]);
    }
    for (k, v) in &m.set {
        a.extend(["--set".into(), format!("{k}={v}")]);
    }
    if m.skip_tests {
        a.push("--skip-tests".into());
    }
    a
}

fn slash(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn header(cfg: &Config, args: &[String]) -> String {
    let mut h = String::from(
        "# Plain Kubernetes manifests for kubectl users, generated from the Helm chart. Do not edit by hand.\n\
         # Rendered with (from the repository root):\n",
    );
    h += &format!("#   helm {}\n", args.join(" "));
    h += "# Regenerate: cargo xtask manifests (or the command above, or scripts/ci/check-chart.py --write).\n";
    if let Some(note) = cfg.manifests.as_ref().and_then(|m| m.note.as_deref()) {
        h += &format!("# {note}\n");
    }
    h
}

fn render(cx: &mut StepCx, cfg: &Config, check: bool) -> Result<Done> {
    let m = cfg.manifests.as_ref().context("no manifests section")?;
    let args = template_args(cfg);
    let Ran::Done(out) = cx.query(crate::helm::with_args_cmd(&cx.sh, &args))? else { return Ok(Done::Passed) };
    let fresh = format!("{}{}", header(cfg, &args), out.stdout);
    let path = cx.ctx.root.join(&m.output);
    let shown = m.output.display();
    let fresh_docs = parse(&fresh)?;
    let problems = workload::problems(&fresh_docs);
    if !problems.is_empty() {
        bail!("the rendered manifests break the deployment policy:\n  - {}", problems.join("\n  - "));
    }
    if check {
        let committed =
            std::fs::read_to_string(&path).with_context(|| format!("reading {shown}: run `cargo xtask manifests`"))?;
        // Compare documents, not text: Helm 3 and 4 differ in blank lines between documents only.
        let have = parse(&committed)?;
        if have != fresh_docs {
            let differing: Vec<String> = fresh_docs
                .iter()
                .filter(|d| !have.contains(d))
                .map(name)
                .chain(
                    have.iter().filter(|d| !fresh_docs.contains(d)).map(|d| format!("{} (only in the file)", name(d))),
                )
                .take(10)
                .collect();
            bail!(
                "{shown} is out of date with the chart: {}. Run `cargo xtask manifests` and commit the result",
                differing.join(", ")
            );
        }
        if !committed.contains(&format!("#   helm {}", args.join(" "))) {
            bail!("{shown}'s header does not name the render command; run `cargo xtask manifests`");
        }
        cx.note(format!("{shown} matches the chart ({} documents)", have.len()));
        return Ok(Done::Passed);
    }
    crate::files::write_atomic(&path, fresh.as_bytes())?;
    cx.note(format!("wrote {shown} ({} documents)", fresh_docs.len()));
    Ok(Done::Passed)
}

/// `cargo xtask manifests --policy FILE...`: manifests someone else rendered (CI's chart check pipes in each values
/// variant's render) judged by the same deployment policy as `up`'s render step, with no chart, config or tool.
fn check_files(files: &[PathBuf]) -> Result<()> {
    let mut broken = vec![];
    for f in files {
        let (shown, text) = if f.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading the manifests from stdin")?;
            ("stdin".to_string(), text)
        } else {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            (f.display().to_string(), text)
        };
        let docs = workload::parse_from(Path::new(&shown), &text)?;
        if docs.is_empty() {
            bail!(
                "{shown} holds no Kubernetes documents: pass the output of `helm template` (or `-` with it on stdin)"
            );
        }
        let problems = workload::problems(&docs);
        if problems.is_empty() {
            crate::outln!("{shown}: {} documents pass the deployment policy", docs.len());
        } else {
            broken.push(format!(
                "{shown}: the rendered manifests break the deployment policy:\n  - {}",
                problems.join("\n  - ")
            ));
        }
    }
    if !broken.is_empty() {
        bail!("{}", broken.join("\n"));
    }
    Ok(())
}
