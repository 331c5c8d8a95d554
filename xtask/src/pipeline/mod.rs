//! The step engine every command runs on: a graph of named steps with declared dependencies, run in parallel up to
//! `--jobs`, each with a timeout, its own log, a content-hash cache decision and a record in the run report.
//! `--dry-run` walks the same graph and prints the commands instead of running them.

pub mod cache;
pub mod dockerignore;
pub mod exec;
pub mod interrupt;
pub mod output;
pub mod progress;
pub mod retention;
pub(crate) use crate::secrets;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Result};
use xshell::Shell;

use self::cache::{Fingerprint, State, StepState};
use self::exec::{Exec, Output};
use self::progress::Progress;
use crate::context::Context;
use crate::report::{self, CommandRecord, RunReport, StepRecord, StepStatus};
use crate::text::fmt_duration;

/// Step kinds; `timeouts:` in xtask.yaml overrides the default of each.
pub const STEP_KINDS: &[&str] = &crate::kinds::STEP_KIND_NAMES;

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
    // An unknown kind (ruled out by the debug assertion where steps are made) gets the default of the kinds not named.
    crate::kinds::StepKind::from_name(kind)
        .map_or(Duration::from_secs(10 * 60), crate::kinds::StepKind::default_timeout)
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

/// The engine stopped this step because another one failed (fail-fast). Not a failure of the step itself.
#[derive(Debug)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped because another step failed")
    }
}

impl std::error::Error for Stopped {}

/// Step kinds whose running steps are stopped when another step fails and `--keep-going` is off: compiles and image
/// builds are long, can be restarted and leave nothing half-done (the cache records finished steps only). The other
/// kinds finish: they are short (preflight, gates, lint, render, verify, ai), or a kill would leave shared state
/// half-changed (a cluster half-created, a Helm release stuck in `pending-upgrade`, an image half-loaded).
const STOPPABLE_KINDS: &[&str] = &["prebuild", "build"];

/// Step kinds that are cheap checks: after a failure they still start once their own dependencies passed, so a
/// report lists every gate's and check's verdict whatever the number of CPUs (which decides what was running).
const CHEAP_CHECK_KINDS: &[&str] = &["gate", "lint", "render", "verify"];

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
    /// When the cache state was last written and what that cost (see [`Shared::state_changed`]).
    saves: Mutex<SaveClock>,
    values: Mutex<BTreeMap<String, String>>,
    progress: Progress,
    /// Dry run: steps that would run (not cached), so dependents know their inputs will change.
    would_run: Mutex<Vec<String>>,
    /// When the run started: steps record their start as an offset from it (the report.html timeline).
    started: Instant,
}

/// The cache state's writes: whether a change is unwritten, when the last write ended and how long it took.
#[derive(Default)]
struct SaveClock {
    dirty: bool,
    last: Option<Instant>,
    cost: Duration,
}

/// A write of the cache state waits until this many times its last cost has passed since it ended, so writing it
/// takes at most about a tenth of the run however many steps change it.
const SAVE_SPACING: u32 = 10;

impl Shared {
    /// Records a change to the cache state (`st`, whose lock the caller holds) and writes the file unless the last
    /// write was too recent ([`SAVE_SPACING`]); `flush_state` writes what is left when the graph is done. Writing
    /// the whole file after every step made a first run quadratic in its steps: 1000 images are ~5000 steps and a
    /// state of ~2.7 MB, rewritten ~5000 times. A run killed outright (SIGKILL) loses at most the last tenth of its
    /// time's cache entries, and those steps just run again; Ctrl-C and SIGTERM end through `flush_state`.
    fn state_changed(&self, st: &State) {
        let mut clock = self.saves.lock().unwrap_or_else(|p| p.into_inner());
        clock.dirty = true;
        if clock.last.is_none_or(|t| t.elapsed() >= clock.cost * SAVE_SPACING) {
            self.write_state(st, &mut clock);
        }
    }

    /// Writes the cache state if a change is not written yet.
    fn flush_state(&self) {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut clock = self.saves.lock().unwrap_or_else(|p| p.into_inner());
        if clock.dirty {
            self.write_state(&st, &mut clock);
        }
    }

    fn write_state(&self, st: &State, clock: &mut SaveClock) {
        let t0 = Instant::now();
        match st.save(&self.state_path) {
            Ok(()) => clock.dirty = false,
            Err(e) => self.progress.println(&format!("warning: could not save the cache state: {e:#}")),
        }
        clock.last = Some(Instant::now());
        clock.cost = t0.elapsed();
    }
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
    /// The log's first line; the file is created (with it) when something is first written to it, so a cached step
    /// that runs nothing leaves no file behind (a no-op `up` of 1000 images would create ~5000).
    log_header: String,
    log_created: std::cell::Cell<bool>,
    pub run_dir: PathBuf,
    commands: Vec<CommandRecord>,
    notes: Vec<String>,
    cache_reason: Option<String>,
    pending: Option<(Fingerprint, BTreeMap<String, String>)>,
    /// This step forgot cache entries, so the state must be saved.
    invalidated: bool,
    /// Set by the engine when another step failed and this one should stop (fail-fast).
    cancel: Arc<AtomicBool>,
}

impl<'r> StepCx<'r> {
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
        e.log = self.log_path().map(std::path::Path::to_path_buf);
        e.cancel = Some(self.cancel.clone());
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
        let out = match r {
            Ok(out) => out,
            Err(err) => {
                // Recorded too: the report and the log must show what the step tried, not only that it failed.
                self.commands.push(CommandRecord {
                    command: shown.clone(),
                    exit_code: None,
                    duration_ms: 0,
                    timed_out: false,
                });
                if let Some(l) = self.log_path() {
                    let line = secrets::redact_global(&format!("$ {shown}\n# could not start: {err}\n"));
                    let _ = std::fs::OpenOptions::new()
                        .append(true)
                        .open(l)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
                }
                let program = shown.split(' ').next().unwrap_or("").to_string();
                // Only a missing program means "install it"; other errors (a log path too long, an argument list
                // too long for the OS) say what they are.
                return Err(match err.kind() {
                    std::io::ErrorKind::NotFound => {
                        anyhow!("could not run `{shown}`: {err} — is {program} installed? `cargo xtask doctor` checks")
                    }
                    std::io::ErrorKind::ArgumentListTooLong => anyhow!(
                        "could not run `{shown}`: its arguments are longer than the operating system allows ({err})"
                    ),
                    _ => anyhow!("could not run `{program}` (or write its log): {err}"),
                });
            }
        };
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
        if out.cancelled {
            return Err(Stopped.into());
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
        e.log = self.log_path().map(std::path::Path::to_path_buf);
        self.commands.push(CommandRecord {
            command: format!("{shown} &"),
            exit_code: None,
            duration_ms: 0,
            timed_out: false,
        });
        let bg = exec::spawn(e).map_err(|err| anyhow!("could not start `{shown}`: {err}"))?;
        Ok(Some(bg))
    }

    /// A sender of this step's changing state ([`Progress::status`]) that other threads of the step may use.
    pub fn status_line(&self) -> impl Fn(&str) + Sync + 'r {
        let (id, shared) = (self.id.clone(), self.shared);
        move |msg: &str| shared.progress.status(&id, msg)
    }

    /// The step's log file (None in a dry run), for commands a step runs outside [`StepCx::run`]; created with its
    /// first line on the first call.
    pub fn log_path(&self) -> Option<&std::path::Path> {
        let l = self.log.as_deref()?;
        if !self.log_created.replace(true) {
            let _ = std::fs::write(l, &self.log_header);
        }
        Some(l)
    }

    /// Records commands run outside [`StepCx::run`] (in threads of the step), so the report lists them.
    pub fn record_commands(&mut self, records: impl IntoIterator<Item = CommandRecord>) {
        self.commands.extend(records);
    }

    /// Records a command that ran outside [`StepCx::run`] (a version probe): its line, output and ending go to the
    /// step's log, its exit code to the report.
    pub fn record_output(&mut self, shown: &str, out: &Output) {
        if let Some(l) = self.log_path() {
            let mut text = format!("$ {shown}\n");
            for part in [&out.stdout, &out.stderr] {
                if !part.is_empty() {
                    text += part;
                    if !part.ends_with('\n') {
                        text.push('\n');
                    }
                }
            }
            text += &format!("# {} ({})\n", out.ending(), fmt_duration(out.duration));
            let text = secrets::redact_global(&text);
            let _ = std::fs::OpenOptions::new()
                .append(true)
                .open(l)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
        }
        self.commands.push(CommandRecord {
            command: shown.to_string(),
            exit_code: out.code,
            duration_ms: out.duration.as_millis() as u64,
            timed_out: out.timed_out,
        });
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

    /// Runs the graph and writes the report. Returns the values steps handed on (`app.url`); Err([`StepsFailed`])
    /// or Err([`Interrupted`]) after reporting them.
    pub fn execute(self) -> Result<BTreeMap<String, String>> {
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
            saves: Mutex::new(SaveClock::default()),
            values: Mutex::new(BTreeMap::new()),
            progress: Progress::new(!dry),
            would_run: Mutex::new(vec![]),
            started,
        };
        check_graph(&self.steps)?;
        let jobs = if dry { 1 } else { ctx.jobs() };
        let policy = Policy { jobs, dry, keep_going: self.keep_going };
        let mut records = run_graph(ctx, &self.steps, &shared, &run_dir, policy);
        // Cluster diagnostics help when the cluster was reached and something in it failed, not when a build or
        // a preflight did.
        let cluster_failed =
            records.iter().any(|r| r.status == StepStatus::Failed && matches!(r.kind, "deploy" | "test" | "verify"));
        if cluster_failed && !exec::interrupted() && !dry {
            let extra = run_graph(ctx, &self.on_failure, &shared, &run_dir, Policy { jobs: 1, dry, keep_going: true });
            records.extend(extra);
        }
        if dry {
            return Ok(BTreeMap::new());
        }
        shared.flush_state();
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
        let values = shared.values.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let report = RunReport {
            schema_version: report::SCHEMA_VERSION,
            run_id: run_id.clone(),
            command: self.command.clone(),
            status,
            exit_code: code,
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            provenance: provenance(ctx, &values),
            target: ctx.active_target().map(report::TargetRecord::of),
            steps: records,
        };
        crate::report_files::write(&report, &run_dir)?;
        crate::events::emit(
            "run_finished",
            serde_json::json!({ "run_id": run_id, "status": status, "exit_code": code,
                "report": ctx.rel(&run_dir.join("report.json")) }),
        );
        crate::files::write_atomic(&ctx.state_dir().join("runs").join("latest"), run_id.as_bytes())?;
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

/// The run's provenance: git state, versions, command line, host, and the tool versions steps recorded
/// (`tool:<name>` values; docker's from the Docker preflight).
fn provenance(ctx: &Context, values: &BTreeMap<String, String>) -> report::Provenance {
    let git = |args: &[&str]| -> Option<String> {
        let sh = ctx.shell().ok()?;
        let root = &ctx.root;
        let e = Exec::from(xshell::cmd!(sh, "git -C {root} {args...}")).timeout(Duration::from_secs(5));
        let out = exec::run(e).ok()?;
        out.success().then(|| out.stdout.trim().to_string())
    };
    let git_commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
    let git_dirty = git_commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    let mut tools: BTreeMap<String, String> =
        values.iter().filter_map(|(k, v)| Some((k.strip_prefix("tool:")?.to_string(), v.clone()))).collect();
    if let Some(v) = values.get("docker.version") {
        tools.entry("docker".into()).or_insert_with(|| v.clone());
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

/// How a step's thread ended, for the engine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Normal,
    /// Stopped by fail-fast: recorded as skipped, and its dependents do not start.
    Stopped,
    /// The step's code panicked (a bug): recorded as failed; the engine prints it, as the thread could not.
    Panicked,
}

/// How the engine treats a failed step.
#[derive(Clone, Copy)]
struct Policy {
    jobs: usize,
    dry: bool,
    /// `--keep-going`: run everything that does not depend on a failure (fail-fast stops the rest).
    keep_going: bool,
}

/// Runs steps as their dependencies finish, `jobs` at a time. Returns one record per step, in declaration order.
///
/// A ready queue with dependency counters: each step counts the steps it still waits for, each finished step
/// counts down its waiters, and a step whose count reaches zero joins the queue (lowest declaration index first).
/// The work is linear in steps plus edges (times the queue's log), whatever the graph's shape.
///
/// Fail-fast (the default): after the first failure, steps not yet started are not started (except `always`
/// steps, such as cleanup, and cheap checks whose own dependencies passed, [`CHEAP_CHECK_KINDS`]), and running
/// compiles and image builds are stopped ([`STOPPABLE_KINDS`]).
fn run_graph(
    ctx: &Context,
    steps: &[Step],
    shared: &Shared,
    run_dir: &std::path::Path,
    policy: Policy,
) -> Vec<StepRecord> {
    let Policy { jobs, dry, keep_going } = policy;
    let n = steps.len();
    let index: HashMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let deps: Vec<Vec<usize>> = steps.iter().map(|s| s.deps.iter().map(|d| index[d.as_str()]).collect()).collect();
    let mut waiting = vec![0usize; n];
    let mut waiters: Vec<Vec<usize>> = vec![vec![]; n];
    for (i, s) in steps.iter().enumerate() {
        for d in s.deps.iter().chain(&s.order_after) {
            waiting[i] += 1;
            waiters[index[d.as_str()]].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut records: Vec<Option<StepRecord>> = vec![None; n];
    // A step is "blocked" when it failed, was stopped, or was not started: its dependents do not start either.
    let mut blocked = vec![false; n];
    // The first failure, once fail-fast stops the run.
    let mut stopping: Option<String> = None;
    let (mut stopped, mut not_started) = (0, 0);
    let (tx, rx) = mpsc::channel::<(usize, StepRecord, Ending)>();
    std::thread::scope(|scope| {
        let mut running: HashMap<usize, Arc<AtomicBool>> = HashMap::new();
        loop {
            while running.len() < jobs {
                let Some(Reverse(i)) = ready.pop() else { break };
                let s = &steps[i];
                let failed_dep = deps[i].iter().find(|d| blocked[**d]).map(|d| {
                    let failed = records[*d].as_ref().is_some_and(|r| r.status == StepStatus::Failed);
                    (steps[*d].id.clone(), if failed { "failed" } else { "did not run" })
                });
                let skip = match (&failed_dep, exec::interrupted(), &stopping) {
                    (_, true, _) => Some("not started: the run was interrupted".to_string()),
                    (Some((d, how)), false, _) if !s.always => Some(format!("not started: `{d}` {how}")),
                    (None, false, Some(first)) if !s.always && !CHEAP_CHECK_KINDS.contains(&s.kind) => Some(format!(
                        "not started: `{first}` failed and the run stops at the first failure (`--keep-going` runs \
                         the steps that do not depend on it)"
                    )),
                    _ => None,
                };
                if let Some(why) = skip {
                    blocked[i] = true;
                    not_started += usize::from(failed_dep.is_none() && stopping.is_some());
                    if dry {
                        crate::outln!("  {} — {why}", s.id);
                    } else {
                        shared.progress.finish(&s.id, StepStatus::Skipped, Duration::ZERO, Some(&why));
                    }
                    records[i] = Some(skipped_record(s, why));
                    release(i, &waiters, &mut waiting, &mut ready);
                    continue;
                }
                let cancel = Arc::new(AtomicBool::new(false));
                running.insert(i, cancel.clone());
                let tx = tx.clone();
                let run = move || {
                    let started = Instant::now();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_step(ctx, s, shared, run_dir, dry, cancel)
                    }));
                    let (rec, ending) =
                        outcome.unwrap_or_else(|p| (panicked_record(s, &*p, started), Ending::Panicked));
                    let _ = tx.send((i, rec, ending));
                };
                if dry {
                    run();
                } else {
                    scope.spawn(run);
                }
            }
            if running.is_empty() {
                // Nothing runs and nothing is ready: every step has a record, or the rest wait on a cycle.
                break;
            }
            let Ok((i, rec, ending)) = rx.recv() else { break };
            running.remove(&i);
            if ending == Ending::Panicked {
                report_panic(ctx, shared, &rec);
            }
            let failed = rec.status == StepStatus::Failed;
            blocked[i] = failed || ending == Ending::Stopped;
            stopped += usize::from(ending == Ending::Stopped);
            if failed && !keep_going && !dry && stopping.is_none() && !exec::interrupted() {
                stopping = Some(rec.id.clone());
                for (j, cancel) in &running {
                    if STOPPABLE_KINDS.contains(&steps[*j].kind) {
                        cancel.store(true, Ordering::SeqCst);
                    }
                }
            }
            records[i] = Some(rec);
            release(i, &waiters, &mut waiting, &mut ready);
        }
    });
    if let Some(first) = &stopping {
        if stopped + not_started > 0 {
            shared.progress.println(&format!(
                "`{first}` failed: stopped {stopped} running and did not start {not_started} independent step(s); \
                 `--keep-going` runs every step that does not depend on a failure"
            ));
        }
    }
    steps
        .iter()
        .zip(records)
        .map(|(s, r)| r.unwrap_or_else(|| skipped_record(s, "not started: dependency cycle".into())))
        .collect()
}

/// Counts down the waiters of a finished step; those with nothing left to wait for join the ready queue.
fn release(i: usize, waiters: &[Vec<usize>], waiting: &mut [usize], ready: &mut BinaryHeap<Reverse<usize>>) {
    for &w in &waiters[i] {
        waiting[w] -= 1;
        if waiting[w] == 0 {
            ready.push(Reverse(w));
        }
    }
}

/// The record of a step whose code panicked: a failed step naming the bug, so the run ends and reports instead of
/// waiting for a thread that is gone.
fn panicked_record(s: &Step, payload: &(dyn std::any::Any + Send), started: Instant) -> StepRecord {
    let what = payload
        .downcast_ref::<&str>()
        .map(|m| m.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let mut r = skipped_record(
        s,
        format!(
            "internal error: the step panicked: {}. This is a bug in the xtask: please report it with this run's \
             report.json",
            secrets::redact_global(&what)
        ),
    );
    r.status = StepStatus::Failed;
    r.duration_ms = started.elapsed().as_millis() as u64;
    r
}

/// Shows a panicked step like any failed one (its thread died before it could).
fn report_panic(ctx: &Context, shared: &Shared, rec: &StepRecord) {
    if ctx.global.dry_run {
        println!("    {}", rec.message.as_deref().unwrap_or(""));
        return;
    }
    let took = Duration::from_millis(rec.duration_ms);
    shared.progress.finish(&rec.id, StepStatus::Failed, took, rec.message.as_deref());
}

fn skipped_record(s: &Step, why: String) -> StepRecord {
    StepRecord {
        id: s.id.clone(),
        kind: s.kind,
        title: s.title.clone(),
        status: StepStatus::Skipped,
        started_at: None,
        start_ms: None,
        duration_ms: 0,
        cache: None,
        commands: vec![],
        notes: vec![],
        message: Some(why),
        log: None,
        log_tail: None,
    }
}

fn run_step(
    ctx: &Context,
    s: &Step,
    shared: &Shared,
    run_dir: &std::path::Path,
    dry: bool,
    cancel: Arc<AtomicBool>,
) -> (StepRecord, Ending) {
    let started = Instant::now();
    let started_at = crate::text::rfc3339(SystemTime::now());
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
            return (r, Ending::Normal);
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
        // A huge `timeouts:` value means "no limit", not an overflow.
        deadline: started.checked_add(timeout).unwrap_or_else(|| started + Duration::from_secs(100 * 365 * 86_400)),
        timeout,
        log: log.clone(),
        log_header: format!("# step {}: {}\n", s.id, secrets::redact_global(&s.title)),
        log_created: std::cell::Cell::new(false),
        run_dir: run_dir.to_path_buf(),
        commands: vec![],
        notes: vec![],
        cache_reason: None,
        pending: None,
        invalidated: false,
        cancel,
    };
    STEP_DEADLINE.with(|d| d.set(Some(cx.deadline)));
    let result = (s.action)(&mut cx);
    STEP_DEADLINE.with(|d| d.set(None));
    let took = started.elapsed();
    let stopped = result.as_ref().err().is_some_and(|e| e.downcast_ref::<Stopped>().is_some());
    let (status, message) = match &result {
        Err(_) if stopped => (
            StepStatus::Skipped,
            Some(
                "stopped: another step failed and the run stops at the first failure (`--keep-going` lets it finish)"
                    .to_string(),
            ),
        ),
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
        // Written soon after every change (and at the end of the run), so an interrupted run keeps what finished;
        // a cached step changes nothing.
        if changed || cx.invalidated {
            shared.state_changed(&st);
        }
    }
    // A cached step that wrote nothing has no log; every other step has one, if only its first line.
    let log = if status == StepStatus::Cached && !cx.log_created.get() {
        None
    } else {
        cx.log_path().map(std::path::Path::to_path_buf)
    };
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
    let record = StepRecord {
        id: s.id.clone(),
        kind: s.kind,
        title: s.title.clone(),
        status,
        started_at: Some(started_at),
        start_ms: Some(started.saturating_duration_since(shared.started).as_millis() as u64),
        duration_ms: took.as_millis() as u64,
        cache: cx.cache_reason.clone(),
        commands: cx.commands,
        notes: cx.notes,
        message,
        log: log_rel,
        log_tail,
    };
    (record, if stopped { Ending::Stopped } else { Ending::Normal })
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use xshell::cmd;

    fn global() -> crate::cli::Global {
        // Parsed like a real command line, so new global flags get their defaults here too.
        <crate::cli::Cli as clap::Parser>::try_parse_from(["xtask", "doctor"]).expect("parses").global
    }

    /// Runs `steps` on the engine in a temp project; returns (status, message) per step and the wall time.
    fn run(steps: Vec<Step>, jobs: usize, keep_going: bool) -> (Vec<(StepStatus, String)>, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = Context::new(global()).unwrap();
        ctx.root = dir.path().to_path_buf();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let shared = Shared {
            state: Mutex::new(State::default()),
            state_path: dir.path().join("state.json"),
            saves: Mutex::new(SaveClock::default()),
            values: Mutex::new(BTreeMap::new()),
            progress: Progress::new(false),
            would_run: Mutex::new(vec![]),
            started: Instant::now(),
        };
        let started = Instant::now();
        let records = run_graph(&ctx, &steps, &shared, dir.path(), Policy { jobs, dry: false, keep_going });
        let out = records.into_iter().map(|r| (r.status, r.message.unwrap_or_default())).collect();
        (out, started.elapsed())
    }

    fn ok<'a>(id: &str, kind: &'static str) -> Step<'a> {
        Step::new(id, kind, id, |_| Ok(Done::Passed))
    }

    fn fails<'a>(id: &str) -> Step<'a> {
        Step::new(id, "preflight", id, |_| Err(anyhow!("broken on purpose")))
    }

    #[cfg(unix)]
    fn sleeps<'a>(id: &str, kind: &'static str) -> Step<'a> {
        Step::new(id, kind, id, |cx| {
            cx.run(cmd!(cx.sh, "sleep 30").into())?;
            Ok(Done::Passed)
        })
    }

    #[test]
    fn the_state_is_written_at_once_then_spaced_by_its_cost_and_flushed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let shared = Shared {
            state: Mutex::new(State::default()),
            state_path: path.clone(),
            saves: Mutex::new(SaveClock::default()),
            values: Mutex::new(BTreeMap::new()),
            progress: Progress::new(false),
            would_run: Mutex::new(vec![]),
            started: Instant::now(),
        };
        let entry = |n: &str| StepState { fingerprint: n.into(), inputs: BTreeMap::new(), outputs: BTreeMap::new() };
        let on_disk = || State::load(&path).steps.keys().cloned().collect::<Vec<_>>();
        let change = |id: &str| {
            let mut st = shared.state.lock().unwrap();
            st.steps.insert(id.into(), entry(id));
            shared.state_changed(&st);
        };
        change("a");
        assert_eq!(on_disk(), ["a"], "the first change is written at once");
        // As if the last write had taken an hour: the next change waits for its spacing.
        shared.saves.lock().unwrap().cost = Duration::from_secs(3600);
        change("b");
        assert_eq!(on_disk(), ["a"]);
        shared.flush_state();
        assert_eq!(on_disk(), ["a", "b"], "the end of the run writes what was left");
    }

    #[test]
    fn a_panicking_step_fails_names_the_bug_and_never_blocks_the_run() {
        let steps = vec![
            Step::new("boom", "build", "panics", |_| -> Result<Done> { panic!("index out of range") }),
            ok("after-boom", "gate").after(["boom"]),
            ok("independent", "lint"),
        ];
        let (records, _) = run(steps, 2, true);
        assert_eq!(records[0].0, StepStatus::Failed);
        assert!(records[0].1.starts_with("internal error: the step panicked: index out of range."), "{records:?}");
        assert_eq!(records[1], (StepStatus::Skipped, "not started: `boom` failed".to_string()));
        assert_eq!(records[2].0, StepStatus::Passed);
    }

    #[cfg(unix)]
    #[test]
    fn fail_fast_stops_running_builds_and_starts_nothing_new() {
        // jobs = 2: the failing preflight and the build run together; `later` waits for a free slot.
        let steps = vec![fails("preflight"), sleeps("build", "build"), ok("later", "cluster"), ok("check", "gate")];
        let (records, took) = run(steps, 2, false);
        assert_eq!(records[0].0, StepStatus::Failed);
        assert_eq!(records[1].0, StepStatus::Skipped, "{records:?}");
        assert!(records[1].1.starts_with("stopped: another step failed"), "{records:?}");
        assert_eq!(records[2].0, StepStatus::Skipped);
        assert!(records[2].1.contains("`preflight` failed and the run stops at the first failure"), "{records:?}");
        // A cheap check whose dependencies passed still starts: its verdict does not depend on the CPU count.
        assert_eq!(records[3].0, StepStatus::Passed, "{records:?}");
        assert!(took < Duration::from_secs(20), "the sleeping build was not stopped: {took:?}");
    }

    #[cfg(unix)]
    #[test]
    fn fail_fast_lets_a_running_step_that_is_not_a_build_finish() {
        let steps = vec![
            fails("preflight"),
            Step::new("gate", "gate", "short", |cx| {
                cx.run(cmd!(cx.sh, "sleep 0.3").into())?;
                Ok(Done::Passed)
            }),
            ok("cleanup", "teardown").always(),
        ];
        let (records, _) = run(steps, 3, false);
        assert_eq!(records[1].0, StepStatus::Passed, "{records:?}");
        assert_eq!(records[2].0, StepStatus::Passed, "always steps still run: {records:?}");
    }

    #[test]
    fn keep_going_runs_every_step_that_does_not_depend_on_the_failure() {
        let steps = vec![fails("preflight"), ok("build", "build"), ok("gate", "gate").after(["build"])];
        let (records, _) = run(steps, 1, true);
        let statuses: Vec<StepStatus> = records.iter().map(|r| r.0).collect();
        assert_eq!(statuses, [StepStatus::Failed, StepStatus::Passed, StepStatus::Passed]);
    }

    #[test]
    fn a_long_chain_and_a_wide_fan_out_all_run() {
        // 3000 steps: a chain of 1000 and 2000 dependents of its first step.
        let mut steps: Vec<Step> = (0..1000)
            .map(|i| {
                let s = ok(&format!("c{i}"), "gate");
                if i > 0 {
                    s.after([format!("c{}", i - 1)])
                } else {
                    s
                }
            })
            .collect();
        steps.extend((0..2000).map(|i| ok(&format!("f{i}"), "gate").after(["c0"])));
        let (records, _) = run(steps, 4, false);
        assert!(records.iter().all(|r| r.0 == StepStatus::Passed));
    }
}
