//! A step: its id, kind, title, dependencies and action, and how it ended when it did not fail.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::step_cx::StepCx;

/// Step kinds; `timeouts:` in xtask.yaml overrides the default of each.
pub const STEP_KINDS: &[&str] = &crate::kinds::STEP_KIND_NAMES;

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

pub fn default_timeout(kind: &str) -> Duration {
    // An unknown kind (ruled out by the debug assertion where steps are made) gets the default of the kinds not named.
    crate::kinds::StepKind::from_name(kind)
        .map_or(Duration::from_secs(10 * 60), crate::kinds::StepKind::default_timeout)
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
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub deps: Vec<String>,
    /// Runs even when a dependency failed (teardown, diagnostics).
    pub always: bool,
    /// Steps this one waits for without depending on their outcome (ordering only).
    pub order_after: Vec<String>,
    pub(super) action: Action<'a>,
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
