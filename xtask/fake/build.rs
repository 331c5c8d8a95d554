//! Fake `docker build` as the legacy builder runs it (no buildx plugin, the setup of this machine): the context
//! the CLI sends, one `Step i/n` per instruction with the image config each one changes, the history rows
//! `docker history` shows, the size model, and the tags and id file at the end.
//!
//! Modelled on moby v20.10.24 `builder/dockerfile/` (the engine here) with the Dockerfile parser it vendors
//! (`vendor/github.com/moby/buildkit/frontend/dockerfile/`), and docker/cli v27.3.1 (the fake's default client
//! version) for the client's side. Known differences from the real engine, observed here on 20.10.24 and left as
//! they are (tests rely on this output): see the `DIFFERS` notes below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};

use crate::daemon::{
    default_config, load, lookup, normalize, short, synth_base, DockerState, Hist, Image, ImageFile, NO_REGISTRY,
};
use crate::dockerfile::{self, Instr};
use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{ctx::Ctx, state};

/// `docker build` flags that take a value (docker/cli v27.3.1 `cli/command/image/build.go:115-160`).
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

/// docker/cli v27.3.1 `cmd/docker/builder.go:20-22`, printed on stderr whenever the CLI falls back to the legacy
/// builder because the buildx plugin is missing (`builder.go:113`).
const DEPRECATION: &str = "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\n";

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

/// What `docker build` reads before it talks to the daemon.
struct Input {
    cwd: PathBuf,
    ctx_dir: PathBuf,
    df_text: String,
    files: ContextFiles,
}

/// FAKE_DOCKER_BUILDER=`name:driver`: the buildx plugin is installed and `name` (driver `docker-container`,
/// `kubernetes`, `remote` or `docker`) is the selected builder. Unset: no buildx plugin (this machine's setup).
pub fn builder(ctx: &Ctx) -> Option<(String, String)> {
    let v = ctx.env("FAKE_DOCKER_BUILDER")?;
    let (name, driver) = v.split_once(':').unwrap_or((&v, "docker"));
    Some((name.to_string(), driver.to_string()))
}

pub fn build(ctx: &Ctx, rest: &[String]) -> Result<Reply> {
    if let Some(reply) = cache_only_build(ctx, rest) {
        return Ok(reply);
    }
    // docker/cli v27.3.1 cmd/docker/builder.go:107-110: DOCKER_BUILDKIT=1 without the buildx plugin is an error
    // (`buildxMissingError`, builder.go:28-30).
    if ctx.env_is("DOCKER_BUILDKIT", "1") && builder(ctx).is_none() {
        return Ok(Reply::fail(
            1,
            "ERROR: BuildKit is enabled but the buildx component is missing or broken.\n       Install the buildx component to build images with BuildKit:\n       https://docs.docker.com/go/buildx/\n",
        ));
    }
    let f = Flags::parse(rest, BUILD_VALUED);
    let input = match read_input(ctx, &f) {
        Ok(input) => input,
        Err(reply) => return Ok(reply),
    };
    let instrs = dockerfile::parse(&input.df_text);
    let mut b = Builder::new(ctx, &f, &input)?;
    for (i, ins) in instrs.iter().enumerate() {
        if let Some(reply) = b.step(i + 1, instrs.len(), ins) {
            return Ok(reply);
        }
    }
    b.finish(&f, &input)
}

/// With a buildx builder whose driver is not `docker` and no --load/--output, the build only fills the
/// builder's cache and nothing reaches the daemon: docker/buildx build/opt.go (`len(opt.Exports) == 0`, only
/// the docker driver or DefaultLoad export), with the warning of build/build.go:292-299, exit 0.
fn cache_only_build(ctx: &Ctx, rest: &[String]) -> Option<Reply> {
    let (name, driver) = builder(ctx).filter(|(_, d)| d != "docker")?;
    let f = Flags::parse(rest, BUILD_VALUED);
    if f.has(&["--load"]) || f.get(&["-o", "--output"]).is_some() {
        return None;
    }
    Some(Reply::ok("").with_err(format!(
        "#0 building with \"{name}\" instance using {driver} driver\n\nWARNING: No output specified with {driver} driver. Build result will only remain in the build cache. To push result image into registry use --push or to load image into docker use --load\n"
    )))
}

/// The client's checks before it sends anything, each with its own words.
fn read_input(ctx: &Ctx, f: &Flags) -> std::result::Result<Input, Reply> {
    if f.pos.len() != 1 {
        // docker/cli v27.3.1 cli/required.go:85-97 `ExactArgs` (the usage line and `Short` of build.go:97-100).
        // DIFFERS: client 28.2.2 here says `docker: 'docker build' requires 1 argument` (v28.2.2 required.go:91).
        return Err(Reply::fail(
            1,
            "\"docker build\" requires exactly 1 argument.\nSee 'docker build --help'.\n\nUsage:  docker build [OPTIONS] PATH | URL | -\n\nBuild an image from a Dockerfile\n",
        ));
    }
    let cwd = ctx.cwd();
    let ctx_dir = cwd.join(&f.pos[0]);
    if !ctx_dir.is_dir() {
        // docker/cli v27.3.1 cli/command/image/build.go:235.
        return Err(Reply::fail(1, format!("unable to prepare context: path {:?} not found\n", f.pos[0])));
    }
    let df_path: PathBuf = match f.get(&["-f", "--file"]) {
        Some(p) => cwd.join(p),
        None => ctx_dir.join("Dockerfile"),
    };
    let Ok(df_text) = std::fs::read_to_string(&df_path) else {
        // docker/cli v27.3.1 cli/command/image/build/context.go:349 (the lstat error of filepath.EvalSymlinks),
        // wrapped by build.go:242 `unable to prepare context: %s`.
        return Err(Reply::fail(
            1,
            format!(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory\n",
                df_path.display()
            ),
        ));
    };
    let files = context_files(&ctx_dir).map_err(|e| Reply::fail(1, format!("{e}\n")))?;
    Ok(Input { cwd, ctx_dir, df_text, files })
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

/// A metadata-only step's history row: moby v20.10.24 builder/dockerfile/internals.go:80-95 `commit` runs the
/// step as `withCmdComment` (internals.go:326-331: the shell, `#(nop) ` and the comment as separate words), and
/// the row's `created_by` is that Cmd joined by spaces (image/image.go:171), hence the two spaces.
fn nop(text: &str) -> String {
    format!("/bin/sh -c #(nop)  {text}")
}

/// The two lines of a step that ran in a container: moby v20.10.24 builder/dockerfile/internals.go:461 and
/// containerbackend.go:144.
fn running_in(container: &str) -> String {
    format!(" ---> Running in {}\nRemoving intermediate container {}\n", &container[..12], &container[..12])
}

/// moby v20.10.24 vendor/github.com/moby/buildkit/frontend/dockerfile/instructions/parse.go:134 (`dockerfile parse
/// error line %d: %v`), sent by the daemon as the API error (`Error response from daemon: `).
/// DIFFERS: the real engine parses the whole Dockerfile before the first step, so none of the `Step` lines before
/// the bad instruction are printed (observed here on 20.10.24).
fn parse_error(out: String, ins: &Instr, msg: &str) -> Reply {
    Reply::ok(out)
        .with_err(format!("{DEPRECATION}Error response from daemon: dockerfile parse error line {}: {msg}\n", ins.line))
        .with_code(1)
}

/// One build: the stages so far, the variables in scope and the text the CLI streams.
struct Builder<'a> {
    ctx: &'a Ctx,
    input: &'a Input,
    quiet: bool,
    build_args: BTreeMap<String, String>,
    st: DockerState,
    now: u64,
    vars: BTreeMap<String, String>,
    stages: Vec<Stage>,
    pulled: Vec<(String, Image)>,
    prev_id: String,
    out: String,
}

/// What an instruction leaves in history: the row's text and, for the ones that make a layer, its size.
struct Applied {
    created_by: String,
    layer_size: Option<u64>,
}

impl<'a> Builder<'a> {
    fn new(ctx: &'a Ctx, f: &Flags, input: &'a Input) -> Result<Self> {
        // docker/cli v27.3.1 cli/command/image/build.go:326 (a progress reader over the context tar; the size in
        // go-units' HumanSizeWithPrecision with 4 digits). DIFFERS: the real line ends `\r\r\n` (observed here on
        // 20.10.24 with stdout not a terminal).
        let out = format!("Sending build context to Docker daemon  {}\r\n", util::human_size(input.files.total, 4));
        // `--build-arg K` without `=V` takes the client's environment (docker/cli v27.3.1
        // cli/command/image/build.go:87 `opts.ValidateEnv`, opts/env.go:18-30).
        let build_args = f
            .all(&["--build-arg"])
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv.clone(), std::env::var(kv).unwrap_or_default()),
            })
            .collect();
        Ok(Builder {
            ctx,
            input,
            quiet: f.has(&["-q", "--quiet"]),
            build_args,
            st: load(ctx)?,
            now: util::now_ms(),
            vars: BTreeMap::new(),
            stages: Vec::new(),
            pulled: Vec::new(),
            prev_id: util::hex256(format!("{}{}", input.files.digest, input.df_text).as_bytes()),
            out,
        })
    }

    /// Runs instruction `i` of `n`; a reply ends the build.
    fn step(&mut self, i: usize, n: usize, ins: &Instr) -> Option<Reply> {
        // moby v20.10.24 builder/dockerfile/builder.go:45 `stepFormat`, printed by printCommand (builder.go:244-246).
        self.out.push_str(&format!("Step {i}/{n} : {}\n", ins.original));
        let step_seed = format!("{}|{}|{:?}|{}", self.prev_id, ins.original, self.build_args, self.input.files.digest);
        let step_id = format!("sha256:{}", util::hex256(step_seed.as_bytes()));
        self.prev_id = step_id.clone();
        let container = util::hex256(format!("container {step_seed}").as_bytes());
        if ins.cmd == "FROM" {
            return self.from(ins).err();
        }
        if ins.cmd == "ARG" && self.stages.is_empty() {
            // A meta ARG (before the first FROM): builder.go:259-265 processMetaArg, the build args override its
            // default (builder.go:229-243). DIFFERS: the real engine prints only the `Step` line for it, no
            // container lines (observed here on 20.10.24).
            for (k, v) in dockerfile::key_values(&ins.rest, false) {
                let v = self.build_args.get(&k).cloned().unwrap_or(v);
                self.vars.insert(k, v);
            }
            self.out.push_str(&running_in(&container));
            return None;
        }
        if self.stages.is_empty() {
            // instructions/commands.go:444. DIFFERS: the real error has no `dockerfile parse error line N: `
            // prefix (observed here on 20.10.24).
            return Some(parse_error(std::mem::take(&mut self.out), ins, "no build stage in current context"));
        }
        let applied = match self.apply(ins, &step_seed) {
            Ok(applied) => applied,
            Err(reply) => return Some(reply),
        };
        let stage = self.stages.last_mut().expect("checked above");
        match applied.layer_size {
            Some(size) => {
                stage.image.layers.push(format!("sha256:{}", util::hex256(format!("layer {step_seed}").as_bytes())));
                stage.image.size += size;
                // Only RUN runs a container among the layer steps; COPY/ADD commit the copied files directly
                // (dispatchers.go:112 dispatchCopy, internals.go:160-168 performCopy: no `Running in`; observed
                // here on 20.10.24).
                if ins.cmd == "RUN" {
                    self.out.push_str(&running_in(&container));
                }
            }
            None => self.out.push_str(&running_in(&container)),
        }
        stage.image.history.push(Hist {
            id: step_id.clone(),
            created_ms: self.now,
            created_by: applied.created_by,
            size: applied.layer_size.unwrap_or(0),
        });
        stage.image.id = step_id.clone();
        // builder.go:300: the new image's short id after every step.
        self.out.push_str(&format!(" ---> {}\n", short(&step_id)));
        None
    }

    /// `FROM base [AS name]`: scratch, an earlier stage, a local image, or a pull (which fails without a registry).
    fn from(&mut self, ins: &Instr) -> std::result::Result<(), Reply> {
        let words = dockerfile::shell_words(&dockerfile::substitute(&ins.rest, &self.vars));
        let words: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
        let Some(base) = words.first().map(|s| s.to_string()) else {
            // instructions/parse.go:308.
            return Err(parse_error(std::mem::take(&mut self.out), ins, "FROM requires either one or three arguments"));
        };
        let alias = match words.as_slice() {
            [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
            _ => None,
        };
        // builder.go:282: ` ---> ` and the base's short id (empty for scratch, observed here on 20.10.24).
        let from_stage = self.stages.iter().rev().find(|s| s.name.as_deref() == Some(base.as_str()));
        let image = if base == "scratch" {
            self.out.push_str(" ---> \n");
            Image { config: default_config(), ..Image::default() }
        } else if let Some(s) = from_stage {
            self.out.push_str(&format!(" ---> {}\n", short(&s.image.id)));
            s.image.clone()
        } else if let Some(img) = lookup(self.ctx, &self.st, &base) {
            self.out.push_str(&format!(" ---> {}\n", short(&img.id)));
            img
        } else if self.ctx.env_is("FAKE_DOCKER_PULL", "ok") {
            self.pull(&base)
        } else {
            // DIFFERS: the real engine streams the pull error without `Error response from daemon: ` and with the
            // resolver's address (`lookup registry-1.docker.io on HOST:53: no such host`, observed here on 20.10.24).
            let reply = if self.quiet { Reply::default() } else { Reply::ok(std::mem::take(&mut self.out)) };
            return Err(reply
                .with_err(format!("{DEPRECATION}Error response from daemon: {NO_REGISTRY}\n"))
                .with_code(1));
        };
        let own_from = image.history.len();
        self.stages.push(Stage { name: alias, image, own_from });
        Ok(())
    }

    /// A base image pulled during the build (FAKE_DOCKER_PULL=ok): moby v20.10.24 distribution/pull_v2.go:436
    /// (`Pulling from`), pull_v2.go:480 (`Digest: `), distribution/pull.go:168 (`Status: Downloaded newer image`).
    fn pull(&mut self, base: &str) -> Image {
        let norm = normalize(base);
        let img = synth_base(&norm);
        let tag = norm.rsplit(':').next().unwrap_or("latest");
        self.out.push_str(&format!(
            "{tag}: Pulling from library/{}\nDigest: sha256:{}\nStatus: Downloaded newer image for {norm}\n ---> {}\n",
            norm.split(':').next().unwrap_or(&norm),
            util::hex256(format!("digest {norm}").as_bytes()),
            short(&img.id)
        ));
        self.pulled.push((norm, img.clone()));
        img
    }

    /// An instruction inside a stage: what it changes in the image config and what it writes into history.
    fn apply(&mut self, ins: &Instr, step_seed: &str) -> std::result::Result<Applied, Reply> {
        let text = dockerfile::substitute(&ins.rest, &self.vars);
        let stage = self.stages.last_mut().expect("a stage exists");
        let cfg = &mut stage.image.config;
        let meta = |created_by: String| Applied { created_by, layer_size: None };
        Ok(match ins.cmd.as_str() {
            "ARG" => meta(arg(&ins.rest, &self.build_args, &mut self.vars)),
            "ENV" => meta(env(cfg, &text, &mut self.vars)),
            "LABEL" => meta(label(cfg, &text)),
            "USER" => {
                // dispatchers.go:549-551.
                cfg["User"] = json!(text.trim());
                meta(nop(&format!("USER {}", text.trim())))
            }
            "WORKDIR" => meta(workdir(cfg, &text)),
            "EXPOSE" => meta(expose(cfg, &text)),
            "HEALTHCHECK" => match healthcheck(cfg, &text) {
                Some(created_by) => meta(created_by),
                // instructions/parse.go:475. DIFFERS: the real message names the word it read (`Unknown type
                // "BOGUS" in HEALTHCHECK (try CMD)`, observed here on 20.10.24).
                None => {
                    return Err(parse_error(
                        std::mem::take(&mut self.out),
                        ins,
                        "Unknown type \"\" in HEALTHCHECK (try CMD)",
                    ))
                }
            },
            "ENTRYPOINT" | "CMD" => meta(entrypoint_or_cmd(cfg, &ins.cmd, &text)),
            "COPY" | "ADD" => {
                let (created_by, size) =
                    copy(self.ctx, &self.st, self.input, &mut stage.image, &ins.cmd, &text, step_seed);
                Applied { created_by, layer_size: Some(size) }
            }
            "RUN" => Applied { created_by: run(&text), layer_size: Some(0) },
            // dispatchers.go:557-611 (VOLUME, STOPSIGNAL, SHELL), :294-296 (ONBUILD), :66-69 (MAINTAINER).
            "SHELL" | "STOPSIGNAL" | "VOLUME" | "ONBUILD" | "MAINTAINER" => meta(nop(&format!("{} {text}", ins.cmd))),
            // instructions/parse.go:125.
            other => {
                return Err(parse_error(std::mem::take(&mut self.out), ins, &format!("unknown instruction: {other}")));
            }
        })
    }

    /// The target stage becomes the image: size model, `--label`, tags, `--iidfile`, the closing lines.
    fn finish(self, f: &Flags, input: &Input) -> Result<Reply> {
        let target = f.get(&["--target"]);
        let stage = match &target {
            Some(t) => self.stages.iter().find(|s| s.name.as_deref() == Some(t.as_str())),
            None => self.stages.last(),
        };
        let Some(stage) = stage else {
            // moby v20.10.24 builder/dockerfile/builder.go:202 and builder/remotecontext/detect.go:146.
            let msg = match target {
                Some(t) => format!("failed to reach build target {t} in Dockerfile\n"),
                None => "the Dockerfile (Dockerfile) cannot be empty\n".to_string(),
            };
            return Ok(Reply::fail(1, format!("{DEPRECATION}Error response from daemon: {msg}")));
        };
        let mut image = stage.image.clone();
        let extra: u64 = self.ctx.env("FAKE_IMAGE_EXTRA_BYTES").and_then(|v| v.parse().ok()).unwrap_or(0);
        apply_size_model(&mut image, stage.own_from, input.files.total + extra);
        apply_labels(&mut image, &f.all(&["--label"]));
        image.created_ms = self.now;
        if let Some(last) = image.history.last_mut() {
            last.id = image.id.clone();
        }
        if let Some(ms) = self.ctx.env("FAKE_DOCKER_BUILD_MS").and_then(|v| v.parse::<u64>().ok()) {
            std::thread::sleep(Duration::from_millis(ms));
        }
        let tags: Vec<String> = f.all(&["-t", "--tag"]).iter().map(|t| normalize(t)).collect();
        let id = image.id.clone();
        store(self.ctx, &self.pulled, &tags, image)?;
        if let Some(p) = f.get(&["--iidfile"]) {
            // docker/cli v27.3.1 cli/command/image/build.go:397 (the id, no newline).
            std::fs::write(input.cwd.join(p), &id)?;
        }
        if self.quiet {
            // build.go:388-390: with -q the daemon's output is just the id, which the CLI prints.
            return Ok(Reply::ok(format!("{id}\n")).with_err(DEPRECATION));
        }
        // moby v20.10.24 api/server/backend/build/backend.go:93 and tag.go:39.
        let mut out = self.out;
        out.push_str(&format!("Successfully built {}\n", short(&id)));
        for t in &tags {
            out.push_str(&format!("Successfully tagged {t}\n"));
        }
        Ok(Reply::ok(out).with_err(DEPRECATION))
    }
}

/// `ARG k[=v]...` inside a stage (dispatchers.go:588-603); a `--build-arg` overrides the default.
fn arg(rest: &str, build_args: &BTreeMap<String, String>, vars: &mut BTreeMap<String, String>) -> String {
    for (k, v) in dockerfile::key_values(rest, false) {
        let v = build_args.get(&k).cloned().unwrap_or(v);
        vars.insert(k, v);
    }
    nop(&format!("ARG {rest}"))
}

/// `ENV`: replaces or appends `K=V` in the config's Env (dispatchers.go:38-60).
fn env(cfg: &mut Value, text: &str, vars: &mut BTreeMap<String, String>) -> String {
    let mut env: Vec<String> = serde_json::from_value(cfg["Env"].clone()).unwrap_or_default();
    for (k, v) in dockerfile::key_values(text, true) {
        env.retain(|e| !e.starts_with(&format!("{k}=")));
        env.push(format!("{k}={v}"));
        vars.insert(k, v);
    }
    cfg["Env"] = json!(env);
    nop(&format!("ENV {text}"))
}

/// `LABEL` (dispatchers.go:75-84).
fn label(cfg: &mut Value, text: &str) -> String {
    let mut labels = cfg["Labels"].as_object().cloned().unwrap_or_default();
    for (k, v) in dockerfile::key_values(text, false) {
        labels.insert(k, json!(v));
    }
    cfg["Labels"] = Value::Object(labels);
    nop(&format!("LABEL {text}"))
}

/// `WORKDIR`, relative to the current one (dispatchers.go:302-335). DIFFERS: the real row is
/// `withCmdCommentString` (internals.go:336-341), one space after `#(nop)` (observed here on 20.10.24).
fn workdir(cfg: &mut Value, text: &str) -> String {
    let cur = cfg["WorkingDir"].as_str().unwrap_or("").to_string();
    let dir = if text.starts_with('/') { text.trim().to_string() } else { format!("{cur}/{}", text.trim()) };
    cfg["WorkingDir"] = json!(dir);
    nop(&format!("WORKDIR {dir}"))
}

/// `EXPOSE`: ports default to `/tcp` (dispatchers.go:516-542, nat.ParsePortSpecs). DIFFERS: the real row keeps the
/// words as written, sorted (instructions/parse.go:525): `EXPOSE 53/UDP 8080` (observed here on 20.10.24).
fn expose(cfg: &mut Value, text: &str) -> String {
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

/// `HEALTHCHECK`: the config's Healthcheck with zero durations left out, and the row Go's `%q` of the struct
/// prints (dispatchers.go:468-477; as in tests/fixtures/docker/history-no-trunc.tsv). None: an unknown type.
fn healthcheck(cfg: &mut Value, text: &str) -> Option<String> {
    let hc = dockerfile::healthcheck(text)?;
    let mut obj = serde_json::Map::new();
    obj.insert("Test".into(), json!(hc.test));
    for (k, v) in [("Interval", hc.interval_ns), ("Timeout", hc.timeout_ns), ("StartPeriod", hc.start_period_ns)] {
        if v > 0 {
            obj.insert(k.into(), json!(v));
        }
    }
    if hc.retries > 0 {
        obj.insert("Retries".into(), json!(hc.retries));
    }
    cfg["Healthcheck"] = Value::Object(obj);
    Some(nop(&format!(
        "HEALTHCHECK &{{{} {:?} {:?} {:?} '\\x{:02x}'}}",
        go_quoted(&hc.test),
        util::go_duration(hc.interval_ns),
        util::go_duration(hc.timeout_ns),
        util::go_duration(hc.start_period_ns),
        hc.retries
    )))
}

/// `CMD` / `ENTRYPOINT` (dispatchers.go:438-458, :487-509; the row is `%q` of the resolved command line).
/// DIFFERS: ENTRYPOINT clears Cmd only when no CMD came before it in the stage (`cmdSet`, dispatchers.go:505);
/// the fake always clears it.
fn entrypoint_or_cmd(cfg: &mut Value, cmd: &str, text: &str) -> String {
    let (v, exec) = dockerfile::exec_or_shell(text);
    let key = if cmd == "CMD" { "Cmd" } else { "Entrypoint" };
    cfg[key] = json!(v);
    if cmd == "ENTRYPOINT" {
        cfg["Cmd"] = Value::Null;
    }
    let shown = if exec { go_quoted(&v) } else { format!("[\"/bin/sh\" \"-c\" {:?}]", text) };
    nop(&format!("{cmd} {shown}"))
}

/// `COPY` / `ADD`: the layer holds the copied bytes (or the `--from` image's size); the row names the source as
/// `file:` or `dir:` and a hash (internals.go:160-168 performCopy: `%s %s in %s `, single space after `#(nop)`).
fn copy(
    ctx: &Ctx,
    st: &DockerState,
    input: &Input,
    image: &mut Image,
    cmd: &str,
    text: &str,
    step_seed: &str,
) -> (String, u64) {
    let files = &input.files;
    let words = dockerfile::shell_words(text);
    let from = words.iter().find_map(|w| w.strip_prefix("--from=")).map(str::to_string);
    let paths: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
    let (dest, srcs) = paths.split_last().map(|(d, s)| (d.to_string(), s.to_vec())).unwrap_or_default();
    let size = match &from {
        // Size of a named stage or image referenced by `COPY --from=`; only used for the layer's size.
        Some(name) => lookup(ctx, st, name).map(|i| i.size).unwrap_or(0),
        None => srcs.iter().map(|s| copy_size(files, s)).sum(),
    };
    if from.is_none() {
        image.files.extend(copied_files(&input.ctx_dir, files, &srcs, &dest));
    }
    let kind = if srcs.len() == 1 && files.files.iter().any(|(r, _)| r == srcs[0].trim_start_matches("./")) {
        "file"
    } else {
        "dir"
    };
    (format!("/bin/sh -c #(nop) {cmd} {kind}:{} in {dest} ", util::hex256(step_seed.as_bytes())), size)
}

/// `RUN`: the row is the command the container ran (dispatchers.go:344-407: exec form as is, shell form after
/// `/bin/sh -c`), joined by spaces (image/image.go:171). The fake runs nothing, so the layer is empty.
fn run(text: &str) -> String {
    let (v, exec) = dockerfile::exec_or_shell(text);
    if exec {
        v.join(" ")
    } else {
        format!("/bin/sh -c {text}")
    }
}

/// The brief's size model: every non-ignored context byte plus FAKE_IMAGE_EXTRA_BYTES (a real image only holds
/// what COPY brings in). The surplus goes to the biggest layer so `history` still sums to `Size`.
fn apply_size_model(image: &mut Image, own_from: usize, context_bytes: u64) {
    let base_size: u64 = image.history[..own_from].iter().map(|h| h.size).sum();
    let own: u64 = image.history[own_from..].iter().map(|h| h.size).sum();
    let surplus = context_bytes.saturating_sub(own);
    if surplus > 0 {
        let idx = (own_from..image.history.len()).max_by_key(|&i| (image.history[i].size, i));
        if let Some(i) = idx {
            image.history[i].size += surplus;
        }
    }
    image.size = base_size + own + surplus;
}

/// `--label k=v`: merged into the config's labels, which gives a new image id. DIFFERS: the legacy builder adds
/// them as one more `LABEL` step of the last stage, with its own `Step` lines and history row (moby v20.10.24
/// builder/dockerfile/builder.go:170-208 buildLabelOptions; observed here on 20.10.24).
fn apply_labels(image: &mut Image, labels: &[String]) {
    if labels.is_empty() {
        return;
    }
    let mut map = image.config["Labels"].as_object().cloned().unwrap_or_default();
    for kv in labels {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        map.insert(k.to_string(), json!(v));
    }
    image.config["Labels"] = Value::Object(map);
    image.id = format!("sha256:{}", util::hex256(format!("{}|{labels:?}", image.id).as_bytes()));
}

/// The daemon's image store after the build: pulled bases, the image and its tags.
fn store(ctx: &Ctx, pulled: &[(String, Image)], tags: &[String], image: Image) -> Result<()> {
    let id = image.id.clone();
    state::update(ctx, "docker", |s: &mut DockerState| {
        for (name, img) in pulled {
            s.tags.insert(name.clone(), img.id.clone());
            s.images.insert(img.id.clone(), img.clone());
        }
        for t in tags {
            s.tags.insert(t.clone(), id.clone());
        }
        s.images.insert(id.clone(), image);
    })?;
    Ok(())
}
