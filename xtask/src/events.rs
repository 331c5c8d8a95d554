//! `--json`: a run as a stream of events on stdout, one JSON object per line (JSON Lines), for CI systems and
//! editors. Every event carries `schema_version`, `event` and `time`; docs/events.schema.json describes them all.
//! Events are redacted like every other output. With `--json`, stdout holds nothing else (progress stays on
//! stderr).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{json, Value};

/// Bumped when an event's meaning or a required field changes; new optional fields do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Steps run on several threads; one line must never be cut by another.
static STDOUT: Mutex<()> = Mutex::new(());

/// Turns the stream on (`--json`); called once by main.
pub fn init(enabled: bool) {
    ENABLED.store(enabled, Ordering::SeqCst);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

/// Prints one event when the stream is on. `fields` is an object; its keys join the common ones.
pub fn emit(event: &str, fields: Value) {
    if !enabled() {
        return;
    }
    let mut line = json!({
        "schema_version": SCHEMA_VERSION,
        "event": event,
        "time": crate::text::rfc3339(SystemTime::now()),
    });
    if let (Some(line), Value::Object(extra)) = (line.as_object_mut(), fields) {
        line.extend(extra);
    }
    // Through the one writer: it redacts (a secret may sit in a command line or a message; its JSON-escaped form
    // is one of the forms hidden), and a closed stdout ends the run as Ctrl-C would instead of panicking.
    let _guard = STDOUT.lock().unwrap_or_else(|p| p.into_inner());
    crate::pipeline::output::write(false, &format!("{line}\n"));
}
