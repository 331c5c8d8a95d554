//! The database handle: a pool of PostgreSQL connections (DATABASE_POOL_SIZE), each with the app's statements
//! prepared once, when the connection is made.
//!
//! One pipelined connection capped the API at one PostgreSQL backend's rate (0.66x of the database's own rate
//! for reads, 0.40x for writes, in docs/benchmarks.md), and preparing a statement per request added a
//! Parse/Describe round trip to each. Connections are opened on demand up to the pool size and reused; a closed
//! one is replaced when it is next taken. If the database is down, requests (and /ready) get 503s at once while
//! a supervisor retries with backoff; the process never exits because of it. Saturation (requests waiting for a
//! connection) is logged at most once per report interval and is on /metrics.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, Timeouts};
use deadpool::Runtime;
use serde_json::Value;
use todo_common::log;
use todo_common::metrics::write_metric;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::ApiError;
use crate::schema;
use crate::tasks::Statements;

/// Per-query ceiling: a hung database must turn into a 503, not a request that never finishes. It also bounds
/// the wait for a free connection when the pool is saturated.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Connections per process when DATABASE_POOL_SIZE is unset: PostgreSQL's default max_connections (100) leaves
/// room for several replicas and the operators' own sessions.
pub const DEFAULT_POOL_SIZE: usize = 10;
/// How often pool saturation is summarised in the log (only when requests had to wait).
pub const DEFAULT_REPORT_EVERY: Duration = Duration::from_secs(10);

/// How the pool is sized and reported.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    pub size: usize,
    pub report_every: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { size: DEFAULT_POOL_SIZE, report_every: DEFAULT_REPORT_EVERY }
    }
}

/// A pooled connection: the client and its prepared statements. Dropping it returns it to the pool.
pub type Conn = managed::Object<Manager>;
type Pool = managed::Pool<Manager>;

/// A connection with the statements the handlers run, prepared on it once.
pub struct PgConn {
    pub client: Client,
    pub statements: Statements,
}

/// Opens connections for the pool: connect, ensure the schema, prepare the statements.
pub struct Manager {
    config: Config,
    opened: AtomicU64,
}

impl managed::Manager for Manager {
    type Type = PgConn;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<PgConn, tokio_postgres::Error> {
        let (mut client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::warn("database connection error", &[("error", log::error_chain(&e).into())]);
            }
        });
        // Every new connection ensures the table, as a restarted (possibly emptied) database needs it again;
        // the advisory lock makes concurrent creations safe. Dropping `client` on error closes the connection.
        schema::init(&mut client).await?;
        let statements = Statements::prepare(&client).await?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(PgConn { client, statements })
    }

    async fn recycle(&self, conn: &mut PgConn, _: &Metrics) -> RecycleResult<tokio_postgres::Error> {
        // A connection the server closed (restart, pg_terminate_backend) is dropped and a new one made in its place.
        if conn.client.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
    _tasks: Arc<AbortOnDrop>,
}

struct Shared {
    pool: Pool,
    /// False until the first connection works and after any connection attempt fails: requests then get a 503
    /// at once instead of each trying to connect to a database that is down.
    up: AtomicBool,
    /// Wakes the supervisor when a request finds the database gone.
    down: Notify,
    /// Requests that found every connection in use and waited, ever / since the last report.
    waits_total: AtomicU64,
    waits_since_report: AtomicU64,
    /// Requests that gave up waiting for a connection (503), ever.
    wait_timeouts_total: AtomicU64,
    /// The longest wait since the last report, in microseconds.
    max_wait_us: AtomicU64,
}

struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
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
    /// Parses the URL and starts connecting in the background, with the default pool. Must be called inside a
    /// Tokio runtime.
    pub fn connect(database_url: &str) -> Result<Db, InvalidUrl> {
        Db::with_options(database_url, PoolOptions::default())
    }

    /// Like `connect`, with the pool's size and report interval given.
    pub fn with_options(database_url: &str, options: PoolOptions) -> Result<Db, InvalidUrl> {
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
        let manager = Manager { config, opened: AtomicU64::new(0) };
        let timeouts =
            Timeouts { wait: Some(QUERY_TIMEOUT), create: Some(QUERY_TIMEOUT), recycle: Some(Duration::from_secs(1)) };
        let pool = Pool::builder(manager)
            .max_size(options.size.max(1))
            .timeouts(timeouts)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| InvalidUrl(format!("cannot build the connection pool: {e}")))?;
        let shared = Arc::new(Shared {
            pool,
            up: AtomicBool::new(false),
            down: Notify::new(),
            waits_total: AtomicU64::new(0),
            waits_since_report: AtomicU64::new(0),
            wait_timeouts_total: AtomicU64::new(0),
            max_wait_us: AtomicU64::new(0),
        });
        let tasks = vec![
            tokio::spawn(supervise(shared.clone())),
            tokio::spawn(report_saturation(shared.clone(), options.report_every)),
        ];
        Ok(Db { shared, _tasks: Arc::new(AbortOnDrop(tasks)) })
    }

    /// A connection from the pool, or 503 while the database is unreachable or every connection stays busy.
    pub async fn conn(&self) -> Result<Conn, ApiError> {
        let shared = &self.shared;
        if !shared.up.load(Ordering::Acquire) {
            return Err(ApiError::unavailable("database unavailable"));
        }
        let status = shared.pool.status();
        let must_wait = status.available == 0 && status.size >= status.max_size;
        let start = must_wait.then(Instant::now);
        let result = shared.pool.get().await;
        if let Some(start) = start {
            shared.waits_total.fetch_add(1, Ordering::Relaxed);
            shared.waits_since_report.fetch_add(1, Ordering::Relaxed);
            shared.max_wait_us.fetch_max(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
        match result {
            Ok(conn) => Ok(conn),
            Err(PoolError::Timeout(managed::TimeoutType::Wait)) => {
                shared.wait_timeouts_total.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::unavailable("database busy: no connection free within 5s"))
            }
            Err(PoolError::Backend(e)) => {
                self.mark_down(&log::error_chain(&e));
                Err(ApiError::from(e))
            }
            Err(e) => {
                self.mark_down(&e.to_string());
                Err(ApiError::unavailable("database unavailable"))
            }
        }
    }

    fn mark_down(&self, why: &str) {
        if self.shared.up.swap(false, Ordering::AcqRel) {
            log::warn(
                "database connection failed; reconnecting",
                &[("database", self.target()), ("error", why.into())],
            );
        }
        self.shared.down.notify_one();
    }

    /// Where we connect, for logs: host, port, database and user, never the password.
    pub fn target(&self) -> Value {
        describe(&self.shared.pool.manager().config)
    }

    /// The pool's size and use, for the "listening" and "database connected" log lines.
    pub fn pool_fields(&self) -> Value {
        let s = self.shared.pool.status();
        serde_json::json!({ "max": s.max_size, "open": s.size, "in_use": s.size - s.available })
    }

    /// Appends the pool's gauges and counters (Prometheus text format) to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let shared = &self.shared;
        let s = shared.pool.status();
        let up = u64::from(shared.up.load(Ordering::Relaxed));
        write_metric(
            out,
            "todo_api_db_up",
            "gauge",
            "1 when the last connection attempt to PostgreSQL worked.",
            &[("", up)],
        );
        write_metric(
            out,
            "todo_api_db_pool_max_connections",
            "gauge",
            "The pool's size (DATABASE_POOL_SIZE).",
            &[("", s.max_size as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_connections",
            "gauge",
            "Open connections in the pool, by state.",
            &[("state=\"in_use\"", (s.size - s.available) as u64), ("state=\"idle\"", s.available as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_waiting",
            "gauge",
            "Requests waiting for a connection now.",
            &[("", s.waiting as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_waits_total",
            "counter",
            "Requests that found every connection in use and waited for one.",
            &[("", shared.waits_total.load(Ordering::Relaxed))],
        );
        write_metric(
            out,
            "todo_api_db_pool_wait_timeouts_total",
            "counter",
            "Requests answered 503 because no connection became free in time.",
            &[("", shared.wait_timeouts_total.load(Ordering::Relaxed))],
        );
        write_metric(
            out,
            "todo_api_db_connections_opened_total",
            "counter",
            "Connections opened (a high rate means connections keep dying).",
            &[("", shared.pool.manager().opened.load(Ordering::Relaxed))],
        );
    }
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

/// Brings the database "up": takes a connection (which makes one, with the schema) and retries with backoff
/// until that works; then sleeps until a request finds the database gone.
async fn supervise(shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match shared.pool.get().await {
            Ok(conn) => {
                drop(conn);
                backoff = Duration::from_millis(250);
                if !shared.up.swap(true, Ordering::AcqRel) {
                    let s = shared.pool.status();
                    log::info(
                        "database connected",
                        &[
                            ("database", describe(&shared.pool.manager().config)),
                            ("pool", serde_json::json!({ "max": s.max_size, "open": s.size })),
                        ],
                    );
                }
                shared.down.notified().await;
            }
            Err(e) => {
                shared.up.store(false, Ordering::Release);
                let error = match e {
                    PoolError::Backend(e) => log::error_chain(&e),
                    other => other.to_string(),
                };
                log::warn(
                    "database unavailable; retrying",
                    &[
                        ("database", describe(&shared.pool.manager().config)),
                        ("error", error.into()),
                        ("retry_in_ms", (backoff.as_millis() as u64).into()),
                    ],
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One warn line per interval in which requests waited for a connection (how many, the longest wait, the pool's
/// size), and one info line when an interval passes without waits again: saturation shows in the logs without
/// a line per request.
async fn report_saturation(shared: Arc<Shared>, every: Duration) {
    let mut saturated = false;
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let waits = shared.waits_since_report.swap(0, Ordering::Relaxed);
        let max_wait_us = shared.max_wait_us.swap(0, Ordering::Relaxed);
        let s = shared.pool.status();
        if waits > 0 {
            saturated = true;
            log::warn(
                "database pool saturated: requests waited for a connection",
                &[
                    ("waits", waits.into()),
                    ("max_wait_ms", (max_wait_us as f64 / 1000.0).into()),
                    ("interval_s", every.as_secs_f64().into()),
                    ("pool", serde_json::json!({ "max": s.max_size, "open": s.size, "waiting": s.waiting })),
                    ("hint", "raise DATABASE_POOL_SIZE (within PostgreSQL's max_connections) or add replicas".into()),
                ],
            );
        } else if saturated {
            saturated = false;
            log::info(
                "database pool no longer saturated",
                &[("pool", serde_json::json!({ "max": s.max_size, "open": s.size }))],
            );
        }
    }
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
