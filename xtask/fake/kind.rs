//! Fake `kind` (modelled on kubernetes-sigs/kind v0.32.0): clusters kept in `state/kind.json`, each writing a
//! `kind-NAME` kube context. Flags are checked against the tables of the upstream commands; an unknown flag fails
//! the way cobra fails it.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::reply::Reply;
use crate::util::Flags;
use crate::{cluster, ctx::Ctx, state};

#[derive(Serialize, Deserialize, Default)]
struct Kind {
    #[serde(default)]
    clusters: BTreeMap<String, KindCluster>,
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct KindCluster {
    nodes: Vec<String>,
    image: String,
    /// Image ids loaded into the nodes, by tag.
    #[serde(default)]
    images: BTreeMap<String, String>,
}

/// Root persistent flags (pkg/cmd/kind/root.go:58-71): `--verbosity/-v N`, `--quiet/-q`.
const ROOT_FLAGS: &[&str] = &["--verbosity", "-v", "--quiet", "-q"];
/// `create cluster` (pkg/cmd/kind/create/cluster/createcluster.go:56-93).
const CREATE_FLAGS: &[&str] = &["--name", "-n", "--config", "--image", "--retain", "--wait", "--kubeconfig"];
/// `load docker-image` (pkg/cmd/kind/load/docker-image/docker-image.go:68-82).
const LOAD_FLAGS: &[&str] = &["--name", "-n", "--nodes"];
/// `delete cluster` (pkg/cmd/kind/delete/cluster/deletecluster.go:57-69).
const DELETE_FLAGS: &[&str] = &["--name", "-n", "--kubeconfig"];
const VALUED: &[&str] =
    &["--verbosity", "-v", "--name", "-n", "--config", "--image", "--wait", "--kubeconfig", "--nodes"];

/// The node image of kind v0.32.0 when `--image` is absent (pkg/apis/config/defaults/image.go:21).
const DEFAULT_IMAGE: &str =
    "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

/// Errors go through the logger as `ERROR: <err>` and the process exits 1 (cmd/kind/app/main.go:34-37, 82-88).
fn error(msg: impl std::fmt::Display) -> Reply {
    Reply::fail(1, format!("ERROR: {msg}\n"))
}

fn check_flags(f: &Flags, allowed: &[&str]) -> Option<Reply> {
    let bad = f.flags.iter().find(|(k, _)| !allowed.contains(&k.as_str()) && !ROOT_FLAGS.contains(&k.as_str()))?;
    Some(error(format!("unknown flag: {}", bad.0)))
}

/// `--name`, else KIND_CLUSTER_NAME, else `kind` (pkg/internal/cli/override.go OverrideDefaultName).
fn name(ctx: &Ctx, f: &Flags) -> String {
    f.get(&["--name", "-n"]).or_else(|| ctx.env("KIND_CLUSTER_NAME")).unwrap_or_else(|| "kind".into())
}

/// Whether a kind node container of that name exists (kind's nodes are Docker containers).
pub fn node_exists(ctx: &Ctx, name: &str) -> Result<bool> {
    let k: Kind = state::load(ctx, "kind")?;
    Ok(k.clusters.values().any(|c| c.nodes.iter().any(|n| n == name)))
}

/// `get nodes` (pkg/cmd/kind/get/nodes/nodes.go:52-64).
const NODES_FLAGS: &[&str] = &["--name", "-n", "--all-clusters", "-A"];

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(&ctx.args, VALUED);
    let words: Vec<&str> = f.pos.iter().map(String::as_str).collect();
    match words.as_slice() {
        // pkg/cmd/kind/version/version.go:56-58.
        ["version"] => Ok(Reply::ok("kind v0.32.0 go1.24.6 linux/amd64\n")),
        ["get", "clusters"] => {
            let k: Kind = state::load(ctx, "kind")?;
            if k.clusters.is_empty() {
                // pkg/cmd/kind/get/clusters/clusters.go:58-61: logged (stderr), exit 0.
                return Ok(Reply::default().with_err("No kind clusters found.\n"));
            }
            Ok(Reply::ok(k.clusters.keys().map(|n| format!("{n}\n")).collect::<String>()))
        }
        ["get", "nodes"] => {
            if let Some(r) = check_flags(&f, NODES_FLAGS) {
                return Ok(r);
            }
            let n = name(ctx, &f);
            let k: Kind = state::load(ctx, "kind")?;
            match k.clusters.get(&n) {
                // nodes.go:107: one name per line on stdout.
                Some(c) => Ok(Reply::ok(c.nodes.iter().map(|n| format!("{n}\n")).collect::<String>())),
                // nodes.go:100-101: logged, exit 0.
                None => Ok(Reply::default().with_err(format!("No kind nodes found for cluster \"{n}\".\n"))),
            }
        }
        ["create", "cluster"] => {
            if let Some(r) = check_flags(&f, CREATE_FLAGS) {
                return Ok(r);
            }
            create(ctx, &f)
        }
        ["load", "docker-image", images @ ..] => {
            if let Some(r) = check_flags(&f, LOAD_FLAGS) {
                return Ok(r);
            }
            load(ctx, &f, images)
        }
        ["delete", "cluster"] => {
            if let Some(r) = check_flags(&f, DELETE_FLAGS) {
                return Ok(r);
            }
            let n = name(ctx, &f);
            state::update(ctx, "kind", |k: &mut Kind| k.clusters.remove(&n))?;
            cluster::remove_context(ctx, &format!("kind-{n}"))?;
            // deletecluster.go:79: logged; a missing cluster is not an error (the command's help: like `rm -f`).
            Ok(Reply::default().with_err(format!("Deleting cluster \"{n}\" ...\n")))
        }
        // cobra's args check for `create cluster extra` etc., and unknown commands.
        _ => Ok(error(format!("unknown command \"{}\" for \"kind\"", words.join(" ")))),
    }
}

fn create(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let n = name(ctx, f);
    let k: Kind = state::load(ctx, "kind")?;
    if k.clusters.contains_key(&n) {
        // pkg/cluster/internal/create/create.go:175-184, wrapped by createcluster.go:121.
        return Ok(error(format!(
            "failed to create cluster: node(s) already exist for a cluster with the name \"{n}\""
        )));
    }
    let mut nodes = vec![format!("{n}-control-plane")];
    if let Some(path) = f.get(&["--config"]) {
        let Ok(text) = std::fs::read_to_string(ctx.cwd().join(&path)) else {
            return Ok(error(format!(
                "failed to create cluster: error reading file: open {path}: no such file or directory"
            )));
        };
        // kind names workers NAME-worker, NAME-worker2, ... (pkg/cluster/internal/create/create.go node naming).
        let workers = text.lines().filter(|l| l.trim() == "- role: worker").count();
        for i in 1..=workers {
            nodes.push(if i == 1 { format!("{n}-worker") } else { format!("{n}-worker{i}") });
        }
    }
    let image = f.get(&["--image"]).unwrap_or_else(|| DEFAULT_IMAGE.into());
    let node_count = nodes.len();
    state::update(ctx, "kind", |k: &mut Kind| {
        k.clusters.insert(n.clone(), KindCluster { nodes, image: image.clone(), images: BTreeMap::new() })
    })?;
    // The API server is published on a random loopback port (pkg/cluster/internal/providers/docker/provision.go).
    let port = 40000 + (crate::util::hash64(n.as_bytes(), 7) % 20000);
    cluster::add_context(ctx, &format!("kind-{n}"), &format!("https://127.0.0.1:{port}"))?;
    // The logger's progress lines on stderr: create.go:99 and :196, the actions' Status.Start titles
    // (actions/config/config.go:48, kubeadminit/init.go:47, installcni/cni.go:42, installstorage/storage.go:42).
    Ok(Reply::default().with_err(format!(
        "Creating cluster \"{n}\" ...\n ✓ Ensuring node image ({image}) 🖼\n ✓ Preparing nodes {} \n ✓ Writing configuration 📜\n ✓ Starting control-plane 🕹️\n ✓ Installing CNI 🔌\n ✓ Installing StorageClass 💾\nSet kubectl context to \"kind-{n}\"\nYou can now use your cluster with:\n\nkubectl cluster-info --context kind-{n}\n",
        "📦 ".repeat(node_count)
    )))
}

fn load(ctx: &Ctx, f: &Flags, images: &[&str]) -> Result<Reply> {
    if images.is_empty() {
        // docker-image.go:54-57.
        return Ok(error("a list of image names is required"));
    }
    let n = name(ctx, f);
    let mut ids = vec![];
    for img in images {
        match crate::daemon::image_id(ctx, img)? {
            Some(id) => ids.push(id),
            // docker-image.go:91-97: checked before the cluster.
            None => return Ok(error(format!("image: \"{img}\" not present locally"))),
        }
    }
    let k: Kind = state::load(ctx, "kind")?;
    let Some(c) = k.clusters.get(&n).cloned() else {
        // docker-image.go:103-108.
        return Ok(error(format!("no nodes found for cluster \"{n}\"")));
    };
    let mut err = String::new();
    for (img, id) in images.iter().zip(&ids) {
        if c.images.get(*img) == Some(id) {
            // docker-image.go:161-163.
            err.push_str(&format!("Image: \"{img}\" with ID \"{id}\" found to be already present on all nodes.\n"));
            continue;
        }
        for node in &c.nodes {
            // docker-image.go:155-157.
            err.push_str(&format!(
                "Image: \"{img}\" with ID \"{id}\" not yet present on node \"{node}\", loading...\n"
            ));
        }
    }
    state::update(ctx, "kind", |k: &mut Kind| {
        if let Some(c) = k.clusters.get_mut(&n) {
            for (img, id) in images.iter().zip(&ids) {
                c.images.insert(img.to_string(), id.clone());
            }
        }
    })?;
    Ok(Reply::default().with_err(err))
}
