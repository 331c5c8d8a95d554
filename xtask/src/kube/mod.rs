//! Kubernetes through kubectl: every kubectl command line the xtask runs, each aimed at a [`Target`] (kube
//! context and namespace), and what a failed call means. The JSON kubectl prints is read into the typed structs
//! of `objects.rs`; pod health, the culprit a failure names, is `health.rs`'s.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use serde_json::Value;
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::pipeline::exec::Exec;
use crate::pipeline::{Ran, StepCx};

mod health;
mod objects;

pub use self::health::pod_problems;
pub use self::objects::*;

/// Where a kubectl call acts: every call names its kube context and namespace, so another current context never
/// changes what the xtask acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub context: &'a str,
    pub namespace: &'a str,
}

impl<'a> Target<'a> {
    /// The release's namespace on the configured cluster.
    pub fn release(cfg: &'a Config) -> Target<'a> {
        Target { context: cfg.kube_context(), namespace: &cfg.release.namespace }
    }

    /// Another namespace on the same cluster.
    pub fn in_namespace(self, namespace: &'a str) -> Target<'a> {
        Target { namespace, ..self }
    }
}

/// What a failed kubectl call means, from kubectl's stderr: a missing context (client-go `errContextNotFound`,
/// `context was not found for specified context: P`), an API server that does not answer (`The connection to the
/// server ... was refused`, `Unable to connect to the server`), an RBAC denial (`Error from server (Forbidden)`),
/// a missing namespace or object (`Error from server (NotFound)`). kubectl's own last line follows.
pub fn explain(context: &str, stderr: &str) -> String {
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let cause = if stderr.contains("context was not found") || stderr.contains("cannot locate context") {
        format!(
            "the kube context `{context}` does not exist (minikube, kind and k3d write it when they create the \
             cluster: run `cargo xtask up`; for an existing cluster, check the target's `context`)"
        )
    } else if stderr.contains("was refused") || stderr.contains("Unable to connect to the server") {
        format!("the API server of context `{context}` does not answer (is the cluster running?)")
    } else if stderr.contains("(Forbidden)") {
        "RBAC denies it: the kube context's user lacks the permission".to_string()
    } else if stderr.contains("(NotFound)") {
        "it does not exist".to_string()
    } else {
        "kubectl failed".to_string()
    };
    format!("{cause}: {last}")
}
/// A label map (`{"app": "x", "component": "y"}`) as kubectl's `-l` takes it: `app=x,component=y`.
pub fn label_selector(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}
/// The namespace's pods, typed, with the JSON kubectl printed (kept whole for the diagnostics folder).
#[derive(Debug, Clone, Default)]
pub struct Pods {
    pub json: Value,
    pub items: Vec<Pod>,
}

/// Reads kubectl's JSON answer into `T`; an answer that is not JSON (an empty stdout, a dry run) reads as
/// `T::default()`, the way an empty list reads.
pub fn parse_or_default<T: Default + for<'de> Deserialize<'de>>(stdout: &str) -> T {
    serde_json::from_str(stdout.trim()).unwrap_or_default()
}

/// `kubectl get WHAT -n NS -o json`.
pub fn get_cmd(sh: &Shell, t: Target, what: &str) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} get {what} -n {namespace} -o json").into()
}

/// `kubectl get WHAT -n NS -o json`, read into `T`, failing with [`explain`]'s words when kubectl fails.
pub fn get<T: for<'de> Deserialize<'de>>(cx: &mut StepCx, t: Target, what: &str) -> Result<Ran<T>> {
    let Ran::Done(out) = cx.ask(get_cmd(&cx.sh, t, what))? else { return Ok(Ran::Planned) };
    let namespace = t.namespace;
    if !out.success() {
        bail!("cannot read {what} in namespace `{namespace}`: {}", explain(t.context, &out.stderr));
    }
    serde_json::from_str(out.stdout.trim())
        .map(Ran::Done)
        .with_context(|| format!("`kubectl get {what} -n {namespace} -o json` printed no JSON: {}", out.tail(2)))
}

/// The namespace's pods. A failed call (no such context, an API server that does not answer, RBAC) is an error
/// carrying kubectl's own words, never an empty list that reads as "no problems".
pub fn get_pods(cx: &mut StepCx, t: Target) -> Result<Ran<Pods>> {
    let Target { context, namespace } = t;
    let e = Exec::from(cmd!(cx.sh, "kubectl --context {context} get pods -n {namespace} -o json")).quiet_stdout();
    let Ran::Done(out) = cx.ask(e)? else { return Ok(Ran::Planned) };
    if !out.success() {
        bail!("cannot read the pods in namespace `{namespace}`: {}", explain(context, &out.stderr));
    }
    let json: Value = serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("`kubectl get pods -n {namespace} -o json` printed no JSON: {}", out.tail(2)))?;
    let list: List<Pod> = serde_json::from_value(json.clone())
        .with_context(|| format!("`kubectl get pods -n {namespace} -o json` printed no pod list: {}", out.tail(2)))?;
    Ok(Ran::Done(Pods { json, items: list.items }))
}

/// The pods matching a label selector (`kubectl get pods -n NS -l SEL -o json`); no answer reads as no pods.
pub fn pods_by_selector(cx: &mut StepCx, t: Target, selector: &str) -> Result<Ran<Vec<Pod>>> {
    let Target { context, namespace } = t;
    let e = cmd!(cx.sh, "kubectl --context {context} get pods -n {namespace} -l {selector} -o json").into();
    Ok(cx.query(e)?.map(|out| parse_or_default::<List<Pod>>(&out.stdout).items))
}

/// `kubectl get namespace NS -o name`: whether the target's namespace exists, as kubectl answered.
pub fn namespace_cmd(sh: &Shell, t: Target) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} get namespace {namespace} -o name").into()
}

/// `kubectl get namespace NS --ignore-not-found -o name`: prints nothing (exit 0) when the namespace is missing.
pub fn namespace_if_any_cmd(sh: &Shell, t: Target) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} get namespace {namespace} --ignore-not-found -o name").into()
}

/// The namespace exists on the target's cluster: listing in a missing namespace answers an empty list (by design,
/// kubernetes/kubernetes#75537), which would read as "nothing to wait for".
pub fn require_namespace(cx: &mut StepCx, t: Target) -> Result<()> {
    let Ran::Done(out) = cx.ask(namespace_cmd(&cx.sh, t))? else { return Ok(()) };
    if out.success() {
        return Ok(());
    }
    let Target { context, namespace: ns } = t;
    if out.stderr.contains("(NotFound)") {
        bail!(
            "namespace `{ns}` does not exist on context `{context}`: nothing is deployed there. Run `cargo xtask up` \
             (or check `release.namespace` in xtask.yaml)"
        );
    }
    bail!("cannot read namespace `{ns}`: {}", explain(context, &out.stderr))
}

/// A Service, read for its selector; no answer reads as a Service without one.
pub fn service(cx: &mut StepCx, t: Target, service: &str) -> Result<Ran<Service>> {
    let Target { context, namespace } = t;
    let e = cmd!(cx.sh, "kubectl --context {context} get service {service} -n {namespace} -o json").into();
    Ok(cx.query(e)?.map(|out| parse_or_default(&out.stdout)))
}

/// One HPA (`kubectl get hpa NAME -o json`); no answer reads as an HPA without status.
pub fn hpa(cx: &mut StepCx, t: Target, name: &str) -> Result<Ran<Hpa>> {
    let Target { context, namespace } = t;
    let e = cmd!(cx.sh, "kubectl --context {context} get hpa {name} -n {namespace} -o json").into();
    Ok(cx.query(e)?.map(|out| parse_or_default(&out.stdout)))
}

/// `kubectl delete pod NAME -n NS --wait=false`.
pub fn delete_pod_cmd(sh: &Shell, t: Target, pod: &str) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} delete pod {pod} -n {namespace} --wait=false").into()
}

/// `kubectl delete pod NAME -n NS --wait=false --ignore-not-found`.
pub fn delete_pod_if_any_cmd(sh: &Shell, t: Target, pod: &str) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} delete pod {pod} -n {namespace} --wait=false --ignore-not-found").into()
}

/// `kubectl delete pods -n NS -l SEL --wait=BOOL`: restarts the pods behind a selector.
pub fn delete_pods_cmd(sh: &Shell, t: Target, selector: &str, wait: bool) -> Exec {
    let Target { context, namespace } = t;
    let wait = format!("--wait={wait}");
    cmd!(sh, "kubectl --context {context} delete pods -n {namespace} -l {selector} {wait}").into()
}

/// `kubectl delete namespace NS --ignore-not-found --wait=true --timeout=180s`.
pub fn delete_namespace_cmd(sh: &Shell, t: Target) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} delete namespace {namespace} --ignore-not-found --wait=true --timeout=180s")
        .into()
}

/// `kubectl port-forward -n NS TARGET :PORT` (kubectl picks the local port and prints `Forwarding from
/// 127.0.0.1:PORT -> TARGET`).
pub fn port_forward_cmd(sh: &Shell, t: Target, to: &str, port: u16) -> Exec {
    let Target { context, namespace } = t;
    let port = format!(":{port}");
    cmd!(sh, "kubectl --context {context} port-forward -n {namespace} {to} {port}").into()
}

/// `kubectl run POD --image=IMAGE --restart=Never --overrides=... --command -- sh -c SCRIPT ARGS...`: a one-off
/// pod running a fixed script whose values arrive as the shell's positional parameters (never parsed as shell
/// syntax). kubectl run has no pod-deadline flag (its flags: kubernetes/kubectl pkg/cmd/run/run.go addRunFlags);
/// the pod's spec.activeDeadlineSeconds is set through --overrides, merged into the generated Pod.
pub fn run_script_pod_cmd(
    sh: &Shell,
    t: Target,
    pod: &str,
    image: &str,
    deadline_secs: u64,
    script: &str,
    args: &[String],
) -> Exec {
    let Target { context, namespace } = t;
    let image = format!("--image={image}");
    let overrides = format!(r#"--overrides={{"apiVersion":"v1","spec":{{"activeDeadlineSeconds":{deadline_secs}}}}}"#);
    cmd!(
        sh,
        "kubectl --context {context} run {pod} -n {namespace} {image} --restart=Never {overrides} --command -- sh -c {script} {args...}"
    )
    .into()
}

/// `kubectl get events -n NS -o json`.
pub fn events_cmd(sh: &Shell, t: Target) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} get events -n {namespace} -o json").into()
}

/// `kubectl describe pod NAME -n NS`.
pub fn describe_pod_cmd(sh: &Shell, t: Target, pod: &str) -> Exec {
    let Target { context, namespace } = t;
    cmd!(sh, "kubectl --context {context} describe pod {pod} -n {namespace}").into()
}

/// `kubectl logs NAME -n NS --all-containers [--previous] --tail=N`.
pub fn logs_cmd(sh: &Shell, t: Target, pod: &str, previous: bool, tail: u32) -> Exec {
    let Target { context, namespace } = t;
    let previous = previous.then_some("--previous");
    let tail = format!("--tail={tail}");
    cmd!(sh, "kubectl --context {context} logs {pod} -n {namespace} --all-containers {previous...} {tail}").into()
}

/// `kubectl config view --minify --flatten --context C`: a kubeconfig holding only that context, with its
/// credentials inlined.
pub fn kubeconfig_cmd(sh: &Shell, context: &str) -> Exec {
    cmd!(sh, "kubectl config view --minify --flatten --context {context}").into()
}

/// `kubectl config view --minify --context C`: the one cluster's `server` (YAML; JSON with `-o json`). Run before
/// any step, so a plain command, not an [`Exec`].
pub fn context_view_cmd<'a>(sh: &'a Shell, context: &str) -> xshell::Cmd<'a> {
    cmd!(sh, "kubectl config view --minify --context {context}")
}

/// `kubectl --context C apply -f FILE`.
pub fn apply_cmd(sh: &Shell, context: &str, file: &Path) -> Exec {
    cmd!(sh, "kubectl --context {context} apply -f {file}").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_map_is_a_selector() {
        let labels = BTreeMap::from([("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())]);
        assert_eq!(label_selector(&labels), "a=1,b=2");
    }
}
