//! Commands that keep running while a step works: one whose stdout the caller streams ([`Streaming`]) and one left
//! in the background ([`Background`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Child;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::command::Exec;
use super::process::{terminate, Unregister};
use crate::pipeline::interrupt::{signal_group, INTERRUPTED, LIVE};
use crate::secrets;

/// A command whose stdout the caller streams itself (`docker save`, gzipped as it arrives). It runs in its own
/// process group, registered for Ctrl-C; [`Streaming::kill_tree`] (and dropping it) ends the whole group, so a
/// grandchild holding the pipe open cannot keep the reader waiting.
pub struct Streaming {
    pub child: Child,
    pub stdout: std::process::ChildStdout,
    stderr: std::thread::JoinHandle<String>,
    _unregister: Unregister,
}

impl Streaming {
    pub fn kill_tree(pid: u32) {
        signal_group(pid, true);
    }

    /// Waits for the exit; returns the status and the last 64 KiB of stderr.
    pub fn finish(mut self) -> std::io::Result<(std::process::ExitStatus, String)> {
        let status = self.child.wait()?;
        signal_group(self.child.id(), true);
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        Ok((status, stderr.join().unwrap_or_default()))
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        signal_group(self.child.id(), true);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn_streaming(e: Exec) -> std::io::Result<Streaming> {
    let mut child = e.command().spawn()?;
    let pid = child.id();
    LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
    let unregister = Unregister(pid);
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
    let mut err = child.stderr.take();
    let stderr = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(e) = err.as_mut() {
            let mut buf = [0u8; 8192];
            while let Ok(n) = e.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.extend_from_slice(&buf[..n]);
                if text.len() > 64 * 1024 {
                    text.drain(..text.len() - 64 * 1024);
                }
            }
        }
        secrets::redact_global(&String::from_utf8_lossy(&text))
    });
    Ok(Streaming { child, stdout, stderr, _unregister: unregister })
}

/// A command left running while the step works (`kubectl port-forward`, `minikube service --url` holding a tunnel
/// open). Its process group is ended when this is dropped, so nothing outlives the step.
pub struct Background {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The last stderr lines (redacted), for saying why the command ended early.
    stderr: Arc<Mutex<Vec<String>>>,
    _unregister: Unregister,
    pub display: String,
}

impl Background {
    /// Waits for a stdout line that `pred` accepts; None at the deadline or when the command exits first.
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || INTERRUPTED.load(Ordering::SeqCst) {
                return None;
            }
            match self.lines.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl Background {
    /// Why the command is no longer running (`exit 1: <last stderr line>`), None while it runs.
    pub fn ended(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        // The reader thread may still be draining the pipe.
        std::thread::sleep(Duration::from_millis(50));
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
        let code = status.code().map(|c| format!("exit {c}")).unwrap_or_else(|| "killed".into());
        Some(if tail.is_empty() { code } else { format!("{code}: {tail}") })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Starts `e` in the background: stdout lines arrive through [`Background::wait_line`] and, like stderr, go to the
/// log.
pub fn spawn(e: Exec) -> std::io::Result<Background> {
    let display = e.display();
    let mut cmd = e.command();
    let log = match &e.log {
        Some(p) => {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p)?;
            writeln!(f, "$ {display} &")?;
            Some(Arc::new(Mutex::new(f)))
        }
        None => None,
    };
    let mut child = cmd.spawn()?;
    let pid = child.id();
    LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(out) = child.stdout.take() {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(l) = &log {
                    let _ = writeln!(l.lock().unwrap_or_else(|p| p.into_inner()), "{}", secrets::redact_global(&line));
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let stderr = Arc::new(Mutex::new(Vec::new()));
    if let Some(err) = child.stderr.take() {
        let tail = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let line = secrets::redact_global(&line);
                if let Some(l) = &log {
                    let _ = writeln!(l.lock().unwrap_or_else(|p| p.into_inner()), "{line}");
                }
                let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                t.push(line.to_string());
                let excess = t.len().saturating_sub(3);
                t.drain(..excess);
            }
        });
    }
    Ok(Background { child, lines: rx, stderr, _unregister: Unregister(pid), display })
}
