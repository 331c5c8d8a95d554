//! Fake `kubectl`: client version, namespaces, `get` (fixture-backed: `state/kube/<kinds>.json` wins over the
//! built-in healthy answers), `describe pod`, `logs`, `delete`, `rollout status`, `wait`, `port-forward`
//! (prints the Forwarding lines and blocks), `config current-context`.
//!
//! Texts: kubernetes/kubernetes `staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go`,
//! apimachinery NotFound errors (`Error from server (NotFound): namespaces "x" not found`), and the captures in
//! tests/fixtures/kubectl/ (version JSON shape, connection-refused line).

use anyhow::Result;
use serde_json::{json, Value};

use crate::cluster::{self, Kube};
use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{ctx::Ctx, releases, state};

const VALUED: &[&str] = &[
    "-n",
    "--namespace",
    "-o",
    "--output",
    "--context",
    "--kubeconfig",
    "--timeout",
    "-l",
    "--selector",
    "--tail",
    "-c",
    "--container",
    "--for",
    "--field-selector",
    "--since",
    "-f",
    "--filename",
    "--grace-period",
    "--request-timeout",
    "--address",
    "--sort-by",
];

fn version(ctx: &Ctx) -> String {
    let v = ctx.env("FAKE_KUBECTL_VERSION").unwrap_or_else(|| "v1.31.1".into());
    if v.starts_with('v') {
        v
    } else {
        format!("v{v}")
    }
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    run_args(ctx, &ctx.args)
}

pub fn run_args(ctx: &Ctx, args: &[String]) -> Result<Reply> {
    let f = Flags::parse(args, VALUED);
    let ns = f.get(&["-n", "--namespace"]).unwrap_or_else(|| "default".into());
    let words: Vec<&str> = f.pos.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["version", ..] => return version_cmd(ctx, &f),
        ["config", "current-context"] => {
            let kube = cluster::load(ctx)?;
            return Ok(match kube.current_context {
                Some(c) => Reply::ok(format!("{c}\n")),
                None => Reply::fail(1, "error: current-context is not set\n"),
            });
        }
        ["config", "use-context", name] => {
            let name = name.to_string();
            state::update(ctx, "kube", |k: &mut Kube| k.current_context = Some(name.clone()))?;
            return Ok(Reply::ok(format!("Switched to context \"{name}\".\n")));
        }
        ["config", "view"] => {
            // `kubectl config view --minify --flatten --context C`: one cluster, context and user, with the
            // credentials inlined (minikube's layout, certificate data shortened).
            let c = f.get(&["--context"]).unwrap_or_else(|| "minikube".into());
            let kube = cluster::load(ctx)?;
            if let Some(server) = kube.contexts.get(&c) {
                // kubectl pkg/cmd/config/view.go: the minified config of that one context; without --flatten the
                // certificate data reads DATA+OMITTED (client-go tools/clientcmd/api/helpers.go ShortenConfig).
                return Ok(Reply::ok(format!(
                    "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: DATA+OMITTED\n    server: {server}\n  name: {c}\ncontexts:\n- context:\n    cluster: {c}\n    user: {c}\n  name: {c}\ncurrent-context: {c}\nkind: Config\npreferences: {{}}\nusers:\n- name: {c}\n  user:\n    client-certificate-data: DATA+OMITTED\n    client-key-data: DATA+OMITTED\n"
                )));
            }
            if kube.managed && crate::profiles::status_of(ctx, &c)?.is_none() {
                // client-go `clientcmd/api/helpers.go` MinifyConfig; kubectl `pkg/cmd/config/view.go:140-144`.
                return Ok(Reply::fail(1, format!("error: cannot locate context {c}\n")));
            }
            return Ok(Reply::ok(format!(
                "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTi==\n    server: https://{server}\n  name: {c}\ncontexts:\n- context:\n    cluster: {c}\n    namespace: default\n    user: {c}\n  name: {c}\ncurrent-context: {c}\nkind: Config\npreferences: {{}}\nusers:\n- name: {c}\n  user:\n    client-certificate-data: LS0tLS1CRUdJTi==\n    client-key-data: LS0tLS1CRUdJTi==\n",
                server = cluster::SERVER
            )));
        }
        [] => return Ok(Reply::ok("kubectl controls the Kubernetes cluster manager.\n")),
        _ => {}
    }
    if let Some(u) = cluster::reach(ctx)? {
        return Ok(Reply::fail(1, cluster::kubectl_error(&u)));
    }
    match words.as_slice() {
        ["get", kinds, rest @ ..] => get(ctx, &f, &ns, kinds, rest.first().copied()),
        ["describe", "pod" | "pods" | "po", name] => describe_pod(ctx, &ns, name),
        ["logs", pod, ..] => logs(ctx, &f, &ns, pod),
        ["delete", kind, names @ ..] => delete(ctx, &f, &ns, kind, names),
        ["create", "namespace" | "ns", name] => create_namespace(ctx, name),
        ["rollout", "status", target] => {
            let (kind, name) = target.split_once('/').unwrap_or(("deployment", target));
            let kind = if kind.starts_with("deploy") { "deployment" } else { kind };
            Ok(Reply::ok(format!("{kind} \"{name}\" successfully rolled out\n")))
        }
        ["wait", ..] => {
            let pods = pods(ctx, &ns)?;
            let names: Vec<String> = pods["items"]
                .as_array()
                .map(|a| a.iter().filter_map(|p| p["metadata"]["name"].as_str().map(String::from)).collect())
                .unwrap_or_default();
            Ok(Reply::ok(names.iter().map(|n| format!("pod/{n} condition met\n")).collect::<String>()))
        }
        ["port-forward", target, ports @ ..] => {
            if let Some(missing) = forward_target_missing(ctx, &ns, target)? {
                return Ok(missing);
            }
            port_forward(target, ports)
        }
        ["run", name, ..] => run_pod(args, name),
        ["apply", ..] => Ok(Reply::ok("configured\n")),
        ["cluster-info", ..] => Ok(Reply::ok(format!(
            "Kubernetes control plane is running at https://{}\nCoreDNS is running at https://{}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n",
            cluster::SERVER,
            cluster::SERVER
        ))),
        [other, ..] => Ok(Reply::fail(1, format!("error: unknown command \"{other}\" for \"kubectl\"\n"))),
        [] => Ok(Reply::default()),
    }
}

fn version_cmd(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    if f.has(&["--short"]) {
        // Removed in 1.28 (captured: tests/fixtures/kubectl/version-short-removed.stderr.txt).
        return Ok(Reply::fail(1, "error: unknown flag: --short\nSee 'kubectl version --help' for usage.\n"));
    }
    let v = version(ctx);
    let parts: Vec<&str> = v.trim_start_matches('v').split('.').collect();
    let client = json!({
        "major": parts.first().copied().unwrap_or("1"), "minor": parts.get(1).copied().unwrap_or("31"),
        "gitVersion": v, "gitCommit": "948afe5ca072329a73c8e79ed5938717a5cb3d21", "gitTreeState": "clean",
        "buildDate": "2024-09-11T21:28:00Z", "goVersion": "go1.22.6", "compiler": "gc", "platform": "linux/amd64"
    });
    let client_only = f.has(&["--client"]);
    let server = if client_only { None } else { cluster::down(ctx)? };
    let mut body = json!({"clientVersion": client, "kustomizeVersion": "v5.4.2"});
    let server_version = "v1.31.0";
    if !client_only && server.is_none() {
        body["serverVersion"] =
            json!({"major": "1", "minor": "31", "gitVersion": server_version, "platform": "linux/amd64"});
    }
    let out = match f.get(&["-o", "--output"]).as_deref() {
        Some("json") => format!("{}\n", serde_json::to_string_pretty(&body)?),
        _ => {
            let mut s = format!("Client Version: {v}\nKustomize Version: v5.4.2\n");
            if !client_only && server.is_none() {
                s.push_str(&format!("Server Version: {server_version}\n"));
            }
            s
        }
    };
    Ok(match server {
        Some(srv) => Reply::ok(out).with_err(cluster::kubectl_refused(srv)).with_code(1),
        None => Reply::ok(out),
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// `pods`, `deploy,sts` -> `pods`, `deployments,statefulsets` (the seed file name under state/kube/).
fn normalize_kinds(kinds: &str) -> String {
    kinds
        .split(',')
        .map(|k| match k.split('.').next().unwrap_or(k) {
            "po" | "pod" | "pods" => "pods",
            "deploy" | "deployment" | "deployments" => "deployments",
            "sts" | "statefulset" | "statefulsets" => "statefulsets",
            "ev" | "event" | "events" => "events",
            "hpa" | "horizontalpodautoscaler" | "horizontalpodautoscalers" => "hpa",
            "ns" | "namespace" | "namespaces" => "namespaces",
            "svc" | "service" | "services" => "services",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn release_in(ctx: &Ctx, ns: &str) -> Result<String> {
    let st: releases::HelmState = state::load(ctx, "helm")?;
    Ok(st
        .releases
        .keys()
        .filter_map(|k| k.split_once('/'))
        .find(|(n, _)| *n == ns)
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| "todo".into()))
}

fn ready_pod(name: &str, ns: &str, component: &str, image: &str) -> Value {
    let t = "2025-01-01T00:00:00Z";
    let conditions: Vec<Value> =
        ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
            .iter()
            .map(|c| json!({"type": c, "status": "True", "lastProbeTime": null, "lastTransitionTime": t}))
            .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": t,
                     "labels": {"app.kubernetes.io/component": component, "app.kubernetes.io/name": "todo"}},
        "spec": {"containers": [{"name": component, "image": image}], "nodeName": "todo"},
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "containerStatuses": [{"name": component, "image": image, "imageID": format!("docker://sha256:{}", util::hex256(image.as_bytes())),
                                   "ready": true, "started": true, "restartCount": 0,
                                   "state": {"running": {"startedAt": t}}, "lastState": {}}],
            "podIP": "10.244.0.10", "hostIP": "192.168.49.2", "startTime": t
        }
    })
}

/// Seeded `state/kube/pods.json`, else 2 backend + 2 frontend replicas and a database pod, all Ready.
fn pods(ctx: &Ctx, ns: &str) -> Result<Value> {
    if let Some(text) = state::raw(ctx, "kube/pods.json") {
        return Ok(serde_json::from_str(&text)?);
    }
    let rel = release_in(ctx, ns)?;
    let deleted = cluster::load(ctx)?.deleted_pods;
    let mut items = Vec::new();
    for (comp, app, hash) in [("backend", "todo-api", "7d4b9c6f5"), ("frontend", "todo-web", "5c8f7d9b4")] {
        for (i, suffix) in ["x2k9p", "q7m4z"].iter().enumerate() {
            let mut name = format!("{rel}-{app}-{hash}-{suffix}");
            // A deleted pod comes back under a new name, as its ReplicaSet recreates it.
            if deleted.contains(&name) {
                name = format!("{rel}-{app}-{hash}-r{i}new");
            }
            items.push(ready_pod(&name, ns, comp, &format!("{app}:0.1.0")));
        }
    }
    items.push(ready_pod(&format!("{rel}-postgresql-0"), ns, "db", "postgres:16-alpine"));
    Ok(list(items))
}

fn workload(kind: &str, name: &str, ns: &str, replicas: u32) -> Value {
    let api = "apps/v1";
    json!({
        "apiVersion": api, "kind": kind,
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas,
                   "availableReplicas": replicas, "currentReplicas": replicas}
    })
}

/// Whether a namespace exists on the call's cluster (always, before minikube managed a cluster).
fn namespace_exists(ctx: &Ctx, ns: &str) -> Result<bool> {
    let kube = cluster::load(ctx)?;
    Ok(!kube.managed || kube.namespaces.contains(ns))
}

fn get(ctx: &Ctx, f: &Flags, ns: &str, kinds: &str, name: Option<&str>) -> Result<Reply> {
    let norm = normalize_kinds(kinds);
    if norm == "namespaces" {
        return get_namespace(ctx, f, name);
    }
    let json_out = f.get(&["-o", "--output"]).as_deref() == Some("json");
    // Listing a namespaced kind in a namespace that does not exist is an empty list, exit 0: the API server answers
    // the list with no items (by design, kubernetes/kubernetes#75537; kubectl `pkg/cmd/get/get.go:572-579` prints
    // `No resources found in NS namespace.` to stderr only for human output). A named object is NotFound.
    let missing_ns = !namespace_exists(ctx, ns)?;
    let seeded =
        if missing_ns { Some(list(vec![]).to_string()) } else { state::raw(ctx, &format!("kube/{norm}.json")) };
    let value = match seeded {
        Some(text) => serde_json::from_str(&text)?,
        None => match norm.as_str() {
            "pods" => pods(ctx, ns)?,
            "deployments" | "deployments,statefulsets" | "statefulsets" => {
                let rel = release_in(ctx, ns)?;
                let mut items = Vec::new();
                if norm != "statefulsets" {
                    items.push(workload("Deployment", &format!("{rel}-todo-api"), ns, 2));
                    items.push(workload("Deployment", &format!("{rel}-todo-web"), ns, 2));
                }
                if norm != "deployments" {
                    items.push(workload("StatefulSet", &format!("{rel}-postgresql"), ns, 1));
                }
                list(items)
            }
            _ => list(vec![]),
        },
    };
    if let Some(n) = name {
        let item = value["items"].as_array().and_then(|a| a.iter().find(|i| i["metadata"]["name"] == n)).cloned();
        return Ok(match item {
            Some(i) if json_out => Reply::ok(format!("{}\n", serde_json::to_string_pretty(&i)?)),
            Some(i) => Reply::ok(format!("NAME\n{}\n", i["metadata"]["name"].as_str().unwrap_or(""))),
            None => Reply::fail(1, format!("Error from server (NotFound): {norm} \"{n}\" not found\n")),
        });
    }
    if json_out {
        return Ok(Reply::ok(format!("{}\n", serde_json::to_string_pretty(&value)?)));
    }
    let items = value["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return Ok(Reply::ok("").with_err(format!("No resources found in {ns} namespace.\n")));
    }
    let mut s = "NAME                                  READY   STATUS    RESTARTS   AGE\n".to_string();
    for i in &items {
        let phase = i["status"]["phase"].as_str().unwrap_or("Running");
        s.push_str(&format!(
            "{:<37} 1/1     {:<9} 0          5m\n",
            i["metadata"]["name"].as_str().unwrap_or(""),
            phase
        ));
    }
    Ok(Reply::ok(s))
}

fn get_namespace(ctx: &Ctx, f: &Flags, name: Option<&str>) -> Result<Reply> {
    let kube = cluster::load(ctx)?;
    let exists = |n: &str| !kube.managed || kube.namespaces.contains(n);
    let ns_json = |n: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}, "status": {"phase": "Active"}});
    let json_out = f.get(&["-o", "--output"]).as_deref() == Some("json");
    match name {
        Some(n) if !exists(n) => {
            if f.has(&["--ignore-not-found"]) {
                return Ok(Reply::default());
            }
            Ok(Reply::fail(1, format!("Error from server (NotFound): namespaces \"{n}\" not found\n")))
        }
        Some(n) if json_out => Ok(Reply::ok(format!("{}\n", serde_json::to_string_pretty(&ns_json(n))?))),
        // `-o name`: `<resource>/<name>` (cli-runtime `printers/name.go`).
        Some(n) if f.get(&["-o", "--output"]).as_deref() == Some("name") => Ok(Reply::ok(format!("namespace/{n}\n"))),
        Some(n) => Ok(Reply::ok(format!("NAME   STATUS   AGE\n{n}   Active   5m\n"))),
        None if json_out => Ok(Reply::ok(format!("{}\n", list(kube.namespaces.iter().map(|n| ns_json(n)).collect())))),
        None => Ok(Reply::ok(
            std::iter::once("NAME   STATUS   AGE\n".to_string())
                .chain(kube.namespaces.iter().map(|n| format!("{n}   Active   5m\n")))
                .collect::<String>(),
        )),
    }
}

fn create_namespace(ctx: &Ctx, name: &str) -> Result<Reply> {
    let created = state::update(ctx, "kube", |k: &mut Kube| k.namespaces.insert(name.to_string()))?;
    Ok(if created {
        Reply::ok(format!("namespace/{name} created\n"))
    } else {
        Reply::fail(1, format!("Error from server (AlreadyExists): namespaces \"{name}\" already exists\n"))
    })
}

fn delete(ctx: &Ctx, f: &Flags, ns: &str, kind: &str, names: &[&str]) -> Result<Reply> {
    let ignore = f.has(&["--ignore-not-found"]);
    match normalize_kinds(kind).as_str() {
        "namespaces" => {
            let mut out = String::new();
            let mut err = String::new();
            for n in names {
                let existed = state::update(ctx, "kube", |k: &mut Kube| k.namespaces.remove(*n) || !k.managed)?;
                if existed {
                    // Helm keeps releases as Secrets in the namespace: they go with it.
                    state::update(ctx, "helm", |h: &mut releases::HelmState| {
                        h.releases.retain(|key, _| !key.starts_with(&format!("{n}/")))
                    })?;
                    out.push_str(&format!("namespace \"{n}\" deleted\n"));
                } else if !ignore {
                    err.push_str(&format!("Error from server (NotFound): namespaces \"{n}\" not found\n"));
                }
            }
            let code = i32::from(!err.is_empty());
            if out.is_empty() && ignore {
                // Nothing matched with --ignore-not-found: `No resources found` on stdout, exit 0 (kubectl
                // `pkg/cmd/delete/delete.go:437-440`, the same at kubernetes-1.28.0).
                out.push_str("No resources found\n");
            }
            Ok(Reply::ok(out).with_err(err).with_code(code))
        }
        "pods" => {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            state::update(ctx, "kube", |k: &mut Kube| k.deleted_pods.extend(names.iter().cloned()))?;
            let from = deleted_from(ctx, ns);
            Ok(Reply::ok(names.iter().map(|n| format!("pod \"{n}\" deleted{from}\n")).collect::<String>()))
        }
        other => {
            let from = deleted_from(ctx, ns);
            Ok(Reply::ok(names.iter().map(|n| format!("{other} \"{n}\" deleted{from}\n")).collect::<String>()))
        }
    }
}

/// kubectl 1.34 names the namespace of a deleted namespaced object (`pod "x" deleted from ns namespace`,
/// kubernetes/kubectl `pkg/cmd/delete/delete.go:509-510` at kubernetes-1.34.0; absent at kubernetes-1.33.0).
fn deleted_from(ctx: &Ctx, ns: &str) -> String {
    let minor: u64 = version(ctx).trim_start_matches('v').split('.').nth(1).and_then(|m| m.parse().ok()).unwrap_or(31);
    if minor >= 34 {
        format!(" from {ns} namespace")
    } else {
        String::new()
    }
}

fn describe_pod(ctx: &Ctx, ns: &str, name: &str) -> Result<Reply> {
    let pods = pods(ctx, ns)?;
    let Some(p) = pods["items"].as_array().and_then(|a| a.iter().find(|i| i["metadata"]["name"] == name)).cloned()
    else {
        return Ok(Reply::fail(1, format!("Error from server (NotFound): pods \"{name}\" not found\n")));
    };
    let cs = &p["status"]["containerStatuses"][0];
    let state = cs["state"].as_object().and_then(|m| m.keys().next().cloned()).unwrap_or_else(|| "waiting".into());
    let reason = cs["state"][&state]["reason"].as_str().unwrap_or("");
    Ok(Reply::ok(format!(
        "Name:             {name}\nNamespace:        {ns}\nNode:             todo/192.168.49.2\nStatus:           {}\nContainers:\n  {}:\n    Image:          {}\n    State:          {}{}\n    Ready:          {}\n    Restart Count:  {}\nEvents:           <none>\n",
        p["status"]["phase"].as_str().unwrap_or(""),
        cs["name"].as_str().unwrap_or("app"),
        cs["image"].as_str().unwrap_or(""),
        capitalize(&state),
        if reason.is_empty() { String::new() } else { format!("\n      Reason:       {reason}") },
        cs["ready"].as_bool().unwrap_or(false),
        cs["restartCount"].as_u64().unwrap_or(0),
    )))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// `state/kube/logs/<pod>.txt` (and `<pod>.previous.txt` for `--previous`), else a few JSON log lines.
fn logs(ctx: &Ctx, f: &Flags, ns: &str, pod: &str) -> Result<Reply> {
    let previous = f.has(&["-p", "--previous"]);
    let file = if previous { format!("kube/logs/{pod}.previous.txt") } else { format!("kube/logs/{pod}.txt") };
    let text = match state::raw(ctx, &file) {
        Some(t) => t,
        None if previous => {
            return Ok(Reply::fail(
                1,
                format!(
                "Error from server (BadRequest): previous terminated container \"app\" in pod \"{pod}\" not found\n"
            ),
            ))
        }
        // A test pod of a release in this namespace: Helm leaves a failed one in place (its delete policy never
        // includes hook-failed in the charts modelled), so its logs can be read.
        None if test_pods(ctx, ns)?.iter().any(|t| t == pod) => {
            format!("Connecting to {}:8080\nwget: server returned error: HTTP/1.1 503 Service Unavailable\n", pod)
        }
        None => {
            let p = pods(ctx, ns)?;
            if !p["items"].as_array().is_some_and(|a| a.iter().any(|i| i["metadata"]["name"] == pod)) {
                return Ok(Reply::fail(1, format!("Error from server (NotFound): pods \"{pod}\" not found\n")));
            }
            "{\"level\":\"INFO\",\"msg\":\"listening\",\"addr\":\"0.0.0.0:8080\"}\n{\"level\":\"INFO\",\"msg\":\"GET /healthz\",\"status\":200}\n{\"level\":\"INFO\",\"msg\":\"GET /api/tasks\",\"status\":200}\n".to_string()
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail: Option<usize> =
        f.get(&["--tail"]).and_then(|t| t.parse::<i64>().ok()).and_then(|t| usize::try_from(t).ok());
    let shown = match tail {
        Some(n) => &lines[lines.len().saturating_sub(n)..],
        None => &lines[..],
    };
    Ok(Reply::ok(shown.iter().map(|l| format!("{l}\n")).collect::<String>()))
}

/// `kubectl run`'s own flags (kubernetes/kubectl `pkg/cmd/run/run.go:191-211` addRunFlags, plus the delete, print,
/// apply and pod-running-timeout flags it registers; the same set at kubernetes-1.28.0 and in 1.34, as the real
/// 1.34 client's `run --help` lists them) and kubectl's global flags (`kubectl options`). There is no
/// `--active-deadline-seconds` anywhere in kubectl's history: a pod deadline goes through `--overrides`.
const RUN_FLAGS: &[&str] = &[
    "--allow-missing-template-keys",
    "--annotations",
    "--attach",
    "--cascade",
    "--command",
    "--dry-run",
    "--env",
    "--expose",
    "--field-manager",
    "-f",
    "--filename",
    "--force",
    "--grace-period",
    "--image",
    "--image-pull-policy",
    "-k",
    "--kustomize",
    "-l",
    "--labels",
    "--leave-stdin-open",
    "-o",
    "--output",
    "--override-type",
    "--overrides",
    "--pod-running-timeout",
    "--port",
    "--privileged",
    "-q",
    "--quiet",
    "-R",
    "--recursive",
    "--restart",
    "--rm",
    "--save-config",
    "--show-managed-fields",
    "-i",
    "--stdin",
    "--template",
    "--timeout",
    "-t",
    "--tty",
    "--wait",
    "--as",
    "--as-group",
    "--as-uid",
    "--cache-dir",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--cluster",
    "--context",
    "--disable-compression",
    "--insecure-skip-tls-verify",
    "--kubeconfig",
    "--kuberc",
    "--match-server-version",
    "-n",
    "--namespace",
    "--password",
    "--profile",
    "--profile-output",
    "--request-timeout",
    "-s",
    "--server",
    "--tls-server-name",
    "--token",
    "--user",
    "--username",
    "-v",
    "--v",
    "--warnings-as-errors",
];

/// `kubectl run NAME --image=I ...`: cobra rejects an unknown flag before anything runs (`error: unknown flag: --x`
/// then `See 'kubectl run --help' for usage.`, exit 1: the wording of tests/fixtures/kubectl/version-short-removed);
/// `--overrides` must be JSON (run.go `generateOverrides`); success prints `pod/NAME created` (the default
/// `-o name`-style printer of run.go `PrintObj` with operation "created").
fn run_pod(args: &[String], name: &str) -> Result<Reply> {
    for a in args.iter().take_while(|a| a.as_str() != "--") {
        if !a.starts_with('-') {
            continue;
        }
        let flag = a.split('=').next().unwrap_or(a);
        if !RUN_FLAGS.contains(&flag) {
            return Ok(Reply::fail(1, format!("error: unknown flag: {flag}\nSee 'kubectl run --help' for usage.\n")));
        }
    }
    let f = Flags::parse(args, &["--overrides", "--image", "--restart"]);
    if f.get(&["--image"]).is_none() {
        return Ok(Reply::fail(1, "error: --image is required\nSee 'kubectl run -h' for help and examples\n"));
    }
    if let Some(o) = f.get(&["--overrides"]) {
        if serde_json::from_str::<Value>(&o).is_err() {
            return Ok(Reply::fail(1, "error: invalid JSON Patch\n"));
        }
    }
    Ok(Reply::ok(format!("pod/{name} created\n")))
}

/// The test pods of the releases installed in a namespace (fake helm's state).
fn test_pods(ctx: &Ctx, ns: &str) -> Result<Vec<String>> {
    let st: releases::HelmState = state::load(ctx, "helm")?;
    Ok(st
        .releases
        .iter()
        .filter(|(k, _)| k.split_once('/').is_some_and(|(n, _)| n == ns))
        .filter_map(|(_, revs)| revs.last())
        .flat_map(|r| r.tests.clone())
        .collect())
}

/// kubectl port-forward resolves its target first and exits at once when it is missing: `Error from server
/// (NotFound): services "X" not found`, exit 1 (kubectl `pkg/cmd/portforward/portforward.go` Complete ->
/// the resource builder's Get). A Service is missing when its namespace is, when the Services are seeded
/// (`state/kube/services.json`) without it, or for minikube's ingress controller when the context's profile has
/// no `ingress` addon (it lives in `ingress-nginx`, minikube `deploy/addons/ingress/ingress-deploy.yaml.tmpl:380-413`).
fn forward_target_missing(ctx: &Ctx, ns: &str, target: &str) -> Result<Option<Reply>> {
    let Some(name) = target.strip_prefix("svc/").or_else(|| target.strip_prefix("service/")) else { return Ok(None) };
    let not_found = || Some(Reply::fail(1, format!("Error from server (NotFound): services \"{name}\" not found\n")));
    if ns == "ingress-nginx" && name == "ingress-nginx-controller" {
        let kube = cluster::load(ctx)?;
        if !kube.managed {
            return Ok(None);
        }
        let profile = cluster::named_context(ctx)?.unwrap_or_default();
        return Ok(if crate::profiles::has_addon(ctx, &profile, "ingress")? { None } else { not_found() });
    }
    if !namespace_exists(ctx, ns)? {
        return Ok(not_found());
    }
    if let Some(text) = state::raw(ctx, "kube/services.json") {
        let v: Value = serde_json::from_str(&text)?;
        if !v["items"].as_array().is_some_and(|a| a.iter().any(|s| s["metadata"]["name"] == name)) {
            return Ok(not_found());
        }
    }
    Ok(None)
}

/// Prints the two Forwarding lines and keeps running, like the real command.
fn port_forward(target: &str, ports: &[&str]) -> Result<Reply> {
    let Some(spec) = ports.first() else {
        return Ok(Reply::fail(1, "error: TYPE/NAME and list of ports are required for port-forward\n"));
    };
    let (local, remote) = spec.split_once(':').unwrap_or((spec, spec));
    if let Ok(upstream) = std::env::var("FAKE_FORWARD_TO") {
        forward(local, remote, &upstream);
    }
    let local = if local.is_empty() {
        (40000 + util::hash64(target.as_bytes(), 9) % 20000).to_string()
    } else {
        local.to_string()
    };
    Ok(Reply::ok(format!("Forwarding from 127.0.0.1:{local} -> {remote}\nForwarding from [::1]:{local} -> {remote}\n"))
        .blocking())
}

/// With `FAKE_FORWARD_TO=127.0.0.1:PORT` the fake forwards for real, as kubectl forwards to the pod: it listens on
/// 127.0.0.1 (an ephemeral port for `:REMOTE`, as kubectl picks one), prints kubectl's Forwarding line, and pipes
/// every connection to the upstream (a test's stand-in for the pod) until it is killed.
fn forward(local: &str, remote: &str, upstream: &str) -> ! {
    use std::io::Write;
    let listener = std::net::TcpListener::bind(format!("127.0.0.1:{}", if local.is_empty() { "0" } else { local }))
        .unwrap_or_else(|e| {
            eprintln!("Unable to listen on port {local}: {e}");
            std::process::exit(1)
        });
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    println!("Forwarding from 127.0.0.1:{port} -> {remote}");
    let _ = std::io::stdout().flush();
    for conn in listener.incoming().flatten() {
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            // client-go portforward `handleConnection` names the LOCAL port.
            println!("Handling connection for {port}");
            let _ = std::io::stdout().flush();
            let Ok(up) = std::net::TcpStream::connect(&upstream) else { return };
            let (mut a, mut b) = (conn.try_clone().expect("clone"), up.try_clone().expect("clone"));
            let t = std::thread::spawn(move || {
                let _ = std::io::copy(&mut a, &mut b);
                let _ = b.shutdown(std::net::Shutdown::Write);
            });
            let (mut c, mut d) = (up, conn);
            let _ = std::io::copy(&mut c, &mut d);
            let _ = d.shutdown(std::net::Shutdown::Write);
            let _ = t.join();
        });
    }
    std::process::exit(0)
}
