//! The workload policy over rendered Kubernetes manifests: every resource named and labelled, every workload's
//! containers hardened, probed and given resources. `up`'s render step, `cargo xtask manifests` (and its
//! `--policy` check of files, which CI's chart check calls) all judge by it.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

/// The documents of a `helm template` stream.
pub fn parse(text: &str) -> Result<Vec<Value>> {
    parse_from(Path::new("helm template output"), text)
}

/// The documents of rendered manifests read from `origin` (named in a YAML error).
pub fn parse_from(origin: &Path, text: &str) -> Result<Vec<Value>> {
    Ok(crate::yaml::documents(origin, text)?)
}

/// `Kind/name` of a document, as every policy line and drift message names it.
pub fn name(doc: &Value) -> String {
    format!("{}/{}", doc["kind"].as_str().unwrap_or("?"), doc["metadata"]["name"].as_str().unwrap_or("?"))
}

/// Labels every resource, and every pod a workload makes, carries.
const LABELS: [&str; 3] = ["app", "component", "version"];

/// Labels that change between releases of the same install: a selector using one would stop matching the pods of
/// the previous release on upgrade (and a Deployment's selector cannot be changed at all).
const UNSTABLE_LABELS: [&str; 3] = ["version", "app.kubernetes.io/version", "helm.sh/chart"];

/// The kinds whose pod template the policy checks. Bare `Pod`s (a chart's `helm test` pods) are checked for
/// hardening too, but need no probes or resources: they run once and exit.
const WORKLOADS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

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
        for label in missing_labels(&d["metadata"]) {
            p.push(format!("{n}: missing label `{label}`"));
        }
        // A workload's or a PodDisruptionBudget's selector is a LabelSelector (`matchLabels`, `matchExpressions`);
        // a Service's is the label map itself.
        let empty = Value::Object(Default::default());
        let selector = match &d["spec"]["selector"] {
            s if s.get("matchLabels").is_some() || s.get("matchExpressions").is_some() => {
                s.get("matchLabels").unwrap_or(&empty)
            }
            s => s,
        };
        let unstable: Vec<&str> =
            UNSTABLE_LABELS.into_iter().filter(|l| selector.as_object().is_some_and(|s| s.contains_key(*l))).collect();
        if !unstable.is_empty() {
            p.push(format!("{n}: selector uses {}, which changes between releases", unstable.join(", ")));
        }
        let kind = d["kind"].as_str().unwrap_or("");
        let workload = WORKLOADS.contains(&kind);
        if !workload && kind != "Pod" {
            continue;
        }
        let (pod_meta, pod) = if workload {
            (&d["spec"]["template"]["metadata"], &d["spec"]["template"]["spec"])
        } else {
            (&d["metadata"], &d["spec"])
        };
        if workload {
            for label in missing_labels(pod_meta) {
                p.push(format!("{n} pods: missing label `{label}`"));
            }
            // A missing selector is the schema's to report (apps/v1 requires one); a wrong one only shows here.
            let mismatch =
                selector.as_object().is_some_and(|s| s.iter().any(|(k, v)| &pod_meta["labels"][k.as_str()] != v));
            if mismatch {
                p.push(format!("{n}: selector does not match its pod labels"));
            }
        }
        if pod["automountServiceAccountToken"] != false {
            p.push(format!("{n}: automountServiceAccountToken must be false"));
        }
        let pod_sc = &pod["securityContext"];
        let containers = pod["containers"].as_array().into_iter().flatten().map(|c| (c, false));
        let init = pod["initContainers"].as_array().into_iter().flatten().map(|c| (c, true));
        for (c, is_init) in containers.chain(init) {
            let cn = format!("{n} container {}", c["name"].as_str().unwrap_or("?"));
            let sc = &c["securityContext"];
            // Set in both, the container's value wins (k8s.io/api core/v1 SecurityContext: "If set in both
            // SecurityContext and PodSecurityContext, the value specified in SecurityContext takes precedence").
            let effective = |key: &str| if sc[key].is_null() { &pod_sc[key] } else { &sc[key] };
            if effective("runAsNonRoot") != true {
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
            if sc["capabilities"]["add"].as_array().is_some_and(|a| !a.is_empty()) {
                p.push(format!("{cn}: capabilities.add must be empty"));
            }
            if sc["privileged"] == true {
                p.push(format!("{cn}: privileged must be false"));
            }
            // runAsNonRoot alone refuses a root image at start; a UID the pod spec fixes makes the check possible
            // for an image whose USER is a name, and shows the user in the manifest.
            if effective("runAsUser").as_u64().is_none_or(|uid| uid == 0) {
                p.push(format!("{cn}: may run as root (no non-zero runAsUser)"));
            }
            if effective("seccompProfile")["type"] != "RuntimeDefault" {
                p.push(format!("{cn}: seccompProfile.type must be RuntimeDefault"));
            }
            // Init containers take no probes (the API server rejects them), and a bare pod runs once.
            if is_init || !workload {
                continue;
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if c[probe].as_object().is_none_or(|o| o.is_empty()) {
                    p.push(format!("{cn}: no {probe}"));
                }
            }
            for (kind, what) in [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")] {
                if is_blank(&c["resources"][kind][what]) {
                    p.push(format!("{cn}: no resources.{kind}.{what}"));
                }
            }
        }
    }
    p
}

/// The labels of `LABELS` a resource's (or a pod template's) metadata lacks or leaves empty.
fn missing_labels(meta: &Value) -> Vec<&'static str> {
    LABELS.into_iter().filter(|l| meta["labels"][*l].as_str().is_none_or(str::is_empty)).collect()
}

/// Absent, null, an empty string or zero: no value a limit or request can use.
fn is_blank(v: &Value) -> bool {
    v.is_null() || v.as_str().is_some_and(str::is_empty) || v.as_f64() == Some(0.0)
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

    /// A Deployment and a `helm test` pod that pass every rule; each test below breaks one thing in it.
    const GOOD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: { name: api, labels: { app: a, component: backend, version: "1" } }
spec:
  selector: { matchLabels: { app: a, component: backend } }
  template:
    metadata: { labels: { app: a, component: backend, version: "1" } }
    spec:
      automountServiceAccountToken: false
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }
      initContainers:
        - name: migrate
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
      containers:
        - name: api
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          livenessProbe: { httpGet: { path: /health, port: 8080 } }
          readinessProbe: { httpGet: { path: /ready, port: 8080 } }
          startupProbe: { httpGet: { path: /health, port: 8080 } }
          resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { cpu: 200m, memory: 128Mi } }
---
apiVersion: v1
kind: Pod
metadata: { name: api-test, labels: { app: a, component: test, version: "1" } }
spec:
  automountServiceAccountToken: false
  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }
  containers:
    - name: test
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
"#;

    /// The problems of GOOD after `edit`.
    fn problems_after(edit: impl FnOnce(&mut Vec<Value>)) -> Vec<String> {
        let mut docs = parse(GOOD).unwrap();
        edit(&mut docs);
        problems(&docs)
    }

    #[test]
    fn a_hardened_labelled_probed_workload_passes() {
        assert_eq!(problems_after(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn every_workload_container_needs_a_startup_probe() {
        let p = problems_after(|d| d[0]["spec"]["template"]["spec"]["containers"][0]["startupProbe"] = Value::Null);
        assert_eq!(p, ["Deployment/api container api: no startupProbe"]);
        let p = problems_after(|d| {
            d[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = serde_json::json!({})
        });
        assert_eq!(p, ["Deployment/api container api: no readinessProbe"], "an empty probe probes nothing");
    }

    #[test]
    fn pods_need_the_labels_and_the_selector_must_select_them() {
        let p = problems_after(|d| d[0]["spec"]["template"]["metadata"]["labels"]["version"] = "".into());
        assert_eq!(p, ["Deployment/api pods: missing label `version`"]);
        let p = problems_after(|d| d[0]["spec"]["selector"]["matchLabels"]["component"] = "frontend".into());
        assert_eq!(p, ["Deployment/api: selector does not match its pod labels"]);
        let p = problems_after(|d| d[0]["spec"]["selector"]["matchLabels"]["version"] = "1".into());
        assert_eq!(p, ["Deployment/api: selector uses version, which changes between releases"]);
    }

    #[test]
    fn a_selector_by_expressions_alone_is_not_a_label_map() {
        let p = problems_after(|d| {
            d[0]["spec"]["selector"] = serde_json::json!({"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["a"]}]})
        });
        assert_eq!(p, Vec::<String>::new());
    }

    #[test]
    fn services_select_by_stable_labels_only() {
        let p = problems_after(|d| {
            d.push(serde_json::json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "api", "labels": {"app": "a", "component": "backend", "version": "1"}},
                "spec": {"selector": {"app": "a", "helm.sh/chart": "a-1"}}}))
        });
        assert_eq!(p, ["Service/api: selector uses helm.sh/chart, which changes between releases"]);
    }

    #[test]
    fn the_service_account_token_is_not_mounted() {
        let p = problems_after(|d| d[1]["spec"]["automountServiceAccountToken"] = Value::Null);
        assert_eq!(p, ["Pod/api-test: automountServiceAccountToken must be false"]);
    }

    #[test]
    fn init_containers_and_test_pods_are_hardened_too() {
        let p = problems_after(|d| {
            d[0]["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]["readOnlyRootFilesystem"] =
                false.into();
            d[1]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = Value::Null;
        });
        assert_eq!(
            p,
            [
                "Deployment/api container migrate: readOnlyRootFilesystem must be true",
                "Pod/api-test container test: allowPrivilegeEscalation must be false",
            ]
        );
    }

    #[test]
    fn no_added_capabilities_and_no_privileged_containers() {
        let p = problems_after(|d| {
            let sc = &mut d[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"];
            sc["capabilities"]["add"] = serde_json::json!(["NET_ADMIN"]);
            sc["privileged"] = true.into();
        });
        assert_eq!(
            p,
            [
                "Deployment/api container api: capabilities.add must be empty",
                "Deployment/api container api: privileged must be false",
            ]
        );
    }

    #[test]
    fn the_container_setting_overrides_the_pods() {
        // The pod says non-root, UID 1000 and RuntimeDefault; the container takes each back.
        let p = problems_after(|d| {
            let sc = &mut d[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"];
            sc["runAsNonRoot"] = false.into();
            sc["runAsUser"] = 0.into();
            sc["seccompProfile"] = serde_json::json!({"type": "Unconfined"});
        });
        assert_eq!(
            p,
            [
                "Deployment/api container api: runAsNonRoot is not set",
                "Deployment/api container api: may run as root (no non-zero runAsUser)",
                "Deployment/api container api: seccompProfile.type must be RuntimeDefault",
            ]
        );
        // Set on the container alone, the settings count as well.
        let p = problems_after(|d| {
            let pod = &mut d[1]["spec"];
            pod["securityContext"] = serde_json::json!({});
            pod["containers"][0]["securityContext"]["runAsNonRoot"] = true.into();
            pod["containers"][0]["securityContext"]["runAsUser"] = 1000.into();
            pod["containers"][0]["securityContext"]["seccompProfile"] = serde_json::json!({"type": "RuntimeDefault"});
        });
        assert_eq!(p, Vec::<String>::new());
    }

    #[test]
    fn without_a_uid_or_seccomp_profile_the_pod_fails() {
        let p = problems_after(|d| d[1]["spec"]["securityContext"] = serde_json::json!({"runAsNonRoot": true}));
        assert_eq!(
            p,
            [
                "Pod/api-test container test: may run as root (no non-zero runAsUser)",
                "Pod/api-test container test: seccompProfile.type must be RuntimeDefault",
            ]
        );
    }

    #[test]
    fn a_resource_given_as_an_empty_value_is_missing() {
        let p = problems_after(|d| {
            d[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "".into()
        });
        assert_eq!(p, ["Deployment/api container api: no resources.limits.memory"]);
    }
}
