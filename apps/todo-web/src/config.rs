//! Settings from the environment: BACKEND_URL, plus HOST, PORT, LOG_LEVEL and the timeouts parsed by todo-common.

use std::net::IpAddr;

use todo_common::config::{host, log_level, port, timeouts, var, Settings};
use todo_common::log::Level;
use todo_common::server::Timeouts;

/// The API's Service name in the cluster (and its container name under Docker).
pub const DEFAULT_BACKEND_URL: &str = "http://todo-api:8080";

#[derive(Clone, Debug)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub timeouts: Timeouts,
    pub backend_url: String,
    pub log_level: Level,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Ok(Config {
            host: host()?,
            port: port()?,
            timeouts: timeouts()?,
            backend_url: var("BACKEND_URL").unwrap_or_else(|| DEFAULT_BACKEND_URL.to_owned()),
            log_level: log_level()?,
        })
    }
}

impl Settings for Config {
    fn log_level(&self) -> Level {
        self.log_level
    }
}
