//! The consumer of what commands show outside a run's steps (the engine's own events go to `consumers.rs`): a
//! command's result on stdout, a value a run produced (stdout, or a `result` event under `--json`), the target and
//! the guard's decisions (part of the plan under `--dry-run`, else on stderr), and lines for the person watching.
//! Where each goes is decided here, once; commands say what they show, not how.

/// What a command shows.
pub enum Shown<'a> {
    /// A line of a command's result on stdout: doctor's table or JSON document, `tools list`, an AI tool's answer.
    Result(&'a str),
    /// A value a run produced (`app.url`): on stdout, or as a `result` event under `--json`.
    Value { name: &'a str, value: &'a str },
    /// The target line or a guard's decision: a line of the plan (stdout) under `--dry-run`, else on stderr.
    Guard { line: &'a str, dry: bool },
    /// A line for the person watching, on stderr (a dev cycle, a CI stage, a download, what init wrote).
    Info(&'a str),
    /// A question on stderr, answered on the same line (the guard's confirmation of a protected target).
    Prompt(&'a str),
}

pub fn show(shown: Shown<'_>) {
    match shown {
        Shown::Result(line) | Shown::Guard { line, dry: true } => crate::outln!("{line}"),
        Shown::Value { name, value } if crate::events::enabled() => {
            crate::events::emit("result", serde_json::json!({ "name": name, "value": value }))
        }
        Shown::Value { value, .. } => crate::outln!("{value}"),
        Shown::Guard { line, dry: false } | Shown::Info(line) => crate::errln!("{line}"),
        Shown::Prompt(question) => super::output::write(true, question),
    }
}
