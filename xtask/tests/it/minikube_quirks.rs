//! Where real minikube reports success although something failed, or keeps quiet about a setting it ignores:
//! a node-side `image load` failure (exit 0), an addon that fails during `start` (exit 0), cpus/memory changes on
//! a stopped profile (a warning only), and `service --url` for a Service that does not exist (exit 115).

use crate::support;

use support::demo::{config, project};

#[test]
fn a_silently_failed_image_load_fails_the_step_and_is_not_cached() {
    let sb = project().with_env("FAKE_MINIKUBE_IMAGE_LOAD", "silent-fail");
    let out = sb.xtask(&["up"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("exited 0 but demo-api:1.0.0-").stderr_contains("kubernetes/minikube#23471");
    assert!(sb.commands().iter().any(|c| c == "minikube image ls -p demo --format short"));
    // Not cached: the next run loads again and passes.
    let sb = sb.with_env("FAKE_MINIKUBE_IMAGE_LOAD", "ok");
    let before = sb.calls().len();
    sb.xtask(&["up"]).run().assert_success();
    let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    assert!(again.iter().any(|c| c.starts_with("minikube image load demo-api:1.0.0-")), "{again:#?}");
}

#[test]
fn an_addon_that_fails_during_start_fails_up_with_minikubes_reason() {
    let sb = project().with_env("FAKE_MINIKUBE_ADDON_FAIL", "ingress");
    let out = sb.xtask(&["up"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("did not enable every addon of profile `demo`");
    assert!(sb.commands().contains(&"minikube addons enable ingress -p demo".to_string()));
    let r = support::report(&sb.project);
    assert_eq!(support::step(&r, "cluster:start")["status"], "failed");
}

#[test]
fn a_stopped_cluster_with_other_resources_is_not_started_with_them_silently() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    sb.xtask(&["teardown"]).run().assert_success();
    std::fs::write(sb.project_path("xtask.yaml"), config().replace("cpus: 2", "cpus: 4")).unwrap();
    let out = sb.xtask(&["up"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("the stopped cluster `demo` differs from the config: cpus is 2, the config says 4");
    assert!(!sb.commands().iter().skip(1).any(|c| c.starts_with("minikube start") && c.contains("--cpus 4")));
}

#[test]
fn a_missing_service_reports_minikubes_words() {
    let sb = project().seed_state("kube/services.json", r#"{"apiVersion":"v1","kind":"List","items":[]}"#);
    let out = sb.xtask(&["up"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("SVC_NOT_FOUND: Service 'demo-web' was not found in 'demo' namespace");
}

#[test]
fn the_fake_answers_like_minikube_and_kubectl_on_a_stopped_host_and_per_version() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    // kubectl 1.34 names the namespace of a deleted object; 1.28-1.33 do not (delete.go:509-510 at 1.34.0).
    for (version, line) in [
        ("1.28.0", "pod \"p\" deleted\n"),
        ("1.33.0", "pod \"p\" deleted\n"),
        ("1.34.0", "pod \"p\" deleted from demo namespace\n"),
    ] {
        let out = sb
            .tool("kubectl", &["--context", "demo", "delete", "pod", "p", "-n", "demo"])
            .env("FAKE_KUBECTL_VERSION", version)
            .run();
        assert_eq!(out.assert_success().stdout, line, "kubectl {version}");
    }
    sb.tool("minikube", &["stop", "-p", "demo"]).run().assert_success();
    // A stopped host: image load is skipped and addons enable is saved for the next start, both exit 0.
    sb.tool("minikube", &["image", "load", "x:1", "-p", "demo"]).run().assert_success();
    sb.tool("minikube", &["addons", "enable", "dashboard", "-p", "demo"]).run().assert_success();
    // Commands that need the host still answer 83 (mustload.Running).
    sb.tool("minikube", &["ip", "-p", "demo"]).run().assert_code(83);
}

#[test]
fn a_misconfigured_kubeconfig_is_named_as_such() {
    // Host and apiserver Running, Kubeconfig Misconfigured: exit bit 4 (status.go exitCode).
    let status = r#"{"Name":"demo","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Misconfigured","Worker":false}"#;
    let sb = project().with_scenario(serde_json::json!({"rules": [
        {"tool": "minikube", "match": "status -p demo -o json", "stdout": status, "exit": 4, "times": 1}
    ]}));
    sb.xtask(&["up"]).run().assert_success().stderr_contains("its kubeconfig entry is misconfigured");
}

#[test]
fn up_prints_no_dead_tunnel_url_where_minikube_tunnels() {
    // WSL2 and a remote DOCKER_HOST are NeedsPortForward hosts (driver.go:215-235): the URL `minikube service --url`
    // prints works only while it runs, so `up` names the command instead of printing a URL whose tunnel it killed.
    for (k, v) in [("WSL_DISTRO_NAME", "Ubuntu"), ("DOCKER_HOST", "tcp://192.0.2.10:2376")] {
        let sb = project();
        let out = sb.xtask(&["up"]).env(k, v).run();
        out.assert_success();
        assert_eq!(
            out.stdout.trim(),
            "run `minikube service demo-web -n demo -p demo` (keeps a tunnel open while it runs)"
        );
        assert!(!sb.commands().iter().any(|c| c.starts_with("minikube service")), "{k}");
    }
}

#[test]
fn docker_desktop_for_linux_and_rootless_docker_tunnel_too() {
    // minikube reads `docker system info`: OperatingSystem "Docker Desktop" or a name=rootless security option.
    for (k, v) in [("FAKE_DOCKER_OS", "Docker Desktop"), ("FAKE_DOCKER_ROOTLESS", "1")] {
        let sb = project().with_env(k, v);
        let out = sb.xtask(&["up"]).run();
        out.assert_success();
        assert!(out.stdout.starts_with("run `minikube service demo-web"), "{k}: {out}");
    }
    // A plain Linux engine: the URL works directly.
    let sb = project();
    assert_eq!(sb.xtask(&["up"]).run().assert_success().stdout.trim(), "http://127.0.0.1:30080");
}

#[test]
fn the_fake_refuses_a_driver_change_and_a_downgrade_as_minikube_does() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    sb.tool("minikube", &["start", "-p", "demo", "--driver", "podman"])
        .run()
        .assert_code(81)
        .stderr_contains("GUEST_DRIVER_MISMATCH");
    sb.tool("minikube", &["start", "-p", "demo", "--kubernetes-version", "v1.30.0"])
        .run()
        .assert_code(106)
        .stderr_contains("Unable to safely downgrade existing Kubernetes v1.31.0 cluster to v1.30.0");
    sb.tool("minikube", &["start", "-p", "demo", "--cpus", "4"])
        .run()
        .assert_success()
        .stderr_contains("You cannot change the CPUs for an existing minikube cluster");
}
