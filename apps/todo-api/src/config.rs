//! Settings from the environment: DATABASE_URL, plus HOST, PORT, LOG_LEVEL and the timeouts parsed by todo-common.

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
            log_level: log_level()?,
        })
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
            .field("log_level", &self.log_level)
            .finish()
    }
}
