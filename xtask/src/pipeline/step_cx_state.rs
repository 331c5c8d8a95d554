//! [`StepCx`]'s bookkeeping: notes, commands run outside it, the cache decision and entries, and the values steps
//! hand to later steps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::cache::Fingerprint;
use super::event::{CacheDecision, Event};
use super::exec::Output;
use super::facts::{Facts, Memo};
use super::step_cx::StepCx;
use crate::kinds::{StepFamily, StepId};
use crate::report::CommandRecord;
use crate::secrets;
use crate::text::fmt_duration;

impl<'r> StepCx<'r> {
    /// A sender of this step's changing state ([`Event::Status`]) that other threads of the step may use.
    pub fn status_line(&self) -> impl Fn(&str) + Sync + 'r {
        let (id, shared) = (self.id.to_string(), self.shared);
        move |msg: &str| shared.out.emit(Event::Status { step: &id, message: msg })
    }

    /// The step's log file (None in a dry run), for commands a step runs outside [`StepCx::run`]; created with its
    /// first line on the first call.
    pub fn log_path(&self) -> Option<&std::path::Path> {
        let l = self.log.as_deref()?;
        if !self.log_created.replace(true) {
            let _ = std::fs::write(l, &self.log_header);
        }
        Some(l)
    }

    /// Records commands run outside [`StepCx::run`] (in threads of the step), so the report lists them.
    pub fn record_commands(&mut self, records: impl IntoIterator<Item = CommandRecord>) {
        for record in records {
            self.shared.out.emit(Event::CommandRecorded { step: self.id.as_str(), record: &record });
        }
    }

    /// Records a command that ran outside [`StepCx::run`] (a version probe): its line, output and ending go to the
    /// step's log, its exit code to the report.
    pub fn record_output(&mut self, shown: &str, out: &Output) {
        if let Some(l) = self.log_path() {
            let mut text = format!("$ {shown}\n");
            for part in [&out.stdout, &out.stderr] {
                if !part.is_empty() {
                    text += part;
                    if !part.ends_with('\n') {
                        text.push('\n');
                    }
                }
            }
            text += &format!("# {} ({})\n", out.ending(), fmt_duration(out.duration));
            let text = secrets::redact_global(&text);
            let _ = std::fs::OpenOptions::new()
                .append(true)
                .open(l)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
        }
        let record = super::step_cx::command_record(shown, out);
        self.shared.out.emit(Event::CommandRecorded { step: self.id.as_str(), record: &record });
    }

    /// Time left before this step's timeout.
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A fact for the console and the report (gate figures, a URL).
    pub fn note(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        self.shared.out.emit(Event::Note { step: self.id.as_str(), message: &msg });
    }

    /// The cache decision. `present` says whether the step's output still exists (`None`) or why not; it is not
    /// asked in a dry run. Returns true when the step can be skipped as cached.
    pub fn cached(
        &mut self,
        mut fp: Fingerprint,
        present: impl FnOnce(&mut Self) -> Result<Option<String>>,
    ) -> Result<bool> {
        let prev = self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).steps.get(self.id.as_str()).cloned();
        if let Some(p) = &prev {
            fp.assume_unchanged(&p.inputs);
        }
        let digest = fp.digest();
        let dep_runs = if self.dry {
            let wr = self.shared.would_run.lock().unwrap_or_else(|p| p.into_inner());
            self.deps.iter().find(|d| wr.contains(d)).cloned()
        } else {
            None
        };
        let decision = match (&prev, dep_runs) {
            (_, Some(dep)) => CacheDecision::Runs(format!("`{dep}` runs first and may change its inputs")),
            (None, _) => CacheDecision::Runs("no earlier run recorded".to_string()),
            (Some(p), _) if p.fingerprint != digest => {
                let changes = fp.diff(&p.inputs);
                let shown: Vec<String> = changes.iter().take(5).cloned().collect();
                let more = if changes.len() > 5 { format!(" (+{} more)", changes.len() - 5) } else { String::new() };
                CacheDecision::Runs(format!("{}{more}", shown.join(", ")))
            }
            (Some(_), _) if self.dry => CacheDecision::Hit,
            (Some(_), _) => match present(self)? {
                None => CacheDecision::Hit,
                Some(why) => CacheDecision::Runs(format!("inputs unchanged but {why}")),
            },
        };
        let hit = decision.hit();
        self.shared.out.emit(Event::CacheDecided { step: self.id.as_str(), decision: &decision });
        if self.dry && !hit {
            self.shared.would_run.lock().unwrap_or_else(|p| p.into_inner()).push(self.id.clone());
        }
        self.cache = Some(decision);
        if !hit {
            self.pending = Some((fp, BTreeMap::new()));
        }
        Ok(hit)
    }

    /// Replaces the fingerprint to store when the step passes: for steps whose own output is one of their inputs.
    pub fn refresh_fingerprint(&mut self, fp: Fingerprint) {
        let outputs = self.pending.take().map(|(_, o)| o).unwrap_or_default();
        self.pending = Some((fp, outputs));
    }

    /// A value remembered with this step's cache entry (e.g. the image id), readable on cached runs.
    pub fn remember(&mut self, memo: Memo, value: &str) {
        if let Some((_, outputs)) = &mut self.pending {
            outputs.insert(memo.key().to_string(), value.to_string());
        }
    }

    pub fn remembered(&self, memo: Memo) -> Option<String> {
        let st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        st.steps.get(self.id.as_str()).and_then(|s| s.outputs.get(memo.key()).cloned())
    }

    /// The run's facts, which steps hand to later steps (`cx.facts().helm_major = Some(4)`). Held only for the
    /// statement (or until dropped): other steps wait for it.
    pub fn facts(&self) -> std::sync::MutexGuard<'r, Facts> {
        self.shared.facts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets another step's cache entry, so that it runs next time (e.g. after a cluster was deleted).
    pub fn invalidate(&mut self, step: &StepId) {
        let mut st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        self.invalidated |= st.steps.remove(step.as_str()).is_some();
    }

    /// Forgets the cache entry of every step of `family`, also those of earlier runs' graphs.
    pub fn invalidate_family(&mut self, family: StepFamily) {
        let mut st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let before = st.steps.len();
        st.steps.retain(|k, _| !k.starts_with(family.prefix()));
        self.invalidated |= st.steps.len() != before;
    }
}
