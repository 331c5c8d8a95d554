//! The real app binary (`env!("CARGO_BIN_EXE_<app>")`) as a child process: started on a free port with its
//! stdout captured, probed with `<app> healthcheck`, stopped with SIGTERM like Kubernetes does.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Binary {
    child: Child,
    pub port: u16,
    /// The "listening" log line, parsed.
    pub listening: Value,
    /// Lines read up to and including "listening".
    pub early: Vec<String>,
    lines: Receiver<String>,
}

impl Binary {
    /// Starts `exe` with HOST=127.0.0.1 (tests never listen beyond the loopback), PORT=0 (a free port; the
    /// "listening" log line says which), LOG_LEVEL and the timeouts unset, then `env`; waits for "listening".
    pub fn start(exe: &str, env: &[(&str, &str)]) -> Binary {
        let child = Command::new(exe)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env_remove("HEADER_TIMEOUT_SECONDS")
            .env_remove("BODY_TIMEOUT_SECONDS")
            .env_remove("DRAIN_TIMEOUT_SECONDS")
            .env_remove("LOG_LEVEL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
        let (tx, lines) = std::sync::mpsc::channel();
        // Wrapped at once so the child is killed (Drop) even if an assertion below fails.
        let mut bin = Binary { child, port: 0, listening: Value::Null, early: Vec::new(), lines };
        let stdout = bin.child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Background tasks (todo-api's database supervisor) may log before "listening": look among the first few.
        for _ in 0..20 {
            let line = bin.lines.recv_timeout(Duration::from_secs(10)).expect("no \"listening\" log line");
            let log: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            bin.early.push(line);
            if log["msg"] == "listening" {
                bin.port = log["addr"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
                bin.listening = log;
                return bin;
            }
        }
        panic!("no \"listening\" log line among the first 20");
    }

    /// SIGTERM, then the exit status and every line logged (including `early`).
    pub fn terminate(self) -> (ExitStatus, Vec<String>) {
        let (status, lines, _) = self.terminate_timed();
        (status, lines)
    }

    /// SIGTERM, then the exit status, every line logged and how long the exit took after the signal.
    pub fn terminate_timed(mut self) -> (ExitStatus, Vec<String>, Duration) {
        let ok = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill -TERM failed");
        let signalled = Instant::now();
        let deadline = signalled + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "no exit within 20s of SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = signalled.elapsed();
        let mut lines = std::mem::take(&mut self.early);
        // The reader thread ends at EOF (the child has exited), which disconnects the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        (status, lines, took)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `exe healthcheck` against 127.0.0.1:`port`: true when it exits 0.
pub fn healthcheck(exe: &str, port: u16) -> bool {
    Command::new(exe).arg("healthcheck").env("PORT", port.to_string()).stderr(Stdio::null()).status().unwrap().success()
}
