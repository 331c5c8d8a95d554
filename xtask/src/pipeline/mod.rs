//! The step engine every command runs on: a graph of named steps with declared dependencies, run in parallel up to
//! `--jobs`, each with a timeout, its own log, a content-hash cache decision and a record in the run report.
//! `--dry-run` walks the same graph and prints the commands instead of running them.

pub mod cache;
pub mod dockerignore;
pub mod exec;
pub mod output;
pub mod progress;
pub mod retention;
pub mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Result};
use xshell::Shell;

use self::cache::{Fingerprint, State, StepState};
use self::exec::{Exec, Output};
use self::progress::Progress;
use crate::context::Context;
use crate::report::{self, CommandRecord, RunReport, StepRecord, StepStatus};

/// Step kinds; `timeouts:` in xtask.yaml overrides the default of each.
pub const STEP_KINDS: &[&str] = &[
    "preflight",
    "prebuild",
    "build",
    "gate",
    "cluster",
    "load",
    "lint",
    "render",
    "deploy",
    "test",
    "verify",
    "teardown",
    "ai",
    "diagnose",
];

thread_local! {
    /// The deadline of the step running on this thread, for waits that do not go through [`StepCx`] (HTTP calls).
    static STEP_DEADLINE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// `limit`, shortened to the time left before the current step's deadline (when called from a step).
pub fn within_step(limit: Duration) -> Duration {
    match STEP_DEADLINE.with(|d| d.get()) {
        Some(d) => limit.min(d.saturating_duration_since(Instant::now())),
        None => limit,
    }
}

pub fn default_timeout(kind: &str) -> Duration {
    let m = |n: u64| Duration::from_secs(n * 60);
    match kind {
        "preflight" | "lint" | "render" => m(2),
        "prebuild" | "build" => m(20),
        "cluster" | "deploy" => m(15),
        "ai" | "diagnose" => m(5),
        _ => m(10),
    }
}

/// Bad flags or arguments. Exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The run was stopped by Ctrl-C or SIGTERM. Exit code 130.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A command ran out of the step's (or its own) time and was stopped; the message names the limit to raise.
#[derive(Debug)]
pub struct TimedOut(pub String);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimedOut {}

/// Whether `e` is a timeout or an interrupt: then a hint about why a tool failed would mislead, and callers add
/// none.
pub fn stopped(e: &anyhow::Error) -> bool {
    e.downcast_ref::<TimedOut>().is_some() || e.downcast_ref::<Interrupted>().is_some()
}

/// One or more steps failed; each was already reported. Exit code 1.
#[derive(Debug)]
pub struct StepsFailed(pub Vec<String>);

impl fmt::Display for StepsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed: {}", self.0.join(", "))
    }
}

impl std::error::Error for StepsFailed {}

pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    }
}

/// How a step ended when it did not fail.
pub enum Done {
    Passed,
    /// The cache decided; [`StepCx::cached`] already recorded why.
    Cached,
    /// Not run, with the reason (e.g. `--skip-gate vuln`, a missing optional tool).
    Skipped(String),
}

type Action<'a> = Box<dyn Fn(&mut StepCx) -> Result<Done> + Send + Sync + 'a>;

pub struct Step<'a> {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub deps: Vec<String>,
    /// Runs even when a dependency failed (teardown, diagnostics).
    pub always: bool,
    /// Steps this one waits for without depending on their outcome (ordering only).
    pub order_after: Vec<String>,
    action: Action<'a>,
}

impl<'a> Step<'a> {
    pub fn new(
        id: impl Into<String>,
        kind: &'static str,
        title: impl Into<String>,
        action: impl Fn(&mut StepCx) -> Result<Done> + Send + Sync + 'a,
    ) -> Step<'a> {
        debug_assert!(STEP_KINDS.contains(&kind), "unknown step kind {kind}");
        Step {
            id: id.into(),
            kind,
            title: title.into(),
            deps: vec![],
            always: false,
            order_after: vec![],
            action: Box::new(action),
        }
    }

    pub fn after<S: Into<String>>(mut self, deps: impl IntoIterator<Item = S>) -> Self {
        self.deps.extend(deps.into_iter().map(Into::into));
        self
    }

    /// Runs after these steps, whatever became of them (for checks that must not overlap but stand alone).
    pub fn after_any<S: Into<String>>(mut self, steps: impl IntoIterator<Item = S>) -> Self {
        self.order_after.extend(steps.into_iter().map(Into::into));
        self
    }

    pub fn always(mut self) -> Self {
        self.always = true;
        self
    }
}

/// What runs share: the cache state, values steps hand to later steps, and the display.
struct Shared {
    state: Mutex<State>,
    state_path: PathBuf,
    values: Mutex<BTreeMap<String, String>>,
    progress: Progress,
    /// Dry run: steps that would run (not cached), so dependents know their inputs will change.
    would_run: Mutex<Vec<String>>,
}

/// A step's view of the run while it works.
pub struct StepCx<'r> {
    pub ctx: &'r Context,
    pub sh: Shell,
    pub id: String,
    /// The step's kind: its `timeouts:` key.
    kind: &'static str,
    deps: Vec<String>,
    shared: &'r Shared,
    dry: bool,
    deadline: Instant,
    timeout: Duration,
    log: Option<PathBuf>,
    pub run_dir: PathBuf,
    commands: Vec<CommandRecord>,
    notes: Vec<String>,
    cache_reason: Option<String>,
    pending: Option<(Fingerprint, BTreeMap<String, String>)>,
    /// This step forgot cache entries, so the state must be saved.
    invalidated: bool,
}

impl StepCx<'_> {
    pub fn dry_run(&self) -> bool {
        self.dry
    }

    /// Runs a command (`cx.run(cmd!(cx.sh, "...").into())`) and fails the step when it exits non-zero, times out
    /// or is interrupted. Taking an owned [`Exec`] ends the borrow of `cx.sh` before the call.
    pub fn run(&mut self, e: Exec) -> Result<Output> {
        let shown = e.display();
        let out = self.exec_unchecked(e)?;
        if self.dry || out.success() {
            return Ok(out);
        }
        Err(anyhow!("`{shown}` failed ({})", out.ending()))
    }

    /// Runs a command whose exit code is information (e.g. `minikube status`). Not run in a dry run: it returns
    /// an empty output with no exit code, and callers take the path that does the work.
    pub fn probe(&mut self, e: Exec) -> Result<Output> {
        self.exec_unchecked(e)
    }

    /// Runs independent probes at once (each like [`StepCx::exec_unchecked`]); outputs in the same order.
    pub fn probe_all(&mut self, execs: Vec<Exec>) -> Result<Vec<Output>> {
        if self.dry || execs.len() < 2 {
            return execs.into_iter().map(|e| self.exec_unchecked(e)).collect();
        }
        let prepared: Vec<(String, Exec)> = execs.into_iter().map(|e| (e.display(), self.prepare(e))).collect();
        let results: Vec<(String, std::io::Result<Output>)> = std::thread::scope(|s| {
            let handles: Vec<_> =
                prepared.into_iter().map(|(shown, e)| s.spawn(move || (shown, exec::run(e)))).collect();
            handles.into_iter().map(|h| h.join().expect("probe thread")).collect()
        });
        results.into_iter().map(|(shown, r)| self.finish_exec(shown, r, false)).collect()
    }

    fn prepare(&self, mut e: Exec) -> Exec {
        let left = self.deadline.saturating_duration_since(Instant::now());
        e.timeout = e.timeout.min(left);
        e.log = self.log.clone();
        if self.ctx.global.verbose {
            e.echo = Some(format!("[{}]", self.id));
        }
        e
    }

    /// Runs `e` with this step's log, remaining time, and `-v` echo. Errors on timeout and interrupt only.
    pub fn exec_unchecked(&mut self, e: Exec) -> Result<Output> {
        let shown = e.display();
        if self.dry {
            crate::outln!("    $ {shown}");
            self.commands.push(CommandRecord { command: shown, exit_code: None, duration_ms: 0, timed_out: false });
            return Ok(Output::default());
        }
        let step_limited = self.deadline.saturating_duration_since(Instant::now()) <= e.timeout;
        let e = self.prepare(e);
        let r = exec::run(e);
        self.finish_exec(shown, r, step_limited)
    }

    fn finish_exec(&mut self, shown: String, r: std::io::Result<Output>, step_limited: bool) -> Result<Output> {
        let out = r.map_err(|err| {
            let program = shown.split(' ').next().unwrap_or("").to_string();
            // Only a missing program means "install it"; other errors (a log path too long, an argument list too
            // long for the OS) say what they are.
            match err.kind() {
                std::io::ErrorKind::NotFound => {
                    anyhow!("could not run `{shown}`: {err} — is {program} installed? `cargo xtask doctor` checks")
                }
                std::io::ErrorKind::ArgumentListTooLong => anyhow!(
                    "could not run `{shown}`: its arguments are longer than the operating system allows ({err})"
                ),
                _ => anyhow!("could not run `{program}` (or write its log): {err}"),
            }
        })?;
        self.commands.push(CommandRecord {
            command: shown.clone(),
            exit_code: out.code,
            duration_ms: out.duration.as_millis() as u64,
            timed_out: out.timed_out,
        });
        crate::events::emit(
            "command",
            serde_json::json!({ "step": self.id, "command": shown, "exit_code": out.code,
                "duration_ms": out.duration.as_millis() as u64, "timed_out": out.timed_out }),
        );
        if out.interrupted {
            return Err(Interrupted.into());
        }
        if out.timed_out {
            let (what, limit) = if step_limited {
                (format!("step `{}`", self.id), self.timeout)
            } else {
                (format!("`{shown}` in step `{}`", self.id), out.duration)
            };
            return Err(TimedOut(format!(
                "{what} timed out after {} while running `{shown}`; the tool was stopped. Raise `timeouts.{}` in \
                 xtask.yaml if it needs longer",
                fmt_duration(limit),
                self.kind
            ))
            .into());
        }
        Ok(out)
    }

    /// Starts a command that keeps running while the step works (port-forward, a service tunnel); it is ended
    /// when the returned handle is dropped. None in a dry run.
    pub fn background(&mut self, mut e: Exec) -> Result<Option<exec::Background>> {
        let shown = e.display();
        if self.dry {
            crate::outln!("    $ {shown} &");
            return Ok(None);
        }
        e.log = self.log.clone();
        self.commands.push(CommandRecord {
            command: format!("{shown} &"),
            exit_code: None,
            duration_ms: 0,
            timed_out: false,
        });
        let bg = exec::spawn(e).map_err(|err| anyhow!("could not start `{shown}`: {err}"))?;
        Ok(Some(bg))
    }

    /// Time left before this step's timeout.
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A fact for the console and the report (gate figures, a URL).
    pub fn note(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        self.shared.progress.note(&self.id, &msg);
        self.notes.push(msg);
    }

    /// The cache decision. `present` says whether the step's output still exists (`None`) or why not; it is not
    /// asked in a dry run. Returns true when the step can be skipped as cached.
    pub fn cached(
        &mut self,
        mut fp: Fingerprint,
        present: impl FnOnce(&mut Self) -> Result<Option<String>>,
    ) -> Result<bool> {
        let prev = self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).steps.get(&self.id).cloned();
        if let Some(p) = &prev {
            fp.assume_unchanged(&p.inputs);
        }
        let digest = fp.digest();
        let dep_runs = if self.dry {
            let wr = self.shared.would_run.lock().unwrap_or_else(|p| p.into_inner());
            self.deps.iter().find(|d| wr.contains(d)).cloned()
        } else {
            None
        };
        let reason = match (&prev, dep_runs) {
            (_, Some(dep)) => format!("runs: `{dep}` runs first and may change its inputs"),
            (None, _) => "runs: no earlier run recorded".to_string(),
            (Some(p), _) if p.fingerprint != digest => {
                let changes = fp.diff(&p.inputs);
                let shown: Vec<String> = changes.iter().take(5).cloned().collect();
                let more = if changes.len() > 5 { format!(" (+{} more)", changes.len() - 5) } else { String::new() };
                format!("runs: {}{more}", shown.join(", "))
            }
            (Some(_), _) if self.dry => "cached: inputs unchanged".to_string(),
            (Some(_), _) => match present(self)? {
                None => "cached: inputs unchanged".to_string(),
                Some(why) => format!("runs: inputs unchanged but {why}"),
            },
        };
        let hit = reason.starts_with("cached");
        crate::events::emit("cache", serde_json::json!({ "step": self.id, "hit": hit, "reason": reason }));
        if self.dry {
            crate::outln!("    cache: {reason}");
            if !hit {
                self.shared.would_run.lock().unwrap_or_else(|p| p.into_inner()).push(self.id.clone());
            }
        }
        self.cache_reason = Some(reason);
        if !hit {
            self.pending = Some((fp, BTreeMap::new()));
        }
        Ok(hit)
    }

    /// Replaces the fingerprint to store when the step passes: for steps whose own output is one of their inputs.
    pub fn refresh_fingerprint(&mut self, fp: Fingerprint) {
        let outputs = self.pending.take().map(|(_, o)| o).unwrap_or_default();
        self.pending = Some((fp, outputs));
    }

    /// A value remembered with this step's cache entry (e.g. the image id), readable on cached runs.
    pub fn remember(&mut self, key: &str, value: &str) {
        if let Some((_, outputs)) = &mut self.pending {
            outputs.insert(key.to_string(), value.to_string());
        }
    }

    pub fn remembered(&self, key: &str) -> Option<String> {
        let st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        st.steps.get(&self.id).and_then(|s| s.outputs.get(key).cloned())
    }

    /// Hands a value to later steps of this run.
    pub fn set(&self, key: &str, value: impl Into<String>) {
        self.shared.values.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), value.into());
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.shared.values.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// Forgets another step's cache entry, so that it runs next time (e.g. after a cluster was deleted).
    pub fn invalidate(&mut self, step_id: &str) {
        self.invalidated |= self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).steps.remove(step_id).is_some();
    }

    /// Forgets every cache entry whose id starts with `prefix`.
    pub fn invalidate_prefix(&mut self, prefix: &str) {
        let mut st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let before = st.steps.len();
        st.steps.retain(|k, _| !k.starts_with(prefix));
        self.invalidated |= st.steps.len() != before;
    }
}

pub struct Run<'c> {
    ctx: &'c Context,
    command: String,
    /// A fixed run folder (CI stages share one); by default target/xtask/runs/<run-id>.
    dir: Option<PathBuf>,
    steps: Vec<Step<'c>>,
    /// Steps run only when something failed (diagnostics), after the graph.
    on_failure: Vec<Step<'c>>,
}

impl<'c> Run<'c> {
    pub fn new(ctx: &'c Context, command: impl Into<String>) -> Run<'c> {
        Run { ctx, command: command.into(), dir: None, steps: vec![], on_failure: vec![] }
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

    /// Runs the graph and writes the report. Returns the values steps handed on (`app.url`); Err([`StepsFailed`])
    /// or Err([`Interrupted`]) after reporting them.
    pub fn execute(self) -> Result<BTreeMap<String, String>> {
        let ctx = self.ctx;
        let dry = ctx.global.dry_run;
        let started = Instant::now();
        let started_at = report::rfc3339(SystemTime::now());
        let run_id = format!(
            "{}-{}-{}",
            started_at.replace([':', '-'], "").split('.').next().unwrap_or("run"),
            self.command.replace(' ', "-"),
            std::process::id()
        );
        let run_dir = self.dir.clone().unwrap_or_else(|| ctx.state_dir().join("runs").join(&run_id));
        let _lock = if dry { None } else { Some(RunLock::take(&ctx.state_dir(), &self.command)?) };
        crate::events::emit("run_started", serde_json::json!({ "run_id": run_id, "command": self.command }));
        if !dry {
            // Secret files of runs that were killed outright: with the lock held, no live run owns any.
            secrets::remove_stale_files(&ctx.state_dir());
            std::fs::create_dir_all(run_dir.join("logs"))?;
            exec::install_interrupt_handler();
            output::watch_closed_output();
        } else {
            crate::outln!("plan for `cargo xtask {}` (nothing is run):", self.command);
        }
        let state_path = ctx.state_dir().join("state.json");
        cache::load_file_hashes(&ctx.state_dir().join("file-hashes.json"));
        let shared = Shared {
            state: Mutex::new(State::load(&state_path)),
            state_path,
            values: Mutex::new(BTreeMap::new()),
            progress: Progress::new(!dry),
            would_run: Mutex::new(vec![]),
        };
        check_graph(&self.steps)?;
        let jobs = if dry { 1 } else { ctx.jobs() };
        let mut records = run_graph(ctx, &self.steps, &shared, &run_dir, jobs, dry);
        // Cluster diagnostics help when the cluster was reached and something in it failed, not when a build or
        // a preflight did.
        let cluster_failed =
            records.iter().any(|r| r.status == StepStatus::Failed && matches!(r.kind, "deploy" | "test" | "verify"));
        if cluster_failed && !exec::interrupted() && !dry {
            let extra = run_graph(ctx, &self.on_failure, &shared, &run_dir, 1, dry);
            records.extend(extra);
        }
        if dry {
            return Ok(BTreeMap::new());
        }
        // Each secret file went with its step; the (empty) folder goes now.
        let _ = std::fs::remove_dir(run_dir.join("secrets"));
        if let Err(e) = cache::save_file_hashes() {
            shared.progress.println(&format!("warning: could not save the file-hash cache: {e:#}"));
        }
        let failed: Vec<String> =
            records.iter().filter(|r| r.status == StepStatus::Failed).map(|r| r.id.clone()).collect();
        let interrupted = exec::interrupted();
        let (status, code) = match (interrupted, failed.is_empty()) {
            (true, _) => ("interrupted", i32::from(crate::signals::interrupt_code())),
            (false, false) => ("failed", 1),
            (false, true) => ("passed", 0),
        };
        let report = RunReport {
            schema_version: report::SCHEMA_VERSION,
            run_id: run_id.clone(),
            command: self.command.clone(),
            status,
            exit_code: code,
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            target: ctx.active_target().map(report::TargetRecord::of),
            steps: records,
        };
        report.write(&run_dir)?;
        crate::events::emit(
            "run_finished",
            serde_json::json!({ "run_id": run_id, "status": status, "exit_code": code,
                "report": ctx.rel(&run_dir.join("report.json")) }),
        );
        cache::write_atomic(&ctx.state_dir().join("runs").join("latest"), run_id.as_bytes())?;
        // Retention applies to the default run folders; CI's stage folders (target/xtask/ci) are CI's to keep.
        let pruned = if self.dir.is_none() { prune_runs(ctx, &run_dir) } else { None };
        let count = |s: StepStatus| report.steps.iter().filter(|r| r.status == s).count();
        shared.progress.println(&format!(
            "{}: {status} — {} passed, {} cached, {} skipped, {} failed in {}; report: {}",
            self.command,
            count(StepStatus::Passed),
            count(StepStatus::Cached),
            count(StepStatus::Skipped),
            count(StepStatus::Failed),
            fmt_duration(started.elapsed()),
            ctx.rel(&run_dir.join("report.json")).display()
        ));
        if let Some(line) = pruned {
            shared.progress.println(&line);
        }
        if interrupted {
            return Err(Interrupted.into());
        }
        if !failed.is_empty() {
            return Err(StepsFailed(failed).into());
        }
        Ok(shared.values.into_inner().unwrap_or_else(|p| p.into_inner()))
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

/// One run at a time per checkout: two runs would race on the cache state, the images and the release. The lock
/// is an OS file lock (flock on Unix, LockFileEx on Windows) on target/xtask/run.lock, held for the run's life and
/// released by the OS however the process ends, so a killed run never leaves a lock to break. The file holds the
/// owner's pid and command, for the message the refused run prints; it is never deleted, because a run that
/// opened the old file would then lock a different one than a run that created the new file.
struct RunLock(std::fs::File);

impl RunLock {
    fn take(state_dir: &std::path::Path, command: &str) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        std::fs::create_dir_all(state_dir)?;
        let path = state_dir.join("run.lock");
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| anyhow!("could not open target/xtask/run.lock: {e}"))?;
        match f.try_lock() {
            Ok(()) => {
                f.set_len(0)?;
                f.write_all(format!("{} cargo xtask {command}\n", std::process::id()).as_bytes())?;
                f.flush()?;
                Ok(RunLock(f))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                // The holder writes its pid right after locking; give it a moment to do so.
                let mut holder = String::new();
                for _ in 0..50 {
                    holder.clear();
                    let _ = f.rewind();
                    let _ = f.read_to_string(&mut holder);
                    if holder.ends_with('\n') {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let who = match holder.trim().split_once(' ') {
                    Some((pid, cmd)) => format!("another `{cmd}` (pid {pid})"),
                    None => "another `cargo xtask`".to_string(),
                };
                Err(UsageError(format!(
                    "{who} is running in this checkout; wait for it to finish, or stop it (it holds \
                     target/xtask/run.lock)"
                ))
                .into())
            }
            Err(std::fs::TryLockError::Error(e)) => Err(anyhow!(
                "could not lock target/xtask/run.lock: {e} — the file system may not support locks; run from a local \
                 disk"
            )),
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptied while still held, so the next holder's pid is never mixed with ours; closing the file unlocks.
        let _ = self.0.set_len(0);
    }
}

fn check_graph(steps: &[Step]) -> Result<()> {
    let ids: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    for s in steps {
        for d in s.deps.iter().chain(&s.order_after) {
            if !ids.contains_key(d.as_str()) {
                return Err(anyhow!("internal error: step `{}` depends on unknown step `{d}`", s.id));
            }
        }
    }
    Ok(())
}

/// Runs steps as their dependencies finish, `jobs` at a time. Returns one record per step, in declaration order.
fn run_graph(
    ctx: &Context,
    steps: &[Step],
    shared: &Shared,
    run_dir: &std::path::Path,
    jobs: usize,
    dry: bool,
) -> Vec<StepRecord> {
    let n = steps.len();
    let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut records: Vec<Option<StepRecord>> = vec![None; n];
    // A step is "blocked" when it failed or was skipped because something it needs failed.
    let mut blocked = vec![false; n];
    let mut launched = vec![false; n];
    let (tx, rx) = mpsc::channel::<(usize, StepRecord)>();
    std::thread::scope(|scope| {
        let mut running = 0;
        loop {
            let mut progressed = false;
            for i in 0..n {
                if launched[i] || running >= jobs {
                    continue;
                }
                let s = &steps[i];
                let dep_idx: Vec<usize> = s.deps.iter().map(|d| index[d.as_str()]).collect();
                let waits_for = dep_idx.iter().copied().chain(s.order_after.iter().map(|d| index[d.as_str()]));
                if waits_for.into_iter().any(|d| records[d].is_none()) {
                    continue;
                }
                launched[i] = true;
                progressed = true;
                let failed_dep = dep_idx.iter().find(|d| blocked[**d]).map(|d| {
                    let failed = records[*d].as_ref().is_some_and(|r| r.status == StepStatus::Failed);
                    (steps[*d].id.clone(), if failed { "failed" } else { "did not run" })
                });
                let skip = match (&failed_dep, exec::interrupted()) {
                    (_, true) => Some("not started: the run was interrupted".to_string()),
                    (Some((d, how)), false) if !s.always => Some(format!("not started: `{d}` {how}")),
                    _ => None,
                };
                if let Some(why) = skip {
                    blocked[i] = true;
                    if dry {
                        crate::outln!("  {} — {why}", s.id);
                    } else {
                        shared.progress.finish(&s.id, StepStatus::Skipped, Duration::ZERO, Some(&why));
                    }
                    records[i] = Some(skipped_record(s, why));
                    continue;
                }
                running += 1;
                let tx = tx.clone();
                let run = move || {
                    let rec = run_step(ctx, s, shared, run_dir, dry);
                    let _ = tx.send((i, rec));
                };
                if dry {
                    run();
                } else {
                    scope.spawn(run);
                }
            }
            if running == 0 {
                if records.iter().all(Option::is_some) {
                    break;
                }
                if !progressed {
                    // Only a dependency cycle gets here; check_graph rules out unknown ids.
                    for (i, r) in records.iter_mut().enumerate() {
                        if r.is_none() {
                            *r = Some(skipped_record(&steps[i], "not started: dependency cycle".into()));
                        }
                    }
                    break;
                }
                continue;
            }
            if let Ok((i, rec)) = rx.recv() {
                running -= 1;
                blocked[i] = rec.status == StepStatus::Failed;
                records[i] = Some(rec);
            }
        }
    });
    records.into_iter().map(|r| r.expect("every step has a record")).collect()
}

fn skipped_record(s: &Step, why: String) -> StepRecord {
    StepRecord {
        id: s.id.clone(),
        kind: s.kind,
        title: s.title.clone(),
        status: StepStatus::Skipped,
        started_at: None,
        duration_ms: 0,
        cache: None,
        commands: vec![],
        notes: vec![],
        message: Some(why),
        log: None,
        log_tail: None,
    }
}

fn run_step(ctx: &Context, s: &Step, shared: &Shared, run_dir: &std::path::Path, dry: bool) -> StepRecord {
    let started = Instant::now();
    let started_at = report::rfc3339(SystemTime::now());
    let timeout = ctx
        .config()
        .ok()
        .and_then(|c| c.timeouts.0.get(s.kind).map(|d| d.0))
        .unwrap_or_else(|| default_timeout(s.kind));
    let log = (!dry).then(|| run_dir.join("logs").join(format!("{}.log", s.id.replace([':', '/', ' '], "_"))));
    if dry {
        crate::outln!("  {}: {}", s.id, s.title);
    } else {
        shared.progress.start(&s.id, &s.title);
    }
    let sh = match ctx.shell() {
        Ok(sh) => sh,
        Err(e) => {
            let mut r = skipped_record(s, format!("could not create a shell: {e}"));
            r.status = StepStatus::Failed;
            return r;
        }
    };
    let mut cx = StepCx {
        ctx,
        sh,
        id: s.id.clone(),
        kind: s.kind,
        deps: s.deps.clone(),
        shared,
        dry,
        deadline: started + timeout,
        timeout,
        log: log.clone(),
        run_dir: run_dir.to_path_buf(),
        commands: vec![],
        notes: vec![],
        cache_reason: None,
        pending: None,
        invalidated: false,
    };
    if let Some(l) = &log {
        let _ = std::fs::write(l, format!("# step {}: {}\n", s.id, secrets::redact_global(&s.title)));
    }
    STEP_DEADLINE.with(|d| d.set(Some(cx.deadline)));
    let result = (s.action)(&mut cx);
    STEP_DEADLINE.with(|d| d.set(None));
    let took = started.elapsed();
    let (status, message) = match &result {
        Ok(Done::Passed) => (StepStatus::Passed, None),
        Ok(Done::Cached) => (StepStatus::Cached, None),
        Ok(Done::Skipped(why)) => (StepStatus::Skipped, Some(why.clone())),
        Err(e) if e.downcast_ref::<Interrupted>().is_some() => {
            (StepStatus::Failed, Some("interrupted (Ctrl-C or SIGTERM); the tool was stopped".to_string()))
        }
        Err(e) => (StepStatus::Failed, Some(secrets::redact_global(&format!("{e:#}")))),
    };
    // The cache remembers successes only; a failure forgets the entry so the next run retries.
    if !dry {
        let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = match (status, cx.pending.take()) {
            (StepStatus::Passed, Some((fp, outputs))) => {
                st.steps.insert(s.id.clone(), StepState { fingerprint: fp.digest(), inputs: fp.inputs, outputs });
                true
            }
            (StepStatus::Failed, _) => st.steps.remove(&s.id).is_some(),
            // Steps may forget other steps' entries (invalidate) whatever their own outcome.
            _ => cx.invalidated,
        };
        // Saved after every change, so an interrupted run keeps what finished; a cached step changes nothing.
        if changed || cx.invalidated {
            if let Err(e) = st.save(&shared.state_path) {
                shared.progress.println(&format!("warning: could not save the cache state: {e:#}"));
            }
        }
    }
    let log_tail = log.as_ref().filter(|_| status == StepStatus::Failed).and_then(|l| {
        let text = std::fs::read_to_string(l).ok()?;
        Some(exec::tail_lines(&text, 20))
    });
    let log_rel = log.as_ref().map(|l| ctx.rel(l).display().to_string());
    if dry {
        if let Some(m) = &message {
            crate::outln!("    {}", m);
        }
    } else {
        let detail = match status {
            StepStatus::Cached => cx.cache_reason.clone(),
            _ => message.as_ref().map(|m| m.lines().next().unwrap_or("").to_string()),
        };
        shared.progress.finish(&s.id, status, took, detail.as_deref());
        if status == StepStatus::Failed {
            let mut text = format!("error in {}: {}", s.id, message.as_deref().unwrap_or(""));
            if let Some(t) = &log_tail {
                text += &format!("\n  last output:\n{}", indent(t, "    | "));
            }
            if let Some(l) = &log_rel {
                text += &format!("\n  full log: {l}");
            }
            shared.progress.println(&text);
        }
    }
    StepRecord {
        id: s.id.clone(),
        kind: s.kind,
        title: s.title.clone(),
        status,
        started_at: Some(started_at),
        duration_ms: took.as_millis() as u64,
        cache: cx.cache_reason.clone(),
        commands: cx.commands,
        notes: cx.notes,
        message,
        log: log_rel,
        log_tail,
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}
