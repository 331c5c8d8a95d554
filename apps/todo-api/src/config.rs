//! Settings from the environment: PORT, DATABASE_URL, LOG_LEVEL (PORT and LOG_LEVEL parsed by todo-common).

use todo_common::config::{log_level, port, var, Settings};
use todo_common::log::Level;

#[derive(Clone)]
pub struct Config {
    pub port: u16,
    pub database_url: String,
    pub log_level: Level,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Ok(Config {
            port: port()?,
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
            .field("port", &self.port)
            .field("database_url", &"<redacted>")
            .field("log_level", &self.log_level)
            .finish()
    }
}
