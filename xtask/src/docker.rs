//! Docker: building images, reading their config and layers, and measuring their size (Dockerfiles themselves are
//! read by `dockerfile.rs`).
//! Works with the legacy builder and BuildKit alike (only flags both accept).

use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;
use xshell::cmd;

use std::collections::BTreeMap;

use crate::pipeline::exec::{self, Exec, Output};
use crate::pipeline::StepCx;

// Go templates for --format; cmd! reads braces as interpolation, so they are passed as values.
const JSON: &str = "{{json .}}";
const ID: &str = "{{.Id}}";
const HISTORY: &str = "{{.Size}}\t{{.CreatedBy}}";

/// `docker version` (the client and server versions, or why the daemon cannot be used) and, in parallel, the ids
/// of `tags` in the daemon (absent ones left out): one round trip for a run that may build nothing.
pub fn versions_and_ids(cx: &mut StepCx, tags: &[String]) -> Result<(String, BTreeMap<String, String>)> {
    let fmt = "{{.Id}} {{json .RepoTags}}";
    let outs = cx.probe_all(vec![
        cmd!(cx.sh, "docker version --format {JSON}").into(),
        Exec::from(cmd!(cx.sh, "docker image inspect --format {fmt} {tags...}")).quiet_stdout(),
    ])?;
    let version = parse_versions(&outs[0])?;
    let mut ids = BTreeMap::new();
    for line in outs[1].stdout.lines() {
        let Some((id, tags_json)) = line.split_once(' ') else { continue };
        for t in serde_json::from_str::<Vec<String>>(tags_json).unwrap_or_default() {
            ids.insert(t, id.to_string());
        }
    }
    Ok((version, ids))
}

fn parse_versions(out: &Output) -> Result<String> {
    if out.code.is_none() && out.stdout.is_empty() {
        return Ok("dry-run".into());
    }
    let v: Option<Value> = out.stdout.lines().find_map(|l| serde_json::from_str(l.trim()).ok());
    let client = v.as_ref().and_then(|v| v["Client"]["Version"].as_str()).unwrap_or("?").to_string();
    match v.as_ref().map(|v| &v["Server"]) {
        Some(s) if s.is_object() => Ok(format!("client {client}, server {}", s["Version"].as_str().unwrap_or("?"))),
        _ => bail!(
            "the Docker daemon does not answer ({}). Start Docker (Docker Desktop, or `sudo systemctl start docker`) \
             and check that this user may use it (`docker info`)",
            out.tail(1).trim()
        ),
    }
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
pub fn inspect(cx: &mut StepCx, tag: &str) -> Result<Value> {
    let out = cx.run(cmd!(cx.sh, "docker image inspect {tag}").into())?;
    if cx.dry_run() {
        return Ok(Value::Null);
    }
    let v: Value = serde_json::from_str(&out.stdout).context("docker image inspect printed no JSON")?;
    v.get(0).cloned().ok_or_else(|| anyhow!("docker image inspect printed an empty list for {tag}"))
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
/// the instruction as written). [`crate::dockerfile::instruction_for`] maps the legacy form back to the Dockerfile.
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

pub fn save_sizes(cx: &mut StepCx, tag: &str) -> Result<Sizes> {
    if cx.dry_run() {
        crate::outln!("    $ docker save {tag} | gzip | wc -c");
        return Ok(Sizes { uncompressed: 0, compressed: 0, layers: 0 });
    }
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
            return Err(crate::pipeline::Interrupted.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidies_history() {
        assert_eq!(tidy_created_by("/bin/sh -c #(nop) COPY file:ab in /x "), "COPY file:ab in /x");
        assert_eq!(tidy_created_by("/bin/sh -c apt-get   install"), "RUN apt-get install");
        assert_eq!(tidy_created_by("COPY bin/todo-api /todo-api # buildkit"), "COPY bin/todo-api /todo-api # buildkit");
    }
}
