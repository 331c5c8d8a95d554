//! The canary test: a secret goes through every command (with helm and kubectl failing and printing it, an AI that
//! repeats it, a chart that renders its base64), and no form of it — raw, JSON-escaped, XML-escaped, URL-encoded,
//! base64, or any line of a multi-line value — may appear in any file the xtask writes, in its stdout or stderr,
//! or in any tool's argv.

use crate::support;

use std::path::Path;

use serde_json::json;
use support::{demo, Sandbox};

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            o.push(if i <= c.len() { A[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    o
}

/// The database URL the chart's Secret carries (helm/todo/templates/secret.yaml renders it base64-encoded).
fn db_url(pw: &str) -> String {
    format!("postgres://todo:{pw}@demo-postgresql:5432/todo")
}

/// Every shape in which the secret must not appear.
fn forms(pw: &str) -> Vec<String> {
    let mut texts = vec![pw.to_string()];
    if pw.contains('\n') {
        texts.extend(pw.lines().map(str::to_string));
    }
    let mut out = vec![];
    for t in &texts {
        out.push(t.clone());
        let j = serde_json::to_string(t).unwrap();
        out.push(j[1..j.len() - 1].to_string());
        out.push(t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;"));
        let url: String = t
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        out.push(url);
    }
    out.push(b64(pw.as_bytes()));
    out.push(b64(db_url(pw).as_bytes()));
    out.sort();
    out.dedup();
    out
}

/// The chart's render with the Secret real helm would print (helm/todo/templates/secret.yaml: `password` and
/// `database-url` under `data`, base64-encoded by `b64enc`).
fn render_with_secret(sb: &Sandbox, pw: &str) -> String {
    let base = std::fs::read_to_string(sb.project.join("chart/fake-render.yaml")).unwrap();
    format!(
        "{base}\n---\n# Source: todo/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: demo-db\n\
         type: Opaque\ndata:\n  password: \"{}\"\n  database-url: \"{}\"\n",
        b64(pw.as_bytes()),
        b64(db_url(pw).as_bytes())
    )
}

fn failing_scenario(pw: &str) -> serde_json::Value {
    json!({"rules": [
        // helm fails and prints the value it was given (a template error quoting a value does this).
        {"tool": "helm", "match": "upgrade *", "stderr": format!("Error: UPGRADE FAILED: bad password {pw}\n"), "exit": 1},
        {"tool": "helm", "match": "lint *", "stdout": format!("==> Linting chart\n[ERROR] values: password {pw} too weak\n"), "fallthrough": true},
        // kubectl fails too, its message quoting the secret.
        {"tool": "kubectl", "match": "*get events*", "stderr": format!("error: cannot list events: DATABASE_URL={}\n", db_url(pw)), "exit": 1},
        {"tool": "kubectl", "match": "*describe pod*", "stdout": format!("Environment:\n  DATABASE_PASSWORD: {pw}\n")},
    ]})
}

fn assert_clean(pw: &str, what: &str, text: &str) {
    for f in forms(pw) {
        assert!(
            !text.contains(&f),
            "{what} holds the secret as {f:?}:\n{}",
            text.chars().take(4000).collect::<String>()
        );
    }
}

fn scan_tree(pw: &str, dir: &Path, scanned: &mut usize) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            scan_tree(pw, &p, scanned);
        } else if ft.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert_clean(pw, &p.display().to_string(), &String::from_utf8_lossy(&bytes));
            *scanned += 1;
        }
    }
}

fn canary_through_every_command(pw: &str) {
    let sb = demo::project()
        .with_env("DEMO_DB_PASSWORD", pw)
        .with_env("GEMINI_API_KEY", "k")
        .with_env("FAKE_DOCKER_AI", "1")
        .with_env("FAKE_AI_ANSWER", &format!("The root cause: the pod uses password {pw} which is wrong."))
        .seed_state_from_fixture("kube/pods.json", "kubectl/get-pods.synthesized.json")
        .seed_state("kube/logs/todo-api-crashloop.txt", format!("previous run: DATABASE_URL={}\n", db_url(pw)));
    let render = render_with_secret(&sb, pw);
    let sb = sb.with_file("chart/fake-render.yaml", render.clone());
    let config = format!("{}ai:\n  on_failure: kubectl-ai\n", demo::config());
    let sb = sb.with_file("xtask.yaml", config).with_scenario(failing_scenario(pw));
    let summary = sb.root.join("step-summary.md");
    let mut outputs = vec![];
    let mut run = |args: &[&str]| {
        let out = sb.xtask(args).env("GITHUB_STEP_SUMMARY", &summary).env("XTASK_CI_ID", "canary").run();
        assert!(out.code != Some(101), "{args:?} panicked: {}", out.stderr);
        outputs.push((args.join(" "), out.code, out.stdout.clone(), out.stderr.clone()));
    };
    run(&["plan", "up"]);
    run(&["up"]);
    run(&["-v", "up"]);
    run(&["ci", "deploy", "verify", "teardown"]);
    // Now a release that deploys, so the commands that read it have one.
    std::fs::write(sb.fake_dir.join("scenario.json"), r#"{"rules":[]}"#).unwrap();
    for args in [
        &["up"][..],
        &["verify"],
        &["verify", "--static"],
        &["rollback"],
        &["ai", "ask", "why does the api crash?"],
        &["ai", "agent", "why does the api crash?"],
        &["ai", "docker", "why does the api crash?"],
        &["doctor"],
        &["doctor", "--json"],
        &["tools", "list"],
        &["manifests"],
        &["plan", "teardown"],
        &["plan", "ci", "deploy"],
        &["build"],
        &["ci"],
        &["teardown"],
        &["teardown", "--delete"],
    ] {
        run(args);
    }
    // The failing scenario again against the deployed release: helm status and kubectl print the secret.
    std::fs::write(sb.fake_dir.join("scenario.json"), failing_scenario(pw).to_string()).unwrap();
    run(&["up"]);
    run(&["teardown"]);
    assert_eq!(outputs[1].1, Some(1), "the first up fails at the upgrade:\n{}", outputs[1].3);
    for (args, _, stdout, stderr) in &outputs {
        assert_clean(pw, &format!("stdout of {args}"), stdout);
        assert_clean(pw, &format!("stderr of {args}"), stderr);
    }
    let mut scanned = 0;
    scan_tree(pw, &sb.project.join("target"), &mut scanned);
    scan_tree(pw, &sb.project.join(".xtask"), &mut scanned);
    assert!(scanned > 50, "only {scanned} files were written");
    if summary.exists() {
        assert_clean(pw, "the job summary", &std::fs::read_to_string(&summary).unwrap());
    }
    // No secret on a command line (AI prompts included), and the fake saw the teardown's helm status.
    let calls = std::fs::read_to_string(sb.fake_dir.join("calls.jsonl")).unwrap();
    for line in calls.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let args: Vec<String> =
            v["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap_or("").to_string()).collect();
        assert_clean(pw, "a tool's argv", &args.join(" "));
    }
    assert!(calls.contains("\"status\""), "teardown asked helm status");
    // No secret values file outlives its step.
    let leftovers: Vec<_> =
        walk_names(&sb.project.join("target")).into_iter().filter(|p| p.contains("/secrets/")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk_names(dir: &Path) -> Vec<String> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        out.push(p.display().to_string());
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_names(&p));
        }
    }
    out
}

#[test]
fn a_plain_canary_never_leaves_the_run() {
    canary_through_every_command("CANARY-7f3a9c1e-sec");
}

#[test]
fn a_canary_with_json_escapes_never_leaves_the_run() {
    canary_through_every_command("CAN\"ARY\\z-9b2e-sec");
}

#[test]
fn a_canary_with_xml_specials_never_leaves_the_run() {
    canary_through_every_command("CAN&ARY<x>-5d1c-sec");
}

#[test]
fn a_multi_line_canary_never_leaves_the_run() {
    canary_through_every_command("MLCANARY-first-half\nMLCANARY-second-half");
}

/// A run killed outright leaves its secret values file behind; the next run removes it before doing anything.
#[test]
fn secret_files_of_a_killed_run_are_removed_by_the_next() {
    let sb = demo::project();
    let stale = sb.project.join("target/xtask/runs/20200101T000000-up-1/secrets");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("deploy_demo.json"), r#"{"database":{"password":"left"}}"#).unwrap();
    let ci_stale = sb.project.join("target/xtask/ci/old/deploy/secrets");
    std::fs::create_dir_all(&ci_stale).unwrap();
    std::fs::write(ci_stale.join("deploy_demo.json"), "{}").unwrap();
    sb.xtask(&["build"]).run().assert_success();
    assert!(!stale.exists() && !ci_stale.exists(), "stale secret folders are removed");
}

/// state.json keeps no plain hash of the secret values: a guessed password cannot be checked offline.
#[test]
fn state_holds_no_unkeyed_hash_of_the_secrets() {
    use sha2::{Digest, Sha256};
    let pw = "CANARY-state-1234";
    let sb = demo::project().with_env("DEMO_DB_PASSWORD", pw);
    sb.xtask(&["up"]).run().assert_success();
    let state = std::fs::read_to_string(sb.project.join("target/xtask/state.json")).unwrap();
    let values = json!({"database": {"password": pw}}).to_string();
    let plain: String = Sha256::digest(values.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert!(!state.contains(&plain), "state.json holds sha256 of the secret values");
    assert!(state.contains("secret values"), "the secret still decides the cache");
    let key = sb.project.join("target/xtask/secret.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // A rotated secret still redeploys.
    let before = sb.calls().len();
    sb.xtask(&["up"]).env("DEMO_DB_PASSWORD", "another-secret-5678").run().assert_success();
    assert!(sb.calls()[before..].iter().any(|c| c.tool == "helm" && c.args.first().is_some_and(|a| a == "upgrade")));
}
