//! One-line JSON logs on stdout (ts, level, msg, plus fields), filtered by LOG_LEVEL.
//!
//! Hand-rolled instead of `tracing`: the apps need a dozen lines of it, and every crate costs compile time.
//! Both apps log through this one module, so their lines have the same shape.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// Parses LOG_LEVEL's value; `None` for anything unknown so the caller can say so.
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

pub fn set_level(level: Level) {
    MIN_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Writes one JSON line. Callers pass only values that are safe to log (never connection strings).
pub fn emit(level: Level, msg: &str, fields: &[(&str, Value)]) {
    if (level as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    // Built by hand so ts/level/msg come first (serde_json's map would sort the keys alphabetically).
    let mut line =
        format!("{{\"ts\":\"{}\",\"level\":\"{}\",\"msg\":{}", rfc3339_now(), level.as_str(), Value::from(msg));
    for (k, v) in fields {
        line.push_str(&format!(",{}:{v}", Value::from(*k)));
    }
    line.push('}');
    // A closed stdout must not take the server down: logging is best effort.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

pub fn info(msg: &str, fields: &[(&str, Value)]) {
    emit(Level::Info, msg, fields);
}

pub fn warn(msg: &str, fields: &[(&str, Value)]) {
    emit(Level::Warn, msg, fields);
}

pub fn error(msg: &str, fields: &[(&str, Value)]) {
    emit(Level::Error, msg, fields);
}

/// An error with its causes, e.g. "error connecting to server: Connection refused (os error 111)":
/// tokio-postgres puts the useful part in `source()`, which `Display` leaves out.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Middleware: one line per request with method, path (no query: it may carry user data), status and duration.
pub async fn requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    // 502-504 are expected during outages (and reported by /ready); a 500 is a bug.
    let level = match status {
        500 | 505.. => Level::Error,
        501..=504 => Level::Warn,
        _ => Level::Info,
    };
    let ms = (start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    emit(
        level,
        "request",
        &[("method", method.into()), ("path", path.into()), ("status", status.into()), ("duration_ms", ms.into())],
    );
    res
}

/// UTC now as RFC 3339 with milliseconds, e.g. `2024-05-01T12:34:56.789Z`.
fn rfc3339_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, now.subsec_millis())
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's algorithm, so no date crate is needed.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn levels_parse() {
        assert_eq!(Level::parse("WARN"), Some(Level::Warn));
        assert_eq!(Level::parse("loud"), None);
    }
}
