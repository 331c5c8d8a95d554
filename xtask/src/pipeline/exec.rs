//! Runs one external command with a timeout, a log file, optional live echo and clean termination: the child runs
//! in its own process group so that a timeout or Ctrl-C ends it and everything it started, and nothing is left
//! behind. Commands are built with xshell's `cmd!` (never split by a shell) and converted here.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use super::interrupt::{install_interrupt_handler, interrupted, INTERRUPTED};
use super::interrupt::{signal_group, LIVE};
use crate::secrets;

/// Decides, per stdout line, that the command has said what we need.
pub type StopFn = dyn Fn(&str) -> bool + Send + Sync;

/// A command ready to run. Build it from `cmd!(sh, "...")` with [`Exec::from`].
pub struct Exec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub envs: Vec<(OsString, Option<OsString>)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
    /// Appends stdout and stderr (redacted) here.
    pub log: Option<PathBuf>,
    /// Streams output lines to stderr with this prefix (`-v`).
    pub echo: Option<String>,
    /// Leave stdout out of the log (bulky JSON read by the step, which would bury the log's tail).
    pub quiet_stdout: bool,
    /// Ends the command successfully once a stdout line satisfies this: for tools that keep running after printing
    /// what we need (`minikube service --url` with some drivers).
    pub stop_when: Option<Box<StopFn>>,
    /// Set by the engine to stop this command early (fail-fast after another step failed): it is ended like on a
    /// timeout and the output says `cancelled`.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl From<xshell::Cmd<'_>> for Exec {
    fn from(cmd: xshell::Cmd<'_>) -> Exec {
        Exec::from(Command::from(cmd))
    }
}

impl From<Command> for Exec {
    fn from(c: Command) -> Exec {
        Exec {
            program: c.get_program().to_os_string(),
            args: c.get_args().map(|a| a.to_os_string()).collect(),
            envs: c.get_envs().map(|(k, v)| (k.to_os_string(), v.map(|v| v.to_os_string()))).collect(),
            cwd: c.get_current_dir().map(|d| d.to_path_buf()),
            timeout: Duration::from_secs(600),
            log: None,
            echo: None,
            quiet_stdout: false,
            stop_when: None,
            cancel: None,
        }
    }
}

impl Exec {
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The std Command: program, arguments, env and directory; stdin closed, output piped, own process group.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        new_process_group(&mut cmd);
        cmd
    }

    pub fn quiet_stdout(mut self) -> Self {
        self.quiet_stdout = true;
        self
    }

    /// The command line as shown in plans, logs and reports: arguments quoted where needed, secrets redacted.
    pub fn display(&self) -> String {
        let mut parts = vec![quote(&self.program.to_string_lossy())];
        let program = std::path::Path::new(&self.program);
        if let Some(name) = program.file_name() {
            parts[0] = quote(&name.to_string_lossy());
        }
        parts.extend(self.args.iter().map(|a| quote(&a.to_string_lossy())));
        secrets::redact_global(&parts.join(" "))
    }
}

fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%{}[]".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Default, Clone)]
pub struct Output {
    /// Exit code; None when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub interrupted: bool,
    /// Ended because the engine stopped the step (fail-fast).
    pub cancelled: bool,
    /// Ended by `stop_when`.
    pub stopped: bool,
    pub duration: Duration,
}

impl Output {
    /// `exit 1`, `killed by a signal`, `timed out`: how the command ended, for messages.
    pub fn ending(&self) -> String {
        if self.cancelled {
            return "stopped".into();
        }
        match (self.timed_out, self.code) {
            (true, _) => "timed out".into(),
            (_, Some(c)) => format!("exit {c}"),
            (_, None) => "killed by a signal".into(),
        }
    }

    pub fn success(&self) -> bool {
        self.code == Some(0) || self.stopped
    }

    /// The last `n` lines of stderr, else stdout: what a failure message shows.
    pub fn tail(&self, n: usize) -> String {
        let src = if self.stderr.trim().is_empty() { &self.stdout } else { &self.stderr };
        tail_lines(src, n)
    }
}

pub fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// How much stderr is kept in memory (the log file has all of it).
const STDERR_KEEP: usize = 256 * 1024;

/// Runs the command to completion, timeout, stop line, or interrupt. An error only when it could not start.
pub fn run(e: Exec) -> std::io::Result<Output> {
    let started = Instant::now();
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Ok(Output { interrupted: true, ..Default::default() });
    }
    let cancelled = || e.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst));
    if cancelled() {
        return Ok(Output { cancelled: true, ..Default::default() });
    }
    let mut cmd = e.command();
    let log = match &e.log {
        Some(p) => {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p)?;
            writeln!(f, "$ {}", e.display())?;
            Some(Arc::new(Mutex::new(f)))
        }
        None => None,
    };
    let mut child = cmd.spawn()?;
    let pid = child.id();
    LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
    let _unregister = Unregister(pid);

    let stop = Arc::new(AtomicBool::new(false));
    // Readers report EOF (and a stop line) here, so the wait wakes when the child closes its output instead of
    // polling on a timer.
    let (events, wake) = std::sync::mpsc::channel::<()>();
    let out_buf = Arc::new(Mutex::new(String::new()));
    let err_buf = Arc::new(Mutex::new(String::new()));
    let stop_when: Option<Arc<StopFn>> = e.stop_when.map(Arc::from);
    let readers = [
        child.stdout.take().map(|r| {
            let log = if e.quiet_stdout { None } else { log.clone() };
            let sink = Sink {
                buf: out_buf.clone(),
                keep: usize::MAX,
                log,
                echo: e.echo.clone(),
                stop_when,
                stop: stop.clone(),
            };
            reader(Box::new(r), sink, events.clone())
        }),
        child.stderr.take().map(|r| {
            let sink = Sink {
                buf: err_buf.clone(),
                keep: STDERR_KEEP,
                log: log.clone(),
                echo: e.echo.clone(),
                stop_when: None,
                stop: stop.clone(),
            };
            reader(Box::new(r), sink, events.clone())
        }),
    ];

    let deadline = started + e.timeout;
    let mut out = Output::default();
    drop(events);
    let mut open_pipes = readers.iter().flatten().count();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if stop.load(Ordering::SeqCst) {
            out.stopped = true;
            terminate(&mut child);
            break None;
        }
        if Instant::now() >= deadline {
            out.timed_out = true;
            terminate(&mut child);
            break None;
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            out.interrupted = true;
            terminate(&mut child);
            break None;
        }
        if cancelled() {
            out.cancelled = true;
            terminate(&mut child);
            break None;
        }
        // With both pipes open, sleep until a reader speaks (checking interrupts every 50 ms); once they are closed
        // the exit is imminent and a short poll catches it.
        let nap = if open_pipes > 0 {
            deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(50))
        } else {
            Duration::from_micros(500)
        };
        match wake.recv_timeout(nap) {
            Ok(()) => open_pipes = open_pipes.saturating_sub(usize::from(!stop.load(Ordering::SeqCst))),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                open_pipes = 0;
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    };
    out.code = status.and_then(|s| s.code());
    // Readers end at EOF. A grandchild that kept the pipes open (a daemon the tool started) must not keep us here.
    let grace = Instant::now() + Duration::from_millis(500);
    for r in readers.into_iter().flatten() {
        while !r.is_finished() && Instant::now() < grace {
            std::thread::sleep(Duration::from_millis(2));
        }
        if r.is_finished() {
            let _ = r.join();
        }
    }
    out.stdout = std::mem::take(&mut *out_buf.lock().unwrap_or_else(|p| p.into_inner()));
    out.stderr = std::mem::take(&mut *err_buf.lock().unwrap_or_else(|p| p.into_inner()));
    out.duration = started.elapsed();
    if let Some(l) = &log {
        let mut f = l.lock().unwrap_or_else(|p| p.into_inner());
        let end = match (out.timed_out, out.interrupted, out.stopped, out.code) {
            (true, ..) => format!("timed out after {}", crate::text::fmt_duration(e.timeout)),
            (_, true, ..) => "interrupted".into(),
            _ if out.cancelled => "stopped: another step failed (fail-fast)".into(),
            (_, _, true, _) => "stopped after the expected output".into(),
            (_, _, _, Some(c)) => format!("exit {c}"),
            _ => "killed by a signal".into(),
        };
        let _ = writeln!(f, "# {end} ({})", crate::text::fmt_duration(out.duration));
    }
    Ok(out)
}

struct Unregister(u32);

impl Drop for Unregister {
    fn drop(&mut self) {
        LIVE.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| *p != self.0);
    }
}

/// Where one output stream goes: a buffer (the last `keep` bytes), the log, the terminal, the stop check.
struct Sink {
    buf: Arc<Mutex<String>>,
    keep: usize,
    log: Option<Arc<Mutex<std::fs::File>>>,
    echo: Option<String>,
    stop_when: Option<Arc<StopFn>>,
    stop: Arc<AtomicBool>,
}

fn reader(
    mut src: Box<dyn Read + Send>,
    sink: Sink,
    events: std::sync::mpsc::Sender<()>,
) -> std::thread::JoinHandle<()> {
    let Sink { buf, keep, log, echo, stop_when, stop } = sink;
    std::thread::spawn(move || {
        let mut r = BufReader::new(&mut src);
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            {
                let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                b.push_str(&text);
                if b.len() > keep {
                    let cut = b.len() - keep;
                    let cut = (cut..b.len()).find(|i| b.is_char_boundary(*i)).unwrap_or(b.len());
                    b.drain(..cut);
                }
            }
            if log.is_some() || echo.is_some() {
                let shown = secrets::redact_global(&text);
                if let Some(l) = &log {
                    let _ = l.lock().unwrap_or_else(|p| p.into_inner()).write_all(shown.as_bytes());
                }
                if let Some(prefix) = &echo {
                    let nl = if shown.ends_with('\n') { "" } else { "\n" };
                    super::output::write(true, &format!("{prefix} {shown}{nl}"));
                }
            }
            if let Some(f) = &stop_when {
                if f(text.trim_end()) {
                    stop.store(true, Ordering::SeqCst);
                    let _ = events.send(());
                }
            }
        }
        let _ = events.send(());
    })
}

#[cfg(unix)]
fn new_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn new_process_group(_cmd: &mut Command) {}

/// Ends the child's whole process group: SIGTERM, then SIGKILL after a grace period.
fn terminate(child: &mut Child) {
    signal_group(child.id(), false);
    let grace = Instant::now() + Duration::from_secs(3);
    while Instant::now() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            // The leader is gone; anything it left in its group goes too.
            signal_group(child.id(), true);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    signal_group(child.id(), true);
    let _ = child.kill();
    let _ = child.wait();
}

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
