//! What a run shows while it works: a live line per running step with its elapsed time when stderr is a terminal
//! (and not CI), otherwise one plain line per event. Everything goes to stderr, redacted; NO_COLOR is honored.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::fmt_duration;
use super::secrets::redact_global;
use crate::report::StepStatus;

pub struct Progress {
    live: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    color: bool,
}

impl Progress {
    pub fn new(allow_live: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        let live = (allow_live && tty && !ci && std::env::var_os("XTASK_PLAIN").is_none())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Progress { live, bars: Mutex::new(HashMap::new()), color }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn println(&self, line: &str) {
        let line = redact_global(line);
        match &self.live {
            Some(mp) => {
                let _ = mp.println(line);
            }
            None => crate::errln!("{line}"),
        }
    }

    pub fn start(&self, id: &str, title: &str) {
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

    pub fn note(&self, id: &str, msg: &str) {
        self.println(&format!("    {id}: {msg}"));
    }

    pub fn finish(&self, id: &str, status: StepStatus, took: Duration, detail: Option<&str>) {
        if let Some(pb) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).remove(id) {
            pb.finish_and_clear();
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
