//! Hands each of the engine's events to its consumers: the report's recorder, the `--json` stream, the plan under
//! `--dry-run`, and the progress display.

use super::event::Event;
use super::json;
use super::plan;
use super::progress::Progress;
use super::recorder::Recorder;

/// The consumers of a run's events.
pub struct Consumers {
    pub(super) progress: Progress,
    /// Each step's commands and notes, for its record in the report.
    pub(super) report: Recorder,
    /// `--dry-run`: the plan printer shows the steps, the progress display only notes and warnings.
    dry: bool,
}

impl Consumers {
    pub fn new(dry: bool) -> Consumers {
        Consumers { progress: Progress::new(!dry), report: Recorder::default(), dry }
    }

    /// For the engine's unit tests: plain lines, never a live display.
    #[cfg(test)]
    pub fn plain() -> Consumers {
        Consumers { progress: Progress::new(false), report: Recorder::default(), dry: false }
    }

    pub fn emit(&self, event: Event<'_>) {
        self.report.record(&event);
        json::write(&event);
        if self.dry && plan::print(&event) {
            return;
        }
        self.progress.show(&event);
    }
}
