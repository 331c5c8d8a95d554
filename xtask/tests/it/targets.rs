//! Deploy targets on the fakes: `up`/`teardown` on kind and k3d (images loaded the provider's way, only the named
//! cluster deleted), an existing cluster behind its guard rails (named target, `--yes`, the recorded API server),
//! values-prod.yaml deployed through a registry target and verified with that target's checks, and the plan.

use crate::support;

use support::app::AppServer;
use support::demo;
use support::{report, step, Sandbox};

const TARGETS: &str = r#"
targets:
  kind:
    cluster: { provider: kind, name: demo, kubernetes_version: v1.31.0, nodes: 2, addons: [ingress-nginx, metrics-server] }
  k3d:
    cluster: { provider: k3d, name: demo, kubernetes_version: v1.31.0, nodes: 2, addons: [ingress-nginx, metrics-server] }
  prod:
    cluster: { provider: existing, context: prod-ctx, server: "https://prod.example.com:6443" }
    registry: registry.example.com/demo
    namespace: demo-prod
    values: [chart/values-prod.yaml]
    verify: [rollout, health, roundtrip, hpa]
"#;

const PROD_VALUES: &str = "# Production-like: autoscaling on.\nbackend:\n  autoscaling:\n    enabled: true\n";

/// The demo project with the targets above and a kube context `prod-ctx` for the existing cluster.
fn project() -> Sandbox {
    demo::project()
        .with_file("xtask.yaml", format!("{}{TARGETS}", demo::config()))
        .with_file("chart/values-prod.yaml", PROD_VALUES)
        .seed_state(
            "kube.json",
            r#"{"contexts": {"prod-ctx": "https://prod.example.com:6443"}, "current_context": "prod-ctx"}"#,
        )
}

fn commands_of(sb: &Sandbox, tools: &[&str]) -> Vec<String> {
    sb.calls().into_iter().filter(|c| tools.contains(&c.tool.as_str())).map(|c| c.command()).collect()
}

/// The id suffix (first 12 hex digits) of a fake-built image, from the fake docker's state.
fn short_id(sb: &Sandbox, tag: &str) -> String {
    let st: serde_json::Value = serde_json::from_str(&sb.state("docker.json").expect("docker state")).unwrap();
    let id = st["tags"][tag].as_str().unwrap_or_else(|| panic!("{tag} was not built: {st:#}"));
    id.trim_start_matches("sha256:")[..12].to_string()
}

#[test]
fn up_on_kind_creates_the_cluster_loads_the_images_and_deploys_to_its_context() {
    let sb = project();
    let out = sb.xtask(&["up", "--target", "kind"]).run();
    out.assert_success();
    assert!(
        out.stderr.starts_with("target: kind (kind cluster `demo`, context kind-demo; images side-loaded)\n"),
        "the target comes first:\n{}",
        out.stderr
    );
    let (api, web) = (short_id(&sb, "demo-api:1.0.0"), short_id(&sb, "demo-web:1.0.0"));
    let mut kind = commands_of(&sb, &["kind"]);
    // The two loads run in parallel: compare them sorted.
    kind[3..].sort();
    assert_eq!(
        kind,
        [
            "kind version".to_string(),
            "kind get clusters".into(),
            "kind create cluster --name demo --config target/xtask/kind-demo.yaml --image kindest/node:v1.31.0 --wait 5m"
                .into(),
            format!("kind load docker-image demo-api:1.0.0-{api} --name demo"),
            format!("kind load docker-image demo-web:1.0.0-{web} --name demo"),
        ]
    );
    let config = std::fs::read_to_string(sb.project_path("target/xtask/kind-demo.yaml")).unwrap();
    assert_eq!(config.matches("- role: worker").count(), 1, "2 nodes = control plane + 1 worker:\n{config}");
    assert!(config.contains("ingress-ready=true"), "ingress-nginx needs the node label:\n{config}");
    let helm = commands_of(&sb, &["helm"]);
    for addon in [
        "helm upgrade --install ingress-nginx ingress-nginx --repo https://kubernetes.github.io/ingress-nginx -n ingress-nginx --create-namespace --kube-context kind-demo --wait --timeout 300s",
        "helm upgrade --install metrics-server metrics-server --repo https://kubernetes-sigs.github.io/metrics-server/ -n kube-system --create-namespace --kube-context kind-demo --wait --timeout 300s --set args={--kubelet-insecure-tls}",
    ] {
        assert!(helm.iter().any(|c| c == addon), "missing `{addon}` in:\n{}", helm.join("\n"));
    }
    assert!(
        helm.iter().any(|c| c.starts_with("helm upgrade demo chart -n demo --kube-context kind-demo --install")
            && c.contains(&format!("--set backend.image.tag=1.0.0-{api}"))),
        "the release goes to kind's context with the loaded tags:\n{}",
        helm.join("\n")
    );
    assert!(commands_of(&sb, &["minikube"]).is_empty(), "no minikube call on a kind target");
    let r = report(&sb.project);
    assert_eq!(
        r["target"],
        serde_json::json!({"name": "kind", "provider": "kind", "context": "kind-demo", "images": "side-load", "protected": false})
    );

    // Nothing changed: no create, no load, no upgrade.
    let before = sb.calls().len();
    sb.xtask(&["up", "--target", "kind"]).run().assert_success();
    let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    assert!(
        !again
            .iter()
            .any(|c| c.starts_with("kind create") || c.starts_with("kind load") || c.starts_with("helm upgrade")),
        "a no-op rerun created, loaded or upgraded:\n{}",
        again.join("\n")
    );
}

#[test]
fn up_on_k3d_imports_the_images_and_teardown_deletes_only_the_named_cluster() {
    let sb = project();
    sb.xtask(&["up", "--target", "k3d"]).run().assert_success();
    let (api, web) = (short_id(&sb, "demo-api:1.0.0"), short_id(&sb, "demo-web:1.0.0"));
    let mut k3d = commands_of(&sb, &["k3d"]);
    k3d[3..].sort();
    assert_eq!(
        k3d,
        [
            "k3d version".to_string(),
            "k3d cluster list -o json".into(),
            "k3d cluster create demo --servers 1 --agents 1 --image rancher/k3s:v1.31.0-k3s1 --k3s-arg --disable=traefik@server:* --wait".into(),
            format!("k3d image import demo-api:1.0.0-{api} -c demo"),
            format!("k3d image import demo-web:1.0.0-{web} -c demo"),
        ]
    );
    let helm = commands_of(&sb, &["helm"]);
    assert!(helm.iter().any(|c| c.starts_with("helm upgrade --install ingress-nginx ingress-nginx")), "{helm:?}");
    assert!(!helm.iter().any(|c| c.contains("metrics-server")), "k3s ships metrics-server: {helm:?}");

    // A kind cluster beside it, then `teardown --target kind --delete`: only kind's cluster goes.
    sb.xtask(&["up", "--target", "kind"]).run().assert_success();
    let before = sb.calls().len();
    let out = sb.xtask(&["teardown", "--target", "kind", "--delete"]).run();
    out.assert_success();
    let cmds: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    assert!(cmds.contains(&"kind delete cluster --name demo".to_string()), "{cmds:#?}");
    assert!(
        cmds.iter().all(|c| !c.starts_with("k3d") && !c.starts_with("minikube")),
        "teardown --target kind touched another cluster: {cmds:#?}"
    );
    assert!(cmds.iter().any(|c| c.starts_with("helm uninstall demo -n demo --kube-context kind-demo")), "{cmds:#?}");
    assert_eq!(sb.tool("kind", &["get", "clusters"]).run().stdout, "");
    let k3d_list = sb.tool("k3d", &["cluster", "list", "-o", "json"]).run().json();
    assert_eq!(k3d_list[0]["name"], "demo", "the k3d cluster is still there");
    assert_eq!(k3d_list[0]["serversRunning"], 1);

    // The default teardown of k3d stops it; kind has no stop.
    sb.xtask(&["teardown", "--target", "k3d"]).run().assert_success();
    assert_eq!(sb.tool("k3d", &["cluster", "list", "-o", "json"]).run().json()[0]["serversRunning"], 0);
}

#[test]
fn an_existing_cluster_needs_its_name_spelled_out_and_yes_in_ci() {
    let sb = project().with_file("xtask.yaml", format!("{}{TARGETS}default_target: prod\n", demo::config()));
    let out = sb.xtask(&["up"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains(
            "error: refusing to act on target `prod`: it is protected and was only the default target: name it with \
             `--target prod` to act on it"
        ),
        "{}",
        out.stderr
    );
    let out = sb.xtask(&["up", "--target", "prod"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains(
            "error: refusing to act on target `prod`: a protected target needs a confirmation: pass `--yes` (in CI \
             nothing can be asked)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        sb.calls().iter().all(|c| !matches!(c.tool.as_str(), "helm" | "kubectl" | "docker")),
        "a refused run must run nothing: {:#?}",
        sb.commands()
    );
}

#[test]
fn a_context_whose_server_changed_is_refused_with_both_servers_named() {
    let sb = project().seed_state(
        "kube.json",
        r#"{"contexts": {"prod-ctx": "https://elsewhere.example.net:443"}, "current_context": "prod-ctx"}"#,
    );
    let out = sb.xtask(&["verify", "--target", "prod", "--yes"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains(
            "error: refusing to act on target `prod`: kube context `prod-ctx` now points at \
             https://elsewhere.example.net:443, but the target's server is https://prod.example.com:6443 (from \
             xtask.yaml (targets.prod.cluster.server))."
        ),
        "{}",
        out.stderr
    );
    assert_eq!(sb.commands_of("kubectl"), ["kubectl config view --minify --context prod-ctx"]);
}

#[test]
fn a_server_not_in_the_config_is_recorded_at_the_first_run_and_checked_after() {
    let cfg = format!("{}{TARGETS}", demo::config()).replace(", server: \"https://prod.example.com:6443\"", "");
    let sb = project().with_file("xtask.yaml", cfg);
    let out = sb.xtask(&["rollback", "--target", "prod", "--yes"]).run();
    assert!(
        out.stderr
            .contains("guard: context `prod-ctx` points at https://prod.example.com:6443: recorded for later runs"),
        "{}",
        out.stderr
    );
    let record = std::fs::read_to_string(sb.project_path("target/xtask/targets/prod.json")).unwrap();
    assert!(record.contains("\"server\": \"https://prod.example.com:6443\""), "{record}");
    // The context is re-pointed: the next run refuses.
    let sb2 = sb.seed_state(
        "kube.json",
        r#"{"contexts": {"prod-ctx": "https://10.0.0.9:6443"}, "current_context": "prod-ctx"}"#,
    );
    let out = sb2.xtask(&["teardown", "--target", "prod", "--yes"]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("now points at https://10.0.0.9:6443, but the target's server is https://prod.example.com:6443 (from target/xtask/targets/prod.json, recorded at the first run)"), "{}", out.stderr);
}

/// The Services `verify` reads selectors from, in the prod namespace.
fn prod_services() -> String {
    let svc = |name: &str, component: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo-prod"},
               "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": component},
                        "ports": [{"port": 8080, "targetPort": "http"}]}})
    };
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [svc("demo-api", "backend"), svc("demo-web", "frontend")]})
        .to_string()
}

#[test]
fn values_prod_deploys_through_a_registry_target_by_digest_and_passes_its_checks() {
    let app = AppServer::start();
    let sb = project()
        .seed_state("kube/services.json", prod_services())
        .seed_state_from_fixture("kube/hpa.json", "kubectl/get-hpa.synthesized.json")
        .with_env("FAKE_FORWARD_TO", &app.addr);
    let out = sb.xtask(&["up", "--target", "prod", "--yes"]).run();
    out.assert_success();
    assert!(out.stderr.starts_with(
        "target: prod (existing cluster, context prod-ctx; images pushed to registry.example.com/demo and deployed by \
         digest, protected)\nguard: protected target named with `--target prod`\nguard: confirmed with --yes\nguard: \
         context `prod-ctx` points at https://prod.example.com:6443, as recorded\n"
    ), "{}", out.stderr);
    let digest = |image: &str| {
        let inspect = sb
            .tool("docker", &["image", "inspect", "--format", "{{json .RepoDigests}}", &format!("demo-{image}:1.0.0")])
            .run();
        let list: Vec<String> = serde_json::from_str(inspect.stdout.trim()).unwrap();
        list[0].split_once('@').unwrap().1.to_string()
    };
    let (api, web) = (digest("api"), digest("web"));
    let upgrade =
        sb.commands_of("helm").into_iter().find(|c| c.starts_with("helm upgrade demo ")).expect("the release");
    assert!(upgrade.starts_with("helm upgrade demo chart -n demo-prod --kube-context prod-ctx --install"), "{upgrade}");
    assert!(upgrade.contains("-f chart/values-prod.yaml"), "{upgrade}");
    for (key, want) in [
        ("backend.image.repository", "registry.example.com/demo/api".to_string()),
        ("backend.image.digest", api.clone()),
        ("frontend.image.repository", "registry.example.com/demo/web".to_string()),
        ("frontend.image.digest", web.clone()),
    ] {
        assert!(upgrade.contains(&format!("--set {key}={want}")), "{key}={want} missing: {upgrade}");
    }
    let pushes: Vec<String> = sb.commands_of("docker").into_iter().filter(|c| c.starts_with("docker push")).collect();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert!(sb.commands().iter().all(|c| !c.starts_with("minikube") && !c.starts_with("kind")), "no side-load");

    // A no-op rerun pushes nothing and upgrades nothing.
    let before = sb.calls().len();
    sb.xtask(&["up", "--target", "prod", "--yes"]).run().assert_success();
    let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    assert!(!again.iter().any(|c| c.starts_with("docker push") || c.starts_with("helm upgrade")), "{again:#?}");

    // verify runs the target's checks: no resilience or persistence (they delete pods) on a shared cluster.
    let out = sb.xtask(&["verify", "--target", "prod", "--yes"]).run();
    out.assert_success();
    let r = report(&sb.project);
    for id in ["verify:rollout", "verify:health", "verify:roundtrip", "verify:hpa"] {
        assert_eq!(step(&r, id)["status"], "passed", "{id}");
    }
    let ids: Vec<&str> = r["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&"verify:resilience") && !ids.contains(&"verify:persistence"), "{ids:?}");
    assert_eq!(r["target"]["images"], "registry.example.com/demo");
    let kubectl = sb.commands_of("kubectl");
    assert!(
        kubectl.iter().all(|c| c.starts_with("kubectl config view")
            || c.starts_with("kubectl version")
            || c.contains("--context prod-ctx")),
        "every kubectl call names the target's context: {kubectl:#?}"
    );

    // Teardown: the release goes; the namespace existed before (the fake's unmanaged cluster has them all), so it
    // stays; the cluster is never touched.
    let out = sb.xtask(&["teardown", "--target", "prod", "--yes", "--delete"]).run();
    out.assert_success();
    let r = report(&sb.project);
    assert_eq!(step(&r, "teardown:release")["status"], "passed");
    assert_eq!(step(&r, "teardown:namespace")["status"], "skipped");
    assert_eq!(step(&r, "teardown:cluster")["status"], "skipped");
    assert!(!sb.commands().iter().any(|c| c.contains("delete namespace")), "the namespace was not ours");
}

#[test]
fn teardown_deletes_a_namespace_the_pipeline_created_on_an_existing_cluster() {
    let sb = project().seed_state(
        "kube.json",
        r#"{"managed": true, "namespaces": ["default", "kube-system"], "contexts": {"prod-ctx": "https://prod.example.com:6443"}, "current_context": "prod-ctx"}"#,
    );
    let out = sb.xtask(&["up", "--target", "prod", "--yes"]).run();
    out.assert_success();
    assert!(out.stderr.contains("namespace `demo-prod` does not exist yet: the deploy creates it"), "{}", out.stderr);
    sb.xtask(&["teardown", "--target", "prod", "--yes"]).run().assert_success();
    assert!(
        sb.commands().contains(
            &"kubectl --context prod-ctx delete namespace demo-prod --ignore-not-found --wait=true --timeout=180s"
                .to_string()
        ),
        "{:#?}",
        sb.commands()
    );
}

#[test]
fn plan_shows_the_target_the_guard_decisions_and_the_pushes_with_placeholders() {
    let sb = project();
    let out = sb.xtask(&["plan", "up", "--target", "prod"]).run();
    out.assert_success();
    let head: Vec<&str> = out.stdout.lines().take(5).collect();
    assert_eq!(
        head,
        [
            "target: prod (existing cluster, context prod-ctx; images pushed to registry.example.com/demo and deployed \
             by digest, protected)",
            "guard: protected target named with `--target prod`",
            "guard: would refuse: a protected target needs a confirmation: pass `--yes` (in CI nothing can be asked)",
            "guard: the server of context `prod-ctx` will be compared with https://prod.example.com:6443 from \
             xtask.yaml (targets.prod.cluster.server)",
            "plan for `cargo xtask up` (nothing is run):",
        ]
    );
    let block = |id: &str| -> String {
        let lines: Vec<&str> = out.stdout.lines().collect();
        let at = lines.iter().position(|l| l.starts_with(&format!("  {id}:"))).unwrap_or_else(|| panic!("{id}"));
        lines[at..]
            .iter()
            .take_while(|l| l.starts_with("    ") || l.starts_with(&format!("  {id}:")))
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        block("load:api"),
        "  load:api: Push demo-api:1.0.0 to registry.example.com/demo
    cache: runs: `gate:size:api` runs first and may change its inputs
    $ docker tag demo-api:1.0.0 registry.example.com/demo/api:1.0.0-{image-id}
    $ docker push registry.example.com/demo/api:1.0.0-{image-id}"
    );
    assert!(
        block("deploy:demo").contains(
            "--set backend.image.repository=registry.example.com/demo/api --set 'backend.image.digest={digest from the \
             push}'"
        ),
        "{}",
        block("deploy:demo")
    );
    // With --yes the guard passes, and a plan never runs the kubectl probe.
    let out = sb.xtask(&["plan", "up", "--target", "prod", "--yes"]).run();
    assert!(out.stdout.contains("guard: confirmed with --yes\n"), "{}", out.stdout);
    assert!(sb.calls().is_empty(), "a plan runs nothing: {:#?}", sb.commands());
}

#[test]
fn an_unknown_target_or_a_bad_registry_is_a_usage_error() {
    let sb = project();
    let out = sb.xtask(&["up", "--target", "kinnd"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains(
            "error: there is no target `kinnd`: the config defines `local`, `k3d`, `kind`, `prod`. Did you mean `kind`?"
        ),
        "{}",
        out.stderr
    );
    let sb = project().with_file(
        "xtask.yaml",
        format!("{}{}", demo::config(), TARGETS.replace("registry.example.com/demo", "myorg/demo")),
    );
    let out = sb.xtask(&["up", "--target", "prod"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("`myorg/demo` is not a registry: write `host[:port]/path`, e.g. `127.0.0.1:5000/todo`"),
        "{}",
        out.stderr
    );
    let sb = project().with_file(
        "xtask.yaml",
        format!("{}{}", demo::config(), TARGETS.replace("    registry: registry.example.com/demo\n", "")),
    );
    let out = sb.xtask(&["plan", "up"]).run();
    out.assert_code(2);
    assert!(
        out.stderr.contains("targets.prod is an existing cluster (context `prod-ctx`): images cannot be side-loaded"),
        "{}",
        out.stderr
    );
    let sb = project().with_file("xtask.yaml", format!("{}{TARGETS}default_target: staging\n", demo::config()));
    let out = sb.xtask(&["up"]).run();
    out.assert_code(2);
    assert!(out.stderr.contains("default_target `staging` is not under `targets:` (nor `local`)"), "{}", out.stderr);
}

#[test]
fn ci_deploy_and_verify_stages_act_on_the_named_target() {
    let app = AppServer::start();
    let sb = project()
        .seed_state("kube/services.json", prod_services().replace("demo-prod", "demo"))
        .seed_state_from_fixture("kube/hpa.json", "kubectl/get-hpa.synthesized.json")
        .with_env("FAKE_FORWARD_TO", &app.addr);
    let out = sb.xtask(&["ci", "deploy", "verify", "--target", "k3d"]).run();
    out.assert_success();
    assert!(
        out.stderr.starts_with("target: k3d (k3d cluster `demo`, context k3d-demo; images side-loaded)\n"),
        "{}",
        out.stderr
    );
    let cmds = sb.commands();
    assert!(cmds.iter().any(|c| c.starts_with("k3d cluster create demo")), "{cmds:#?}");
    assert!(cmds.iter().any(|c| c.starts_with("kubectl --context k3d-demo port-forward")), "{cmds:#?}");
    assert!(cmds.iter().all(|c| !c.starts_with("minikube ")), "{cmds:#?}");
}

#[test]
fn a_k3d_target_with_a_local_registry_pushes_there_and_deploys_by_digest_from_the_in_cluster_name() {
    let cfg = format!(
        "{}targets:\n  k3dreg:\n    cluster: {{ provider: k3d, name: demo, nodes: 3, local_registry: 5001 }}\n",
        demo::config()
    );
    let sb = demo::project().with_file("xtask.yaml", cfg);
    let out = sb.xtask(&["up", "--target", "k3dreg"]).run();
    out.assert_success();
    assert!(
        out.stderr.starts_with(
            "target: k3dreg (k3d cluster `demo`, context k3d-demo; images pushed to localhost:5001/demo and deployed \
             by digest)\n"
        ),
        "{}",
        out.stderr
    );
    let cmds = sb.commands();
    assert!(
        cmds.contains(
            &"k3d cluster create demo --servers 1 --agents 2 --registry-create k3d-demo-registry:127.0.0.1:5001 --wait"
                .to_string()
        ),
        "{cmds:#?}"
    );
    assert!(cmds.iter().all(|c| !c.starts_with("k3d image import")), "pushed, not imported: {cmds:#?}");
    let pushes: Vec<&String> = cmds.iter().filter(|c| c.starts_with("docker push localhost:5001/demo/")).collect();
    assert_eq!(pushes.len(), 2, "{cmds:#?}");
    let inspect = sb.tool("docker", &["image", "inspect", "--format", "{{json .RepoDigests}}", "demo-api:1.0.0"]).run();
    let digests: Vec<String> = serde_json::from_str(inspect.stdout.trim()).unwrap();
    let digest = digests[0].split_once('@').unwrap().1;
    let upgrade = sb.commands_of("helm").into_iter().find(|c| c.starts_with("helm upgrade demo ")).unwrap();
    assert!(
        upgrade.contains(&format!(
            "--set backend.image.repository=k3d-demo-registry:5001/demo/api --set backend.image.digest={digest}"
        )),
        "the nodes pull through k3d's mirror name: {upgrade}"
    );
}

#[test]
fn after_a_push_the_plan_shows_the_recorded_digests_and_a_cached_deploy() {
    let sb = project();
    sb.xtask(&["up", "--target", "prod", "--yes"]).run().assert_success();
    let inspect = sb.tool("docker", &["image", "inspect", "--format", "{{json .RepoDigests}}", "demo-api:1.0.0"]).run();
    let digests: Vec<String> = serde_json::from_str(inspect.stdout.trim()).unwrap();
    let out = sb.xtask(&["plan", "up", "--target", "prod", "--yes"]).run();
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("  load:api:")).expect("load:api in the plan");
    assert_eq!(
        lines[at..at + 3],
        [
            "  load:api: Push demo-api:1.0.0 to registry.example.com/demo",
            "    cache: cached: inputs unchanged",
            &format!("    digest: {} (pushed earlier)", digests[0]),
        ]
    );
    let at = lines.iter().position(|l| l.starts_with("  deploy:demo:")).expect("deploy in the plan");
    assert!(lines[at..at + 4].contains(&"    cache: cached: inputs unchanged"), "{}", lines[at..at + 4].join("\n"));
}

#[test]
fn a_kind_target_with_a_local_registry_sets_it_up_as_kinds_guide_does_and_deploys_by_digest() {
    let cfg = format!(
        "{}targets:\n  kindreg:\n    cluster: {{ provider: kind, name: demo, nodes: 2, local_registry: 5001 }}\n",
        demo::config()
    );
    // The engine would pull registry:3 from Docker Hub; the fake may.
    let sb = demo::project().with_file("xtask.yaml", cfg).with_env("FAKE_DOCKER_PULL", "ok");
    sb.xtask(&["up", "--target", "kindreg"]).run().assert_success();
    let setup: Vec<String> = sb
        .commands()
        .into_iter()
        .filter(|c| {
            c.starts_with("docker run")
                || c.starts_with("docker exec")
                || c.starts_with("docker cp")
                || c.starts_with("docker network")
                || c.starts_with("kind get nodes")
                || c.contains(" apply -f ")
        })
        .collect();
    let dir = "/etc/containerd/certs.d/localhost:5001";
    assert_eq!(
        setup,
        [
            "docker run -d --restart=always -p 127.0.0.1:5001:5000 --network bridge --name kind-registry registry:3"
                .to_string(),
            "kind get nodes --name demo".into(),
            format!("docker exec demo-control-plane mkdir -p {dir}"),
            format!("docker cp target/xtask/kind-demo-hosts.toml demo-control-plane:{dir}/hosts.toml"),
            format!("docker exec demo-worker mkdir -p {dir}"),
            format!("docker cp target/xtask/kind-demo-hosts.toml demo-worker:{dir}/hosts.toml"),
            "docker network connect kind kind-registry".into(),
            "kubectl --context kind-demo apply -f target/xtask/kind-demo-registry-hosting.yaml".into(),
        ]
    );
    let hosts = std::fs::read_to_string(sb.project_path("target/xtask/kind-demo-hosts.toml")).unwrap();
    assert_eq!(hosts, "[host.\"http://kind-registry:5000\"]\n");
    let cmds = sb.commands();
    assert!(cmds.iter().all(|c| !c.starts_with("kind load")), "pushed, not side-loaded: {cmds:#?}");
    let upgrade = sb.commands_of("helm").into_iter().find(|c| c.starts_with("helm upgrade demo ")).unwrap();
    assert!(
        upgrade.contains("--set backend.image.repository=localhost:5001/demo/api --set backend.image.digest=sha256:"),
        "{upgrade}"
    );

    // A second cluster run: the registry container is reused, not started twice.
    let before = sb.calls().len();
    sb.xtask(&["up", "--target", "kindreg"]).run().assert_success();
    let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    assert!(again.iter().all(|c| !c.starts_with("docker run") && !c.starts_with("docker push")), "{again:#?}");
}

#[test]
fn doctor_lists_kind_and_k3d_only_when_a_target_uses_them() {
    let names = |sb: &Sandbox| -> Vec<String> {
        let v = sb.xtask(&["doctor", "--json"]).run().json();
        let rows = v.as_array().cloned().or_else(|| v["tools"].as_array().cloned()).unwrap_or_default();
        rows.iter().filter_map(|r| r["name"].as_str().map(String::from)).collect()
    };
    let with = names(&project());
    assert!(with.contains(&"kind".to_string()) && with.contains(&"k3d".to_string()), "{with:?}");
    let without = names(&demo::project());
    assert!(!without.iter().any(|n| n == "kind" || n == "k3d"), "{without:?}");
    assert!(without.contains(&"minikube".to_string()), "{without:?}");
}

/// Runs `xtask ARGS` on a pseudo-terminal (util-linux `script`), typing `answer`; returns what the terminal showed
/// and the exit status. Without CI set, as on a developer's machine.
fn on_a_terminal(sb: &Sandbox, args: &str, answer: &str) -> (String, i32) {
    use std::io::Write;
    let cmd = format!("{} {args}", support::XTASK_BIN);
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("PATH", sb.path_env())
        .env("FAKE_DIR", &sb.fake_dir)
        .env("XTASK_ROOT", &sb.project)
        .env("NO_COLOR", "1")
        .env("DEMO_DB_PASSWORD", "pw-for-tests-123")
        .env_remove("CI")
        .env_remove("KUBECONFIG")
        .current_dir(&sb.project)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting script(1)");
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"), out.status.code().unwrap_or(-1))
}

#[test]
#[ignore = "needs a pseudo-terminal: util-linux `script` (Debian bsdutils, always installed)"]
fn on_a_terminal_the_target_name_typed_confirms_and_anything_else_refuses() {
    let sb = project();
    let (screen, code) = on_a_terminal(&sb, "rollback --target prod", "yes\n");
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("Target `prod` is protected (context prod-ctx). Type its name to go on: "), "{screen}");
    assert!(
        screen.contains(
            "refusing to act on target `prod`: the confirmation did not match (typed \"yes\", expected \"prod\")"
        ),
        "{screen}"
    );
    let (screen, _) = on_a_terminal(&sb, "rollback --target prod", "prod\n");
    assert!(screen.contains("guard: confirmed on the terminal"), "{screen}");
}
