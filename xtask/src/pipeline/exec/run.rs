//! Running one command to completion, timeout, stop line or interrupt, with its log and live echo.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::command::{Exec, Output, StopFn};
use super::process::{terminate, Unregister};
use crate::pipeline::interrupt::{INTERRUPTED, LIVE};
use crate::secrets;

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
                    crate::pipeline::output::write(true, &format!("{prefix} {shown}{nl}"));
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
