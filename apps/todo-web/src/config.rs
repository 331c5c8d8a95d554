//! Settings from the environment: PORT, BACKEND_URL, LOG_LEVEL (PORT and LOG_LEVEL parsed by todo-common).

use todo_common::config::{log_level, port, var, Settings};
use todo_common::log::Level;

/// The API's Service name in the cluster (and its container name under Docker).
pub const DEFAULT_BACKEND_URL: &str = "http://todo-api:8080";

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub backend_url: String,
    pub log_level: Level,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Ok(Config {
            port: port()?,
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
