//! The `todo-api` binary: `todo-api` serves the API; `todo-api healthcheck` probes a running one.

use std::process::ExitCode;

use todo_api::config::Config;
use todo_api::db::{PoolOptions, DEFAULT_REPORT_EVERY};
use todo_api::Db;
use todo_common::cli::Cli;
use todo_common::server::listen;
use todo_common::shutdown;

const USAGE: &str = "\
usage: todo-api [healthcheck]

  (no argument)  serve the REST API on 0.0.0.0:$PORT
  healthcheck    GET http://127.0.0.1:$PORT/health; exit 0 on 200, else 1

environment:
  PORT          listen port (default 8080)
  DATABASE_URL  postgres://USER:PASSWORD@HOST:5432/DB (required to serve)
  DATABASE_POOL_SIZE
                connections to PostgreSQL at most (default 10)
  LOG_LEVEL     debug | info | warn | error (default info)";

fn main() -> ExitCode {
    let cli = Cli { name: "todo-api", version: env!("CARGO_PKG_VERSION"), usage: USAGE };
    cli.main(Config::from_env, |config| async move {
        let options = PoolOptions { size: config.pool_size, report_every: DEFAULT_REPORT_EVERY };
        let db = Db::with_options(&config.database_url, options).map_err(|e| e.to_string())?;
        let listener = listen(config.port).await?;
        todo_api::serve(listener, db, shutdown::signal()).await.map_err(|e| format!("server error: {e}"))
    })
}
