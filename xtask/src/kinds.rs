//! The program's closed sets — step kinds, verify checks, build gates, CI stages and tool names — as one vocabulary
//! leaf. It imports nothing from the crate, so the config, the engine, the CLI and the commands can all name these
//! sets without importing each other (docs/architecture.md, "Architecture invariant").

use std::time::Duration;

use clap::ValueEnum;

/// The kind of a step; `timeouts:` in xtask.yaml overrides the default of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Preflight,
    Prebuild,
    Build,
    Gate,
    Cluster,
    Load,
    Lint,
    Render,
    Deploy,
    Test,
    Verify,
    Teardown,
    Ai,
    Diagnose,
}

impl StepKind {
    /// Every kind, in the order `timeouts:` documents them.
    pub const ALL: [StepKind; 14] = [
        StepKind::Preflight,
        StepKind::Prebuild,
        StepKind::Build,
        StepKind::Gate,
        StepKind::Cluster,
        StepKind::Load,
        StepKind::Lint,
        StepKind::Render,
        StepKind::Deploy,
        StepKind::Test,
        StepKind::Verify,
        StepKind::Teardown,
        StepKind::Ai,
        StepKind::Diagnose,
    ];

    /// The name used in xtask.yaml (`timeouts:`), the report and progress lines.
    pub const fn name(self) -> &'static str {
        match self {
            StepKind::Preflight => "preflight",
            StepKind::Prebuild => "prebuild",
            StepKind::Build => "build",
            StepKind::Gate => "gate",
            StepKind::Cluster => "cluster",
            StepKind::Load => "load",
            StepKind::Lint => "lint",
            StepKind::Render => "render",
            StepKind::Deploy => "deploy",
            StepKind::Test => "test",
            StepKind::Verify => "verify",
            StepKind::Teardown => "teardown",
            StepKind::Ai => "ai",
            StepKind::Diagnose => "diagnose",
        }
    }

    /// The kind called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether a failed step of this kind happened in the cluster, so the cluster's diagnostics explain it.
    pub fn touches_cluster(self) -> bool {
        matches!(self, StepKind::Deploy | StepKind::Test | StepKind::Verify)
    }

    /// Whether a running step of this kind is stopped when another fails (fail-fast): compiles and image builds
    /// are long, can be restarted and leave nothing half-done (the cache records finished steps only). The other
    /// kinds finish: they are short (preflight, gates, lint, render, verify, ai), or a kill would leave shared state
    /// half-changed (a cluster half-created, a Helm release stuck in `pending-upgrade`, an image half-loaded).
    pub fn stoppable(self) -> bool {
        matches!(self, StepKind::Prebuild | StepKind::Build)
    }

    /// Whether steps of this kind are cheap checks: after a failure they still start once their own dependencies
    /// passed, so a report lists every gate's and check's verdict whatever the number of CPUs.
    pub fn cheap_check(self) -> bool {
        matches!(self, StepKind::Gate | StepKind::Lint | StepKind::Render | StepKind::Verify)
    }

    /// How long a step of this kind may run when `timeouts:` does not say.
    pub fn default_timeout(self) -> Duration {
        let m = |n: u64| Duration::from_secs(n * 60);
        match self {
            StepKind::Preflight | StepKind::Lint | StepKind::Render => m(2),
            StepKind::Prebuild | StepKind::Build => m(20),
            StepKind::Cluster | StepKind::Deploy => m(15),
            StepKind::Ai | StepKind::Diagnose => m(5),
            _ => m(10),
        }
    }
}

/// The names of every [`StepKind`], for messages that list them.
pub const STEP_KIND_NAMES: [&str; 14] = {
    let mut names = [""; 14];
    let mut i = 0;
    while i < 14 {
        names[i] = StepKind::ALL[i].name();
        i += 1;
    }
    names
};

/// One check of `cargo xtask verify` (`--only`/`--skip`, `verify.checks:` in xtask.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Rollout,
    Health,
    Roundtrip,
    Resilience,
    Persistence,
    Hpa,
    Ingress,
}

impl Check {
    /// Every check, in the order verify runs them.
    pub const ALL: [Check; 7] = [
        Check::Rollout,
        Check::Health,
        Check::Roundtrip,
        Check::Resilience,
        Check::Persistence,
        Check::Hpa,
        Check::Ingress,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::Rollout => "rollout",
            Check::Health => "health",
            Check::Roundtrip => "roundtrip",
            Check::Resilience => "resilience",
            Check::Persistence => "persistence",
            Check::Hpa => "hpa",
            Check::Ingress => "ingress",
        }
    }
}

/// A gate that `--skip-gate` can turn off; the report records it as skipped by request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Gate {
    Size,
    Vuln,
    Policy,
}

/// A stage of `cargo xtask ci`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Stage {
    /// Tools present at their minimums (and installed from the pins where missing)
    Preflight,
    /// Lint, render, schema and policy checks; Dockerfile lint (`verify --static`)
    Static,
    /// Images built and gated (`build`)
    Build,
    /// Cluster, images loaded, release deployed and tested (`up`)
    Deploy,
    /// The deployment proven (`verify`)
    Verify,
    /// The release and the cluster removed (`teardown --delete`)
    Teardown,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preflight => "preflight",
            Stage::Static => "static",
            Stage::Build => "build",
            Stage::Deploy => "deploy",
            Stage::Verify => "verify",
            Stage::Teardown => "teardown",
        }
    }

    pub fn needs_cluster(self) -> bool {
        matches!(self, Stage::Deploy | Stage::Verify | Stage::Teardown)
    }
}

/// An external tool the pipeline drives; xtask.yaml's `tools:` names them, and the adapters' table (`tools::DEFS`)
/// has one entry per tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    Docker,
    Minikube,
    Kubectl,
    Helm,
    Kind,
    K3d,
    Trivy,
    KubectlAi,
    Kagent,
    DockerAi,
}

impl Tool {
    /// Every tool, in the order doctor lists them.
    pub const ALL: [Tool; 10] = [
        Tool::Docker,
        Tool::Minikube,
        Tool::Kubectl,
        Tool::Helm,
        Tool::Kind,
        Tool::K3d,
        Tool::Trivy,
        Tool::KubectlAi,
        Tool::Kagent,
        Tool::DockerAi,
    ];

    /// The name in doctor, xtask.yaml's `tools:`, `tools install` and the pins.
    pub const fn name(self) -> &'static str {
        match self {
            Tool::Docker => "docker",
            Tool::Minikube => "minikube",
            Tool::Kubectl => "kubectl",
            Tool::Helm => "helm",
            Tool::Kind => "kind",
            Tool::K3d => "k3d",
            Tool::Trivy => "trivy",
            Tool::KubectlAi => "kubectl-ai",
            Tool::Kagent => "kagent",
            Tool::DockerAi => "docker-ai",
        }
    }

    /// The tool called `name` (as a user or a file spells it), if there is one.
    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The names of every [`Tool`], for messages that list them.
pub const TOOL_NAMES: [&str; 10] = {
    let mut names = [""; 10];
    let mut i = 0;
    while i < 10 {
        names[i] = Tool::ALL[i].name();
        i += 1;
    }
    names
};

impl Gate {
    /// Every gate, in the order a build runs them.
    pub const ALL: [Gate; 3] = [Gate::Size, Gate::Vuln, Gate::Policy];

    /// The name in step ids (`gate:size:<image>`) and `--skip-gate`.
    pub const fn name(self) -> &'static str {
        match self {
            Gate::Size => "size",
            Gate::Vuln => "vuln",
            Gate::Policy => "policy",
        }
    }
}

/// A step's id, `kind:subject` (e.g. `gate:vuln:todo-api`): the name in the plan, the progress lines, the report
/// and the cache. Built only by the constructors below, so that a step and the steps that wait for it, forget its
/// cache entry or look it up name it the same way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepId(String);

impl StepId {
    /// The tools a command needs at their minimums (installing missing pinned ones).
    pub fn preflight_tools() -> StepId {
        StepId("preflight:tools".into())
    }

    /// The Docker daemon answers, and what it has under each image tag.
    pub fn preflight_docker() -> StepId {
        StepId("preflight:docker".into())
    }

    /// The static Linux binaries the images copy in.
    pub fn prebuild_binaries() -> StepId {
        StepId("prebuild:binaries".into())
    }

    pub fn build(image: &str) -> StepId {
        StepId(format!("build:{image}"))
    }

    pub fn gate(gate: Gate, image: &str) -> StepId {
        StepId(format!("gate:{}:{image}", gate.name()))
    }

    /// The cluster of the deploy target, running.
    pub fn cluster_start() -> StepId {
        StepId("cluster:start".into())
    }

    /// An image loaded into (or pushed for) the cluster.
    pub fn load(image: &str) -> StepId {
        StepId(format!("{}{image}", StepFamily::Load.prefix()))
    }

    /// `helm lint` with one values file (`values.yaml` for the chart's own).
    pub fn lint_values(file: &str) -> StepId {
        StepId(format!("lint:{file}"))
    }

    /// The Dockerfile rules of an image (`verify --static`).
    pub fn lint_dockerfile(image: &str) -> StepId {
        StepId(format!("lint:dockerfile:{image}"))
    }

    pub fn render_chart() -> StepId {
        StepId("render:chart".into())
    }

    pub fn render_manifests() -> StepId {
        StepId("render:manifests".into())
    }

    pub fn deploy(release: &str) -> StepId {
        StepId(format!("{}{release}", StepFamily::Deploy.prefix()))
    }

    /// `helm test` of a release.
    pub fn test(release: &str) -> StepId {
        StepId(format!("{}{release}", StepFamily::Test.prefix()))
    }

    /// How to reach the app.
    pub fn url_app() -> StepId {
        StepId("url:app".into())
    }

    pub fn rollback(release: &str) -> StepId {
        StepId(format!("rollback:{release}"))
    }

    pub fn verify(check: Check) -> StepId {
        StepId(format!("verify:{}", check.name()))
    }

    /// A question to an AI tool: `ai:ask`, `ai:diagnose`, `ai:<step name>`.
    pub fn ai(name: &str) -> StepId {
        StepId(format!("ai:{name}"))
    }

    /// What is collected when a deploy or verify fails.
    pub fn diagnose_cluster() -> StepId {
        StepId("diagnose:cluster".into())
    }

    pub fn teardown(part: TeardownPart) -> StepId {
        StepId(format!("teardown:{}", part.name()))
    }

    /// A step id of the engine's own tests, which name steps freely.
    #[cfg(test)]
    pub fn named(id: &str) -> StepId {
        StepId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for StepId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl From<StepId> for String {
    fn from(id: StepId) -> String {
        id.0
    }
}

impl From<&StepId> for String {
    fn from(id: &StepId) -> String {
        id.0.clone()
    }
}

/// Steps whose cache entries are forgotten together, whatever their subject: when the cluster is new, no image is
/// loaded in it and no release deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepFamily {
    /// `load:<image>`
    Load,
    /// `deploy:<release>`
    Deploy,
    /// `test:<release>`
    Test,
}

impl StepFamily {
    /// What every id of the family starts with (the cache keeps ids of earlier runs as text).
    pub const fn prefix(self) -> &'static str {
        match self {
            StepFamily::Load => "load:",
            StepFamily::Deploy => "deploy:",
            StepFamily::Test => "test:",
        }
    }
}

/// The steps of `cargo xtask teardown`, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeardownPart {
    ClusterState,
    Release,
    Namespace,
    Cluster,
}

impl TeardownPart {
    pub const fn name(self) -> &'static str {
        match self {
            TeardownPart::ClusterState => "cluster-state",
            TeardownPart::Release => "release",
            TeardownPart::Namespace => "namespace",
            TeardownPart::Cluster => "cluster",
        }
    }
}

/// A cluster's state, in minikube's terms (kind and k3d clusters are described in them too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    Running,
    Stopped,
    /// No such profile.
    Nonexistent,
    /// Some parts run, others not (paused, an apiserver that is down, ...).
    Degraded,
    /// The profile exists but minikube cannot read its host: the container is gone (`docker system prune -a`, a
    /// Docker Desktop reset) or the driver's daemon does not answer.
    Broken {
        daemon_down: bool,
    },
}

impl ClusterState {
    /// The word the pipeline shows for this state in notes.
    pub fn word(self) -> &'static str {
        match self {
            ClusterState::Running => "running",
            ClusterState::Stopped => "stopped",
            ClusterState::Nonexistent => "absent",
            ClusterState::Degraded => "degraded",
            ClusterState::Broken { daemon_down: true } => "unreadable",
            ClusterState::Broken { daemon_down: false } => "broken",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_read_as_the_docs_and_the_cache_name_them() {
        assert_eq!(StepId::gate(Gate::Vuln, "todo-api").as_str(), "gate:vuln:todo-api");
        assert_eq!(StepId::verify(Check::Rollout).as_str(), "verify:rollout");
        assert_eq!(StepId::teardown(TeardownPart::ClusterState).as_str(), "teardown:cluster-state");
        assert_eq!(StepId::lint_dockerfile("web").as_str(), "lint:dockerfile:web");
        // The families forget entries of earlier runs by prefix: each member starts with it.
        for (id, family) in [
            (StepId::load("api"), StepFamily::Load),
            (StepId::deploy("todo"), StepFamily::Deploy),
            (StepId::test("todo"), StepFamily::Test),
        ] {
            assert!(id.as_str().starts_with(family.prefix()), "{id}");
        }
    }

    #[test]
    fn names_round_trip_and_match_what_serde_writes() {
        for t in Tool::ALL {
            assert_eq!(Tool::from_name(t.name()), Some(t));
        }
        for k in StepKind::ALL {
            assert_eq!(StepKind::from_name(k.name()), Some(k));
            // report.json writes the kind through serde; it must be the name `timeouts:` uses.
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::Value::String(k.name().into()));
        }
    }
}
