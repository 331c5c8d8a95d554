//! Rendered Kubernetes manifests: parsed from `helm template`, checked against the deployment policy (hardening,
//! probes, resources, labels), and written to k8s/ for kubectl users by `cargo xtask manifests`.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde_json::Value;

use crate::config::Config;
use crate::context::Context;
use crate::kinds::{StepId, StepKind, Tool};
use crate::pipeline::{Done, Ran, Run, Step, StepCx};

/// `cargo xtask manifests [--check]`: writes the rendered chart to the configured file, or with `--check` fails
/// when the committed file no longer matches the chart.
pub struct Manifests {
    pub check: bool,
}

impl Manifests {
    pub fn run(self, ctx: &Context) -> Result<()> {
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
    let problems = check_docs(&fresh_docs);
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

/// The documents of a `helm template` stream.
pub fn parse(text: &str) -> Result<Vec<Value>> {
    Ok(crate::yaml::documents(Path::new("helm template output"), text)?)
}

fn name(doc: &Value) -> String {
    format!("{}/{}", doc["kind"].as_str().unwrap_or("?"), doc["metadata"]["name"].as_str().unwrap_or("?"))
}

/// Every policy breach in the rendered manifests, one line each naming the resource.
pub fn check_docs(docs: &[Value]) -> Vec<String> {
    let mut p = vec![];
    for d in docs {
        let n = name(d);
        if d["apiVersion"].as_str().is_none()
            || d["kind"].as_str().is_none()
            || d["metadata"]["name"].as_str().is_none()
        {
            p.push(format!("{n}: needs apiVersion, kind and metadata.name"));
            continue;
        }
        for label in ["app", "component", "version"] {
            if d["metadata"]["labels"][label].as_str().is_none() {
                p.push(format!("{n}: missing label `{label}`"));
            }
        }
        let kind = d["kind"].as_str().unwrap_or("");
        if !matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") {
            continue;
        }
        let pod = &d["spec"]["template"]["spec"];
        let pod_non_root = pod["securityContext"]["runAsNonRoot"] == true;
        for c in pod["containers"].as_array().into_iter().flatten() {
            let cn = format!("{n} container {}", c["name"].as_str().unwrap_or("?"));
            let sc = &c["securityContext"];
            if !pod_non_root && sc["runAsNonRoot"] != true {
                p.push(format!("{cn}: runAsNonRoot is not set"));
            }
            if sc["allowPrivilegeEscalation"] != false {
                p.push(format!("{cn}: allowPrivilegeEscalation must be false"));
            }
            if sc["readOnlyRootFilesystem"] != true {
                p.push(format!("{cn}: readOnlyRootFilesystem must be true"));
            }
            let drops_all = sc["capabilities"]["drop"].as_array().is_some_and(|a| a.iter().any(|x| x == "ALL"));
            if !drops_all {
                p.push(format!("{cn}: capabilities must drop ALL"));
            }
            for probe in ["livenessProbe", "readinessProbe"] {
                if !c[probe].is_object() {
                    p.push(format!("{cn}: no {probe}"));
                }
            }
            for (kind, what) in [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")] {
                if c["resources"][kind][what].is_null() {
                    p.push(format!("{cn}: no resources.{kind}.{what}"));
                }
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_unhardened_workloads() {
        let docs = parse(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: a, component: c, version: v}\n\
             spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: x:1\n---\n\
             apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
        )
        .unwrap();
        let p = check_docs(&docs);
        assert!(p.contains(&"Deployment/web container web: runAsNonRoot is not set".to_string()), "{p:?}");
        assert!(p.contains(&"Deployment/web container web: no livenessProbe".to_string()));
        assert!(p.contains(&"Service/svc: missing label `app`".to_string()));
    }
}
