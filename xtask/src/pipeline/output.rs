//! The only way text leaves the process on stdout and stderr: every line is redacted, and a write to a closed
//! reader (`cargo xtask up | head -1`) never panics — it ends the run like Ctrl-C, so the tools stop, the lock is
//! released and the secret files are removed. [`watch_closed_output`] notices a reader that went away while the
//! run prints nothing.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout or stderr went away.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// `println!` through the redactor; see the module docs.
#[macro_export]
macro_rules! outln {
    () => { $crate::pipeline::output::write(false, "\n") };
    ($($t:tt)*) => { $crate::pipeline::output::write(false, &format!("{}\n", format_args!($($t)*))) };
}

/// `eprintln!` through the redactor; see the module docs.
#[macro_export]
macro_rules! errln {
    () => { $crate::pipeline::output::write(true, "\n") };
    ($($t:tt)*) => { $crate::pipeline::output::write(true, &format!("{}\n", format_args!($($t)*))) };
}

/// Writes `text` (redacted) to stderr (`err`) or stdout. A failed write marks the output closed and interrupts the
/// run; it is never an error for the caller.
pub fn write(err: bool, text: &str) {
    if CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let text = crate::secrets::redact_global(text);
    let r = if err {
        let mut e = std::io::stderr().lock();
        e.write_all(text.as_bytes()).and_then(|_| e.flush())
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(text.as_bytes()).and_then(|_| o.flush())
    };
    if r.is_err() {
        closed();
    }
}

/// The reader is gone: nobody sees the run any more, so stop it as Ctrl-C would.
fn closed() {
    if !CLOSED.swap(true, Ordering::SeqCst) {
        super::interrupt::interrupt();
    }
}

/// Watches stdout and stderr while a run works: when either is a pipe whose reader closed, the run is interrupted
/// at once rather than at its next write (a quiet 10-minute build would otherwise run on for nobody).
#[cfg(unix)]
pub fn watch_closed_output() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(start_watch);
}

#[cfg(unix)]
fn start_watch() {
    use std::os::fd::AsRawFd;
    let fds: Vec<i32> = [std::io::stdout().as_raw_fd(), std::io::stderr().as_raw_fd()]
        .into_iter()
        .filter(|fd| {
            // SAFETY: fstat on our own open descriptors, into a zeroed struct.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            unsafe { libc::fstat(*fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO }
        })
        .collect();
    if fds.is_empty() {
        return;
    }
    std::thread::spawn(move || loop {
        let mut polls: Vec<libc::pollfd> =
            fds.iter().map(|fd| libc::pollfd { fd: *fd, events: 0, revents: 0 }).collect();
        // SAFETY: poll on a valid array of pollfd we own; events 0 still reports POLLERR/POLLHUP, which a pipe's
        // write end gets when its reader closed.
        let n = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, 200) };
        if n > 0 && polls.iter().any(|p| p.revents & (libc::POLLERR | libc::POLLHUP) != 0) {
            closed();
            return;
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    });
}

#[cfg(not(unix))]
pub fn watch_closed_output() {}
