//! The database handle: one pipelining `tokio_postgres::Client`, kept connected by a background task.
//!
//! tokio-postgres pipelines concurrent queries over one connection, which is plenty for this app and avoids
//! a pool crate. If the database is down at startup or goes away later, the supervisor keeps retrying with
//! backoff while requests (and /ready) get 503s; the process never exits because of it.

use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;
use todo_common::log;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::ApiError;
use crate::schema;

/// Per-query ceiling: a hung database must turn into a 503, not a request that never finishes.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
    _supervisor: Arc<AbortOnDrop>,
}

struct Shared {
    config: Config,
    client: RwLock<Option<Arc<Client>>>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
pub struct InvalidUrl(String);

impl std::fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DATABASE_URL is not a valid PostgreSQL URL: {}", self.0)
    }
}

impl std::error::Error for InvalidUrl {}

impl Db {
    /// Parses the URL and starts connecting in the background. Must be called inside a Tokio runtime.
    pub fn connect(database_url: &str) -> Result<Db, InvalidUrl> {
        // The parser's messages never echo the URL, so they cannot leak the password.
        let mut config = Config::from_str(database_url).map_err(|e| InvalidUrl(log::error_chain(&e)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        // Notice a silently dead peer (e.g. a node gone) in about a minute instead of the 2-hour default.
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("todo-api");
        }
        let shared = Arc::new(Shared { config, client: RwLock::new(None) });
        let supervisor = tokio::spawn(supervise(shared.clone()));
        Ok(Db { shared, _supervisor: Arc::new(AbortOnDrop(supervisor)) })
    }

    /// The live client, or 503 while (re)connecting.
    pub fn client(&self) -> Result<Arc<Client>, ApiError> {
        let guard = self.shared.client.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(c) if !c.is_closed() => Ok(c.clone()),
            _ => Err(ApiError::unavailable("database unavailable")),
        }
    }

    /// Where we connect, for logs: host, port, database and user, never the password.
    pub fn target(&self) -> Value {
        describe(&self.shared.config)
    }
}

fn set(shared: &Shared, client: Option<Arc<Client>>) {
    *shared.client.write().unwrap_or_else(|e| e.into_inner()) = client;
}

/// Runs `fut` (a database call) with the query timeout; a timeout is a 503 like any other outage.
pub async fn timed<T, F>(fut: F) -> Result<T, ApiError>
where
    F: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    match tokio::time::timeout(QUERY_TIMEOUT, fut).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => {
            log::warn("database query timed out", &[("timeout_ms", (QUERY_TIMEOUT.as_millis() as u64).into())]);
            Err(ApiError::unavailable("database timed out"))
        }
    }
}

async fn supervise(shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match connect_once(&shared.config).await {
            Ok((client, closed)) => {
                log::info("database connected", &[("database", describe(&shared.config))]);
                backoff = Duration::from_millis(250);
                set(&shared, Some(Arc::new(client)));
                // Wait until the connection ends, then go around and reconnect.
                let _ = closed.await;
                set(&shared, None);
                log::warn("database connection lost; reconnecting", &[("database", describe(&shared.config))]);
            }
            Err(e) => {
                log::warn(
                    "database unavailable; retrying",
                    &[
                        ("database", describe(&shared.config)),
                        ("error", log::error_chain(&e).into()),
                        ("retry_in_ms", (backoff.as_millis() as u64).into()),
                    ],
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Connects, creates the schema, and returns the client plus a receiver that fires when the connection ends.
async fn connect_once(config: &Config) -> Result<(Client, oneshot::Receiver<()>), tokio_postgres::Error> {
    let (mut client, connection) = config.connect(NoTls).await?;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            log::warn("database connection error", &[("error", log::error_chain(&e).into())]);
        }
        let _ = tx.send(());
    });
    // Dropping `client` on error closes the connection, so a failed init does not leak it.
    schema::init(&mut client).await?;
    Ok((client, rx))
}

fn describe(config: &Config) -> Value {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    serde_json::json!({
        "host": hosts.join(","),
        "port": config.get_ports().first().copied().unwrap_or(5432),
        "dbname": config.get_dbname(),
        "user": config.get_user(),
    })
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not derived: Config's own Debug is redacted, but the target is all anyone needs.
        write!(f, "Db({})", self.target())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn bad_url_error_does_not_echo_the_password() {
        let e = super::Db::connect("postgres://u:s3cret@host:notaport/db").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
