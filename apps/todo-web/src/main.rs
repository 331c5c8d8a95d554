//! The `todo-web` binary: `todo-web` serves the UI and API proxy; `todo-web healthcheck` probes a running one.

use std::process::ExitCode;

use todo_common::cli::Cli;
use todo_common::server::listen;
use todo_common::shutdown;
use todo_web::config::Config;
use todo_web::Backend;

const USAGE: &str = "\
usage: todo-web [healthcheck | sleep SECONDS]

  (no argument)  serve the UI on $HOST:$PORT and proxy /api/* to $BACKEND_URL
  healthcheck    GET http://127.0.0.1:$PORT/health; exit 0 on 200, else 1
  sleep SECONDS  wait, then exit 0 (the Kubernetes preStop hook; the image has no sleep binary)

environment:
  HOST         listen address (default 0.0.0.0; e.g. 127.0.0.1, ::)
  PORT         listen port (default 8080)
  BACKEND_URL  todo-api base URL (default http://todo-api:8080)
  LOG_LEVEL    debug | info | warn | error (default info)
  HEADER_TIMEOUT_SECONDS  time for a request head, and idle keep-alive (default 10)
  BODY_TIMEOUT_SECONDS    time for a request body (default 10)
  DRAIN_TIMEOUT_SECONDS   on SIGTERM, time for in-flight requests before connections close (default 10)";

fn main() -> ExitCode {
    let cli = Cli { name: "todo-web", version: env!("CARGO_PKG_VERSION"), usage: USAGE };
    cli.main(Config::from_env, |config| async move {
        let backend = Backend::new(&config.backend_url)?;
        let listener = listen(config.host, config.port).await?;
        todo_web::serve_with(listener, backend, shutdown::signal(), config.timeouts)
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}
