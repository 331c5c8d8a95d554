//! When the cache state (`state.json`) is written: soon after each change, spaced by what a write costs, and once
//! more at the end of the run, so a first run of many steps is not quadratic in its steps.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cache::State;
use super::consumers::Consumers;
use super::event::Event;

/// The cache state's writes: whether a change is unwritten, when the last write ended and how long it took.
#[derive(Default)]
pub(super) struct SaveClock {
    dirty: bool,
    last: Option<Instant>,
    cost: Duration,
}

/// A write of the cache state waits until this many times its last cost has passed since it ended, so writing it
/// takes at most about a tenth of the run however many steps change it.
const SAVE_SPACING: u32 = 10;

impl SaveClock {
    pub(super) fn new() -> Mutex<SaveClock> {
        Mutex::new(SaveClock::default())
    }

    /// Records a change to the cache state `st` and writes it to `path` unless the last write was too recent
    /// ([`SAVE_SPACING`]); [`SaveClock::flush`] writes what is left when the graph is done. Writing the whole file
    /// after every step made a first run quadratic in its steps: 1000 images are ~5000 steps and a state of
    /// ~2.7 MB, rewritten ~5000 times. A run killed outright (SIGKILL) loses at most the last tenth of its time's
    /// cache entries, and those steps just run again; Ctrl-C and SIGTERM end through `flush`.
    pub(super) fn changed(&mut self, st: &State, path: &Path, out: &Consumers) {
        self.dirty = true;
        if self.last.is_none_or(|t| t.elapsed() >= self.cost * SAVE_SPACING) {
            self.write(st, path, out);
        }
    }

    /// Writes the cache state if a change is not written yet.
    pub(super) fn flush(&mut self, st: &State, path: &Path, out: &Consumers) {
        if self.dirty {
            self.write(st, path, out);
        }
    }

    fn write(&mut self, st: &State, path: &Path, out: &Consumers) {
        let t0 = Instant::now();
        match st.save(path) {
            Ok(()) => self.dirty = false,
            Err(e) => out.emit(Event::Message(&format!("warning: could not save the cache state: {e:#}"))),
        }
        self.last = Some(Instant::now());
        self.cost = t0.elapsed();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::super::cache::{State, StepState};
    use super::super::consumers::Consumers;
    use super::SaveClock;

    #[test]
    fn the_state_is_written_at_once_then_spaced_by_its_cost_and_flushed_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let out = Consumers::plain();
        let mut clock = SaveClock::default();
        let mut st = State::default();
        let entry = |n: &str| StepState { fingerprint: n.into(), inputs: BTreeMap::new(), outputs: BTreeMap::new() };
        let on_disk = || State::load(&path).steps.keys().cloned().collect::<Vec<_>>();
        st.steps.insert("a".into(), entry("a"));
        clock.changed(&st, &path, &out);
        assert_eq!(on_disk(), ["a"], "the first change is written at once");
        // As if the last write had taken an hour: the next change waits for its spacing.
        clock.cost = Duration::from_secs(3600);
        st.steps.insert("b".into(), entry("b"));
        clock.changed(&st, &path, &out);
        assert_eq!(on_disk(), ["a"]);
        clock.flush(&st, &path, &out);
        assert_eq!(on_disk(), ["a", "b"], "the end of the run writes what was left");
    }
}
