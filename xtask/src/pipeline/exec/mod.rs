//! Runs one external command with a timeout, a log file, optional live echo and clean termination: the child runs
//! in its own process group so that a timeout or Ctrl-C ends it and everything it started, and nothing is left
//! behind. Commands are built with xshell's `cmd!` (never split by a shell) and converted here.
//! `command.rs` holds the command and its output, `run.rs` runs one to its end, `spawn.rs` starts one that keeps
//! running (streamed or in the background), `process.rs` ends a process group.

mod command;
mod process;
mod run;
mod spawn;

pub use self::command::{tail_lines, Exec, Output};
pub use self::run::run;
pub use self::spawn::{spawn, spawn_streaming, Background, Streaming};
pub use super::interrupt::{install_interrupt_handler, interrupted};
