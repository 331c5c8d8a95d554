//! k3d (k3s in Docker): the cluster's state from `k3d cluster list -o json`, create/start/stop/delete, and images
//! side-loaded with `k3d image import`. Behaviour as of k3d v5.9.0 (k3d-io/k3d).

use anyhow::{Context as _, Result};
use xshell::cmd;

use crate::kinds::StepFamily;
use crate::minikube::State;
use crate::pipeline::{Done, Ran, StepCx};
use crate::target::{Addon, LocalCluster};

/// One cluster of `k3d cluster list -o json` (k3d `cmd/cluster/clusterList.go:102-172`: `name`, the server and
/// agent counts and how many of each run).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    servers_count: u64,
    #[serde(default)]
    servers_running: u64,
    #[serde(default)]
    agents_count: u64,
    #[serde(default)]
    agents_running: u64,
}

/// The cluster's state. `k3d cluster list -o json` prints every cluster as a JSON array with `name`,
/// `serversCount`/`serversRunning` and `agentsCount`/`agentsRunning` (cmd/cluster/clusterList.go:102-172); asking
/// for one unknown name instead exits 1 (:88-93), so the whole list is read.
pub fn state(cx: &mut StepCx, name: &str) -> Result<State> {
    // A plan takes the path that creates the cluster.
    let Ran::Done(out) = cx.ask(cmd!(cx.sh, "k3d cluster list -o json").into())? else { return Ok(State::Nonexistent) };
    if !out.success() {
        anyhow::bail!("`k3d cluster list -o json` failed ({}): {} — is Docker running?", out.ending(), out.tail(3));
    }
    let list: Vec<Listed> = serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("`k3d cluster list -o json` printed no JSON: {}", out.tail(3)))?;
    let Some(c) = list.iter().find(|c| c.name.as_deref() == Some(name)) else {
        return Ok(State::Nonexistent);
    };
    Ok(match (c.servers_running, c.servers_count, c.agents_running, c.agents_count) {
        (0, _, 0, _) => State::Stopped,
        (sr, sc, ar, ac) if sr == sc && ar == ac => State::Running,
        _ => State::Degraded,
    })
}

/// Creates the cluster when absent, starts it when stopped, then installs the addons. k3s ships metrics-server
/// and Traefik; with ingress-nginx the pipeline turns Traefik off (`--k3s-arg --disable=traefik@server:*`, the
/// form of cmd/cluster/clusterCreate.go:264) and installs ingress-nginx.
pub fn ensure(cx: &mut StepCx, k: &LocalCluster) -> Result<Done> {
    let name = &k.name;
    match state(cx, name)? {
        State::Running => {
            cx.note(format!("k3d cluster `{name}` already running"));
            Ok(Done::Cached)
        }
        // `Broken` is minikube's (a profile whose container is gone); k3d::state never answers it.
        State::Stopped | State::Degraded | State::Broken { .. } => {
            cx.note(format!("k3d cluster `{name}` is not running: starting it"));
            cx.run(cmd!(cx.sh, "k3d cluster start {name} --wait").into())?;
            Ok(Done::Passed)
        }
        State::Nonexistent => {
            cx.invalidate_family(StepFamily::Load);
            cx.invalidate_family(StepFamily::Deploy);
            cx.invalidate_family(StepFamily::Test);
            let agents = (k.nodes.max(1) - 1).to_string();
            let mut extra: Vec<String> = vec![];
            if let Some(v) = &k.kubernetes_version {
                // k3s images are tagged `<kubernetes version>-k3s<N>`; -k3s1 is the first build of each release.
                extra.extend(["--image".into(), format!("rancher/k3s:{v}-k3s1")]);
            }
            if k.addons.contains(&Addon::IngressNginx) {
                extra.extend(["--k3s-arg".into(), "--disable=traefik@server:*".into()]);
            }
            if let Some(port) = k.local_registry {
                // `NAME[:HOST][:HOSTPORT]` (cmd/cluster/clusterCreate.go:254; pkg/config/transform.go:322-357):
                // loopback only, on the configured port.
                extra.extend([
                    "--registry-create".into(),
                    format!("{}:127.0.0.1:{port}", crate::target::k3d_registry_name(name)),
                ]);
            }
            cx.run(cmd!(cx.sh, "k3d cluster create {name} --servers 1 --agents {agents} {extra...} --wait").into())
                .with_context(|| format!("creating k3d cluster `{name}`"))?;
            // metrics-server is part of k3s: only ingress-nginx needs installing.
            let addons: Vec<Addon> = k.addons.iter().copied().filter(|a| *a != Addon::MetricsServer).collect();
            crate::addons::install(cx, &format!("k3d-{name}"), &addons)?;
            Ok(Done::Passed)
        }
    }
}

/// `k3d image import TAG -c NAME` (cmd/image/imageImport.go:93 for `--cluster/-c`).
pub fn load(cx: &mut StepCx, name: &str, tag: &str) -> Result<Ran<()>> {
    let ran = cx
        .query(cmd!(cx.sh, "k3d image import {tag} -c {name}").into())
        .with_context(|| format!("importing {tag} into k3d cluster `{name}`"))?;
    Ok(ran.map(drop))
}

pub fn stop(cx: &mut StepCx, name: &str, state: State) -> Result<Done> {
    match state {
        State::Nonexistent => Ok(Done::Skipped(format!("k3d cluster `{name}` does not exist"))),
        State::Stopped => Ok(Done::Skipped(format!("k3d cluster `{name}` is already stopped"))),
        _ => {
            cx.run(cmd!(cx.sh, "k3d cluster stop {name}").into())?;
            Ok(Done::Passed)
        }
    }
}

pub fn delete(cx: &mut StepCx, name: &str, state: State) -> Result<Done> {
    // A run that found no cluster skips; a plan, which asked nothing (its state is the plan's default), shows the
    // delete.
    if let Ran::Done(true) = cx.unless_planning(|_| Ok(state == State::Nonexistent))? {
        return Ok(Done::Skipped(format!("k3d cluster `{name}` does not exist")));
    }
    cx.run(cmd!(cx.sh, "k3d cluster delete {name}").into())?;
    Ok(Done::Passed)
}
