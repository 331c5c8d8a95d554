//! What the engine tells the world, as typed events (after cargo-nextest's `TestEventKind`): the engine emits them
//! and prints nothing; the consumers (`consumers.rs`) decide what each shows — the live or plain progress on stderr
//! (`progress.rs`), the plan on stdout under `--dry-run` (`plan.rs`) and the `--json` event stream (`json.rs`).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::report::{CommandRecord, StepStatus};

/// The cache's verdict on a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheDecision {
    /// The inputs are unchanged and the output is still there: the step is skipped.
    Hit,
    /// The step runs, and why (a changed input, no earlier run, a dependency that runs first, a missing output).
    Runs(String),
}

impl CacheDecision {
    pub fn hit(&self) -> bool {
        matches!(self, CacheDecision::Hit)
    }
}

impl fmt::Display for CacheDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheDecision::Hit => f.write_str("cached: inputs unchanged"),
            CacheDecision::Runs(why) => write!(f, "runs: {why}"),
        }
    }
}

/// A failed step's failure block: the tail of its log and where the log is.
pub struct Failure<'a> {
    pub log_tail: Option<&'a str>,
    pub log: Option<&'a str>,
}

/// The tally of a finished run.
pub struct Tally {
    pub passed: usize,
    pub cached: usize,
    pub skipped: usize,
    pub failed: usize,
}

pub enum Event<'a> {
    /// A run began (after its lock was taken).
    RunStarted {
        run_id: &'a str,
        command: &'a str,
    },
    StepStarted {
        step: &'a str,
        title: &'a str,
    },
    /// A command a step would run (dry run); `background` for one that keeps running while the step works.
    CommandPlanned {
        step: &'a str,
        command: &'a str,
        background: bool,
    },
    /// Something else a step would do (dry run), as a line of the plan (`copy …`, `check …`).
    PlanLine {
        text: &'a str,
    },
    /// A command a step ran, and how it ended.
    CommandFinished {
        step: &'a str,
        record: &'a CommandRecord,
    },
    /// A command for the report only, not the `--json` stream: one run outside the engine's runner (in threads of
    /// the step, a version probe), one that could not start, or one left running in the background.
    CommandRecorded {
        step: &'a str,
        record: &'a CommandRecord,
    },
    CacheDecided {
        step: &'a str,
        decision: &'a CacheDecision,
    },
    /// A fact for the console and the report (gate figures, a URL).
    Note {
        step: &'a str,
        message: &'a str,
    },
    /// A running step's changing state (a download's bytes); not recorded.
    Status {
        step: &'a str,
        message: &'a str,
    },
    /// A step that was not started (a dependency failed, fail-fast, an interrupt), and why.
    StepNotStarted {
        step: &'a str,
        why: &'a str,
    },
    /// A step ended. `detail` is the short reason shown after its mark, `message` the whole of it; a failed step
    /// that ran has a `failure` block.
    StepFinished {
        step: &'a str,
        status: StepStatus,
        took: Duration,
        detail: Option<&'a str>,
        message: Option<&'a str>,
        failure: Option<Failure<'a>>,
    },
    /// Fail-fast stopped the run after `first` failed.
    FailFast {
        first: &'a str,
        stopped: usize,
        not_started: usize,
    },
    /// A line for the person watching (a warning, what retention did).
    Message(&'a str),
    RunFinished {
        run_id: &'a str,
        command: &'a str,
        status: &'a str,
        exit_code: i32,
        tally: Tally,
        took: Duration,
        /// The report.json, relative to the project root.
        report: &'a Path,
    },
}
