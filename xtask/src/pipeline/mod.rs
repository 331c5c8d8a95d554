//! The step engine every command runs on: a graph of named steps with declared dependencies, run in parallel up to
//! `--jobs`, each with a timeout, its own log, a content-hash cache decision and a record in the run report.
//! `--dry-run` walks the same graph and prints the commands instead of running them.

pub mod cache;
pub mod console;
mod consumers;
pub mod dockerignore;
mod event;
pub mod exec;
pub mod facts;
mod file_hashes;
pub mod interrupt;
mod json;
pub mod output;
mod plan;
pub mod planned;
pub mod progress;
mod recorder;
pub mod retention;
mod run;
mod run_lock;
mod run_step;
mod scheduler;
mod state_saves;
mod step;
mod step_cx;
mod step_cx_plan;
mod step_cx_state;

pub use self::facts::{Memo, Pushed};
pub use self::planned::{Placeholder, Planned, Ran};
pub use self::run::Run;
pub use self::step::{within_step, Done, Step};
pub use self::step_cx::StepCx;
pub(crate) use crate::secrets;
