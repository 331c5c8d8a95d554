//! The workload policy over rendered Kubernetes manifests: every resource named and labelled, every workload's
//! containers hardened, probed and given resources. `up`'s render step, `cargo xtask manifests` (and its
//! `--policy` check of files, which CI's chart check calls) all judge by it.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

/// The documents of a `helm template` stream.
pub fn parse(text: &str) -> Result<Vec<Value>> {
    Ok(crate::yaml::documents(Path::new("helm template output"), text)?)
}

/// `Kind/name` of a document, as every policy line and drift message names it.
pub fn name(doc: &Value) -> String {
    format!("{}/{}", doc["kind"].as_str().unwrap_or("?"), doc["metadata"]["name"].as_str().unwrap_or("?"))
}

/// Every policy breach in the rendered manifests, one line each naming the resource.
pub fn problems(docs: &[Value]) -> Vec<String> {
    let mut p = vec![];
    for d in docs {
        let n = name(d);
        if d["apiVersion"].as_str().is_none()
            || d["kind"].as_str().is_none()
            || d["metadata"]["name"].as_str().is_none()
        {
            p.push(format!("{n}: needs apiVersion, kind and metadata.name"));
            continue;
        }
        for label in ["app", "component", "version"] {
            if d["metadata"]["labels"][label].as_str().is_none() {
                p.push(format!("{n}: missing label `{label}`"));
            }
        }
        let kind = d["kind"].as_str().unwrap_or("");
        if !matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") {
            continue;
        }
        let pod = &d["spec"]["template"]["spec"];
        let pod_non_root = pod["securityContext"]["runAsNonRoot"] == true;
        for c in pod["containers"].as_array().into_iter().flatten() {
            let cn = format!("{n} container {}", c["name"].as_str().unwrap_or("?"));
            let sc = &c["securityContext"];
            if !pod_non_root && sc["runAsNonRoot"] != true {
                p.push(format!("{cn}: runAsNonRoot is not set"));
            }
            if sc["allowPrivilegeEscalation"] != false {
                p.push(format!("{cn}: allowPrivilegeEscalation must be false"));
            }
            if sc["readOnlyRootFilesystem"] != true {
                p.push(format!("{cn}: readOnlyRootFilesystem must be true"));
            }
            let drops_all = sc["capabilities"]["drop"].as_array().is_some_and(|a| a.iter().any(|x| x == "ALL"));
            if !drops_all {
                p.push(format!("{cn}: capabilities must drop ALL"));
            }
            for probe in ["livenessProbe", "readinessProbe"] {
                if !c[probe].is_object() {
                    p.push(format!("{cn}: no {probe}"));
                }
            }
            for (kind, what) in [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")] {
                if c["resources"][kind][what].is_null() {
                    p.push(format!("{cn}: no resources.{kind}.{what}"));
                }
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_unhardened_workloads() {
        let docs = parse(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: a, component: c, version: v}\n\
             spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: x:1\n---\n\
             apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
        )
        .unwrap();
        let p = problems(&docs);
        assert!(p.contains(&"Deployment/web container web: runAsNonRoot is not set".to_string()), "{p:?}");
        assert!(p.contains(&"Deployment/web container web: no livenessProbe".to_string()));
        assert!(p.contains(&"Service/svc: missing label `app`".to_string()));
    }
}
