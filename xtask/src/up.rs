//! `cargo xtask up`: preflight, build and gates, cluster, images, lint, render, deploy, helm test, and how to
//! reach the app. Each step is cached, so a rerun with nothing changed builds, loads and upgrades nothing.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};

use crate::build::Build;
use crate::config::{Config, Image};
use crate::context::Context;
use crate::kinds::{Gate, StepFamily, StepId, StepKind, Tool};
use crate::pipeline::cache::Fingerprint;
use crate::pipeline::console::{self, Shown};
use crate::pipeline::{Done, Placeholder, Planned, Pushed, Ran, Run, Step, StepCx};
use crate::target::{ClusterSpec, Delivery, Provider};
use crate::{docker, helm, kube, minikube};

pub struct Up {
    pub build: Build,
    /// A missing AI tool or key fails the AI steps instead of skipping them.
    pub require_ai: bool,
}

impl Up {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let mut run = Run::new(ctx, "up");
        self.add_steps(ctx, &mut run)?;
        let facts = run.execute()?;
        if let Some(url) = &facts.app_url {
            console::show(Shown::Value { name: "app.url", value: url });
        }
        Ok(())
    }

    pub fn add_steps<'c>(&self, ctx: &'c Context, run: &mut Run<'c>) -> Result<()> {
        let cfg = ctx.config()?;
        // Read (and register for redaction) before any step can print them.
        let secrets = helm::secret_values(&ctx.root, cfg, ctx.global.dry_run)?;
        let mut needed = match cfg.target.provider() {
            Provider::Minikube => vec![Tool::Minikube, Tool::Kubectl, Tool::Helm],
            Provider::Kind => vec![Tool::Kind, Tool::Kubectl, Tool::Helm],
            Provider::K3d => vec![Tool::K3d, Tool::Kubectl, Tool::Helm],
            Provider::Existing => vec![Tool::Kubectl, Tool::Helm],
        };
        if matches!(cfg.target.delivery, Delivery::Registry(_)) || cfg.target.provider() != Provider::Minikube {
            needed.push(Tool::Docker);
        }
        if cfg.gates.vulnerabilities.enabled
            && !cfg.images.is_empty()
            && !self.build.skip.contains(&crate::kinds::Gate::Vuln)
        {
            needed.push(Tool::Trivy);
        }
        run.add(crate::preflight::preflight_step(needed));
        let build = Build { tools_step: Some(StepId::preflight_tools()), ..self.build.clone() };
        let gates = build.add_steps(ctx, run)?;
        add_cluster_steps(cfg, run, &gates);
        let render = crate::chart::add_static_steps(cfg, run, secrets.clone(), Some(StepId::preflight_tools()));
        let last = add_release_steps(cfg, run, secrets, &render);
        crate::ai::add_config_steps(cfg, run, &last, self.require_ai);
        crate::diagnose::add_on_failure(cfg, run);
        Ok(())
    }
}

/// The cluster, then each gated image loaded into it.
fn add_cluster_steps<'c>(cfg: &'c Config, run: &mut Run<'c>, gates: &[StepId]) {
    let c = &cfg.cluster;
    let title = match &cfg.target.cluster {
        ClusterSpec::Minikube(_) => format!("Minikube profile `{}` running", c.profile),
        ClusterSpec::Kind(k) => format!("kind cluster `{}` running", k.name),
        ClusterSpec::K3d(k) => format!("k3d cluster `{}` running", k.name),
        ClusterSpec::Existing(e) => format!("Existing cluster reachable through context `{}`", e.context),
    };
    run.add(
        Step::new(StepId::cluster_start(), StepKind::Cluster, title, move |cx| match &cfg.target.cluster {
            ClusterSpec::Minikube(_) => ensure_cluster(cx, cfg),
            ClusterSpec::Kind(k) => crate::kind::ensure(cx, k),
            ClusterSpec::K3d(k) => crate::k3d::ensure(cx, k),
            ClusterSpec::Existing(e) => existing_cluster(cx, cfg, &e.context),
        })
        .after([StepId::preflight_tools()]),
    );
    for img in &cfg.images {
        let mut deps = vec![StepId::cluster_start()];
        let own_gates: Vec<StepId> = Gate::ALL.iter().map(|g| StepId::gate(*g, &img.name)).collect();
        deps.extend(gates.iter().filter(|g| own_gates.contains(g)).cloned());
        if deps.len() == 1 {
            deps.push(StepId::build(&img.name));
        }
        run.add(
            Step::new(StepId::load(&img.name), StepKind::Load, load_title(cfg, img), move |cx| {
                load_image(cx, cfg, img)
            })
            .after(deps),
        );
    }
}

fn load_title(cfg: &Config, img: &Image) -> String {
    match (&cfg.target.delivery, &cfg.target.cluster) {
        (Delivery::Registry(r), _) => format!("Push {} to {r}", img.tag),
        (_, ClusterSpec::Kind(_)) => format!("Load {} into the kind cluster", img.tag),
        (_, ClusterSpec::K3d(_)) => format!("Import {} into the k3d cluster", img.tag),
        _ => format!("Load {} into the cluster", img.tag),
    }
}

/// An existing cluster has no lifecycle: only reachability, and whether the release namespace is already there
/// (recorded, so teardown deletes the namespace only when the pipeline created it).
fn existing_cluster(cx: &mut StepCx, cfg: &Config, context: &str) -> Result<Done> {
    let t = kube::Target { context, namespace: &cfg.release.namespace };
    let ns = t.namespace;
    let Ran::Done(out) = cx.ask(kube::namespace_if_any_cmd(&cx.sh, t))? else { return Ok(Done::Passed) };
    if !out.success() {
        bail!("the cluster behind context `{context}` does not answer ({}): {}", out.ending(), out.tail(3));
    }
    let name = &cfg.target.name;
    let mut record = crate::guard::load_record(cx.ctx, name);
    if out.stdout.trim().is_empty() {
        record.created_namespace = Some(true);
        cx.note(format!("namespace `{ns}` does not exist yet: the deploy creates it (teardown may delete it)"));
    } else if record.created_namespace.is_none() {
        record.created_namespace = Some(false);
        cx.note(format!("namespace `{ns}` exists and was not created by the pipeline: teardown leaves it"));
    }
    crate::guard::save_record(cx.ctx, name, &record)?;
    Ok(Done::Passed)
}

fn ensure_cluster(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let c = &cfg.cluster;
    let (state, detail) = match minikube::status(cx, &c.profile)? {
        Ran::Done(status) => status,
        // A plan takes the path that creates the cluster.
        Ran::Planned => (minikube::State::Nonexistent, "unknown (dry run)".into()),
    };
    match state {
        minikube::State::Running => {
            refuse_drift(cx, c, "running")?;
            let enabled = minikube::ensure_addons(cx, c)?;
            if !enabled.is_empty() {
                cx.note(format!("enabled addons: {}", enabled.join(", ")));
            }
            cx.note(format!("profile `{}` already running", c.profile));
            Ok(Done::Cached)
        }
        minikube::State::Stopped | minikube::State::Degraded => {
            // `minikube start` on an existing profile keeps its cpus and memory with only a warning (minikube
            // `cmd/minikube/cmd/start_flags.go:760,764` at v1.35.0) and refuses a driver change (exit 81) or a downgrade (106):
            // compare first, so the change is not silently ignored.
            refuse_drift(cx, c, "stopped")?;
            cx.note(format!("profile `{}` is not running ({detail}): starting it", c.profile));
            minikube::start(cx, c)?;
            check_addons(cx, c)?;
            Ok(Done::Passed)
        }
        minikube::State::Broken { daemon_down: true } => bail!(
            "minikube cannot read profile `{}`: the Docker daemon does not answer. Start Docker (Docker Desktop, or \
             `sudo systemctl start docker`), then rerun `cargo xtask up`; the cluster's data is still in its container",
            c.profile
        ),
        minikube::State::Broken { daemon_down: false } => {
            // The container and everything in it (images, release, volumes) are already gone: recreating loses
            // nothing more. `minikube start` demolishes and recreates a missing machine (fix.go recreateIfNeeded).
            cx.note(format!(
                "profile `{}` exists but its container is gone (removed by `docker system prune`, a Docker Desktop \
                 reset, ...): recreating it with `minikube start`",
                c.profile
            ));
            cx.invalidate_family(StepFamily::Load);
            cx.invalidate_family(StepFamily::Deploy);
            cx.invalidate_family(StepFamily::Test);
            minikube::start(cx, c)?;
            Ok(Done::Passed)
        }
        minikube::State::Nonexistent => {
            // A new cluster has none of the images and no release: forget what earlier runs loaded and deployed.
            cx.invalidate_family(StepFamily::Load);
            cx.invalidate_family(StepFamily::Deploy);
            cx.invalidate_family(StepFamily::Test);
            minikube::start(cx, c)?;
            check_addons(cx, c)?;
            Ok(Done::Passed)
        }
    }
}

/// `minikube start --addons A` exits 0 when an addon fails to enable (only a warning `Enabling 'A' returned an
/// error`, minikube `pkg/addons/addons.go:536`): enable what is missing now, so the failure surfaces here with
/// minikube's reason instead of later as an HPA without metrics or an unreachable ingress.
fn check_addons(cx: &mut StepCx, c: &crate::config::Cluster) -> Result<()> {
    // A plan has started nothing whose addons could be read.
    cx.unless_planning(|cx| {
        let enabled = minikube::ensure_addons(cx, c)
            .with_context(|| format!("`minikube start` did not enable every addon of profile `{}`", c.profile))?;
        if !enabled.is_empty() {
            cx.note(format!("enabled addons that start left out: {}", enabled.join(", ")));
        }
        Ok(())
    })
    .map(drop)
}

/// The tag an image gets in the cluster: its configured tag plus the image id, so a rebuilt image under the same
/// tag still rolls the pods (Kubernetes compares tags, not content).
fn cluster_tag(img: &Image, id: &Planned<String>) -> String {
    match id {
        Planned::Known(id) => {
            let short = id.strip_prefix("sha256:").unwrap_or(id);
            format!("{}-{}", img.tag, &short[..short.len().min(12)])
        }
        Planned::Unknown(p) => format!("{}-{p}", img.tag),
    }
}

fn load_image(cx: &mut StepCx, cfg: &Config, img: &Image) -> Result<Done> {
    let planned_id = cx.facts().image_id(&img.name);
    let id = planned_id.to_string();
    let profile = &cfg.cluster.profile;
    let tag = cluster_tag(img, &planned_id);
    cx.facts().cluster_tags.insert(img.name.clone(), tag.clone());
    if let Delivery::Registry(reg) = &cfg.target.delivery {
        return push_image(cx, reg, img, &tag);
    }
    let fp = match &cfg.target.cluster {
        // The input Minikube runs have always recorded, so existing caches stay valid.
        ClusterSpec::Minikube(_) => Fingerprint::new().value("image", &id).value("profile", profile),
        _ => Fingerprint::new().value("image", &id).value("cluster", cfg.kube_context()),
    };
    if cx.cached(fp, |_| Ok(None))? {
        return Ok(Done::Cached);
    }
    cx.run(docker::tag_cmd(&cx.sh, &img.tag, &tag))?;
    let loaded = match &cfg.target.cluster {
        ClusterSpec::Kind(k) => crate::kind::load(cx, &k.name, &tag)?,
        ClusterSpec::K3d(k) => crate::k3d::load(cx, &k.name, &tag)?,
        ClusterSpec::Existing(e) => bail!(
            "target `{}` is an existing cluster (context `{}`): images cannot be side-loaded into it — give the \
             target a `registry: host[:port]/path` to push them to",
            cfg.target.name,
            e.context
        ),
        ClusterSpec::Minikube(_) => minikube_load(cx, profile, &tag)?,
    };
    if let Ran::Done(()) = loaded {
        cx.note(format!("loaded as {tag}"));
    }
    Ok(Done::Passed)
}

/// `minikube image load`, checked: it exits 0 when the node-side load failed (minikube
/// `pkg/minikube/machine/cache_images.go` DoLoadImages: "Live pushes are not considered a failure";
/// kubernetes/minikube#23471), so the tag is looked for before the step is cached.
fn minikube_load(cx: &mut StepCx, profile: &str, tag: &str) -> Result<Ran<()>> {
    cx.run(minikube::image_load_cmd(&cx.sh, profile, tag))
        .with_context(|| format!("loading {tag} into the cluster"))?;
    let Ran::Done(listed) = cx.ask(minikube::image_ls_cmd(&cx.sh, profile))? else { return Ok(Ran::Planned) };
    let present = listed.stdout.lines().map(str::trim).any(|l| l == tag || l.ends_with(&format!("/{tag}")));
    if !present {
        bail!(
            "`minikube image load {tag} -p {profile}` exited 0 but {tag} is not in the cluster (minikube does not \
             report a failed load, kubernetes/minikube#23471). Run it by hand with `--alsologtostderr` to see why, \
             then rerun `cargo xtask up`"
        );
    }
    Ok(Ran::Done(()))
}

/// Pushes the image under `<registry>/<name>:<tag>-<id12>` and hands its digest on to the deploy. Cached on the
/// image id and the repository while the daemon still knows the digest for it.
fn push_image(cx: &mut StepCx, reg: &crate::target::RegistryRef, img: &Image, tag: &str) -> Result<Done> {
    let id = cx.facts().image_id(&img.name).to_string();
    let repo = reg.repository(&img.name);
    // What the release references: the same content under the name the cluster pulls from.
    let pull = reg.pull_repository(&img.name);
    let version = tag.rsplit_once(':').map(|(_, t)| t).unwrap_or(tag);
    let reference = format!("{repo}:{version}");
    let fp = Fingerprint::new().value("image", &id).value("repository", &repo);
    // A plan asks nothing of Docker: it shows the digest recorded when this exact tag was last pushed.
    let recorded = pushed_record(cx, img);
    let asked = cx.unless_planning(|cx| crate::registry::known_digest(cx, &reference, &repo))?;
    let planning = matches!(asked, Ran::Planned);
    let known = match asked {
        Ran::Done(known) => known,
        Ran::Planned => recorded.as_ref().and_then(|(r, d)| (*r == reference).then(|| d.clone())),
    };
    let k = known.clone();
    if cx.cached(fp, move |_| Ok(if k.is_some() { None } else { Some("the registry digest is unknown".into()) }))? {
        if let Some(d) = known {
            let pushed = Pushed { repository: pull.clone(), digest: Planned::Known(d.clone()) };
            cx.facts().pushed.insert(img.name.clone(), pushed);
            cx.plan(format!("digest: {pull}@{d} (pushed earlier)"));
            if !planning {
                cx.note(format!("already pushed: {repo}@{d}"));
                record_pushed(cx, img, &reference, &d)?;
            }
        }
        return Ok(Done::Cached);
    }
    let digest = match crate::registry::push(cx, reg, &img.tag, &reference, &repo)? {
        Ran::Done(d) => {
            cx.note(format!("pushed {repo}@{d}"));
            record_pushed(cx, img, &reference, &d)?;
            Planned::Known(d)
        }
        Ran::Planned => Planned::Unknown(Placeholder::PushDigest),
    };
    cx.facts().pushed.insert(img.name.clone(), Pushed { repository: pull, digest });
    Ok(Done::Passed)
}

/// target/xtask/targets/<target>/pushed-<image>.json: the reference last pushed and its digest, so a plan can show
/// it. One file per image: the push steps run in parallel.
fn pushed_path(cx: &StepCx, img: &Image) -> std::path::PathBuf {
    let target = cx.ctx.config().map(|c| c.target.name.clone()).unwrap_or_default();
    cx.ctx.state_dir().join("targets").join(target).join(format!("pushed-{}.json", img.name))
}

fn pushed_record(cx: &StepCx, img: &Image) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(pushed_path(cx, img)).ok()?).ok()?;
    Some((v["reference"].as_str()?.to_string(), v["digest"].as_str()?.to_string()))
}

fn record_pushed(cx: &StepCx, img: &Image, reference: &str, digest: &str) -> Result<()> {
    let path = pushed_path(cx, img);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::json!({"reference": reference, "digest": digest});
    crate::files::write_atomic(&path, json.to_string().as_bytes())
}

/// Deploy, helm test, URL. Returns the id of the last step.
fn add_release_steps<'c>(
    cfg: &'c Config,
    run: &mut Run<'c>,
    secrets: BTreeMap<String, String>,
    render: &StepId,
) -> StepId {
    let r = &cfg.release;
    let secrets = std::sync::Arc::new(secrets);
    let mut deps = vec![render.clone(), StepId::cluster_start()];
    deps.extend(cfg.images.iter().map(|i| StepId::load(&i.name)));
    let deploy_id = StepId::deploy(&r.name);
    let s = secrets.clone();
    run.add(
        Step::new(
            deploy_id.clone(),
            StepKind::Deploy,
            format!("helm upgrade --install {} (rolls back on failure)", r.name),
            move |cx| deploy(cx, cfg, &s),
        )
        .after(deps),
    );
    let test_id = StepId::test(&r.name);
    run.add(
        Step::new(test_id.clone(), StepKind::Test, format!("helm test {}", r.name), move |cx| helm_test(cx, cfg))
            .after([deploy_id]),
    );
    if r.service.is_some() {
        run.add(
            Step::new(StepId::url_app(), StepKind::Verify, "How to reach the app", move |cx| app_url(cx, cfg))
                .after([test_id]),
        );
        return StepId::url_app();
    }
    test_id
}

/// For images pushed to a registry: `<prefix>.repository=<registry>/<name>` and `<prefix>.digest=sha256:...` beside
/// each `<prefix>.tag` key of `release.image_values` (the chart uses the digest instead of the tag when set).
fn digest_args(cx: &StepCx, cfg: &Config) -> Vec<String> {
    let mut a = vec![];
    for (key, image) in &cfg.release.image_values {
        let pushed = cx.facts().pushed.get(image).cloned();
        let (Some(prefix), Some(pushed)) = (key.strip_suffix(".tag"), pushed) else {
            continue;
        };
        a.extend(["--set".into(), format!("{prefix}.repository={}", pushed.repository)]);
        a.extend(["--set".into(), format!("{prefix}.digest={}", pushed.digest)]);
    }
    a
}

fn image_tags(cx: &StepCx, cfg: &Config) -> BTreeMap<String, String> {
    cfg.images
        .iter()
        .filter_map(|i| {
            let t = cx.facts().cluster_tags.get(&i.name).cloned().unwrap_or_else(|| i.tag.clone());
            t.rsplit_once(':').map(|(_, tag)| (i.name.clone(), tag.to_string()))
        })
        .collect()
}

fn deploy(cx: &mut StepCx, cfg: &Config, secrets: &BTreeMap<String, String>) -> Result<Done> {
    let r = &cfg.release;
    let rel = helm::Release::of(cfg);
    let (chart, name, context) = (&r.chart, rel.name, rel.context);
    let major = helm::major(cx)?;
    let mut args = helm::value_args(cfg, &image_tags(cx, cfg));
    args.extend(digest_args(cx, cfg));
    let secret_json = helm::secret_values_json(cfg, secrets);
    let fp = crate::chart::chart_fingerprint(cx, cfg, &args, secret_json.as_deref())?
        .value("helm major", &major.to_string())
        .value("context", context);
    cx.facts().deploy_fingerprint = Some(fp.digest());
    let cached = cx.cached(fp, |cx| {
        Ok(match helm::status(cx, rel)? {
            Some(s) if s == "deployed" => None,
            Some(s) => Some(format!("the release is {s}")),
            None => Some("the release is not installed".into()),
        })
    })?;
    if cached {
        return Ok(Done::Cached);
    }
    let flags = helm::upgrade_flags(major, &helm::go_duration(r.timeout.0));
    let (_secret_file, secret_args) = helm::SecretValues::write(cx, secret_json.as_deref(), cx.id.as_str())?;
    args.extend(secret_args);
    // Helm enforces --timeout itself; ours is a backstop. A failed upgrade's automatic rollback gets a fresh full
    // --timeout (v3.21.4 `pkg/action/upgrade.go:527-536`, v4.2.2 `upgrade.go:582-592`), and killing helm during it
    // leaves the release `pending-rollback`: allow both, plus a minute.
    let backstop = r.timeout.0 * 2 + std::time::Duration::from_secs(60);
    let Ran::Done(out) = cx.ask(helm::upgrade_cmd(&cx.sh, rel, chart, &flags, &args, backstop))? else {
        return Ok(Done::Passed);
    };
    if out.success() {
        if let Some(rev) = out.stdout.lines().find_map(|l| l.strip_prefix("REVISION: ")) {
            cx.note(format!("release {name} revision {rev} deployed"));
        }
        return Ok(Done::Passed);
    }
    let reason = helm::failure_reason(&out.stderr);
    // The deploy's own error matters more than a failed look at the pods.
    let pods = match kube::get_pods(cx, kube::Target::release(cfg)) {
        Ok(Ran::Done(p)) => p.items,
        _ => vec![],
    };
    let culprits: Vec<String> = kube::pod_problems(&pods).iter().take(3).map(|p| p.to_string()).collect();
    let rolled = if helm::rolled_back(&out.stderr) { " and was rolled back" } else { "" };
    let culprit =
        if culprits.is_empty() { String::new() } else { format!("\nCulprit: {}", culprits.join("\n         ")) };
    bail!(
        "release {name} failed{rolled}: {reason}{culprit}\nSee `cargo xtask verify` diagnostics, or \
         docs/troubleshooting.md"
    )
}

fn helm_test(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let r = &cfg.release;
    let rel = helm::Release::of(cfg);
    let name = rel.name;
    // The same inputs as the deploy: tests rerun when the release changed, or when they failed last time.
    let deployed = cx.facts().deploy_fingerprint.clone().unwrap_or_default();
    let root = cx.ctx.root.clone();
    let fp = Fingerprint::new()
        .tree(&root, &r.chart)?
        .value("release", &deployed)
        .value("images", &format!("{:?}", image_tags(cx, cfg)));
    if cx.cached(fp, |_| Ok(None))? {
        return Ok(Done::Cached);
    }
    let t = helm::go_duration(r.timeout.0);
    // No `--logs`: Helm 3 and 4.0.0-4.0.4 delete `hook-succeeded` test pods before `--logs` reads them and then
    // fail a passing suite (helm/helm#9098); the logs of a failed test pod are read with kubectl below instead,
    // which works on every Helm version and with any chart's delete policy (docs/architecture.md).
    let Ran::Done(out) = cx.ask(helm::test_cmd(&cx.sh, rel, &t))? else { return Ok(Done::Passed) };
    let phases: Vec<String> =
        out.stdout.lines().filter(|l| l.trim_start().starts_with("Phase:")).map(|l| l.trim().to_string()).collect();
    if out.success() {
        if !phases.is_empty() {
            cx.note(format!("{} test pod(s): {}", phases.len(), phases.join(", ")));
        }
        return Ok(Done::Passed);
    }
    let failed = helm::failed_test_pods(&out.stderr);
    let reason = if failed.is_empty() {
        helm::failure_reason(&out.stderr)
    } else {
        format!("test pod(s) {} failed", failed.join(", "))
    };
    let mut logs = String::new();
    for pod in failed {
        let l = cx.probe(kube::logs_cmd(&cx.sh, kube::Target::release(cfg), &pod, false, 20))?;
        let text = if l.success() { l.stdout.trim_end().to_string() } else { format!("(no logs: {})", l.tail(1)) };
        logs.push_str(&format!("\nLogs of test pod {pod}:\n{text}"));
    }
    bail!("helm test {name} failed: {reason}{logs}")
}

fn app_url(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (r, c) = (&cfg.release, &cfg.cluster);
    let service = r.service.as_deref().unwrap_or_default();
    if cfg.target.provider() != Provider::Minikube {
        let hint = format!(
            "run `kubectl --context {} port-forward -n {} svc/{service} 8080:<service port>` (or use the Ingress)",
            cfg.kube_context(),
            r.namespace
        );
        cx.note(hint.clone());
        cx.facts().app_url = Some(hint);
        return Ok(Done::Passed);
    }
    if minikube::url_needs_tunnel(cx, &c.driver)? {
        let hint = format!(
            "run `minikube service {service} -n {} -p {}` (keeps a tunnel open while it runs)",
            r.namespace, c.profile
        );
        cx.note(hint.clone());
        cx.facts().app_url = Some(hint);
        return Ok(Done::Passed);
    }
    match minikube::service_url(cx, &c.profile, &r.namespace, service)? {
        Ran::Done(Some(url)) => {
            cx.note(format!("the app: {url}"));
            cx.facts().app_url = Some(url);
        }
        Ran::Planned => {}
        Ran::Done(None) => bail!("`minikube service {service} --url` printed no URL; is the Service a NodePort?"),
    }
    Ok(Done::Passed)
}

/// A profile whose settings differ from the config needs a re-create, which loses its data: say so and stop.
fn refuse_drift(cx: &mut StepCx, c: &crate::config::Cluster, state_word: &str) -> Result<()> {
    if let Some(settings) = minikube::profile_settings(cx, &c.profile)? {
        let drift = minikube::drift(&settings, c);
        if !drift.is_empty() {
            bail!(
                "the {state_word} cluster `{}` differs from the config: {}. These need a re-create: run \
                 `cargo xtask teardown --delete`, then `cargo xtask up`",
                c.profile,
                drift.join("; ")
            );
        }
    }
    Ok(())
}
