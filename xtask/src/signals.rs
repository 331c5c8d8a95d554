//! Ctrl-C and its kin: [`on_interrupt`] runs a function on a thread of its own after each SIGINT, SIGTERM or
//! SIGHUP (the signals ctrlc's `termination` feature handles), and [`interrupt_code`] says which one stopped the
//! run, for the exit code: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP (128 + the signal number, the shell's
//! convention).
//!
//! On Unix this is a few libc calls of our own rather than the ctrlc crate: ctrlc brought three crates (nix and its
//! build script among them) into the graph that `cargo xtask` checks for freshness on every call, and did not say
//! which signal came. Windows keeps ctrlc (its console control handler).

use std::sync::atomic::{AtomicI32, Ordering};

/// The number of the last signal that interrupted the run (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The exit code of an interrupted run: 128 + the signal's number, 130 (Ctrl-C's) without a signal (a closed
/// output ends a run the same way).
pub fn interrupt_code() -> u8 {
    code_for(SIGNAL.load(Ordering::SeqCst))
}

fn code_for(signal: i32) -> u8 {
    match signal {
        s @ 1..=127 => 128 + s as u8,
        _ => 130,
    }
}

/// Runs `handler` after each interrupting signal, on a thread of its own (so it may lock, allocate and print).
/// Installed once per process; later calls keep the first handler.
pub fn on_interrupt(handler: fn()) {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        if let Err(e) = imp::install(handler) {
            crate::errln!("warning: cannot handle Ctrl-C ({e}): an interrupted run may leave its children running");
        }
    });
}

#[cfg(unix)]
mod imp {
    use super::{Ordering, SIGNAL};
    use std::sync::atomic::AtomicI32;

    /// The write end of the pipe through which the signal handler wakes the handling thread (-1 before install).
    static WAKE: AtomicI32 = AtomicI32::new(-1);

    extern "C" fn on_signal(sig: libc::c_int) {
        // Async-signal-safe only: atomics and write(2) (the self-pipe pattern).
        SIGNAL.store(sig, Ordering::SeqCst);
        let fd = WAKE.load(Ordering::SeqCst);
        if fd >= 0 {
            let byte = 1u8;
            // SAFETY: one byte from a live local to a descriptor we own; a full (non-blocking) pipe drops it, and
            // the thread is then already awake.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
    }

    pub fn install(handler: fn()) -> std::io::Result<()> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe fills the two-element array; fcntl only sets flags on descriptors we just made.
        unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for fd in fds {
                // Not inherited by the steps' children.
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
            // The handler must never block.
            libc::fcntl(fds[1], libc::F_SETFL, libc::fcntl(fds[1], libc::F_GETFL) | libc::O_NONBLOCK);
        }
        let read_end = fds[0];
        std::thread::Builder::new().name("signals".into()).spawn(move || loop {
            let mut byte = 0u8;
            // SAFETY: reads one byte into a live local from the pipe's read end, which stays open.
            match unsafe { libc::read(read_end, (&mut byte as *mut u8).cast(), 1) } {
                1 => handler(),
                n if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => return,
            }
        })?;
        WAKE.store(fds[1], Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with its handler, flags and empty mask set is fully initialised.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                let f: extern "C" fn(libc::c_int) = on_signal;
                action.sa_sigaction = f as libc::sighandler_t;
                // As ctrlc does: interrupted reads and waits resume instead of failing with EINTR.
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn install(handler: fn()) -> std::io::Result<()> {
        // Windows has no SIGTERM: a console close or Ctrl-Break comes through the same handler as Ctrl-C (130).
        ctrlc::set_handler(handler).map_err(std::io::Error::other)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_is_128_plus_the_signal() {
        assert_eq!(code_for(0), 130);
        assert_eq!(code_for(libc::SIGINT), 130);
        assert_eq!(code_for(libc::SIGTERM), 143);
        assert_eq!(code_for(libc::SIGHUP), 129);
    }
}
