//! The run report written for every run under target/xtask/runs/<run-id>/: report.json (schema in
//! docs/report.schema.json), junit.xml (one testcase per step) and summary.md (also appended to
//! $GITHUB_STEP_SUMMARY when set). Everything passes the secret redactor on its way out.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::kinds::StepKind;
use crate::secrets::redact_global;
use crate::text::esc;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Passed,
    Failed,
    Skipped,
    Cached,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    pub command: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub id: String,
    pub kind: StepKind,
    pub title: String,
    pub status: StepStatus,
    pub started_at: Option<String>,
    /// When the step started, in ms after the run started (the report.html timeline); None when it did not start.
    pub start_ms: Option<u64>,
    pub duration_ms: u64,
    /// Why the step ran or was skipped as cached: "cached: fingerprint unchanged", "apps/x changed".
    pub cache: Option<String>,
    pub commands: Vec<CommandRecord>,
    /// Facts the step reported (gate figures, URLs), one line each.
    pub notes: Vec<String>,
    pub message: Option<String>,
    pub log: Option<String>,
    pub log_tail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub run_id: String,
    pub command: String,
    pub status: &'static str,
    pub exit_code: i32,
    pub started_at: String,
    pub duration_ms: u64,
    pub provenance: Provenance,
    /// The deploy target of a cluster command (`--target`); absent for commands that touch no cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetRecord>,
    pub steps: Vec<StepRecord>,
}

impl StepRecord {
    /// The record with every text redacted: done on the values, before JSON or XML escaping could change how a
    /// secret looks.
    fn redacted(&self) -> StepRecord {
        let r = |s: &String| redact_global(s);
        let ro = |s: &Option<String>| s.as_ref().map(r);
        StepRecord {
            id: r(&self.id),
            kind: self.kind,
            title: r(&self.title),
            status: self.status,
            started_at: self.started_at.clone(),
            start_ms: self.start_ms,
            duration_ms: self.duration_ms,
            cache: ro(&self.cache),
            commands: self.commands.iter().map(|c| CommandRecord { command: r(&c.command), ..c.clone() }).collect(),
            notes: self.notes.iter().map(r).collect(),
            message: ro(&self.message),
            log: ro(&self.log),
            log_tail: ro(&self.log_tail),
        }
    }
}

/// Which target a run acted on, as the report records it.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRecord {
    pub name: String,
    pub provider: crate::target::Provider,
    pub context: String,
    /// `side-load` or the registry (`host[:port]/path`) images were pushed to.
    pub images: String,
    pub protected: bool,
}

impl TargetRecord {
    pub fn of(t: &crate::target::Target) -> TargetRecord {
        TargetRecord {
            name: t.name.clone(),
            provider: t.provider(),
            context: t.kube_context().to_string(),
            images: match &t.delivery {
                crate::target::Delivery::SideLoad => "side-load".into(),
                crate::target::Delivery::Registry(r) => r.to_string(),
            },
            protected: t.protected,
        }
    }
}

/// What produced the run: enough to reproduce it or to tell two runs apart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    /// `git rev-parse HEAD` of the project; None outside a git checkout or without git.
    pub git_commit: Option<String>,
    /// Tracked files differ from the commit (`git status --porcelain --untracked-files=no`).
    pub git_dirty: Option<bool>,
    pub xtask_version: String,
    /// `cargo xtask` and the arguments as given (secrets redacted on the way out).
    pub command_line: Vec<String>,
    pub os: String,
    pub arch: String,
    /// The versions of the tools this run checked or used (tool → version).
    pub tools: BTreeMap<String, String>,
}

impl Provenance {
    pub fn short(&self) -> String {
        let commit = match (&self.git_commit, self.git_dirty) {
            (Some(c), Some(true)) => format!("{} (dirty)", &c[..c.len().min(12)]),
            (Some(c), _) => c[..c.len().min(12)].to_string(),
            (None, _) => "no git commit".into(),
        };
        format!("xtask {} at {commit} on {}/{}", self.xtask_version, self.os, self.arch)
    }
}

impl RunReport {
    /// This report with every secret the redactor knows replaced, as it is written to the run folder.
    pub fn redacted(&self) -> RunReport {
        RunReport {
            schema_version: self.schema_version,
            run_id: self.run_id.clone(),
            command: redact_global(&self.command),
            status: self.status,
            exit_code: self.exit_code,
            started_at: self.started_at.clone(),
            duration_ms: self.duration_ms,
            provenance: Provenance {
                command_line: self.provenance.command_line.iter().map(|a| redact_global(a)).collect(),
                ..self.provenance.clone()
            },
            target: self.target.clone().map(|t| TargetRecord {
                name: redact_global(&t.name),
                context: redact_global(&t.context),
                images: redact_global(&t.images),
                ..t
            }),
            steps: self.steps.iter().map(StepRecord::redacted).collect(),
        }
    }

    pub fn junit(&self) -> String {
        let count = |s: StepStatus| self.steps.iter().filter(|r| r.status == s).count();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x += &format!(
            "<testsuites name=\"xtask {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">\n",
            esc(&self.command),
            self.steps.len(),
            count(StepStatus::Failed),
            count(StepStatus::Skipped),
            secs(self.duration_ms)
        );
        x += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\">\n",
            esc(&self.command),
            self.steps.len(),
            count(StepStatus::Failed),
            count(StepStatus::Skipped),
            secs(self.duration_ms),
            esc(&self.started_at)
        );
        for s in &self.steps {
            x += &format!(
                "    <testcase classname=\"xtask.{}\" name=\"{}\" time=\"{}\">\n",
                esc(s.kind.name()),
                esc(&s.id),
                secs(s.duration_ms)
            );
            match s.status {
                StepStatus::Failed => {
                    let msg = s.message.as_deref().unwrap_or("failed");
                    let body = format!(
                        "{msg}\n{}\nlog: {}",
                        s.log_tail.as_deref().unwrap_or(""),
                        s.log.as_deref().unwrap_or("-")
                    );
                    x += &format!(
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                        esc(first_line(msg)),
                        esc(s.kind.name()),
                        esc(&body)
                    );
                }
                StepStatus::Skipped => {
                    x += &format!("      <skipped message=\"{}\"/>\n", esc(s.message.as_deref().unwrap_or("skipped")));
                }
                _ => {}
            }
            let mut out = s.notes.join("\n");
            if let Some(c) = &s.cache {
                out = format!("{c}\n{out}");
            }
            if !out.trim().is_empty() {
                x += &format!("      <system-out>{}</system-out>\n", esc(out.trim()));
            }
            x += "    </testcase>\n";
        }
        x += "  </testsuite>\n</testsuites>\n";
        x
    }

    /// The failing step's command: the last one that did not succeed (None when every command did, e.g. a check
    /// that failed on what a command printed: the message says why).
    pub fn failing_command(s: &StepRecord) -> Option<&CommandRecord> {
        s.commands.iter().rev().find(|c| c.exit_code != Some(0) || c.timed_out)
    }

    pub fn summary(&self) -> String {
        let mut m = format!("## cargo xtask {}: {}\n\n", self.command, self.status);
        // The cause first: what one attaches to a ticket must show it without scrolling.
        for s in self.steps.iter().filter(|s| s.status == StepStatus::Failed) {
            m += &format!("**`{}` failed**:\n\n```text\n{}\n```\n\n", s.id, s.message.as_deref().unwrap_or("failed"));
            if let Some(c) = Self::failing_command(s) {
                let ending = match (c.timed_out, c.exit_code) {
                    (true, _) => "timed out".to_string(),
                    (_, Some(code)) => format!("exit {code}"),
                    (_, None) => "killed by a signal".to_string(),
                };
                m += &format!("Command: `{}` ({ending})\n\n", c.command.replace('`', "'"));
            }
            if let Some(t) = s.log_tail.as_deref().filter(|t| !t.trim().is_empty()) {
                let last: Vec<&str> = t.lines().collect();
                let last = last[last.len().saturating_sub(10)..].join("\n");
                m += &format!("Last output ({}):\n\n```text\n{last}\n```\n\n", s.log.as_deref().unwrap_or("log"));
            }
        }
        m += &format!(
            "Run `{}`, {}: `{}`, {}.\n\n| step | status | time | details |\n|---|---|---|---|\n",
            self.run_id,
            crate::text::fmt_duration(Duration::from_millis(self.duration_ms)),
            self.provenance.command_line.join(" ").replace('`', "'"),
            self.provenance.short()
        );
        for s in &self.steps {
            let icon = match s.status {
                StepStatus::Passed => "✅ passed",
                StepStatus::Failed => "❌ failed",
                StepStatus::Skipped => "⏭️ skipped",
                StepStatus::Cached => "♻️ cached",
            };
            let mut details: Vec<String> = vec![];
            if let Some(msg) = &s.message {
                details.push(first_line(msg).to_string());
            }
            if let Some(c) = &s.cache {
                details.push(c.clone());
            }
            details.extend(s.notes.iter().cloned());
            let details = details.join("<br>").replace('|', "\\|");
            m += &format!(
                "| `{}` | {icon} | {} | {details} |\n",
                s.id,
                crate::text::fmt_duration(Duration::from_millis(s.duration_ms))
            );
        }
        m.push('\n');
        m
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}
