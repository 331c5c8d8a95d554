//! Settings from the environment: DATABASE_URL, DATABASE_POOL_SIZE, DATABASE_PIPELINE_DEPTH, plus HOST, PORT,
//! LOG_LEVEL and the timeouts parsed by todo-common.

use std::net::IpAddr;

use todo_common::config::{host, log_level, port, timeouts, var, Settings};
use todo_common::log::Level;
use todo_common::server::Timeouts;

#[derive(Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub timeouts: Timeouts,
    pub database_url: String,
    /// Connections to PostgreSQL this process keeps at most (DATABASE_POOL_SIZE).
    pub pool_size: usize,
    /// Requests sharing one connection (their queries pipelined) at most (DATABASE_PIPELINE_DEPTH).
    pub pipeline_depth: usize,
    pub log_level: Level,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Ok(Config {
            host: host()?,
            port: port()?,
            timeouts: timeouts()?,
            database_url: var("DATABASE_URL")
                .ok_or("DATABASE_URL is not set — e.g. postgres://todo:PASSWORD@db:5432/todo")?,
            pool_size: pool_size()?,
            pipeline_depth: pipeline_depth()?,
            log_level: log_level()?,
        })
    }
}

/// DATABASE_POOL_SIZE: 1 to 1000 connections; unset means the default (db::DEFAULT_POOL_SIZE).
fn pool_size() -> Result<usize, String> {
    one_to_1000(
        "DATABASE_POOL_SIZE",
        crate::db::DEFAULT_POOL_SIZE,
        "connections",
        "keep it within PostgreSQL's max_connections divided by the replicas",
    )
}

/// DATABASE_PIPELINE_DEPTH: 1 to 1000 requests per connection; unset means the default
/// (db::DEFAULT_PIPELINE_DEPTH). 1 gives each request a connection of its own.
fn pipeline_depth() -> Result<usize, String> {
    let hint =
        format!("1 gives each request a connection of its own; the default is {}", crate::db::DEFAULT_PIPELINE_DEPTH);
    one_to_1000("DATABASE_PIPELINE_DEPTH", crate::db::DEFAULT_PIPELINE_DEPTH, "requests per connection", &hint)
}

/// A count from 1 to 1000 in the variable `name` (`default` when unset); the error names the unit and a hint.
fn one_to_1000(name: &str, default: usize, unit: &str, hint: &str) -> Result<usize, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(format!("{name} must be a number of {unit} from 1 to 1000, got {v:?} ({hint})")),
        },
    }
}

impl Settings for Config {
    fn log_level(&self) -> Level {
        self.log_level
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // DATABASE_URL carries the password: never print it.
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("timeouts", &self.timeouts)
            .field("database_url", &"<redacted>")
            .field("pool_size", &self.pool_size)
            .field("pipeline_depth", &self.pipeline_depth)
            .field("log_level", &self.log_level)
            .finish()
    }
}
