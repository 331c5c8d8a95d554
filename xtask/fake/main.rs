//! Multi-call test double for docker, minikube, kind, k3d, kubectl, helm, trivy, kubectl-ai and kagent (see docs/dev/testing.md).
//!
//! Integration tests link this binary into a temp `bin/` under each tool name and put that folder first on PATH.
//! Every call is logged to `$FAKE_DIR/calls.jsonl`; tools keep state in `$FAKE_DIR/state/`; rules in
//! `$FAKE_DIR/scenario.json` override the built-in answers.

mod ai;
mod build;
mod calls;
mod cluster;
mod ctx;
mod daemon;
mod docker;
mod dockerfile;
/// moby/patternmatcher, ported with citations: the same reading of `.dockerignore` the docker CLI does.
#[path = "../src/pipeline/dockerignore.rs"]
#[allow(dead_code)]
mod dockerignore;
mod helm;
mod k3d;
mod kind;
mod kubectl;
mod minikube;
mod nodes;
mod profiles;
mod registry;
mod releases;
mod reply;
mod scenario;
mod state;
mod template;
mod trivy;
// The xtask's own date arithmetic, so the fake and the reports agree.
#[path = "../src/time.rs"]
mod time;
mod util;

use std::path::PathBuf;

use ctx::Ctx;
use reply::Reply;

fn tool_name(argv0: &str) -> String {
    let base = argv0.rsplit(['/', '\\']).next().unwrap_or(argv0);
    base.strip_suffix(".exe").unwrap_or(base).to_string()
}

fn main() {
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let tool = tool_name(&argv.next().unwrap_or_default());
    let args: Vec<String> = argv.collect();
    let Some(dir) = std::env::var_os("FAKE_DIR").filter(|d| !d.is_empty()) else {
        eprintln!("xtask-fake: FAKE_DIR is not set");
        std::process::exit(127);
    };
    let fixtures = std::env::var_os("FAKE_FIXTURES")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")));
    let ctx = Ctx { tool, args, dir: PathBuf::from(dir), fixtures, start_ms: util::now_ms() };
    calls::start(&ctx);
    let reply = match answer(&ctx) {
        Ok(r) => r,
        Err(e) => Reply::fail(2, format!("xtask-fake: {}: {e:#}\n", ctx.tool)),
    };
    let code = reply.emit();
    calls::end(&ctx, code);
    std::process::exit(code);
}

/// Scenario rules first, then the tool's built-in behaviour.
fn answer(ctx: &Ctx) -> anyhow::Result<Reply> {
    let mut prefix = Reply::default();
    if let Some(rule) = scenario::pick(ctx)? {
        let reply = rule.apply(ctx)?;
        if !rule.fallthrough {
            return Ok(reply);
        }
        prefix = reply;
    }
    let reply = match ctx.tool.as_str() {
        "docker" => docker::run(ctx)?,
        "minikube" => minikube::run(ctx)?,
        "kubectl" => kubectl::run(ctx)?,
        "helm" => helm::run(ctx)?,
        "kind" => kind::run(ctx)?,
        "k3d" => k3d::run(ctx)?,
        "trivy" => trivy::run(ctx)?,
        "kubectl-ai" => ai::kubectl_ai(ctx)?,
        "kagent" => ai::kagent(ctx)?,
        other => Reply::fail(127, format!("xtask-fake: no fake for a tool named {other:?}\n")),
    };
    Ok(prefix.then(reply))
}
