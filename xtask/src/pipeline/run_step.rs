//! Running one step: its context, time limit and log, its cache entry afterwards, what the console shows, and its
//! record in the report (also for steps that were skipped or panicked).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::cache::StepState;
use super::event::{Event, Failure};
use super::exec;
use super::step::{Done, Step, STEP_DEADLINE};
use super::step_cx::{Shared, StepCx};
use crate::context::Context;
use crate::error::Error;
use crate::report::{StepRecord, StepStatus};
use crate::secrets;

/// How a step's thread ended, for the engine.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    Normal,
    /// Stopped by fail-fast: recorded as skipped, and its dependents do not start.
    Stopped,
    /// The step's code panicked (a bug): recorded as failed; the engine prints it, as the thread could not.
    Panicked,
}

/// The record of a step whose code panicked: a failed step naming the bug, so the run ends and reports instead of
/// waiting for a thread that is gone.
pub(super) fn panicked_record(s: &Step, payload: &(dyn std::any::Any + Send), started: Instant) -> StepRecord {
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

pub(super) fn skipped_record(s: &Step, why: String) -> StepRecord {
    StepRecord {
        id: s.id.to_string(),
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

pub(super) fn run_step(
    ctx: &Context,
    s: &Step,
    shared: &Shared,
    run_dir: &std::path::Path,
    dry: bool,
    cancel: Arc<AtomicBool>,
) -> (StepRecord, Ending) {
    let started = Instant::now();
    let started_at = crate::text::rfc3339(SystemTime::now());
    let timeout = ctx.config().ok().and_then(|c| c.timeouts.get(s.kind)).unwrap_or_else(|| s.kind.default_timeout());
    let log = (!dry).then(|| run_dir.join("logs").join(format!("{}.log", s.id.as_str().replace([':', '/', ' '], "_"))));
    shared.out.emit(Event::StepStarted { step: s.id.as_str(), title: &s.title });
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
        cache: None,
        pending: None,
        invalidated: false,
        cancel,
    };
    STEP_DEADLINE.with(|d| d.set(Some(cx.deadline)));
    let result = (s.action)(&mut cx);
    STEP_DEADLINE.with(|d| d.set(None));
    let took = started.elapsed();
    let stopped = result.as_ref().err().is_some_and(|e| Error::is(e, |k| matches!(k, Error::Stopped)));
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
        Err(e) if Error::is_interrupted(e) => {
            (StepStatus::Failed, Some("interrupted (Ctrl-C or SIGTERM); the tool was stopped".to_string()))
        }
        Err(e) => (StepStatus::Failed, Some(secrets::redact_global(&format!("{e:#}")))),
    };
    // The cache remembers successes only; a failure forgets the entry so the next run retries.
    if !dry {
        let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = match (status, cx.pending.take()) {
            (StepStatus::Passed, Some((fp, outputs))) => {
                st.steps.insert(s.id.to_string(), StepState { fingerprint: fp.digest(), inputs: fp.inputs, outputs });
                true
            }
            (StepStatus::Failed, _) => st.steps.remove(s.id.as_str()).is_some(),
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
    let cache = cx.cache.as_ref().map(ToString::to_string);
    let detail = match status {
        StepStatus::Cached => cache.clone(),
        _ => message.as_ref().map(|m| m.lines().next().unwrap_or("").to_string()),
    };
    shared.out.emit(Event::StepFinished {
        step: s.id.as_str(),
        status,
        took,
        detail: detail.as_deref(),
        message: message.as_deref(),
        failure: (status == StepStatus::Failed)
            .then_some(Failure { log_tail: log_tail.as_deref(), log: log_rel.as_deref() }),
    });
    let gathered = shared.out.report.take(s.id.as_str());
    let record = StepRecord {
        id: s.id.to_string(),
        kind: s.kind,
        title: s.title.clone(),
        status,
        started_at: Some(started_at),
        start_ms: Some(started.saturating_duration_since(shared.started).as_millis() as u64),
        duration_ms: took.as_millis() as u64,
        cache,
        commands: gathered.commands,
        notes: gathered.notes,
        message,
        log: log_rel,
        log_tail,
    };
    (record, if stopped { Ending::Stopped } else { Ending::Normal })
}
