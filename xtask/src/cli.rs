//! The command line, defined once with clap derive. Every flag has a help line; `cargo xtask` alone lists the
//! commands.

use clap::{Args, Parser, Subcommand};

// The global flags and `--target`/`--yes` are the context's settings: defined with it, so the context never
// imports the command line.
pub use crate::context::{Global, TargetArgs};
use crate::kinds::Gate;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Build, gate, deploy and verify the app on a local Kubernetes cluster (Minikube + Helm).",
    long_about = "Build, gate, deploy and verify the app on a local Kubernetes cluster (Minikube + Helm).\n\n\
        Start with `cargo xtask doctor`, then `cargo xtask up`. Every run writes a report under \
        target/xtask/runs/<run-id>/ (report.json, junit.xml, summary.md).",
    after_help = "Exit codes: 0 success, 1 a step failed, 2 usage or config error, 130 Ctrl-C, 143 SIGTERM.\n\
        Docs: docs/quickstart.md, docs/configuration.md, docs/troubleshooting.md",
    arg_required_else_help = true,
    version
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter xtask.yaml from the repo's Dockerfiles and Helm charts, then run doctor (never overwrites)
    Init,
    /// Check every tool the pipeline uses: found, version, minimum, and how to install what is missing
    Doctor(Doctor),
    /// Manage the pinned tool versions installed into the project-local .xtask/bin
    Tools(Tools),
    /// Build every image in parallel and gate each on size, vulnerabilities (Trivy) and policy
    Build(BuildArgs),
    /// Bring the app up: preflight, build and gates, cluster, images, lint, deploy, helm test, then the app's URL
    Up(UpArgs),
    /// Run `up`, then again after each change to an image's sources or the chart (only what changed); Ctrl-C stops
    /// watching and leaves the cluster running
    Dev(DevArgs),
    /// Prove the deployment works: rollouts, health, a task round-trip, resilience, persistence, autoscaling
    Verify(VerifyArgs),
    /// Ask the AIOps tools: kubectl-ai, kagent, Docker AI (Gordon)
    Ai(AiArgs),
    /// Remove the deployment: uninstall the release, delete the namespace, stop the cluster
    Teardown(TeardownArgs),
    /// Return the release to an earlier revision (the last good one when none is given)
    Rollback(RollbackArgs),
    /// Run the pipeline as CI stages with JUnit reports; without stages, every stage that needs no cluster
    Ci(CiArgs),
    /// Regenerate the plain manifests under k8s/ from the chart (--check: fail when they drifted)
    Manifests(ManifestsArgs),
    /// Show the exact commands a command would run, in order, with each cache decision; runs nothing
    Plan(PlanArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) for `xtask` on stdout; pair it with
    /// `alias xtask='cargo xtask'`
    Completions(CompletionsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `cargo xtask completions bash > ~/.local/share/bash-completion/completions/xtask`
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Turn a gate off for this run (size, vuln, policy); the report records it as skipped by request
    #[arg(long = "skip-gate", value_enum, value_name = "GATE")]
    pub skip_gate: Vec<Gate>,
    /// Build only this image (repeatable); all images in the config when absent
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: PlanCommand,
}

/// The commands `plan` can show.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Plan `cargo xtask build`
    Build(BuildArgs),
    /// Plan `cargo xtask up`
    Up(UpArgs),
    /// Plan `cargo xtask verify`
    Verify(VerifyArgs),
    /// Plan `cargo xtask teardown`
    Teardown(TeardownArgs),
    /// Plan `cargo xtask rollback`
    Rollback(RollbackArgs),
    /// Plan `cargo xtask manifests`
    Manifests(ManifestsArgs),
    /// Plan `cargo xtask ci`
    Ci(CiArgs),
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    /// Fail the AI steps when their tool or API key is missing, instead of skipping them
    #[arg(long)]
    pub require_ai: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub build: BuildArgs,
    /// Milliseconds the files must stay unchanged before a cycle starts
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub debounce: u64,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only the checks that need no cluster: lint, render, schema and policy, Dockerfile lint (the first CI stage)
    #[arg(long = "static")]
    pub static_only: bool,
    /// Run only these checks (repeatable)
    #[arg(long, value_enum, value_name = "CHECK")]
    pub only: Vec<crate::kinds::Check>,
    /// Leave out these checks (repeatable)
    #[arg(long, value_enum, value_name = "CHECK")]
    pub skip: Vec<crate::kinds::Check>,
    /// Run a bounded in-cluster load generator and report whether (and how fast) the backend scaled up
    #[arg(long)]
    pub load: bool,
}

#[derive(Debug, Args)]
pub struct AiArgs {
    /// Accepted for scripts: an `ai` command always fails when its tool or API key is missing
    #[arg(long, global = true)]
    pub require_ai: bool,
    #[command(subcommand)]
    pub command: AiCommand,
}

#[derive(Debug, Subcommand)]
pub enum AiCommand {
    /// Ask kubectl-ai (non-interactive, pointed at the cluster's context)
    Ask {
        /// The question, e.g. "why is the todo-api pod restarting?"
        prompt: String,
    },
    /// Ask a kagent agent (`kagent invoke`)
    Agent {
        /// The task for the agent
        prompt: String,
        /// The agent to invoke [default: ai.kagent.agent in the config]
        #[arg(long)]
        agent: Option<String>,
    },
    /// Ask Docker AI (Gordon), where Docker Desktop provides it
    Docker {
        /// The question, e.g. "how can I make the todo-api image smaller?"
        prompt: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct TeardownArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Delete the cluster (Minikube, kind, k3d) instead of stopping it; never done to an existing cluster
    #[arg(long, conflicts_with = "keep_cluster")]
    pub delete: bool,
    /// Leave the cluster running; only the release and its namespace are removed
    #[arg(long)]
    pub keep_cluster: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CiArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Stages to run, in pipeline order: preflight, static, build, deploy, verify, teardown [default: preflight
    /// static build]
    #[arg(value_enum, value_name = "STAGE")]
    pub stages: Vec<crate::kinds::Stage>,
    /// Turn a gate off (size, vuln, policy); the reports record it as skipped by request
    #[arg(long = "skip-gate", value_enum, value_name = "GATE")]
    pub skip_gate: Vec<Gate>,
}

#[derive(Debug, Clone, Args)]
pub struct ManifestsArgs {
    /// Change nothing; fail when the committed manifests differ from a fresh render of the chart
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Revision to return to (see `helm history`); the last good revision before the current one by default
    #[arg(value_name = "REVISION")]
    pub revision: Option<u64>,
}

/// `doctor` takes the global `--json` (its table as one JSON document).
#[derive(Debug, Args)]
pub struct Doctor {}

#[derive(Debug, Args)]
pub struct Tools {
    #[command(subcommand)]
    pub command: ToolsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// Download pinned versions (checked against the SHA-256 in xtask/tools.lock.yaml) into .xtask/bin
    Install(ToolsInstall),
    /// List the pinned versions and whether each is installed locally
    List,
}

#[derive(Debug, Args)]
pub struct ToolsInstall {
    /// Tools to install (helm, minikube, kubectl, trivy; helm4 installs Helm 4 as `helm`); all but helm4 when none
    /// are named
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Reinstall even when the pinned version is already in .xtask/bin
    #[arg(long)]
    pub force: bool,
}
