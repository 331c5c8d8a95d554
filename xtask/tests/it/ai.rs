//! The AIOps commands and steps on the fakes: the arguments each tool gets, answers saved in the run folder, skips
//! with a reason when a tool or key is missing (failures with --require-ai), and a tool's failure reported as a
//! failure even when it exits 0 (kagent).

use crate::support;

use support::demo::{config, project};
use support::latest_run;
use support::Sandbox;

fn with_config(extra: &str) -> Sandbox {
    project().with_file("xtask.yaml", format!("{}{extra}", config()))
}

#[test]
fn ask_runs_kubectl_ai_on_the_clusters_context_and_saves_the_answer() {
    let sb =
        project().with_env("GEMINI_API_KEY", "test-key").with_env("FAKE_AI_ANSWER", "The todo-api pods are healthy.");
    let out = sb.xtask(&["ai", "ask", "why is todo-api restarting?"]).run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), "The todo-api pods are healthy.");
    let run = latest_run(&sb.project);
    let rel = run.strip_prefix(&sb.project).unwrap().display().to_string();
    let cmds = sb.commands();
    assert!(cmds.contains(&"kubectl config view --minify --flatten --context demo".to_string()), "{cmds:?}");
    assert!(
        cmds.contains(&format!(
            "kubectl-ai --quiet --llm-provider gemini --kubeconfig {rel}/kubeconfig why is todo-api restarting?"
        )),
        "{cmds:?}"
    );
    assert_eq!(std::fs::read_to_string(run.join("ai/answer.md")).unwrap().trim(), "The todo-api pods are healthy.");
    // The kubeconfig holds credentials: readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(run.join("kubeconfig")).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_missing_key_fails_an_explicit_question_with_the_reason() {
    let sb = project();
    let out = sb.xtask(&["ai", "ask", "hello"]).run();
    out.assert_code(1);
    out.stderr_contains(
        "ms) — GEMINI_API_KEY is not set: kubectl-ai needs the gemini provider's API key; nothing \
         was asked",
    );
    out.stderr_contains("  FAILED ai:ask (").stderr_contains("ai ask: failed");
    assert!(sb.commands_of("kubectl-ai").is_empty());
    // The flag is still accepted and changes nothing.
    sb.xtask(&["ai", "--require-ai", "ask", "hello"]).run().assert_code(1);
}

#[test]
fn a_missing_tool_fails_an_explicit_question_with_the_install_hint() {
    let sb = project().with_env("GEMINI_API_KEY", "k");
    std::fs::remove_file(sb.bin_dir.join("kubectl-ai")).unwrap();
    let out = sb.xtask(&["ai", "ask", "hello"]).env("PATH", &sb.bin_dir).run();
    out.assert_code(1);
    out.stderr_contains(
        "ms) — kubectl-ai is not installed: `curl -sSL \
         https://raw.githubusercontent.com/GoogleCloudPlatform/kubectl-ai/main/install.sh | bash` or `kubectl krew \
         install ai`; nothing was asked",
    );
}

#[test]
fn agent_invokes_kagent_and_judges_it_by_what_it_prints() {
    let sb = project().with_env("FAKE_AI_ANSWER", "Scale the backend to 3 replicas.");
    let out = sb.xtask(&["ai", "agent", "check the todo namespace", "--agent", "helm-agent"]).run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), "Scale the backend to 3 replicas.");
    assert!(sb
        .commands()
        .contains(&"kagent invoke --agent helm-agent --task check the todo namespace -n kagent".to_string()));
    // kagent exits 0 when its controller is unreachable; the step must still fail.
    let sb = project().with_env("FAKE_KAGENT_UNREACHABLE", "1");
    let out = sb.xtask(&["ai", "agent", "check"]).run();
    out.assert_code(1);
    out.stderr_contains("kagent");
    let invoke = sb.calls().into_iter().find(|c| c.tool == "kagent").unwrap();
    assert_eq!(invoke.exit, Some(0), "the fake reproduces kagent's exit 0 on failure");
    assert!(sb.commands().contains(&"kagent invoke --agent k8s-agent --task check -n kagent".to_string()));
}

#[test]
fn docker_ai_fails_without_the_plugin_and_is_asked_with_it() {
    let sb = project();
    let out = sb.xtask(&["ai", "docker", "make my image smaller"]).run();
    out.assert_code(1);
    out.stderr_contains("Docker AI (Gordon) is not available");
    let sb = project().with_env("FAKE_DOCKER_AI", "1").with_env("FAKE_AI_ANSWER", "Use a scratch base.");
    let out = sb.xtask(&["ai", "docker", "make my image smaller"]).run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), "Use a scratch base.");
    assert!(sb.commands().contains(&"docker ai make my image smaller".to_string()));
}

#[test]
fn configured_ai_steps_run_after_deploy_and_save_their_answers() {
    let sb = with_config(
        "ai:\n  steps:\n    - name: review\n      tool: kubectl-ai\n      prompt: Review the todo namespace\n",
    )
    .with_env("GEMINI_API_KEY", "k")
    .with_env("FAKE_AI_ANSWER", "All good.");
    sb.xtask(&["up"]).run().assert_success();
    let run = latest_run(&sb.project);
    assert_eq!(std::fs::read_to_string(run.join("ai/review.md")).unwrap().trim(), "All good.");
    let cmds = sb.commands();
    let deploy = cmds.iter().position(|c| c.starts_with("helm test")).unwrap();
    let ask = cmds.iter().position(|c| c.starts_with("kubectl-ai")).unwrap();
    assert!(ask > deploy, "the AI step runs after the release is deployed and tested");
}

#[test]
fn on_failure_sends_the_diagnostics_without_secrets() {
    let sb = with_config("ai:\n  on_failure: kubectl-ai\n")
        .with_env("GEMINI_API_KEY", "k")
        .with_env("FAKE_AI_ANSWER", "The image todo-api:missing was never loaded into minikube.")
        .with_scenario(r#"{"rules":[{"tool":"helm","match":"upgrade *","stderr":"Error: UPGRADE FAILED: release demo failed, and has been rolled back due to atomic being set: timed out waiting for the condition\n","exit":1,"then_state":{"helm_release_status":"failed"}}]}"#)
        .seed_state_from_fixture("kube/pods.json", "kubectl/get-pods.synthesized.json");
    let out = sb.xtask(&["up"]).run();
    out.assert_code(1);
    let run = latest_run(&sb.project);
    let answer = std::fs::read_to_string(run.join("ai/diagnosis.md")).unwrap();
    assert!(answer.contains("never loaded into minikube"));
    let ask = sb.calls().into_iter().find(|c| c.tool == "kubectl-ai").expect("kubectl-ai was asked");
    let prompt = ask.args.last().unwrap();
    assert!(prompt.contains("CrashLoopBackOff") && prompt.contains("ImagePullBackOff"), "{prompt}");
    assert!(!prompt.contains("pw-for-tests-123"), "the secret reached the AI tool");
}

#[test]
fn kagent_reaches_the_configured_cluster_whatever_the_current_context() {
    // kagent has no context flag and port-forwards on the kubeconfig's current context: the xtask hands it a
    // kubeconfig holding only the cluster's context.
    let sb = project().with_env("FAKE_AI_ANSWER", "Healthy.");
    sb.xtask(&["up"]).run().assert_success();
    sb.tool("kubectl", &["config", "use-context", "elsewhere"]).run().assert_success();
    let out = sb.xtask(&["ai", "agent", "check"]).run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), "Healthy.");
    let invoke = sb.calls().into_iter().find(|c| c.tool == "kagent").unwrap();
    assert!(invoke.env.get("KUBECONFIG").is_some_and(|k| k.ends_with("/kubeconfig")), "{:?}", invoke.env);
}

#[test]
fn kubectl_ai_asking_for_permission_fails_with_what_to_do() {
    // kubectl-ai ends a --quiet run when a tool call is not read-only (conversation.go:722-735); the xtask never
    // passes --skip-permissions.
    let sb = project()
        .with_env("GEMINI_API_KEY", "k")
        .with_env("FAKE_KUBECTL_AI_WANTS", "bash -c 'kubectl get pods | grep todo'");
    let out = sb.xtask(&["ai", "ask", "which pods restart?"]).run();
    out.assert_code(1);
    out.stderr_contains("kubectl-ai wanted to run commands it cannot prove read-only");
    let call = sb.calls().into_iter().find(|c| c.tool == "kubectl-ai").unwrap();
    assert!(!call.args.contains(&"--skip-permissions".to_string()));
}
