//! Docker: building images, reading their config and layers, measuring their size, and reading Dockerfiles.
//! Works with the legacy builder and BuildKit alike (only flags both accept).

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;
use xshell::cmd;

use std::collections::BTreeMap;

use crate::pipeline::exec::{self, Exec, Output};
use crate::pipeline::{Ran, StepCx};

// Go templates for --format; cmd! reads braces as interpolation, so they are passed as values.
const JSON: &str = "{{json .}}";
const ID: &str = "{{.Id}}";
const HISTORY: &str = "{{.Size}}\t{{.CreatedBy}}";

/// `docker version` (the client and server versions, or why the daemon cannot be used) and, in parallel, the ids
/// of `tags` in the daemon (absent ones left out): one round trip for a run that may build nothing.
pub fn versions_and_ids(cx: &mut StepCx, tags: &[String]) -> Result<Ran<(String, BTreeMap<String, String>)>> {
    let fmt = "{{.Id}} {{json .RepoTags}}";
    let asked = cx.ask_all(vec![
        cmd!(cx.sh, "docker version --format {JSON}").into(),
        Exec::from(cmd!(cx.sh, "docker image inspect --format {fmt} {tags...}")).quiet_stdout(),
    ])?;
    let Ran::Done(outs) = asked else { return Ok(Ran::Planned) };
    let version = parse_versions(&outs[0])?;
    let mut ids = BTreeMap::new();
    for line in outs[1].stdout.lines() {
        let Some((id, tags_json)) = line.split_once(' ') else { continue };
        for t in serde_json::from_str::<Vec<String>>(tags_json).unwrap_or_default() {
            ids.insert(t, id.to_string());
        }
    }
    Ok(Ran::Done((version, ids)))
}

/// `docker version --format '{{json .}}'`: the client's and the server's versions; `Server` is null when the daemon
/// does not answer (docker/cli `cli/command/system/version.go` versionInfo: `Client`, `Server`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionAnswer {
    #[serde(default)]
    pub client: Option<VersionPart>,
    #[serde(default)]
    pub server: Option<VersionPart>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionPart {
    #[serde(default)]
    pub version: Option<String>,
}

fn parse_versions(out: &Output) -> Result<String> {
    let v: Option<VersionAnswer> = out.stdout.lines().find_map(|l| serde_json::from_str(l.trim()).ok());
    let v = v.unwrap_or_default();
    let client = v.client.and_then(|c| c.version).unwrap_or_else(|| "?".into());
    match v.server {
        Some(s) => Ok(format!("client {client}, server {}", s.version.as_deref().unwrap_or("?"))),
        _ => bail!(
            "the Docker daemon does not answer ({}). Start Docker (Docker Desktop, or `sudo systemctl start docker`) \
             and check that this user may use it (`docker info`)",
            out.tail(1).trim()
        ),
    }
}

/// `docker build -f DOCKERFILE -t TAG ARGS... CONTEXT`.
pub fn build_cmd(sh: &xshell::Shell, dockerfile: &Path, tag: &str, args: &[String], context: &Path) -> Exec {
    cmd!(sh, "docker build -f {dockerfile} -t {tag} {args...} {context}").into()
}

/// `docker push REFERENCE`.
pub fn push_cmd(sh: &xshell::Shell, reference: &str) -> Exec {
    cmd!(sh, "docker push {reference}").into()
}

/// `docker image inspect --format '{{json .RepoDigests}}' REFERENCE`: the `repo@sha256:...` digests the daemon
/// recorded for the image (moby image inspect; one per repository).
pub fn repo_digests_cmd(sh: &xshell::Shell, reference: &str) -> Exec {
    let format = "{{json .RepoDigests}}";
    cmd!(sh, "docker image inspect --format {format} {reference}").into()
}

/// `docker ps --format '{{.Names}}'`: the running containers' names, one a line.
pub fn running_names_cmd(sh: &xshell::Shell) -> Exec {
    let format = "{{.Names}}";
    cmd!(sh, "docker ps --format {format}").into()
}

/// `docker run -d --restart=always -p PUBLISH --network bridge --name NAME IMAGE`: a long-running service
/// container.
pub fn run_service_cmd(sh: &xshell::Shell, name: &str, publish: &str, image: &str) -> Exec {
    cmd!(sh, "docker run -d --restart=always -p {publish} --network bridge --name {name} {image}").into()
}

/// `docker exec CONTAINER mkdir -p DIR`.
pub fn mkdir_in_cmd(sh: &xshell::Shell, container: &str, dir: &str) -> Exec {
    cmd!(sh, "docker exec {container} mkdir -p {dir}").into()
}

/// `docker cp SOURCE CONTAINER:PATH`.
pub fn copy_into_cmd(sh: &xshell::Shell, source: &Path, target: &str) -> Exec {
    cmd!(sh, "docker cp {source} {target}").into()
}

/// `docker network connect NETWORK CONTAINER`.
pub fn network_connect_cmd(sh: &xshell::Shell, network: &str, container: &str) -> Exec {
    cmd!(sh, "docker network connect {network} {container}").into()
}

/// `docker tag SOURCE TARGET`.
pub fn tag_cmd(sh: &xshell::Shell, source: &str, target: &str) -> Exec {
    cmd!(sh, "docker tag {source} {target}").into()
}

/// What `docker system info --format '{{json .}}'` says about where the daemon runs (docker/cli `docker info` is
/// `docker system info`; fields of docker/docker `api/types/system/info.go`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemInfo {
    #[serde(default)]
    pub operating_system: Option<String>,
    #[serde(default)]
    pub security_options: Option<Vec<String>>,
}

/// `docker info --format '{{json .}}'`; an answer that is not JSON (a daemon that does not answer) reads as no
/// information. A plan does not ask.
pub fn system_info(cx: &mut StepCx) -> Result<Ran<SystemInfo>> {
    let e = cmd!(cx.sh, "docker info --format {JSON}").into();
    let Ran::Done(out) = cx.unless_planning(|cx| cx.probe(e))? else { return Ok(Ran::Planned) };
    Ok(Ran::Done(serde_json::from_str(out.stdout.trim()).unwrap_or_default()))
}

/// The image's id, or None when the daemon does not have it.
pub fn image_id(cx: &mut StepCx, tag: &str) -> Result<Option<String>> {
    let out = cx.probe(cmd!(cx.sh, "docker image inspect --format {ID} {tag}").into())?;
    Ok(out.success().then(|| out.stdout.trim().to_string()).filter(|s| !s.is_empty()))
}

/// Why a build that succeeded left no image in the daemon. Usually the selected buildx builder: with a driver
/// other than `docker` (docker-container, kubernetes, remote) and no `--load`, the result stays in the builder's
/// cache (docker/buildx `build/opt.go`: no exports unless the driver is `docker` or has DefaultLoad; the warning
/// of `build/build.go:292-299`).
pub fn why_not_loaded(cx: &mut StepCx, build_stderr: &str) -> Result<String> {
    let out = cx.probe(cmd!(cx.sh, "docker buildx inspect").into())?;
    let field = |key: &str| {
        out.stdout.lines().find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string())).filter(|v| !v.is_empty())
    };
    let (name, driver) = (field("Name:"), field("Driver:"));
    let warned = build_stderr.contains("No output specified");
    Ok(match (name, driver) {
        (Some(name), Some(driver)) if driver != "docker" || warned => format!(
            "the selected buildx builder `{name}` uses the `{driver}` driver, which keeps build results in its own \
             cache unless told to load them into the daemon. Use the default builder (`docker buildx use default`), \
             or recreate `{name}` with `--driver-opt default-load=true`"
        ),
        _ if warned => "the builder kept the result in its cache (\"No output specified\"). Use the default builder \
                        (`docker buildx use default`) or one created with `--driver-opt default-load=true`"
            .to_string(),
        _ => "the build succeeded but the daemon does not list the tag; check `docker images` and the build log".into(),
    })
}

/// `docker image inspect` as JSON (the first element of the array it prints).
pub fn inspect(cx: &mut StepCx, tag: &str) -> Result<Ran<Value>> {
    let Ran::Done(out) = cx.query(cmd!(cx.sh, "docker image inspect {tag}").into())? else { return Ok(Ran::Planned) };
    let v: Value = serde_json::from_str(&out.stdout).context("docker image inspect printed no JSON")?;
    v.get(0).cloned().map(Ran::Done).ok_or_else(|| anyhow!("docker image inspect printed an empty list for {tag}"))
}

/// One layer as `docker history` lists it, newest first.
pub struct Layer {
    pub size: u64,
    pub created_by: String,
}

pub fn history(cx: &mut StepCx, tag: &str) -> Result<Vec<Layer>> {
    let out = cx.run(cmd!(cx.sh, "docker history --no-trunc --human=false --format {HISTORY} {tag}").into())?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| {
            let (size, by) = l.split_once('\t')?;
            Some(Layer { size: size.trim().parse().ok()?, created_by: tidy_created_by(by) })
        })
        .collect())
}

/// `/bin/sh -c #(nop) COPY file:abc in /x` → `COPY file:abc in /x` (the legacy builder's record; BuildKit records
/// the instruction as written). [`instruction_for`] maps the legacy form back to the Dockerfile.
fn tidy_created_by(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(s);
    let s = s.strip_prefix("/bin/sh -c ").map(|r| format!("RUN {r}")).unwrap_or_else(|| s.to_string());
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sizes read from one `docker save` stream, without writing the tarball anywhere.
pub struct Sizes {
    /// The files in the image's layers, uncompressed ([`crate::image_size`]).
    pub uncompressed: u64,
    /// The gzip-compressed stream: what a registry push or `minikube image load` roughly moves.
    pub compressed: u64,
    pub layers: usize,
}

/// The image store the daemon measures with (`docker info`), for the size gate to name.
pub fn image_store(cx: &mut StepCx) -> Result<String> {
    const INFO: &str = "{{.Driver}}\t{{json .DriverStatus}}";
    let out = cx.probe(cmd!(cx.sh, "docker info --format {INFO}").into())?;
    let (driver, status) = out.stdout.trim().split_once('\t').unwrap_or((out.stdout.trim(), ""));
    Ok(crate::image_size::store_name(driver, status))
}

/// `docker save TAG | gzip | wc -c`, streamed in-process: a command the step runs itself, so a plan shows it
/// whole.
pub fn save_sizes(cx: &mut StepCx, tag: &str) -> Result<Ran<Sizes>> {
    cx.command_of_its_own(format!("docker save {tag} | gzip | wc -c"), |cx| stream_sizes(cx, tag))
}

fn stream_sizes(cx: &mut StepCx, tag: &str) -> Result<Sizes> {
    let e = Exec::from(cmd!(cx.sh, "docker save {tag}"));
    let mut save = exec::spawn_streaming(e).context("running docker save")?;
    let pid = save.child.id();
    // A stuck daemon must not hold the step past its timeout, nor Ctrl-C: a watchdog ends `docker save`'s whole
    // process group (a wrapper's child that holds the pipe open goes too, so the read below returns).
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let deadline = std::time::Instant::now() + cx.time_left();
    let watchdog = std::thread::spawn(move || loop {
        match finished.recv_timeout(std::time::Duration::from_millis(100)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if std::time::Instant::now() >= deadline || exec::interrupted() {
                    exec::Streaming::kill_tree(pid);
                    return true;
                }
            }
            _ => return false,
        }
    });
    let mut enc = flate2::write::GzEncoder::new(Counter(0), flate2::Compression::default());
    let mut layers = crate::image_size::SaveReader::default();
    let mut buf = vec![0u8; 1 << 16];
    let result: Result<()> = (|| loop {
        let n = save.stdout.read(&mut buf).with_context(|| format!("docker save {tag} failed"))?;
        if n == 0 {
            return Ok(());
        }
        enc.write_all(&buf[..n])?;
        layers.write_all(&buf[..n])?;
    })();
    drop(done);
    let killed = watchdog.join().unwrap_or(false);
    let (status, stderr) = save.finish()?;
    if killed {
        if exec::interrupted() {
            return Err(crate::error::Error::Interrupted.into());
        }
        bail!("`docker save {tag}` did not finish before the step's timeout; it was stopped (is the Docker daemon stuck?)");
    }
    result?;
    if !status.success() {
        bail!("`docker save {tag}` failed ({status}): {}", exec::tail_lines(&stderr, 3));
    }
    Ok(Sizes { uncompressed: layers.uncompressed, compressed: enc.finish()?.0, layers: layers.layers })
}

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `FROM` line of a Dockerfile.
#[derive(Debug, PartialEq, Eq)]
pub struct From {
    pub line: usize,
    pub image: String,
}

/// The base images a Dockerfile pulls: `FROM` references with build args expanded, leaving out `scratch` and
/// earlier stages used as bases.
pub fn base_images(dockerfile: &str, build_args: &std::collections::BTreeMap<String, String>) -> Vec<From> {
    let mut args: std::collections::BTreeMap<String, String> = Default::default();
    let mut stages: Vec<String> = vec![];
    let mut out = vec![];
    let mut seen_from = false;
    for (i, raw) in logical_lines(dockerfile) {
        let mut words = raw.split_whitespace();
        let Some(instr) = words.next() else { continue };
        match instr.to_ascii_uppercase().as_str() {
            // Only ARGs before the first FROM can be used in FROM lines.
            "ARG" if !seen_from => {
                for w in words {
                    let (k, v) = w.split_once('=').unwrap_or((w, ""));
                    let v = build_args.get(k).cloned().unwrap_or_else(|| v.trim_matches('"').to_string());
                    args.insert(k.to_string(), v);
                }
            }
            "FROM" => {
                seen_from = true;
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let Some(image) = rest.first() else { continue };
                let image = expand(image, &args);
                // A stage declared earlier is not pulled; `scratch` is no image at all.
                let local = image.eq_ignore_ascii_case("scratch") || stages.contains(&image.to_ascii_lowercase());
                if let (Some(a), Some(name)) = (rest.get(1), rest.get(2)) {
                    if a.eq_ignore_ascii_case("as") {
                        stages.push(name.to_ascii_lowercase());
                    }
                }
                if local {
                    continue;
                }
                out.push(From { line: i, image });
            }
            _ => {}
        }
    }
    out
}

/// The Dockerfile line that made a layer the legacy builder recorded as `COPY file:<sha> in /dest` (or `ADD`, or
/// `dir:`): the COPY/ADD of the same destination, with its line number. Other records are returned as they are.
pub fn instruction_for(created_by: &str, dockerfile: &str) -> String {
    let words: Vec<&str> = created_by.split_whitespace().collect();
    let (Some(instr), Some(src), Some(dest)) = (words.first(), words.get(1), words.last()) else {
        return created_by.to_string();
    };
    let legacy = matches!(*instr, "COPY" | "ADD") && (src.starts_with("file:") || src.starts_with("dir:"));
    if !legacy || words.get(words.len().saturating_sub(2)) != Some(&"in") {
        return created_by.to_string();
    }
    for (line, text) in logical_lines(dockerfile) {
        let w: Vec<&str> = text.split_whitespace().filter(|w| !w.starts_with("--")).collect();
        let same_instr = w.first().is_some_and(|i| i.eq_ignore_ascii_case(instr));
        let to = w.last().map(|d| d.trim_end_matches('/')).unwrap_or("");
        if same_instr && w.len() >= 3 && (to == dest.trim_end_matches('/') || dest.ends_with(&format!("/{to}"))) {
            return format!("{text} (Dockerfile line {line})");
        }
    }
    created_by.to_string()
}

/// Whether a reference pins its version: a tag other than `latest`, or a digest.
pub fn pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, tag)) => tag != "latest" && !tag.is_empty(),
        None => false,
    }
}

fn expand(s: &str, args: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in args {
        out = out.replace(&format!("${{{k}}}"), v).replace(&format!("${k}"), v);
    }
    out
}

/// The image config a Dockerfile gives its final stage, as far as the file tells (`User`, `Healthcheck.Test`,
/// `ExposedPorts`, in `docker image inspect`'s shape): a stage built FROM an earlier stage inherits its settings,
/// one FROM an outside image starts empty (that image's own settings are not known without pulling it).
pub fn final_stage_config(dockerfile: &str) -> Value {
    let mut stages: Vec<(Option<String>, Value)> = vec![];
    let mut cur = serde_json::json!({});
    for (_, text) in logical_lines(dockerfile) {
        let mut words = text.split_whitespace();
        match words.next().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("FROM") => {
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let base = rest.first().map(|b| b.to_ascii_lowercase()).unwrap_or_default();
                let alias = match (rest.get(1), rest.get(2)) {
                    (Some(a), Some(n)) if a.eq_ignore_ascii_case("as") => Some(n.to_ascii_lowercase()),
                    _ => None,
                };
                let inherited =
                    stages.iter().rev().find(|(n, _)| n.as_deref() == Some(base.as_str())).map(|(_, c)| c.clone());
                cur = inherited.unwrap_or_else(|| serde_json::json!({}));
                stages.push((alias, Value::Null));
            }
            Some("USER") => cur["User"] = Value::String(words.next().unwrap_or("").to_string()),
            Some("HEALTHCHECK") => {
                let none = words.next().is_some_and(|w| w.eq_ignore_ascii_case("NONE"));
                cur["Healthcheck"]["Test"] = serde_json::json!([if none { "NONE" } else { "CMD" }]);
            }
            Some("EXPOSE") => {
                for p in words {
                    let p = if p.contains('/') { p.to_string() } else { format!("{p}/tcp") };
                    cur["ExposedPorts"][p] = serde_json::json!({});
                }
            }
            _ => {}
        }
        if let Some(last) = stages.last_mut() {
            last.1 = cur.clone();
        }
    }
    cur
}

/// Dockerfile lines joined across `\` continuations, comments dropped, with 1-based line numbers.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if cur.is_empty() && (t.starts_with('#') || t.is_empty()) {
            continue;
        }
        if cur.is_empty() {
            start = i + 1;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                out.push((start, std::mem::take(&mut cur)));
            }
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// Reads a Dockerfile relative to the repo root, with a message that says which image needs it.
pub fn read_dockerfile(root: &Path, rel: &Path, image: &str) -> Result<String> {
    std::fs::read_to_string(root.join(rel))
        .with_context(|| format!("reading {} (the Dockerfile of image `{image}` in xtask.yaml)", rel.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bases_and_pins() {
        let df = "ARG RUST=1.80\nFROM rust:${RUST} AS build\nRUN x \\\n  y\nFROM build AS test\nFROM scratch\nCOPY --from=build /a /a\n";
        let b = base_images(df, &Default::default());
        assert_eq!(b, vec![From { line: 2, image: "rust:1.80".into() }]);
        assert!(pinned("rust:1.80"));
        assert!(!pinned("node"));
        assert!(!pinned("node:latest"));
        assert!(pinned("localhost:5000/node@sha256:abc"));
        assert!(!pinned("localhost:5000/node"));
        let b = base_images("FROM --platform=$BUILDPLATFORM node\n", &Default::default());
        assert_eq!(b[0].image, "node");
    }

    #[test]
    fn maps_legacy_copy_records_to_the_dockerfile() {
        let df = "FROM scratch\nCOPY bin/todo-api /todo-api\nUSER 1000\n";
        assert_eq!(
            instruction_for("COPY file:b54a3d in /todo-api", df),
            "COPY bin/todo-api /todo-api (Dockerfile line 2)"
        );
        assert_eq!(
            instruction_for("COPY bin/todo-api /todo-api # buildkit", df),
            "COPY bin/todo-api /todo-api # buildkit"
        );
        assert_eq!(instruction_for("USER 1000", df), "USER 1000");
    }

    #[test]
    fn reads_the_final_stages_config() {
        let df = "FROM rust:1.80 AS build\nUSER 1000\nHEALTHCHECK CMD [\"x\"]\nFROM scratch\nCOPY --from=build /a /a\nEXPOSE 8080\n";
        let c = final_stage_config(df);
        assert!(c["User"].is_null() && c["Healthcheck"].is_null(), "a builder stage's settings do not carry over: {c}");
        assert!(c["ExposedPorts"].get("8080/tcp").is_some());
        let df = "FROM node:20 AS base\nUSER 1001:1001\nFROM base\nHEALTHCHECK \\\n  CMD [\"node\", \"h.js\"]\n";
        let c = final_stage_config(df);
        assert_eq!(c["User"], "1001:1001", "inherited from the stage it is built FROM");
        assert_eq!(c["Healthcheck"]["Test"][0], "CMD");
    }

    #[test]
    fn tidies_history() {
        assert_eq!(tidy_created_by("/bin/sh -c #(nop) COPY file:ab in /x "), "COPY file:ab in /x");
        assert_eq!(tidy_created_by("/bin/sh -c apt-get   install"), "RUN apt-get install");
        assert_eq!(tidy_created_by("COPY bin/todo-api /todo-api # buildkit"), "COPY bin/todo-api /todo-api # buildkit");
    }
}
