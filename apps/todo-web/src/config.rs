//! Settings from the environment: PORT, BACKEND_URL, LOG_LEVEL.

use crate::log::Level;

pub const DEFAULT_PORT: u16 = 8080;
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
            backend_url: match std::env::var("BACKEND_URL") {
                Ok(url) if !url.trim().is_empty() => url,
                _ => DEFAULT_BACKEND_URL.to_owned(),
            },
            log_level: log_level()?,
        })
    }
}

/// PORT alone, so `healthcheck` does not depend on the rest of the configuration.
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
