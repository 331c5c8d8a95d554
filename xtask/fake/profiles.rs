//! minikube's profile store as the other fakes read it: each profile's settings and state in
//! `state/minikube.json`, and whether its host can be read through the docker driver. The minikube CLI
//! (minikube.rs), the kube contexts (cluster.rs) and kubectl's addon-dependent answers read it here, so the cluster
//! model does not import the minikube command module.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::{ctx::Ctx, daemon, state};

#[derive(Serialize, Deserialize, Default)]
pub struct MinikubeState {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct Profile {
    pub status: String,
    pub driver: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub kubernetes_version: String,
    pub container_runtime: String,
    #[serde(default)]
    pub addons: Vec<String>,
    #[serde(default)]
    pub images: Vec<String>,
    /// The profile's config is on disk but its container is gone (`docker system prune -a` after a stop, a Docker
    /// Desktop reset): kubernetes/minikube#22466.
    #[serde(default)]
    pub container_gone: bool,
}

pub fn load(ctx: &Ctx) -> Result<MinikubeState> {
    state::load(ctx, "minikube")
}

pub fn status_of(ctx: &Ctx, profile: &str) -> Result<Option<String>> {
    let Some(p) = load(ctx)?.profiles.get(profile).cloned() else { return Ok(None) };
    Ok(Some(if host_error(ctx, profile, &p)?.is_some() { "Nonexistent".into() } else { p.status }))
}

/// Whether a profile has an addon enabled.
pub fn has_addon(ctx: &Ctx, profile: &str, addon: &str) -> Result<bool> {
    Ok(load(ctx)?.profiles.get(profile).is_some_and(|p| p.addons.iter().any(|a| a == addon)))
}

/// Why the driver cannot tell the host's state, as klog prints it: `machine.Status` only checks the machine folder,
/// then the kic driver's `GetState` runs `docker container inspect`, which fails when the container is gone or the
/// daemon is down (v1.35.0 `pkg/minikube/machine/host.go:30-49`, `pkg/drivers/kic/oci/oci.go:630-647`
/// `ContainerStatus`: `unknown state %q`).
pub fn host_error(ctx: &Ctx, profile: &str, p: &Profile) -> Result<Option<String>> {
    if p.driver != "docker" {
        return Ok(None);
    }
    let docker = if let Some(down) = daemon::daemon_error(ctx)? {
        down
    } else if p.container_gone {
        format!("Error response from daemon: No such container: {profile}\n")
    } else {
        return Ok(None);
    };
    Ok(Some(format!(
        "unknown state \"{profile}\": docker container inspect {profile} --format={{{{.State.Status}}}}: exit status 1\nstdout:\n\n\nstderr:\n{docker}"
    )))
}

pub fn default_profile() -> Profile {
    Profile {
        status: "Running".into(),
        driver: "docker".into(),
        cpus: 2,
        memory_mb: 3900,
        kubernetes_version: "v1.31.0".into(),
        container_runtime: "docker".into(),
        addons: vec!["default-storageclass".into(), "storage-provisioner".into()],
        images: vec![],
        container_gone: false,
    }
}
