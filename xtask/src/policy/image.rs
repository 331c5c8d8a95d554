//! The image policy: a non-root numeric USER, a HEALTHCHECK, the configured port EXPOSEd, and pinned base images.
//! One rule set for the built image (`gate:policy:<image>` reads `docker image inspect`'s config) and for the
//! Dockerfile alone (`verify --static` reads the config the file gives its final stage); hadolint, where installed,
//! is the external linter beside it.

use std::collections::BTreeMap;

use crate::config::{Image, PolicyGate};
use crate::dockerfile;

/// Checks an image's config (`docker image inspect`'s `.Config`) and Dockerfile against the policy.
pub fn problems(
    config: &serde_json::Value,
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
    img: &Image,
    policy: &PolicyGate,
) -> Vec<String> {
    let mut p = vec![];
    if policy.non_root {
        let user = config["User"].as_str().unwrap_or("");
        let uid = user.split(':').next().unwrap_or("");
        if uid.is_empty() || uid == "0" || uid == "root" {
            p.push(format!("runs as root (User {user:?}): add `USER 1000:1000` to {}", img.dockerfile.display()));
        } else if uid.parse::<u32>().is_err() {
            p.push(format!(
                "runs as user {user:?}: use a numeric UID (e.g. `USER 1000:1000`) so Kubernetes' runAsNonRoot can check it"
            ));
        }
    }
    if policy.healthcheck {
        let test = config["Healthcheck"]["Test"].as_array();
        let none = test.and_then(|t| t.first()).and_then(|v| v.as_str()) == Some("NONE");
        if test.is_none_or(|t| t.is_empty()) || none {
            p.push("has no HEALTHCHECK: add one (e.g. `HEALTHCHECK CMD [\"/app\", \"healthcheck\"]`)".into());
        }
    }
    if policy.exposed_port {
        if let Some(port) = img.port {
            let key = format!("{port}/tcp");
            if config["ExposedPorts"].get(&key).is_none() {
                p.push(format!("does not EXPOSE {port} (the port in xtask.yaml): add `EXPOSE {port}`"));
            }
        }
    }
    if policy.no_latest_base {
        for b in dockerfile::base_images(dockerfile, build_args) {
            if !dockerfile::pinned(&b.image) {
                p.push(format!(
                    "{}:{}: base image `{}` is not pinned: use a version tag or digest, not `latest`",
                    img.dockerfile.display(),
                    b.line,
                    b.image
                ));
            }
        }
    }
    p
}
