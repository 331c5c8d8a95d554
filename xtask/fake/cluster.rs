//! The Kubernetes side shared by kubectl, helm and minikube: kubeconfig context, namespaces, reachability.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::{minikube, state, Ctx};

#[derive(Serialize, Deserialize, Default)]
pub struct Kube {
    /// Set once minikube has written a context; before that the fake assumes some reachable cluster.
    #[serde(default)]
    pub managed: bool,
    pub current_context: Option<String>,
    #[serde(default)]
    pub namespaces: BTreeSet<String>,
    #[serde(default)]
    pub deleted_pods: Vec<String>,
    /// Contexts written by kind/k3d, or seeded by a test for an existing cluster: name -> API server URL.
    #[serde(default)]
    pub contexts: std::collections::BTreeMap<String, String>,
}

/// Adds a context and makes it current, as `kind create cluster` and `k3d cluster create` do by default.
pub fn add_context(ctx: &Ctx, name: &str, server: &str) -> Result<()> {
    state::update(ctx, "kube", |k: &mut Kube| {
        k.contexts.insert(name.to_string(), server.to_string());
        k.current_context = Some(name.to_string());
    })
}

/// Removes a context (and unsets it when current), as kind's and k3d's delete do.
pub fn remove_context(ctx: &Ctx, name: &str) -> Result<()> {
    state::update(ctx, "kube", |k: &mut Kube| {
        k.contexts.remove(name);
        if k.current_context.as_deref() == Some(name) {
            k.current_context = None;
        }
    })
}

pub const SERVER: &str = "192.168.49.2:8443";
pub const DEFAULT_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

pub fn load(ctx: &Ctx) -> Result<Kube> {
    state::load(ctx, "kube")
}

/// `Some(server)` when the current context's minikube cluster is not running.
pub fn down(ctx: &Ctx) -> Result<Option<&'static str>> {
    let kube = load(ctx)?;
    if !kube.managed || kube.current_context.as_ref().is_some_and(|c| kube.contexts.contains_key(c)) {
        return Ok(None);
    }
    let running = match &kube.current_context {
        Some(c) => minikube::status_of(ctx, c)?.is_some_and(|s| s == "Running"),
        None => false,
    };
    Ok((!running).then_some(SERVER))
}

/// kubectl's message when the API server does not answer (captured: kubectl/version-no-server.stderr.txt).
pub fn kubectl_refused(server: &str) -> String {
    format!("The connection to the server {server} was refused - did you specify the right host or port?\n")
}

/// helm's (pkg/action: "Kubernetes cluster unreachable" wraps the client-go error).
pub fn helm_unreachable(server: &str) -> String {
    format!(
        "Error: Kubernetes cluster unreachable: Get \"https://{server}/version\": dial tcp {server}: connect: connection refused\n"
    )
}
