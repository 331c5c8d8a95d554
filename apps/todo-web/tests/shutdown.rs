//! The real todo-web binary: exit code 0 on SIGTERM, JSON logs, and the `healthcheck` subcommand.

mod common;

use std::process::Command;

use common::{closed_port, healthcheck, Binary};

const EXE: &str = env!("CARGO_BIN_EXE_todo-web");

#[test]
fn binary_serves_then_exits_0_on_sigterm() {
    let bin = Binary::start(EXE, &[("BACKEND_URL", "http://127.0.0.1:9")]);
    // Nothing (such as a connection attempt) is logged before "listening".
    assert_eq!(bin.early.len(), 1, "{:#?}", bin.early);
    assert_eq!(bin.listening["backend"], "http://127.0.0.1:9");

    assert!(healthcheck(EXE, bin.port), "healthcheck against the running server");

    let (status, lines) = bin.terminate();
    assert_eq!(status.code(), Some(0), "logs: {lines:#?}");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["ts"].is_string() && v["level"].is_string(), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains(r#""path":"/health""#)), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains(r#""msg":"stopped""#)), "{lines:#?}");
}

#[test]
fn healthcheck_exits_1_when_nothing_listens() {
    assert!(!healthcheck(EXE, closed_port()));
}

#[test]
fn invalid_backend_url_fails_fast() {
    let out = Command::new(EXE).env("PORT", "0").env("BACKEND_URL", "https://todo-api:8443").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("must start with http://"));
}

// The server limits of todo-common, on this binary (todo-api's tests run the same checks on it).
const BACKEND: (&str, &str) = ("BACKEND_URL", "http://127.0.0.1:9");

#[test]
fn sigterm_with_a_half_sent_request_ends_within_the_drain_time() {
    common::checks::sigterm_with_half_sent_request_ends_within_drain(EXE, &[BACKEND]);
}

#[test]
fn sigterm_closes_an_idle_keep_alive_connection_at_once() {
    common::checks::sigterm_closes_idle_keep_alive_at_once(EXE, &[BACKEND]);
}

#[test]
fn slow_header_connections_are_closed_at_the_header_timeout() {
    common::checks::slow_headers_are_closed_at_the_header_timeout(EXE, &[BACKEND]);
}

#[test]
fn sleep_subcommand_waits_then_exits_0() {
    let start = std::time::Instant::now();
    assert!(Command::new(EXE).args(["sleep", "1"]).status().unwrap().success());
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    let out = Command::new(EXE).args(["sleep", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sleep takes whole seconds"));
}
