//! What steps of one run learn and hand to later steps — versions, image ids, tags, digests, the cluster's state —
//! as one typed struct instead of string keys, and the keys of what a step remembers in its cache entry.

use std::collections::BTreeMap;

use super::planned::{Placeholder, Planned};
use crate::kinds::{ClusterState, Tool};

/// The run's facts. Steps write them as they learn them and read them after the steps they run after.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The Docker engine's version (`preflight:docker`): part of every build's fingerprint and of the provenance.
    pub docker_version: Option<String>,
    /// What the daemon holds under each image tag (`preflight:docker`), by tag: a cached build is still there when
    /// its id is.
    pub daemon_ids: BTreeMap<String, String>,
    /// Each image's id (`build:<image>`), by image name.
    pub image_ids: BTreeMap<String, String>,
    /// The tag each image has in the cluster (`load:<image>`), by image name.
    pub cluster_tags: BTreeMap<String, String>,
    /// Where each pushed image is (`load:<image>` with a registry), by image name.
    pub pushed: BTreeMap<String, Pushed>,
    /// The versions `preflight:tools` found, for the provenance.
    pub tool_versions: BTreeMap<Tool, String>,
    /// Helm's major version: which flags Helm 3 and Helm 4 take.
    pub helm_major: Option<u64>,
    /// The cluster's state as teardown found it (`teardown:cluster-state`).
    pub cluster_state: Option<ClusterState>,
    /// The fingerprint of what `deploy:<release>` deployed, which its test is cached on.
    pub deploy_fingerprint: Option<String>,
    /// How to reach the app (`url:app`), printed after the run.
    pub app_url: Option<String>,
    /// The answer of `cargo xtask ai`, printed after the run.
    pub ai_answer: Option<String>,
}

impl Facts {
    /// The id of image `name` as its build found or made it; a placeholder in a plan before the build.
    pub fn image_id(&self, name: &str) -> Planned<String> {
        self.image_ids.get(name).cloned().map_or(Planned::Unknown(Placeholder::ImageId), Planned::Known)
    }
}

/// An image pushed to a registry: the repository the cluster pulls from and the digest the registry gave it.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub repository: String,
    /// `sha256:...`; a placeholder in a plan before the push.
    pub digest: Planned<String>,
}

/// What a step remembers with its cache entry, readable on runs where the cache skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memo {
    /// The id of the image a build made.
    ImageId,
    /// A gate's figures, shown again when it is cached.
    Summary,
}

impl Memo {
    /// The key in `state.json` (kept as it was, so existing caches stay valid).
    pub const fn key(self) -> &'static str {
        match self {
            Memo::ImageId => "image_id",
            Memo::Summary => "summary",
        }
    }
}
