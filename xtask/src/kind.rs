//! kind (Kubernetes in Docker): the cluster's presence (`kind get clusters`), create from a generated config
//! (`kind create cluster --config`), images side-loaded with `kind load docker-image`, and delete. kind has no
//! stop: a kind cluster is either there or deleted. Behaviour as of kind v0.32.0 (kubernetes-sigs/kind).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use xshell::cmd;

use crate::pipeline::{Done, StepCx};
use crate::target::{Addon, LocalCluster};

/// Whether the cluster exists. `kind get clusters` prints one name per line on stdout, or `No kind clusters
/// found.` through the logger (stderr) with exit 0 (pkg/cmd/kind/get/clusters/clusters.go:58-66).
pub fn exists(cx: &mut StepCx, name: &str) -> Result<bool> {
    let out = cx.probe(cmd!(cx.sh, "kind get clusters").into())?;
    if cx.dry_run() {
        return Ok(false);
    }
    if !out.success() {
        anyhow::bail!("`kind get clusters` failed ({}): {} — is Docker running?", out.ending(), out.tail(3));
    }
    Ok(out.stdout.lines().any(|l| l.trim() == name))
}

/// The kind config: one control-plane node and `nodes - 1` workers. With ingress-nginx the control plane gets
/// the `ingress-ready=true` label and host ports 80/443, as kind's ingress guide sets them up.
pub fn config_yaml(k: &LocalCluster) -> String {
    let mut y = String::from("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n");
    if k.addons.contains(&Addon::IngressNginx) {
        y.push_str(
            "  kubeadmConfigPatches:\n  - |\n    kind: InitConfiguration\n    nodeRegistration:\n      kubeletExtraArgs:\n        node-labels: \"ingress-ready=true\"\n  extraPortMappings:\n  - containerPort: 80\n    hostPort: 80\n    protocol: TCP\n  - containerPort: 443\n    hostPort: 443\n    protocol: TCP\n",
        );
    }
    for _ in 1..k.nodes {
        y.push_str("- role: worker\n");
    }
    y
}

/// Creates the cluster when it is not there, then installs the addons. kind switches the kubeconfig's current
/// context to `kind-NAME` on create.
pub fn ensure(cx: &mut StepCx, k: &LocalCluster) -> Result<Done> {
    let name = &k.name;
    if exists(cx, name)? {
        cx.note(format!("kind cluster `{name}` already exists"));
        return Ok(Done::Cached);
    }
    // A new cluster has none of the images and no release.
    cx.invalidate_prefix("load:");
    cx.invalidate_prefix("deploy:");
    cx.invalidate_prefix("test:");
    let file = config_file(cx, k)?;
    let image: Vec<String> =
        k.kubernetes_version.iter().flat_map(|v| ["--image".to_string(), format!("kindest/node:{v}")]).collect();
    cx.run(cmd!(cx.sh, "kind create cluster --name {name} --config {file} {image...} --wait 5m").into())
        .with_context(|| format!("creating kind cluster `{name}`"))?;
    crate::addons::install(cx, &format!("kind-{name}"), &k.addons)?;
    Ok(Done::Passed)
}

fn config_file(cx: &StepCx, k: &LocalCluster) -> Result<PathBuf> {
    let path = cx.ctx.state_dir().join(format!("kind-{}.yaml", k.name));
    if !cx.dry_run() {
        std::fs::create_dir_all(cx.ctx.state_dir())?;
        std::fs::write(&path, config_yaml(k)).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(cx.ctx.rel(&path).into_owned())
}

/// `kind load docker-image TAG --name N` copies the image into every node that lacks it (it compares image ids
/// per node and skips nodes that have it: pkg/cmd/kind/load/docker-image/docker-image.go:131-163) and fails with
/// `no nodes found for cluster` when the cluster is gone (:103-108).
pub fn load(cx: &mut StepCx, name: &str, tag: &str) -> Result<()> {
    cx.run(cmd!(cx.sh, "kind load docker-image {tag} --name {name}").into())
        .with_context(|| format!("loading {tag} into kind cluster `{name}`"))?;
    Ok(())
}

/// `kind delete cluster --name N`; deleting a cluster that is not there is not an error upstream ("like rm -f",
/// pkg/cmd/kind/delete/cluster/deletecluster.go:44-48), but the step says it was skipped.
pub fn delete(cx: &mut StepCx, name: &str) -> Result<Done> {
    if !cx.dry_run() && !exists(cx, name)? {
        return Ok(Done::Skipped(format!("kind cluster `{name}` does not exist")));
    }
    cx.run(cmd!(cx.sh, "kind delete cluster --name {name}").into())?;
    Ok(Done::Passed)
}
