//! Deploy targets (`targets:` in xtask.yaml, `--target NAME`): which cluster a run acts on, how images reach it,
//! and the release and verify overrides that go with it. The `cluster:` section is the implicit target `local`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::kinds::Check;
use crate::units::ByteSize;

/// The name of the target the `cluster:` section stands for.
pub const LOCAL: &str = "local";

/// One entry under `targets:`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub cluster: ClusterSpec,
    /// `host[:port]/path`: push each image there and deploy it by digest, instead of side-loading it.
    #[serde(default)]
    pub registry: Option<RegistryRef>,
    /// Needs `--target NAME` spelled out and a confirmation (`--yes` off a TTY). Existing clusters default to true.
    #[serde(default)]
    pub protected: Option<bool>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Overrides `release.name`.
    #[serde(default)]
    pub release_name: Option<String>,
    /// Replaces `release.values`.
    #[serde(default)]
    pub values: Option<Vec<PathBuf>>,
    /// Added to `release.set`.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// The verify checks this target runs; the provider's default set when absent.
    #[serde(default)]
    pub verify: Option<Vec<Check>>,
}

/// The cluster of a target, by provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum ClusterSpec {
    /// A Minikube profile the pipeline manages (the settings of the `cluster:` section).
    Minikube(Cluster),
    /// A kind cluster the pipeline creates and deletes.
    Kind(LocalCluster),
    /// A k3d cluster the pipeline creates, starts, stops and deletes.
    K3d(LocalCluster),
    /// A cluster someone else runs, reached through a kube context: never created, stopped or deleted.
    Existing(ExistingCluster),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocalCluster {
    #[serde(default = "default_name")]
    pub name: String,
    /// `v1.31.0`: the node image `kindest/node:v1.31.0` or `rancher/k3s:v1.31.0-k3s1`; the tool's default when unset.
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    /// Nodes in all: one control plane (kind) or server (k3d), the rest workers (kind) or agents (k3d).
    #[serde(default = "one")]
    pub nodes: u32,
    /// Installed by the pipeline after the cluster is up (with `helm upgrade --install`).
    #[serde(default)]
    pub addons: Vec<Addon>,
    /// A registry beside the cluster on 127.0.0.1:PORT (ctlptl's pattern: k3d creates it with the cluster, for kind
    /// the pipeline runs `kind-registry` as kind's guide does); images are pushed there and deployed by digest.
    #[serde(default)]
    pub local_registry: Option<u16>,
}

fn default_name() -> String {
    "todo".into()
}
fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExistingCluster {
    /// The kube context to use (`kubectl config get-contexts`).
    pub context: String,
    /// The API server the context must point at (`https://...`); recorded at the first run when absent.
    #[serde(default)]
    pub server: Option<String>,
}

/// What minikube calls addons, installed on kind and k3d by the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Addon {
    IngressNginx,
    MetricsServer,
}

impl Addon {
    pub fn name(self) -> &'static str {
        match self {
            Addon::IngressNginx => "ingress-nginx",
            Addon::MetricsServer => "metrics-server",
        }
    }
}

/// `host[:port]/path` of a registry, e.g. `127.0.0.1:5000/todo` or `registry.example.com/team/todo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    pub host: String,
    pub path: String,
    /// The host the cluster's nodes pull from when it differs from the one pushed to (a k3d-managed registry:
    /// pushed to as `localhost:PORT`, pulled as `k3d-NAME-registry:PORT`).
    pub pull_host: Option<String>,
}

impl RegistryRef {
    pub fn parse(s: &str) -> Result<RegistryRef, String> {
        let bad = || format!("`{s}` is not a registry: write `host[:port]/path`, e.g. `127.0.0.1:5000/todo`");
        let (host, path) = s.trim_end_matches('/').split_once('/').ok_or_else(bad)?;
        // Docker reads the first component as a registry host only when it has a `.` or `:` or is `localhost`.
        if host.is_empty() || path.is_empty() || !(host.contains(['.', ':']) || host == "localhost") {
            return Err(bad());
        }
        if path.chars().any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))) {
            return Err(format!("`{s}`: a repository path uses lowercase letters, digits and . _ - / only"));
        }
        Ok(RegistryRef { host: host.into(), path: path.into(), pull_host: None })
    }

    /// The repository an image is pushed to: `<host>/<path>/<image name>`.
    pub fn repository(&self, image: &str) -> String {
        format!("{}/{}/{image}", self.host, self.path)
    }

    /// The repository the cluster pulls the image from (the release references it).
    pub fn pull_repository(&self, image: &str) -> String {
        format!("{}/{}/{image}", self.pull_host.as_deref().unwrap_or(&self.host), self.path)
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.path)
    }
}

impl<'de> Deserialize<'de> for RegistryRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RegistryRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for RegistryRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// The provider of a target's cluster: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Minikube,
    Kind,
    K3d,
    Existing,
}

/// How images reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Copied into the nodes: `minikube image load`, `kind load docker-image`, `k3d image import`.
    SideLoad,
    /// Pushed, then referenced by digest.
    Registry(RegistryRef),
}

/// The target a run acts on, resolved from the config and `--target`.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub cluster: ClusterSpec,
    pub delivery: Delivery,
    pub protected: bool,
    /// `--target NAME` was given (not only the default).
    pub explicit: bool,
    /// The kube context every kubectl and helm call names (see [`context_of`]).
    pub context: String,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            name: LOCAL.into(),
            cluster: ClusterSpec::Minikube(Cluster::default()),
            delivery: Delivery::SideLoad,
            protected: false,
            explicit: false,
            context: context_of(&ClusterSpec::Minikube(Cluster::default())),
        }
    }
}

/// The kube context of a cluster. kind and k3d name theirs `kind-NAME` and `k3d-NAME` (kind
/// pkg/cluster/internal/kubeconfig/internal/kubeconfig/helpers.go:25 at v0.32.0; k3d pkg/client/kubeconfig.go:178
/// at v5.9.0); minikube names it after the profile.
pub fn context_of(c: &ClusterSpec) -> String {
    match c {
        ClusterSpec::Minikube(c) => c.profile.clone(),
        ClusterSpec::Kind(k) => format!("kind-{}", k.name),
        ClusterSpec::K3d(k) => format!("k3d-{}", k.name),
        ClusterSpec::Existing(e) => e.context.clone(),
    }
}

impl ClusterSpec {
    pub fn provider(&self) -> Provider {
        match self {
            ClusterSpec::Minikube(_) => Provider::Minikube,
            ClusterSpec::Kind(_) => Provider::Kind,
            ClusterSpec::K3d(_) => Provider::K3d,
            ClusterSpec::Existing(_) => Provider::Existing,
        }
    }
}

impl Target {
    /// The implicit target of the `cluster:` section.
    pub fn local(c: &Cluster) -> Target {
        Target {
            name: LOCAL.into(),
            context: c.profile.clone(),
            cluster: ClusterSpec::Minikube(c.clone()),
            delivery: Delivery::SideLoad,
            protected: false,
            explicit: false,
        }
    }

    pub fn provider(&self) -> Provider {
        self.cluster.provider()
    }

    pub fn kube_context(&self) -> &str {
        &self.context
    }

    /// One line for the top of every run: which target, which cluster, how images get there.
    pub fn describe(&self) -> String {
        let cluster = match &self.cluster {
            ClusterSpec::Minikube(c) => format!("minikube profile `{}`", c.profile),
            ClusterSpec::Kind(k) => format!("kind cluster `{}`", k.name),
            ClusterSpec::K3d(k) => format!("k3d cluster `{}`", k.name),
            ClusterSpec::Existing(_) => "existing cluster".into(),
        };
        let images = match &self.delivery {
            Delivery::SideLoad => "images side-loaded".to_string(),
            Delivery::Registry(r) => format!("images pushed to {r} and deployed by digest"),
        };
        let protected = if self.protected { ", protected" } else { "" };
        format!("target: {} ({cluster}, context {}; {images}{protected})", self.name, self.kube_context())
    }

    /// The verify checks a target runs when neither `--only` nor the target says: everything on a local cluster
    /// (the ingress check needs minikube's node address); on a shared cluster nothing that deletes or restarts
    /// pods (resilience, persistence) unless the target opts in.
    pub fn default_checks(&self) -> Vec<Check> {
        use Check::*;
        match self.provider() {
            Provider::Minikube => vec![],
            Provider::Kind | Provider::K3d => vec![Rollout, Health, Roundtrip, Resilience, Persistence, Hpa],
            Provider::Existing => vec![Rollout, Health, Roundtrip, Hpa],
        }
    }
}

/// The registry container k3d creates with a cluster (`--registry-create NAME:HOST:PORT`).
pub fn k3d_registry_name(cluster: &str) -> String {
    format!("k3d-{cluster}-registry")
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// The `cluster:` section: the local minikube cluster.
pub struct Cluster {
    #[serde(default = "default_profile")]
    pub profile: String,
    #[serde(default = "default_driver")]
    pub driver: String,
    #[serde(default = "default_cpus")]
    pub cpus: u32,
    /// Memory for the cluster, e.g. `4g` or `4096m` (passed to `minikube start --memory`).
    #[serde(default = "default_memory")]
    pub memory: ByteSize,
    #[serde(default = "default_k8s")]
    pub kubernetes_version: String,
    #[serde(default)]
    pub addons: Vec<String>,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            profile: default_profile(),
            driver: default_driver(),
            cpus: default_cpus(),
            memory: default_memory(),
            kubernetes_version: default_k8s(),
            addons: vec![],
        }
    }
}

fn default_profile() -> String {
    "todo".into()
}
fn default_driver() -> String {
    "docker".into()
}
fn default_cpus() -> u32 {
    2
}
fn default_memory() -> ByteSize {
    ByteSize(4096 * 1024 * 1024)
}
fn default_k8s() -> String {
    "v1.31.0".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_refs() {
        let r = RegistryRef::parse("127.0.0.1:5000/todo").unwrap();
        assert_eq!(r.repository("todo-api"), "127.0.0.1:5000/todo/todo-api");
        assert_eq!(RegistryRef::parse("registry.example.com/team/todo/").unwrap().path, "team/todo");
        assert!(RegistryRef::parse("todo").is_err());
        assert!(RegistryRef::parse("myorg/todo").is_err(), "Docker Hub user names are not registry hosts");
        assert!(RegistryRef::parse("localhost:5000/Todo").is_err());
    }
}
