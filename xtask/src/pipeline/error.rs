//! The engine's errors: bad usage, an interrupt, a fail-fast stop, a timeout and failed steps.

use std::fmt;

/// Bad flags or arguments. Exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The run was stopped by Ctrl-C or SIGTERM. Exit code 130.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// The engine stopped this step because another one failed (fail-fast). Not a failure of the step itself.
#[derive(Debug)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped because another step failed")
    }
}

impl std::error::Error for Stopped {}

/// A command ran out of the step's (or its own) time and was stopped; the message names the limit to raise.
#[derive(Debug)]
pub struct TimedOut(pub String);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimedOut {}

/// Whether `e` is a timeout or an interrupt: then a hint about why a tool failed would mislead, and callers add
/// none.
pub fn stopped(e: &anyhow::Error) -> bool {
    e.downcast_ref::<TimedOut>().is_some() || e.downcast_ref::<Interrupted>().is_some()
}

/// One or more steps failed; each was already reported. Exit code 1.
#[derive(Debug)]
pub struct StepsFailed(pub Vec<String>);

impl fmt::Display for StepsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed: {}", self.0.join(", "))
    }
}

impl std::error::Error for StepsFailed {}
