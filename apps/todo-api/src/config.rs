//! Settings from the environment: DATABASE_URL, DATABASE_POOL_SIZE, plus HOST, PORT, LOG_LEVEL and the timeouts
//! parsed by todo-common.

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
            log_level: log_level()?,
        })
    }
}

/// DATABASE_POOL_SIZE: 1 to 1000 connections; unset means the default (db::DEFAULT_POOL_SIZE).
fn pool_size() -> Result<usize, String> {
    match var("DATABASE_POOL_SIZE") {
        None => Ok(crate::db::DEFAULT_POOL_SIZE),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(format!(
                "DATABASE_POOL_SIZE must be a number of connections from 1 to 1000, got {v:?} \
                 (keep it within PostgreSQL's max_connections divided by the replicas)"
            )),
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
            .field("log_level", &self.log_level)
            .finish()
    }
}
