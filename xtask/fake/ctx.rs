//! One invocation of the fake: which tool it answers as, its arguments, where it keeps its files, and the
//! environment as the tools read it. A leaf every module takes its context from.

use std::path::PathBuf;

/// One invocation: which tool, its arguments, and where the fake keeps its files.
pub struct Ctx {
    pub tool: String,
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub fixtures: PathBuf,
    pub start_ms: u64,
}

impl Ctx {
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// An environment variable, treating empty as unset.
    pub fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    pub fn env_is(&self, name: &str, value: &str) -> bool {
        self.env(name).is_some_and(|v| v == value)
    }

    pub fn cwd(&self) -> PathBuf {
        std::env::current_dir().unwrap_or_default()
    }
}
