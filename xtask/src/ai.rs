//! AIOps tools as pipeline steps: kubectl-ai (non-interactive, pointed at the cluster's context), kagent
//! (`kagent invoke`) and Docker AI (`docker ai`, "Gordon"). Each answer is saved in the run folder. A tool's
//! success is judged by what it does, not only its exit code: kagent prints its errors to stderr and exits 0.
//! In `up`'s configured AI steps a missing tool or API key skips the step with the reason, unless `--require-ai`;
//! an explicit `ai ask|agent|docker` fails instead, since its answer is the whole point.

use std::time::Duration;

use anyhow::{bail, Result};
use xshell::cmd;

use crate::config::{AiTool, Config};
use crate::context::Context;
use crate::kinds::{StepId, StepKind};
use crate::pipeline::console::{self, Shown};
use crate::pipeline::exec::{Exec, Output};
use crate::pipeline::{secrets, Done, Ran, Run, Step, StepCx};
use crate::tools;

/// `cargo xtask ai ask|agent|docker "..."`.
pub struct Ask {
    pub tool: AiTool,
    pub prompt: String,
    pub agent: Option<String>,
}

/// What a missing tool or API key does to an AI step.
#[derive(Clone, Copy)]
pub enum Missing {
    /// Skip the step with the reason (configured steps in `up`).
    Skip,
    /// Fail it: `--require-ai` was given.
    FailByFlag,
    /// Fail it: the user asked this command for an answer.
    Fail,
}

impl Ask {
    pub fn run(self, ctx: &Context) -> Result<()> {
        // The prompt is the tool's positional argument: one that starts with `-` would be read as a flag.
        if self.prompt.trim().is_empty() || self.prompt.starts_with('-') {
            return Err(crate::error::Error::usage(
                "the prompt must be non-empty and must not start with `-` (the AI tool would read it as a flag)",
            )
            .into());
        }
        if let Some(a) = &self.agent {
            crate::names::dns1123_subdomain(a, 253).map_err(|why| {
                crate::error::Error::usage(format!(
                    "--agent `{}` is not a kagent Agent name: {why}",
                    a.escape_default()
                ))
            })?;
        }
        let cfg = ctx.config()?;
        let mut run = Run::new(ctx, format!("ai {}", verb(self.tool)));
        let tool = self.tool;
        let (prompt, agent) = (self.prompt, self.agent);
        run.add(Step::new(StepId::ai(verb(tool)), StepKind::Ai, format!("Ask {}", tool.tool_name()), move |cx| {
            let answer = ask(cx, cfg, tool, &prompt, agent.as_deref(), Missing::Fail)?;
            finish(cx, "answer", answer)
        }));
        let facts = run.execute()?;
        if let Some(a) = &facts.ai_answer {
            console::show(Shown::Result(a));
        }
        Ok(())
    }
}

fn verb(tool: AiTool) -> &'static str {
    match tool {
        AiTool::KubectlAi => "ask",
        AiTool::Kagent => "agent",
        AiTool::DockerAi => "docker",
    }
}

/// The AI steps listed in xtask.yaml, run after deploy.
pub fn add_config_steps<'c>(cfg: &'c Config, run: &mut Run<'c>, after: &StepId, require: bool) {
    let require = if require { Missing::FailByFlag } else { Missing::Skip };
    for s in &cfg.ai.steps {
        run.add(
            Step::new(StepId::ai(&s.name), StepKind::Ai, format!("{}: {}", s.tool.tool_name(), s.name), move |cx| {
                let answer = ask(cx, cfg, s.tool, &s.prompt, s.agent.as_deref(), require)?;
                finish(cx, &s.name, answer)
            })
            .after([after.clone()]),
        );
    }
}

/// Saves an answer (redacted) as ai/<name>.md in the run folder; a skip stays a skip.
fn finish(cx: &mut StepCx, name: &str, answer: Result<String, String>) -> Result<Done> {
    match answer {
        Err(why) => Ok(Done::Skipped(why)),
        Ok(text) => {
            // A plan asked nothing, so it saves nothing.
            cx.unless_planning(|cx| {
                let dir = cx.run_dir.join("ai");
                std::fs::create_dir_all(&dir)?;
                let file = dir.join(format!("{}.md", name.replace(['/', ':', ' '], "_")));
                crate::files::write_atomic(&file, secrets::redact_global(&text).as_bytes())?;
                cx.note(format!("answer saved to {}", cx.ctx.rel(&file).display()));
                cx.facts().ai_answer = Some(secrets::redact_global(&text));
                Ok(())
            })?;
            Ok(Done::Passed)
        }
    }
}

/// Asks the tool. Ok(Err(reason)) when the step should be skipped (tool or key missing and not required).
fn ask(
    cx: &mut StepCx,
    cfg: &Config,
    tool: AiTool,
    prompt: &str,
    agent: Option<&str>,
    missing: Missing,
) -> Result<Result<String, String>> {
    let skip = |why: String| -> Result<Result<String, String>> {
        match missing {
            Missing::Skip => Ok(Err(why)),
            Missing::FailByFlag => bail!("{why} (--require-ai makes this a failure)"),
            Missing::Fail => bail!("{why}; nothing was asked"),
        }
    };
    // docker-ai is a plugin of the docker CLI.
    let program = tools::def(tool.tool()).program;
    // A plan shows the tool's command whether or not it is installed here.
    if let Ran::Done(true) = cx.for_real(|| Ok(tools::locate(&cx.ctx.local_bin(), program).is_none()))? {
        let def = tools::hint(tools::def(tool.tool()));
        return skip(format!("{} is not installed: {def}", tool.tool_name()));
    }
    let prompt = secrets::redact_global(prompt);
    let limit = Duration::from_secs(300);
    let out = match tool {
        AiTool::KubectlAi => {
            let k = &cfg.ai.kubectl_ai;
            if let Ran::Done(true) = cx.for_real(|| Ok(std::env::var(&k.api_key_env).map_or(true, |v| v.is_empty())))? {
                return skip(format!(
                    "{} is not set: kubectl-ai needs the {} provider's API key",
                    k.api_key_env, k.llm_provider
                ));
            }
            let kubeconfig = kubeconfig_for(cx, cfg)?;
            let provider = &k.llm_provider;
            let model: Vec<String> = k.model.iter().flat_map(|m| ["--model".to_string(), m.clone()]).collect();
            let e = Exec::from(cmd!(
                cx.sh,
                "kubectl-ai --quiet --llm-provider {provider} {model...} --kubeconfig {kubeconfig} {prompt}"
            ))
            .timeout(limit);
            cx.ask(e)?
        }
        AiTool::Kagent => {
            let ka = &cfg.ai.kagent;
            let agent = agent.unwrap_or(&ka.agent);
            let ns = &ka.namespace;
            // kagent has no context flag: when its controller URL does not answer it port-forwards with kubectl on
            // the kubeconfig's current context (kagent `go/core/cli/internal/cli/agent/utils.go:51-79`). The
            // minified kubeconfig makes that context the cluster's, whatever the user's current context is.
            let kubeconfig = kubeconfig_for(cx, cfg)?;
            let e = Exec::from(
                cmd!(cx.sh, "kagent invoke --agent {agent} --task {prompt} -n {ns}").env("KUBECONFIG", &kubeconfig),
            )
            .timeout(limit);
            cx.ask(e)?
        }
        AiTool::DockerAi => {
            let e = Exec::from(cmd!(cx.sh, "docker ai {prompt}")).timeout(limit);
            let out = cx.ask(e)?;
            if matches!(&out, Ran::Done(out) if plugin_missing(out)) {
                return skip("Docker AI (Gordon) is not available: it needs Docker Desktop with Gordon enabled".into());
            }
            out
        }
    };
    let Ran::Done(out) = out else { return Ok(Ok(String::new())) };
    judge(tool, &out).map(Ok)
}

/// docker 28: `docker: unknown command: docker ai`; older: `docker: 'ai' is not a docker command.`
fn plugin_missing(out: &Output) -> bool {
    !out.success()
        && (out.stderr.contains("is not a docker command") || out.stderr.contains("unknown command: docker ai"))
}

/// The answer, or why the tool failed, from its exit code, stderr and what it printed.
pub fn judge(tool: AiTool, out: &Output) -> Result<String> {
    let stdout = out.stdout.trim();
    let stderr = out.stderr.trim();
    if !out.success() {
        if stderr.contains("RunOnce mode cannot handle permission requests") {
            // kubectl-ai `pkg/agent/conversation.go:722-735`: a command it cannot prove read-only ends a --quiet run.
            // The xtask does not pass --skip-permissions, so an unattended answer can never change the cluster.
            bail!(
                "kubectl-ai wanted to run commands it cannot prove read-only, which an unattended run does not allow: \
                 ask a read-only question, or run kubectl-ai yourself to approve them.\n{}",
                out.tail(5)
            );
        }
        bail!("{} failed ({}): {}", tool.tool_name(), out.ending(), out.tail(5));
    }
    // kagent reports every failure on stderr and still exits 0.
    let errorish = stderr.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("error") || l.contains(" error:") || l.contains("failed to")
    });
    if stdout.is_empty() {
        bail!(
            "{} printed no answer{}",
            tool.tool_name(),
            if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
        );
    }
    if tool == AiTool::Kagent && errorish {
        bail!("kagent reported an error (its exit code was 0): {}", crate::pipeline::exec::tail_lines(stderr, 5));
    }
    if tool == AiTool::Kagent {
        if let Some(answer) = a2a_answer(stdout)? {
            return Ok(answer);
        }
    }
    // kubectl-ai writes its tool-call lines with raw ANSI colours on stdout, unconditionally (kubectl-ai
    // `pkg/ui/terminal.go:263-268,450-467`): the saved answer is plain text.
    Ok(strip_ansi(stdout))
}

/// Text without ANSI escape sequences (`ESC [ ... final byte`, `ESC ] ... BEL`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                for c in chars.by_ref() {
                    if c == '\u{7}' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The A2A task `kagent invoke` prints, as far as the answer needs it: its status (state and message) and the
/// parts of its artifacts (trpc-a2a-go `protocol/types.go` Task; a2a-go `a2a/core.go` for A2A v1.0).
#[derive(Debug, Default, serde::Deserialize)]
struct A2aTask {
    #[serde(default)]
    status: Option<A2aStatus>,
    #[serde(default)]
    artifacts: Option<Vec<A2aParts>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct A2aStatus {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    message: Option<A2aParts>,
}

/// A message or an artifact: its parts, of which the text ones are read.
#[derive(Debug, Default, serde::Deserialize)]
struct A2aParts {
    #[serde(default)]
    parts: Option<Vec<A2aPart>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct A2aPart {
    #[serde(default)]
    text: Option<String>,
}

/// `kagent invoke` prints the A2A task as JSON: the answer is the text parts of its artifacts, and a task whose
/// state is failed (or rejected, canceled) is a failure whatever the exit code. None when it printed no task.
fn a2a_answer(stdout: &str) -> Result<Option<String>> {
    let Some(task) = stdout.lines().rev().find_map(|l| serde_json::from_str::<A2aTask>(l.trim()).ok()) else {
        return Ok(None);
    };
    // Released CLIs print trpc-a2a-go v0.2 states (`failed`, protocol/types.go:30-37); kagent main (e4c1078ed,
    // A2A v1.0) prints a2a-go's `TASK_STATE_FAILED` (a2a/core.go TaskState).
    let status = task.status.unwrap_or_default();
    let raw = status.state.as_deref().unwrap_or("");
    let state = raw.strip_prefix("TASK_STATE_").unwrap_or(raw).to_ascii_lowercase();
    if matches!(state.as_str(), "failed" | "rejected" | "canceled" | "cancelled") {
        let first = status.message.and_then(|m| m.parts.unwrap_or_default().into_iter().next());
        let why = first.and_then(|p| p.text).unwrap_or_else(|| state.clone());
        bail!("kagent's task ended {state}: {why}");
    }
    let texts: Vec<String> = task
        .artifacts
        .unwrap_or_default()
        .into_iter()
        .flat_map(|a| a.parts.unwrap_or_default())
        .filter_map(|p| p.text)
        .collect();
    Ok((!texts.is_empty()).then(|| texts.join("\n")))
}

/// A kubeconfig holding only the cluster's context, so the tool cannot act on another cluster. It carries
/// credentials: it lives in the run folder (under target/, git-ignored) with mode 0600.
fn kubeconfig_for(cx: &mut StepCx, cfg: &Config) -> Result<String> {
    let context = cfg.kube_context();
    let path = cx.run_dir.join("kubeconfig");
    if let Ran::Done(out) = cx.query(crate::kube::kubeconfig_cmd(&cx.sh, context))? {
        crate::files::write_atomic(&path, out.stdout.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(cx.ctx.rel(&path).display().to_string())
}

/// `ai.on_failure`: sends the collected diagnostics, secrets stripped, to the configured tool.
pub fn diagnose_failure(cx: &mut StepCx, cfg: &Config, tool: AiTool) -> Result<Done> {
    let summary = std::fs::read_to_string(cx.run_dir.join("diagnostics").join("summary.md")).unwrap_or_default();
    let summary: String = secrets::redact_global(&summary).chars().take(6000).collect();
    let prompt = format!(
        "The deployment of Helm release {} in namespace {} failed. Here are the collected diagnostics. Name the root \
         cause and the fix, briefly.\n\n{summary}",
        cfg.release.name, cfg.release.namespace
    );
    let answer = ask(cx, cfg, tool, &prompt, None, Missing::Skip)?;
    finish(cx, "diagnosis", answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stdout: &str, stderr: &str) -> Output {
        Output { code: Some(code), stdout: stdout.into(), stderr: stderr.into(), ..Default::default() }
    }

    #[test]
    fn judges_by_behaviour_not_only_exit_code() {
        assert!(judge(AiTool::Kagent, &out(0, "", "Error: failed to invoke agent: connection refused")).is_err());
        assert!(judge(AiTool::Kagent, &out(0, "The pod crashes because ...", "")).is_ok());
        assert!(judge(AiTool::KubectlAi, &out(1, "", "Error: creating llm client: GEMINI_API_KEY")).is_err());
        assert_eq!(judge(AiTool::KubectlAi, &out(0, "answer\n", "")).unwrap(), "answer");
        assert!(plugin_missing(&out(1, "", "docker: unknown command: docker ai\n")));
    }

    #[test]
    fn reads_both_a2a_state_spellings() {
        let v02 =
            r#"{"kind":"task","status":{"state":"failed","message":{"parts":[{"kind":"text","text":"model down"}]}}}"#;
        let v1 = r#"{"status":{"state":"TASK_STATE_FAILED","message":{"parts":[{"text":"model down"}]}}}"#;
        for line in [v02, v1] {
            let e = judge(AiTool::Kagent, &out(0, line, "")).unwrap_err().to_string();
            assert!(e.contains("model down"), "{e}");
        }
        let ok = r#"{"status":{"state":"TASK_STATE_COMPLETED"},"artifacts":[{"parts":[{"text":"fine"}]}]}"#;
        assert_eq!(judge(AiTool::Kagent, &out(0, ok, "")).unwrap(), "fine");
    }

    #[test]
    fn strips_kubectl_ai_colours() {
        let text = "\u{1b}[32m  Running: kubectl get pods\u{1b}[0m\nThe pods are fine.";
        assert_eq!(
            judge(AiTool::KubectlAi, &out(0, text, "")).unwrap(),
            "  Running: kubectl get pods\nThe pods are fine."
        );
    }
}
