//! A run's life: the lock, the graph and its diagnostics, the report with its provenance, and retention.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;

use super::cache::State;
use super::consumers::Consumers;
use super::event::{Event, Tally};
use super::exec::{self, Exec};
use super::facts::Facts;
use super::file_hashes;
use super::output;
use super::retention;
use super::run_lock::RunLock;
use super::scheduler::{check_graph, run_graph, Policy};
use super::state_saves::SaveClock;
use super::step::Step;
use super::step_cx::Shared;
use crate::context::Context;
use crate::error::Error;
use crate::kinds::Tool;
use crate::report::{self, RunReport, StepStatus};
use crate::secrets;

pub struct Run<'c> {
    ctx: &'c Context,
    command: String,
    /// A fixed run folder (CI stages share one); by default target/xtask/runs/<run-id>.
    dir: Option<PathBuf>,
    steps: Vec<Step<'c>>,
    /// Steps run only when something failed (diagnostics), after the graph.
    on_failure: Vec<Step<'c>>,
    /// Run every step that does not depend on a failure (`--keep-going`, or a command of independent checks).
    keep_going: bool,
}

impl<'c> Run<'c> {
    pub fn new(ctx: &'c Context, command: impl Into<String>) -> Run<'c> {
        let keep_going = ctx.global.keep_going;
        Run { ctx, command: command.into(), dir: None, steps: vec![], on_failure: vec![], keep_going }
    }

    /// For commands whose steps are independent checks (`verify`): one run shows every broken check, so a failure
    /// does not stop the others.
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }

    pub fn in_dir(mut self, dir: PathBuf) -> Self {
        self.dir = Some(dir);
        self
    }

    pub fn add(&mut self, step: Step<'c>) -> &mut Self {
        self.steps.push(step);
        self
    }

    pub fn on_failure(&mut self, step: Step<'c>) -> &mut Self {
        self.on_failure.push(step);
        self
    }

    /// Runs the graph and writes the report. Returns the facts steps handed on (`app_url`);
    /// Err([`Error::StepsFailed`]) or Err([`Error::Interrupted`]) after reporting them.
    pub fn execute(self) -> Result<Facts> {
        let ctx = self.ctx;
        let dry = ctx.global.dry_run;
        let started = Instant::now();
        let started_at = crate::text::rfc3339(SystemTime::now());
        let run_id = format!(
            "{}-{}-{}",
            started_at.replace([':', '-'], "").split('.').next().unwrap_or("run"),
            self.command.replace(' ', "-"),
            std::process::id()
        );
        let run_dir = self.dir.clone().unwrap_or_else(|| ctx.state_dir().join("runs").join(&run_id));
        let _lock = if dry { None } else { Some(RunLock::take(&ctx.state_dir(), &self.command)?) };
        let out = Consumers::new(dry);
        out.emit(Event::RunStarted { run_id: &run_id, command: &self.command });
        // Secret files of runs that were killed outright: with the lock held, no live run owns any. Cleared while
        // the steps run (it lists every kept run's folders).
        let stale = (!dry).then(|| {
            let (state_dir, current) = (ctx.state_dir(), run_dir.clone());
            std::thread::spawn(move || secrets::remove_stale_files(&state_dir, &current))
        });
        if !dry {
            std::fs::create_dir_all(run_dir.join("logs"))?;
            exec::install_interrupt_handler();
            output::watch_closed_output();
        }
        let git = (!dry).then(|| GitState::start(ctx));
        let state_path = ctx.state_dir().join("state.json");
        file_hashes::load_file_hashes(&ctx.state_dir().join("file-hashes.json"));
        let shared = Shared {
            state: Mutex::new(State::load(&state_path)),
            state_path,
            saves: SaveClock::new(),
            facts: Mutex::new(Facts::default()),
            out,
            would_run: Mutex::new(vec![]),
            started,
        };
        check_graph(&self.steps)?;
        let jobs = if dry { 1 } else { ctx.jobs() };
        let policy = Policy { jobs, dry, keep_going: self.keep_going };
        let mut records = run_graph(ctx, &self.steps, &shared, &run_dir, policy);
        // Cluster diagnostics help when the cluster was reached and something in it failed, not when a build or
        // a preflight did.
        let cluster_failed = records.iter().any(|r| r.status == StepStatus::Failed && r.kind.touches_cluster());
        if cluster_failed && !exec::interrupted() && !dry {
            let extra = run_graph(ctx, &self.on_failure, &shared, &run_dir, Policy { jobs: 1, dry, keep_going: true });
            records.extend(extra);
        }
        if dry {
            return Ok(Facts::default());
        }
        shared.flush_state();
        let _ = stale.map(std::thread::JoinHandle::join);
        // Each secret file went with its step; the (empty) folder goes now.
        let _ = std::fs::remove_dir(run_dir.join("secrets"));
        if let Err(e) = file_hashes::save_file_hashes() {
            shared.out.emit(Event::Message(&format!("warning: could not save the file-hash cache: {e:#}")));
        }
        let failed: Vec<String> =
            records.iter().filter(|r| r.status == StepStatus::Failed).map(|r| r.id.clone()).collect();
        let interrupted = exec::interrupted();
        let (status, code) = match (interrupted, failed.is_empty()) {
            (true, _) => ("interrupted", i32::from(crate::signals::interrupt_code())),
            (false, false) => ("failed", 1),
            (false, true) => ("passed", 0),
        };
        let facts = shared.facts.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let report = RunReport {
            schema_version: report::SCHEMA_VERSION,
            run_id: run_id.clone(),
            command: self.command.clone(),
            status,
            exit_code: code,
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            provenance: provenance(&facts, git.and_then(|g| g.join().ok()).unwrap_or_default()),
            target: ctx.active_target().map(report::TargetRecord::of),
            steps: records,
        };
        crate::report_files::write(&report, &run_dir)?;
        let count = |s: StepStatus| report.steps.iter().filter(|r| r.status == s).count();
        shared.out.emit(Event::RunFinished {
            run_id: &run_id,
            command: &self.command,
            status,
            exit_code: code,
            tally: Tally {
                passed: count(StepStatus::Passed),
                cached: count(StepStatus::Cached),
                skipped: count(StepStatus::Skipped),
                failed: count(StepStatus::Failed),
            },
            took: started.elapsed(),
            report: &ctx.rel(&run_dir.join("report.json")),
        });
        let runs_dir = ctx.state_dir().join("runs");
        crate::files::write_atomic(&runs_dir.join("latest"), run_id.as_bytes())?;
        if status == "failed" && self.dir.is_none() {
            retention::note_failed(&runs_dir, &run_id)?;
        }
        // Retention applies to the default run folders; CI's stage folders (target/xtask/ci) are CI's to keep.
        if let Some(line) = if self.dir.is_none() { prune_runs(ctx, &run_dir) } else { None } {
            shared.out.emit(Event::Message(&line));
        }
        if interrupted {
            return Err(Error::Interrupted.into());
        }
        if !failed.is_empty() {
            return Err(Error::StepsFailed { steps: failed }.into());
        }
        Ok(facts)
    }
}

/// The checkout's commit and whether tracked files differ from it (`None` outside a git checkout or without git).
#[derive(Default)]
struct GitState {
    commit: Option<String>,
    dirty: Option<bool>,
}

impl GitState {
    /// Asks git on a thread of its own while the steps run: two git calls are a tenth of a no-op build.
    fn start(ctx: &Context) -> std::thread::JoinHandle<GitState> {
        let (sh, root) = (ctx.shell(), ctx.root.clone());
        std::thread::spawn(move || {
            let Ok(sh) = sh else { return GitState::default() };
            let git = |args: &[&str]| -> Option<String> {
                let e = Exec::from(xshell::cmd!(sh, "git -C {root} {args...}")).timeout(Duration::from_secs(5));
                let out = exec::run(e).ok()?;
                out.success().then(|| out.stdout.trim().to_string())
            };
            let commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
            let dirty = commit
                .as_ref()
                .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
                .map(|s| !s.is_empty());
            GitState { commit, dirty }
        })
    }
}

/// The run's provenance: git state, versions, command line, host, and the tool versions steps recorded
/// (by `preflight:tools`; docker's from the Docker preflight).
fn provenance(facts: &Facts, git: GitState) -> report::Provenance {
    let GitState { commit: git_commit, dirty: git_dirty } = git;
    let mut tools: BTreeMap<String, String> =
        facts.tool_versions.iter().map(|(t, v)| (t.name().to_string(), v.clone())).collect();
    if let Some(v) = &facts.docker_version {
        tools.entry(Tool::Docker.name().into()).or_insert_with(|| v.clone());
    }
    let mut command_line = vec!["cargo".to_string(), "xtask".to_string()];
    command_line.extend(std::env::args().skip(1));
    report::Provenance {
        git_commit,
        git_dirty,
        xtask_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line,
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        tools,
    }
}

/// Applies `runs.keep` to target/xtask/runs; the line to print when something was deleted (or could not be).
fn prune_runs(ctx: &Context, run_dir: &std::path::Path) -> Option<String> {
    let keep = ctx.config().map_or(crate::config::DEFAULT_KEEP_RUNS, |c| c.runs.keep);
    match retention::prune(&ctx.state_dir().join("runs"), keep, run_dir) {
        Ok(p) if !p.errors.is_empty() => {
            Some(format!("warning: could not delete old runs: {} — delete them by hand", p.errors.join("; ")))
        }
        Ok(p) if !p.removed.is_empty() => Some(p.describe(keep)),
        Ok(_) => None,
        Err(e) => Some(format!("warning: could not list target/xtask/runs to prune old runs: {e}")),
    }
}
