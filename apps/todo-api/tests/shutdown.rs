//! Graceful shutdown (in-flight requests finish, exit code 0), the `healthcheck` subcommand, and the JSON
//! logs of the real binary. None of this needs PostgreSQL: the database URL points at a closed port.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{closed_port, healthcheck, read_response, start_api, unreachable_db_url, Binary};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const EXE: &str = env!("CARGO_BIN_EXE_todo-api");

#[tokio::test]
async fn in_flight_request_finishes_after_shutdown_is_signalled() {
    let mut server = start_api(&unreachable_db_url()).await;
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

#[test]
fn binary_exits_0_on_sigterm_and_logs_json_without_the_password() {
    let url = unreachable_db_url().replace("not-the-password", "s3cret-Pa55");
    let bin = Binary::start(EXE, &[("DATABASE_URL", &url)]);
    // A request, so there is a request log line to check.
    assert!(healthcheck(EXE, bin.port));
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
    assert!(!healthcheck(EXE, closed_port()));
}

#[test]
fn binary_without_database_url_fails_with_a_clear_message() {
    let out = Command::new(EXE).env_remove("DATABASE_URL").env("PORT", "0").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DATABASE_URL is not set"));
}

// The server limits of todo-common, on this binary (todo-web's tests run the same checks on it).

#[test]
fn sigterm_with_a_half_sent_request_ends_within_the_drain_time() {
    common::checks::sigterm_with_half_sent_request_ends_within_drain(EXE, &[("DATABASE_URL", &unreachable_db_url())]);
}

#[test]
fn sigterm_closes_an_idle_keep_alive_connection_at_once() {
    common::checks::sigterm_closes_idle_keep_alive_at_once(EXE, &[("DATABASE_URL", &unreachable_db_url())]);
}

#[test]
fn slow_header_connections_are_closed_at_the_header_timeout() {
    common::checks::slow_headers_are_closed_at_the_header_timeout(EXE, &[("DATABASE_URL", &unreachable_db_url())]);
}

#[test]
fn host_sets_the_listen_address_and_a_bad_one_fails_fast() {
    let bin = Binary::start(EXE, &[("DATABASE_URL", &unreachable_db_url())]);
    assert!(bin.listening["addr"].as_str().unwrap().starts_with("127.0.0.1:"), "{}", bin.listening);
    drop(bin);
    let out = Command::new(EXE)
        .env("HOST", "localhost")
        .env("PORT", "0")
        .env("DATABASE_URL", unreachable_db_url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("HOST must be an IP address"));
    let out = Command::new(EXE)
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DRAIN_TIMEOUT_SECONDS", "0")
        .env("DATABASE_URL", unreachable_db_url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DRAIN_TIMEOUT_SECONDS must be a number of seconds"));
}
