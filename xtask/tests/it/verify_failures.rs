//! `verify` when the cluster is not what it expects: a missing namespace, a missing kube context, an API server
//! that does not answer, an RBAC denial. Each fails with a message naming the cause; none passes. And the ingress
//! check, which goes through a port-forward to minikube's ingress controller instead of the node's IP (unreachable
//! wherever minikube tunnels: Docker Desktop on macOS/Windows, WSL2, ...).

use crate::support;

use serde_json::json;
use support::app::AppServer;
use support::demo::project;
use support::Sandbox;
use support::{report, step};

fn deployed() -> Sandbox {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    sb
}

#[track_caller]
fn fails_naming(sb: &Sandbox, args: &[&str], cause: &str) {
    let out = sb.xtask(args).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains(cause);
    let r = report(&sb.project);
    let passed: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "passed" && s["id"].as_str().unwrap().starts_with("verify:"))
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(passed.is_empty(), "passed although the cluster is not there: {passed:?}\n{out}");
}

#[test]
fn a_missing_namespace_fails_verify_instead_of_passing_with_zero_pods() {
    let sb = deployed();
    sb.tool("kubectl", &["--context", "demo", "delete", "namespace", "demo"]).run().assert_success();
    // The real API answers an empty list for a missing namespace (kubernetes/kubernetes#75537): so does the fake.
    let list = sb.tool("kubectl", &["--context", "demo", "get", "pods", "-n", "demo", "-o", "json"]).run();
    assert_eq!(list.assert_success().json()["items"], json!([]));
    fails_naming(&sb, &["verify"], "namespace `demo` does not exist on context `demo`");
}

#[test]
fn a_missing_kube_context_fails_verify_naming_it() {
    let sb = deployed();
    // Deleting the profile removes its context from the kubeconfig.
    sb.tool("minikube", &["delete", "-p", "demo"]).run().assert_success();
    fails_naming(&sb, &["verify"], "the kube context `demo` does not exist");
    // Without the rollout check the next check says it in kubectl's words too.
    fails_naming(&sb, &["verify", "--only", "health"], "context was not found for specified context: demo");
}

#[test]
fn an_api_server_that_does_not_answer_fails_verify_naming_it() {
    let sb = deployed();
    sb.tool("minikube", &["stop", "-p", "demo"]).run().assert_success();
    fails_naming(&sb, &["verify"], "the API server of context `demo` does not answer");
}

#[test]
fn an_rbac_denial_fails_verify_naming_it() {
    // The API server's Forbidden status as kubectl prints it (k8s.io/apiserver
    // `pkg/endpoints/handlers/responsewriters/errors.go` forbiddenMessage).
    let sb = deployed().with_scenario(json!({"rules": [{
        "tool": "kubectl", "match": "--context demo get *", "exit": 1,
        "stderr": "Error from server (Forbidden): namespaces \"demo\" is forbidden: User \"dev\" cannot get resource \"namespaces\" in API group \"\" in the namespace \"demo\"\n"
    }]}));
    fails_naming(&sb, &["verify"], "RBAC denies it");
}

#[test]
fn a_context_switched_elsewhere_does_not_change_which_cluster_verify_reads() {
    // `--context demo` picks the cluster per call: another current context does not matter (client-go overrides).
    let app = AppServer::start();
    let sb = deployed().with_env("FAKE_FORWARD_TO", &app.addr);
    sb.tool("kubectl", &["config", "use-context", "elsewhere"]).run().assert_success();
    sb.xtask(&["verify", "--only", "rollout"]).run().assert_success();
}

fn ingress_list() -> String {
    json!({"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "demo", "namespace": "demo"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "demo.local", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "demo-web", "port": {"number": 8080}}}}]}}]}
    }]})
    .to_string()
}

#[test]
fn the_ingress_check_goes_through_the_ingress_controller_not_the_node_ip() {
    // Docker Desktop on macOS/Windows and WSL2: minikube's NeedsPortForward hosts, where the node IP is unreachable.
    // The check has no per-host branch, so one path covers native macOS/Windows too.
    for (k, v) in [
        ("WSL_DISTRO_NAME", "Ubuntu"),
        ("FAKE_DOCKER_OS", "Docker Desktop"),
        ("FAKE_DOCKER_ROOTLESS", "1"),
        ("DOCKER_HOST", "tcp://192.0.2.10:2376"),
    ] {
        let app = AppServer::start();
        let sb = deployed().seed_state("kube/ingress.json", ingress_list()).with_env("FAKE_FORWARD_TO", &app.addr);
        let out = sb.xtask(&["verify", "--only", "ingress"]).env(k, v).run();
        out.assert_success();
        let r = report(&sb.project);
        assert_eq!(step(&r, "verify:ingress")["status"], "passed");
        let cmds = sb.commands();
        assert!(
            cmds.contains(
                &"kubectl --context demo port-forward -n ingress-nginx svc/ingress-nginx-controller :80".into()
            ),
            "{cmds:#?}"
        );
        assert!(!cmds.iter().any(|c| c.starts_with("minikube ip")), "no traffic to a node IP: {cmds:#?}");
    }
}

#[test]
fn the_ingress_check_names_a_missing_ingress_addon() {
    let app = AppServer::start();
    let sb = project().with_file(
        "xtask.yaml",
        support::demo::config().replace("addons: [ingress, metrics-server]", "addons: [metrics-server]"),
    );
    sb.xtask(&["up"]).run().assert_success();
    let sb = sb.seed_state("kube/ingress.json", ingress_list()).with_env("FAKE_FORWARD_TO", &app.addr);
    let out = sb.xtask(&["verify", "--only", "ingress"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("services \"ingress-nginx-controller\" not found");
}
