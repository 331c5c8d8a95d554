//! The program's closed sets — step kinds, verify checks, build gates, CI stages and tool names — as one vocabulary
//! leaf. It imports nothing from the crate, so the config, the engine, the CLI and the commands can all name these
//! sets without importing each other (docs/architecture.md, "Architecture invariant").

use std::time::Duration;

use clap::ValueEnum;

/// The kind of a step; `timeouts:` in xtask.yaml overrides the default of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// The tools xtask.yaml's `tools:` may name; the adapters' table (`tools::DEFS`) has one entry per name.
pub const TOOL_NAMES: [&str; 10] =
    ["docker", "minikube", "kubectl", "helm", "kind", "k3d", "trivy", "kubectl-ai", "kagent", "docker-ai"];
