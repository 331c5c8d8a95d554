//! Fake `k3d` (modelled on k3d-io/k3d v5.9.0): clusters kept in `state/k3d.json`, each writing a `k3d-NAME` kube
//! context. Logs go to stderr in logrus' text form (`INFO[0000] ...`, cmd/root.go:188-199); `Fatal` exits 1.
//! Flags are checked against the tables of the upstream commands.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::reply::Reply;
use crate::util::Flags;
use crate::{cluster, ctx::Ctx, state};

#[derive(Serialize, Deserialize, Default)]
struct K3d {
    #[serde(default)]
    clusters: BTreeMap<String, K3dCluster>,
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct K3dCluster {
    servers: u32,
    agents: u32,
    running: bool,
    image: String,
    #[serde(default)]
    k3s_args: Vec<String>,
    /// Image ids imported, by tag.
    #[serde(default)]
    images: BTreeMap<String, String>,
}

/// Root persistent flags (cmd/root.go:90-92): `--verbose`, `--trace`, `--timestamps`.
const ROOT_FLAGS: &[&str] = &["--verbose", "--trace", "--timestamps"];
/// The `cluster create` flags the pipeline may use (cmd/cluster/clusterCreate.go:254-333).
const CREATE_FLAGS: &[&str] = &[
    "--servers",
    "-s",
    "--agents",
    "-a",
    "--image",
    "-i",
    "--k3s-arg",
    "--wait",
    "--timeout",
    "--registry-create",
    "--registry-use",
    "--kubeconfig-update-default",
    "--kubeconfig-switch-context",
];
/// `cluster list` (cmd/cluster/clusterList.go:67-69).
const LIST_FLAGS: &[&str] = &["--no-headers", "--token", "--output", "-o"];
/// `cluster start` (clusterStart.go:80-82) and `cluster stop` / `cluster delete` (clusterStop.go:57,
/// clusterDelete.go:116-122).
const START_FLAGS: &[&str] = &["--all", "-a", "--wait", "--timeout"];
const STOP_FLAGS: &[&str] = &["--all", "-a"];
const DELETE_FLAGS: &[&str] = &["--all", "-a", "--config", "-c"];
/// `image import` (cmd/image/imageImport.go:93-100).
const IMPORT_FLAGS: &[&str] = &["--cluster", "-c", "--keep-tarball", "-k", "--keep-tools", "-t", "--mode", "-m"];
const VALUED: &[&str] = &[
    "--servers",
    "-s",
    "--agents",
    "-a",
    "--image",
    "-i",
    "--k3s-arg",
    "--timeout",
    "--registry-create",
    "--registry-use",
    "--output",
    "-o",
    "--cluster",
    "-c",
    "--mode",
    "-m",
    "--config",
];

/// The default k3s image of k3d v5.9.0 (cmd/cluster/clusterCreate.go:286, version/version.go:41).
const DEFAULT_IMAGE: &str = "rancher/k3s:v1.32.5-k3s1";

fn info(msg: &str) -> String {
    format!("INFO[0000] {msg}\n")
}

fn fatal(msg: impl std::fmt::Display) -> Reply {
    Reply::fail(1, format!("FATA[0000] {msg}\n"))
}

fn check_flags(f: &Flags, allowed: &[&str]) -> Option<Reply> {
    let bad = f.flags.iter().find(|(k, _)| !allowed.contains(&k.as_str()) && !ROOT_FLAGS.contains(&k.as_str()))?;
    // cobra's unknown-flag error, printed by k3d's root command's Execute failing (cmd/root.go).
    Some(fatal(format!("unknown flag: {}", bad.0)))
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(&ctx.args, VALUED);
    let words: Vec<&str> = f.pos.iter().map(String::as_str).collect();
    let allowed = match words.as_slice() {
        ["cluster", "create", ..] => CREATE_FLAGS,
        ["cluster", "list" | "ls" | "get", ..] => LIST_FLAGS,
        ["cluster", "start", ..] => START_FLAGS,
        ["cluster", "stop", ..] => STOP_FLAGS,
        ["cluster", "delete" | "rm", ..] => DELETE_FLAGS,
        ["image", "import" | "load", ..] => IMPORT_FLAGS,
        _ => &[],
    };
    if let Some(r) = check_flags(&f, allowed) {
        return Ok(r);
    }
    match words.as_slice() {
        // cmd/root.go:258-259.
        ["version"] => Ok(Reply::ok("k3d version v5.9.0\nk3s version v1.32.5-k3s1 (default)\n")),
        ["cluster", "list" | "ls" | "get"] => list(ctx, &f),
        ["cluster", "create", name] => create(ctx, &f, name),
        ["cluster", "start", name] => set_running(ctx, name, true),
        ["cluster", "stop", name] => set_running(ctx, name, false),
        ["cluster", "delete" | "rm", name] => {
            let existed = state::update(ctx, "k3d", |k: &mut K3d| k.clusters.remove(*name).is_some())?;
            if !existed {
                // clusterDelete.go:174-177: a missing cluster is logged, not fatal.
                return Ok(Reply::default()
                    .with_err(info(&format!("No nodes found for cluster '{name}', nothing to delete."))));
            }
            cluster::remove_context(ctx, &format!("k3d-{name}"))?;
            // clusterDelete.go:89-107.
            Ok(Reply::default().with_err(format!(
                "{}{}{}",
                info("Removing cluster details from default kubeconfig..."),
                info("Removing standalone kubeconfig file (if there is one)..."),
                info(&format!("Successfully deleted cluster {name}!"))
            )))
        }
        ["image", "import" | "load", images @ ..] => import(ctx, &f, images),
        _ => Ok(fatal(format!("unknown command \"{}\" for \"k3d\"", words.join(" ")))),
    }
}

fn list(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let k: K3d = state::load(ctx, "k3d")?;
    let output = f.get(&["--output", "-o"]).unwrap_or_default().to_lowercase();
    if output == "json" {
        // clusterList.go:102-172: the Cluster object plus server/agent counts, one JSON array on one line.
        let entries: Vec<_> = k
            .clusters
            .iter()
            .map(|(name, c)| {
                let running = |n: u32| if c.running { n } else { 0 };
                let nodes: Vec<_> = (0..c.servers)
                    .map(|i| json!({"name": format!("k3d-{name}-server-{i}"), "role": "server", "State": {"Running": c.running}}))
                    .chain((0..c.agents).map(|i| json!({"name": format!("k3d-{name}-agent-{i}"), "role": "agent", "State": {"Running": c.running}})))
                    .collect();
                json!({
                    "name": name,
                    "network": {"name": format!("k3d-{name}"), "id": "", "Members": null},
                    "nodes": nodes,
                    "InitNode": null,
                    "imageVolume": format!("k3d-{name}-images"),
                    "serversRunning": running(c.servers),
                    "serversCount": c.servers,
                    "agentsRunning": running(c.agents),
                    "agentsCount": c.agents,
                    "hasLoadbalancer": true
                })
            })
            .collect();
        return Ok(Reply::ok(format!("{}\n", serde_json::Value::Array(entries))));
    }
    // clusterList.go:120-163: NAME SERVERS AGENTS LOADBALANCER through a tabwriter.
    let mut out = String::from("NAME   SERVERS   AGENTS   LOADBALANCER\n");
    for (name, c) in &k.clusters {
        let r = |n: u32| if c.running { n } else { 0 };
        out.push_str(&format!("{name}   {}/{}   {}/{}   true\n", r(c.servers), c.servers, r(c.agents), c.agents));
    }
    Ok(Reply::ok(out))
}

fn create(ctx: &Ctx, f: &Flags, name: &str) -> Result<Reply> {
    let k: K3d = state::load(ctx, "k3d")?;
    if k.clusters.contains_key(name) {
        // clusterCreate.go:147.
        return Ok(fatal(format!("Failed to create cluster '{name}' because a cluster with that name already exists")));
    }
    let num = |flags: &[&str], default: u32| f.get(flags).and_then(|v| v.parse().ok()).unwrap_or(default);
    let c = K3dCluster {
        servers: num(&["--servers", "-s"], 1).max(1),
        agents: num(&["--agents", "-a"], 0),
        running: true,
        image: f.get(&["--image", "-i"]).unwrap_or_else(|| DEFAULT_IMAGE.into()),
        k3s_args: f.all(&["--k3s-arg"]),
        images: BTreeMap::new(),
    };
    state::update(ctx, "k3d", |k: &mut K3d| k.clusters.insert(name.to_string(), c))?;
    // The API is published on 0.0.0.0 and a random port by default (pkg/types/defaults.go:86).
    let port = 40000 + (crate::util::hash64(name.as_bytes(), 11) % 20000);
    cluster::add_context(ctx, &format!("k3d-{name}"), &format!("https://0.0.0.0:{port}"))?;
    // clusterCreate.go:170 and :193 (logged), then with the default kubeconfig switch `kubectl cluster-info` on
    // stdout (:202-204).
    Ok(Reply::ok("kubectl cluster-info\n").with_err(format!(
        "{}{}",
        info(&format!("Cluster '{name}' created successfully!")),
        info("You can now use it like this:")
    )))
}

fn set_running(ctx: &Ctx, name: &str, running: bool) -> Result<Reply> {
    let found = state::update(ctx, "k3d", |k: &mut K3d| match k.clusters.get_mut(name) {
        Some(c) => {
            c.running = running;
            true
        }
        None => false,
    })?;
    if !found {
        // buildClusterList-style lookups fail with ClusterGet's error (pkg/client/cluster.go:834).
        return Ok(fatal(format!("failed to get cluster {name}: No nodes found for given cluster")));
    }
    let verb = if running { "Starting" } else { "Stopping" };
    Ok(Reply::default().with_err(info(&format!("{verb} cluster '{name}'"))))
}

fn import(ctx: &Ctx, f: &Flags, images: &[&str]) -> Result<Reply> {
    let clusters = {
        let c = f.all(&["--cluster", "-c"]);
        if c.is_empty() {
            // imageImport.go:93: the default cluster name is `k3s-default` (pkg/types/defaults.go:32).
            vec!["k3s-default".to_string()]
        } else {
            c
        }
    };
    let mut ids = vec![];
    for img in images {
        match crate::daemon::image_id(ctx, img)? {
            Some(id) => ids.push(id),
            None => return Ok(fatal(format!("Failed to import image(s): image '{img}' not found"))),
        }
    }
    let k: K3d = state::load(ctx, "k3d")?;
    let mut err = String::new();
    for name in &clusters {
        if !k.clusters.contains_key(name) {
            // parseLoadImageCmd: ClusterGet fails for an unknown cluster (pkg/client/cluster.go:834).
            return Ok(fatal(format!("failed to get cluster {name}: No nodes found for given cluster")));
        }
        err.push_str(&info(&format!("Importing image(s) into cluster '{name}'")));
        // imageImport.go:76
    }
    state::update(ctx, "k3d", |k: &mut K3d| {
        for name in &clusters {
            if let Some(c) = k.clusters.get_mut(name) {
                for (img, id) in images.iter().zip(&ids) {
                    c.images.insert(img.to_string(), id.clone());
                }
            }
        }
    })?;
    // imageImport.go:86.
    err.push_str(&info(&format!("Successfully imported {} image(s) into {} cluster(s)", images.len(), clusters.len())));
    Ok(Reply::default().with_err(err))
}
