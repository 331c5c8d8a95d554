//! A step: its id, kind, title, dependencies and action, and how it ended when it did not fail.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::step_cx::StepCx;
use crate::kinds::{StepId, StepKind};

thread_local! {
    /// The deadline of the step running on this thread, for waits that do not go through [`StepCx`] (HTTP calls).
    pub(super) static STEP_DEADLINE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// `limit`, shortened to the time left before the current step's deadline (when called from a step).
pub fn within_step(limit: Duration) -> Duration {
    match STEP_DEADLINE.with(|d| d.get()) {
        Some(d) => limit.min(d.saturating_duration_since(Instant::now())),
        None => limit,
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

pub(super) type Action<'a> = Box<dyn Fn(&mut StepCx) -> Result<Done> + Send + Sync + 'a>;

pub struct Step<'a> {
    pub id: StepId,
    pub kind: StepKind,
    pub title: String,
    pub deps: Vec<StepId>,
    /// Runs even when a dependency failed (teardown, diagnostics).
    pub always: bool,
    /// Steps this one waits for without depending on their outcome (ordering only).
    pub order_after: Vec<StepId>,
    pub(super) action: Action<'a>,
}

impl<'a> Step<'a> {
    pub fn new(
        id: StepId,
        kind: StepKind,
        title: impl Into<String>,
        action: impl Fn(&mut StepCx) -> Result<Done> + Send + Sync + 'a,
    ) -> Step<'a> {
        Step {
            id,
            kind,
            title: title.into(),
            deps: vec![],
            always: false,
            order_after: vec![],
            action: Box::new(action),
        }
    }

    pub fn after(mut self, deps: impl IntoIterator<Item = StepId>) -> Self {
        self.deps.extend(deps);
        self
    }

    /// Runs after these steps, whatever became of them (for checks that must not overlap but stand alone).
    pub fn after_any(mut self, steps: impl IntoIterator<Item = StepId>) -> Self {
        self.order_after.extend(steps);
        self
    }

    pub fn always(mut self) -> Self {
        self.always = true;
        self
    }
}
