//! Fake `kubectl-ai` and `kagent` CLIs.
//!
//! kubectl-ai: GoogleCloudPlatform/kubectl-ai `cmd/main.go` (`version` prints `version:/commit:/date:` lines;
//! errors go to stderr and exit 1) and `gollm/gemini.go` / `gollm/openai.go` (missing-key errors). The
//! `creating llm client: ` prefix is how cmd/main.go wraps gollm.NewClient errors in the revision read.
//! kagent: kagent-dev/kagent `go/cli/internal/cli/agent/invoke.go` — every failure is printed to stderr and the
//! process still exits 0; `version` prints a JSON object (tests/fixtures/kagent/).

use anyhow::Result;
use serde_json::json;

use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{cluster, ctx::Ctx};

fn answer(ctx: &Ctx, prompt: &str) -> String {
    ctx.env("FAKE_AI_ANSWER").unwrap_or_else(|| {
        format!(
            "I looked at the cluster for: {prompt}\n\nAll pods in the namespace are Running and Ready; no restarts in the last hour.\nNo action is needed.\n"
        )
    })
}

pub fn kubectl_ai(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(
        &ctx.args,
        &[
            "--llm-provider",
            "--model",
            "--kubeconfig",
            "--max-iterations",
            "--trace-path",
            "--ui-type",
            "--mcp-server",
            "--session",
        ],
    );
    if f.pos.first().is_some_and(|p| p == "version") {
        let v = ctx.env("FAKE_KUBECTL_AI_VERSION").unwrap_or_else(|| "0.0.20".into());
        return Ok(Reply::ok(format!(
            "version: {v}\ncommit: 6d3d0f2b1b0c6a2ab1cfb21b8b1c9c4de0d1b8f3\ndate: 2025-08-05T17:21:33Z\n"
        )));
    }
    if f.pos.len() > 1 {
        return Ok(Reply::fail(1, "only one positional argument (query) is allowed\n"));
    }
    let provider = f.get(&["--llm-provider"]).unwrap_or_else(|| "gemini".into());
    let missing = match provider.as_str() {
        "gemini" if ctx.env("GEMINI_API_KEY").is_none() => Some("GEMINI_API_KEY environment variable not set"),
        "openai" | "openai-compatible" if ctx.env("OPENAI_API_KEY").is_none() => {
            Some("OpenAI API key not found. Set via OPENAI_API_KEY env var")
        }
        _ => None,
    };
    if let Some(msg) = missing {
        // cmd/main.go:496 wraps the agent manager's error (pkg/agent/manager.go:76, gollm/gemini.go:66); main
        // prints it to stderr and exits 1 (cmd/main.go:253-262). GoogleCloudPlatform/kubectl-ai @ d4435ab.
        return Ok(Reply::fail(
            1,
            format!("failed to get agent for new session: creating agent: creating llm client: {msg}\n"),
        ));
    }
    if let Some(command) = ctx.env("FAKE_KUBECTL_AI_WANTS") {
        if f.has(&["--quiet"]) && !f.has(&["--skip-permissions"]) {
            // A tool call not judged read-only ends a --quiet (RunOnce) run (pkg/agent/conversation.go:722-735).
            return Ok(Reply::fail(
                1,
                format!("RunOnce mode cannot handle permission requests. The following commands require approval:\n* {command}\nUse --skip-permissions flag to bypass permission checks in RunOnce mode.\n"),
            ));
        }
    }
    let Some(prompt) = f.pos.first() else {
        if f.has(&["--quiet"]) {
            return Ok(Reply::fail(1, "query is required in non-interactive mode\n"));
        }
        return Ok(Reply::ok(""));
    };
    Ok(Reply::ok(answer(ctx, prompt)))
}

pub fn kagent(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(
        &ctx.args,
        &[
            "--agent",
            "-t",
            "--task",
            "-n",
            "--namespace",
            "-f",
            "--file",
            "-s",
            "--session",
            "--token",
            "--kagent-url",
            "-o",
            "--output-format",
        ],
    );
    let unreachable = ctx.env_is("FAKE_KAGENT_UNREACHABLE", "1") || cluster::down(ctx)?.is_some();
    match f.pos.first().map(String::as_str) {
        Some("version") => {
            // The controller's version is its own (a cluster installed earlier may run an older one).
            let backend = if unreachable {
                "unknown".to_string()
            } else {
                ctx.env("FAKE_KAGENT_BACKEND_VERSION").unwrap_or_else(|| "v0.5.9".into())
            };
            let v = ctx.env("FAKE_KAGENT_VERSION").unwrap_or_else(|| "0.6.3".into());
            // json.Encoder output: keys sorted (map), trailing newline.
            Ok(Reply::ok(format!(
                "{}\n",
                json!({"backend_version": backend, "build_date": "2025-09-15", "git_commit": "a1b2c3d", "kagent_version": v})
            )))
        }
        Some("invoke") => {
            // InvokeCmd checks the server before the flags; every failure prints and returns (exit 0).
            if unreachable {
                return Ok(Reply::ok("").with_err(
                    "Error starting port-forward: failed to establish connection to kagent-controller. Error connecting to server. Please run 'install' command first.\n",
                ));
            }
            let Some(task) = f.get(&["-t", "--task"]) else {
                return Ok(Reply::ok("").with_err("Task or file is required\n"));
            };
            let Some(agent) = f.get(&["--agent"]) else {
                return Ok(Reply::ok("").with_err("Agent is required\n"));
            };
            if agent.contains('/') {
                return Ok(Reply::ok("").with_err(format!(
                    "Invalid agent format: use --namespace to specify the namespace. Got'{agent}'\n"
                )));
            }
            let id = util::hex256(format!("{agent}{task}").as_bytes());
            let uuid = |s: &str| format!("{}-{}-{}-{}-{}", &s[..8], &s[8..12], &s[12..16], &s[16..20], &s[20..32]);
            // An A2A Task result (a2a-go types); the field set is an approximation, not a capture.
            let result = json!({
                "kind": "task", "id": uuid(&id), "contextId": uuid(&id[32..]),
                "status": {"state": "completed", "timestamp": util::rfc3339(util::now_ms())},
                "artifacts": [{"artifactId": uuid(&id[16..]), "parts": [{"kind": "text", "text": answer(ctx, &task)}]}]
            });
            Ok(Reply::ok(format!("{result}\n")))
        }
        Some(other) => Ok(Reply::fail(
            1,
            format!("Error: unknown command \"{other}\" for \"kagent\"\nRun 'kagent --help' for usage.\n"),
        )),
        None => Ok(Reply::ok("kagent is a CLI and TUI for kagent\n")),
    }
}
