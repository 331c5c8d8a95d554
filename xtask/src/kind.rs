//! kind (Kubernetes in Docker): the cluster's presence (`kind get clusters`), create from a generated config
//! (`kind create cluster --config`), images side-loaded with `kind load docker-image`, and delete. kind has no
//! stop: a kind cluster is either there or deleted. Behaviour as of kind v0.32.0 (kubernetes-sigs/kind).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use xshell::cmd;

use crate::docker;
use crate::kinds::StepFamily;
use crate::pipeline::{Done, Ran, StepCx};
use crate::target::{Addon, LocalCluster};

/// Whether the cluster exists. `kind get clusters` prints one name per line on stdout, or `No kind clusters
/// found.` through the logger (stderr) with exit 0 (pkg/cmd/kind/get/clusters/clusters.go:58-66).
pub fn exists(cx: &mut StepCx, name: &str) -> Result<bool> {
    // A plan takes the path that creates the cluster.
    let Ran::Done(out) = cx.ask(cmd!(cx.sh, "kind get clusters").into())? else { return Ok(false) };
    if !out.success() {
        anyhow::bail!("`kind get clusters` failed ({}): {} — is Docker running?", out.ending(), out.tail(3));
    }
    Ok(out.stdout.lines().any(|l| l.trim() == name))
}

/// The kind config: one control-plane node and `nodes - 1` workers. With ingress-nginx the control plane gets
/// the `ingress-ready=true` label and host ports 80/443, as kind's ingress guide sets them up.
pub fn config_yaml(k: &LocalCluster) -> String {
    let mut y = String::from("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n");
    if k.local_registry.is_some() {
        // Node images before kind v0.27.0 need containerd's registry config dir switched on (kind-with-registry.sh,
        // step 2); newer ones have it already.
        y.push_str("containerdConfigPatches:\n- |-\n  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n    config_path = \"/etc/containerd/certs.d\"\n");
    }
    y.push_str("nodes:\n- role: control-plane\n");
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
    cx.invalidate_family(StepFamily::Load);
    cx.invalidate_family(StepFamily::Deploy);
    cx.invalidate_family(StepFamily::Test);
    let file = config_file(cx, k)?;
    let image: Vec<String> =
        k.kubernetes_version.iter().flat_map(|v| ["--image".to_string(), format!("kindest/node:{v}")]).collect();
    cx.run(cmd!(cx.sh, "kind create cluster --name {name} --config {file} {image...} --wait 5m").into())
        .with_context(|| format!("creating kind cluster `{name}`"))?;
    if let Some(port) = k.local_registry {
        local_registry(cx, name, port)?;
    }
    crate::addons::install(cx, &format!("kind-{name}"), &k.addons)?;
    Ok(Done::Passed)
}

/// The registry container of kind's local-registry guide.
pub const REGISTRY: &str = "kind-registry";

/// kind's local registry, as site/static/examples/kind-with-registry.sh (v0.32.0) sets it up: a `registry:3`
/// container on 127.0.0.1:PORT (step 1, reused when it runs), on each node a containerd `hosts.toml` aliasing
/// localhost:PORT to it (step 3; copied with `docker cp` instead of a shell on the node), the container joined to
/// the `kind` network (step 4) and the KEP-1755 `local-registry-hosting` ConfigMap (step 5).
fn local_registry(cx: &mut StepCx, name: &str, port: u16) -> Result<()> {
    let running = match cx.ask(docker::running_names_cmd(&cx.sh))? {
        Ran::Done(names) => names.stdout.lines().any(|l| l.trim() == REGISTRY),
        Ran::Planned => false,
    };
    if !running {
        let publish = format!("127.0.0.1:{port}:5000");
        cx.run(docker::run_service_cmd(&cx.sh, REGISTRY, &publish, "registry:3"))
            .context("starting the kind-registry container")?;
    }
    let dir = format!("/etc/containerd/certs.d/localhost:{port}");
    let hosts =
        write_state_file(cx, &format!("kind-{name}-hosts.toml"), &format!("[host.\"http://{REGISTRY}:5000\"]\n"))?;
    let nodes: Vec<String> = match cx.query(cmd!(cx.sh, "kind get nodes --name {name}").into())? {
        Ran::Done(nodes) => nodes.stdout.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect(),
        // A new cluster has its control plane only.
        Ran::Planned => vec![format!("{name}-control-plane")],
    };
    for node in &nodes {
        cx.run(docker::mkdir_in_cmd(&cx.sh, node, &dir))?;
        let target = format!("{node}:{dir}/hosts.toml");
        cx.run(docker::copy_into_cmd(&cx.sh, &hosts, &target))?;
    }
    let connected = cx.ask(docker::network_connect_cmd(&cx.sh, "kind", REGISTRY))?;
    // Already on the network (a second cluster, a rerun): the state the guide wants.
    if let Ran::Done(out) = connected {
        if !out.success() && !out.stderr.contains("already exists") {
            anyhow::bail!("`docker network connect kind {REGISTRY}` failed ({}): {}", out.ending(), out.tail(3));
        }
    }
    let configmap = write_state_file(
        cx,
        &format!("kind-{name}-registry-hosting.yaml"),
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local-registry-hosting\n  namespace: kube-public\ndata:\n  localRegistryHosting.v1: |\n    host: \"localhost:{port}\"\n    help: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n"
        ),
    )?;
    let context = format!("kind-{name}");
    cx.run(crate::kube::apply_cmd(&cx.sh, &context, &configmap))?;
    Ok(())
}

/// Writes a file under target/xtask (not in a dry run) and returns its path relative to the repo.
fn write_state_file(cx: &StepCx, file: &str, text: &str) -> Result<PathBuf> {
    let path = cx.ctx.state_dir().join(file);
    cx.for_real(|| {
        std::fs::create_dir_all(cx.ctx.state_dir())?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    })?;
    Ok(cx.ctx.rel(&path).into_owned())
}

fn config_file(cx: &StepCx, k: &LocalCluster) -> Result<PathBuf> {
    let path = cx.ctx.state_dir().join(format!("kind-{}.yaml", k.name));
    cx.for_real(|| {
        std::fs::create_dir_all(cx.ctx.state_dir())?;
        std::fs::write(&path, config_yaml(k)).with_context(|| format!("writing {}", path.display()))
    })?;
    Ok(cx.ctx.rel(&path).into_owned())
}

/// `kind load docker-image TAG --name N` copies the image into every node that lacks it (it compares image ids
/// per node and skips nodes that have it: pkg/cmd/kind/load/docker-image/docker-image.go:131-163) and fails with
/// `no nodes found for cluster` when the cluster is gone (:103-108).
pub fn load(cx: &mut StepCx, name: &str, tag: &str) -> Result<Ran<()>> {
    let ran = cx
        .query(cmd!(cx.sh, "kind load docker-image {tag} --name {name}").into())
        .with_context(|| format!("loading {tag} into kind cluster `{name}`"))?;
    Ok(ran.map(drop))
}

/// `kind delete cluster --name N`; deleting a cluster that is not there is not an error upstream ("like rm -f",
/// pkg/cmd/kind/delete/cluster/deletecluster.go:44-48), but the step says it was skipped.
pub fn delete(cx: &mut StepCx, name: &str) -> Result<Done> {
    // A plan shows the delete (it cannot know whether the cluster is there).
    if let Ran::Done(false) = cx.unless_planning(|cx| exists(cx, name))? {
        return Ok(Done::Skipped(format!("kind cluster `{name}` does not exist")));
    }
    cx.run(cmd!(cx.sh, "kind delete cluster --name {name}").into())?;
    Ok(Done::Passed)
}
