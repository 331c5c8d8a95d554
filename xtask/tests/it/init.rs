//! `cargo xtask init` on another team's repo (the adoption fixture without its xtask.yaml): it finds their
//! Dockerfiles and chart, writes a starter config that passes `verify --static` and `plan up` on the fakes, runs
//! doctor, and never overwrites a config.

use crate::support;

use support::Sandbox;

fn their_repo_without_config() -> Sandbox {
    let sb = Sandbox::new();
    support::copy_dir(&support::fixture_path("adoption"), &sb.project);
    std::fs::remove_file(sb.project.join("xtask.yaml")).unwrap();
    sb
}

#[test]
fn init_writes_a_starter_config_that_the_pipeline_accepts() {
    let sb = their_repo_without_config();
    let out = sb.xtask(&["init"]).run();
    out.assert_success();
    out.stderr_contains("wrote xtask.yaml: 2 image(s) (catalog-api, catalog-web), chart chart.");
    // Then doctor's table (on stdout, as `doctor` prints it).
    assert!(out.stdout.contains("helm") && out.stdout.contains("minikube"), "no doctor table:\n{}", out.stdout);

    let text = std::fs::read_to_string(sb.project.join("xtask.yaml")).unwrap();
    let cfg: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(cfg["project"], "catalog");
    let images: Vec<(&str, &str, &str, u64)> = cfg["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap();
            (s("name"), s("context"), s("tag"), i["port"].as_u64().unwrap())
        })
        .collect();
    // The chart's image.repository names win over the folder names; the ports come from EXPOSE; the tags from the
    // chart's appVersion.
    assert_eq!(
        images,
        [("catalog-api", "backend", "catalog-api:0.3.0", 8000), ("catalog-web", "frontend", "catalog-web:0.3.0", 3000)]
    );
    let release = &cfg["release"];
    assert_eq!((release["chart"].as_str(), release["namespace"].as_str()), (Some("chart"), Some("catalog")));
    assert_eq!(release["values"], serde_json::json!(["chart/values-dev.yaml"]));
    assert_eq!(release["lint_values"], serde_json::json!(["chart/values-prod.yaml"]));
    assert_eq!(
        release["image_values"],
        serde_json::json!({ "backend.image.tag": "catalog-api", "frontend.image.tag": "catalog-web" })
    );
    // Every key carries a comment: no bare key lines at the top level without one above.
    assert!(text.lines().filter(|l| l.starts_with('#')).count() >= 5, "{text}");

    let static_check = sb.xtask(&["verify", "--static"]).run();
    static_check.assert_success();
    static_check.stderr_contains("render:chart");
    let plan = sb.xtask(&["plan", "up"]).run();
    plan.assert_success();
    assert!(plan.stdout.contains("build:catalog-web"), "{}", plan.stdout);
    // The tags reach the chart keys init found.
    assert!(
        plan.stdout.lines().any(|l| l.contains("$ helm upgrade catalog chart -n catalog")
            && l.contains("--set backend.image.tag=0.3.0-")
            && l.contains("--set frontend.image.tag=0.3.0-")),
        "{}",
        plan.stdout
    );
}

#[test]
fn init_never_overwrites_a_config() {
    let sb = their_repo_without_config().with_file("xtask.yaml", "project: mine\n");
    let out = sb.xtask(&["init"]).run();
    out.assert_code(2);
    out.stderr_contains("xtask.yaml already exists; init never overwrites a config");
    assert_eq!(std::fs::read_to_string(sb.project.join("xtask.yaml")).unwrap(), "project: mine\n");
    assert!(sb.commands().is_empty(), "init ran tools although it refused: {:?}", sb.commands());
}
