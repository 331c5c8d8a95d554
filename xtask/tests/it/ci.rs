//! `cargo xtask ci` on the fakes: stages share one CI folder, each writes report.json, junit.xml and a job-summary
//! section, and teardown runs even when an earlier stage failed.

use crate::support;

use support::demo::project;

const STAGES: [&str; 6] = ["preflight", "static", "build", "deploy", "verify", "teardown"];

#[test]
fn ci_without_stages_runs_every_stage_that_needs_no_cluster() {
    let sb = project();
    let summary = sb.root.join("step-summary.md");
    let out = sb.xtask(&["ci"]).env("XTASK_CI_ID", "t1").env("GITHUB_STEP_SUMMARY", &summary).run();
    out.assert_success();
    let dir = sb.project.join("target/xtask/ci/t1");
    for stage in ["preflight", "static", "build"] {
        for f in ["report.json", "junit.xml", "summary.md"] {
            assert!(dir.join(stage).join(f).is_file(), "{stage}/{f}");
        }
        support::validate_with_python(&dir.join(stage).join("report.json"), &dir.join(stage).join("junit.xml"));
    }
    for stage in ["deploy", "verify", "teardown"] {
        assert!(!dir.join(stage).exists(), "{stage} needs a cluster and is not a default stage");
    }
    assert!(!sb.commands().iter().any(|c| c.starts_with("minikube") || c.starts_with("kubectl")));
    let s = std::fs::read_to_string(summary).unwrap();
    for stage in ["ci preflight", "ci static", "ci build"] {
        assert!(s.contains(&format!("## cargo xtask {stage}: passed")), "{s}");
    }
}

#[test]
fn stages_run_as_separate_steps_share_the_folder_and_teardown_always_runs() {
    let sb = project();
    for stage in &STAGES[..3] {
        sb.xtask(&["ci", stage]).env("XTASK_CI_ID", "t2").run().assert_success();
    }
    // The build stage left the images; deploy, run as its own step, rebuilds nothing.
    let builds = sb.commands().iter().filter(|c| c.starts_with("docker build")).count();
    sb.xtask(&["ci", "deploy"]).env("XTASK_CI_ID", "t2").run().assert_success();
    assert_eq!(sb.commands().iter().filter(|c| c.starts_with("docker build")).count(), builds);
    // A failing verify stage, then teardown in the same invocation: teardown still runs, the exit code says failed.
    let sb2 = project().seed_state_from_fixture("kube/pods.json", "kubectl/get-pods.synthesized.json");
    let out = sb2.xtask(&["ci", "deploy", "verify", "teardown"]).env("XTASK_CI_ID", "t3").run();
    out.assert_code(1);
    let dir = sb2.project.join("target/xtask/ci/t3");
    assert!(dir.join("teardown/junit.xml").is_file(), "teardown ran after the failure");
    assert!(sb2.commands().contains(&"minikube delete -p demo".to_string()));
    let junit = std::fs::read_to_string(dir.join("verify/junit.xml")).unwrap();
    assert!(junit.contains("<failure message="), "{junit}");
}
