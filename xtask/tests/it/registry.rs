//! Images delivered through a real registry: the real Docker engine pushes both images to a real local registry
//! (Debian's docker-registry, the CNCF distribution registry, started by scripts/ci/registry.sh), the test reads
//! the manifest digests back through the registry's HTTP API, and checks that the release was given exactly
//! those digests; a second `up` with nothing changed pushes nothing. kubectl and helm are the fakes (no cluster
//! here).

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{demo, report, step};

/// `host:port` of the test registry, or why the test cannot run.
fn registry() -> Result<String, String> {
    let addr = std::env::var("XTASK_TEST_REGISTRY")
        .map_err(|_| "XTASK_TEST_REGISTRY is not set: run `eval \"$(scripts/ci/registry.sh)\"`".to_string())?;
    let (status, _, _) = http_get(&addr, "/v2/", None).map_err(|e| format!("registry {addr} does not answer: {e}"))?;
    if status != 200 {
        return Err(format!("registry {addr} answered /v2/ with {status}"));
    }
    Ok(addr)
}

/// A plain HTTP/1.1 GET (the registry listens on loopback without TLS): status, headers, body.
fn http_get(addr: &str, path: &str, accept: Option<&str>) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, head.to_string(), body.to_string()))
}

/// The manifest digest the registry serves for `repo:tag` (the Docker-Content-Digest header of a schema 2 GET).
fn registry_digest(addr: &str, repo: &str, tag: &str) -> String {
    let accept = "application/vnd.docker.distribution.manifest.v2+json";
    let (status, head, body) = http_get(addr, &format!("/v2/{repo}/manifests/{tag}"), Some(accept)).unwrap();
    assert_eq!(status, 200, "GET manifest {repo}:{tag}: {head}\n{body}");
    head.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("docker-content-digest")))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no Docker-Content-Digest in {head}"))
}

/// The one tag of `repo` (`/v2/<repo>/tags/list`).
fn only_tag(addr: &str, repo: &str) -> String {
    let (status, _, body) = http_get(addr, &format!("/v2/{repo}/tags/list"), None).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    let tags = v["tags"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(tags.len(), 1, "{body}");
    tags[0].as_str().unwrap().to_string()
}

#[test]
#[ignore = "needs docker and a local registry: eval \"$(scripts/ci/registry.sh)\" (XTASK_TEST_REGISTRY)"]
fn both_images_are_pushed_to_a_real_registry_and_deployed_by_the_digests_it_serves() {
    require_or_skip!("docker");
    let addr = match registry() {
        Ok(a) => a,
        Err(why) if support::engines_required() => panic!("needs a local registry: {why}"),
        Err(why) => {
            eprintln!("skipped: needs a local registry: {why}");
            return;
        }
    };
    // A path of its own, so an earlier run's pushes do not count as this run's.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let path = format!("xtask-test-{}-{nanos}", std::process::id());
    let targets = format!(
        "targets:\n  reg:\n    cluster: {{ provider: existing, context: reg-ctx, server: \"https://10.1.2.3:6443\" }}\n    registry: {addr}/{path}\n"
    );
    let sb = demo::project()
        .with_file("xtask.yaml", format!("{}{targets}", demo::config()))
        .seed_state("kube.json", r#"{"contexts": {"reg-ctx": "https://10.1.2.3:6443"}, "current_context": "reg-ctx"}"#);
    // The real engine, not the fake: drop the fake's `docker` from the sandbox's bin/.
    std::fs::remove_file(sb.bin_dir.join(format!("docker{}", std::env::consts::EXE_SUFFIX))).unwrap();

    // The tags the pushes leave in the daemon go with the test (the registry's storage is the CI's scratch).
    struct Untag(String);
    impl Drop for Untag {
        fn drop(&mut self) {
            for image in ["api", "web"] {
                let out = std::process::Command::new("docker")
                    .args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", &format!("{}/{image}", self.0)])
                    .output();
                for tag in out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default().lines() {
                    let _ = std::process::Command::new("docker").args(["rmi", tag]).output();
                }
            }
        }
    }
    let _untag = Untag(format!("{addr}/{path}"));
    let args = ["up", "--target", "reg", "--yes", "--skip-gate", "vuln"];
    let out = sb.xtask(&args).timeout(Duration::from_secs(300)).run();
    out.assert_success();
    let upgrade = sb.commands_of("helm").into_iter().find(|c| c.starts_with("helm upgrade demo ")).expect("a release");
    for (image, key) in [("api", "backend"), ("web", "frontend")] {
        let repo = format!("{path}/{image}");
        let tag = only_tag(&addr, &repo);
        let digest = registry_digest(&addr, &repo, &tag);
        assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
        assert!(upgrade.contains(&format!("--set {key}.image.repository={addr}/{repo}")), "{upgrade}");
        assert!(upgrade.contains(&format!("--set {key}.image.digest={digest}")), "{key}: {digest} not in {upgrade}");
    }

    // Nothing changed: both pushes are cached and no `docker push` runs.
    let out = sb.xtask(&args).timeout(Duration::from_secs(300)).run();
    out.assert_success();
    let r = report(&sb.project);
    for id in ["load:api", "load:web"] {
        let s = step(&r, id);
        assert_eq!(s["status"], "cached", "{id}: {s:#}");
        let cmds: Vec<&str> = s["commands"].as_array().unwrap().iter().filter_map(|c| c["command"].as_str()).collect();
        assert!(cmds.iter().all(|c| !c.starts_with("docker push")), "{id} pushed again: {cmds:?}");
    }
    assert_eq!(step(&r, "deploy:demo")["status"], "cached");
}
