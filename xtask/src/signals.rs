//! Which signal stopped the run, for the exit code: 130 for Ctrl-C (SIGINT), 143 for SIGTERM, the shell's
//! 128 + signal number convention. ctrlc (with its `termination` feature) handles both signals the same way and
//! does not say which one came, so a SIGTERM handler of our own notes it and then hands over to ctrlc's.

use std::sync::atomic::{AtomicBool, Ordering};

static TERMINATED: AtomicBool = AtomicBool::new(false);

/// The exit code of an interrupted run: 143 after SIGTERM, else 130.
pub fn interrupt_code() -> u8 {
    if TERMINATED.load(Ordering::SeqCst) {
        143
    } else {
        130
    }
}

#[cfg(unix)]
mod unix {
    use std::sync::OnceLock;

    use super::{Ordering, TERMINATED};

    /// ctrlc's SIGTERM action, called after noting the signal.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    extern "C" fn on_sigterm(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // Async-signal-safe only: an atomic store, then a call of the previous handler (ctrlc writes to a pipe).
        TERMINATED.store(true, Ordering::SeqCst);
        if let Some(prev) = PREVIOUS.get() {
            let handler = prev.sa_sigaction;
            if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                return;
            }
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous action was installed with SA_SIGINFO, so it has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(handler) };
                f(sig, info, ctx);
            } else {
                // SAFETY: without SA_SIGINFO the previous action is a plain `fn(c_int)` handler.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
                f(sig);
            }
        }
    }

    /// Installs the SIGTERM note in front of the current SIGTERM action (ctrlc's). Call once, after ctrlc's
    /// handler is set.
    pub fn note_sigterm() {
        if PREVIOUS.get().is_some() {
            return;
        }
        // SAFETY: plain sigaction calls with zeroed, fully initialised structs; the handler is async-signal-safe.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigterm;
            new.sa_sigaction = handler as libc::sighandler_t;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            // Store the previous action first, so a SIGTERM arriving right after the swap finds it.
            if libc::sigaction(libc::SIGTERM, std::ptr::null(), &mut old) != 0 {
                return;
            }
            let _ = PREVIOUS.set(old);
            libc::sigaction(libc::SIGTERM, &new, std::ptr::null_mut());
        }
    }
}

/// Notes SIGTERM for [`interrupt_code`]; a no-op where there is no SIGTERM.
pub fn note_sigterm() {
    #[cfg(unix)]
    unix::note_sigterm();
}
