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

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Image {
        serde_json::from_value(serde_json::json!({
            "name": "api", "context": "api", "dockerfile": "api/Dockerfile", "tag": "api:1.0.0", "port": 8080
        }))
        .unwrap()
    }

    /// The policy over what a Dockerfile alone tells (as `verify --static` reads it).
    fn of_dockerfile(text: &str, policy: &PolicyGate) -> Vec<String> {
        problems(&dockerfile::final_stage_config(text), text, &BTreeMap::new(), &image(), policy)
    }

    #[test]
    fn a_pinned_non_root_healthchecked_exposing_dockerfile_passes() {
        let df = "FROM rust:1.80 AS build\nFROM scratch\nCOPY --from=build /a /a\nUSER 1000:1000\nEXPOSE 8080\n\
                  HEALTHCHECK CMD [\"/a\", \"healthcheck\"]\n";
        assert_eq!(of_dockerfile(df, &PolicyGate::default()), Vec::<String>::new());
    }

    #[test]
    fn each_breach_says_what_to_change() {
        let p = of_dockerfile("FROM alpine\nUSER app\n", &PolicyGate::default());
        assert_eq!(
            p,
            [
                "runs as user \"app\": use a numeric UID (e.g. `USER 1000:1000`) so Kubernetes' runAsNonRoot can check it",
                "has no HEALTHCHECK: add one (e.g. `HEALTHCHECK CMD [\"/app\", \"healthcheck\"]`)",
                "does not EXPOSE 8080 (the port in xtask.yaml): add `EXPOSE 8080`",
                "api/Dockerfile:1: base image `alpine` is not pinned: use a version tag or digest, not `latest`",
            ]
        );
        let p = of_dockerfile("FROM alpine:3.20\nUSER 0\nHEALTHCHECK NONE\nEXPOSE 8080\n", &PolicyGate::default());
        assert_eq!(
            p,
            [
                "runs as root (User \"0\"): add `USER 1000:1000` to api/Dockerfile",
                "has no HEALTHCHECK: add one (e.g. `HEALTHCHECK CMD [\"/app\", \"healthcheck\"]`)",
            ]
        );
    }

    #[test]
    fn the_built_images_config_is_judged_the_same_way() {
        // `docker image inspect`'s .Config of an image built FROM a base that set the user and health check.
        let config = serde_json::json!({
            "User": "1000", "Healthcheck": {"Test": ["CMD", "/a"]}, "ExposedPorts": {"8080/tcp": {}}
        });
        let p = problems(&config, "FROM base:1\n", &BTreeMap::new(), &image(), &PolicyGate::default());
        assert_eq!(p, Vec::<String>::new());
    }

    #[test]
    fn a_rule_turned_off_is_not_checked() {
        let off = PolicyGate {
            non_root: false,
            healthcheck: false,
            exposed_port: false,
            no_latest_base: false,
            ..Default::default()
        };
        assert_eq!(of_dockerfile("FROM alpine\n", &off), Vec::<String>::new());
    }
}
