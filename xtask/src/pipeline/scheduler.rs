//! The scheduler: runs a graph's steps as their dependencies finish, `jobs` at a time, with fail-fast or
//! `--keep-going`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::event::Event;
use super::exec;
use super::run_step::{panicked_record, run_step, skipped_record, Ending};
use super::step::Step;
use super::step_cx::Shared;
use crate::context::Context;
use crate::report::{StepRecord, StepStatus};

pub(super) fn check_graph(steps: &[Step]) -> Result<()> {
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

/// How the engine treats a failed step.
#[derive(Clone, Copy)]
pub(super) struct Policy {
    pub(super) jobs: usize,
    pub(super) dry: bool,
    /// `--keep-going`: run everything that does not depend on a failure (fail-fast stops the rest).
    pub(super) keep_going: bool,
}

/// Runs steps as their dependencies finish, `jobs` at a time. Returns one record per step, in declaration order.
///
/// A ready queue with dependency counters: each step counts the steps it still waits for, each finished step
/// counts down its waiters, and a step whose count reaches zero joins the queue (lowest declaration index first).
/// The work is linear in steps plus edges (times the queue's log), whatever the graph's shape.
///
/// Fail-fast (the default): after the first failure, steps not yet started are not started (except `always`
/// steps, such as cleanup, and cheap checks whose own dependencies passed, [`StepKind::cheap_check`](crate::kinds::StepKind::cheap_check)), and running
/// compiles and image builds are stopped ([`StepKind::stoppable`](crate::kinds::StepKind::stoppable)).
pub(super) fn run_graph(
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
                    (None, false, Some(first)) if !s.always && !s.kind.cheap_check() => Some(format!(
                        "not started: `{first}` failed and the run stops at the first failure (`--keep-going` runs \
                         the steps that do not depend on it)"
                    )),
                    _ => None,
                };
                if let Some(why) = skip {
                    blocked[i] = true;
                    not_started += usize::from(failed_dep.is_none() && stopping.is_some());
                    shared.out.emit(Event::StepNotStarted { step: s.id.as_str(), why: &why });
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
                report_panic(shared, &rec);
            }
            let failed = rec.status == StepStatus::Failed;
            blocked[i] = failed || ending == Ending::Stopped;
            stopped += usize::from(ending == Ending::Stopped);
            if failed && !keep_going && !dry && stopping.is_none() && !exec::interrupted() {
                stopping = Some(rec.id.clone());
                for (j, cancel) in &running {
                    if steps[*j].kind.stoppable() {
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
            shared.out.emit(Event::FailFast { first, stopped, not_started });
        }
    }
    steps
        .iter()
        .zip(records)
        .map(|(s, r)| r.unwrap_or_else(|| skipped_record(s, "not started: dependency cycle".into())))
        .collect()
}

/// Counts down the waiters of a finished step; those with nothing left to wait for join the ready queue.
pub(super) fn release(i: usize, waiters: &[Vec<usize>], waiting: &mut [usize], ready: &mut BinaryHeap<Reverse<usize>>) {
    for &w in &waiters[i] {
        waiting[w] -= 1;
        if waiting[w] == 0 {
            ready.push(Reverse(w));
        }
    }
}

/// Shows a panicked step like any failed one (its thread died before it could).
pub(super) fn report_panic(shared: &Shared, rec: &StepRecord) {
    shared.out.emit(Event::StepFinished {
        step: &rec.id,
        status: StepStatus::Failed,
        took: Duration::from_millis(rec.duration_ms),
        detail: rec.message.as_deref(),
        message: rec.message.as_deref(),
        failure: None,
    });
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
