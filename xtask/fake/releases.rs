//! Helm's release records as the fakes share them (`state/helm.json`): per `namespace/release`, the revisions
//! oldest first. Helm keeps them as Secrets in the release's namespace (its default storage driver), so the fake
//! kubectl (deleting a namespace) and minikube (a new cluster) change them too; they read the records here, not
//! through the helm command module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize, Default)]
pub struct HelmState {
    /// `namespace/release` -> revisions, oldest first.
    #[serde(default)]
    pub releases: BTreeMap<String, Vec<Rev>>,
}

#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct Rev {
    pub revision: u32,
    pub first_ms: u64,
    pub updated_ms: u64,
    pub status: String,
    pub chart: String,
    pub chart_version: String,
    pub app_version: String,
    pub description: String,
    #[serde(default)]
    pub chart_path: String,
    #[serde(default)]
    pub values: Value,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub tests: Vec<String>,
    /// Test pods whose template says `helm.sh/hook-delete-policy: ...hook-succeeded`.
    #[serde(default)]
    pub deleted_on_success: Vec<String>,
}
