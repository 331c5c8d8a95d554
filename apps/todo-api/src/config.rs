//! Settings from the environment: PORT, DATABASE_URL, LOG_LEVEL.

use crate::log::Level;

pub const DEFAULT_PORT: u16 = 8080;

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
            database_url: match std::env::var("DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => url,
                _ => return Err("DATABASE_URL is not set — e.g. postgres://todo:PASSWORD@db:5432/todo".into()),
            },
            log_level: log_level()?,
        })
    }
}

/// PORT alone, so `healthcheck` works without DATABASE_URL.
pub fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Err(_) => Ok(DEFAULT_PORT),
        Ok(p) if p.trim().is_empty() => Ok(DEFAULT_PORT),
        Ok(p) => p.trim().parse().map_err(|_| format!("PORT must be a TCP port number (0-65535), got {p:?}")),
    }
}

fn log_level() -> Result<Level, String> {
    match std::env::var("LOG_LEVEL") {
        Err(_) => Ok(Level::Info),
        Ok(l) if l.trim().is_empty() => Ok(Level::Info),
        Ok(l) => {
            Level::parse(&l).ok_or_else(|| format!("LOG_LEVEL must be one of debug, info, warn, error, got {l:?}"))
        }
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
