//! The Docker engine's state as every fake that talks to the daemon sees it: images, tags and containers in
//! `state/docker.json`, whether the daemon answers, and image lookup by reference. The docker CLI (docker.rs) and
//! the tools that drive the same daemon (minikube's docker driver, kind, k3d, trivy, the registry push) read it here,
//! so none of them imports another tool's command module.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{ctx::Ctx, state, util};

#[derive(Serialize, Deserialize, Default)]
pub struct DockerState {
    #[serde(default)]
    pub images: BTreeMap<String, Image>,
    /// Normalised `repo:tag` -> image id.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub daemon_down: bool,
    #[serde(default)]
    pub containers: Vec<Container>,
}

#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct Image {
    pub id: String,
    pub created_ms: u64,
    pub size: u64,
    pub config: Value,
    pub layers: Vec<String>,
    /// Oldest first (the CLI prints newest first).
    pub history: Vec<Hist>,
    /// Files COPY/ADD put in the image from the build context, for scanners that read the image (fake trivy).
    #[serde(default)]
    pub files: Vec<ImageFile>,
}

/// One file in an image's filesystem: what a scanner needs to know about it.
#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct ImageFile {
    /// Path inside the image, without the leading `/` (Trivy's result `Target` for a binary).
    pub path: String,
    pub executable: bool,
    /// An ELF file with cargo-auditable's `.dep-v0` section (the only Rust binaries Trivy can read).
    pub dep_v0: bool,
}

#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct Hist {
    /// `sha256:...`, or `<missing>` for layers of pulled base images.
    pub id: String,
    pub created_ms: u64,
    pub created_by: String,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub image: String,
}

/// The PATH every built image's Env starts with: moby v20.10.24 builder/dockerfile/evaluator.go:242 adds
/// `system.DefaultPathEnv` (vendor/github.com/moby/buildkit/util/system/path.go:6) when the config has none;
/// observed in the Env of a FROM scratch build here on 20.10.24.
const DEFAULT_PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The client's error when the daemon socket does not answer: docker/cli v27.3.1
/// vendor/github.com/docker/docker/client/errors.go:37 (captured:
/// tests/fixtures/docker/version-json-daemon-down.stderr.txt).
pub fn cannot_connect(ctx: &Ctx) -> String {
    let host = ctx.env("DOCKER_HOST").unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    format!("Cannot connect to the Docker daemon at {host}. Is the docker daemon running?\n")
}

pub fn load(ctx: &Ctx) -> Result<DockerState> {
    state::load(ctx, "docker")
}

pub fn daemon_down(ctx: &Ctx, st: &DockerState) -> bool {
    ctx.env_is("FAKE_DOCKER_DAEMON", "down") || st.daemon_down
}

/// For the tools that drive this daemon (minikube's docker driver): whether it answers, and docker's own words
/// when it does not.
pub fn daemon_error(ctx: &Ctx) -> Result<Option<String>> {
    Ok(daemon_down(ctx, &load(ctx)?).then(|| cannot_connect(ctx)))
}

pub fn set_daemon(ctx: &Ctx, down: bool) -> Result<()> {
    state::update(ctx, "docker", |s: &mut DockerState| s.daemon_down = down)
}

/// `alpine` -> `alpine:latest`; `docker.io/library/x:1` -> `x:1`: the familiar form of a normalised reference
/// (docker/cli v27.3.1 vendor/github.com/distribution/reference/helpers.go:27 `FamiliarString` of
/// `ParseNormalizedNamed` + `TagNameOnly`).
pub fn normalize(reference: &str) -> String {
    let r = reference.strip_prefix("docker.io/").unwrap_or(reference);
    let r = r.strip_prefix("library/").unwrap_or(r);
    let last = r.rsplit('/').next().unwrap_or(r);
    if last.contains(':') || r.contains('@') {
        r.to_string()
    } else {
        format!("{r}:latest")
    }
}

pub fn preseeded(ctx: &Ctx) -> Vec<String> {
    ctx.env("FAKE_DOCKER_IMAGES")
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(normalize).collect())
        .unwrap_or_default()
}

/// A small pulled-looking base image (alpine-sized) for FAKE_DOCKER_IMAGES / FAKE_DOCKER_PULL=ok.
pub fn synth_base(name: &str) -> Image {
    let id = format!("sha256:{}", util::hex256(name.as_bytes()));
    let created = 1_717_200_000_000;
    let size = 7_800_000;
    let mut config = default_config();
    config["Cmd"] = json!(["/bin/sh"]);
    Image {
        id,
        created_ms: created,
        size,
        config,
        layers: vec![format!("sha256:{}", util::hex256(format!("layer {name}").as_bytes()))],
        history: vec![
            Hist {
                id: "<missing>".into(),
                created_ms: created,
                created_by: format!(
                    "/bin/sh -c #(nop) ADD file:{} in / ",
                    util::hex256(format!("rootfs {name}").as_bytes())
                ),
                size,
            },
            Hist {
                id: "<missing>".into(),
                created_ms: created,
                created_by: "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]".into(),
                size: 0,
            },
        ],
        files: vec![],
    }
}

/// Whether `docker run -d` started a container of that name (or id prefix).
pub fn container_exists(ctx: &Ctx, name: &str) -> Result<bool> {
    Ok(load(ctx)?.containers.iter().any(|c| c.name == name || c.id.starts_with(name)))
}

/// The id of a local image, for the fakes that copy images out of the daemon (kind, k3d, push).
pub fn image_id(ctx: &Ctx, reference: &str) -> Result<Option<String>> {
    let st = load(ctx)?;
    Ok(lookup(ctx, &st, reference).map(|i| i.id))
}

/// By tag, by (prefix of) id, or a FAKE_DOCKER_IMAGES entry.
pub fn lookup(ctx: &Ctx, st: &DockerState, reference: &str) -> Option<Image> {
    let norm = normalize(reference);
    if let Some(img) = st.tags.get(&norm).and_then(|id| st.images.get(id)) {
        return Some(img.clone());
    }
    let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
    if hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        if let Some(img) = st.images.values().find(|i| i.id.trim_start_matches("sha256:").starts_with(hex)) {
            return Some(img.clone());
        }
    }
    preseeded(ctx).contains(&norm).then(|| synth_base(&norm))
}

pub fn tags_of(st: &DockerState, id: &str) -> Vec<String> {
    st.tags.iter().filter(|(_, v)| v.as_str() == id).map(|(k, _)| k.clone()).collect()
}

/// What a daemon without registry access answers to any pull (brief; the resolver error text of Go's net package).
pub const NO_REGISTRY: &str =
    "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host";

/// The short id the CLI and the builder print: 12 hex digits without `sha256:` (docker/cli v27.3.1
/// vendor/github.com/docker/docker/pkg/stringid/stringid.go:38 `TruncateID`).
pub fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

pub fn default_config() -> Value {
    json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": [DEFAULT_PATH_ENV], "Cmd": null, "Image": "", "Volumes": null, "WorkingDir": "",
        "Entrypoint": null, "OnBuild": null, "Labels": null
    })
}
