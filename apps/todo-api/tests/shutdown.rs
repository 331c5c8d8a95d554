//! Graceful shutdown (in-flight requests finish, exit code 0), the `healthcheck` subcommand, and the JSON
//! logs of the real binary. None of this needs PostgreSQL: the database URL points at a closed port.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{read_response, unreachable_db_url, Server};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn in_flight_request_finishes_after_shutdown_is_signalled() {
    let mut server = Server::start(&unreachable_db_url().await).await;
    // Send the head and half the body, so the request is in progress when shutdown starts.
    let body = br#"{"title":"in flight"}"#;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.signal_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!server.task.is_finished(), "server stopped with a request in flight");
    // New connections are no longer accepted.
    assert!(TcpStream::connect(server.addr).await.is_err());

    stream.write_all(&body[5..]).await.unwrap();
    let res = read_response(&mut stream).await;
    // The database is down, so the in-flight request gets a complete 503 JSON answer, not a reset.
    res.assert_error(503);
    server.shutdown().await.unwrap();
}

/// The real binary, listening on an ephemeral 127.0.0.1 port, with its stdout captured.
struct Binary {
    child: Child,
    port: u16,
    lines: std::sync::mpsc::Receiver<String>,
    /// Lines read while looking for "listening".
    early: Vec<String>,
}

impl Binary {
    fn start(database_url: &str) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_todo-api"))
            // PORT=0 picks a free port; the "listening" log line says which.
            .env("PORT", "0")
            .env("DATABASE_URL", database_url)
            .env_remove("LOG_LEVEL")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Wrapped at once so the child is killed (Drop) even if an assertion below fails.
        let mut bin = Binary { child, port: 0, lines, early: Vec::new() };
        // The database supervisor may log before "listening": look for that line among the first few.
        for _ in 0..20 {
            let line = bin.lines.recv_timeout(Duration::from_secs(10)).expect("no \"listening\" log line");
            let log: serde_json::Value = serde_json::from_str(&line).expect("log line is JSON");
            bin.early.push(line);
            if log["msg"] == "listening" {
                bin.port = log["addr"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
                return bin;
            }
        }
        panic!("no \"listening\" log line among the first 20");
    }

    fn healthcheck(port: u16) -> bool {
        Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .arg("healthcheck")
            .env("PORT", port.to_string())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// SIGTERM, then the exit status and everything logged.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let ok = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(std::time::Instant::now() < deadline, "no exit within 10s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        let mut lines = std::mem::take(&mut self.early);
        lines.extend(self.lines.try_iter());
        (status, lines)
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn binary_exits_0_on_sigterm_and_logs_json_without_the_password() {
    let url = unreachable_db_url_sync().replace("not-the-password", "s3cret-Pa55");
    let bin = Binary::start(&url);
    let port = bin.port;
    // A request, so there is a request log line to check.
    assert!(Binary::healthcheck(port));
    std::thread::sleep(Duration::from_millis(600));
    let (status, lines) = bin.terminate();
    assert_eq!(status.code(), Some(0), "logs: {lines:#?}");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["ts"].is_string() && v["level"].is_string() && v["msg"].is_string(), "{line}");
        assert!(!line.contains("s3cret-Pa55"), "password logged: {line}");
    }
    let request = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["msg"] == "request")
        .expect("a request log line");
    assert_eq!(request["method"], "GET");
    assert_eq!(request["path"], "/health");
    assert_eq!(request["status"], 200);
    assert!(request["duration_ms"].is_number());
    assert!(lines.iter().any(|l| l.contains("database unavailable; retrying")));
    assert!(lines.iter().any(|l| l.contains("\"SIGTERM\"")));
}

#[test]
fn healthcheck_subcommand_exits_1_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert!(!Binary::healthcheck(port));
}

#[test]
fn binary_without_database_url_fails_with_a_clear_message() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_todo-api")).env_remove("DATABASE_URL").env("PORT", "0").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DATABASE_URL is not set"));
}

fn unreachable_db_url_sync() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("postgres://todo:not-the-password@127.0.0.1:{port}/todo")
}
