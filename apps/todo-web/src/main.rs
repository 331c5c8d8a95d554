//! The `todo-web` binary: `todo-web` serves the UI and API proxy; `todo-web healthcheck` probes a running one.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use todo_web::config::{self, Config};
use todo_web::{healthcheck, log, shutdown, Backend};

const USAGE: &str = "\
usage: todo-web [healthcheck]

  (no argument)  serve the UI on 0.0.0.0:$PORT and proxy /api/* to $BACKEND_URL
  healthcheck    GET http://127.0.0.1:$PORT/health; exit 0 on 200, else 1

environment:
  PORT         listen port (default 8080)
  BACKEND_URL  todo-api base URL (default http://todo-api:8080)
  LOG_LEVEL    debug | info | warn | error (default info)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => serve(),
        ["healthcheck"] => match config::port() {
            Ok(port) => healthcheck::run(port),
            Err(e) => fail(&e),
        },
        ["-h" | "--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["-V" | "--version"] => {
            println!("todo-web {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("todo-web: unexpected arguments {args:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    log::set_level(config.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        let backend = Backend::new(&config.backend_url)?;
        let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port));
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        todo_web::serve(listener, backend, shutdown::signal()).await.map_err(|e| format!("server error: {e}"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Fatal errors are logged as JSON too, so they show up in the same log pipeline.
fn fail(msg: &str) -> ExitCode {
    log::error(msg, &[]);
    ExitCode::FAILURE
}
