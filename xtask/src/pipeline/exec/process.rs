//! Ending a child's process group, and forgetting a child that ended from the list Ctrl-C signals.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::pipeline::interrupt::{signal_group, LIVE};

pub(super) struct Unregister(pub(super) u32);

impl Drop for Unregister {
    fn drop(&mut self) {
        LIVE.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| *p != self.0);
    }
}

/// Ends the child's whole process group: SIGTERM, then SIGKILL after a grace period.
pub(super) fn terminate(child: &mut Child) {
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
