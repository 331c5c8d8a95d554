//! The policies the xtask enforces, each written once as pure functions over parsed data: the image policy (a built
//! image's config and its Dockerfile) and the workload policy (rendered Kubernetes manifests). The commands call
//! them; nothing here runs a tool.

pub mod image;
pub mod workload;
