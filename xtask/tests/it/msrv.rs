//! The workspace's `rust-version` is true: every member inherits it, and no locked dependency needs a newer Rust
//! (clippy's `incompatible_msrv` lint, run in CI, checks the std APIs the code uses against it).

use std::process::Command;

fn version(s: &str) -> Vec<u64> {
    s.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

#[test]
fn every_member_inherits_a_rust_version_no_locked_dependency_exceeds() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(out.status.success(), "cargo metadata failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let declared = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("[workspace.package] rust-version");
    let members: Vec<&str> = meta["workspace_members"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
    let packages = meta["packages"].as_array().unwrap();
    let mut problems = vec![];
    for p in packages {
        let (name, rv) = (p["name"].as_str().unwrap(), p["rust_version"].as_str());
        let member = members.contains(&p["id"].as_str().unwrap());
        if member && rv != Some(declared) {
            problems.push(format!("member {name} has rust-version {rv:?}: add `rust-version.workspace = true`"));
        }
        if !member && rv.is_some_and(|rv| version(rv) > version(declared)) {
            problems.push(format!("{name} {} needs Rust {} > {declared}", p["version"], rv.unwrap_or_default()));
        }
    }
    assert_eq!(members.len(), 4, "{members:?}");
    assert!(problems.is_empty(), "rust-version {declared} is not true:\n{}", problems.join("\n"));
}
