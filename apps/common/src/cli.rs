//! The binaries' `main`: no argument serves, `healthcheck` probes a running server, `sleep SECONDS` waits (the
//! chart's preStop hook: the FROM scratch image has no sleep binary, and the hook's own `sleep` action needs
//! Kubernetes 1.30), `-h`/`-V` print usage and version, anything else is a usage error (exit 2). Each app supplies
//! its name, usage text and serve step.

use std::future::Future;
use std::process::ExitCode;

use crate::config::{self, Settings};
use crate::{healthcheck, log};

pub struct Cli {
    /// The binary's name, e.g. `todo-api`.
    pub name: &'static str,
    /// The app's own version (its `CARGO_PKG_VERSION`, not this crate's).
    pub version: &'static str,
    /// Printed by `--help` and after a usage error.
    pub usage: &'static str,
}

impl Cli {
    /// Dispatches on the command line. To serve, `load` reads the settings and `serve` runs on a multi-threaded
    /// Tokio runtime until shutdown; an `Err` from either is logged and the exit code is 1.
    pub fn main<C, F>(&self, load: impl FnOnce() -> Result<C, String>, serve: impl FnOnce(C) -> F) -> ExitCode
    where
        C: Settings,
        F: Future<Output = Result<(), String>>,
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            [] => run(load, serve),
            ["healthcheck"] => match config::port() {
                Ok(port) => healthcheck::run(port),
                Err(e) => fail(&e),
            },
            ["sleep", seconds] => match seconds.parse::<u32>() {
                Ok(s) if s <= 3600 => {
                    std::thread::sleep(std::time::Duration::from_secs(u64::from(s)));
                    ExitCode::SUCCESS
                }
                _ => {
                    eprintln!("{}: sleep takes whole seconds from 0 to 3600, got {seconds:?}", self.name);
                    ExitCode::from(2)
                }
            },
            ["-h" | "--help"] => {
                println!("{}", self.usage);
                ExitCode::SUCCESS
            }
            ["-V" | "--version"] => {
                println!("{} {}", self.name, self.version);
                ExitCode::SUCCESS
            }
            _ => {
                eprintln!("{}: unexpected arguments {args:?}\n\n{}", self.name, self.usage);
                ExitCode::from(2)
            }
        }
    }
}

fn run<C, F>(load: impl FnOnce() -> Result<C, String>, serve: impl FnOnce(C) -> F) -> ExitCode
where
    C: Settings,
    F: Future<Output = Result<(), String>>,
{
    let config = match load() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    log::set_level(config.log_level());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Fatal errors are logged as JSON too, so they show up in the same log pipeline.
fn fail(msg: &str) -> ExitCode {
    log::error(msg, &[]);
    ExitCode::FAILURE
}
