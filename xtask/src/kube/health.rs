//! Pod health read from `kubectl get pods -o json`, so that a failure names the culprit (CrashLoopBackOff with
//! its exit code, ImagePullBackOff with the image, Unschedulable with the scheduler's reason, OOMKilled) instead
//! of "timed out".

use serde_json::Value;

use super::objects::Pod;

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
    use crate::kube::List;
    use serde::Deserialize;

    fn fixture<T: for<'de> Deserialize<'de>>(name: &str) -> T {
        let p = format!("{}/tests/fixtures/kubectl/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
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
