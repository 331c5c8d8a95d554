//! The settings every app reads from the environment the same way: PORT and LOG_LEVEL.

use crate::log::Level;

pub const DEFAULT_PORT: u16 = 8080;

/// What the shared `main` needs from an app's settings; the rest (DATABASE_URL, BACKEND_URL) is the app's own.
pub trait Settings {
    fn log_level(&self) -> Level;
}

/// An environment variable's value, `None` when unset or blank: `PORT=` in a manifest means "the default".
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// PORT alone, so `healthcheck` does not depend on the rest of the configuration (e.g. DATABASE_URL).
pub fn port() -> Result<u16, String> {
    match var("PORT") {
        None => Ok(DEFAULT_PORT),
        Some(p) => p.trim().parse().map_err(|_| format!("PORT must be a TCP port number (0-65535), got {p:?}")),
    }
}

pub fn log_level() -> Result<Level, String> {
    match var("LOG_LEVEL") {
        None => Ok(Level::Info),
        Some(l) => {
            Level::parse(&l).ok_or_else(|| format!("LOG_LEVEL must be one of debug, info, warn, error, got {l:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blank_counts_as_unset() {
        // A name of its own: no other test reads it, so setting it cannot race with them.
        std::env::set_var("TODO_COMMON_TEST_VAR", " ");
        assert_eq!(super::var("TODO_COMMON_TEST_VAR"), None);
        std::env::set_var("TODO_COMMON_TEST_VAR", "x");
        assert_eq!(super::var("TODO_COMMON_TEST_VAR").as_deref(), Some("x"));
        assert_eq!(super::var("TODO_COMMON_TEST_UNSET"), None);
    }
}
