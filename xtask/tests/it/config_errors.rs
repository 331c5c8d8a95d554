//! Malformed pipeline configs: each gives one error with file:line:column and exit code 2, never a panic.

use std::process::Command;

/// Runs `xtask doctor` against a project whose xtask.yaml is `yaml`; returns (exit code, stderr).
fn doctor_with(yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xtask.yaml"), yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("doctor")
        .env("XTASK_ROOT", dir.path())
        .env("PATH", dir.path()) // no tools: the config must fail before any is looked for
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "xtask panicked:\n{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

fn assert_one_error(yaml: &str, expected: &str) {
    let (code, stderr) = doctor_with(yaml);
    assert_eq!(code, 2, "exit code for {expected:?}; stderr:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line; stderr:\n{stderr}");
    assert!(errors[0].contains(expected), "expected {expected:?} in:\n{stderr}");
}

const TAIL: &str = "cluster: {}\nrelease: { chart: helm/x, name: x, namespace: x }\n";

#[test]
fn unknown_key_names_the_nearest_valid_one() {
    assert_one_error(
        &format!("project: demo\n{TAIL}imagez: []\n"),
        "xtask.yaml:4:1: unknown key `imagez`; did you mean `images`?",
    );
}

#[test]
fn unknown_nested_key_names_its_section() {
    let yaml = format!("project: demo\nimages:\n  - name: a\n    context: .\n    dockerfile: D\n    tagg: a:1\n{TAIL}");
    assert_one_error(&yaml, "xtask.yaml:6:5: images[0]: unknown key `tagg`; did you mean `tag`?");
}

#[test]
fn wrong_type() {
    let yaml = "project: demo\ncluster:\n  cpus: many\nrelease: { chart: helm/x, name: x, namespace: x }\n";
    assert_one_error(yaml, "xtask.yaml:3:9: cluster.cpus: invalid type: string \"many\", expected u32");
}

#[test]
fn missing_required_field() {
    let yaml = "project: demo\ncluster: {}\nrelease: { chart: helm/x, namespace: x }\n";
    assert_one_error(yaml, "xtask.yaml:3:10: release: missing required key `name`");
}

#[test]
fn empty_file() {
    assert_one_error("", "xtask.yaml:1:1: the file is empty");
    assert_one_error("# only a comment\n\n", "xtask.yaml:1:1: the file is empty");
}

#[test]
fn bad_indentation() {
    let yaml = "project: demo\ncluster:\n  cpus: 2\n   memory: 4g\nrelease: { chart: helm/x, name: x, namespace: x }\n";
    assert_one_error(yaml, "xtask.yaml:3:9:");
    let (_, stderr) = doctor_with(yaml);
    assert!(stderr.contains("check the indentation"), "{stderr}");
    // A tab or a dedent inside a block is a YAML syntax error, reported where the scanner stopped.
    let yaml =
        "project: demo\ncluster:\n    cpus: 2\n  memory: 4g\nrelease: { chart: helm/x, name: x, namespace: x }\n";
    let (code, stderr) = doctor_with(yaml);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("xtask.yaml:4:"), "{stderr}");
}

#[test]
fn bad_values_name_the_unit_or_format() {
    let yaml = "project: demo\ncluster: {memory: 12 parsecs}\nrelease: { chart: helm/x, name: x, namespace: x }\n";
    assert_one_error(yaml, "xtask.yaml:2:19: cluster.memory: `12 parsecs` has an unknown size unit");
    let yaml = format!("project: demo\n{TAIL}timeouts: {{ biuld: 5m }}\n");
    assert_one_error(&yaml, "unknown step kind `biuld` under timeouts; did you mean `build`?");
    let yaml = "project: demo\ncluster: {}\nrelease: { chart: c, name: x, namespace: x, timeout: forever }\n";
    assert_one_error(yaml, "`forever` is not a duration");
}

#[test]
fn cross_references_are_checked() {
    let yaml = format!("project: demo\n{TAIL}");
    let yaml = yaml.replace("namespace: x }", "namespace: x, secret_values: { db.password: nope } }");
    assert_one_error(&yaml, "names secret `nope`, which is not under `secrets:`");
}

#[test]
fn missing_config_file_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["--config", "nowhere.yaml", "doctor"])
        .current_dir(dir.path())
        .env("XTASK_ROOT", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the pipeline config nowhere.yaml"), "{stderr}");
}
