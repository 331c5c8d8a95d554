//! The one error type for everything that has its own exit code or that callers must recognise (after just's
//! `src/error.rs`): bad usage, a wrong config (with file:line:column), another run holding the lock, an interrupt,
//! a fail-fast stop, a timeout, failed steps. Each may carry a help line, printed on a line of its own; main maps
//! an error to its exit code with [`Error::exit_code`], in one place. Other failures stay plain `anyhow` errors
//! (exit code 1).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file a config error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub fn new(file: &Path, line: usize, column: usize) -> Position {
        Position { file: file.to_path_buf(), line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

#[derive(Debug)]
pub enum Error {
    /// Bad flags or arguments, or an action refused before anything ran (a guard, a target). Exit code 2.
    Usage { message: String, help: Option<String> },
    /// A config (or lock file) that cannot be read or makes no sense, at `at` when the place is known. Exit code 2.
    Config { at: Option<Position>, message: String, help: Option<String> },
    /// Another run holds the checkout's run lock: its pid and command when it wrote them. Exit code 2.
    Locked { holder: Option<(String, String)> },
    /// The run was stopped by Ctrl-C or SIGTERM. Exit code 130 or 143.
    Interrupted,
    /// The engine stopped this step because another one failed (fail-fast). Not a failure of the step itself.
    Stopped,
    /// A command ran out of the step's (or its own) time and was stopped; the message names the limit to raise.
    TimedOut { message: String },
    /// One or more steps failed; each was already reported. Exit code 1.
    StepsFailed { steps: Vec<String> },
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage { message: message.into(), help: None }
    }

    /// A config error whose place is not known (or is not in the file: a flag naming a missing target).
    pub fn config(message: impl Into<String>) -> Error {
        Error::Config { at: None, message: message.into(), help: None }
    }

    pub fn config_at(at: Position, message: impl Into<String>) -> Error {
        Error::Config { at: Some(at), message: message.into(), help: None }
    }

    /// The process's exit code for this error: 2 for usage and config errors (and a held lock), 128 + the signal
    /// for an interrupt (`signals`), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::Config { .. } | Error::Locked { .. } => 2,
            Error::Interrupted => crate::signals::interrupt_code(),
            Error::Stopped | Error::TimedOut { .. } | Error::StepsFailed { .. } => 1,
        }
    }

    /// Whether the run already showed this error (failed steps print their own blocks, an interrupt its steps), so
    /// main prints no `error:` line.
    pub fn already_shown(&self) -> bool {
        matches!(self, Error::Interrupted | Error::StepsFailed { .. })
    }

    /// Whether `e` is this crate's `kind` of error (`Error::is(&e, |k| matches!(k, Error::Interrupted))`).
    pub fn is(e: &anyhow::Error, kind: impl Fn(&Error) -> bool) -> bool {
        e.downcast_ref::<Error>().is_some_and(kind)
    }

    pub fn is_interrupted(e: &anyhow::Error) -> bool {
        Error::is(e, |k| matches!(k, Error::Interrupted))
    }

    pub fn is_steps_failed(e: &anyhow::Error) -> bool {
        Error::is(e, |k| matches!(k, Error::StepsFailed { .. }))
    }

    /// Whether `e` is a timeout or an interrupt: then a hint about why a tool failed would mislead, and callers add
    /// none.
    pub fn is_timeout_or_interrupt(e: &anyhow::Error) -> bool {
        Error::is(e, |k| matches!(k, Error::TimedOut { .. } | Error::Interrupted))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message, .. } => f.write_str(message)?,
            Error::Config { at: Some(at), message, .. } => write!(f, "{at}: {message}")?,
            Error::Config { at: None, message, .. } => f.write_str(message)?,
            Error::Locked { holder } => {
                match holder {
                    Some((pid, command)) => write!(f, "another `{command}` (pid {pid})")?,
                    None => f.write_str("another `cargo xtask`")?,
                }
                f.write_str(
                    " is running in this checkout; wait for it to finish, or stop it (it holds target/xtask/run.lock)",
                )?
            }
            Error::Interrupted => f.write_str("interrupted")?,
            Error::Stopped => f.write_str("stopped because another step failed")?,
            Error::TimedOut { message } => f.write_str(message)?,
            Error::StepsFailed { steps } => write!(f, "failed: {}", steps.join(", "))?,
        }
        match self {
            Error::Usage { help: Some(h), .. } | Error::Config { help: Some(h), .. } => write!(f, "\n{h}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_help_line_is_printed_on_its_own_line() {
        let e = Error::Config {
            at: Some(Position::new(Path::new("xtask.yaml"), 3, 7)),
            message: "unknown key `imgaes`".into(),
            help: Some("did you mean `images`?".into()),
        };
        assert_eq!(e.to_string(), "xtask.yaml:3:7: unknown key `imgaes`\ndid you mean `images`?");
        assert_eq!(Error::usage("bad flag").to_string(), "bad flag");
    }

    #[test]
    fn exit_codes_follow_the_kind() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::config("x").exit_code(), 2);
        assert_eq!(Error::Locked { holder: None }.exit_code(), 2);
        assert_eq!(Error::StepsFailed { steps: vec!["a".into()] }.exit_code(), 1);
        let wrapped = anyhow::Error::from(Error::usage("x")).context("while parsing");
        assert_eq!(wrapped.downcast_ref::<Error>().map(Error::exit_code), Some(2), "context does not hide the kind");
        assert!(Error::is_interrupted(&anyhow::Error::from(Error::Interrupted).context("while waiting")));
    }
}
