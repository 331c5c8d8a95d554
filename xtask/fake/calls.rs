//! The call log `$FAKE_DIR/calls.jsonl`: a `start` line on entry and an `end` line (with the exit code) on exit.
//!
//! Each line goes out in one `write` on a file opened with O_APPEND, so concurrent invocations never interleave.

use std::io::Write;

use serde_json::{json, Map, Value};

use crate::ctx::Ctx;

/// Variables worth asserting on; secrets are recorded only as "<set>". PATH is deliberately left out.
const RECORDED: &[&str] = &["DOCKER_HOST", "KUBECONFIG", "HELM_NAMESPACE", "MINIKUBE_PROFILE"];
const SECRET: &[&str] = &["GEMINI_API_KEY", "OPENAI_API_KEY"];

fn env_snapshot() -> Value {
    let mut env = Map::new();
    for name in RECORDED {
        if let Ok(v) = std::env::var(name) {
            env.insert(name.to_string(), Value::String(v));
        }
    }
    for name in SECRET {
        if std::env::var_os(name).is_some() {
            env.insert(name.to_string(), Value::String("<set>".into()));
        }
    }
    Value::Object(env)
}

fn base(ctx: &Ctx, event: &str) -> Value {
    json!({
        "event": event,
        "tool": ctx.tool,
        "args": ctx.args,
        "cwd": ctx.cwd().to_string_lossy(),
        "start_ms": ctx.start_ms,
        "pid": std::process::id(),
        "env": env_snapshot(),
    })
}

fn append(ctx: &Ctx, line: Value) {
    let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
    bytes.push(b'\n');
    let _ = std::fs::create_dir_all(&ctx.dir);
    let file = std::fs::OpenOptions::new().create(true).append(true).open(ctx.dir.join("calls.jsonl"));
    if let Ok(mut f) = file {
        let _ = f.write_all(&bytes);
    }
}

pub fn start(ctx: &Ctx) {
    append(ctx, base(ctx, "start"));
}

pub fn end(ctx: &Ctx, exit: i32) {
    let mut line = base(ctx, "end");
    line["end_ms"] = json!(crate::util::now_ms());
    line["exit"] = json!(exit);
    append(ctx, line);
}
