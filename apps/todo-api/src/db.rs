//! The database handle: at most DATABASE_POOL_SIZE PostgreSQL connections, each with the app's statements
//! prepared once when it is opened, and each shared by up to DATABASE_PIPELINE_DEPTH requests at a time.
//!
//! Why shared: every handler runs ONE statement outside any transaction, and tokio-postgres' `Client` pipelines
//! the queries of concurrent callers on its connection (tokio-postgres 0.7 crate docs, "Pipelining": requests
//! are sent to the server up front instead of each after the previous one's reply). With a connection per
//! request (deadpool, before), each PostgreSQL backend idled for a round trip through the app between queries,
//! as pgbench's clients do, and the app's CPU per request came on top: GET /api/tasks reached 0.88x and POST
//! 0.82x of pgbench over the same 10 connections (docs/benchmarks.md). Measured on the 2-core benchmark VM
//! (30 Nov 2026, load 4-10 from other jobs), interleaved against the connection-per-request build at 100
//! connections: GET +9% and POST +6% req/s (median of 6 pairs), with less of the app's CPU and fewer context
//! switches per request; scripts/bench.sh then gave GET 0.87-0.95x and POST 0.98-1.19x of pgbench (medians of
//! four runs at depths 8 and 16). GET stays near 0.9x because PostgreSQL's own CPU for the JSON aggregate
//! dominates and the app, wrk and PostgreSQL share the cores. Depth 16 is the default: with 8, a 100-connection load already waited
//! for places; 16 measured at or above 8 and 32, and 1 behaves as the old pool. The price of sharing is
//! head-of-line blocking: a slow query delays the (at most DEPTH - 1) queries queued behind it on its connection,
//! which is why the depth is bounded.
//!
//! A request takes a place on the least-loaded connection; a new connection is opened (up to the pool size) when
//! every open one is busy, and a closed one is replaced when it is next picked. When every connection is at the
//! pipeline depth, requests wait for a place (at most QUERY_TIMEOUT, then 503). If the database is down, requests
//! (and /ready) get 503s at once while a supervisor retries with backoff; the process never exits because of it.
//! Saturation (requests waiting for a place) is logged at most once per report interval and is on /metrics.

use std::ops::Deref;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use todo_common::log;
use todo_common::metrics::write_metric;
use tokio::sync::{Notify, OnceCell, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::ApiError;
use crate::schema;
use crate::tasks::Statements;

/// Per-query ceiling: a hung database must turn into a 503, not a request that never finishes. It also bounds
/// the wait for a place on a connection when the pool is saturated, and the opening of a connection.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Connections per process when DATABASE_POOL_SIZE is unset: PostgreSQL's default max_connections (100) leaves
/// room for several replicas and the operators' own sessions.
pub const DEFAULT_POOL_SIZE: usize = 10;
/// Requests sharing one connection at most when DATABASE_PIPELINE_DEPTH is unset (the module comment says why 16).
pub const DEFAULT_PIPELINE_DEPTH: usize = 16;
/// How often pool saturation is summarised in the log (only when requests had to wait).
pub const DEFAULT_REPORT_EVERY: Duration = Duration::from_secs(10);

/// How the pool is sized and reported.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    /// Connections at most.
    pub size: usize,
    /// Requests sharing (pipelining on) one connection at most.
    pub depth: usize,
    pub report_every: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { size: DEFAULT_POOL_SIZE, depth: DEFAULT_PIPELINE_DEPTH, report_every: DEFAULT_REPORT_EVERY }
    }
}

/// A connection with the statements the handlers run, prepared on it once.
pub struct PgConn {
    pub client: Client,
    pub statements: Statements,
}

/// A request's place on a pooled connection: derefs to the connection (`client`, `statements`), which other
/// requests may be using at the same time. Dropping it frees the place.
pub struct Conn {
    conn: Arc<PgConn>,
    _place: Place,
}

impl Deref for Conn {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        &self.conn
    }
}

/// A place taken on one slot: counted in the slot's load and holding one of the pool's size x depth permits
/// until dropped (also when the request is cancelled, or opening the connection fails).
struct Place {
    shared: Arc<Shared>,
    slot: usize,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.shared.slots()[self.slot].load -= 1;
    }
}

/// One of the pool's DATABASE_POOL_SIZE connections, open or not yet.
struct Slot {
    /// Filled once the connection is open (by the first request that picks the slot; the others picking it
    /// meanwhile wait for the same opening). Swapped for an empty cell when the connection is found closed.
    conn: Arc<OnceCell<Arc<PgConn>>>,
    /// Places taken on this slot now: queries in flight on the connection, or waiting for it to open.
    load: usize,
}

impl Slot {
    fn open(&self) -> Option<&PgConn> {
        self.conn.get().map(|c| &**c).filter(|c| !c.client.is_closed())
    }
}

#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
    _tasks: Arc<AbortOnDrop>,
}

struct Shared {
    config: Config,
    size: usize,
    depth: usize,
    slots: Mutex<Vec<Slot>>,
    /// size x depth permits: one per place, so a request waits here (in order) when every connection is at the
    /// pipeline depth, and one that holds a permit always finds a slot below it.
    places: Arc<Semaphore>,
    /// False until the first connection works and after any connection attempt fails: requests then get a 503
    /// at once instead of each trying to connect to a database that is down.
    up: AtomicBool,
    /// Wakes the supervisor when a request finds the database gone.
    down: Notify,
    /// Connections opened, ever.
    opened: AtomicU64,
    /// Requests waiting for a place now.
    waiting: AtomicUsize,
    /// Requests that found every connection at the pipeline depth and waited, ever / since the last report.
    waits_total: AtomicU64,
    waits_since_report: AtomicU64,
    /// Requests that gave up waiting for a place (503), ever.
    wait_timeouts_total: AtomicU64,
    /// The longest wait since the last report, in microseconds.
    max_wait_us: AtomicU64,
}

impl Shared {
    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        // The lock is only held for a few counter updates that cannot panic half-way; a poisoned lock (a panic
        // elsewhere while holding it) leaves consistent counts.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Places taken now (queries in flight, or waiting for their connection to open).
    fn in_flight(&self) -> usize {
        self.size * self.depth - self.places.available_permits()
    }

    /// (open connections, open ones with a request on them)
    fn counts(&self) -> (usize, usize) {
        let slots = self.slots();
        let open: Vec<usize> = slots.iter().filter(|s| s.open().is_some()).map(|s| s.load).collect();
        (open.len(), open.iter().filter(|&&load| load > 0).count())
    }

    fn pool_json(&self) -> Value {
        let (open, in_use) = self.counts();
        serde_json::json!({
            "max": self.size,
            "depth": self.depth,
            "open": open,
            "in_use": in_use,
            "waiting": self.waiting.load(Ordering::Relaxed),
        })
    }

    /// Takes a place: waits (in order, at most QUERY_TIMEOUT) while every connection is at the pipeline depth,
    /// picks the slot and opens its connection if it is not open.
    async fn place(self: &Arc<Self>) -> Result<Conn, Failure> {
        let permit = match self.places.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self.wait_for_place().await?,
        };
        let (slot, cell) = {
            let mut slots = self.slots();
            let slot = pick(&mut slots);
            slots[slot].load += 1;
            (slot, slots[slot].conn.clone())
        };
        let place = Place { shared: self.clone(), slot, _permit: permit };
        if let Some(conn) = cell.get() {
            return Ok(Conn { conn: conn.clone(), _place: place });
        }
        match tokio::time::timeout(QUERY_TIMEOUT, cell.get_or_try_init(|| self.open())).await {
            Ok(Ok(conn)) => Ok(Conn { conn: conn.clone(), _place: place }),
            Ok(Err(e)) => Err(Failure::Open(log::error_chain(&e), Some(e))),
            Err(_) => Err(Failure::Open(format!("opening a connection took over {}s", QUERY_TIMEOUT.as_secs()), None)),
        }
    }

    async fn wait_for_place(&self) -> Result<OwnedSemaphorePermit, Failure> {
        let start = Instant::now();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        // Counted down also when the request is cancelled while it waits.
        let _waiting = DecrementOnDrop(&self.waiting);
        let result = tokio::time::timeout(QUERY_TIMEOUT, self.places.clone().acquire_owned()).await;
        self.waits_total.fetch_add(1, Ordering::Relaxed);
        self.waits_since_report.fetch_add(1, Ordering::Relaxed);
        self.max_wait_us.fetch_max(start.elapsed().as_micros() as u64, Ordering::Relaxed);
        match result {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed: only a timeout ends up here.
            _ => {
                self.wait_timeouts_total.fetch_add(1, Ordering::Relaxed);
                Err(Failure::Busy)
            }
        }
    }

    /// Opens a connection: connect, ensure the schema, prepare the statements.
    async fn open(&self) -> Result<Arc<PgConn>, tokio_postgres::Error> {
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
        Ok(Arc::new(PgConn { client, statements }))
    }
}

/// The slot for a new place: the least-loaded one, an open connection before an unopened slot at the same load
/// (connections are opened only when every open one is busy), then the lowest index. Closed connections are
/// swapped for empty cells first, so they are reopened when picked. The caller holds a permit, so the loads sum
/// to less than size x depth and the least-loaded slot is below the depth.
fn pick(slots: &mut [Slot]) -> usize {
    for slot in slots.iter_mut() {
        if slot.conn.get().is_some_and(|c| c.client.is_closed()) {
            slot.conn = Arc::new(OnceCell::new());
        }
    }
    (0..slots.len()).min_by_key(|&i| (slots[i].load, slots[i].conn.get().is_none(), i)).unwrap_or(0)
}

/// Why no place was had.
enum Failure {
    /// Every connection stayed at the pipeline depth for QUERY_TIMEOUT.
    Busy,
    /// Opening a connection failed: what went wrong, and the error when there is one.
    Open(String, Option<tokio_postgres::Error>),
}

struct DecrementOnDrop<'a>(&'a AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
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

    /// Like `connect`, with the pool's size, pipeline depth and report interval given.
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
        let (size, depth) = (options.size.max(1), options.depth.max(1));
        let slots = (0..size).map(|_| Slot { conn: Arc::new(OnceCell::new()), load: 0 }).collect();
        let shared = Arc::new(Shared {
            config,
            size,
            depth,
            slots: Mutex::new(slots),
            places: Arc::new(Semaphore::new(size * depth)),
            up: AtomicBool::new(false),
            down: Notify::new(),
            opened: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
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

    /// A place on a pooled connection, or 503 while the database is unreachable or every connection stays at
    /// the pipeline depth.
    pub async fn conn(&self) -> Result<Conn, ApiError> {
        if !self.shared.up.load(Ordering::Acquire) {
            return Err(ApiError::unavailable("database unavailable"));
        }
        match self.shared.place().await {
            Ok(conn) => Ok(conn),
            Err(Failure::Busy) => Err(ApiError::unavailable(format!(
                "database busy: no place on a connection within {}s",
                QUERY_TIMEOUT.as_secs()
            ))),
            Err(Failure::Open(why, error)) => {
                self.mark_down(&why);
                Err(error.map_or_else(|| ApiError::unavailable("database unavailable"), ApiError::from))
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
        describe(&self.shared.config)
    }

    /// The pool's size and use, for the "listening" and "database connected" log lines.
    pub fn pool_fields(&self) -> Value {
        self.shared.pool_json()
    }

    /// Appends the pool's gauges and counters (Prometheus text format) to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let shared = &self.shared;
        let (open, in_use) = shared.counts();
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
            &[("", shared.size as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_pipeline_depth",
            "gauge",
            "Requests sharing one connection at most (DATABASE_PIPELINE_DEPTH).",
            &[("", shared.depth as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_connections",
            "gauge",
            "Open connections in the pool, by state: in_use when at least one request's query is on it.",
            &[("state=\"in_use\"", in_use as u64), ("state=\"idle\"", (open - in_use) as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_queries_in_flight",
            "gauge",
            "Requests holding a place on a connection now (their query pipelined, or the connection opening).",
            &[("", shared.in_flight() as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_waiting",
            "gauge",
            "Requests waiting for a place on a connection now (every connection at the pipeline depth).",
            &[("", shared.waiting.load(Ordering::Relaxed) as u64)],
        );
        write_metric(
            out,
            "todo_api_db_pool_waits_total",
            "counter",
            "Requests that found every connection at the pipeline depth and waited for a place.",
            &[("", shared.waits_total.load(Ordering::Relaxed))],
        );
        write_metric(
            out,
            "todo_api_db_pool_wait_timeouts_total",
            "counter",
            "Requests answered 503 because no place on a connection became free in time.",
            &[("", shared.wait_timeouts_total.load(Ordering::Relaxed))],
        );
        write_metric(
            out,
            "todo_api_db_connections_opened_total",
            "counter",
            "Connections opened (a high rate means connections keep dying).",
            &[("", shared.opened.load(Ordering::Relaxed))],
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

/// Brings the database "up": takes a place (which opens a connection, with the schema) and retries with backoff
/// until that works; then sleeps until a request finds the database gone.
async fn supervise(shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match shared.place().await {
            Ok(conn) => {
                drop(conn);
                backoff = Duration::from_millis(250);
                if !shared.up.swap(true, Ordering::AcqRel) {
                    log::info(
                        "database connected",
                        &[("database", describe(&shared.config)), ("pool", shared.pool_json())],
                    );
                }
                shared.down.notified().await;
            }
            Err(failure) => {
                shared.up.store(false, Ordering::Release);
                let error = match failure {
                    Failure::Busy => format!("no place on a connection within {}s", QUERY_TIMEOUT.as_secs()),
                    Failure::Open(why, _) => why,
                };
                log::warn(
                    "database unavailable; retrying",
                    &[
                        ("database", describe(&shared.config)),
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

/// One warn line per interval in which requests waited for a place (how many, the longest wait, the pool's
/// size and depth), and one info line when an interval passes without waits again: saturation shows in the logs
/// without a line per request.
async fn report_saturation(shared: Arc<Shared>, every: Duration) {
    let mut saturated = false;
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let waits = shared.waits_since_report.swap(0, Ordering::Relaxed);
        let max_wait_us = shared.max_wait_us.swap(0, Ordering::Relaxed);
        if waits > 0 {
            saturated = true;
            log::warn(
                "database pool saturated: requests waited for a connection",
                &[
                    ("waits", waits.into()),
                    ("max_wait_ms", (max_wait_us as f64 / 1000.0).into()),
                    ("interval_s", every.as_secs_f64().into()),
                    ("pool", shared.pool_json()),
                    (
                        "hint",
                        "raise DATABASE_POOL_SIZE (within PostgreSQL's max_connections) or DATABASE_PIPELINE_DEPTH, \
                         or add replicas"
                            .into(),
                    ),
                ],
            );
        } else if saturated {
            saturated = false;
            log::info("database pool no longer saturated", &[("pool", shared.pool_json())]);
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
