//! Helpers shared by the todo-api integration tests: a private PostgreSQL schema per test, the server
//! started in-process on 127.0.0.1, and a tiny HTTP/1.1 client (no client crate to compile).
//! todo-web's tests include this file too (by path), so there is one copy of it.

#![allow(dead_code)] // Each test file uses a different subset.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SKIP_NOTICE: &str = "skipped: TODO_TEST_DATABASE_URL not set (needs PostgreSQL)";

/// A schema of its own in the test database, so tests run in parallel without seeing each other's rows.
/// Dropped (CASCADE) when the value is dropped, even if the test panicked.
pub struct TestDb {
    /// DATABASE_URL for the app: the test database with `search_path` set to the private schema.
    pub url: String,
    pub schema: String,
    admin_url: String,
}

/// The test database, or `None` (after printing the skip notice) when TODO_TEST_DATABASE_URL is unset.
/// With XTASK_REQUIRE_ENGINES=1 a missing database fails the test instead, so CI cannot skip silently.
pub async fn test_db() -> Option<TestDb> {
    let admin_url = match std::env::var("TODO_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var("XTASK_REQUIRE_ENGINES").as_deref() == Ok("1") {
                panic!("TODO_TEST_DATABASE_URL is not set but XTASK_REQUIRE_ENGINES=1 — start PostgreSQL with `eval \"$(scripts/ci/postgres.sh)\"`");
            }
            println!("{SKIP_NOTICE}");
            return None;
        }
    };
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let schema = format!("todo_test_{}_{}_{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
    let client = admin_client(&admin_url).await;
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    // application_name lets a test find (and kill) exactly its own server's connections.
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}&application_name={schema}");
    Some(TestDb { url, schema, admin_url })
}

/// Skips the test (returns) when no database is configured.
#[macro_export]
macro_rules! require_postgres {
    () => {
        match common::test_db().await {
            Some(db) => db,
            None => return,
        }
    };
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to TODO_TEST_DATABASE_URL: {e:?}"));
    tokio::spawn(conn);
    client
}

impl TestDb {
    /// A connection as the app sees it (search_path = the test's schema).
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.url).await
    }

    /// A connection without the test's application_name, e.g. to kill the server's sessions.
    pub async fn admin(&self) -> tokio_postgres::Client {
        admin_client(&self.admin_url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: clean up from a fresh thread.
        let url = self.admin_url.clone();
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                }
            });
        })
        .join();
    }
}

/// A DATABASE_URL that refuses connections: a port we just bound and released on 127.0.0.1.
pub async fn unreachable_db_url() -> String {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    format!("postgres://todo:not-the-password@127.0.0.1:{port}/todo")
}

/// The in-process servers log to stdout directly, which the test harness does not capture: keep them to
/// errors unless TODO_TEST_LOGS is set. Generic so todo-web's tests can pass their own crate's setter.
pub fn quiet_logs<L>(set_level: fn(L), error: L) {
    if std::env::var_os("TODO_TEST_LOGS").is_none() {
        set_level(error);
    }
}

/// todo-api running in-process on an ephemeral 127.0.0.1 port.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(database_url: &str) -> Server {
        quiet_logs(todo_api::log::set_level, todo_api::log::Level::Error);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let db = todo_api::Db::connect(database_url).expect("valid DATABASE_URL");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(todo_api::serve(listener, db, async {
            let _ = stopped.await;
        }));
        Server { addr, stop: Some(stop), task }
    }

    /// Wraps another server already spawned on `addr` (todo-web's tests use this for the web server).
    pub fn from_task(addr: SocketAddr, stop: oneshot::Sender<()>, task: JoinHandle<std::io::Result<()>>) -> Server {
        Server { addr, stop: Some(stop), task }
    }

    /// Starts the server and waits until /ready says the database (and schema) are there.
    pub async fn start_ready(database_url: &str) -> Server {
        let server = Server::start(database_url).await;
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let server = self;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let res = server.get("/ready").await;
            if res.status == 200 {
                return;
            }
            assert!(Instant::now() < deadline, "server not ready after 15s: {} {}", res.status, res.text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signals graceful shutdown and waits for the server to finish.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.signal_shutdown();
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("server did not stop within 10s")
            .expect("server task panicked")
    }

    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, None).await
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let body = body.map(|b| b.to_string());
        request(self.addr, method, path, body.as_deref().map(|b| ("application/json", b.as_bytes()))).await
    }

    /// A request with a raw body and content type, for malformed input.
    pub async fn send_raw(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
        request(self.addr, method, path, Some((content_type, body))).await
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts a client error with the `{"error": "..."}` body every failure must have; returns the message.
    #[track_caller]
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert!(
            self.header("content-type").unwrap_or("").starts_with("application/json"),
            "content-type {:?}",
            self.header("content-type")
        );
        let msg = self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"error\" string in {}", self.text()))
            .to_owned();
        assert!(!msg.is_empty());
        msg
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, so the body ends at EOF or per headers).
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((ct, b)) = body {
        head.push_str(&format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    if let Some((_, b)) = body {
        // The server may answer (413) and close before reading a big body: ignore write errors.
        let _ = stream.write_all(b).await;
    }
    read_response(&mut stream).await
}

/// Reads a whole response; understands Content-Length, chunked, and read-to-EOF bodies.
pub async fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                // A reset after the full response (server closed with unread request body) is fine.
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no complete response within 20s");
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        let len: usize = len.parse().unwrap();
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        data = &data[eol + 2..];
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
