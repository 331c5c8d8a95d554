//! A minikube profile whose container is gone (`docker system prune -a` after a stop, a Docker Desktop reset) or
//! whose Docker daemon is down, on the minikube versions that report it differently: `Nonexistent` fields with exit
//! 7 before v1.35, `null` with exit 0 in v1.35-v1.37 and `null` with exit 7 from v1.38 (kubernetes/minikube#22466).
//! `up` recreates the profile, `teardown --delete` removes it, and neither says "printed no status".

use crate::support;

use support::demo::project;
use support::Sandbox;

const VERSIONS: [&str; 4] = ["1.34.0", "1.35.0", "1.37.0", "1.38.0"];

/// The profile's container disappears (what `docker system prune -a` does to a stopped minikube container).
fn remove_container(sb: &Sandbox) {
    let path = sb.fake_dir.join("state/minikube.json");
    let mut st: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    st["profiles"]["demo"]["container_gone"] = true.into();
    std::fs::write(&path, st.to_string()).unwrap();
}

fn deployed_then_pruned(version: &str) -> Sandbox {
    let sb = project().with_env("FAKE_MINIKUBE_VERSION", version);
    sb.xtask(&["up"]).run().assert_success();
    remove_container(&sb);
    sb
}

#[test]
fn the_fake_prints_what_each_minikube_version_prints() {
    for (version, stdout, code) in
        [("1.34.0", "\"Host\":\"Nonexistent\"", 7), ("1.35.0", "null", 0), ("1.37.0", "null", 0), ("1.38.0", "null", 7)]
    {
        let sb = deployed_then_pruned(version);
        let out =
            sb.tool("minikube", &["status", "-p", "demo", "-o", "json"]).env("FAKE_MINIKUBE_VERSION", version).run();
        out.assert_code(code).stdout_contains(stdout).stderr_contains("No such container: demo");
        // The daemon being down reads the same to minikube, with docker's own words.
        let out = sb
            .tool("minikube", &["status", "-p", "demo", "-o", "json"])
            .env("FAKE_MINIKUBE_VERSION", version)
            .env("FAKE_DOCKER_DAEMON", "down")
            .run();
        out.assert_code(code).stderr_contains("Cannot connect to the Docker daemon");
    }
}

#[test]
fn teardown_delete_removes_a_profile_whose_container_is_gone() {
    for version in VERSIONS {
        let sb = deployed_then_pruned(version);
        let out = sb.xtask(&["teardown", "--delete"]).run();
        out.assert_success();
        assert!(!out.stderr.contains("printed no status"), "{out}");
        out.stderr_contains("profile `demo`: broken");
        assert!(sb.commands().contains(&"minikube delete -p demo".to_string()), "minikube {version}");
        let st: serde_json::Value = serde_json::from_str(&sb.state("minikube.json").unwrap()).unwrap();
        assert!(st["profiles"].get("demo").is_none(), "minikube {version}: {st}");
    }
}

#[test]
fn teardown_without_delete_says_how_to_remove_it() {
    let sb = deployed_then_pruned("1.35.0");
    sb.xtask(&["teardown"])
        .run()
        .assert_success()
        .stderr_contains("has no container to stop; `cargo xtask teardown --delete` removes the profile");
}

#[test]
fn up_recreates_a_profile_whose_container_is_gone_and_redeploys() {
    for version in VERSIONS {
        let sb = deployed_then_pruned(version);
        let before = sb.calls().len();
        let out = sb.xtask(&["up"]).run();
        out.assert_success();
        assert!(!out.stderr.contains("printed no status"), "{out}");
        out.stderr_contains("exists but its container is gone");
        let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
        // The images and the release went with the container: both come back.
        for needed in ["minikube start -p demo", "minikube image load demo-api:1.0.0-", "helm upgrade demo chart"] {
            assert!(again.iter().any(|c| c.starts_with(needed)), "minikube {version}: no `{needed}` in {again:#?}");
        }
    }
}

#[test]
fn a_docker_daemon_that_is_down_is_named_not_mistaken_for_a_missing_profile() {
    let sb = deployed_then_pruned("1.35.0");
    // Undo the prune: only the daemon is down now.
    let path = sb.fake_dir.join("state/minikube.json");
    let text = std::fs::read_to_string(&path).unwrap().replace("\"container_gone\":true", "\"container_gone\":false");
    std::fs::write(&path, text).unwrap();
    let out = sb.xtask(&["teardown"]).env("FAKE_DOCKER_DAEMON", "down").run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("the Docker daemon does not answer");
    assert!(!sb.commands().iter().any(|c| c.starts_with("minikube stop")), "nothing stopped while blind");
}
