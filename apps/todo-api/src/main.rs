//! The `todo-api` binary: `todo-api` serves the API; `todo-api healthcheck` probes a running one.

use std::process::ExitCode;

use todo_api::config::Config;
use todo_api::db::{PoolOptions, DEFAULT_REPORT_EVERY};
use todo_api::Db;
use todo_common::cli::Cli;
use todo_common::server::listen;
use todo_common::shutdown;

const USAGE: &str = "\
usage: todo-api [healthcheck | sleep SECONDS]

  (no argument)  serve the REST API on $HOST:$PORT
  healthcheck    GET http://127.0.0.1:$PORT/health; exit 0 on 200, else 1
  sleep SECONDS  wait, then exit 0 (the Kubernetes preStop hook; the image has no sleep binary)

environment:
  HOST          listen address (default 0.0.0.0; e.g. 127.0.0.1, ::)
  PORT          listen port (default 8080)
  DATABASE_URL  postgres://USER:PASSWORD@HOST:5432/DB (required to serve)
  DATABASE_POOL_SIZE
                connections to PostgreSQL at most (default 10)
  DATABASE_PIPELINE_DEPTH
                requests sharing one connection, their queries pipelined, at most (default 16;
                1 gives each request a connection of its own)
  LOG_LEVEL     debug | info | warn | error (default info)
  HEADER_TIMEOUT_SECONDS  time for a request head, and idle keep-alive (default 10)
  BODY_TIMEOUT_SECONDS    time for a request body (default 10)
  DRAIN_TIMEOUT_SECONDS   on SIGTERM, time for in-flight requests before connections close (default 10)";

fn main() -> ExitCode {
    let cli = Cli { name: "todo-api", version: env!("CARGO_PKG_VERSION"), usage: USAGE };
    cli.main(Config::from_env, |config| async move {
        let options =
            PoolOptions { size: config.pool_size, depth: config.pipeline_depth, report_every: DEFAULT_REPORT_EVERY };
        let db = Db::with_options(&config.database_url, options).map_err(|e| e.to_string())?;
        let listener = listen(config.host, config.port).await?;
        todo_api::serve_with(listener, db, shutdown::signal(), config.timeouts)
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}
