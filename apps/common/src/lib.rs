//! todo-common: the parts todo-api and todo-web share, kept in one place — JSON logs, HOST/PORT/LOG_LEVEL and
//! the server's timeouts, request bodies with a limit and a deadline, the `healthcheck` subcommand, `/metrics`, graceful
//! shutdown, and the binaries' main/serve scaffolding.
//! With the `test-support` feature, also the helpers both apps' integration tests use.

pub mod body;
pub mod cli;
pub mod config;
pub mod healthcheck;
pub mod log;
pub mod metrics;
pub mod server;
pub mod shutdown;
#[cfg(feature = "test-support")]
pub mod testing;
