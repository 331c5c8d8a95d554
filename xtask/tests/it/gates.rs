//! The image gates on the fakes: the vulnerability gate's reading of Trivy reports (every JSON shape, severities,
//! ignore-unfixed, an ignore file with reasons and expiry dates, Trivy missing or skipped by request), the size
//! gate's largest layers and each image-policy failure.

use crate::support;

use serde_json::{json, Value};
use support::{api_image, Output, Sandbox};
use support::{report, step};

fn config(gates: &str) -> String {
    api_image::config("    size_budget: { uncompressed: 5MB }\n", &format!("gates:\n{gates}"))
}

/// The default gates, with the ignore file the repo's own xtask.yaml uses.
const DEFAULT_GATES: &str = "  vulnerabilities:\n    ignore_file: .trivyignore.yaml\n";

/// The Dockerfile that passes every policy check; the policy tests break one thing in it at a time.
fn good_dockerfile() -> String {
    api_image::dockerfile("api")
}

/// One FROM-scratch image with a good Dockerfile; the fake trivy answers with `report` (its seeded state).
fn project(gates: &str) -> Sandbox {
    api_image::project(&config(gates), "api binary")
}

fn with_report(sb: Sandbox, report: impl AsRef<[u8]>) -> Sandbox {
    sb.seed_state("trivy/api_1.0.0.json", report)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(support::fixture_path(&format!("trivy/{name}"))).expect("a trivy fixture")
}

/// The CRITICAL libssh2 finding of image-critical-current.json without a fixed version (Trivy's `affected`).
fn critical_unfixed_report() -> String {
    let mut report: Value = serde_json::from_str(&fixture("image-critical-current.json")).unwrap();
    for v in report["Results"][0]["Vulnerabilities"].as_array_mut().unwrap() {
        if v["VulnerabilityID"] == "CVE-2019-3855" {
            let o = v.as_object_mut().unwrap();
            o.remove("FixedVersion");
            o.insert("Status".into(), json!("affected"));
        }
    }
    report.to_string()
}

fn build(sb: &Sandbox, args: &[&str]) -> Output {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    sb.xtask(&all).run()
}

const DB_COMMAND: &str = "trivy image --download-db-only --no-progress --config target/xtask/trivy/empty-config.yaml";

fn scan_command(tag: &str) -> String {
    format!(
        "trivy image --format json --scanners vuln --no-progress --skip-db-update --cache-backend memory \
         --config target/xtask/trivy/empty-config.yaml --ignorefile target/xtask/trivy/empty.trivyignore \
         --severity UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL --exit-code 0 {tag}"
    )
}

const CRITICAL_LINE: &str = "CRITICAL CVE-2019-3855 in libssh2 1.4.3-12.el7 (fixed in 1.4.3-12.el7_6.2)";

// ---------------------------------------------------------------------------------------------------------------
// Vulnerabilities

#[test]
fn a_critical_finding_fails_the_gate_and_is_named_with_package_versions_and_severity() {
    let sb = with_report(project(DEFAULT_GATES), fixture("image-critical-current.json"));
    let out = build(&sb, &[]);
    out.assert_code(1)
        .stderr_contains("gate:vuln:api: 2 finding(s); 1 at HIGH/CRITICAL failing, 0 let through, 1 below threshold")
        .stderr_contains("api:1.0.0 has 1 vulnerability finding(s) at HIGH/CRITICAL:")
        .stderr_contains(CRITICAL_LINE)
        .stderr_contains("add entries with `statement` and `expired_at` to .trivyignore.yaml");
    // The MEDIUM finding in the same report is below the threshold, so it is not listed as failing.
    assert!(!out.stderr.contains("MEDIUM CVE-2019-1549"), "{out}");
    // The verdict is ours: Trivy gets every severity, an empty ignore file and an empty config of ours (so
    // neither .trivyignore nor trivy.yaml in the project applies), the DB fetched once before the scan, and an
    // in-memory scan cache (no fanal.db lock).
    assert_eq!(sb.commands_of("trivy"), vec![DB_COMMAND.to_string(), scan_command("api:1.0.0")]);
    let r = report(&sb.project);
    assert_eq!(step(&r, "gate:vuln:api")["status"], "failed");
    assert_eq!(step(&r, "gate:size:api")["status"], "passed");
    assert_eq!(step(&r, "gate:policy:api")["status"], "passed");
}

#[test]
fn medium_is_below_the_default_threshold_and_fails_once_the_config_lists_it() {
    let sb = with_report(project(DEFAULT_GATES), fixture("image-medium-current.json"));
    build(&sb, &[])
        .assert_success()
        .stderr_contains("gate:vuln:api: 1 finding(s); 0 at HIGH/CRITICAL failing, 0 let through, 1 below threshold");

    let gates = "  vulnerabilities:\n    severities: [MEDIUM, HIGH, CRITICAL]\n";
    let sb = with_report(project(gates), fixture("image-medium-current.json"));
    build(&sb, &[])
        .assert_code(1)
        .stderr_contains("api:1.0.0 has 1 vulnerability finding(s) at MEDIUM/HIGH/CRITICAL:")
        .stderr_contains("MEDIUM CVE-2019-1549 in libcrypto1.1 1.1.1c-r0 (fixed in 1.1.1d-r0)");
}

#[test]
fn ignore_unfixed_lets_an_unfixed_finding_through_and_says_so() {
    // Without the option an unfixed CRITICAL fails, and the message says there is no fix to upgrade to.
    let sb = with_report(project(DEFAULT_GATES), critical_unfixed_report());
    build(&sb, &[])
        .assert_code(1)
        .stderr_contains("CRITICAL CVE-2019-3855 in libssh2 1.4.3-12.el7 (fixed in no release yet)");

    let gates = "  vulnerabilities:\n    ignore_unfixed: true\n";
    let sb = with_report(project(gates), critical_unfixed_report());
    build(&sb, &[])
        .assert_success()
        .stderr_contains("gate:vuln:api: 2 finding(s); 0 at HIGH/CRITICAL failing, 1 let through, 1 below threshold")
        .stderr_contains("gate:vuln:api: let through CVE-2019-3855: no fixed version yet (ignore_unfixed)");

    // ignore_unfixed does not excuse a finding that has a fix.
    let sb = with_report(project(gates), fixture("image-critical-current.json"));
    build(&sb, &[]).assert_code(1).stderr_contains(CRITICAL_LINE);
}

fn ignore_file(entry: &str) -> String {
    format!("vulnerabilities:\n  - id: CVE-2019-3855\n{entry}")
}

#[test]
fn an_ignore_entry_with_a_future_expiry_lets_the_finding_through_with_its_reason() {
    let sb = with_report(project(DEFAULT_GATES), fixture("image-critical-current.json")).with_file(
        ".trivyignore.yaml",
        ignore_file("    statement: libssh2 is never loaded by the API process\n    expired_at: 2099-12-31\n"),
    );
    build(&sb, &[])
        .assert_success()
        .stderr_contains("gate:vuln:api: 2 finding(s); 0 at HIGH/CRITICAL failing, 1 let through, 1 below threshold")
        .stderr_contains(
            "gate:vuln:api: let through CVE-2019-3855: ignored until 2099-12-31: libssh2 is never loaded by the API process",
        );
    let r = report(&sb.project);
    let notes = step(&r, "gate:vuln:api")["notes"].to_string();
    assert!(notes.contains("ignored until 2099-12-31"), "the reason is not in report.json: {notes}");
}

#[test]
fn an_expired_ignore_entry_no_longer_ignores_and_the_gate_says_it_expired() {
    let sb = with_report(project(DEFAULT_GATES), fixture("image-critical-current.json")).with_file(
        ".trivyignore.yaml",
        ignore_file("    statement: waiting for the upstream fix\n    expired_at: 2020-01-01\n"),
    );
    build(&sb, &[])
        .assert_code(1)
        .stderr_contains("gate:vuln:api: ignore entry no longer applies: CVE-2019-3855 (expired 2020-01-01)")
        .stderr_contains("api:1.0.0 has 1 vulnerability finding(s) at HIGH/CRITICAL:")
        .stderr_contains(CRITICAL_LINE);
}

#[test]
fn an_ignore_entry_without_a_statement_or_an_expiry_is_refused() {
    let cases = [
        (
            "    expired_at: 2099-12-31\n",
            ".trivyignore.yaml: the entry for CVE-2019-3855 has no `statement:`; say why it is safe to ignore",
        ),
        (
            "    statement: not reachable\n",
            ".trivyignore.yaml: the entry for CVE-2019-3855 has no `expired_at:`; every ignore needs an expiry date (YYYY-MM-DD)",
        ),
        (
            "    statement: not reachable\n    expired_at: next year\n",
            ".trivyignore.yaml: the entry for CVE-2019-3855 has `expired_at: next year`; write a date as YYYY-MM-DD",
        ),
    ];
    for (entry, message) in cases {
        let sb = with_report(project(DEFAULT_GATES), fixture("image-critical-current.json"))
            .with_file(".trivyignore.yaml", ignore_file(entry));
        let out = build(&sb, &[]);
        out.assert_code(1).stderr_contains(message);
        // Refused before any scan: a bad ignore file is not silently half-applied.
        assert!(sb.commands_of("trivy").is_empty(), "trivy ran: {:?}", sb.commands());
    }
}

#[test]
fn every_trivy_json_shape_is_read() {
    // Pre-0.20: a bare array of results, no SchemaVersion.
    let sb = with_report(project(DEFAULT_GATES), fixture("image-critical-legacy-pre-0.20.json"));
    build(&sb, &[])
        .assert_code(1)
        .stderr_contains("gate:vuln:api: 1 finding(s); 1 at HIGH/CRITICAL failing")
        .stderr_contains(CRITICAL_LINE);

    let clean = [
        ("Results absent", fixture("image-no-results-current.json")),
        ("Vulnerabilities absent", fixture("image-no-vulns-current.json")),
        ("Results null", json!({"SchemaVersion": 2, "ArtifactName": "api:1.0.0", "Results": null}).to_string()),
        (
            "Vulnerabilities null",
            json!({"SchemaVersion": 2, "ArtifactName": "api:1.0.0",
                   "Results": [{"Target": "api", "Class": "lang-pkgs", "Type": "rustbinary", "Vulnerabilities": null}]})
            .to_string(),
        ),
    ];
    for (shape, text) in clean {
        let sb = with_report(project(DEFAULT_GATES), text);
        let out = build(&sb, &[]);
        assert_eq!(out.code, Some(0), "{shape}\n{out}");
        out.stderr_contains(
            "gate:vuln:api: 0 finding(s); 0 at HIGH/CRITICAL failing, 0 let through, 0 below threshold",
        );
    }

    // Not a report at all: the gate fails and says so instead of passing an image it could not read.
    let sb = with_report(project(DEFAULT_GATES), "\"not a report\"");
    build(&sb, &[]).assert_code(1).stderr_contains("Trivy's report is neither an object nor a list");
}

#[test]
fn trivy_missing_fails_the_gate_with_the_install_hint() {
    let sb = project(DEFAULT_GATES);
    std::fs::remove_file(sb.bin_dir.join(format!("trivy{}", std::env::consts::EXE_SUFFIX))).unwrap();
    // Only the fakes on PATH, so a trivy installed on this machine cannot answer instead.
    let out = sb.xtask(&["build"]).env("PATH", &sb.bin_dir).run();
    out.assert_code(1)
        .stderr_contains("trivy is not installed, so the vulnerability gate cannot run. Install it:")
        .stderr_contains("`cargo xtask tools install trivy`")
        .stderr_contains("Or pass `--skip-gate vuln`");
    let r = report(&sb.project);
    assert_eq!(step(&r, "gate:vuln:api")["status"], "failed");
    // The other gates still ran and passed.
    assert_eq!(step(&r, "gate:size:api")["status"], "passed");
    assert_eq!(step(&r, "gate:policy:api")["status"], "passed");
}

#[test]
fn skip_gate_vuln_is_recorded_as_skipped_by_request() {
    let sb = project(DEFAULT_GATES);
    std::fs::remove_file(sb.bin_dir.join(format!("trivy{}", std::env::consts::EXE_SUFFIX))).unwrap();
    let out = sb.xtask(&["build", "--skip-gate", "vuln"]).env("PATH", &sb.bin_dir).run();
    out.assert_success().stderr_contains("skipped gate:vuln:api");
    let r = report(&sb.project);
    let vuln = step(&r, "gate:vuln:api");
    assert_eq!(vuln["status"], "skipped");
    assert_eq!(vuln["message"], "skipped by request (--skip-gate vuln)");
    assert_eq!(step(&r, "gate:size:api")["status"], "passed");
    assert!(sb.commands_of("trivy").is_empty());
}

#[test]
fn a_passing_gate_repeats_its_figures_when_cached() {
    let sb = with_report(project(DEFAULT_GATES), fixture("image-medium-current.json"));
    build(&sb, &[]).assert_success();
    let out = build(&sb, &[]);
    out.assert_success()
        .stderr_contains("cached gate:vuln:api")
        .stderr_contains("gate:vuln:api: 1 finding(s); 0 at HIGH/CRITICAL failing, 0 let through, 1 below threshold")
        .stderr_contains("gate:size:api: uncompressed")
        .stderr_contains("gate:policy:api: user 1000:1000, healthcheck, port 8080 exposed, bases pinned");
    assert_eq!(sb.commands_of("trivy").len(), 2, "the cached gate scanned again: {:?}", sb.commands());
}

// ---------------------------------------------------------------------------------------------------------------
// Size

/// The same image measures the same on both image stores, and the gate says which store it measured; on the
/// containerd store `docker image inspect .Size` is the packed size (moby/moby#53398), which the gate must not use.
#[test]
fn the_size_is_the_same_on_the_overlay2_and_containerd_stores_and_the_store_is_named() {
    let mut sizes = vec![];
    for (store, named) in [
        ("overlay2", "on the overlay2 graphdriver store"),
        ("containerd", "on the containerd image store (snapshotter overlayfs)"),
    ] {
        let sb =
            project(DEFAULT_GATES).with_env("FAKE_IMAGE_EXTRA_BYTES", "3000000").with_env("FAKE_DOCKER_STORE", store);
        let out = build(&sb, &["--skip-gate", "vuln"]);
        out.assert_success()
            .stderr_contains("gate:size:api: uncompressed 3.0 MB (budget 5.0 MB), compressed")
            .stderr_contains(&format!("gate:size:api: measured from `docker save` (1 layer(s)) {named}"));
        let inspect_size: u64 = sb
            .tool("docker", &["image", "inspect", "--format", "{{.Size}}", "api:1.0.0"])
            .run()
            .stdout
            .trim()
            .parse()
            .unwrap();
        sizes.push(inspect_size);
    }
    // Only the graphdriver's `.Size` is the unpacked figure (3.0 MB); the containerd store's is the packed one.
    assert!((3_000_000..3_050_000).contains(&sizes[0]), "overlay2 .Size {}", sizes[0]);
    assert_ne!(sizes[0], sizes[1], "the fake's containerd store reports the unpacked size");
}

/// A buildx builder that does not load into the daemon: the build "succeeds", the tag is missing, and the
/// failure names the builder and the fix.
#[test]
fn a_buildx_builder_that_does_not_load_is_named_with_the_fix() {
    let sb = project(DEFAULT_GATES).with_env("FAKE_DOCKER_BUILDER", "ci-builder:docker-container");
    let out = build(&sb, &["--skip-gate", "vuln"]);
    out.assert_code(1).stderr_contains(
        "api:1.0.0 is not in the Docker daemon after its build: the selected buildx builder `ci-builder` uses the \
         `docker-container` driver, which keeps build results in its own cache unless told to load them into the \
         daemon. Use the default builder (`docker buildx use default`), or recreate `ci-builder` with \
         `--driver-opt default-load=true`",
    );
    // With the docker driver the image lands in the daemon as usual.
    let sb = project(DEFAULT_GATES).with_env("FAKE_DOCKER_BUILDER", "default:docker");
    build(&sb, &["--skip-gate", "vuln"]).assert_success();
}

#[test]
fn the_size_gate_fails_over_budget_and_lists_the_largest_layers() {
    let sb = project(DEFAULT_GATES).with_env("FAKE_IMAGE_EXTRA_BYTES", "6000000");
    let out = build(&sb, &["--skip-gate", "vuln"]);
    out.assert_code(1)
        .stderr_contains("gate:size:api: uncompressed 6.0 MB (budget 5.0 MB), compressed")
        .stderr_contains("api:1.0.0 is over its size budget: uncompressed 6.0 MB > 5.0 MB. Largest layers:")
        .stderr_contains("(`--skip-gate size` lets one run pass it, recorded as skipped by request)");
    // The COPY layer holds the bytes, and it comes first.
    let (_, after) = out.stderr.rsplit_once("Largest layers:\n").expect("a layer list");
    let layers: Vec<&str> = after.lines().take_while(|l| l.starts_with("      ")).collect();
    assert!(layers.len() >= 2, "{out}");
    assert!(layers[0].contains("6.0 MB") && layers[0].contains("COPY") && layers[0].contains("/api"), "{layers:?}");
    assert_eq!(step(&report(&sb.project), "gate:size:api")["status"], "failed");

    // Within budget it passes with its figures.
    let sb = project(DEFAULT_GATES);
    build(&sb, &["--skip-gate", "vuln"]).assert_success().stderr_contains("(budget 5.0 MB), compressed");
}

// ---------------------------------------------------------------------------------------------------------------
// Policy

fn policy_failure(dockerfile: &str) -> Output {
    let sb = project(DEFAULT_GATES)
        .with_file("images/api/Dockerfile", dockerfile)
        // The fake daemon has these base images, as if pulled earlier.
        .with_env("FAKE_DOCKER_IMAGES", "node:latest,node,node:22.11.0");
    let out = build(&sb, &["--skip-gate", "vuln"]);
    out.assert_code(1)
        .stderr_contains("api:1.0.0 breaks the image policy:")
        .stderr_contains("(`--skip-gate policy` lets one run pass it, recorded as skipped by request)");
    assert_eq!(step(&report(&sb.project), "gate:policy:api")["status"], "failed");
    out
}

#[test]
fn each_policy_failure_is_named() {
    let good = |from: &str| good_dockerfile().replacen("FROM scratch", from, 1);
    policy_failure(&good_dockerfile().replace("USER 1000:1000\n", ""))
        .stderr_contains("  - runs as root (User \"\"): add `USER 1000:1000` to images/api/Dockerfile");
    policy_failure(&good_dockerfile().replace("USER 1000:1000", "USER root"))
        .stderr_contains("  - runs as root (User \"root\")");
    policy_failure(&good_dockerfile().replace("USER 1000:1000", "USER app")).stderr_contains(
        "  - runs as user \"app\": use a numeric UID (e.g. `USER 1000:1000`) so Kubernetes' runAsNonRoot can check it",
    );
    let no_health = good_dockerfile().lines().filter(|l| !l.starts_with("HEALTHCHECK")).collect::<Vec<_>>().join("\n");
    policy_failure(&no_health).stderr_contains("  - has no HEALTHCHECK: add one");
    policy_failure(&good_dockerfile().replace("EXPOSE 8080", "EXPOSE 9090"))
        .stderr_contains("  - does not EXPOSE 8080 (the port in xtask.yaml): add `EXPOSE 8080`");
    policy_failure(&good("FROM node:latest")).stderr_contains(
        "  - images/api/Dockerfile:1: base image `node:latest` is not pinned: use a version tag or digest, not `latest`",
    );
    policy_failure(&good("FROM node")).stderr_contains("base image `node` is not pinned");
}

#[test]
fn every_policy_failure_of_one_image_is_listed_together() {
    let out = policy_failure("FROM node:latest\nCOPY api /api\n");
    for problem in
        ["runs as root", "has no HEALTHCHECK", "does not EXPOSE 8080", "base image `node:latest` is not pinned"]
    {
        out.stderr_contains(problem);
    }
}

#[test]
fn a_pinned_base_passes_the_policy() {
    let sb = project(DEFAULT_GATES)
        .with_file("images/api/Dockerfile", good_dockerfile().replacen("FROM scratch", "FROM node:22.11.0", 1))
        .with_env("FAKE_DOCKER_IMAGES", "node:22.11.0");
    // The fake's node image is bigger than the budget: only the policy matters here.
    build(&sb, &["--skip-gate", "vuln", "--skip-gate", "size"])
        .assert_success()
        .stderr_contains("gate:policy:api: user 1000:1000, healthcheck, port 8080 exposed, bases pinned");
}
