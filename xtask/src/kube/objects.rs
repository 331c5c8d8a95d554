//! The JSON kubectl prints, as far as the xtask reads it: small `#[derive(Deserialize)]` structs instead of
//! indexing `serde_json::Value` by strings. Every field is optional or defaulted, as kubectl omits empty ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::pod_problems;

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
}
