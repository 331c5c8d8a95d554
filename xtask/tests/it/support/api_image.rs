//! The one-image project many tests start from (before, each test file spelled it out again): an image `api`
//! built FROM scratch out of `images/api`, whose Dockerfile passes every image-policy check, a minikube profile
//! and a release, both named `demo`.

use super::Sandbox;

/// A FROM-scratch Dockerfile for the binary `/{bin}` that passes the image policy: a numeric non-root USER,
/// EXPOSE of the configured port, a HEALTHCHECK and an exec-form ENTRYPOINT.
pub fn dockerfile(bin: &str) -> String {
    format!(
        "FROM scratch\nCOPY {bin} /{bin}\nUSER 1000:1000\nEXPOSE 8080\n\
         HEALTHCHECK --interval=30s --timeout=10s --retries=3 CMD [\"/{bin}\", \"healthcheck\"]\nENTRYPOINT [\"/{bin}\"]\n"
    )
}

/// The xtask.yaml: `image_keys` are more lines of the image (indented four spaces), `top_keys` more top-level
/// keys (each line ending in a newline), placed before `cluster:`.
pub fn config(image_keys: &str, top_keys: &str) -> String {
    format!(
        "project: demo\nimages:\n  - name: api\n    context: images/api\n    dockerfile: images/api/Dockerfile\n    \
         tag: api:1.0.0\n    port: 8080\n{image_keys}{top_keys}cluster: {{ profile: demo }}\n\
         release: {{ chart: chart, name: demo, namespace: demo }}\n"
    )
}

/// A sandbox with `config`, the Dockerfile and a stand-in binary holding `binary`.
pub fn project(config: &str, binary: &str) -> Sandbox {
    Sandbox::new()
        .with_file("xtask.yaml", config)
        .with_file("images/api/Dockerfile", dockerfile("api"))
        .with_file("images/api/api", binary)
}
