//! Kubernetes through kubectl: pod health read from `kubectl get pods -o json`, so that a failure names the
//! culprit (CrashLoopBackOff with its exit code, ImagePullBackOff with the image, Unschedulable with the
//! scheduler's reason, OOMKilled) instead of "timed out".

use anyhow::{bail, Context as _, Result};
use serde_json::Value;
use xshell::cmd;

use crate::pipeline::exec::Exec;
use crate::pipeline::StepCx;

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

/// `kubectl get WHAT -n NS -o json`, failing with [`explain`]'s words when kubectl fails.
pub fn get(cx: &mut StepCx, context: &str, namespace: &str, what: &str) -> Result<Value> {
    let out = cx.exec_unchecked(cmd!(cx.sh, "kubectl --context {context} get {what} -n {namespace} -o json").into())?;
    if cx.dry_run() {
        return Ok(Value::Null);
    }
    if !out.success() {
        bail!("cannot read {what} in namespace `{namespace}`: {}", explain(context, &out.stderr));
    }
    serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("`kubectl get {what} -n {namespace} -o json` printed no JSON: {}", out.tail(2)))
}

/// The namespace's pods. A failed call (no such context, an API server that does not answer, RBAC) is an error
/// carrying kubectl's own words, never an empty list that reads as "no problems".
pub fn get_pods(cx: &mut StepCx, context: &str, namespace: &str) -> Result<Value> {
    let e = Exec::from(cmd!(cx.sh, "kubectl --context {context} get pods -n {namespace} -o json")).quiet_stdout();
    let out = cx.probe(e)?;
    if cx.dry_run() {
        return Ok(Value::Null);
    }
    if !out.success() {
        bail!("cannot read the pods in namespace `{namespace}`: {}", explain(context, &out.stderr));
    }
    serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("`kubectl get pods -n {namespace} -o json` printed no JSON: {}", out.tail(2)))
}

/// Problems of every pod in a `kubectl get pods -o json` list, worst first.
pub fn pod_problems(list: &Value) -> Vec<PodProblem> {
    let mut out = vec![];
    for pod in list["items"].as_array().into_iter().flatten() {
        let name = pod["metadata"]["name"].as_str().unwrap_or("?").to_string();
        let phase = pod["status"]["phase"].as_str().unwrap_or("");
        if phase == "Succeeded" {
            continue;
        }
        for c in pod["status"]["conditions"].as_array().into_iter().flatten() {
            if c["type"] == "PodScheduled" && c["status"] == "False" {
                out.push(PodProblem {
                    pod: name.clone(),
                    reason: c["reason"].as_str().unwrap_or("Unschedulable").to_string(),
                    detail: c["message"].as_str().unwrap_or("").to_string(),
                    fatal: c["reason"] == "Unschedulable",
                });
            }
        }
        let statuses = pod["status"]["initContainerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(pod["status"]["containerStatuses"].as_array().into_iter().flatten());
        for cs in statuses {
            let cname = cs["name"].as_str().unwrap_or("?");
            let image = cs["image"].as_str().unwrap_or("?");
            let restarts = cs["restartCount"].as_u64().unwrap_or(0);
            let last = &cs["lastState"]["terminated"];
            let waiting = &cs["state"]["waiting"];
            let reason = waiting["reason"].as_str().unwrap_or("");
            let msg = waiting["message"].as_str().unwrap_or("");
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
                    let code = last["exitCode"].as_i64().map(|c| format!("exit code {c}")).unwrap_or_default();
                    let why = last["reason"].as_str().unwrap_or("");
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
            if last["reason"] == "OOMKilled" {
                out.push(PodProblem {
                    pod: name.clone(),
                    reason: "OOMKilled".into(),
                    detail: format!("container {cname} exceeded its memory limit, {restarts} restarts"),
                    fatal: false,
                });
            } else if cs["ready"] == false && cs["state"]["running"].is_object() && phase == "Running" {
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

    fn fixture(name: &str) -> Value {
        let p = format!("{}/tests/fixtures/kubectl/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn names_each_failure_shape() {
        let problems = pod_problems(&fixture("get-pods.synthesized.json"));
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
