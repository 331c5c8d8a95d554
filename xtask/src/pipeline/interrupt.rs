//! How a run is interrupted: the flag every wait loop checks, the process groups of running children, and the
//! Ctrl-C / SIGTERM handler and closed-output path that set the one and signal the others. Apart from the engine's
//! runner and output writer so that the two need not import each other.

#[cfg(not(unix))]
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::secrets;

/// Set by the Ctrl-C / SIGTERM handler; every wait loop checks it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Process groups of running children, so the signal handler can end them.
pub(super) static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

#[cfg(unix)]
pub(super) fn signal_group(pid: u32, kill: bool) {
    let sig = if kill { libc::SIGKILL } else { libc::SIGTERM };
    // SAFETY: killpg only sends a signal; a stale group id yields ESRCH, which we ignore.
    unsafe {
        libc::killpg(pid as libc::pid_t, sig);
    }
}

#[cfg(not(unix))]
pub(super) fn signal_group(pid: u32, _kill: bool) {
    let _ = Command::new("taskkill")
        .args(["/T", "/F", "/PID", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Installs the Ctrl-C / SIGTERM handler: marks the run interrupted and ends every running child's group. The run
/// then records itself as interrupted and exits 130 (143 after SIGTERM).
pub fn install_interrupt_handler() {
    crate::signals::on_interrupt(on_signal);
}

fn on_signal() {
    if INTERRUPTED.load(Ordering::SeqCst) {
        // A second Ctrl-C: stop waiting for a tidy end, but leave no secret behind (the lock is an OS lock and goes
        // with the process).
        for pid in LIVE.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            signal_group(*pid, true);
        }
        secrets::remove_live_files();
        std::process::exit(crate::signals::interrupt_code().into());
    }
    interrupt();
}

/// Marks the run interrupted and asks every running child's group to stop (SIGTERM; the waits escalate to
/// SIGKILL after their grace). Ctrl-C, SIGTERM and a closed output all end a run this way.
pub fn interrupt() {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        return;
    }
    for pid in LIVE.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        signal_group(*pid, false);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
