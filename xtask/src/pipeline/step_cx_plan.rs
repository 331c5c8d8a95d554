//! How a step declares its work to [`StepCx`]: in a plan the engine shows (and records) each command and hands
//! back [`Ran::Planned`] without running anything; otherwise it runs the command or the work.

use std::fmt;

use anyhow::Result;

use super::event::Event;
use super::exec::{Exec, Output};
use super::planned::Ran;
use super::step_cx::StepCx;

/// How a step declares its work. In a plan each of these shows (and records) the command and hands back
/// [`Ran::Planned`] without running anything; otherwise it runs the command or the work.
impl StepCx<'_> {
    /// Runs a command whose output the step reads, failing the step when it exits non-zero (like
    /// [`StepCx::run`]).
    pub fn query(&mut self, e: Exec) -> Result<Ran<Output>> {
        if self.dry {
            self.show_planned(e.display());
            return Ok(Ran::Planned);
        }
        self.run(e).map(Ran::Done)
    }

    /// Runs a command whose exit code is information (like [`StepCx::probe`]).
    pub fn ask(&mut self, e: Exec) -> Result<Ran<Output>> {
        if self.dry {
            self.show_planned(e.display());
            return Ok(Ran::Planned);
        }
        self.exec_unchecked(e).map(Ran::Done)
    }

    /// Runs independent commands whose exit codes are information at once (like [`StepCx::probe_all`]).
    pub fn ask_all(&mut self, execs: Vec<Exec>) -> Result<Ran<Vec<Output>>> {
        if self.dry {
            for e in execs {
                self.show_planned(e.display());
            }
            return Ok(Ran::Planned);
        }
        self.probe_all(execs).map(Ran::Done)
    }

    /// A command the step runs its own way (once per run, behind a lock): shown in a plan, else handed back to run.
    pub fn declare(&mut self, e: Exec) -> Ran<Exec> {
        if self.dry {
            self.show_planned(e.display());
            return Ran::Planned;
        }
        Ran::Done(e)
    }

    /// A command the step carries out in-process (a stream it reads and measures), shown as `shown` in a plan.
    pub fn command_of_its_own<T>(
        &mut self,
        shown: String,
        work: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<Ran<T>> {
        if self.dry {
            self.show_planned(shown);
            return Ok(Ran::Planned);
        }
        work(self).map(Ran::Done)
    }

    /// Work that reads what earlier commands found or changes files: left out of a plan, which shows nothing for
    /// it.
    pub fn unless_planning<T>(&mut self, work: impl FnOnce(&mut Self) -> Result<T>) -> Result<Ran<T>> {
        if self.dry {
            return Ok(Ran::Planned);
        }
        work(self).map(Ran::Done)
    }

    /// Like [`StepCx::unless_planning`], for work that needs nothing of the step (writing a file it names).
    pub fn for_real<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<Ran<T>> {
        if self.dry {
            return Ok(Ran::Planned);
        }
        work().map(Ran::Done)
    }

    /// A line of the plan that is not a command (`copy A -> B`, a digest pushed earlier); nothing when the step runs.
    pub fn plan(&self, line: impl fmt::Display) {
        if self.dry {
            self.plan_line(&line.to_string());
        }
    }

    /// Shows a planned command (the plan consumer prints it).
    pub(super) fn show_planned(&mut self, shown: String) {
        self.shared.out.emit(Event::CommandPlanned { step: self.id.as_str(), command: &shown, background: false });
    }
}
