//! The Kubernetes side shared by kubectl, helm and minikube: kubeconfig context, namespaces, reachability.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::{ctx::Ctx, profiles, state};

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

/// Why a call cannot reach its cluster.
pub enum Unreachable {
    /// The kubeconfig has no such context (minikube writes one per profile on `start` and removes it on `delete`).
    NoContext(String),
    /// The context's cluster does not answer (its profile is stopped, paused or its container is gone).
    Refused(&'static str),
}

/// The context the command line names: kubectl's `--context`, helm's `--kube-context` (both also `--flag=value`),
/// else the kubeconfig's current context. Each call picks its cluster this way, as client-go's
/// `ClientConfigLoadingRules` + `ConfigOverrides.CurrentContext` do.
pub fn named_context(ctx: &Ctx) -> Result<Option<String>> {
    let mut it = ctx.args.iter().take_while(|a| a.as_str() != "--");
    while let Some(a) = it.next() {
        for flag in ["--context", "--kube-context"] {
            if a == flag {
                return Ok(it.next().cloned());
            }
            if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
                return Ok(Some(v.to_string()));
            }
        }
    }
    // A KUBECONFIG file names its own current context (client-go loading rules): the xtask hands kagent and
    // kubectl-ai a minified one.
    if let Some(path) = ctx.env("KUBECONFIG") {
        if let Ok(text) = std::fs::read_to_string(ctx.cwd().join(&path)) {
            if let Some(c) = text.lines().find_map(|l| l.strip_prefix("current-context: ")) {
                return Ok(Some(c.trim().to_string()));
            }
        }
    }
    Ok(load(ctx)?.current_context)
}

/// Whether the call's context exists and its cluster answers. Before minikube ever wrote a context the fake
/// assumes some reachable cluster (tests of single commands).
pub fn reach(ctx: &Ctx) -> Result<Option<Unreachable>> {
    let kube = load(ctx)?;
    let named = named_context(ctx)?;
    // kind/k3d contexts (and seeded existing clusters) answer; minikube's follow their profile.
    if !kube.managed || named.as_ref().is_some_and(|c| kube.contexts.contains_key(c)) {
        return Ok(None);
    }
    let Some(context) = named else { return Ok(Some(Unreachable::Refused(SERVER))) };
    Ok(match profiles::status_of(ctx, &context)? {
        None => Some(Unreachable::NoContext(context)),
        Some(s) if s == "Running" => None,
        Some(_) => Some(Unreachable::Refused(SERVER)),
    })
}

/// `Some(server)` when the call's cluster does not answer (a missing context included, for callers that do not
/// tell the two apart).
pub fn down(ctx: &Ctx) -> Result<Option<&'static str>> {
    Ok(reach(ctx)?.map(|u| match u {
        Unreachable::Refused(s) => s,
        Unreachable::NoContext(_) => SERVER,
    }))
}

/// kubectl's words for an unreachable cluster. A missing context: client-go's `errContextNotFound`
/// (`tools/clientcmd/validation.go`: `context was not found for specified context: P`) wrapped by kubectl's
/// `cmdutil.CheckErr` as `Error in configuration: ...` (audit cluster-tools D7).
pub fn kubectl_error(u: &Unreachable) -> String {
    match u {
        Unreachable::NoContext(c) => {
            format!("Error in configuration: context was not found for specified context: {c}\n")
        }
        Unreachable::Refused(server) => kubectl_refused(server),
    }
}

/// helm's: `Kubernetes cluster unreachable: <client-go error>` (v3.21.4 `pkg/kube/client.go:126-139`).
pub fn helm_error(u: &Unreachable) -> String {
    match u {
        Unreachable::NoContext(c) => {
            format!("Error: Kubernetes cluster unreachable: context was not found for specified context: {c}\n")
        }
        Unreachable::Refused(server) => helm_unreachable(server),
    }
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
