//! The real todo-web binary: exit code 0 on SIGTERM, JSON logs, and the `healthcheck` subcommand.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn healthcheck(port: u16) -> bool {
    Command::new(env!("CARGO_BIN_EXE_todo-web"))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Kills the child if the test fails before it exits, so no server outlives the test run.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_serves_then_exits_0_on_sigterm() {
    let child = Command::new(env!("CARGO_BIN_EXE_todo-web"))
        .env("PORT", "0")
        .env("BACKEND_URL", "http://127.0.0.1:9")
        .env_remove("LOG_LEVEL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let log: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(log["msg"], "listening", "{first}");
    assert_eq!(log["backend"], "http://127.0.0.1:9");
    let port: u16 = log["addr"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();

    assert!(healthcheck(port), "healthcheck against the running server");

    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within 10s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    for line in &rest {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["ts"].is_string() && v["level"].is_string(), "{line}");
    }
    assert!(rest.iter().any(|l| l.contains(r#""path":"/health""#)), "{rest:#?}");
    assert!(rest.iter().any(|l| l.contains(r#""msg":"stopped""#)), "{rest:#?}");
}

#[test]
fn healthcheck_exits_1_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert!(!healthcheck(port));
}

#[test]
fn invalid_backend_url_fails_fast() {
    let out = Command::new(env!("CARGO_BIN_EXE_todo-web"))
        .env("PORT", "0")
        .env("BACKEND_URL", "https://todo-api:8443")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("must start with http://"));
}
