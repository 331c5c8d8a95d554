//! The settings every app reads from the environment the same way: HOST, PORT, LOG_LEVEL and the server's
//! timeouts (HEADER_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS, DRAIN_TIMEOUT_SECONDS).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::log::Level;
use crate::server::Timeouts;

pub const DEFAULT_PORT: u16 = 8080;
/// All interfaces: in a container the traffic arrives from outside the loopback.
pub const DEFAULT_HOST: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

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

/// HOST: the address to bind, an IPv4 or IPv6 address (`127.0.0.1` to keep a server off the network, `::`
/// for every IPv6 and IPv4 interface). A name is refused: resolving it could bind an address nobody meant.
pub fn host() -> Result<IpAddr, String> {
    match var("HOST") {
        None => Ok(DEFAULT_HOST),
        Some(h) => h
            .trim()
            .parse()
            .map_err(|_| format!("HOST must be an IP address to listen on, e.g. 0.0.0.0, 127.0.0.1 or ::, got {h:?}")),
    }
}

/// The server's timeouts from HEADER_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS and DRAIN_TIMEOUT_SECONDS
/// (decimal seconds, e.g. `0.5`); unset means the default of `Timeouts::default()`.
pub fn timeouts() -> Result<Timeouts, String> {
    let d = Timeouts::default();
    Ok(Timeouts {
        header: seconds("HEADER_TIMEOUT_SECONDS", d.header)?,
        body: seconds("BODY_TIMEOUT_SECONDS", d.body)?,
        drain: seconds("DRAIN_TIMEOUT_SECONDS", d.drain)?,
    })
}

/// A positive number of seconds up to an hour: zero would turn a timeout into "fail at once", and a huge value
/// is a typo that would silently disable it.
fn seconds(name: &str, default: Duration) -> Result<Duration, String> {
    let Some(v) = var(name) else { return Ok(default) };
    match v.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{name} must be a number of seconds greater than 0 and at most 3600, e.g. 10 or 0.5, got {v:?}"
        )),
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

    #[test]
    fn seconds_are_positive_and_bounded() {
        let d = std::time::Duration::from_secs(7);
        std::env::set_var("TODO_COMMON_TEST_SECS", "0.25");
        assert_eq!(super::seconds("TODO_COMMON_TEST_SECS", d), Ok(std::time::Duration::from_millis(250)));
        for bad in ["0", "-1", "3601", "ten", "NaN", "inf"] {
            std::env::set_var("TODO_COMMON_TEST_SECS", bad);
            let e = super::seconds("TODO_COMMON_TEST_SECS", d).unwrap_err();
            assert!(e.starts_with("TODO_COMMON_TEST_SECS must be a number of seconds"), "{bad}: {e}");
        }
        assert_eq!(super::seconds("TODO_COMMON_TEST_SECS_UNSET", d), Ok(d));
    }
}
