//! Fake `docker` client + daemon: version, legacy-builder `build`, `image inspect`/`ls`/`rm`/`tag`, `history`,
//! `save`, minimal `run`/`ps`/`rm`/`info`, and the Docker AI (`ai`) plugin probe.
//!
//! Output shapes follow the captures in tests/fixtures/docker/ (docker client 28.2.2 against engine 20.10,
//! legacy builder) and docker/cli's formatters. The client it answers as is docker/cli v27.3.1 (FAKE_DOCKER_VERSION
//! changes the version it reports and, from 28, the unknown-command wording), the daemon moby v20.10.24 (the engine
//! here); each answer cites the file and line it follows. `DIFFERS` marks what the real pair does otherwise,
//! observed here (client 28.2.2, engine 20.10.24), left as it is because tests rely on the fake's answer.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};

use crate::daemon::{
    cannot_connect, daemon_down, load, lookup, normalize, preseeded, short, synth_base, tags_of, Container,
    DockerState, Image, NO_REGISTRY,
};
use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{build, ctx::Ctx, state, template};

const DEFAULT_VERSION: &str = "27.3.1";

fn version(ctx: &Ctx) -> String {
    ctx.env("FAKE_DOCKER_VERSION").unwrap_or_else(|| DEFAULT_VERSION.into())
}

fn major(ctx: &Ctx) -> u32 {
    version(ctx).split('.').next().and_then(|m| m.parse().ok()).unwrap_or(27)
}

/// Subcommands the fake client knows; others are unknown commands (plugins aside).
const KNOWN: &[&str] = &[
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

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let args = match global_options(ctx, &ctx.args) {
        Ok(args) => args,
        Err(reply) => return Ok(reply),
    };
    let Some(sub) = args.first().map(String::as_str) else {
        // docker/cli v27.3.1 cmd/docker/docker.go:79 (`Short`) in the usage template of cli/cobra.go:425.
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
    if sub == "buildx" && build::builder(ctx).is_some() {
        return buildx(ctx, rest);
    }
    if !KNOWN.contains(&sub) {
        return Ok(unknown_command(ctx, sub));
    }
    // Every known command needs the daemon: the client's connection error (daemon.rs `cannot_connect`).
    if down {
        return Ok(Reply::fail(1, cannot_connect(ctx)));
    }
    match sub {
        "build" => build::build(ctx, rest),
        "builder" if rest.first().is_some_and(|a| a == "build") => build::build(ctx, &rest[1..]),
        "image" => image_command(ctx, rest),
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

/// Global options precede the subcommand (docker/cli v27.3.1 cli/flags/options.go:75-102 `InstallFlags`);
/// `-v/--version` answers at once with the root command's version template (cli/cobra.go:78,
/// cmd/docker/docker.go:92: `Docker version X, build COMMIT`).
fn global_options<'a>(ctx: &Ctx, mut args: &'a [String]) -> std::result::Result<&'a [String], Reply> {
    loop {
        match args.first().map(String::as_str) {
            Some("-v" | "--version") => {
                return Err(Reply::ok(format!("Docker version {}, build ce12230\n", version(ctx))));
            }
            Some("-H" | "--host" | "-c" | "--context" | "--config" | "-l" | "--log-level") => {
                args = args.get(2..).unwrap_or(&[]);
            }
            Some("-D" | "--debug" | "--tls" | "--tlsverify") => args = &args[1..],
            Some(a) if a.starts_with("--") && a.contains('=') => args = &args[1..],
            _ => return Ok(args),
        }
    }
}

/// `docker image SUBCOMMAND` (docker/cli v27.3.1 cli/command/image/cmd.go:12-13: `Manage images`).
fn image_command(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
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
        "build" => build::build(ctx, r),
        "pull" => pull(ctx, r),
        // docker/cli v28.0.0 cli/required.go:16 `NoArgs` (the 28 wording, whatever FAKE_DOCKER_VERSION says).
        // DIFFERS: the real message has a `Usage:  docker image` paragraph (observed here with client 28.2.2).
        other => Ok(Reply::fail(
            1,
            format!(
                "docker: unknown command: docker image {other}\n\nRun 'docker image --help' for more information\n"
            ),
        )),
    }
}

/// docker 28 says `docker: unknown command: docker X` (docker/cli v28.0.0 cmd/docker/docker.go:133; captured,
/// tests/fixtures/docker-ai/); older clients `docker: 'X' is not a docker command.` (v27.3.1
/// cmd/docker/docker.go:87). The wording changed in 28.0.0 (docker/cli commit a6e96c758e).
fn unknown_command(ctx: &Ctx, sub: &str) -> Reply {
    if major(ctx) >= 28 {
        Reply::fail(1, format!("docker: unknown command: docker {sub}\n\nRun 'docker --help' for more information\n"))
    } else {
        Reply::fail(1, format!("docker: '{sub}' is not a docker command.\nSee 'docker --help'\n"))
    }
}

/// `docker version`'s data for the 27.3.1 release: client commit ce12230 and engine commit 41ca978 (the v27.3.1
/// tags of docker/cli and moby/moby), Go 1.22.7, containerd v1.7.22, runc v1.1.14 and docker-init (tini) v0.19.0
/// (moby v27.3.1 Dockerfile:3, :199, :290, :325), API 1.47 with minimum 1.24 (api/common.go:6, :15); the build
/// times and kernel are illustrative. The structure is docker/cli v27.3.1 cli/command/system/version.go:64-84
/// `versionInfo`, `clientVersion`. `Server` is null when the daemon does not answer.
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
/// captured: tests/fixtures/docker/version-json-daemon-down.*); the table is cli/command/system/version.go:25
/// `defaultVersionTemplate`.
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

/// `docker buildx inspect`: docker/buildx commands/inspect.go:58-59 prints `Name:` and `Driver:` first (tabwriter).
fn buildx(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let (name, driver) = build::builder(ctx).unwrap_or_default();
    match rest.first().map(String::as_str) {
        Some("inspect") => Ok(Reply::ok(format!(
            "Name:          {name}\nDriver:        {driver}\n\nNodes:\nName:      {name}0\nEndpoint:  unix:///var/run/docker.sock\nStatus:    running\n"
        ))),
        _ => Ok(unknown_command(ctx, "buildx")),
    }
}

// ---------------------------------------------------------------------------------------------- images

/// An image as `docker image inspect` prints it: moby v20.10.24 api/types/types.go:29-77 `ImageInspect`
/// (fields as in tests/fixtures/docker/image-inspect.json).
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

/// `docker [image] inspect`: the found objects as one JSON array (`[]` when none), one line per object with
/// `--format`, an error line per missing one and exit 1.
fn inspect(ctx: &Ctx, rest: &[String], kind: &str) -> Result<Reply> {
    let f = Flags::parse(rest, &["-f", "--format", "--type", "--platform"]);
    if f.pos.is_empty() {
        // docker/cli v27.3.1 cli/required.go:30-46 `RequiresMinArgs` (image/inspect.go:29). DIFFERS: without
        // its `Usage:` paragraph.
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
            // moby v20.10.24 daemon/images/image.go:33 `No such image: %s`. DIFFERS: client 28.2.2 here prints
            // `no such image: REF: No such image: REF:latest` (observed on 20.10.24).
            ("image", None) => err.push_str(&format!("Error response from daemon: No such image: {r}\n")),
            // moby v20.10.24 daemon/errors.go:17-19 `containerNotFound` (the fake runs no inspectable containers).
            ("container", _) => err.push_str(&format!("Error response from daemon: No such container: {r}\n")),
            // docker/cli v27.3.1 cli/command/system/inspect.go:215 (observed here as well).
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

/// `CREATED` as `N units ago`: docker/cli v27.3.1 vendor/github.com/docker/go-units/duration.go:12-35
/// `HumanDuration` plus ` ago`. DIFFERS: upstream says `1 second`, `About a minute`, `About an hour`, counts
/// hours up to 48 and then days, weeks, months; the fake's coarser steps are enough for the tests.
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
/// CreatedBy truncated to 45 characters without `--no-trunc` (docker/cli v27.3.1
/// cli/command/image/formatter_history.go:15 table format, :73-76 `TruncateID`, :98-101 `Ellipsis(createdBy, 45)`;
/// `-H/--human` defaults to true, history.go:43).
fn history(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["--format", "--platform"]);
    if f.pos.len() != 1 {
        // docker/cli v27.3.1 cli/required.go:85-97 `ExactArgs` (image/history.go:28-30).
        return Ok(Reply::fail(
            1,
            "\"docker history\" requires exactly 1 argument.\nSee 'docker history --help'.\n\nUsage:  docker history [OPTIONS] IMAGE\n\nShow the history of an image\n",
        ));
    }
    let st = load(ctx)?;
    // moby v20.10.24 daemon/images/image.go:33. DIFFERS: the real message names the normalised reference
    // (`No such image: x:latest`, observed here on 20.10.24); the fake repeats the argument.
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

/// `docker images [REPOSITORY[:TAG]]`: one row per tag (docker/cli v27.3.1 cli/command/formatter/image.go:14
/// `defaultImageTableFormat`; sizes with go-units `HumanSizeWithPrecision(size, 3)`).
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

/// `docker rmi`: `Untagged:` per removed tag, `Deleted:` once no tag is left (docker/cli v27.3.1
/// cli/command/image/remove.go:72-77 prints the daemon's list), an error line per unknown image and exit 1.
fn rmi(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &[]);
    if f.pos.is_empty() {
        // cli/required.go:30-46 `RequiresMinArgs` (image/remove.go:29). DIFFERS: without `Usage:`.
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
                // moby v20.10.24 daemon/images/image.go:33. DIFFERS: the real one says `REF:latest` (observed).
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
    // docker/cli v27.3.1 cli/required.go:85-97 `ExactArgs(2)` (image/tag.go:24). DIFFERS: without `Usage:`.
    let [src, dst] = f.pos.as_slice() else {
        return Ok(Reply::fail(1, "\"docker tag\" requires exactly 2 arguments.\nSee 'docker tag --help'.\n"));
    };
    let st = load(ctx)?;
    // moby v20.10.24 daemon/images/image.go:33. DIFFERS: the real one says `REF:latest` (observed).
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

/// `docker pull`: only FAKE_DOCKER_PULL=ok or a FAKE_DOCKER_IMAGES entry succeeds (no registry here). The
/// output is moby v20.10.24 distribution/pull_v2.go:436 (`Pulling from`) and pull.go:168 (`Status: Downloaded
/// newer image`), then the reference the client pulled (docker/cli v27.3.1 cli/command/image/pull.go:89).
fn pull(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    let f = Flags::parse(rest, &["--platform"]);
    // cli/required.go:85-97 `ExactArgs` (image/pull.go:33). DIFFERS: the `See`/`Usage:` lines are missing.
    let Some(r) = f.pos.first() else {
        return Ok(Reply::fail(1, "\"docker pull\" requires exactly 1 argument.\n"));
    };
    let norm = normalize(r);
    // The pull's resolver error, as the engine here answers it (observed on 20.10.24, with the resolver's
    // address that NO_REGISTRY leaves out).
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

/// `docker run [-d] IMAGE`: exit 125 for the client's and daemon's own failures (docker/cli v27.3.1
/// cli/command/container/run.go:38 `RequiresMinArgs(1)`, :87-107 and :307-310 status 125); a missing image is
/// pulled first (create.go:271 `Unable to find image '%s' locally`), which fails without a registry. `-d` prints
/// the new container's id and records it; otherwise FAKE_DOCKER_RUN_STDOUT is the container's output.
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

/// `docker ps`: the containers `run -d` started (docker/cli v27.3.1 cli/command/formatter/container.go:21
/// `defaultContainerTableFormat`); every one reads as up.
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

/// `docker rm [-f] NAME...`: each removed name on stdout (docker/cli v27.3.1 cli/command/container/rm.go:74), a
/// missing one an error and exit 1, unless `-f` (rm.go:67-68). DIFFERS: with `-f` the real client still prints
/// the not-found error on stderr; the fake prints nothing.
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
                // moby v20.10.24 daemon/errors.go:17-19 (observed here on 20.10.24).
                err.push_str(&format!("Error response from daemon: No such container: {r}\n"));
            }
        }
        (out, err)
    })?;
    let code = i32::from(!err.is_empty());
    Ok(Reply::ok(out).with_err(err).with_code(code))
}

/// `docker info [--format T]`: the fields the xtask and minikube read (moby v20.10.24 api/types/types.go:148 `Info`).
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

/// How `docker images` and `docker ps` print rows: a `--format` template per row, `-q` ids only
/// (`DefaultQuietFormat`, docker/cli v27.3.1 cli/command/formatter/image.go:37-42, container.go:32-37), or the table.
fn listing(f: &Flags, rows: &[Value], header: &str, row: impl Fn(&Value) -> String) -> String {
    match f.get(&["--format"]) {
        Some(t) => rows.iter().map(|r| format!("{}\n", template::render(&t, r))).collect(),
        None if f.has(&["-q", "--quiet"]) => {
            rows.iter().map(|r| format!("{}\n", r["ID"].as_str().unwrap_or(""))).collect()
        }
        None => std::iter::once(header.to_string()).chain(rows.iter().map(row)).collect(),
    }
}
