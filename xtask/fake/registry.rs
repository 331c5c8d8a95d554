//! `docker push` against a registry the fake keeps in `state/registry.json`, and the `RepoDigests` a push leaves
//! on the local image. The real engine and a real registry are tested in tests/it/registry.rs; this fake lets the
//! pipeline's pushes run in the fake-only tests.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::reply::Reply;
use crate::util::Flags;
use crate::{ctx::Ctx, state, util};

#[derive(Serialize, Deserialize, Default)]
struct Registry {
    /// `repo:tag` -> manifest digest.
    #[serde(default)]
    manifests: BTreeMap<String, String>,
    /// Local image id -> `repo@digest` entries (the daemon's RepoDigests).
    #[serde(default)]
    repo_digests: BTreeMap<String, Vec<String>>,
}

/// The `RepoDigests` of a local image: one `repo@sha256:...` per repository it was pushed to (moby
/// distribution/push_v2.go `addDigestReference` after a successful push).
pub fn repo_digests(ctx: &Ctx, image_id: &str) -> Result<Vec<String>> {
    let r: Registry = state::load(ctx, "registry")?;
    Ok(r.repo_digests.get(image_id).cloned().unwrap_or_default())
}

/// `docker push REF`. A first path component with a `.` or `:` (or `localhost`) names the registry host
/// (distribution/reference normalize.go `splitDockerDomain`); anything else goes to Docker Hub, which the fake,
/// like this machine, cannot reach.
pub fn push(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    let [reference] = f.pos.as_slice() else {
        return Ok(Reply::fail(1, "\"docker push\" requires exactly 1 argument.\nSee 'docker push --help'.\n"));
    };
    let (repo, tag) = match reference.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (reference.clone(), "latest".to_string()),
    };
    let host = repo.split('/').next().unwrap_or_default();
    if !(host.contains(['.', ':']) || host == "localhost") || !repo.contains('/') {
        return Ok(Reply::ok(format!("The push refers to repository [docker.io/{repo}]\n"))
            .with_err("Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n")
            .with_code(1));
    }
    if ctx.env_is("FAKE_REGISTRY", "unauthorized") {
        // distribution's error for a push without credentials, as the engine relays it.
        return Ok(Reply::ok(format!("The push refers to repository [{repo}]\n"))
            .with_err("unauthorized: authentication required\n")
            .with_code(1));
    }
    let Some(id) = crate::daemon::image_id(ctx, reference)? else {
        // moby daemon/images/image_push.go: the tag must name a local image.
        return Ok(Reply::fail(1, format!("An image does not exist locally with the tag: {repo}\n")));
    };
    // A manifest digest that depends on the image only, as a registry's content addressing does.
    let digest = format!("sha256:{}", util::hex256(id.as_bytes()));
    let layer = &util::hex256(format!("layer{id}").as_bytes())[..12];
    let existed = state::update(ctx, "registry", |r: &mut Registry| {
        let existed = r.manifests.insert(format!("{repo}:{tag}"), digest.clone()).as_deref() == Some(&digest);
        let entry = format!("{repo}@{digest}");
        let list = r.repo_digests.entry(id.clone()).or_default();
        list.retain(|e| !e.starts_with(&format!("{repo}@")));
        list.push(entry);
        existed
    })?;
    let layer_state = if existed { "Layer already exists" } else { "Pushed" };
    // As docker 20.10 prints it, observed against a local registry:2 (distribution 2.8): the repository line,
    // per-layer lines, then push_v2.go's `%s: digest: %s size: %d` trailer.
    Ok(Reply::ok(format!(
        "The push refers to repository [{repo}]\n{layer}: Preparing\n{layer}: {layer_state}\n{tag}: digest: {digest} size: 524\n"
    )))
}
