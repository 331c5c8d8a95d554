//! A step's view of the run while it works ([`StepCx`]): running commands (run, probe, background) within the
//! step's time, with its log and its record in the report. Its cache, values and notes are in `step_cx_state.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use xshell::Shell;

use super::cache::{Fingerprint, State};
use super::consumers::Consumers;
use super::event::{CacheDecision, Event};
use super::exec::{self, Exec, Output};
use super::facts::Facts;
use crate::context::Context;
use crate::error::Error;
use crate::kinds::{StepId, StepKind};
use crate::report::CommandRecord;
use crate::secrets;
use crate::text::fmt_duration;

/// What runs share: the cache state, the facts steps hand to later steps, and the consumers of the events.
pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) state_path: PathBuf,
    /// When the cache state was last written and what that cost (see `state_saves.rs`).
    pub(super) saves: Mutex<super::state_saves::SaveClock>,
    pub(super) facts: Mutex<Facts>,
    pub(super) out: Consumers,
    /// Dry run: steps that would run (not cached), so dependents know their inputs will change.
    pub(super) would_run: Mutex<Vec<StepId>>,
    /// When the run started: steps record their start as an offset from it (the report.html timeline).
    pub(super) started: Instant,
}

/// What the report keeps of a command that ran: its line, exit code, duration and whether it timed out.
pub(super) fn command_record(shown: &str, out: &Output) -> CommandRecord {
    CommandRecord {
        command: shown.to_string(),
        exit_code: out.code,
        duration_ms: out.duration.as_millis() as u64,
        timed_out: out.timed_out,
    }
}

impl Shared {
    /// Records a change to the cache state (`st`, whose lock the caller holds); written soon, spaced by its cost.
    pub(super) fn state_changed(&self, st: &State) {
        self.saves.lock().unwrap_or_else(|p| p.into_inner()).changed(st, &self.state_path, &self.out);
    }

    /// Writes the cache state if a change is not written yet (the end of the run).
    pub(super) fn flush_state(&self) {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.saves.lock().unwrap_or_else(|p| p.into_inner()).flush(&st, &self.state_path, &self.out);
    }
}

/// A step's view of the run while it works.
pub struct StepCx<'r> {
    pub ctx: &'r Context,
    pub sh: Shell,
    pub id: StepId,
    /// The step's kind: its `timeouts:` key.
    pub(super) kind: StepKind,
    pub(super) deps: Vec<StepId>,
    pub(super) shared: &'r Shared,
    pub(super) dry: bool,
    pub(super) deadline: Instant,
    pub(super) timeout: Duration,
    pub(super) log: Option<PathBuf>,
    /// The log's first line; the file is created (with it) when something is first written to it, so a cached step
    /// that runs nothing leaves no file behind (a no-op `up` of 1000 images would create ~5000).
    pub(super) log_header: String,
    pub(super) log_created: std::cell::Cell<bool>,
    pub run_dir: PathBuf,
    pub(super) cache: Option<CacheDecision>,
    pub(super) pending: Option<(Fingerprint, BTreeMap<String, String>)>,
    /// This step forgot cache entries, so the state must be saved.
    pub(super) invalidated: bool,
    /// Set by the engine when another step failed and this one should stop (fail-fast).
    pub(super) cancel: Arc<AtomicBool>,
}

impl<'r> StepCx<'r> {
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

    pub(super) fn prepare(&self, mut e: Exec) -> Exec {
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
            self.show_planned(shown);
            return Ok(Output::default());
        }
        let step_limited = self.deadline.saturating_duration_since(Instant::now()) <= e.timeout;
        let e = self.prepare(e);
        let r = exec::run(e);
        self.finish_exec(shown, r, step_limited)
    }

    pub(super) fn finish_exec(
        &mut self,
        shown: String,
        r: std::io::Result<Output>,
        step_limited: bool,
    ) -> Result<Output> {
        let out = match r {
            Ok(out) => out,
            Err(err) => {
                // Recorded too: the report and the log must show what the step tried, not only that it failed.
                let record =
                    CommandRecord { command: shown.clone(), exit_code: None, duration_ms: 0, timed_out: false };
                self.shared.out.emit(Event::CommandRecorded { step: self.id.as_str(), record: &record });
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
        let record = command_record(&shown, &out);
        self.shared.out.emit(Event::CommandFinished { step: self.id.as_str(), record: &record });
        if out.interrupted {
            return Err(Error::Interrupted.into());
        }
        if out.cancelled {
            return Err(Error::Stopped.into());
        }
        if out.timed_out {
            let (what, limit) = if step_limited {
                (format!("step `{}`", self.id), self.timeout)
            } else {
                (format!("`{shown}` in step `{}`", self.id), out.duration)
            };
            return Err(Error::TimedOut {
                message: format!(
                    "{what} timed out after {} while running `{shown}`; the tool was stopped. Raise `timeouts.{}` in \
                 xtask.yaml if it needs longer",
                    fmt_duration(limit),
                    self.kind.name()
                ),
            }
            .into());
        }
        Ok(out)
    }

    /// A line of the plan (dry run) for something the step would do other than run a command (`copy …`, `check
    /// …`); a command it would run is planned by [`StepCx::run`] and its siblings.
    pub fn plan_line(&self, text: &str) {
        self.shared.out.emit(Event::PlanLine { text });
    }

    /// Starts a command that keeps running while the step works (port-forward, a service tunnel); it is ended
    /// when the returned handle is dropped. None in a dry run.
    pub fn background(&mut self, mut e: Exec) -> Result<Option<exec::Background>> {
        let shown = e.display();
        if self.dry {
            self.shared.out.emit(Event::CommandPlanned { step: self.id.as_str(), command: &shown, background: true });
            return Ok(None);
        }
        e.log = self.log_path().map(std::path::Path::to_path_buf);
        let record = CommandRecord { command: format!("{shown} &"), exit_code: None, duration_ms: 0, timed_out: false };
        self.shared.out.emit(Event::CommandRecorded { step: self.id.as_str(), record: &record });
        let bg = exec::spawn(e).map_err(|err| anyhow!("could not start `{shown}`: {err}"))?;
        Ok(Some(bg))
    }
}
