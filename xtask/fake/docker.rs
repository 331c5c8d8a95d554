//! Fake `docker` client + daemon: version, legacy-builder `build`, `image inspect`/`ls`/`rm`/`tag`, `history`,
//! `save`, minimal `run`/`ps`/`rm`/`info`, and the Docker AI (`ai`) plugin probe.
//!
//! Output shapes follow the captures in tests/fixtures/docker/ (docker client 28.2.2 against engine 20.10,
//! legacy builder) and docker/cli's formatters; messages cite their origin where they are matched on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};

use crate::dockerfile::{self, Instr};
use crate::reply::Reply;
use crate::daemon::{
    cannot_connect, daemon_down, default_config, load, lookup, normalize, preseeded, synth_base, tags_of, Container,
    DockerState, Hist, Image, ImageFile,
};
use crate::util::{self, Flags};
use crate::{state, template, Ctx};

const DEFAULT_VERSION: &str = "27.3.1";
/// What a daemon without registry access answers to any pull (brief; the resolver error text of Go's net package).
const NO_REGISTRY: &str =
    "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host";

fn version(ctx: &Ctx) -> String {
    ctx.env("FAKE_DOCKER_VERSION").unwrap_or_else(|| DEFAULT_VERSION.into())
}

fn major(ctx: &Ctx) -> u32 {
    version(ctx).split('.').next().and_then(|m| m.parse().ok()).unwrap_or(27)
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let mut args: &[String] = &ctx.args;
    // Global options precede the subcommand (docker/cli cli/flags/options.go).
    loop {
        match args.first().map(String::as_str) {
            Some("-v" | "--version") => {
                return Ok(Reply::ok(format!("Docker version {}, build ce12230\n", version(ctx))));
            }
            Some("-H" | "--host" | "-c" | "--context" | "--config" | "-l" | "--log-level") => {
                args = args.get(2..).unwrap_or(&[]);
            }
            Some("-D" | "--debug" | "--tls" | "--tlsverify") => args = &args[1..],
            Some(a) if a.starts_with("--") && a.contains('=') => args = &args[1..],
            _ => break,
        }
    }
    let Some(sub) = args.first().map(String::as_str) else {
        return Ok(Reply::ok("\nUsage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n"));
    };
    let rest = &args[1..];
    let st = load(ctx)?;
    let down = daemon_down(ctx, &st);
    if sub == "version" {
        return version_cmd(ctx, rest, down);
    }
    if sub == "ai" {
        return ai(ctx, rest);
    }
    // A CLI plugin, like `ai`: present only when FAKE_DOCKER_BUILDER says buildx is installed.
    if sub == "buildx" && builder(ctx).is_some() {
        return buildx(ctx, rest);
    }
    let known = [
        "build",
        "image",
        "images",
        "inspect",
        "history",
        "save",
        "rmi",
        "tag",
        "run",
        "ps",
        "rm",
        "info",
        "load",
        "pull",
        "push",
        "container",
        "builder",
        "exec",
        "cp",
        "network",
    ];
    if !known.contains(&sub) {
        return Ok(unknown_command(ctx, sub));
    }
    if down {
        return Ok(Reply::fail(1, cannot_connect(ctx)));
    }
    match sub {
        "build" => build(ctx, rest),
        "builder" if rest.first().is_some_and(|a| a == "build") => build(ctx, &rest[1..]),
        "image" => {
            let Some(op) = rest.first().map(String::as_str) else {
                return Ok(Reply::ok("\nUsage:  docker image COMMAND\n\nManage images\n"));
            };
            let r = &rest[1..];
            match op {
                "inspect" => inspect(ctx, r, "image"),
                "ls" | "list" => images(ctx, r),
                "rm" | "remove" => rmi(ctx, r),
                "history" => history(ctx, r),
                "save" => save(ctx, r),
                "tag" => tag(ctx, r),
                "build" => build(ctx, r),
                "pull" => pull(ctx, r),
                other => Ok(Reply::fail(
                    1,
                    format!("docker: unknown command: docker image {other}\n\nRun 'docker image --help' for more information\n"),
                )),
            }
        }
        "container" => match rest.first().map(String::as_str) {
            Some("run") => run_container(ctx, &rest[1..]),
            Some("rm") => rm_container(ctx, &rest[1..]),
            Some("ls" | "ps" | "list") => ps(ctx, &rest[1..]),
            _ => Ok(unknown_command(ctx, "container")),
        },
        "images" => images(ctx, rest),
        "inspect" => {
            let f = Flags::parse(rest, &["--type", "-f", "--format"]);
            let kind = f.get(&["--type"]).unwrap_or_default();
            inspect(ctx, rest, if kind.is_empty() { "object" } else { &kind })
        }
        "history" => history(ctx, rest),
        "save" => save(ctx, rest),
        "rmi" => rmi(ctx, rest),
        "tag" => tag(ctx, rest),
        "pull" => pull(ctx, rest),
        "push" => crate::registry::push(ctx, rest),
        "exec" => crate::nodes::exec(ctx, rest),
        "cp" => crate::nodes::cp(ctx, rest),
        "network" => crate::nodes::network(ctx, rest),
        "run" => run_container(ctx, rest),
        "ps" => ps(ctx, rest),
        "rm" => rm_container(ctx, rest),
        "info" => info(ctx, rest),
        _ => Ok(unknown_command(ctx, sub)),
    }
}

/// docker 28 says `docker: unknown command: docker X` (captured, tests/fixtures/docker-ai/); older clients
/// `docker: 'X' is not a docker command.` (quoted in many CI logs). The switch is assumed at 28.0 (unverified).
fn unknown_command(ctx: &Ctx, sub: &str) -> Reply {
    if major(ctx) >= 28 {
        Reply::fail(1, format!("docker: unknown command: docker {sub}\n\nRun 'docker --help' for more information\n"))
    } else {
        Reply::fail(1, format!("docker: '{sub}' is not a docker command.\nSee 'docker --help'\n"))
    }
}

fn version_json(ctx: &Ctx, down: bool) -> Value {
    let v = version(ctx);
    let client = json!({
        "Version": v, "ApiVersion": "1.47", "DefaultAPIVersion": "1.47", "GitCommit": "ce12230",
        "GoVersion": "go1.22.7", "Os": "linux", "Arch": "amd64", "BuildTime": "Fri Sep 20 11:39:44 2024",
        "Context": "default"
    });
    let server = if down {
        Value::Null
    } else {
        json!({
            "Platform": {"Name": "Docker Engine - Community"},
            "Components": [
                {"Name": "Engine", "Version": v, "Details": {"ApiVersion": "1.47", "Arch": "amd64",
                    "BuildTime": "Fri Sep 20 11:41:18 2024", "Experimental": "false", "GitCommit": "41ca978",
                    "GoVersion": "go1.22.7", "KernelVersion": "6.1.0-25-amd64", "MinAPIVersion": "1.24", "Os": "linux"}},
                {"Name": "containerd", "Version": "1.7.22", "Details": {"GitCommit": "7f7fdf5fed64eb6a7caf99b3e12efcf9d60e311c"}},
                {"Name": "runc", "Version": "1.1.14", "Details": {"GitCommit": "v1.1.14-0-g2c9f560"}},
                {"Name": "docker-init", "Version": "0.19.0", "Details": {"GitCommit": "de40ad0"}}
            ],
            "Version": v, "ApiVersion": "1.47", "MinAPIVersion": "1.24", "GitCommit": "41ca978",
            "GoVersion": "go1.22.7", "Os": "linux", "Arch": "amd64", "KernelVersion": "6.1.0-25-amd64",
            "BuildTime": "2024-09-20T11:41:18.000000000+00:00"
        })
    };
    json!({"Client": client, "Server": server})
}

/// `docker version [--format T]`: the client part prints even when the daemon is down (then exit 1,
/// captured: tests/fixtures/docker/version-json-daemon-down.*).
fn version_cmd(ctx: &Ctx, rest: &[String], down: bool) -> Result<Reply> {
    let f = Flags::parse(rest, &["-f", "--format", "--context"]);
    let v = version_json(ctx, down);
    let out = match f.get(&["-f", "--format"]) {
        Some(t) => format!("{}\n", template::render(&t, &v)),
        None => {
            let mut s = format!(
                "Client: Docker Engine - Community\n Version:           {}\n API version:       1.47\n Go version:        go1.22.7\n Git commit:        ce12230\n Built:             Fri Sep 20 11:39:44 2024\n OS/Arch:           linux/amd64\n Context:           default\n",
                version(ctx)
            );
            if !down {
                s.push_str(&format!(
                    "\nServer: Docker Engine - Community\n Engine:\n  Version:          {}\n  API version:      1.47 (minimum version 1.24)\n  Go version:       go1.22.7\n  Git commit:       41ca978\n  OS/Arch:          linux/amd64\n",
                    version(ctx)
                ));
            }
            s
        }
    };
    let reply = Reply::ok(out);
    Ok(if down { reply.with_err(cannot_connect(ctx)).with_code(1) } else { reply })
}

/// Docker AI (Gordon) is a Docker Desktop CLI plugin; without it the client reports an unknown command.
fn ai(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    if !ctx.env_is("FAKE_DOCKER_AI", "1") {
        return Ok(unknown_command(ctx, "ai"));
    }
    if rest.first().is_some_and(|a| a == "version") {
        // The real `docker ai version` output was not found upstream; any version-looking line will do.
        return Ok(Reply::ok("v1.9.11\n"));
    }
    let prompt = rest.iter().filter(|a| !a.starts_with('-')).cloned().collect::<Vec<_>>().join(" ");
    let answer = ctx.env("FAKE_AI_ANSWER").unwrap_or_else(|| {
        format!(
            "Here is what I found about \"{prompt}\":\n\n- The image runs as a non-root user.\n- Consider pinning the base image by digest.\n"
        )
    });
    Ok(Reply::ok(answer))
}

// ---------------------------------------------------------------------------------------------- build

const BUILD_VALUED: &[&str] = &[
    "-f",
    "--file",
    "-t",
    "--tag",
    "--build-arg",
    "--label",
    "--iidfile",
    "--target",
    "--platform",
    "--network",
    "--progress",
    "--cache-from",
    "--secret",
    "--ssh",
    "-o",
    "--output",
    "--add-host",
    "-m",
    "--memory",
    "--shm-size",
    "--ulimit",
    "--isolation",
    "--cpu-shares",
    "--cgroup-parent",
];

struct Stage {
    name: Option<String>,
    image: Image,
    /// Index into `image.history` where this build's own steps start.
    own_from: usize,
}

struct ContextFiles {
    files: Vec<(String, u64)>,
    total: u64,
    digest: String,
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, root, out);
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((rel, meta.len()));
        }
    }
}

/// Files the daemon receives: everything under the context that `.dockerignore` does not exclude, read as the
/// docker CLI reads it (moby/patternmatcher `ignorefile.ReadAll` + `MatchesOrParentMatches`, ported in
/// xtask/src/pipeline/dockerignore.rs). A pattern Go's filepath.Match rejects fails the build
/// (`filepath.ErrBadPattern`: "syntax error in pattern").
fn context_files(dir: &Path) -> std::result::Result<ContextFiles, String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    let text = std::fs::read_to_string(dir.join(".dockerignore")).unwrap_or_default();
    let ignore = crate::dockerignore::Ignore::parse(&text).map_err(|_| "syntax error in pattern".to_string())?;
    files.retain(|(rel, _)| !ignore.excluded(rel));
    let mut hasher_input = Vec::new();
    for (rel, size) in &files {
        hasher_input.extend_from_slice(rel.as_bytes());
        hasher_input.extend_from_slice(&size.to_le_bytes());
        if let Ok(bytes) = std::fs::read(dir.join(rel)) {
            hasher_input.extend_from_slice(&util::hash64(&bytes, 7).to_le_bytes());
        }
    }
    let total = files.iter().map(|(_, s)| s).sum();
    Ok(ContextFiles { digest: util::hex256(&hasher_input), files, total })
}

fn copy_size(files: &ContextFiles, src: &str) -> u64 {
    let src = src.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
    files
        .files
        .iter()
        .filter(|(rel, _)| {
            src.is_empty()
                || src == "."
                || rel == src
                || rel.starts_with(&format!("{src}/"))
                || util::glob_match(src, rel)
        })
        .map(|(_, s)| s)
        .sum()
}

/// The files a `COPY srcs... dest` brings in from the context, where they land (dockerfile reference: a single
/// file to a destination without a trailing `/` is renamed to it; anything else goes under the destination).
fn copied_files(ctx_dir: &Path, files: &ContextFiles, srcs: &[&String], dest: &str) -> Vec<ImageFile> {
    let mut out = vec![];
    for src in srcs {
        let src = src.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
        for (rel, _) in &files.files {
            let inside = if src.is_empty() || src == "." {
                Some(rel.as_str())
            } else if rel == src {
                Some(rel.rsplit('/').next().unwrap_or(rel))
            } else {
                rel.strip_prefix(&format!("{src}/"))
            };
            let Some(name) = inside else { continue };
            let single = rel == src && srcs.len() == 1 && !dest.ends_with('/');
            let path = if single { dest.to_string() } else { format!("{}/{name}", dest.trim_end_matches('/')) };
            let full = ctx_dir.join(rel);
            out.push(ImageFile {
                path: path.trim_start_matches('/').to_string(),
                executable: util::is_executable(&full),
                dep_v0: std::fs::read(&full).is_ok_and(|b| util::elf_has_section(&b, ".dep-v0")),
            });
        }
    }
    out
}

/// Go's `%q` of a string slice, as the legacy builder writes exec forms into history (`["a" "b"]`).
fn go_quoted(v: &[String]) -> String {
    format!("[{}]", v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" "))
}

fn nop(text: &str) -> String {
    format!("/bin/sh -c #(nop)  {text}")
}

/// FAKE_DOCKER_BUILDER=`name:driver`: the buildx plugin is installed and `name` (driver `docker-container`,
/// `kubernetes`, `remote` or `docker`) is the selected builder. Unset: no buildx plugin (this machine's setup).
fn builder(ctx: &Ctx) -> Option<(String, String)> {
    let v = ctx.env("FAKE_DOCKER_BUILDER")?;
    let (name, driver) = v.split_once(':').unwrap_or((&v, "docker"));
    Some((name.to_string(), driver.to_string()))
}

/// `docker buildx inspect`: docker/buildx commands/inspect.go:58-59 prints `Name:` and `Driver:` first (tabwriter).
fn buildx(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let (name, driver) = builder(ctx).unwrap_or_default();
    match rest.first().map(String::as_str) {
        Some("inspect") => Ok(Reply::ok(format!(
            "Name:          {name}\nDriver:        {driver}\n\nNodes:\nName:      {name}0\nEndpoint:  unix:///var/run/docker.sock\nStatus:    running\n"
        ))),
        _ => Ok(unknown_command(ctx, "buildx")),
    }
}

fn build(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    // With a buildx builder whose driver is not `docker` and no --load/--output, the build only fills the
    // builder's cache and nothing reaches the daemon: docker/buildx build/opt.go (`len(opt.Exports) == 0`, only
    // the docker driver or DefaultLoad export), with the warning of build/build.go:292-299, exit 0.
    if let Some((_, driver)) = builder(ctx).filter(|(_, d)| d != "docker") {
        let f = Flags::parse(rest, BUILD_VALUED);
        if !f.has(&["--load"]) && f.get(&["-o", "--output"]).is_none() {
            return Ok(Reply::ok("").with_err(format!(
                "#0 building with \"{}\" instance using {driver} driver\n\nWARNING: No output specified with {driver} driver. Build result will only remain in the build cache. To push result image into registry use --push or to load image into docker use --load\n",
                builder(ctx).map(|b| b.0).unwrap_or_default()
            )));
        }
    }
    // docker/cli cmd/docker/builder.go: DOCKER_BUILDKIT=1 without the buildx plugin is an error.
    if ctx.env_is("DOCKER_BUILDKIT", "1") && builder(ctx).is_none() {
        return Ok(Reply::fail(
            1,
            "ERROR: BuildKit is enabled but the buildx component is missing or broken.\n       Install the buildx component to build images with BuildKit:\n       https://docs.docker.com/go/buildx/\n",
        ));
    }
    let f = Flags::parse(rest, BUILD_VALUED);
    if f.pos.len() != 1 {
        return Ok(Reply::fail(
            1,
            "\"docker build\" requires exactly 1 argument.\nSee 'docker build --help'.\n\nUsage:  docker build [OPTIONS] PATH | URL | -\n\nBuild an image from a Dockerfile\n",
        ));
    }
    let cwd = ctx.cwd();
    let ctx_dir = cwd.join(&f.pos[0]);
    if !ctx_dir.is_dir() {
        return Ok(Reply::fail(1, format!("unable to prepare context: path {:?} not found\n", f.pos[0])));
    }
    let df_path: PathBuf = match f.get(&["-f", "--file"]) {
        Some(p) => cwd.join(p),
        None => ctx_dir.join("Dockerfile"),
    };
    let Ok(df_text) = std::fs::read_to_string(&df_path) else {
        return Ok(Reply::fail(
            1,
            format!(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory\n",
                df_path.display()
            ),
        ));
    };
    let files = match context_files(&ctx_dir) {
        Ok(f) => f,
        Err(e) => return Ok(Reply::fail(1, format!("{e}\n"))),
    };
    let quiet = f.has(&["-q", "--quiet"]);
    // docker/cli prints this on stderr whenever it falls back to the legacy builder (no buildx plugin).
    let deprecation = "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\n";
    let mut out = format!("Sending build context to Docker daemon  {}\r\n", util::human_size(files.total, 4));
    let instrs = dockerfile::parse(&df_text);
    let build_args: BTreeMap<String, String> = f
        .all(&["--build-arg"])
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), std::env::var(kv).unwrap_or_default()),
        })
        .collect();
    let st = load(ctx)?;
    let now = util::now_ms();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut pulled: Vec<(String, Image)> = Vec::new();
    let mut prev_id = util::hex256(format!("{}{}", files.digest, df_text).as_bytes());
    let n = instrs.len();
    for (i, ins) in instrs.iter().enumerate() {
        out.push_str(&format!("Step {}/{} : {}\n", i + 1, n, ins.original));
        let step_seed = format!("{prev_id}|{}|{:?}|{}", ins.original, build_args, files.digest);
        let step_id = format!("sha256:{}", util::hex256(step_seed.as_bytes()));
        prev_id = step_id.clone();
        let container = util::hex256(format!("container {step_seed}").as_bytes());
        if ins.cmd == "FROM" {
            let words = dockerfile::shell_words(&dockerfile::substitute(&ins.rest, &vars));
            let words: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
            let Some(base) = words.first().map(|s| s.to_string()) else {
                return Ok(parse_error(out, deprecation, ins, "FROM requires either one or three arguments"));
            };
            let alias = match words.as_slice() {
                [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            let from_stage = stages.iter().rev().find(|s| s.name.as_deref() == Some(base.as_str()));
            let image = if base == "scratch" {
                out.push_str(" ---> \n");
                Image { config: default_config(), ..Image::default() }
            } else if let Some(s) = from_stage {
                out.push_str(&format!(" ---> {}\n", short(&s.image.id)));
                s.image.clone()
            } else if let Some(img) = lookup(ctx, &st, &base) {
                out.push_str(&format!(" ---> {}\n", short(&img.id)));
                img
            } else if ctx.env_is("FAKE_DOCKER_PULL", "ok") {
                let norm = normalize(&base);
                let img = synth_base(&norm);
                let tag = norm.rsplit(':').next().unwrap_or("latest");
                out.push_str(&format!(
                    "{tag}: Pulling from library/{}\nDigest: sha256:{}\nStatus: Downloaded newer image for {norm}\n ---> {}\n",
                    norm.split(':').next().unwrap_or(&norm),
                    util::hex256(format!("digest {norm}").as_bytes()),
                    short(&img.id)
                ));
                pulled.push((norm, img.clone()));
                img
            } else {
                let reply = if quiet { Reply::default() } else { Reply::ok(out) };
                return Ok(reply
                    .with_err(format!("{deprecation}Error response from daemon: {NO_REGISTRY}\n"))
                    .with_code(1));
            };
            let own_from = image.history.len();
            stages.push(Stage { name: alias, image, own_from });
            continue;
        }
        if ins.cmd == "ARG" && stages.is_empty() {
            for (k, v) in dockerfile::key_values(&ins.rest, false) {
                let v = build_args.get(&k).cloned().unwrap_or(v);
                vars.insert(k, v);
            }
            out.push_str(&format!(
                " ---> Running in {}\nRemoving intermediate container {}\n",
                &container[..12],
                &container[..12]
            ));
            continue;
        }
        let Some(stage) = stages.last_mut() else {
            return Ok(parse_error(out, deprecation, ins, "no build stage in current context"));
        };
        let text = dockerfile::substitute(&ins.rest, &vars);
        let cfg = &mut stage.image.config;
        let mut layer_size: Option<u64> = None;
        let created_by = match ins.cmd.as_str() {
            "ARG" => {
                for (k, v) in dockerfile::key_values(&ins.rest, false) {
                    let v = build_args.get(&k).cloned().unwrap_or(v);
                    vars.insert(k, v);
                }
                nop(&format!("ARG {}", ins.rest))
            }
            "ENV" => {
                let mut env: Vec<String> = serde_json::from_value(cfg["Env"].clone()).unwrap_or_default();
                for (k, v) in dockerfile::key_values(&text, true) {
                    env.retain(|e| !e.starts_with(&format!("{k}=")));
                    env.push(format!("{k}={v}"));
                    vars.insert(k, v);
                }
                cfg["Env"] = json!(env);
                nop(&format!("ENV {text}"))
            }
            "LABEL" => {
                let mut labels = cfg["Labels"].as_object().cloned().unwrap_or_default();
                for (k, v) in dockerfile::key_values(&text, false) {
                    labels.insert(k, json!(v));
                }
                cfg["Labels"] = Value::Object(labels);
                nop(&format!("LABEL {text}"))
            }
            "USER" => {
                cfg["User"] = json!(text.trim());
                nop(&format!("USER {}", text.trim()))
            }
            "WORKDIR" => {
                let cur = cfg["WorkingDir"].as_str().unwrap_or("").to_string();
                let dir =
                    if text.starts_with('/') { text.trim().to_string() } else { format!("{cur}/{}", text.trim()) };
                cfg["WorkingDir"] = json!(dir);
                nop(&format!("WORKDIR {dir}"))
            }
            "EXPOSE" => {
                let mut ports = cfg.get("ExposedPorts").and_then(Value::as_object).cloned().unwrap_or_default();
                let mut shown = Vec::new();
                for p in text.split_whitespace() {
                    let p = if p.contains('/') { p.to_lowercase() } else { format!("{p}/tcp") };
                    ports.insert(p.clone(), json!({}));
                    shown.push(p);
                }
                cfg["ExposedPorts"] = Value::Object(ports);
                nop(&format!("EXPOSE {}", shown.join(" ")))
            }
            "HEALTHCHECK" => {
                let Some(hc) = dockerfile::healthcheck(&text) else {
                    return Ok(parse_error(out, deprecation, ins, "Unknown type \"\" in HEALTHCHECK (try CMD)"));
                };
                let mut obj = serde_json::Map::new();
                obj.insert("Test".into(), json!(hc.test));
                for (k, v) in
                    [("Interval", hc.interval_ns), ("Timeout", hc.timeout_ns), ("StartPeriod", hc.start_period_ns)]
                {
                    if v > 0 {
                        obj.insert(k.into(), json!(v));
                    }
                }
                if hc.retries > 0 {
                    obj.insert("Retries".into(), json!(hc.retries));
                }
                cfg["Healthcheck"] = Value::Object(obj);
                // Go's %v of the HealthConfig struct, as in tests/fixtures/docker/history-no-trunc.tsv.
                nop(&format!(
                    "HEALTHCHECK &{{{} {:?} {:?} {:?} '\\x{:02x}'}}",
                    go_quoted(&hc.test),
                    util::go_duration(hc.interval_ns),
                    util::go_duration(hc.timeout_ns),
                    util::go_duration(hc.start_period_ns),
                    hc.retries
                ))
            }
            "ENTRYPOINT" | "CMD" => {
                let (v, exec) = dockerfile::exec_or_shell(&text);
                let key = if ins.cmd == "CMD" { "Cmd" } else { "Entrypoint" };
                cfg[key] = json!(v);
                if ins.cmd == "ENTRYPOINT" {
                    cfg["Cmd"] = Value::Null;
                }
                let shown = if exec { go_quoted(&v) } else { format!("[\"/bin/sh\" \"-c\" {:?}]", text) };
                nop(&format!("{} {shown}", ins.cmd))
            }
            "COPY" | "ADD" => {
                let words = dockerfile::shell_words(&text);
                let from = words.iter().find_map(|w| w.strip_prefix("--from=")).map(str::to_string);
                let paths: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
                let (dest, srcs) = paths.split_last().map(|(d, s)| (d.to_string(), s.to_vec())).unwrap_or_default();
                let size = match &from {
                    Some(name) => stages_size(&stages_snapshot(&st, ctx, name)),
                    None => srcs.iter().map(|s| copy_size(&files, s)).sum(),
                };
                layer_size = Some(size);
                if from.is_none() {
                    stage.image.files.extend(copied_files(&ctx_dir, &files, &srcs, &dest));
                }
                let kind = if srcs.len() == 1 && files.files.iter().any(|(r, _)| r == srcs[0].trim_start_matches("./"))
                {
                    "file"
                } else {
                    "dir"
                };
                format!("/bin/sh -c #(nop) {} {kind}:{} in {dest} ", ins.cmd, util::hex256(step_seed.as_bytes()))
            }
            "RUN" => {
                layer_size = Some(0);
                let (v, exec) = dockerfile::exec_or_shell(&text);
                if exec {
                    v.join(" ")
                } else {
                    format!("/bin/sh -c {text}")
                }
            }
            "SHELL" | "STOPSIGNAL" | "VOLUME" | "ONBUILD" | "MAINTAINER" => nop(&format!("{} {text}", ins.cmd)),
            other => {
                return Ok(parse_error(out, deprecation, ins, &format!("unknown instruction: {other}")));
            }
        };
        match layer_size {
            Some(size) => {
                stage.image.layers.push(format!("sha256:{}", util::hex256(format!("layer {step_seed}").as_bytes())));
                stage.image.size += size;
                if ins.cmd == "RUN" {
                    out.push_str(&format!(
                        " ---> Running in {}\nRemoving intermediate container {}\n",
                        &container[..12],
                        &container[..12]
                    ));
                }
            }
            None => {
                out.push_str(&format!(
                    " ---> Running in {}\nRemoving intermediate container {}\n",
                    &container[..12],
                    &container[..12]
                ));
            }
        }
        stage.image.history.push(Hist {
            id: step_id.clone(),
            created_ms: now,
            created_by,
            size: layer_size.unwrap_or(0),
        });
        stage.image.id = step_id.clone();
        out.push_str(&format!(" ---> {}\n", short(&step_id)));
    }
    let target = f.get(&["--target"]);
    let stage = match &target {
        Some(t) => stages.iter().find(|s| s.name.as_deref() == Some(t.as_str())),
        None => stages.last(),
    };
    let Some(stage) = stage else {
        let msg = match target {
            Some(t) => format!("failed to reach build target {t} in Dockerfile\n"),
            None => "the Dockerfile (Dockerfile) cannot be empty\n".to_string(),
        };
        return Ok(Reply::fail(1, format!("{deprecation}Error response from daemon: {msg}")));
    };
    let mut image = stage.image.clone();
    // The brief's size model: every non-ignored context byte plus FAKE_IMAGE_EXTRA_BYTES (a real image only
    // holds what COPY brings in). The surplus goes to the biggest layer so `history` still sums to `Size`.
    let extra: u64 = ctx.env("FAKE_IMAGE_EXTRA_BYTES").and_then(|v| v.parse().ok()).unwrap_or(0);
    let base_size: u64 = image.history[..stage.own_from].iter().map(|h| h.size).sum();
    let own: u64 = image.history[stage.own_from..].iter().map(|h| h.size).sum();
    let surplus = (files.total + extra).saturating_sub(own);
    if surplus > 0 {
        let idx = (stage.own_from..image.history.len()).max_by_key(|&i| (image.history[i].size, i));
        if let Some(i) = idx {
            image.history[i].size += surplus;
        }
    }
    image.size = base_size + own + surplus;
    let labels = f.all(&["--label"]);
    if !labels.is_empty() {
        let mut map = image.config["Labels"].as_object().cloned().unwrap_or_default();
        for kv in &labels {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            map.insert(k.to_string(), json!(v));
        }
        image.config["Labels"] = Value::Object(map);
    }
    if !labels.is_empty() {
        image.id = format!("sha256:{}", util::hex256(format!("{}|{labels:?}", image.id).as_bytes()));
    }
    image.created_ms = now;
    if let Some(last) = image.history.last_mut() {
        last.id = image.id.clone();
    }
    if let Some(ms) = ctx.env("FAKE_DOCKER_BUILD_MS").and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let tags: Vec<String> = f.all(&["-t", "--tag"]).iter().map(|t| normalize(t)).collect();
    let id = image.id.clone();
    state::update(ctx, "docker", |s: &mut DockerState| {
        for (name, img) in &pulled {
            s.tags.insert(name.clone(), img.id.clone());
            s.images.insert(img.id.clone(), img.clone());
        }
        for t in &tags {
            s.tags.insert(t.clone(), id.clone());
        }
        s.images.insert(id.clone(), image);
    })?;
    if let Some(p) = f.get(&["--iidfile"]) {
        std::fs::write(cwd.join(p), &id)?;
    }
    if quiet {
        return Ok(Reply::ok(format!("{id}\n")).with_err(deprecation));
    }
    out.push_str(&format!("Successfully built {}\n", short(&id)));
    for t in &tags {
        out.push_str(&format!("Successfully tagged {t}\n"));
    }
    Ok(Reply::ok(out).with_err(deprecation))
}

/// Size of a named stage or image referenced by `COPY --from=`; only used for the layer's size.
fn stages_snapshot(st: &DockerState, ctx: &Ctx, name: &str) -> Option<Image> {
    lookup(ctx, st, name)
}

fn stages_size(img: &Option<Image>) -> u64 {
    img.as_ref().map(|i| i.size).unwrap_or(0)
}

/// moby/buildkit frontend/dockerfile/parser: `dockerfile parse error on line N: ...`.
fn parse_error(out: String, deprecation: &str, ins: &Instr, msg: &str) -> Reply {
    Reply::ok(out)
        .with_err(format!("{deprecation}Error response from daemon: dockerfile parse error line {}: {msg}\n", ins.line))
        .with_code(1)
}

// ---------------------------------------------------------------------------------------------- images

fn inspect_value(ctx: &Ctx, st: &DockerState, img: &Image, version: &str) -> Value {
    json!({
        "Id": img.id,
        "RepoTags": tags_of(st, &img.id),
        "RepoDigests": [],
        "Parent": "",
        "Comment": "",
        "Created": util::rfc3339(img.created_ms),
        "DockerVersion": version,
        "Author": "",
        "Config": img.config,
        "Architecture": "amd64",
        "Os": "linux",
        "Size": inspect_size(ctx, img),
        "GraphDriver": {"Data": null, "Name": if containerd_store(ctx) { "overlayfs" } else { "overlay2" }},
        "RootFS": {"Type": "layers", "Layers": img.layers},
        "Metadata": {"LastTagTime": util::rfc3339(img.created_ms)}
    })
}

/// Docker prints inspect output with a 4-space indent (tests/fixtures/docker/image-inspect.json).
fn pretty4(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = v.serialize(&mut ser);
    String::from_utf8(buf).unwrap_or_default()
}

fn inspect(ctx: &Ctx, rest: &[String], kind: &str) -> Result<Reply> {
    let f = Flags::parse(rest, &["-f", "--format", "--type", "--platform"]);
    if f.pos.is_empty() {
        return Ok(Reply::fail(
            1,
            "\"docker image inspect\" requires at least 1 argument.\nSee 'docker image inspect --help'.\n",
        ));
    }
    let st = load(ctx)?;
    let mut found = Vec::new();
    let mut err = String::new();
    for r in &f.pos {
        match (kind, lookup(ctx, &st, r)) {
            ("image" | "object", Some(img)) => {
                let mut v = inspect_value(ctx, &st, &img, &version(ctx));
                v["RepoDigests"] = json!(crate::registry::repo_digests(ctx, &img.id)?);
                found.push(v)
            }
            ("image", None) => err.push_str(&format!("Error response from daemon: No such image: {r}\n")),
            ("container", _) => err.push_str(&format!("Error response from daemon: No such container: {r}\n")),
            _ => err.push_str(&format!("Error: No such object: {r}\n")),
        }
    }
    let out = match f.get(&["-f", "--format"]) {
        Some(t) => found.iter().map(|v| format!("{}\n", template::render(&t, v))).collect(),
        None => format!("{}\n", pretty4(&Value::Array(found))),
    };
    let code = i32::from(!err.is_empty());
    Ok(Reply::ok(out).with_err(err).with_code(code))
}

fn since(ms: u64) -> String {
    let secs = util::now_ms().saturating_sub(ms) / 1000;
    match secs {
        0 => "Less than a second ago".into(),
        1..=59 => format!("{secs} seconds ago"),
        60..=3599 => format!("{} minutes ago", secs / 60),
        3600..=86_399 => format!("{} hours ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// `docker history`: newest first; sizes human (`5.24MB`, precision 3) unless `--human=false` (then bytes);
/// CreatedBy truncated to 45 characters without `--no-trunc` (docker/cli cli/command/image/formatter_history.go).
fn history(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["--format", "--platform"]);
    if f.pos.len() != 1 {
        return Ok(Reply::fail(
            1,
            "\"docker history\" requires exactly 1 argument.\nSee 'docker history --help'.\n\nUsage:  docker history [OPTIONS] IMAGE\n\nShow the history of an image\n",
        ));
    }
    let st = load(ctx)?;
    let Some(img) = lookup(ctx, &st, &f.pos[0]) else {
        return Ok(Reply::fail(1, format!("Error response from daemon: No such image: {}\n", f.pos[0])));
    };
    let human = !f.flags.iter().any(|(k, v)| (k == "--human" || k == "-H") && v.as_deref() == Some("false"));
    let no_trunc = f.has(&["--no-trunc"]);
    let quiet = f.has(&["-q", "--quiet"]);
    let rows: Vec<Value> = img
        .history
        .iter()
        .rev()
        .map(|h| {
            let id = if h.id == "<missing>" || no_trunc { h.id.clone() } else { short(&h.id) };
            let by = if no_trunc || h.created_by.chars().count() <= 45 {
                h.created_by.clone()
            } else {
                format!("{}…", h.created_by.chars().take(44).collect::<String>())
            };
            let size = if human { util::human_size(h.size, 3) } else { h.size.to_string() };
            json!({"Comment": "", "CreatedAt": util::rfc3339_secs(h.created_ms), "CreatedBy": by,
                   "CreatedSince": since(h.created_ms), "ID": id, "Size": size})
        })
        .collect();
    let out: String = match f.get(&["--format"]) {
        Some(t) => rows.iter().map(|r| format!("{}\n", template::render(&t, r))).collect(),
        None if quiet => rows.iter().map(|r| format!("{}\n", r["ID"].as_str().unwrap_or(""))).collect(),
        None => {
            let mut s =
                "IMAGE          CREATED          CREATED BY                                      SIZE      COMMENT\n"
                    .to_string();
            for r in &rows {
                s.push_str(&format!(
                    "{:<14} {:<16} {:<47} {:<9} \n",
                    r["ID"].as_str().unwrap_or(""),
                    r["CreatedSince"].as_str().unwrap_or(""),
                    r["CreatedBy"].as_str().unwrap_or(""),
                    r["Size"].as_str().unwrap_or("")
                ));
            }
            s
        }
    };
    Ok(Reply::ok(out))
}

fn images(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["--format", "-f", "--filter"]);
    let st = load(ctx)?;
    let filter = f.pos.first().map(|r| r.to_string());
    let mut rows = Vec::new();
    for (tag, id) in &st.tags {
        let (repo, t) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
        if let Some(want) = &filter {
            if want != repo && normalize(want) != *tag {
                continue;
            }
        }
        let Some(img) = st.images.get(id) else { continue };
        rows.push(json!({"Repository": repo, "Tag": t, "ID": short(id), "Digest": "<none>",
                         "CreatedSince": since(img.created_ms), "CreatedAt": util::rfc3339_secs(img.created_ms),
                         "Size": util::human_size(img.size, 3)}));
    }
    Ok(Reply::ok(listing(&f, &rows, "REPOSITORY   TAG       IMAGE ID       CREATED          SIZE\n", |r| {
        format!(
            "{}   {}   {}   {}   {}\n",
            r["Repository"].as_str().unwrap_or(""),
            r["Tag"].as_str().unwrap_or(""),
            r["ID"].as_str().unwrap_or(""),
            r["CreatedSince"].as_str().unwrap_or(""),
            r["Size"].as_str().unwrap_or("")
        )
    })))
}

fn rmi(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    if f.pos.is_empty() {
        return Ok(Reply::fail(1, "\"docker rmi\" requires at least 1 argument.\nSee 'docker rmi --help'.\n"));
    }
    let (out, err) = state::update(ctx, "docker", |s: &mut DockerState| {
        let (mut out, mut err) = (String::new(), String::new());
        for r in &f.pos {
            let norm = normalize(r);
            if let Some(id) = s.tags.remove(&norm) {
                out.push_str(&format!("Untagged: {norm}\n"));
                if !s.tags.values().any(|v| *v == id) {
                    s.images.remove(&id);
                    out.push_str(&format!("Deleted: {id}\n"));
                }
                continue;
            }
            let hex = r.trim_start_matches("sha256:");
            let id =
                s.images.keys().find(|k| hex.len() >= 4 && k.trim_start_matches("sha256:").starts_with(hex)).cloned();
            match id {
                Some(id) => {
                    for t in tags_of(s, &id) {
                        s.tags.remove(&t);
                        out.push_str(&format!("Untagged: {t}\n"));
                    }
                    s.images.remove(&id);
                    out.push_str(&format!("Deleted: {id}\n"));
                }
                None => err.push_str(&format!("Error response from daemon: No such image: {r}\n")),
            }
        }
        (out, err)
    })?;
    let code = i32::from(!err.is_empty());
    Ok(Reply::ok(out).with_err(err).with_code(code))
}

fn tag(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    let [src, dst] = f.pos.as_slice() else {
        return Ok(Reply::fail(1, "\"docker tag\" requires exactly 2 arguments.\nSee 'docker tag --help'.\n"));
    };
    let st = load(ctx)?;
    let Some(img) = lookup(ctx, &st, src) else {
        return Ok(Reply::fail(1, format!("Error response from daemon: No such image: {src}\n")));
    };
    let dst = normalize(dst);
    state::update(ctx, "docker", |s: &mut DockerState| {
        s.images.entry(img.id.clone()).or_insert_with(|| img.clone());
        s.tags.insert(dst, img.id.clone());
    })?;
    Ok(Reply::default())
}

fn pull(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["--platform"]);
    let Some(r) = f.pos.first() else {
        return Ok(Reply::fail(1, "\"docker pull\" requires exactly 1 argument.\n"));
    };
    let norm = normalize(r);
    if !ctx.env_is("FAKE_DOCKER_PULL", "ok") && !preseeded(ctx).contains(&norm) {
        return Ok(Reply::fail(1, format!("Error response from daemon: {NO_REGISTRY}\n")));
    }
    let img = synth_base(&norm);
    let id = img.id.clone();
    state::update(ctx, "docker", |s: &mut DockerState| {
        s.images.insert(id.clone(), img);
        s.tags.insert(norm.clone(), id.clone());
    })?;
    Ok(Reply::ok(format!(
        "{}: Pulling from library/{}\nStatus: Downloaded newer image for {norm}\ndocker.io/library/{norm}\n",
        norm.rsplit(':').next().unwrap_or("latest"),
        norm.split(':').next().unwrap_or(&norm)
    )))
}

/// FAKE_DOCKER_STORE=containerd: the daemon uses the containerd image store instead of the overlay2 graphdriver.
fn containerd_store(ctx: &Ctx) -> bool {
    ctx.env_is("FAKE_DOCKER_STORE", "containerd")
}

/// The image's layers as `docker save` carries them: one tar per history entry that made bytes, holding one
/// file of that size. Pseudo-random content, so gzip cannot shrink it, unless FAKE_SAVE_COMPRESSIBLE=1.
fn layer_tars(ctx: &Ctx, img: &Image) -> Vec<Vec<u8>> {
    img.history
        .iter()
        .enumerate()
        .filter(|(_, h)| h.size > 0)
        .map(|(i, h)| {
            let seed = util::hash64(format!("{}{i}", img.id).as_bytes(), 3);
            let data = if ctx.env_is("FAKE_SAVE_COMPRESSIBLE", "1") {
                vec![0u8; h.size as usize]
            } else {
                util::noise(seed, h.size as usize)
            };
            util::tar(&[(format!("layer-{i}"), data)])
        })
        .collect()
}

/// `docker image inspect`'s `.Size`: on the graphdriver store the layers' unpacked size; on the containerd store
/// the packed (compressed) content only (moby/moby#53398, before moby/moby#53426).
fn inspect_size(ctx: &Ctx, img: &Image) -> u64 {
    if containerd_store(ctx) {
        layer_tars(ctx, img).iter().map(|t| util::gzip(t).len() as u64).sum()
    } else {
        img.size
    }
}

/// `docker save`: a tar in the layout of the daemon's store. Graphdriver (moby `image/tarexport/save.go`, legacy
/// layout): `<id>/layer.tar` plain, `<config>.json`, `manifest.json`. Containerd store: an OCI layout whose layer
/// blobs are stored gzip-compressed (`blobs/sha256/<digest>`, `index.json`, `oci-layout`, `manifest.json`).
fn save(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["-o", "--output", "--platform"]);
    if f.pos.is_empty() {
        return Ok(Reply::fail(1, "\"docker save\" requires at least 1 argument.\nSee 'docker save --help'.\n"));
    }
    let st = load(ctx)?;
    let mut entries: Vec<(String, Vec<u8>)> = vec![];
    let mut manifest = vec![];
    for r in &f.pos {
        let Some(img) = lookup(ctx, &st, r) else {
            return Ok(Reply::fail(1, format!("Error response from daemon: No such image: {r}\n")));
        };
        let config = serde_json::to_vec(&json!({"config": img.config, "rootfs": {"type": "layers"}}))?;
        let config_id = util::hex256(&config);
        let mut layer_paths = vec![];
        for t in layer_tars(ctx, &img) {
            let (name, bytes) = if containerd_store(ctx) {
                let gz = util::gzip(&t);
                (format!("blobs/sha256/{}", util::hex256(&gz)), gz)
            } else {
                (format!("{}/layer.tar", util::hex256(&t)), t)
            };
            layer_paths.push(name.clone());
            entries.push((name, bytes));
        }
        let config_path =
            if containerd_store(ctx) { format!("blobs/sha256/{config_id}") } else { format!("{config_id}.json") };
        entries.push((config_path.clone(), config));
        manifest.push(json!({"Config": config_path, "RepoTags": [normalize(r)], "Layers": layer_paths}));
    }
    if containerd_store(ctx) {
        entries.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
        entries.push(("index.json".into(), br#"{"schemaVersion":2,"manifests":[]}"#.to_vec()));
    }
    entries.push(("manifest.json".into(), serde_json::to_vec(&manifest)?));
    let bytes = util::tar(&entries);
    match f.get(&["-o", "--output"]) {
        Some(p) => {
            std::fs::write(ctx.cwd().join(p), bytes)?;
            Ok(Reply::default())
        }
        None => Ok(Reply::bytes(bytes)),
    }
}

// ---------------------------------------------------------------------------------------------- containers

const RUN_VALUED: &[&str] = &[
    "-e",
    "--env",
    "-p",
    "--publish",
    "-v",
    "--volume",
    "--name",
    "--entrypoint",
    "-u",
    "--user",
    "-w",
    "--workdir",
    "--network",
    "--platform",
    "-l",
    "--label",
    "--env-file",
    "--health-cmd",
    "-m",
    "--memory",
    "--cpus",
    "--restart",
    "--add-host",
    "--mount",
    "--tmpfs",
    "--pull",
    "--hostname",
    "-h",
];

fn run_container(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, RUN_VALUED);
    let Some(image_ref) = f.pos.first() else {
        return Ok(Reply::fail(125, "docker: 'docker run' requires at least 1 argument.\nSee 'docker run --help'.\n"));
    };
    let st = load(ctx)?;
    if lookup(ctx, &st, image_ref).is_none() && !ctx.env_is("FAKE_DOCKER_PULL", "ok") {
        return Ok(Reply::fail(
            125,
            format!("Unable to find image '{}' locally\ndocker: Error response from daemon: {NO_REGISTRY}\n\nRun 'docker run --help' for more information\n", normalize(image_ref)),
        ));
    }
    let id = util::hex256(format!("{image_ref}{}{}", util::now_ms(), std::process::id()).as_bytes());
    let name = f.get(&["--name"]).unwrap_or_else(|| format!("fake_{}", &id[..8]));
    if f.has(&["-d", "--detach"]) {
        let c = Container { id: id.clone(), name, image: image_ref.clone() };
        state::update(ctx, "docker", |s: &mut DockerState| s.containers.push(c))?;
        return Ok(Reply::ok(format!("{id}\n")));
    }
    Ok(Reply::ok(ctx.env("FAKE_DOCKER_RUN_STDOUT").unwrap_or_default()))
}

fn ps(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["--format", "-f", "--filter", "-n", "--last"]);
    let st = load(ctx)?;
    let rows: Vec<Value> = st
        .containers
        .iter()
        .map(|c| json!({"ID": &c.id[..12], "Image": c.image, "Names": c.name, "Status": "Up 2 seconds", "Command": "\"/app\"", "Ports": ""}))
        .collect();
    let header = "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n";
    Ok(Reply::ok(listing(&f, &rows, header, |r| {
        format!(
            "{}   {}   \"/app\"   2 seconds ago   Up 2 seconds             {}\n",
            r["ID"].as_str().unwrap_or(""),
            r["Image"].as_str().unwrap_or(""),
            r["Names"].as_str().unwrap_or("")
        )
    })))
}

fn rm_container(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    let force = f.has(&["-f", "--force"]);
    let (out, err) = state::update(ctx, "docker", |s: &mut DockerState| {
        let (mut out, mut err) = (String::new(), String::new());
        for r in &f.pos {
            let before = s.containers.len();
            s.containers.retain(|c| c.name != *r && !c.id.starts_with(r.as_str()));
            if s.containers.len() < before {
                out.push_str(&format!("{r}\n"));
            } else if !force {
                err.push_str(&format!("Error response from daemon: No such container: {r}\n"));
            }
        }
        (out, err)
    })?;
    let code = i32::from(!err.is_empty());
    Ok(Reply::ok(out).with_err(err).with_code(code))
}

fn info(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["-f", "--format"]);
    // `docker info` on the containerd store: Driver is the snapshotter and DriverStatus names the driver type
    // (docs.docker.com/engine/storage/containerd).
    let (driver, status) = if containerd_store(ctx) {
        ("overlayfs", json!([["driver-type", "io.containerd.snapshotter.v1"]]))
    } else {
        (
            "overlay2",
            json!([
                ["Backing Filesystem", "extfs"],
                ["Supports d_type", "true"],
                ["Using metacopy", "false"],
                ["Native Overlay Diff", "true"],
                ["userxattr", "false"]
            ]),
        )
    };
    // FAKE_DOCKER_OS="Docker Desktop" and FAKE_DOCKER_ROOTLESS=1 model the daemons minikube tunnels for: it reads
    // `OperatingSystem` and a `name=rootless` entry of `SecurityOptions` (minikube `pkg/drivers/kic/oci/info.go:67-74`;
    // the engine lists rootless among its security options, moby `daemon/info.go` fillSecurityOptions).
    let os = ctx.env("FAKE_DOCKER_OS").unwrap_or_else(|| "Debian GNU/Linux 12 (bookworm)".into());
    let mut security = vec!["name=seccomp,profile=builtin"];
    if ctx.env_is("FAKE_DOCKER_ROOTLESS", "1") {
        security.push("name=rootless");
    }
    let v = json!({"ServerVersion": version(ctx), "Driver": driver, "DriverStatus": status, "OperatingSystem": os,
                   "OSType": "linux", "Architecture": "x86_64", "NCPU": 2, "MemTotal": 8_323_002_368u64, "Name": "fake-docker",
                   "SecurityOptions": security, "Images": load(ctx)?.images.len()});
    Ok(Reply::ok(match f.get(&["-f", "--format"]) {
        Some(t) => format!("{}\n", template::render(&t, &v)),
        None => format!("Server:\n Server Version: {}\n Storage Driver: {driver}\n", version(ctx)),
    }))
}

/// How `docker images` and `docker ps` print rows: a `--format` template per row, `-q` ids only, or the table.
fn listing(f: &Flags, rows: &[Value], header: &str, row: impl Fn(&Value) -> String) -> String {
    match f.get(&["--format"]) {
        Some(t) => rows.iter().map(|r| format!("{}\n", template::render(&t, r))).collect(),
        None if f.has(&["-q", "--quiet"]) => {
            rows.iter().map(|r| format!("{}\n", r["ID"].as_str().unwrap_or(""))).collect()
        }
        None => std::iter::once(header.to_string()).chain(rows.iter().map(row)).collect(),
    }
}
