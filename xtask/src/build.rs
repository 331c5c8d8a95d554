//! `cargo xtask build`: static binaries staged on the host, every image built in parallel, and each image gated on
//! size, vulnerabilities (Trivy) and policy. Every step is cached by the content of what it reads.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use xshell::cmd;

use crate::config::{ByteSize, Config, Image};
use crate::context::Context;
use crate::kinds::{Gate, StepId, StepKind, Tool};
use crate::pipeline::cache::Fingerprint;
use crate::pipeline::{Done, Memo, Ran, Run, Step, StepCx};
use crate::{docker, dockerfile, sbom, tools, trivy};

#[derive(Clone)]
pub struct Build {
    /// Gates turned off by `--skip-gate`; the report records them as skipped by request.
    pub skip: Vec<Gate>,
    /// Only these images (all when empty).
    pub images: Vec<String>,
    /// A step that makes the gates' tools available first (`up`'s preflight, which installs a missing pinned
    /// Trivy).
    pub tools_step: Option<StepId>,
}

impl Build {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let mut run = Run::new(ctx, "build");
        self.add_steps(ctx, &mut run)?;
        run.execute().map(drop)
    }

    /// Adds the build and gate steps to `run`. Returns the ids of the steps that must pass before the images are
    /// used (the gates).
    pub fn add_steps<'c>(&self, ctx: &'c Context, run: &mut Run<'c>) -> Result<Vec<StepId>> {
        let cfg = ctx.config()?;
        for name in &self.images {
            if cfg.image(name).is_none() {
                let names: Vec<&str> = cfg.images.iter().map(|i| i.name.as_str()).collect();
                return Err(crate::error::Error::usage(format!(
                    "no image `{name}` in {}; images: {}",
                    ctx.config_shown.display(),
                    names.join(", ")
                ))
                .into());
            }
        }
        let images: Vec<&'c Image> =
            cfg.images.iter().filter(|i| self.images.is_empty() || self.images.contains(&i.name)).collect();
        if images.is_empty() {
            return Ok(vec![]);
        }
        let tags: Vec<String> = images.iter().map(|i| i.tag.clone()).collect();
        run.add(Step::new(StepId::preflight_docker(), StepKind::Preflight, "Docker daemon answers", move |cx| {
            if let Ran::Done((v, ids)) = docker::versions_and_ids(cx, &tags)? {
                let mut facts = cx.facts();
                facts.docker_version = Some(v.clone());
                facts.daemon_ids.extend(ids);
                drop(facts);
                cx.note(format!("docker {v}"));
            }
            Ok(Done::Passed)
        }));
        let with_binary: Vec<&'c Image> = images.iter().copied().filter(|i| i.binary.is_some()).collect();
        if !with_binary.is_empty() {
            let names: Vec<&str> = with_binary.iter().map(|i| i.name.as_str()).collect();
            run.add(Step::new(
                StepId::prebuild_binaries(),
                StepKind::Prebuild,
                format!("Static Linux binaries for {}", names.join(", ")),
                move |cx| prebuild(cx, &with_binary),
            ));
        }
        let mut gates = vec![];
        for img in images {
            let build_id = StepId::build(&img.name);
            let mut deps = vec![StepId::preflight_docker()];
            if img.binary.is_some() {
                deps.push(StepId::prebuild_binaries());
            }
            run.add(
                Step::new(build_id.clone(), StepKind::Build, format!("Build image {}", img.tag), move |cx| {
                    build(cx, img)
                })
                .after(deps),
            );
            for gate in Gate::ALL {
                let id = StepId::gate(gate, &img.name);
                let skipped = self.skip.contains(&gate);
                let title = match gate {
                    Gate::Size => "Size budget",
                    Gate::Vuln => "Vulnerabilities (Trivy)",
                    Gate::Policy => "Image policy",
                };
                let title = format!("{title}: {}", img.tag);
                let step = Step::new(id.clone(), StepKind::Gate, title, move |cx| match gate {
                    Gate::Size => size_gate(cx, cfg, img, skipped),
                    Gate::Vuln => vuln_gate(cx, cfg, img, skipped),
                    Gate::Policy => policy_gate(cx, cfg, img, skipped),
                });
                // Only Trivy comes from the tools step; the size and policy gates need the image alone.
                let tools = self.tools_step.clone().filter(|_| gate == Gate::Vuln);
                run.add(step.after([build_id.clone()]).after(tools));
                gates.push(id);
            }
        }
        Ok(gates)
    }
}

/// The Rust target for static Linux binaries on this host's architecture.
fn linux_target() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}

const STATIC_TARGET_DIR: &str = "target/xtask/static";

/// cargo-auditable, pinned (crates.io): it embeds the crate list in the `.dep-v0` section of each static binary,
/// the only place Trivy looks for a Rust binary's crates (aquasecurity/trivy `pkg/dependency/parser/rust/binary`).
pub const AUDITABLE_VERSION: &str = "0.7.7";

/// cargo-auditable on PATH or in .xtask/bin; else installed into .xtask/bin (unless `--no-install`), like the
/// other pinned tools.
fn ensure_auditable(cx: &mut StepCx, cargo: &str) -> Result<()> {
    let install = format!("cargo install cargo-auditable --locked --version {AUDITABLE_VERSION}");
    cx.plan(format!("check cargo-auditable (else `{install} --root .xtask`)"));
    cx.unless_planning(|cx| install_auditable(cx, cargo, &install)).map(drop)
}

fn install_auditable(cx: &mut StepCx, cargo: &str, install: &str) -> Result<()> {
    if tools::locate(&cx.ctx.local_bin(), "cargo-auditable").is_some() {
        return Ok(());
    }
    if cx.ctx.global.no_install {
        bail!(
            "cargo-auditable is not installed; the static binaries need it so that scanners (Trivy) can see their \
             crates. Install it: `{install}` (or drop --no-install and the xtask installs it into .xtask/bin)"
        );
    }
    cx.note(format!(
        "cargo-auditable is missing: installing {AUDITABLE_VERSION} into .xtask/bin (turn this off with --no-install)"
    ));
    let root = cx.ctx.local_bin().parent().map(Path::to_path_buf).context("the .xtask folder")?;
    let root = cx.ctx.rel(&root).into_owned();
    let v = AUDITABLE_VERSION;
    cx.run(cmd!(cx.sh, "{cargo} install cargo-auditable --locked --version {v} --root {root}").into())
        .with_context(|| format!("installing cargo-auditable failed; install it by hand: `{install}`"))?;
    Ok(())
}

fn staged_path(img: &Image, package: &str) -> PathBuf {
    img.context.join("bin").join(package)
}

/// One `cargo build` for every image's binary (cargo shares the work), then each copied into its build context.
fn prebuild(cx: &mut StepCx, images: &[&Image]) -> Result<Done> {
    let root = cx.ctx.root.clone();
    let mut packages = vec![];
    let mut target = linux_target().to_string();
    for img in images {
        let b = img.binary.as_ref().context("image without binary")?;
        if let Some(t) = &b.target {
            target = t.clone();
        }
        packages.push(b.package.clone());
    }
    let fp = binaries_fingerprint(&root, images, &target, &packages)?;
    let staged: Vec<PathBuf> =
        images.iter().filter_map(|i| i.binary.as_ref().map(|b| root.join(staged_path(i, &b.package)))).collect();
    if cx.cached(fp, |_| Ok(staged.iter().find(|p| !p.is_file()).map(|p| format!("{} is missing", p.display()))))? {
        return Ok(Done::Cached);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_auditable(cx, &cargo)?;
    let pkg_args: Vec<String> = packages.iter().flat_map(|p| ["-p".to_string(), p.clone()]).collect();
    let var = format!("CARGO_TARGET_{}_RUSTFLAGS", target.to_uppercase().replace('-', "_"));
    // A target dir of our own: no lock contention with a cargo that is running us (tests, `cargo run`), and the
    // static release artifacts are not shared with anything else anyway.
    let target_dir = STATIC_TARGET_DIR;
    // `cargo auditable build` is `cargo build` plus the `.dep-v0` section (the crate list, zlib-compressed JSON).
    let c = cmd!(
        cx.sh,
        "{cargo} auditable build --release --locked --target {target} --target-dir {target_dir} {pkg_args...}"
    )
    .env(&var, "-C target-feature=+crt-static");
    cx.run(c.into()).map_err(|e| {
        if crate::error::Error::is_timeout_or_interrupt(&e) {
            return e;
        }
        e.context(format!(
            "building static {target} binaries failed. On macOS or Windows this needs a Linux linker: see \
             docs/images.md (build inside WSL2 or a Linux VM, or set `binary.target`)"
        ))
    })?;
    for img in images {
        if let Some(b) = &img.binary {
            let staged = staged_path(img, &b.package);
            cx.plan(format!("copy {STATIC_TARGET_DIR}/{target}/release/{} -> {}", b.package, staged.display()));
        }
    }
    cx.unless_planning(|cx| stage_binaries(cx, &root, images, &target, &packages))?;
    Ok(Done::Passed)
}

/// Copies each built binary into its image's build context (unless it is there already).
fn stage_binaries(cx: &mut StepCx, root: &Path, images: &[&Image], target: &str, packages: &[String]) -> Result<()> {
    for img in images {
        let b = img.binary.as_ref().context("image without binary")?;
        let built = root.join(STATIC_TARGET_DIR).join(target).join("release").join(&b.package);
        let dest = root.join(staged_path(img, &b.package));
        std::fs::create_dir_all(dest.parent().context("staged path has a parent")?)?;
        let same = std::fs::read(&dest).ok() == std::fs::read(&built).ok();
        if !same {
            std::fs::copy(&built, &dest).with_context(|| format!("staging {} into {}", b.package, dest.display()))?;
        }
        let size = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
        cx.note(format!("{} {} ({})", b.package, if same { "unchanged" } else { "staged" }, ByteSize(size)));
    }
    // Again with the binaries just staged, so the next run compares like with like.
    cx.refresh_fingerprint(binaries_fingerprint(root, images, target, packages)?);
    Ok(())
}

/// What the static binaries are built from (the lock file, the workspace manifest, each image's sources), the
/// staged binaries themselves (a deleted or replaced one means a rebuild), the target and the packages.
fn binaries_fingerprint(root: &Path, images: &[&Image], target: &str, packages: &[String]) -> Result<Fingerprint> {
    let mut fp = Fingerprint::new().file(root, "Cargo.lock".as_ref())?.file(root, "Cargo.toml".as_ref())?;
    for img in images {
        let b = img.binary.as_ref().context("image without binary")?;
        for src in &b.sources {
            fp = fp.tree(root, src)?;
        }
        fp = fp.file(root, &staged_path(img, &b.package))?;
    }
    Ok(fp
        .value("target", target)
        .value("packages", &packages.join(","))
        .value("builder", &format!("cargo auditable {AUDITABLE_VERSION}")))
}

fn build_args(img: &Image) -> Vec<String> {
    img.build_args.iter().flat_map(|(k, v)| ["--build-arg".to_string(), format!("{k}={v}")]).collect()
}

fn build(cx: &mut StepCx, img: &Image) -> Result<Done> {
    let root = cx.ctx.root.clone();
    let docker_version = cx.facts().docker_version.clone();
    let fp = Fingerprint::new()
        .docker_context(&root, &img.context)?
        .file(&root, &img.dockerfile)?
        .value("tag", &img.tag)
        .value("build args", &serde_json::to_string(&img.build_args)?)
        .maybe_value("docker version", docker_version.as_deref());
    let tag = img.tag.clone();
    let cached = cx.cached(fp, |cx| {
        let want = cx.remembered(Memo::ImageId);
        // The preflight asked the daemon for every tag at once.
        let have = cx.facts().daemon_ids.get(&tag).cloned();
        Ok(match (have, want) {
            (Some(have), Some(want)) if have == want => None,
            (Some(_), _) => Some(format!("{tag} in the daemon is another build")),
            (None, _) => Some(format!("{tag} is no longer in the Docker daemon")),
        })
    })?;
    if cached {
        if let Some(id) = cx.remembered(Memo::ImageId) {
            cx.facts().image_ids.insert(img.name.clone(), id);
        }
        cx.unless_planning(|cx| write_sbom(cx, img))?;
        return Ok(Done::Cached);
    }
    let (df, ctxdir, args) = (&img.dockerfile, &img.context, build_args(img));
    let built = cx
        .run(docker::build_cmd(&cx.sh, df, &tag, &args, ctxdir))
        .with_context(|| format!("building {tag} from {}", df.display()))?;
    // The id is not known before the build: in a plan, later steps show it as a placeholder.
    let found = cx.unless_planning(|cx| match docker::image_id(cx, &tag)? {
        Some(id) => Ok(id),
        None => {
            bail!("{tag} is not in the Docker daemon after its build: {}", docker::why_not_loaded(cx, &built.stderr)?)
        }
    })?;
    let Ran::Done(id) = found else { return Ok(Done::Passed) };
    cx.note(format!("{tag} {}", short_id(&id)));
    cx.remember(Memo::ImageId, &id);
    cx.facts().image_ids.insert(img.name.clone(), id);
    write_sbom(cx, img)?;
    Ok(Done::Passed)
}

/// The image's SBOM (CycloneDX JSON) in the run folder, from the crate list cargo-auditable embedded in its
/// binary: what is in the image, readable without Trivy. Images without a `binary:` have none of ours to list.
fn write_sbom(cx: &mut StepCx, img: &Image) -> Result<()> {
    let Some(b) = &img.binary else { return Ok(()) };
    let path = cx.run_dir.join("sbom").join(format!("{}.cdx.json", img.name));
    let kept = sbom::Kept::new(&cx.ctx.state_dir(), img, cx.facts().image_ids.get(&img.name).map(String::as_str));
    if let Some(crates) = kept.as_ref().and_then(|k| k.restore(&path)) {
        cx.note(format!("SBOM {} ({crates} crates)", cx.ctx.rel(&path).display()));
        return Ok(());
    }
    let staged = cx.ctx.root.join(staged_path(img, &b.package));
    let bytes = std::fs::read(&staged).with_context(|| format!("reading {}", staged.display()))?;
    let deps = match sbom::read_auditable(&bytes) {
        Ok(d) => d,
        Err(e) => {
            // The vulnerability gate fails such an image with the full story; here it only costs the SBOM.
            cx.note(format!("no SBOM for {}: {}: {e:#}", img.name, cx.ctx.rel(&staged).display()));
            return Ok(());
        }
    };
    let bom = sbom::cyclonedx(img, &deps);
    let bom = serde_json::to_string_pretty(&bom)?;
    crate::files::write_atomic(&path, bom.as_bytes())?;
    if let Some(k) = kept {
        k.keep(bom.as_bytes(), deps.packages.len());
    }
    cx.note(format!("SBOM {} ({} crates)", cx.ctx.rel(&path).display(), deps.packages.len()));
    Ok(())
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// The image id that the build step produced or found cached; gates fingerprint on it.
fn image_for_gate(cx: &StepCx, img: &Image) -> String {
    cx.facts().image_id(&img.name).to_string()
}

/// A gate that does not run: turned off for this run (`--skip-gate`), or in the config. The report says which.
fn gate_off(gate: Gate, skipped: bool, enabled: bool, key: &str) -> Option<Done> {
    if skipped {
        Some(Done::Skipped(format!("skipped by request (--skip-gate {})", gate.name())))
    } else if !enabled {
        Some(Done::Skipped(format!("disabled in the config ({key}: false)")))
    } else {
        None
    }
}

/// On a cache hit, repeats the figures the gate found when it ran.
fn cached_with_summary(cx: &mut StepCx) -> Result<Done> {
    if let Some(s) = cx.remembered(Memo::Summary) {
        cx.note(s);
    }
    Ok(Done::Cached)
}

fn size_gate(cx: &mut StepCx, cfg: &Config, img: &Image, skip: bool) -> Result<Done> {
    if let Some(off) = gate_off(Gate::Size, skip, cfg.gates.size, "gates.size") {
        return Ok(off);
    }
    let budget = &img.size_budget;
    let fp = Fingerprint::new()
        .value("image", &image_for_gate(cx, img))
        .value("budget", &format!("{:?}/{:?}", budget.uncompressed, budget.compressed));
    if cx.cached(fp, |_| Ok(None))? {
        return cached_with_summary(cx);
    }
    let tag = &img.tag;
    // From the saved layers, not `docker image inspect .Size`, whose meaning depends on the image store.
    let store = docker::image_store(cx)?;
    let Ran::Done(sizes) = docker::save_sizes(cx, tag)? else { return Ok(Done::Passed) };
    let (size, compressed) = (sizes.uncompressed, sizes.compressed);
    let show = |v: u64, b: Option<ByteSize>| match b {
        Some(b) => format!("{} (budget {b})", ByteSize(v)),
        None => format!("{} (no budget)", ByteSize(v)),
    };
    let summary =
        format!("uncompressed {}, compressed {}", show(size, budget.uncompressed), show(compressed, budget.compressed));
    cx.note(summary.clone());
    cx.note(format!("measured from `docker save` ({} layer(s)) on the {store}", sizes.layers));
    let mut over = vec![];
    if let Some(b) = budget.uncompressed.filter(|b| size > b.0) {
        over.push(format!("uncompressed {} > {b}", ByteSize(size)));
    }
    if let Some(b) = budget.compressed.filter(|b| compressed > b.0) {
        over.push(format!("compressed {} > {b}", ByteSize(compressed)));
    }
    if over.is_empty() {
        cx.remember(Memo::Summary, &summary);
        return Ok(Done::Passed);
    }
    let mut layers = docker::history(cx, tag)?;
    layers.sort_by_key(|l| std::cmp::Reverse(l.size));
    let dockerfile = dockerfile::read(&cx.ctx.root, &img.dockerfile, &img.name).unwrap_or_default();
    let rows: Vec<String> = layers
        .iter()
        .take(5)
        .map(|l| {
            format!(
                "  {:>10}  {}",
                ByteSize(l.size).to_string(),
                dockerfile::instruction_for(&l.created_by, &dockerfile)
            )
        })
        .collect();
    bail!(
        "{tag} is over its size budget: {}. Largest layers:\n{}\n(`--skip-gate size` lets one run pass it, recorded as \
         skipped by request)",
        over.join(", "),
        rows.join("\n")
    )
}

fn vuln_gate(cx: &mut StepCx, cfg: &Config, img: &Image, skip: bool) -> Result<Done> {
    let gate = &cfg.gates.vulnerabilities;
    if let Some(off) = gate_off(Gate::Vuln, skip, gate.enabled, "gates.vulnerabilities.enabled") {
        return Ok(off);
    }
    let root = cx.ctx.root.clone();
    let today = crate::text::rfc3339(std::time::SystemTime::now())[..10].to_string();
    let mut fp = Fingerprint::new()
        .value("image", &image_for_gate(cx, img))
        .value("gate", &serde_json::to_string(gate)?)
        // The vulnerability database changes daily; a scan is reused for the day only.
        .value("day", &today);
    if let Some(f) = &gate.ignore_file {
        fp = fp.file(&root, f)?;
    }
    if cx.cached(fp, |_| Ok(None))? {
        return cached_with_summary(cx);
    }
    let ignores = match &gate.ignore_file {
        Some(f) => trivy::load_ignores(&root, f)?,
        None => vec![],
    };
    let def = tools::def(Tool::Trivy);
    let installed = cx.unless_planning(|cx| Ok(tools::locate(&cx.ctx.local_bin(), def.program).is_some()))?;
    if let Ran::Done(false) = installed {
        bail!(
            "trivy is not installed, so the vulnerability gate cannot run. Install it: {}. Or pass `--skip-gate vuln` \
             (recorded in the report as skipped by request)",
            tools::hint(def)
        );
    }
    let tag = &img.tag;
    trivy::prepare_db(cx)?;
    let Ran::Done(out) = trivy::scan(cx, tag)? else { return Ok(Done::Passed) };
    // Trivy skips a Rust binary without cargo-auditable's dependency list without a word
    // (pkg/fanal/analyzer/language/rust/binary/binary.go:26-28): an empty scan would pass whatever crates we ship.
    if let Some(b) = &img.binary {
        if trivy::language_targets(&out).is_empty() {
            bail!(
                "Trivy reported no language packages in {tag}, which holds the Rust binary `{}`: it could not read \
                 the binary's crates, so this scan proves nothing about them. Build the binary with cargo-auditable \
                 (`cargo xtask build` does: it installs cargo-auditable {} into .xtask/bin unless --no-install), so \
                 it carries the `.dep-v0` section Trivy reads",
                b.package,
                AUDITABLE_VERSION
            );
        }
    }
    let findings = trivy::parse_report(&out)?;
    let total = findings.len();
    let v = trivy::judge(findings, gate, &ignores, &today);
    let sev: Vec<&str> = gate.severities.iter().map(|s| s.as_str()).collect();
    let summary = format!(
        "{total} finding(s); {} at {} failing, {} let through, {} below threshold",
        v.failing.len(),
        sev.join("/"),
        v.let_through.len(),
        v.below_threshold
    );
    cx.note(summary.clone());
    for (f, why) in &v.let_through {
        cx.note(format!("let through {}: {why}", f.id));
    }
    for e in &v.expired {
        cx.note(format!("ignore entry no longer applies: {e}"));
    }
    if v.failing.is_empty() {
        cx.remember(Memo::Summary, &summary);
        return Ok(Done::Passed);
    }
    let rows: Vec<String> = v.failing.iter().map(|f| format!("  {}", trivy::describe(f))).collect();
    bail!(
        "{tag} has {} vulnerability finding(s) at {}:\n{}\nUpgrade the packages, or add entries with `statement` and \
         `expired_at` to {}",
        v.failing.len(),
        sev.join("/"),
        rows.join("\n"),
        gate.ignore_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "an ignore file".into())
    )
}

fn policy_gate(cx: &mut StepCx, cfg: &Config, img: &Image, skip: bool) -> Result<Done> {
    let policy = &cfg.gates.policy;
    if let Some(off) = gate_off(Gate::Policy, skip, policy.enabled, "gates.policy.enabled") {
        return Ok(off);
    }
    let root = cx.ctx.root.clone();
    let fp = Fingerprint::new()
        .value("image", &image_for_gate(cx, img))
        .file(&root, &img.dockerfile)?
        .value("policy", &serde_json::to_string(policy)?)
        .value("port", &format!("{:?}", img.port));
    if cx.cached(fp, |_| Ok(None))? {
        return cached_with_summary(cx);
    }
    let dockerfile = dockerfile::read(&root, &img.dockerfile, &img.name)?;
    let Ran::Done(info) = docker::inspect(cx, &img.tag)? else { return Ok(Done::Passed) };
    let problems = crate::policy::image::problems(&info["Config"], &dockerfile, &img.build_args, img, policy);
    if problems.is_empty() {
        let summary = format!(
            "user {}, healthcheck, port {} exposed, bases pinned",
            info["Config"]["User"].as_str().unwrap_or(""),
            img.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
        );
        cx.note(summary.clone());
        cx.remember(Memo::Summary, &summary);
        return Ok(Done::Passed);
    }
    bail!(
        "{} breaks the image policy:\n{}\n(`--skip-gate policy` lets one run pass it, recorded as skipped by request)",
        img.tag,
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::AUDITABLE_VERSION;

    /// CI (.ci/run and the workflow) installs the same cargo-auditable the xtask would install.
    #[test]
    fn ci_installs_the_pinned_cargo_auditable() {
        let install = format!("cargo install cargo-auditable --locked --version {AUDITABLE_VERSION}");
        assert!(include_str!("../../.ci/run").contains(&install));
        assert!(include_str!("../../.github/workflows/pipeline.yml").contains(&install));
    }
}
