//! The chart's steps that need no cluster, shared by `up` and `verify --static`: `helm lint` with each values
//! file, then `helm template` with the release's values and the rendered manifests checked against the deployment
//! policy; and the chart's fingerprint, which also decides a deploy.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::config::Config;
use crate::helm;
use crate::kinds::{StepId, StepKind};
use crate::pipeline::cache::Fingerprint;
use crate::pipeline::{Done, Ran, Run, Step, StepCx};

/// The steps that need no cluster: helm lint with each values file, then render and check the manifests.
/// Returns the id of the render step.
pub fn add_static_steps<'c>(
    cfg: &'c Config,
    run: &mut Run<'c>,
    secrets: BTreeMap<String, String>,
    after: Option<StepId>,
) -> StepId {
    let r = &cfg.release;
    let secrets = std::sync::Arc::new(secrets);
    let mut lint_ids = vec![];
    let mut files: Vec<Option<&'c std::path::PathBuf>> = vec![None];
    files.extend(r.values.iter().chain(&r.lint_values).map(Some));
    for file in files {
        let name = file.map(|f| f.display().to_string()).unwrap_or_else(|| "values.yaml".into());
        let id = StepId::lint_values(&name);
        let s = secrets.clone();
        let step =
            Step::new(id.clone(), StepKind::Lint, format!("helm lint with {name}"), move |cx| lint(cx, cfg, file, &s));
        run.add(step.after(after.clone()));
        lint_ids.push(id);
    }
    let s = secrets.clone();
    run.add(
        Step::new(
            StepId::render_chart(),
            StepKind::Render,
            format!("Render {} and check the manifests", r.chart.display()),
            move |cx| render(cx, cfg, &s),
        )
        .after(lint_ids),
    );
    StepId::render_chart()
}

/// The chart's files, values files and every value passed: what decides a render, a lint or a deploy.
pub fn chart_fingerprint(cx: &StepCx, cfg: &Config, args: &[String], secrets: Option<&str>) -> Result<Fingerprint> {
    let root = &cx.ctx.root;
    let mut fp = Fingerprint::new().tree(root, &cfg.release.chart)?;
    for f in cfg.release.values.iter().chain(&cfg.release.lint_values) {
        fp = fp.file(root, f)?;
    }
    // Keyed, never stored in plain or as a bare hash: a rotated secret redeploys.
    // A plan writes nothing: without a key yet, no recorded fingerprint can match, whatever key it uses.
    let key = match cx.for_real(|| crate::pipeline::cache::checkout_key(&cx.ctx.state_dir()))? {
        Ran::Done(key) => key,
        Ran::Planned => std::fs::read(cx.ctx.state_dir().join("secret.key")).unwrap_or_default(),
    };
    Ok(fp.value("helm args", &args.join("\u{0}")).secret_value("secret values", secrets.unwrap_or(""), &key))
}

fn lint(
    cx: &mut StepCx,
    cfg: &Config,
    file: Option<&std::path::PathBuf>,
    secrets: &BTreeMap<String, String>,
) -> Result<Done> {
    let chart = &cfg.release.chart;
    let mut args = vec![];
    if let Some(f) = file {
        args.extend(["-f".to_string(), f.display().to_string()]);
    }
    // The secrets are set so templates that require them render; image tags do not matter to lint.
    let mut no_files = cfg.clone();
    no_files.release.values.clear();
    args.extend(helm::value_args(&no_files, &BTreeMap::new()));
    let secret_json = helm::secret_values_json(cfg, secrets);
    let fp = chart_fingerprint(cx, cfg, &args, secret_json.as_deref())?
        .value("strict", &cfg.release.strict_lint.to_string());
    if cx.cached(fp, |_| Ok(None))? {
        return Ok(Done::Cached);
    }
    let (_secret_file, secret_args) = helm::SecretValues::write(cx, secret_json.as_deref(), cx.id.as_str())?;
    args.extend(secret_args);
    if cfg.release.strict_lint {
        args.push("--strict".into());
    }
    let out = cx.run(helm::lint_cmd(&cx.sh, chart, &args))?;
    if let Some(l) = out.stdout.lines().rev().find(|l| l.contains("chart(s) linted")) {
        cx.note(l.trim().to_string());
    }
    Ok(Done::Passed)
}

fn render(cx: &mut StepCx, cfg: &Config, secrets: &BTreeMap<String, String>) -> Result<Done> {
    let r = &cfg.release;
    let (chart, name, ns) = (&r.chart, &r.name, &r.namespace);
    let mut args = helm::value_args(cfg, &BTreeMap::new());
    let secret_json = helm::secret_values_json(cfg, secrets);
    let fp = chart_fingerprint(cx, cfg, &args, secret_json.as_deref())?;
    if cx.cached(fp, |_| Ok(None))? {
        return Ok(Done::Cached);
    }
    let (_secret_file, secret_args) = helm::SecretValues::write(cx, secret_json.as_deref(), cx.id.as_str())?;
    args.extend(secret_args);
    let rendered = cx.query(helm::template_cmd(&cx.sh, name, chart, ns, &args))?;
    let Ran::Done(out) = rendered else { return Ok(Done::Passed) };
    let docs = crate::manifests::parse(&out.stdout)?;
    let problems = crate::manifests::check_docs(&docs);
    cx.note(format!("{} manifests rendered", docs.len()));
    if !problems.is_empty() {
        bail!(
            "the rendered manifests break the deployment policy:\n{}",
            problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(Done::Passed)
}
