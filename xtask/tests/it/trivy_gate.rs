//! The vulnerability gate against the Trivy behaviours it must survive, on the fake (xtask/fake/trivy.rs cites
//! upstream for each): two scans at once and the scan-cache lock, a Rust binary Trivy cannot read, a project's
//! own `.trivyignore`/`trivy.yaml`, ignore entries by path and purl, a stale database offline, `--quiet` on 0.51.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{api_image, Output, Sandbox};

/// Two plain images (no `binary:`), the vulnerability gate on with `extra` gate keys.
fn two_images(extra: &str) -> Sandbox {
    let mut sb = Sandbox::new().with_file(
        "xtask.yaml",
        format!(
            "project: demo
images:
  - {{ name: one, context: images/one, dockerfile: images/one/Dockerfile, tag: one:1.0.0, port: 8080 }}
  - {{ name: two, context: images/two, dockerfile: images/two/Dockerfile, tag: two:1.0.0, port: 8080 }}
gates:
  vulnerabilities:
    ignore_file: .trivyignore.yaml
{extra}cluster: {{ profile: demo }}
release: {{ chart: chart, name: demo, namespace: demo }}
"
        ),
    );
    for name in ["one", "two"] {
        sb = sb
            .with_file(&format!("images/{name}/Dockerfile"), api_image::dockerfile("app"))
            .with_file(&format!("images/{name}/app"), format!("{name} binary"));
    }
    sb
}

fn build(sb: &Sandbox) -> Output {
    sb.xtask(&["build"]).timeout(Duration::from_secs(300)).run()
}

// ---------------------------------------------------------------------------------------------------------------
// Two scans at once

/// The command the gate ran before (one `trivy image` per image, started as each build finished, sharing the
/// default cache): on v0.66+ the second of two overlapping scans fails on the scan-cache lock.
#[test]
fn the_old_parallel_scans_collide_on_the_scan_cache_lock() {
    let sb = two_images("");
    build(&sb).assert_success();
    let old = |tag: &str, version: &str| {
        sb.tool("trivy", &["image", "--format", "json", "--quiet", "--scanners", "vuln", tag])
            .env("FAKE_TRIVY_SCAN_MS", "5500")
            .env("FAKE_TRIVY_VERSION", version)
    };
    let (a, b) = (old("one:1.0.0", "0.69.3").spawn(), old("two:1.0.0", "0.69.3").spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let failed: Vec<String> =
        outs.iter().filter(|o| !o.status.success()).map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
    assert_eq!(failed.len(), 1, "exactly one of two overlapping scans must fail: {failed:?}");
    assert!(failed[0].contains("cache may be in use by another process: timeout"), "{}", failed[0]);

    // Before 0.66 the second scan waits for the lock instead (trivy#650): both pass, one after the other.
    let started = Instant::now();
    let (a, b) = (old("one:1.0.0", "0.65.0").spawn(), old("two:1.0.0", "0.65.0").spawn());
    assert!(a.wait_with_output().unwrap().status.success() && b.wait_with_output().unwrap().status.success());
    assert!(started.elapsed() >= Duration::from_millis(11_000), "the scans did not wait for each other");
}

/// The gate as it is now: 20 builds in a row, both images scanned at the same time each run for longer than
/// Trivy's 5 s lock timeout, and never a collision.
#[test]
fn twenty_builds_in_a_row_scan_two_images_at_once_without_colliding() {
    let sb = two_images("").with_env("FAKE_TRIVY_SCAN_MS", "5200");
    let mut overlapped = 0;
    for run in 1..=20 {
        // A fresh cache state each time, so both gates scan again.
        let _ = std::fs::remove_dir_all(sb.project_path("target/xtask/state.json"));
        let _ = std::fs::remove_file(sb.project_path("target/xtask/state.json"));
        let out = build(&sb);
        assert_eq!(out.code, Some(0), "run {run}:\n{out}");
        out.stderr_contains("gate:vuln:one: 0 finding(s)").stderr_contains("gate:vuln:two: 0 finding(s)");
        let scans: Vec<_> =
            sb.calls().into_iter().filter(|c| c.command().starts_with("trivy image --format")).collect();
        let last_two = &scans[scans.len() - 2..];
        if last_two[0].overlaps(&last_two[1]) {
            overlapped += 1;
        }
    }
    assert_eq!(overlapped, 20, "the two scans of each run must run at the same time");
    // The DB was fetched once per run, before the scans.
    assert_eq!(sb.commands_of("trivy").iter().filter(|c| c.contains("--download-db-only")).count(), 20);
}

// ---------------------------------------------------------------------------------------------------------------
// The project's own Trivy files

#[test]
fn a_trivyignore_or_trivy_yaml_in_the_project_does_not_change_the_verdict() {
    let report = std::fs::read_to_string(support::fixture_path("trivy/image-critical-current.json")).unwrap();
    let sb = two_images("")
        .seed_state("trivy/one_1.0.0.json", &report)
        // Both would hide or change the finding if Trivy read them (the fake, as Trivy, does by default).
        .with_file(".trivyignore", "CVE-2019-3855\n")
        .with_file("trivy.yaml", "severity: LOW\nexit-code: 5\n");
    // Trivy itself, run plainly in the project, applies both: proof that the files would bite.
    let plain = sb.tool("trivy", &["image", "--format", "json", "one:1.0.0"]).run();
    assert_eq!(plain.code, Some(0), "{plain}");
    assert!(!plain.stdout.contains("CVE-2019-3855"), "the fake did not apply .trivyignore/trivy.yaml");
    let out = build(&sb);
    out.assert_code(1)
        .stderr_contains("one:1.0.0 has 1 vulnerability finding(s) at HIGH/CRITICAL:")
        .stderr_contains("CRITICAL CVE-2019-3855 in libssh2");
}

// ---------------------------------------------------------------------------------------------------------------
// Ignore entries by path and purl, as Trivy matches them

fn cargo_finding(target: &str, pkg_path: Option<&str>, purl: Option<&str>) -> String {
    let mut v = json!({"VulnerabilityID": "RUSTSEC-2024-0001", "PkgName": "foo", "InstalledVersion": "1.2.3",
                       "FixedVersion": "1.2.4", "Severity": "HIGH"});
    if let Some(p) = pkg_path {
        v["PkgPath"] = json!(p);
    }
    if let Some(u) = purl {
        v["PkgIdentifier"] = json!({"PURL": u});
    }
    json!({"SchemaVersion": 2, "ArtifactName": "one:1.0.0",
           "Results": [{"Target": target, "Class": "lang-pkgs", "Type": "rustbinary", "Vulnerabilities": [v]}]})
    .to_string()
}

fn ignoring(scope: &str) -> String {
    format!(
        "vulnerabilities:\n  - id: RUSTSEC-2024-0001\n    statement: not reachable\n    expired_at: 2099-01-01\n{scope}"
    )
}

#[test]
fn ignore_entries_match_target_or_pkg_path_and_purls_as_trivy_does() {
    // (entry scope, finding, ignored?) — pkg/result/ignore.go:88-129,152-163 and pkg/purl/purl.go:269-294.
    let cases: Vec<(&str, String, bool)> = vec![
        ("    paths: [\"app\"]\n", cargo_finding("app", None, None), true),
        ("    paths: [\"usr/**\"]\n", cargo_finding("app", Some("usr/lib/x"), None), true),
        ("    paths: [\"usr/**\"]\n", cargo_finding("app", None, None), false),
        ("    purls: [\"pkg:cargo/foo\"]\n", cargo_finding("app", None, Some("pkg:cargo/foo@1.2.3")), true),
        ("    purls: [\"pkg:cargo/foo@1.2.3\"]\n", cargo_finding("app", None, Some("pkg:cargo/foo@1.2.3")), true),
        ("    purls: [\"pkg:cargo/foo@9.9.9\"]\n", cargo_finding("app", None, Some("pkg:cargo/foo@1.2.3")), false),
        ("    purls: [\"pkg:cargo/bar\"]\n", cargo_finding("app", None, Some("pkg:cargo/foo@1.2.3")), false),
        // A finding without a PURL passes the purls test (matchPURL: target == nil -> true).
        ("    purls: [\"pkg:cargo/bar\"]\n", cargo_finding("app", None, None), true),
    ];
    for (scope, report, ignored) in cases {
        let sb =
            two_images("").seed_state("trivy/one_1.0.0.json", &report).with_file(".trivyignore.yaml", ignoring(scope));
        let out = build(&sb);
        assert_eq!(out.code == Some(0), ignored, "scope {scope:?}, report {report}\n{out}");
        if ignored {
            out.stderr_contains("let through RUSTSEC-2024-0001");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The database

#[test]
fn a_stale_database_offline_is_named_with_the_way_to_scan_anyway() {
    let sb = two_images("").with_env("FAKE_TRIVY_DB", "stale").with_env("FAKE_TRIVY_OFFLINE", "1");
    let out = build(&sb);
    out.assert_code(1)
        .stderr_contains("Trivy's vulnerability database is out of date (downloaded ")
        .stderr_contains("failed to download vulnerability DB")
        .stderr_contains("set TRIVY_SKIP_DB_UPDATE=true (Trivy's --skip-db-update)");
    // Fetched once, not once per gate; no scan ran on a DB that could not be prepared.
    assert_eq!(sb.commands_of("trivy").iter().filter(|c| c.contains("--download-db-only")).count(), 1);
    assert!(!sb.commands_of("trivy").iter().any(|c| c.starts_with("trivy image --format json")));
    // Doing what it says works: the cached DB is used as it is.
    let out = sb.xtask(&["build"]).env("TRIVY_SKIP_DB_UPDATE", "true").run();
    out.assert_success().stderr_contains("TRIVY_SKIP_DB_UPDATE=true: scanning with the cached vulnerability database");

    // No database at all, offline: a different message (nothing cached to fall back on).
    let sb = two_images("").with_env("FAKE_TRIVY_DB", "absent").with_env("FAKE_TRIVY_OFFLINE", "1");
    build(&sb)
        .assert_code(1)
        .stderr_contains("Trivy could not download its vulnerability database and has none cached yet");
}

#[test]
fn a_fatal_error_is_shown_even_on_trivy_0_51_whose_quiet_hid_it() {
    // 0.51 allowed by a lower configured minimum; no DB and TRIVY_SKIP_DB_UPDATE, so the scan itself fails.
    let sb = two_images("").with_env("FAKE_TRIVY_VERSION", "0.51.2").with_env("FAKE_TRIVY_DB", "absent");
    let cfg = std::fs::read_to_string(sb.project_path("xtask.yaml")).unwrap();
    std::fs::write(sb.project_path("xtask.yaml"), format!("{cfg}tools:\n  trivy: {{ minimum: 0.50.0 }}\n")).unwrap();
    // Under --quiet, 0.51 prints nothing at all: the old gate could only say "failed (exit 1)".
    let quiet = sb.tool("trivy", &["image", "--quiet", "--skip-db-update", "--format", "json", "one:1.0.0"]).run();
    assert_eq!((quiet.code, quiet.stderr.as_str()), (Some(1), ""));
    let out = sb.xtask(&["build"]).env("TRIVY_SKIP_DB_UPDATE", "true").run();
    out.assert_code(1).stderr_contains(
        "Trivy could not scan one:1.0.0: Fatal error run error: init error: DB error: database error: \
         --skip-db-update cannot be specified on the first run — Trivy has no vulnerability database yet",
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Rust images: the crates must be visible

/// A `cargo` stand-in for `cargo auditable build`: copies $FAKE_CARGO_BINARY to where cargo would put each
/// package's binary, and logs its arguments.
const FAKE_CARGO: &str = r#"#!/bin/sh
echo "$@" >> "$FAKE_DIR/cargo-args.log"
td=; t=; pkgs=
while [ $# -gt 0 ]; do
  case "$1" in
    --target) t=$2; shift ;;
    --target-dir) td=$2; shift ;;
    -p) pkgs="$pkgs $2"; shift ;;
  esac
  shift
done
for p in $pkgs; do
  mkdir -p "$td/$t/release"
  cp "$FAKE_CARGO_BINARY" "$td/$t/release/$p"
  chmod +x "$td/$t/release/$p"
done
"#;

const DEP_JSON: &str = r#"{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1],"root":true},{"name":"foo","version":"1.2.3","source":"crates.io"}]}"#;

/// One image with `binary: { package: app }`, built by the fake cargo from `binary` (the ELF it copies).
#[cfg(unix)]
fn rust_image(binary: &[u8]) -> Sandbox {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new()
        .with_file(
            "xtask.yaml",
            "project: demo
images:
  - name: app
    context: images/app
    dockerfile: images/app/Dockerfile
    tag: app:1.0.0
    port: 8080
    binary: { package: app, sources: [src] }
cluster: { profile: demo }
release: { chart: chart, name: demo, namespace: demo }
",
        )
        .with_file("images/app/Dockerfile", api_image::dockerfile("app").replace("COPY app /app", "COPY bin/app /app"))
        .with_file("src/main.rs", "fn main() {}\n")
        .with_file("Cargo.lock", "# lock\n")
        .with_file("Cargo.toml", "[workspace]\n");
    let cargo = sb.root.join("cargo");
    std::fs::write(&cargo, FAKE_CARGO).unwrap();
    std::fs::write(sb.bin_dir.join("cargo-auditable"), "#!/bin/sh\nexit 0\n").unwrap();
    for p in [&cargo, &sb.bin_dir.join("cargo-auditable")] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(sb.root.join("app.elf"), binary).unwrap();
    let (cargo, elf) = (cargo.display().to_string(), sb.root.join("app.elf").display().to_string());
    sb.with_env("CARGO", &cargo).with_env("FAKE_CARGO_BINARY", &elf)
}

#[cfg(unix)]
#[test]
fn a_rust_image_whose_scan_finds_no_language_packages_fails_the_gate() {
    // A plain `cargo build` binary: an ELF without `.dep-v0`, which Trivy skips without a word.
    let sb = rust_image(&support::elf_with_sections(&[(".text", b"code")]));
    let out = build(&sb);
    out.assert_code(1).stderr_contains(
        "Trivy reported no language packages in app:1.0.0, which holds the Rust binary `app`: it could not read \
         the binary's crates, so this scan proves nothing about them.",
    );
    // The xtask asked for an auditable build.
    let args = std::fs::read_to_string(sb.fake_dir.join("cargo-args.log")).unwrap();
    assert!(args.starts_with("auditable build --release --locked --target "), "{args}");
}

#[cfg(unix)]
#[test]
fn a_rust_image_built_with_cargo_auditable_passes_and_gets_an_sbom_in_the_run_folder() {
    let elf = support::elf_with_sections(&[(".text", b"code"), (".dep-v0", &support::dep_v0(DEP_JSON))]);
    let sb = rust_image(&elf);
    let out = build(&sb);
    out.assert_success().stderr_contains("gate:vuln:app: 0 finding(s)");
    let sbom_path = support::latest_run(&sb.project).join("sbom/app.cdx.json");
    let bom: Value = serde_json::from_str(&std::fs::read_to_string(&sbom_path).unwrap()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["metadata"]["component"]["name"], "app");
    let purls: Vec<&str> = bom["components"].as_array().unwrap().iter().map(|c| c["purl"].as_str().unwrap()).collect();
    assert_eq!(purls, ["pkg:cargo/app@0.1.0", "pkg:cargo/foo@1.2.3"]);
    // A cached run (nothing changed) still leaves the SBOM in its own run folder: the same bytes, from the copy
    // kept with the image's id under target/xtask/sbom/ rather than from the binary.
    let first = std::fs::read(&sbom_path).unwrap();
    let out = build(&sb);
    out.assert_success().stderr_contains("cached build:app").stderr_contains("SBOM ").stderr_contains("(2 crates)");
    let cached = support::latest_run(&sb.project).join("sbom/app.cdx.json");
    assert_ne!(cached, sbom_path);
    assert_eq!(std::fs::read(&cached).unwrap(), first);
    // A kept copy made from another image is not used: the SBOM is read from the binary again (and kept anew).
    let key = sb.project.join("target/xtask/sbom/app.key");
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("sha256:") && text.contains(" app:1.0.0\n"), "{text}");
    std::fs::write(sb.project.join("target/xtask/sbom/app.cdx.json"), "{}").unwrap();
    std::fs::write(&key, text.replacen("sha256:", "sha256:0", 1)).unwrap();
    build(&sb).assert_success().stderr_contains("cached build:app");
    let again = std::fs::read(support::latest_run(&sb.project).join("sbom/app.cdx.json")).unwrap();
    assert_eq!(again, first);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
}
