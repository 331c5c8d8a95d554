//! Images delivered through a registry: tag each gated image under the target's registry, `docker push` it, and
//! read back the manifest digest the registry stored, so the release references `repo@sha256:...` — exactly the
//! bytes that were gated run in the cluster, whatever happens to the tag later.

use anyhow::{bail, Context as _, Result};

use crate::docker;
use crate::pipeline::{Ran, StepCx};
use crate::target::RegistryRef;

/// The digest the registry gave `repo` when this daemon last pushed or pulled it: `docker image inspect`'s
/// `RepoDigests` holds `repo@sha256:...` entries (moby image inspect; one per repository). `None` when this image
/// was never pushed to `repo`.
pub fn known_digest(cx: &mut StepCx, reference: &str, repo: &str) -> Result<Option<String>> {
    let out = cx.probe(docker::repo_digests_cmd(&cx.sh, reference))?;
    if !out.success() {
        return Ok(None);
    }
    let digests: Vec<String> = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    Ok(digests.iter().find_map(|d| d.strip_prefix(&format!("{repo}@")).map(String::from)))
}

/// Tags `src` as `reference` (`<registry>/<image>:<tag>`) and pushes it; returns the manifest digest.
/// `docker push` ends with `<tag>: digest: sha256:... size: N` (moby distribution/push_v2.go, `progress.Messagef`
/// after the manifest put), and the daemon then records `repo@digest` in the image's RepoDigests
/// (`addDigestReference`, same file); the latter is read first, the printed line is the fallback.
pub fn push(cx: &mut StepCx, reg: &RegistryRef, src: &str, reference: &str, repo: &str) -> Result<Ran<String>> {
    cx.run(docker::tag_cmd(&cx.sh, src, reference))?;
    let Ran::Done(out) = cx.ask(docker::push_cmd(&cx.sh, reference))? else { return Ok(Ran::Planned) };
    if !out.success() {
        let tail = out.tail(3);
        let hint = if tail.contains("unauthorized") || tail.contains("authentication required") {
            format!("log in first: `docker login {}`", reg.host)
        } else if tail.contains("server gave HTTP response to HTTPS client") {
            format!(
                "{} speaks plain HTTP: Docker allows that only for 127.0.0.0/8 and registries listed under \
                 `insecure-registries` in the daemon's daemon.json",
                reg.host
            )
        } else {
            format!("is the registry {} reachable? (`curl http://{}/v2/` for a plain-HTTP one)", reg.host, reg.host)
        };
        bail!("`docker push {reference}` failed ({}): {tail}\n{hint}", out.ending());
    }
    let printed = out
        .stdout
        .lines()
        .find_map(|l| l.split("digest: ").nth(1))
        .map(|r| r.split_whitespace().next().unwrap_or_default().to_string());
    let known = known_digest(cx, reference, repo)?;
    match (printed, known) {
        (_, Some(d)) => Ok(Ran::Done(d)),
        (Some(d), None) if d.starts_with("sha256:") => Ok(Ran::Done(d)),
        _ => Err(anyhow::anyhow!("the push printed no digest and `docker image inspect` lists none"))
            .with_context(|| format!("reading the digest of {reference}")),
    }
}
