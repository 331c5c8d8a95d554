//! What a run shows while it works: a live line per running step with its elapsed time when stderr is a terminal
//! (and not CI), otherwise one plain line per event. Everything goes to stderr, redacted; color and `-q` follow
//! crate::output (--color, NO_COLOR, CLICOLOR_FORCE). It is the console's consumer of the engine's events.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::event::{Event, Failure, Tally};
use crate::report::StepStatus;
use crate::secrets::redact_global;
use crate::text::fmt_duration;

pub struct Progress {
    live: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    color: bool,
    /// When each step last printed a plain status line (they are throttled).
    last_status: Mutex<HashMap<String, Instant>>,
    /// `-q`: no step starts, notes or successes; failures and other lines still print.
    quiet: bool,
}

impl Progress {
    pub fn new(allow_live: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        let quiet = crate::output::quiet();
        let live = (allow_live && tty && !ci && !quiet && std::env::var_os("XTASK_PLAIN").is_none())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let color = crate::output::color(tty);
        Progress { live, bars: Mutex::new(HashMap::new()), color, last_status: Mutex::new(HashMap::new()), quiet }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Shows `event` on stderr (events the console does not show, such as the plan's, are left out).
    pub fn show(&self, event: &Event<'_>) {
        match event {
            Event::StepStarted { step, title } => self.start(step, title),
            Event::Status { step, message } => self.status(step, message),
            Event::Note { step, message } => self.note(step, message),
            Event::StepNotStarted { step, why } => self.finish(step, StepStatus::Skipped, Duration::ZERO, Some(why)),
            Event::StepFinished { step, status, took, detail, message, failure } => {
                self.finish(step, *status, *took, *detail);
                if let Some(f) = failure {
                    self.failure(step, message.unwrap_or(""), f);
                }
            }
            Event::FailFast { first, stopped, not_started } => self.println(&format!(
                "`{first}` failed: stopped {stopped} running and did not start {not_started} independent step(s); \
                 `--keep-going` runs every step that does not depend on a failure"
            )),
            Event::Message(line) => self.println(line),
            Event::RunFinished { command, status, tally, took, report, .. } => {
                let Tally { passed, cached, skipped, failed } = tally;
                self.println(&format!(
                    "{command}: {status} — {passed} passed, {cached} cached, {skipped} skipped, {failed} failed in {}; \
                     report: {}",
                    fmt_duration(*took),
                    report.display()
                ))
            }
            Event::RunStarted { .. }
            | Event::CommandPlanned { .. }
            | Event::PlanLine { .. }
            | Event::CommandFinished { .. }
            | Event::CommandRecorded { .. }
            | Event::CacheDecided { .. } => {}
        }
    }

    /// A failed step's block: the error, the tail of its log and the log's path.
    fn failure(&self, step: &str, message: &str, f: &Failure<'_>) {
        let mut text = format!("error in {step}: {message}");
        if let Some(t) = f.log_tail {
            text += &format!("\n  last output:\n{}", indent(t, "    | "));
        }
        if let Some(l) = f.log {
            text += &format!("\n  full log: {l}");
        }
        self.println(&text);
    }

    fn println(&self, line: &str) {
        let line = redact_global(line);
        match &self.live {
            Some(mp) => {
                let _ = mp.println(line);
            }
            None => crate::errln!("{line}"),
        }
    }

    fn start(&self, id: &str, title: &str) {
        if self.quiet {
            return;
        }
        match &self.live {
            Some(mp) => {
                let pb = mp.add(ProgressBar::new_spinner());
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.set_prefix(id.to_string());
                pb.set_message(redact_global(title));
                pb.enable_steady_tick(Duration::from_millis(120));
                self.bars.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), pb);
            }
            None => crate::errln!("{} {id}: {}", self.paint("1", "==>"), redact_global(title)),
        }
    }

    /// A step's changing state (a download's bytes): the spinner's text on a terminal, otherwise a plain line at most
    /// every 5 s per step and topic (the text before the message's first `:`, e.g. the tool being downloaded), so a
    /// CI log shows that each one moves without filling up.
    fn status(&self, id: &str, msg: &str) {
        if self.quiet {
            return;
        }
        if self.live.is_some() {
            if let Some(pb) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
                pb.set_message(redact_global(msg));
            }
            return;
        }
        let mut last = self.last_status.lock().unwrap_or_else(|p| p.into_inner());
        let key = format!("{id}\0{}", msg.split(':').next().unwrap_or(""));
        if last.get(&key).is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            last.insert(key, Instant::now());
            drop(last);
            self.println(&format!("    {id}: {msg}"));
        }
    }

    fn note(&self, id: &str, msg: &str) {
        if self.quiet {
            return;
        }
        self.println(&format!("    {id}: {msg}"));
    }

    fn finish(&self, id: &str, status: StepStatus, took: Duration, detail: Option<&str>) {
        if let Some(pb) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).remove(id) {
            pb.finish_and_clear();
        }
        if self.quiet && status != StepStatus::Failed {
            return;
        }
        let (mark, code) = match status {
            StepStatus::Passed => ("ok", "32"),
            StepStatus::Failed => ("FAILED", "31"),
            StepStatus::Cached => ("cached", "36"),
            StepStatus::Skipped => ("skipped", "33"),
        };
        let detail = detail.map(|d| format!(" — {d}")).unwrap_or_default();
        self.println(&format!("  {} {id} ({}){detail}", self.paint(code, mark), fmt_duration(took)));
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}
