//! Minikube: every minikube command line the xtask runs, each naming its profile (`-p`); the cluster's state
//! from `minikube status -o json` and its exit code, start with the config's settings, images loaded into the
//! cluster, and service URLs that never hang. The JSON minikube prints is read into small typed structs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::Deserialize;
use xshell::{cmd, Shell};

use crate::config::Cluster;
use crate::pipeline::exec::Exec;
use crate::pipeline::{Ran, StepCx};

/// A cluster's state (minikube's, and kind's and k3d's in its terms); the vocabulary holds it so the run's facts
/// can carry it from teardown's probe to the steps after it.
pub use crate::kinds::ClusterState as State;

/// `minikube status -o json`: one node's object, an array for several nodes, or `null` for a profile whose host
/// cannot be read (minikube `cmd/minikube/cmd/status.go` Status, kubernetes/minikube#22466).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StatusAnswer {
    Nodes(Vec<Option<NodeStatus>>),
    Node(Option<NodeStatus>),
}

/// One node's status (minikube `cmd/minikube/cmd/status.go` Status: `Name`, `Host`, `Kubelet`, `APIServer`,
/// `Kubeconfig`, `Worker`).
#[derive(Debug, Default, Deserialize)]
struct NodeStatus {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "APIServer", default)]
    api_server: Option<String>,
    #[serde(rename = "Kubeconfig", default)]
    kubeconfig: Option<String>,
}

/// `minikube profile list -o json`: `{"invalid":[...],"valid":[{"Name":..,"Status":..,"Config":{...}}]}` (minikube
/// `cmd/minikube/cmd/config/profile_list.go`).
#[derive(Debug, Default, Deserialize)]
struct ProfileList {
    #[serde(default)]
    valid: Option<Vec<Profile>>,
}

#[derive(Debug, Default, Deserialize)]
struct Profile {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Config", default)]
    config: ProfileConfig,
}

/// The settings a profile was created with (minikube `pkg/minikube/config/types.go` ClusterConfig), as far as
/// only a re-create can change them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProfileConfig {
    #[serde(rename = "Driver", default)]
    pub driver: Option<String>,
    #[serde(rename = "CPUs", default)]
    pub cpus: Option<u64>,
    #[serde(rename = "Memory", default)]
    pub memory: Option<u64>,
    #[serde(rename = "KubernetesConfig", default)]
    pub kubernetes_config: KubernetesConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct KubernetesConfig {
    #[serde(rename = "KubernetesVersion", default)]
    pub kubernetes_version: Option<String>,
}

/// One addon of `minikube addons list -o json` (`{"ingress":{"Profile":"p","Status":"enabled"},...}`).
#[derive(Debug, Default, Deserialize)]
struct Addon {
    #[serde(rename = "Status", default)]
    status: Option<String>,
}

/// `minikube service SVC -n NS -p P --url`.
pub fn service_url_cmd(sh: &Shell, profile: &str, namespace: &str, service: &str) -> Exec {
    cmd!(sh, "minikube service {service} -n {namespace} -p {profile} --url").into()
}

/// `minikube image load TAG -p P`.
pub fn image_load_cmd(sh: &Shell, profile: &str, tag: &str) -> Exec {
    cmd!(sh, "minikube image load {tag} -p {profile}").into()
}

/// `minikube image ls -p P --format short`.
pub fn image_ls_cmd(sh: &Shell, profile: &str) -> Exec {
    cmd!(sh, "minikube image ls -p {profile} --format short").into()
}

/// `minikube stop -p P`.
pub fn stop_cmd(sh: &Shell, profile: &str) -> Exec {
    cmd!(sh, "minikube stop -p {profile}").into()
}

/// `minikube delete -p P`.
pub fn delete_cmd(sh: &Shell, profile: &str) -> Exec {
    cmd!(sh, "minikube delete -p {profile}").into()
}

/// Whether minikube's error text is the Docker client's "daemon does not answer" (docker/cli's
/// `Cannot connect to the Docker daemon at ...`, `error during connect` on Windows named pipes).
fn daemon_down(text: &str) -> bool {
    text.contains("Cannot connect to the Docker daemon")
        || text.contains("Is the docker daemon running")
        || text.contains("error during connect")
}

/// The control plane's status from `minikube status -o json`: several nodes print an array (the first is the
/// control plane), a profile whose host cannot be read `null`; anything else reads as no status.
fn node_status(stdout: &str) -> NodeStatus {
    match serde_json::from_str::<StatusAnswer>(stdout.trim()) {
        Ok(StatusAnswer::Nodes(nodes)) => nodes.into_iter().next().flatten(),
        Ok(StatusAnswer::Node(node)) => node,
        Err(_) => None,
    }
    .unwrap_or_default()
}

/// Reads the profile's state. The exit code of `minikube status` is a bit field (1 host, 2 kubelet/apiserver, 4
/// kubeconfig; 7 = stopped) and 85 means no such profile, so a non-zero exit is information, not a failure.
/// In a plan nothing is asked: the caller decides what a plan assumes.
pub fn status(cx: &mut StepCx, profile: &str) -> Result<Ran<(State, String)>> {
    let Ran::Done(out) = cx.ask(cmd!(cx.sh, "minikube status -p {profile} -o json").into())? else {
        return Ok(Ran::Planned);
    };
    let v = node_status(&out.stdout);
    let host = v.host.unwrap_or_default();
    let apiserver = v.api_server.unwrap_or_default();
    let kubeconfig = v.kubeconfig.unwrap_or_default();
    // A profile whose host cannot be read: from v1.35.0 `null` (exit 0 up to v1.37, 7 from v1.38; minikube
    // `pkg/minikube/cluster/status.go` GetStatus, kubernetes/minikube#22466); before, every field `Nonexistent`
    // with exit 7. A missing profile exits 85 (mustload.Partial) before any of this.
    let broken = out.code != Some(85) && (out.stdout.trim() == "null" || host == "Nonexistent");
    let state = match (out.code, host.as_str(), apiserver.as_str()) {
        _ if broken => State::Broken { daemon_down: daemon_down(&out.stderr) },
        (Some(85), ..) => State::Nonexistent,
        (Some(0), "Running", "Running") => State::Running,
        (_, "Stopped", _) => State::Stopped,
        (_, "", _) if out.stderr.contains("not found") => State::Nonexistent,
        (_, "", _) => bail!("`minikube status -p {profile}` printed no status ({}): {}", out.ending(), out.tail(3)),
        _ => State::Degraded,
    };
    let detail = match state {
        State::Broken { daemon_down: true } => "the Docker daemon does not answer".to_string(),
        State::Broken { daemon_down: false } => format!("its host is missing: {}", out.tail(1)),
        // Exit bit 4 alone: the kubeconfig entry is stale (minikube's own fix is `minikube update-context`,
        // `cmd/minikube/cmd/status.go:203-206`; `start` rewrites it too).
        State::Degraded if host == "Running" && apiserver == "Running" && kubeconfig == "Misconfigured" => {
            format!("its kubeconfig entry is misconfigured; `minikube update-context -p {profile}` would fix it too")
        }
        _ => format!("host {host}, apiserver {apiserver}"),
    };
    Ok(Ran::Done((state, detail)))
}

/// The settings a running profile was created with, from `minikube profile list -o json`.
pub fn profile_settings(cx: &mut StepCx, profile: &str) -> Result<Option<ProfileConfig>> {
    let out = cx.probe(cmd!(cx.sh, "minikube profile list -o json").into())?;
    let v: ProfileList = match serde_json::from_str(out.stdout.trim()) {
        Ok(v) => v,
        Err(_) => return Ok(None),
    };
    Ok(v.valid.unwrap_or_default().into_iter().find(|p| p.name.as_deref() == Some(profile)).map(|p| p.config))
}

/// Differences between a profile's settings and the config that only a re-create can change.
pub fn drift(settings: &ProfileConfig, want: &Cluster) -> Vec<String> {
    let mut d = vec![];
    if let Some(driver) = &settings.driver {
        if *driver != want.driver {
            d.push(format!("driver is {driver}, the config says {}", want.driver));
        }
    }
    if let Some(cpus) = settings.cpus {
        if cpus != u64::from(want.cpus) {
            d.push(format!("cpus is {cpus}, the config says {}", want.cpus));
        }
    }
    if let Some(mem) = settings.memory {
        if mem != want.memory.mib() {
            d.push(format!("memory is {mem}MiB, the config says {}MiB", want.memory.mib()));
        }
    }
    if let Some(k) = &settings.kubernetes_config.kubernetes_version {
        if k.trim_start_matches('v') != want.kubernetes_version.trim_start_matches('v') {
            d.push(format!("Kubernetes is {k}, the config says {}", want.kubernetes_version));
        }
    }
    d
}

pub fn start_args(c: &Cluster) -> Vec<String> {
    let mut a = vec![
        "--driver".to_string(),
        c.driver.clone(),
        "--cpus".into(),
        c.cpus.to_string(),
        "--memory".into(),
        format!("{}m", c.memory.mib()),
        "--kubernetes-version".into(),
        c.kubernetes_version.clone(),
    ];
    for addon in &c.addons {
        a.push("--addons".into());
        a.push(addon.clone());
    }
    a
}

pub fn start(cx: &mut StepCx, c: &Cluster) -> Result<()> {
    let (profile, args) = (&c.profile, start_args(c));
    cx.run(cmd!(cx.sh, "minikube start -p {profile} {args...}").into())?;
    Ok(())
}

/// Enables the configured addons that are not enabled yet.
pub fn ensure_addons(cx: &mut StepCx, c: &Cluster) -> Result<Vec<String>> {
    let profile = &c.profile;
    let out = cx.probe(cmd!(cx.sh, "minikube addons list -p {profile} -o json").into())?;
    let v: BTreeMap<String, Addon> = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    let mut enabled = vec![];
    for addon in &c.addons {
        if v.get(addon).and_then(|a| a.status.as_deref()) == Some("enabled") {
            continue;
        }
        cx.run(cmd!(cx.sh, "minikube addons enable {addon} -p {profile}").into())?;
        enabled.push(addon.clone());
    }
    Ok(enabled)
}

/// The URL of a NodePort service. `minikube service --url` keeps running after printing it with some drivers
/// (docker on macOS and Windows, where it holds a tunnel open), so it is stopped at the first URL line.
pub fn service_url(cx: &mut StepCx, profile: &str, namespace: &str, service: &str) -> Result<Ran<Option<String>>> {
    let mut e = service_url_cmd(&cx.sh, profile, namespace, service).timeout(Duration::from_secs(60));
    e.stop_when = Some(Box::new(|line: &str| line.starts_with("http://") || line.starts_with("https://")));
    let Ran::Done(out) = cx.ask(e)? else { return Ok(Ran::Planned) };
    let url = out.stdout.lines().map(str::trim).find(|l| l.starts_with("http")).map(str::to_string);
    if url.is_none() && !out.success() {
        // SVC_NOT_FOUND (exit 115, minikube `cmd/minikube/cmd/service.go:115-139`) and the like: minikube's words.
        bail!(
            "`minikube service {service} -n {namespace} -p {profile} --url` failed ({}): {}",
            out.ending(),
            out.tail(3)
        );
    }
    Ok(Ran::Done(url))
}

/// Whether the driver needs `minikube service` to keep running for the URL to work (a tunnel from the host):
/// minikube's own `driver.NeedsPortForward` (v1.35.0 `pkg/minikube/driver/driver.go:215-235`) for the KIC drivers
/// on macOS, Windows and WSL (`WSL_DISTRO_NAME`/`WSLPATH`, `pkg/minikube/detect/detect.go:61-62`), with a remote
/// daemon (`DOCKER_HOST`/`CONTAINER_HOST` with a host part, `pkg/drivers/kic/oci/oci.go:722-738`), and on Linux
/// for Docker Desktop or a rootless daemon, read as minikube reads them from `docker system info --format
/// {{json .}}` (`OperatingSystem == "Docker Desktop"`, a `name=rootless` security option:
/// `pkg/drivers/kic/oci/info.go:67-74,249`).
pub fn url_needs_tunnel(cx: &mut StepCx, driver: &str) -> Result<bool> {
    if needs_tunnel(driver, cfg!(target_os = "macos") || cfg!(windows), &|k| std::env::var(k).ok()) {
        return Ok(true);
    }
    if driver != "docker" {
        return Ok(false);
    }
    // A plan does not ask.
    let Ran::Done(info) = crate::docker::system_info(cx)? else { return Ok(false) };
    let rootless = info.security_options.unwrap_or_default().iter().any(|s| s.starts_with("name=rootless"));
    Ok(info.operating_system.as_deref() == Some("Docker Desktop") || rootless)
}

fn needs_tunnel(driver: &str, desktop_os: bool, env: &dyn Fn(&str) -> Option<String>) -> bool {
    if driver != "docker" && driver != "podman" {
        return false;
    }
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    let remote = |k: &str| {
        env(k).is_some_and(|v| {
            v.split_once("://").is_some_and(|(scheme, rest)| scheme != "unix" && scheme != "npipe" && !rest.is_empty())
        })
    };
    let daemon_env = if driver == "docker" { "DOCKER_HOST" } else { "CONTAINER_HOST" };
    desktop_os || set("WSL_DISTRO_NAME") || set("WSLPATH") || remote(daemon_env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/minikube/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn reads_one_node_several_nodes_and_null() {
        let running = node_status(&fixture("status-running.stdout.json"));
        assert_eq!((running.host.as_deref(), running.api_server.as_deref()), (Some("Running"), Some("Running")));
        assert_eq!(node_status(&fixture("status-stopped.stdout.json")).host.as_deref(), Some("Stopped"));
        let two = format!("[{},{}]", fixture("status-stopped.stdout.json"), fixture("status-running.stdout.json"));
        assert_eq!(node_status(&two).host.as_deref(), Some("Stopped"));
        assert_eq!(node_status("null").host, None);
        assert_eq!(node_status("").host, None);
    }

    #[test]
    fn reads_a_profiles_settings() {
        let list: ProfileList = serde_json::from_str(&fixture("profile-list.stdout.json")).unwrap();
        let p = list.valid.unwrap_or_default().into_iter().next().unwrap();
        assert_eq!(p.name.as_deref(), Some("minikube"));
        let c = p.config;
        assert_eq!((c.driver.as_deref(), c.cpus, c.memory), (Some("docker"), Some(2), Some(3890)));
        assert_eq!(c.kubernetes_config.kubernetes_version.as_deref(), Some("v1.20.0"));
        let empty: ProfileList = serde_json::from_str(&fixture("profile-list-empty.stdout.json")).unwrap();
        assert!(empty.valid.unwrap_or_default().is_empty());
    }

    #[test]
    fn tunnels_where_minikube_does() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert!(needs_tunnel("docker", true, &env(&[])));
        assert!(needs_tunnel("docker", false, &env(&[("WSL_DISTRO_NAME", "Ubuntu")])));
        assert!(needs_tunnel("docker", false, &env(&[("DOCKER_HOST", "tcp://10.0.0.5:2376")])));
        assert!(needs_tunnel("docker", false, &env(&[("DOCKER_HOST", "ssh://me@box")])));
        assert!(!needs_tunnel("docker", false, &env(&[("DOCKER_HOST", "unix:///var/run/docker.sock")])));
        assert!(!needs_tunnel("docker", false, &env(&[])));
        assert!(!needs_tunnel("kvm2", true, &env(&[])));
        assert!(needs_tunnel("podman", false, &env(&[("CONTAINER_HOST", "ssh://core@localhost:1234")])));
    }
}
