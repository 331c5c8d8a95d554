//! Fake `minikube`: profiles (Running/Stopped/Paused) with the settings given to `start`, loaded images, addons;
//! `status` with its exit-code bit field, `profile list -o json`, `service --url`, `docker-env`, `kubectl --`.
//!
//! Sources: kubernetes/minikube `cmd/minikube/cmd/status.go` (JSON shape, exit bits 1|2|4),
//! `cmd/minikube/cmd/config/profile_list.go` (empty list = `{"invalid":[],"valid":[]}` exit 0; table mode exit 14),
//! `pkg/minikube/mustload` (missing profile: exit 85 = reason.ExGuestNotFound), `cmd/minikube/cmd/version.go`.
//! Modelled versions: v1.32.0-v1.38.x (FAKE_MINIKUBE_VERSION, default the pinned v1.35.0); what changed between
//! them (a broken profile's status) is cited where it is answered. Shared state: the fake Docker daemon
//! (`daemon::daemon_error`) is the docker driver's, so a daemon that is down makes profiles unreadable as in
//! kubernetes/minikube#22466; each profile is also a kube context (fake/cluster.rs).

use anyhow::Result;
use serde_json::{json, Value};

use crate::cluster::{self, Kube};
use crate::profiles::{default_profile, host_error, load, MinikubeState, Profile};
use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{ctx::Ctx, releases, state, template};

/// The pinned version (xtask/tools.lock.yaml): the first with the `null` status of a broken profile.
const VERSION: &str = "v1.35.0";
const COMMIT: &str = "210b148df93a80eb872ecbeb7e35281b3c582c61";
/// The node's address. Real minikube on the docker driver answers 192.168.49.2; the fake answers with loopback so
/// that no test can send traffic to a private-range address (tests reach only 127.0.0.1 or what they started).
const IP: &str = "127.0.0.1";
const EX_GUEST_NOT_FOUND: i32 = 85;
/// reason.ExGuestNotRunning, used by mustload.Running (code from minikube's exit code table; unverified here).
const EX_GUEST_NOT_RUNNING: i32 = 83;
const EX_PROGRAM_USAGE: i32 = 14;

const VALUED: &[&str] = &[
    "-p",
    "--profile",
    "-o",
    "--output",
    "--driver",
    "--vm-driver",
    "--cpus",
    "--memory",
    "--kubernetes-version",
    "--addons",
    "-n",
    "--namespace",
    "--shell",
    "--format",
    "-f",
    "--container-runtime",
    "--nodes",
    "--disk-size",
    "--wait",
    "--wait-timeout",
    "--layout",
    "-l",
    "--node",
];

fn version(ctx: &Ctx) -> String {
    let v = ctx.env("FAKE_MINIKUBE_VERSION").unwrap_or_else(|| VERSION.into());
    if v.starts_with('v') {
        v
    } else {
        format!("v{v}")
    }
}

/// `-p/--profile`, else MINIKUBE_PROFILE (viper's MINIKUBE_ env binding), else `minikube`.
pub fn profile_flag(ctx: &Ctx) -> String {
    Flags::parse(&ctx.args, VALUED)
        .get(&["-p", "--profile"])
        .or_else(|| ctx.env("MINIKUBE_PROFILE"))
        .unwrap_or_else(|| "minikube".into())
}

/// minikube's minor version within 1.x.
fn minor(ctx: &Ctx) -> u64 {
    version(ctx).trim_start_matches('v').split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or(35)
}

/// For `then_state.minikube_profile_status`.
pub fn force_status(ctx: &Ctx, profile: &str, status: &str) -> Result<()> {
    let _lock = state::lock(ctx)?;
    let mut st: MinikubeState = state::load(ctx, "minikube")?;
    if status == "Nonexistent" {
        st.profiles.remove(profile);
    } else {
        st.profiles.entry(profile.to_string()).or_insert_with(default_profile).status = status.to_string();
        let mut kube: Kube = state::load(ctx, "kube")?;
        kube.managed = true;
        kube.current_context.get_or_insert_with(|| profile.to_string());
        state::save(ctx, "kube", &kube)?;
    }
    state::save(ctx, "minikube", &st)
}

/// mustload.Partial's answer for a missing profile; in JSON mode (`status -o json`) out.Styled emits CloudEvents
/// lines instead (register.PrintInfo; the exact message text inside was not captured).
fn not_found(profile: &str, json_mode: bool) -> Reply {
    let start =
        if profile == "minikube" { "minikube start".to_string() } else { format!("minikube start -p {profile}") };
    let lines = [
        format!("Profile \"{profile}\" not found. Run \"minikube profile list\" to view all profiles."),
        format!("To start a cluster, run: \"{start}\""),
    ];
    let out = if json_mode {
        lines
            .iter()
            .map(|m| {
                let id = util::hex256(m.as_bytes());
                format!(
                    "{}\n",
                    json!({"specversion": "1.0", "id": format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32]),
                           "source": "https://minikube.sigs.k8s.io/", "type": "io.k8s.sigs.minikube.info",
                           "datacontenttype": "application/json", "data": {"message": m}})
                )
            })
            .collect()
    } else {
        format!("🤷  {}\n👉  {}\n", lines[0], lines[1])
    };
    Reply::ok(out).with_code(EX_GUEST_NOT_FOUND)
}

/// mustload.Running: the profile exists but its host is not running.
fn not_running(profile: &str, status: &str) -> Reply {
    Reply::ok(format!(
        "🤷  The control-plane node {profile} host is not running: state={status}\n👉  To start a cluster, run: \"minikube start -p {profile}\"\n"
    ))
    .with_code(EX_GUEST_NOT_RUNNING)
}

/// The profile if it is running, else the reply minikube gives.
fn running(ctx: &Ctx, profile: &str) -> Result<std::result::Result<Profile, Reply>> {
    Ok(match load(ctx)?.profiles.get(profile) {
        None => Err(not_found(profile, false)),
        Some(p) if p.status != "Running" => Err(not_running(profile, &p.status)),
        Some(p) if host_error(ctx, profile, p)?.is_some() => Err(not_running(profile, "Nonexistent")),
        Some(p) => Ok(p.clone()),
    })
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(&ctx.args, VALUED);
    let profile = profile_flag(ctx);
    let words: Vec<&str> = f.pos.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["version", ..] => version_cmd(ctx, &f),
        ["status", ..] => status(ctx, &f, &profile),
        ["start", ..] => start(ctx, &f, &profile),
        ["stop", ..] => stop(ctx, &profile),
        ["delete", ..] => delete(ctx, &f, &profile),
        ["profile", "list", ..] => profile_list(ctx, &f),
        ["image", "load", img, ..] => image_load(ctx, &profile, img),
        ["image", "ls" | "list", ..] => image_ls(ctx, &profile),
        ["addons", "enable", addon, ..] => addons_enable(ctx, &profile, addon),
        ["addons", "list", ..] => addons_list(ctx, &f, &profile),
        ["ip", ..] => Ok(match running(ctx, &profile)? {
            Ok(_) => Reply::ok(format!("{IP}\n")),
            Err(r) => r,
        }),
        ["docker-env", ..] => docker_env(ctx, &f, &profile),
        ["service", name, ..] => service(ctx, &f, &profile, name),
        ["update-context", ..] => update_context(ctx, &profile),
        ["kubectl", ..] => {
            // `minikube kubectl -- ARGS` runs the cluster's kubectl with ARGS.
            let args = if f.rest.is_empty() { f.pos[1..].to_vec() } else { f.rest.clone() };
            crate::kubectl::run_args(ctx, &args)
        }
        [] => Ok(Reply::ok(
            "minikube provisions and manages local Kubernetes clusters optimized for development workflows.\n",
        )),
        [other, ..] => Ok(Reply::fail(
            1,
            format!("Error: unknown command \"{other}\" for \"minikube\"\nRun 'minikube --help' for usage.\n"),
        )),
    }
}

fn version_cmd(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let v = version(ctx);
    Ok(Reply::ok(match f.get(&["-o", "--output"]).as_deref() {
        Some("json") => format!("{}\n", json!({"commit": COMMIT, "minikubeVersion": v})),
        Some("yaml") => format!("commit: {COMMIT}\nminikubeVersion: {v}\n"),
        // `--short` prints the bare version (v1.35.0 `cmd/minikube/cmd/version.go:86-108`, the `else` of `if !shortVersion`).
        _ if f.has(&["--short"]) => format!("{v}\n"),
        _ => format!("minikube version: {v}\ncommit: {COMMIT}\n"),
    }))
}

fn status_value(name: &str, p: &Profile) -> (Value, i32) {
    let (host, kubelet, api, kubeconfig) = match p.status.as_str() {
        "Running" => ("Running", "Running", "Running", "Configured"),
        "Paused" => ("Running", "Stopped", "Paused", "Configured"),
        _ => ("Stopped", "Stopped", "Stopped", "Stopped"),
    };
    // status.go exitCode(): 1 host not running | 2 kubelet/apiserver not running | 4 kubeconfig not configured.
    let mut code = 0;
    if host != "Running" {
        code |= 1;
    }
    if kubelet != "Running" || api != "Running" {
        code |= 2;
    }
    if kubeconfig != "Configured" {
        code |= 4;
    }
    let v = json!({"Name": name, "Host": host, "Kubelet": kubelet, "APIServer": api, "Kubeconfig": kubeconfig, "Worker": false});
    (v, code)
}

fn status(ctx: &Ctx, f: &Flags, profile: &str) -> Result<Reply> {
    let json_mode = f.get(&["-o", "--output"]).is_some_and(|o| o.eq_ignore_ascii_case("json"));
    let st = load(ctx)?;
    let Some(p) = st.profiles.get(profile) else {
        return Ok(not_found(profile, json_mode));
    };
    if let Some(err) = host_error(ctx, profile, p)? {
        let klog = format!("E1129 10:00:00.000000   12345 status.go:{}] status error: host: state: {err}", 175);
        if minor(ctx) < 35 {
            // v1.32.0-v1.34.x: NodeStatus returns its initial struct, every field Nonexistent, with the error
            // (`cluster/status.go` NodeStatus `st := &Status{... Nonexistent ...}; return st, errors.Wrap(err,
            // "host")`); the command prints it and exitCode sums the bits: 1|2|4 = 7.
            let v = json!({"Name": profile, "Host": "Nonexistent", "Kubelet": "Nonexistent", "APIServer": "Nonexistent",
                           "Kubeconfig": "Nonexistent", "Worker": false});
            return Ok(Reply::ok(v.to_string()).with_err(klog).with_code(7));
        }
        // From v1.35.0 GetStatus returns nil on a node error (v1.37.0 `pkg/minikube/cluster/status.go:169-188`,
        // PR #18998) and statusJSON marshals the nil slice as `null`. Exit: exitCode loops over no status and
        // returns 0 up to v1.37.x; v1.38.0 returns 1|2|4 for an empty list (`cmd/minikube/cmd/status.go:162-164`,
        // PR #22494). kubernetes/minikube#22466.
        let code = if minor(ctx) >= 38 { 7 } else { 0 };
        return Ok(Reply::ok("null").with_err(klog).with_code(code));
    }
    let (v, code) = status_value(profile, p);
    let out = if json_mode {
        v.to_string() // statusJSON writes no trailing newline
    } else if let Some(t) = f.get(&["-f", "--format"]) {
        template::render(&t, &v)
    } else {
        format!(
            "{profile}\ntype: Control Plane\nhost: {}\nkubelet: {}\napiserver: {}\nkubeconfig: {}\n\n",
            v["Host"].as_str().unwrap_or(""),
            v["Kubelet"].as_str().unwrap_or(""),
            v["APIServer"].as_str().unwrap_or(""),
            v["Kubeconfig"].as_str().unwrap_or("")
        )
    };
    Ok(Reply::ok(out).with_code(code))
}

/// `--memory 4g`, `4096mb`, `8192` (MB) -> MB.
fn memory_mb(s: &str) -> Option<u64> {
    let lower = s.to_lowercase();
    let digits: String = lower.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().ok()?;
    match lower[digits.len()..].trim_end_matches('b') {
        "" | "m" => Some(n),
        "g" => Some(n * 1024),
        "k" => Some(n / 1024),
        _ => None,
    }
}

/// `start` of a new profile: the settings it is created with (a bad `--memory` is MK_USAGE, exit 14).
fn new_profile_settings(f: &Flags, p: &mut Profile) -> Option<Reply> {
    if let Some(d) = f.get(&["--driver", "--vm-driver"]) {
        p.driver = d;
    }
    if let Some(c) = f.get(&["--cpus"]).and_then(|c| c.parse().ok()) {
        p.cpus = c;
    }
    if let Some(m) = f.get(&["--memory"]) {
        match memory_mb(&m) {
            Some(mb) => p.memory_mb = mb,
            None => {
                return Some(Reply::fail(
                    EX_PROGRAM_USAGE,
                    format!("\n❌  Exiting due to MK_USAGE: Invalid memory value {m:?}\n\n"),
                ))
            }
        }
    }
    if let Some(k) = f.get(&["--kubernetes-version"]) {
        p.kubernetes_version = if k.starts_with('v') { k } else { format!("v{k}") };
    }
    if let Some(r) = f.get(&["--container-runtime"]) {
        p.container_runtime = r;
    }
    None
}

/// `start` of an existing profile: a different driver or an older Kubernetes fails; changed resources only warn.
fn existing_profile_checks(f: &Flags, profile: &str, p: &Profile, err: &mut String) -> Option<Reply> {
    // Another driver: GUEST_DRIVER_MISMATCH, exit 81 (v1.35.0 `cmd/minikube/cmd/start.go:882-893`,
    // `reason.go:398`, `exitcodes.go:127` ExGuestConflict).
    if let Some(d) = f.get(&["--driver", "--vm-driver"]).filter(|d| *d != p.driver) {
        let old = &p.driver;
        return Some(Reply::fail(
            81,
            format!("\n😿  Exiting due to GUEST_DRIVER_MISMATCH: The existing \"{profile}\" cluster was created using the \"{old}\" driver, which is incompatible with requested \"{d}\" driver.\n💡  Suggestion: Delete the existing '{profile}' cluster using: 'minikube delete -p {profile}', or start the existing '{profile}' cluster using: 'minikube start -p {profile} --driver={old}'\n\n"),
        ));
    }
    // An older Kubernetes: K8S_DOWNGRADE_UNSUPPORTED, exit 106 (v1.35.0 `cmd/minikube/cmd/start.go:1841`,
    // `reason.go:488-500`, `exitcodes.go:148` ExControlPlaneUnsupported; the advice block is not modelled).
    if let Some(k) = f.get(&["--kubernetes-version"]) {
        let num =
            |v: &str| -> Vec<u64> { v.trim_start_matches('v').split('.').map(|n| n.parse().unwrap_or(0)).collect() };
        if num(&k) < num(&p.kubernetes_version) {
            return Some(Reply::fail(
                106,
                format!(
                    "\n❌  Exiting due to K8S_DOWNGRADE_UNSUPPORTED: Unable to safely downgrade existing Kubernetes v{} cluster to v{}\n\n",
                    p.kubernetes_version.trim_start_matches('v'),
                    k.trim_start_matches('v')
                ),
            ));
        }
    }
    // Existing profiles keep their resources; start only warns (v1.35.0 `cmd/minikube/cmd/start_flags.go:760,764`).
    if let Some(m) = f.get(&["--memory"]).and_then(|m| memory_mb(&m)) {
        if m != p.memory_mb {
            err.push_str("❗  You cannot change the memory size for an existing minikube cluster. Please first delete the cluster.\n");
        }
    }
    if let Some(c) = f.get(&["--cpus"]).and_then(|c| c.parse::<u32>().ok()) {
        if c != p.cpus {
            err.push_str(
                "❗  You cannot change the CPUs for an existing minikube cluster. Please first delete the cluster.\n",
            );
        }
    }
    None
}

/// `--addons`: each enabled and kept, or (FAKE_MINIKUBE_ADDON_FAIL) a warning.
fn enable_addons(ctx: &Ctx, f: &Flags, p: &mut Profile, err: &mut String) {
    let failing = ctx.env("FAKE_MINIKUBE_ADDON_FAIL").unwrap_or_default();
    for a in f.all(&["--addons"]) {
        for a in a.split(',') {
            if failing.split(',').any(|x| x == a) {
                // enableAddons only warns and saves the addons that did enable; start still exits 0
                // (v1.35.0 `pkg/addons/addons.go:536-575`, `pkg/minikube/node/start.go:218`).
                err.push_str(&format!("❗  Enabling '{a}' returned an error: running callbacks: [sudo KUBECONFIG=/var/lib/minikube/kubeconfig /var/lib/minikube/binaries/{k}/kubectl apply -f /etc/kubernetes/addons/{a}-deploy.yaml: Process exited with status 1]\n", k = p.kubernetes_version));
                continue;
            }
            if !p.addons.iter().any(|x| x == a) {
                p.addons.push(a.to_string());
            }
        }
    }
}

/// The lines `start` prints for a new, missing-container, running or stopped profile; true when the container
/// was recreated.
fn start_lines(profile: &str, existing: Option<&Profile>, p: &mut Profile, out: &mut String) -> bool {
    let mut recreated = false;
    match existing.map(|e| e.status.as_str()) {
        None => {
            out.push_str(&format!(
                "✨  Using the {d} driver based on user configuration\n📌  Using Docker driver with root privileges\n👍  Starting \"{profile}\" primary control-plane node in \"{profile}\" cluster\n🚜  Pulling base image v0.0.45 ...\n🔥  Creating {d} container (CPUs={c}, Memory={m}MB) ...\n",
                d = p.driver,
                c = p.cpus,
                m = p.memory_mb
            ));
        }
        // fix.go recreateIfNeeded: a machine whose state cannot be read and that does not exist is demolished and
        // created again (v1.35.0 `pkg/minikube/machine/fix.go:106-134`); what lived in the container is gone.
        Some(_) if p.container_gone => {
            out.push_str(&format!(
                "✨  Using the {d} driver based on existing profile\n👍  Starting \"{profile}\" primary control-plane node in \"{profile}\" cluster\n🤷  {d} \"{profile}\" container is missing, will recreate.\n🔥  Creating {d} container (CPUs={c}, Memory={m}MB) ...\n",
                d = p.driver,
                c = p.cpus,
                m = p.memory_mb
            ));
            p.container_gone = false;
            p.images.clear();
            recreated = true;
        }
        Some("Running") => out.push_str(&format!(
            "✨  Using the {d} driver based on existing profile\n👍  Starting \"{profile}\" primary control-plane node in \"{profile}\" cluster\n🏃  Updating the running {d} \"{profile}\" container ...\n",
            d = p.driver
        )),
        Some(_) => out.push_str(&format!(
            "✨  Using the {d} driver based on existing profile\n👍  Starting \"{profile}\" primary control-plane node in \"{profile}\" cluster\n🔄  Restarting existing {d} container for \"{profile}\" ...\n",
            d = p.driver
        )),
    }
    recreated
}

fn start(ctx: &Ctx, f: &Flags, profile: &str) -> Result<Reply> {
    let v = version(ctx);
    let _lock = state::lock(ctx)?;
    let mut st: MinikubeState = state::load(ctx, "minikube")?;
    let existing = st.profiles.get(profile).cloned();
    let mut p = existing.clone().unwrap_or_else(default_profile);
    let mut err = String::new();
    if existing.is_none() {
        if let Some(reply) = new_profile_settings(f, &mut p) {
            return Ok(reply);
        }
    } else if let Some(reply) = existing_profile_checks(f, profile, &p, &mut err) {
        return Ok(reply);
    }
    enable_addons(ctx, f, &mut p, &mut err);
    p.status = "Running".into();
    let mut out = format!("😄  [{profile}] minikube {v} on Debian 12.7\n");
    let recreated = start_lines(profile, existing.as_ref(), &mut p, &mut out);
    out.push_str(&format!(
        "🐳  Preparing Kubernetes {k} on Docker 27.2.0 ...\n    ▪ Generating certificates and keys ...\n    ▪ Booting up control plane ...\n    ▪ Configuring RBAC rules ...\n🔗  Configuring bridge CNI (Container Networking Interface) ...\n🔎  Verifying Kubernetes components...\n    ▪ Using image gcr.io/k8s-minikube/storage-provisioner:v5\n🌟  Enabled addons: {a}\n🏄  Done! kubectl is now configured to use \"{profile}\" cluster and \"default\" namespace by default\n",
        k = p.kubernetes_version,
        a = p.addons.join(", ")
    ));
    st.profiles.insert(profile.to_string(), p);
    state::save(ctx, "minikube", &st)?;
    let mut kube: Kube = state::load(ctx, "kube")?;
    if recreated {
        // A new container is a new cluster: its namespaces and Helm's release Secrets are gone.
        kube.namespaces.clear();
        kube.deleted_pods.clear();
        state::save(ctx, "helm", &releases::HelmState::default())?;
    }
    kube.managed = true;
    kube.current_context = Some(profile.to_string());
    kube.namespaces.extend(cluster::DEFAULT_NAMESPACES.iter().map(|s| s.to_string()));
    state::save(ctx, "kube", &kube)?;
    Ok(Reply::ok(out).with_err(err))
}

fn stop(ctx: &Ctx, profile: &str) -> Result<Reply> {
    let found = state::update(ctx, "minikube", |st: &mut MinikubeState| match st.profiles.get_mut(profile) {
        Some(p) => {
            p.status = "Stopped".into();
            true
        }
        None => false,
    })?;
    if !found {
        return Ok(not_found(profile, false));
    }
    Ok(Reply::ok(format!(
        "✋  Stopping node \"{profile}\"  ...\n🛑  Powering off \"{profile}\" via SSH ...\n🛑  1 node stopped.\n"
    )))
}

/// Deleting a missing profile still succeeds (observed behaviour; not re-verified in minikube's delete.go).
fn delete(ctx: &Ctx, f: &Flags, profile: &str) -> Result<Reply> {
    let _lock = state::lock(ctx)?;
    let mut st: MinikubeState = state::load(ctx, "minikube")?;
    let names: Vec<String> =
        if f.has(&["--all"]) { st.profiles.keys().cloned().collect() } else { vec![profile.to_string()] };
    let mut out = String::new();
    let mut kube: Kube = state::load(ctx, "kube")?;
    for name in &names {
        let driver = st.profiles.remove(name).map(|p| p.driver).unwrap_or_else(|| "docker".into());
        out.push_str(&format!(
            "🔥  Deleting \"{name}\" in {driver} ...\n🔥  Deleting container \"{name}\" ...\n💀  Removed all traces of the \"{name}\" cluster.\n"
        ));
        if kube.current_context.as_deref() == Some(name) {
            // The cluster's contents (namespaces, releases) go with it.
            kube.current_context = None;
            kube.namespaces.clear();
            kube.deleted_pods.clear();
            state::save(ctx, "helm", &releases::HelmState::default())?;
        }
    }
    state::save(ctx, "kube", &kube)?;
    state::save(ctx, "minikube", &st)?;
    if f.has(&["--all"]) {
        out.push_str("🔥  Successfully deleted all profiles\n");
    }
    Ok(Reply::ok(out))
}

fn profile_json(name: &str, p: &Profile) -> Value {
    json!({
        "Name": name,
        "Status": p.status,
        "Config": {
            "Name": name, "KeepContext": false, "EmbedCerts": false, "MinikubeISO": "",
            "Memory": p.memory_mb, "CPUs": p.cpus, "DiskSize": 20000, "Driver": p.driver,
            "KubernetesConfig": {"KubernetesVersion": p.kubernetes_version, "ClusterName": name, "Namespace": "default",
                                 "APIServerName": "minikubeCA", "ContainerRuntime": p.container_runtime},
            "Nodes": [{"Name": "", "IP": IP, "Port": 8443, "KubernetesVersion": p.kubernetes_version,
                       "ContainerRuntime": p.container_runtime, "ControlPlane": true, "Worker": true}],
            "Addons": p.addons.iter().map(|a| (a.clone(), Value::Bool(true))).collect::<serde_json::Map<_, _>>()
        },
        "Active": false
    })
}

fn profile_list(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let st = load(ctx)?;
    let output = f.get(&["-o", "--output"]).unwrap_or_else(|| "table".into());
    if output == "json" {
        let valid: Vec<Value> = st.profiles.iter().map(|(n, p)| profile_json(n, p)).collect();
        return Ok(Reply::ok(format!("{}\n", json!({"invalid": [], "valid": valid}))));
    }
    if st.profiles.is_empty() {
        return Ok(Reply::fail(
            EX_PROGRAM_USAGE,
            "\n❌  Exiting due to MK_USAGE_NO_PROFILE: No minikube profile was found. \n\n",
        ));
    }
    let mut out = "|---------|-----------|---------|--------------|------|---------|---------|-------|\n| Profile | VM Driver | Runtime |      IP      | Port | Version | Status  | Nodes |\n|---------|-----------|---------|--------------|------|---------|---------|-------|\n".to_string();
    for (n, p) in &st.profiles {
        out.push_str(&format!(
            "| {n} | {} | {} | {IP} | 8443 | {} | {} | 1 |\n",
            p.driver, p.container_runtime, p.kubernetes_version, p.status
        ));
    }
    out.push_str("|---------|-----------|---------|--------------|------|---------|---------|-------|\n");
    Ok(Reply::ok(out))
}

fn image_load(ctx: &Ctx, profile: &str, img: &str) -> Result<Reply> {
    match load(ctx)?.profiles.get(profile) {
        None => return Ok(not_found(profile, false)),
        // A host that is not running is skipped, exit 0 ("the not running hosts will load on next start", v1.35.0
        // `pkg/minikube/machine/cache_images.go:233`; the load at the next start is not modelled).
        Some(p) if p.status != "Running" || host_error(ctx, profile, p)?.is_some() => return Ok(Reply::default()),
        Some(_) => {}
    }
    if ctx.env_is("FAKE_MINIKUBE_IMAGE_LOAD", "silent-fail") {
        // DoLoadImages logs the node-side failure and returns nil: exit 0, nothing printed, no image (v1.35.0
        // `pkg/minikube/machine/cache_images.go:203-269`; kubernetes/minikube#23471).
        return Ok(Reply::default());
    }
    let name = crate::daemon::normalize(img);
    state::update(ctx, "minikube", |st: &mut MinikubeState| {
        if let Some(p) = st.profiles.get_mut(profile) {
            if !p.images.contains(&name) {
                p.images.push(name.clone());
            }
        }
    })?;
    Ok(Reply::default())
}

fn image_ls(ctx: &Ctx, profile: &str) -> Result<Reply> {
    let p = match running(ctx, profile)? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let mut images: Vec<String> = p
        .images
        .iter()
        .map(|i| if i.contains('/') { format!("docker.io/{i}") } else { format!("docker.io/library/{i}") })
        .collect();
    images.extend(
        [
            "registry.k8s.io/pause:3.10",
            "registry.k8s.io/kube-apiserver:v1.31.0",
            "registry.k8s.io/etcd:3.5.15-0",
            "registry.k8s.io/coredns/coredns:v1.11.1",
            "gcr.io/k8s-minikube/storage-provisioner:v5",
        ]
        .map(String::from),
    );
    images.sort();
    Ok(Reply::ok(images.iter().map(|i| format!("{i}\n")).collect::<String>()))
}

fn addons_enable(ctx: &Ctx, profile: &str, addon: &str) -> Result<Reply> {
    match load(ctx)?.profiles.get(profile) {
        None => return Ok(not_found(profile, false)),
        // A stopped host: the addon is saved to the profile's config and enabled on the next start, exit 0
        // (v1.35.0 `pkg/addons/addons.go:284` "is not running, setting ... and skipping enablement"; what the user
        // sees besides that klog line was not read, so the fake prints nothing).
        Some(p) if p.status != "Running" => {
            state::update(ctx, "minikube", |st: &mut MinikubeState| {
                if let Some(p) = st.profiles.get_mut(profile) {
                    if !p.addons.iter().any(|a| a == addon) {
                        p.addons.push(addon.to_string());
                    }
                }
            })?;
            return Ok(Reply::default());
        }
        Some(_) => {}
    }
    if ctx.env("FAKE_MINIKUBE_ADDON_FAIL").unwrap_or_default().split(',').any(|x| x == addon) {
        // MK_ADDON_ENABLE = reason.InternalAddonEnable, exit ExProgramError 10 (v1.35.0 `reason.go:87`,
        // `exitcodes.go:59`).
        return Ok(Reply::fail(
            10,
            format!("\n❌  Exiting due to MK_ADDON_ENABLE: enable failed: run callbacks: running callbacks: [sudo KUBECONFIG=/var/lib/minikube/kubeconfig kubectl apply -f /etc/kubernetes/addons/{addon}-deploy.yaml: Process exited with status 1]\n\n"),
        ));
    }
    state::update(ctx, "minikube", |st: &mut MinikubeState| {
        if let Some(p) = st.profiles.get_mut(profile) {
            if !p.addons.iter().any(|a| a == addon) {
                p.addons.push(addon.to_string());
            }
        }
    })?;
    Ok(Reply::ok(format!("💡  {addon} is an addon maintained by Kubernetes. For any concerns contact minikube on GitHub.\n🌟  The '{addon}' addon is enabled\n")))
}

fn addons_list(ctx: &Ctx, f: &Flags, profile: &str) -> Result<Reply> {
    let p = match running(ctx, profile)? {
        Ok(p) => p,
        Err(r) => return Ok(r),
    };
    let all = ["dashboard", "default-storageclass", "ingress", "metrics-server", "registry", "storage-provisioner"];
    if f.get(&["-o", "--output"]).as_deref() == Some("json") {
        let map: serde_json::Map<String, Value> = all
            .iter()
            .map(|a| {
                let s = if p.addons.iter().any(|x| x == a) { "enabled" } else { "disabled" };
                (a.to_string(), json!({"Profile": profile, "Status": s}))
            })
            .collect();
        return Ok(Reply::ok(format!("{}\n", Value::Object(map))));
    }
    Ok(Reply::ok(
        all.iter()
            .map(|a| {
                format!(
                    "| {a} | {profile} | {} |\n",
                    if p.addons.iter().any(|x| x == a) { "enabled ✅" } else { "disabled" }
                )
            })
            .collect::<String>(),
    ))
}

fn docker_env(ctx: &Ctx, f: &Flags, profile: &str) -> Result<Reply> {
    if let Err(r) = running(ctx, profile)? {
        return Ok(r);
    }
    if f.has(&["-u", "--unset"]) {
        return Ok(Reply::ok(
            "unset DOCKER_TLS_VERIFY;\nunset DOCKER_HOST;\nunset DOCKER_CERT_PATH;\nunset MINIKUBE_ACTIVE_DOCKERD;\n",
        ));
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    Ok(Reply::ok(format!(
        "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://{IP}:2376\"\nexport DOCKER_CERT_PATH=\"{home}/.minikube/certs\"\nexport MINIKUBE_ACTIVE_DOCKERD=\"{profile}\"\n\n# To point your shell to minikube's docker-daemon, run:\n# eval $(minikube -p {profile} docker-env)\n"
    )))
}

/// With the docker driver on macOS/Windows `service --url` keeps a tunnel open after printing the URL
/// (tests/fixtures/minikube/service-url-docker-darwin.*); FAKE_MINIKUBE_SERVICE_BLOCK=1 reproduces that.
fn service(ctx: &Ctx, f: &Flags, profile: &str, name: &str) -> Result<Reply> {
    if let Err(r) = running(ctx, profile)? {
        return Ok(r);
    }
    let ns = f.get(&["-n", "--namespace"]).unwrap_or_else(|| "default".into());
    if let Some(text) = state::raw(ctx, "kube/services.json") {
        // With the Services seeded, a missing one is SVC_NOT_FOUND, exit 115 (v1.35.0 `cmd/minikube/cmd/service.go:
        // 118-120`, `pkg/minikube/reason/reason.go:464`, `exitcodes.go` ExSvcNotFound).
        let v: Value = serde_json::from_str(&text)?;
        let found = v["items"].as_array().is_some_and(|a| a.iter().any(|s| s["metadata"]["name"] == name));
        if !found {
            return Ok(Reply::fail(
                115,
                format!("\n❌  Exiting due to SVC_NOT_FOUND: Service '{name}' was not found in '{ns}' namespace.\nYou may select another namespace by using 'minikube service {name} -n <namespace>'. Or list out all the services using 'minikube service list'\n\n"),
            ));
        }
    }
    let url = ctx.env("FAKE_MINIKUBE_SERVICE_URL").unwrap_or_else(|| format!("http://{IP}:30080"));
    if !f.has(&["--url"]) {
        return Ok(Reply::ok(format!("🎉  Opening service {ns}/{name} in default browser...\n")));
    }
    let reply = Reply::ok(format!("{url}\n"));
    Ok(if ctx.env_is("FAKE_MINIKUBE_SERVICE_BLOCK", "1") {
        reply
            .with_err("❗  Because you are using a Docker driver on darwin, the terminal needs to be open to run it.\n")
            .blocking()
    } else {
        reply
    })
}

fn update_context(ctx: &Ctx, profile: &str) -> Result<Reply> {
    if let Err(r) = running(ctx, profile)? {
        return Ok(r);
    }
    state::update(ctx, "kube", |k: &mut Kube| {
        k.managed = true;
        k.current_context = Some(profile.to_string());
    })?;
    Ok(Reply::ok(format!(
        "🎉  \"{profile}\" context has been updated to point to {}\n💗  Current context is \"{profile}\"\n",
        cluster::SERVER
    )))
}
