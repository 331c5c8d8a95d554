//! Kubernetes through kubectl: every kubectl command line the xtask runs, each aimed at a [`Target`] (kube
//! context and namespace), and the JSON kubectl prints read into small typed structs. Pod health is read from
//! `kubectl get pods -o json`, so that a failure names the culprit (CrashLoopBackOff with its exit code,
//! ImagePullBackOff with the image, Unschedulable with the scheduler's reason, OOMKilled) instead of "timed out".

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use xshell::{cmd, Shell};

use crate::config::Config;
use crate::pipeline::exec::Exec;
use crate::pipeline::{Ran, StepCx};

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

/// Why a pod is not healthy, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    pub pod: String,
    pub reason: String,
    pub detail: String,
    /// Waiting longer will not help (pull errors, crash loops, unschedulable).
    pub fatal: bool,
}

impl std::fmt::Display for PodProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pod {}: {}", self.pod, self.reason)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
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

/// `null` where kubectl prints one (`lastTimestamp`, an empty list) reads as the field's default, as a missing
/// field does.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `metadata` as far as the xtask reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub creation_timestamp: Option<String>,
}

impl Meta {
    /// The object's name, `?` when kubectl printed none.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("?")
    }
}

/// A `kubectl get ... -o json` list.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct List<T> {
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<T>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List { items: vec![] }
    }
}

/// A Pod (`kubectl get pods -o json`): its phase, conditions and container states.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pod {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub status: PodStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub phase: String,
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<PodCondition>,
    #[serde(default, deserialize_with = "nullable")]
    pub init_container_statuses: Vec<ContainerStatus>,
    #[serde(default, deserialize_with = "nullable")]
    pub container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodCondition {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub image: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub restart_count: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub ready: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub state: ContainerState,
    #[serde(default, deserialize_with = "nullable")]
    pub last_state: ContainerState,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerState {
    #[serde(default, deserialize_with = "nullable")]
    pub waiting: Option<Waiting>,
    #[serde(default)]
    pub running: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub terminated: Option<Terminated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Waiting {
    #[serde(default, deserialize_with = "nullable")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terminated {
    #[serde(default, deserialize_with = "nullable")]
    pub exit_code: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub reason: Option<String>,
}

/// A Deployment or StatefulSet (`kubectl get deployments,statefulsets -o json`): how many replicas it wants and
/// how many are ready and updated.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Workload {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: WorkloadSpec,
    #[serde(default, deserialize_with = "nullable")]
    pub status: WorkloadStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub replicas: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub selector: LabelSelector,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub ready_replicas: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub updated_replicas: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "nullable")]
    pub match_labels: BTreeMap<String, String>,
}

/// A label map (`{"app": "x", "component": "y"}`) as kubectl's `-l` takes it: `app=x,component=y`.
pub fn label_selector(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// A Service (`kubectl get service NAME -o json`): the labels of the pods behind it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Service {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub selector: BTreeMap<String, String>,
}

/// A HorizontalPodAutoscaler (autoscaling/v2, `kubectl get hpa -o json`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Hpa {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: HpaSpec,
    #[serde(default, deserialize_with = "nullable")]
    pub status: HpaStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub min_replicas: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub max_replicas: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub scale_target_ref: ScaleTarget,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScaleTarget {
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub current_metrics: Vec<HpaMetric>,
    #[serde(default, deserialize_with = "nullable")]
    pub current_replicas: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub desired_replicas: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HpaMetric {
    #[serde(default, deserialize_with = "nullable")]
    pub resource: Option<ResourceMetric>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceMetric {
    #[serde(default, deserialize_with = "nullable")]
    pub current: MetricValue,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    #[serde(default, deserialize_with = "nullable")]
    pub average_utilization: Option<u64>,
}

/// `kubectl get hpa -o json`: a List, or a single object when the API answers for one resource.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HpaAnswer {
    #[serde(default, deserialize_with = "nullable")]
    kind: Option<String>,
    #[serde(default)]
    items: Option<Vec<Hpa>>,
    #[serde(flatten)]
    single: Hpa,
}

impl HpaAnswer {
    pub fn into_items(self) -> Vec<Hpa> {
        match (self.items, self.kind) {
            (Some(items), _) => items,
            (None, Some(_)) => vec![self.single],
            (None, None) => vec![],
        }
    }
}

/// An Ingress (`kubectl get ingress -o json`): its name and the host of its first rule.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ingress {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: IngressSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IngressSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<IngressRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IngressRule {
    #[serde(default, deserialize_with = "nullable")]
    pub host: Option<String>,
}

/// An Event (`kubectl get events -o json`). Newer events carry only `eventTime` (`lastTimestamp` is null), older
/// ones the reverse.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub last_timestamp: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub event_time: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub first_timestamp: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub involved_object: ObjectRef,
    #[serde(default, deserialize_with = "nullable")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ObjectRef {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<String>,
}

/// `kubectl version --client -o json`: `{"clientVersion":{"gitVersion":"v1.31.0",...},"kustomizeVersion":...}`
/// (kubectl `pkg/cmd/version/version.go` Version).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionAnswer {
    #[serde(default, deserialize_with = "nullable")]
    pub client_version: ClientVersion,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientVersion {
    #[serde(default, deserialize_with = "nullable")]
    pub git_version: Option<String>,
}

/// `kubectl config view --minify`: a kubeconfig (client-go `tools/clientcmd/api/v1` Config) with the one cluster
/// of the context, as far as the guard reads it (its `server`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KubeconfigView {
    #[serde(default, deserialize_with = "nullable")]
    pub clusters: Vec<NamedCluster>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NamedCluster {
    #[serde(default, deserialize_with = "nullable")]
    pub cluster: KubeCluster,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct KubeCluster {
    #[serde(default, deserialize_with = "nullable")]
    pub server: Option<String>,
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

/// Problems of every pod in a `kubectl get pods -o json` list, worst first.
pub fn pod_problems(pods: &[Pod]) -> Vec<PodProblem> {
    let mut out = vec![];
    for pod in pods {
        let name = pod.metadata.name().to_string();
        let phase = pod.status.phase.as_str();
        if phase == "Succeeded" {
            continue;
        }
        for c in &pod.status.conditions {
            if c.kind == "PodScheduled" && c.status == "False" {
                out.push(PodProblem {
                    pod: name.clone(),
                    reason: c.reason.clone().unwrap_or_else(|| "Unschedulable".into()),
                    detail: c.message.clone().unwrap_or_default(),
                    fatal: c.reason.as_deref() == Some("Unschedulable"),
                });
            }
        }
        for cs in pod.status.init_container_statuses.iter().chain(&pod.status.container_statuses) {
            let cname = cs.name.as_deref().unwrap_or("?");
            let image = cs.image.as_deref().unwrap_or("?");
            let restarts = cs.restart_count;
            let last = cs.last_state.terminated.clone().unwrap_or_default();
            let waiting = cs.state.waiting.clone().unwrap_or_default();
            let reason = waiting.reason.as_deref().unwrap_or("");
            let msg = waiting.message.as_deref().unwrap_or("");
            match reason {
                "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
                    out.push(PodProblem {
                        pod: name.clone(),
                        reason: reason.to_string(),
                        detail: format!("container {cname}, image {image}: {msg}").trim_end_matches(": ").to_string(),
                        fatal: true,
                    });
                    continue;
                }
                "CrashLoopBackOff" => {
                    let code = last.exit_code.map(|c| format!("exit code {c}")).unwrap_or_default();
                    let why = last.reason.as_deref().unwrap_or("");
                    let detail = [format!("container {cname}"), code, why.to_string(), format!("{restarts} restarts")]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let reason = if why == "OOMKilled" { "OOMKilled (CrashLoopBackOff)" } else { "CrashLoopBackOff" };
                    out.push(PodProblem { pod: name.clone(), reason: reason.into(), detail, fatal: restarts >= 2 });
                    continue;
                }
                "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
                    out.push(PodProblem {
                        pod: name.clone(),
                        reason: reason.to_string(),
                        detail: format!("container {cname}: {msg}"),
                        fatal: true,
                    });
                    continue;
                }
                _ => {}
            }
            if last.reason.as_deref() == Some("OOMKilled") {
                out.push(PodProblem {
                    pod: name.clone(),
                    reason: "OOMKilled".into(),
                    detail: format!("container {cname} exceeded its memory limit, {restarts} restarts"),
                    fatal: false,
                });
            } else if cs.ready == Some(false)
                && cs.state.running.as_ref().is_some_and(Value::is_object)
                && phase == "Running"
            {
                out.push(PodProblem {
                    pod: name.clone(),
                    reason: "NotReady".into(),
                    detail: format!("container {cname} runs but fails its readiness probe"),
                    fatal: false,
                });
            }
        }
    }
    out.sort_by_key(|p| !p.fatal);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture<T: for<'de> Deserialize<'de>>(name: &str) -> T {
        let p = format!("{}/tests/fixtures/kubectl/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn utilization(h: &Hpa) -> Option<u64> {
        h.status.current_metrics.first().and_then(|m| m.resource.as_ref()?.current.average_utilization)
    }

    #[test]
    fn reads_an_hpa_answered_as_one_object_or_as_a_list() {
        let one = fixture::<HpaAnswer>("get-hpa.synthesized.json").into_items();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].metadata.name(), "todo-api");
        assert_eq!(one[0].spec.scale_target_ref.name.as_deref(), Some("todo-api"));
        assert!(utilization(&one[0]).is_some(), "{one:?}");
        let unknown = fixture::<HpaAnswer>("get-hpa-no-metrics.synthesized.json").into_items();
        assert_eq!(utilization(&unknown[0]), None);
        let list: HpaAnswer = serde_json::from_str(r#"{"kind":"List","items":[]}"#).unwrap();
        assert!(list.into_items().is_empty());
        let nothing: HpaAnswer = serde_json::from_str("{}").unwrap();
        assert!(nothing.into_items().is_empty());
    }

    #[test]
    fn null_where_kubectl_prints_one_reads_as_missing() {
        let pods: List<Pod> = serde_json::from_str(
            r#"{"items":[{"metadata":{"name":"p"},"status":{"phase":"Pending","conditions":null,
                "containerStatuses":[{"name":"c","ready":false,"restartCount":0,"state":{"waiting":null},
                "lastState":{}}]}}]}"#,
        )
        .unwrap();
        assert_eq!(pods.items[0].status.container_statuses[0].ready, Some(false));
        assert!(pod_problems(&pods.items).is_empty());
        let events: List<Event> = fixture("get-events.synthesized.json");
        assert!(!events.items.is_empty());
    }

    #[test]
    fn reads_the_client_version() {
        let v: VersionAnswer = fixture("version-client.json");
        assert_eq!(v.client_version.git_version.as_deref(), Some("v1.32.4-dispatcher"));
    }

    #[test]
    fn a_label_map_is_a_selector() {
        let labels = BTreeMap::from([("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())]);
        assert_eq!(label_selector(&labels), "a=1,b=2");
    }

    #[test]
    fn names_each_failure_shape() {
        let pods: List<Pod> = fixture("get-pods.synthesized.json");
        let problems = pod_problems(&pods.items);
        let by_pod = |p: &str| problems.iter().find(|x| x.pod == p).map(|x| x.reason.clone());
        assert_eq!(by_pod("todo-api-healthy"), None);
        assert_eq!(by_pod("todo-api-crashloop").as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(by_pod("todo-api-imagepull").as_deref(), Some("ImagePullBackOff"));
        assert_eq!(by_pod("todo-api-unschedulable").as_deref(), Some("Unschedulable"));
        assert!(by_pod("todo-api-oomkilled").is_some_and(|r| r.starts_with("OOMKilled")));
        let crash = problems.iter().find(|x| x.pod == "todo-api-crashloop").unwrap();
        assert!(crash.detail.contains("exit code"), "{crash}");
        let pull = problems.iter().find(|x| x.pod == "todo-api-imagepull").unwrap();
        assert!(pull.detail.contains("image "), "{pull}");
        assert!(problems
            .iter()
            .find(|x| x.pod == "todo-api-unschedulable")
            .unwrap()
            .detail
            .contains("nodes are available"));
    }
}
