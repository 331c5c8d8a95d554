//! The scheduler's tests: panics, fail-fast, `--keep-going` and large graphs on a temp project.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use xshell::cmd;

use crate::context::Context;
use crate::kinds::{StepId, StepKind};
use crate::pipeline::cache::State;
use crate::pipeline::consumers::Consumers;
use crate::pipeline::facts::Facts;
use crate::pipeline::scheduler::{run_graph, Policy};
use crate::pipeline::step::{Done, Step};
use crate::pipeline::step_cx::Shared;
use crate::report::StepStatus;

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
        saves: crate::pipeline::state_saves::SaveClock::new(),
        facts: Mutex::new(Facts::default()),
        out: Consumers::plain(),
        would_run: Mutex::new(vec![]),
        started: Instant::now(),
    };
    let started = Instant::now();
    let records = run_graph(&ctx, &steps, &shared, dir.path(), Policy { jobs, dry: false, keep_going });
    let out = records.into_iter().map(|r| (r.status, r.message.unwrap_or_default())).collect();
    (out, started.elapsed())
}

fn id(name: &str) -> StepId {
    StepId::named(name)
}

fn ok<'a>(name: &str, kind: StepKind) -> Step<'a> {
    Step::new(id(name), kind, name, |_| Ok(Done::Passed))
}

fn fails<'a>(name: &str) -> Step<'a> {
    Step::new(id(name), StepKind::Preflight, name, |_| Err(anyhow!("broken on purpose")))
}

#[cfg(unix)]
fn sleeps<'a>(name: &str, kind: StepKind) -> Step<'a> {
    Step::new(id(name), kind, name, |cx| {
        cx.run(cmd!(cx.sh, "sleep 30").into())?;
        Ok(Done::Passed)
    })
}

#[test]
fn a_panicking_step_fails_names_the_bug_and_never_blocks_the_run() {
    let steps = vec![
        Step::new(id("boom"), StepKind::Build, "panics", |_| -> Result<Done> { panic!("index out of range") }),
        ok("after-boom", StepKind::Gate).after([id("boom")]),
        ok("independent", StepKind::Lint),
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
    let steps = vec![
        fails("preflight"),
        sleeps("build", StepKind::Build),
        ok("later", StepKind::Cluster),
        ok("check", StepKind::Gate),
    ];
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
        Step::new(id("gate"), StepKind::Gate, "short", |cx| {
            cx.run(cmd!(cx.sh, "sleep 0.3").into())?;
            Ok(Done::Passed)
        }),
        ok("cleanup", StepKind::Teardown).always(),
    ];
    let (records, _) = run(steps, 3, false);
    assert_eq!(records[1].0, StepStatus::Passed, "{records:?}");
    assert_eq!(records[2].0, StepStatus::Passed, "always steps still run: {records:?}");
}

#[test]
fn keep_going_runs_every_step_that_does_not_depend_on_the_failure() {
    let steps = vec![fails("preflight"), ok("build", StepKind::Build), ok("gate", StepKind::Gate).after([id("build")])];
    let (records, _) = run(steps, 1, true);
    let statuses: Vec<StepStatus> = records.iter().map(|r| r.0).collect();
    assert_eq!(statuses, [StepStatus::Failed, StepStatus::Passed, StepStatus::Passed]);
}

#[test]
fn a_long_chain_and_a_wide_fan_out_all_run() {
    // 3000 steps: a chain of 1000 and 2000 dependents of its first step.
    let mut steps: Vec<Step> = (0..1000)
        .map(|i| {
            let s = ok(&format!("c{i}"), StepKind::Gate);
            if i > 0 {
                s.after([id(&format!("c{}", i - 1))])
            } else {
                s
            }
        })
        .collect();
    steps.extend((0..2000).map(|i| ok(&format!("f{i}"), StepKind::Gate).after([id("c0")])));
    let (records, _) = run(steps, 4, false);
    assert!(records.iter().all(|r| r.0 == StepStatus::Passed));
}
