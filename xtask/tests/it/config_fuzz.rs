//! The config fuzz corpus: hundreds of malformed, hostile and huge variants of the demo's xtask.yaml, each with
//! its expected outcome. A refused config exits 2 with `xtask.yaml:LINE:COLUMN` (the line of the offending key
//! where the case knows it); an accepted one plans with exit 0. No case may panic (exit 101) or hang.

use crate::support;

use std::time::{Duration, Instant};

use support::demo;

#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// Exit 2 with a position; on this line when given.
    Reject(Option<usize>),
    Accept,
}

struct Case {
    id: String,
    yaml: Vec<u8>,
    expect: Expect,
}

/// The demo config with line `line` (1-based) replaced.
fn with_line(base: &str, line: usize, new: &str) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    lines[line - 1] = new.to_string();
    lines.join("\n") + "\n"
}

fn line_of(base: &str, prefix: &str) -> usize {
    base.lines().position(|l| l == prefix || l.starts_with(&format!("{prefix} "))).unwrap_or_else(|| panic!("{prefix}"))
        + 1
}

/// A YAML scalar for `v`: plain when it is one of the raw tokens below, else double-quoted (JSON escapes are YAML's).
fn scalar(v: &str) -> String {
    const RAW: &[&str] = &[
        "-1",
        "0",
        "1",
        "18446744073709551615",
        "99999999999999999999",
        "1e400",
        ".nan",
        "null",
        "~",
        "[]",
        "{}",
        "yes",
        "true",
        "0x10",
        "3.5",
        "[a, b]",
        "{a: 1}",
        "&a x",
        "*a",
        "!!binary aGk=",
        "|\n    x",
        "'unterminated",
    ];
    if RAW.contains(&v) || v.parse::<u64>().is_ok() {
        v.to_string()
    } else {
        serde_json::to_string(v).unwrap()
    }
}

/// Values every key below refuses: a name, a path, a tag, a number, a duration and a size alike.
fn refused_by_all() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "--post-renderer=/tmp/evil",
        "-x",
        "../../../../etc",
        "/etc/passwd",
        "a\nb",
        "a\tb",
        "a\u{0}b",
        "a\u{1b}[31mred",
        "[]",
        "{}",
        "[a, b]",
        "{a: 1}",
        "-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a".repeat(10_000));
    v.push("x/".repeat(3000));
    v
}

/// Shell syntax and odd characters: refused in names (tools and Kubernetes would not take them), accepted in
/// paths (a folder may have a space in its name; no path is ever read by a shell).
const SHELLISH: &[&str] = &["$(touch /tmp/pwned)", "`id`", "a;b", "a b", "a|b", "a\u{202e}b", "\u{feff}x", "🦀🦀"];

/// YAML scalars of other types: refused by numbers, durations and sizes; text to a name or path field.
const OTHER_TYPES: &[&str] =
    &["null", "~", "18446744073709551615", "99999999999999999999", "1e400", ".nan", "yes", "true"];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Name,
    Path,
    Number,
}

fn cases() -> Vec<Case> {
    let base = demo::config();
    let mut out = vec![];
    // Each scalar key of the demo config, with the values it must accept besides the ones its kind accepts.
    let keys: &[(&str, Kind, &[&str])] = &[
        ("  profile:", Kind::Name, &["demo-2", "Demo.x"]),
        ("  driver:", Kind::Name, &["podman", "kvm2"]),
        ("  cpus:", Kind::Number, &["4", "1"]),
        ("  memory:", Kind::Number, &["8g", "4096m", "2GiB", "4000000000"]),
        ("  kubernetes_version:", Kind::Name, &["v1.30.0", "stable"]),
        ("  chart:", Kind::Path, &["chart", "./chart", "chart/../chart"]),
        ("  name: demo", Kind::Name, &["demo-2", "demo.v2"]),
        ("  namespace:", Kind::Name, &["demo-2", "apps"]),
        ("  timeout:", Kind::Number, &["90s", "1h30m", "300", "24h"]),
        ("  service:", Kind::Name, &["web", "demo-web"]),
        ("  - name: api", Kind::Name, &[]),
        ("    context: images/api", Kind::Path, &["images/api", "./images/api", "images"]),
        ("    dockerfile: images/api/Dockerfile", Kind::Path, &["images/web/Dockerfile", "./images/api/Dockerfile"]),
        ("    tag: demo-api:1.0.0", Kind::Name, &["localhost:5000/demo-api:1.0.0", "demo-api:v1", "ghcr.io/a/b:1.2"]),
        ("  rollout_timeout:", Kind::Number, &["2m", "45", "500ms"]),
    ];
    for (prefix, kind, accepted) in keys {
        let line = line_of(&base, prefix);
        let key = prefix.split(':').next().unwrap();
        let name = key.trim().trim_start_matches("- ");
        let mut values: Vec<(String, Expect)> =
            refused_by_all().into_iter().map(|v| (v, Expect::Reject(Some(line)))).collect();
        // A YAML syntax error is reported where the scanner stops (the end of the file here), with a position.
        values.push(("'unterminated".into(), Expect::Reject(None)));
        values.push(("*a".into(), Expect::Reject(None)));
        for v in SHELLISH {
            let e = if *kind == Kind::Path { Expect::Accept } else { Expect::Reject(Some(line)) };
            values.push((v.to_string(), e));
        }
        for v in OTHER_TYPES {
            let e = match kind {
                Kind::Number => Expect::Reject(Some(line)),
                // `service` is optional: `null` and `~` unset it.
                Kind::Name if name == "service" && (*v == "null" || *v == "~") => Expect::Accept,
                // The image's name is referred to by image_values; the tag needs a `:`; a profile 2 characters.
                // The image's name: a valid one here is then missing where image_values names `api` (line 26).
                Kind::Name if prefix.contains("- name") && (*v == "~" || *v == ".nan") => Expect::Reject(Some(line)),
                Kind::Name if prefix.contains("- name") => Expect::Reject(Some(26)),
                // A tag needs a `:`.
                Kind::Name if name == "tag" => Expect::Reject(Some(line)),
                // Plain scalars are text to a text field. As names, most are valid (`true`, `null` and digits are
                // DNS labels); `~` is null (a missing name) and `.nan` starts with a dot.
                Kind::Name if *v == "~" || *v == ".nan" => match name {
                    "driver" | "kubernetes_version" if *v == ".nan" => Expect::Accept,
                    _ => Expect::Reject(Some(line)),
                },
                // A Service name starts with a letter.
                Kind::Name if name == "service" && v.starts_with(|c: char| c.is_ascii_digit()) => {
                    Expect::Reject(Some(line))
                }
                _ => Expect::Accept,
            };
            values.push((v.to_string(), e));
        }
        for v in *accepted {
            values.push((v.to_string(), Expect::Accept));
        }
        for (i, (v, expect)) in values.into_iter().enumerate() {
            let yaml = with_line(&base, line, &format!("{key}: {}", scalar(&v)));
            let id = format!("{name} #{i} {:?}", v.chars().take(30).collect::<String>());
            out.push(Case { id, yaml: yaml.into(), expect });
        }
    }
    // Renaming an image together with the references to it.
    out.push(Case {
        id: "image renamed with its references".into(),
        yaml: base
            .replace("  - name: api", "  - name: api_x")
            .replace("backend.image.tag: api", "backend.image.tag: api_x")
            .into(),
        expect: Expect::Accept,
    });
    // Values refused only by some kinds: zero and small numbers, booleans.
    for (prefix, v) in [
        ("  cpus:", "0"),
        ("  cpus:", "5000"),
        ("  memory:", "0"),
        ("  memory:", "lots"),
        ("  memory:", "12 parsecs"),
        ("  memory:", "99999999999999999999h"),
        ("  timeout:", "0"),
        ("  timeout:", "0s"),
        ("  timeout:", "0.0001ms"),
        ("  timeout:", "25h"),
        ("  timeout:", "forever"),
        ("  timeout:", "10000000000000000000s10000000000000000000s"),
        ("  timeout:", "yes"),
        ("  rollout_timeout:", "0"),
        ("  rollout_timeout:", "99999999999999999h"),
        ("    port:", "0x10000"),
        ("    port:", "70000"),
        ("    port:", "-1"),
        ("  profile:", "a"),
        ("  namespace:", "Demo"),
        ("  namespace:", "kube_system"),
        ("  name: demo", &"a".repeat(54)),
        ("  service:", "1web"),
        ("    tag: demo-api:1.0.0", "demo-api"),
        ("    tag: demo-api:1.0.0", "demo-api:"),
        ("    tag: demo-api:1.0.0", ":"),
        ("    tag: demo-api:1.0.0", "demo-api:LATEST"),
        ("    tag: demo-api:1.0.0", "demo-api:latest"),
        ("    tag: demo-api:1.0.0", "localhost:5000/demo-api"),
        ("    context: images/api", "images/api/Dockerfile"),
        ("    dockerfile: images/api/Dockerfile", "images/api"),
        ("  chart:", "chart/Chart.yaml"),
    ] {
        let line = line_of(&base, prefix);
        let key = prefix.split(':').next().unwrap();
        let yaml = with_line(&base, line, &format!("{key}: {}", scalar(v)));
        out.push(Case { id: format!("{} {v:?}", key.trim()), yaml: yaml.into(), expect: Expect::Reject(Some(line)) });
    }
    // Whole-document damage.
    let n = base.lines().count();
    for (id, yaml, expect) in [
        ("empty", String::new(), Expect::Reject(Some(1))),
        ("comment only", "# nothing\n".into(), Expect::Reject(Some(1))),
        ("a scalar", "hello\n".into(), Expect::Reject(None)),
        ("a list", "- a\n- b\n".into(), Expect::Reject(None)),
        ("unclosed flow", base.replace("[ingress, metrics-server]", "[ingress, metrics-server"), Expect::Reject(None)),
        ("unclosed map", base.replace("{ env: DEMO_DB_PASSWORD }", "{ env: DEMO_DB_PASSWORD"), Expect::Reject(None)),
        ("tab indent", base.replace("  cpus: 2", "\tcpus: 2"), Expect::Reject(None)),
        ("bad indent", base.replace("  cpus: 2", "   cpus: 2"), Expect::Reject(None)),
        ("dedent", base.replace("  memory: 4g", "memory: 4g"), Expect::Reject(None)),
        ("duplicate section", format!("{base}verify: {{}}\n"), Expect::Reject(Some(n + 1))),
        ("duplicate key", base.replace("  cpus: 2", "  cpus: 2\n  cpus: 3"), Expect::Reject(Some(17))),
        ("unknown top key", format!("{base}frobnicate: 1\n"), Expect::Reject(Some(n + 1))),
        ("unknown nested key", base.replace("  cpus: 2", "  cpus: 2\n  cpuz: 2"), Expect::Reject(Some(17))),
        ("no project", base.replacen("project: demo\n", "", 1), Expect::Reject(None)),
        ("no release", base.split("release:").next().unwrap().to_string(), Expect::Reject(None)),
        ("no cluster", base.replace("cluster:\n", "clusterx:\n"), Expect::Reject(None)),
        ("anchor bomb", format!("{base}x: &a [a,a,a,a,a,a,a,a,a]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"), Expect::Reject(None)),
        ("deep flow nesting", format!("{base}x: {}{}\n", "[".repeat(5000), "]".repeat(5000)), Expect::Reject(None)),
        ("deep block nesting", format!("{base}x:\n{}", (1..200).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect::<String>()), Expect::Reject(None)),
        ("100k keys", format!("{base}{}", (0..100_000).map(|i| format!("k{i}: 1\n")).collect::<String>()), Expect::Reject(None)),
        ("BOM", format!("\u{feff}{base}"), Expect::Accept),
        ("CRLF", base.replace('\n', "\r\n"), Expect::Accept),
        ("trailing document", format!("{base}---\nproject: other\n"), Expect::Reject(None)),
        // serde_yaml reads past YAML tags: the map is still a map, the text still text (and a valid driver name).
        ("tag on a map", base.replace("cluster:\n", "cluster: !!str\n"), Expect::Accept),
        ("binary tag", base.replace("  driver: docker", "  driver: !!binary ZG9ja2Vy"), Expect::Accept),
        ("two images, api takes web's tag", base.replace("tag: demo-api:1.0.0", "tag: demo-web:1.0.0"), Expect::Reject(Some(11))),
        ("timeouts unknown kind", format!("{base}timeouts: {{ biuld: 5m }}\n"), Expect::Reject(Some(n + 1))),
        ("timeouts huge", format!("{base}timeouts:\n  preflight: 18446744073709551615\n"), Expect::Reject(Some(n + 2))),
        ("timeouts huge text", format!("{base}timeouts:\n  build: 99999999999999999999h\n"), Expect::Reject(Some(n + 2))),
        ("timeouts zero", format!("{base}timeouts:\n  build: 0\n"), Expect::Reject(Some(n + 2))),
        ("release timeout huge", base.replace("  timeout: 2m", "  timeout: 18446744073709551615"), Expect::Reject(Some(25))),
        ("two images, same tag", base.replace("tag: demo-web:1.0.0", "tag: demo-api:1.0.0"), Expect::Reject(Some(11))),
        ("two images, same name", base.replace("  - name: web", "  - name: api"), Expect::Reject(Some(8))),
        ("secret without source", base.replace("db: { env: DEMO_DB_PASSWORD }", "db: {}"), Expect::Reject(None)),
        ("secret env empty", base.replace("db: { env: DEMO_DB_PASSWORD }", "db: { env: \"\" }"), Expect::Reject(Some(30))),
        ("secret env with NUL", base.replace("db: { env: DEMO_DB_PASSWORD }", "db: { env: \"A\\0B\" }"), Expect::Reject(Some(30))),
        ("secret file outside", base.replace("db: { env: DEMO_DB_PASSWORD }", "db: { env: X_UNSET, file: ../../x, generate: true }"), Expect::Reject(Some(30))),
        ("secret values clash", base.replace("secret_values: { database.password: db }", "secret_values: { database.password: db, database: db }"), Expect::Reject(Some(27))),
        ("missing secret", base.replace("secret_values: { database.password: db }", "secret_values: { database.password: nope }"), Expect::Reject(Some(27))),
        ("missing image", base.replace("frontend.image.tag: web", "frontend.image.tag: nope"), Expect::Reject(Some(26))),
        ("severities empty", format!("{base}gates: {{ vulnerabilities: {{ severities: [] }} }}\n"), Expect::Reject(Some(n + 1))),
        ("severities unknown", format!("{base}gates: {{ vulnerabilities: {{ severities: [SEVERE] }} }}\n"), Expect::Reject(Some(n + 1))),
        ("tool minimum banana", format!("{base}tools: {{ helm: {{ minimum: banana }} }}\n"), Expect::Reject(Some(n + 1))),
        ("unknown tool", format!("{base}tools: {{ helmm: {{ minimum: 3.0.0 }} }}\n"), Expect::Reject(Some(n + 1))),
        ("ai step names twice", format!("{base}ai:\n  steps:\n    - {{ name: a, tool: kubectl-ai, prompt: hi }}\n    - {{ name: a, tool: kubectl-ai, prompt: ho }}\n"), Expect::Reject(Some(n + 4))),
        ("ai step name a:b", format!("{base}ai:\n  steps:\n    - {{ name: \"a:b\", tool: kubectl-ai, prompt: hi }}\n"), Expect::Reject(Some(n + 3))),
        ("ai step ok", format!("{base}ai:\n  steps:\n    - {{ name: review, tool: kubectl-ai, prompt: \"review the release\" }}\n"), Expect::Accept),
        ("load concurrency huge", format!("{base}  load: {{ concurrency: 4294967295 }}\n"), Expect::Reject(Some(n + 1))),
        ("load concurrency too big", format!("{base}  load: {{ concurrency: 100000 }}\n"), Expect::Reject(Some(n + 1))),
        ("api path shell", format!("{base}  api: {{ path: \"/api/tasks; touch /tmp/INJECTED #\" }}\n"), Expect::Reject(Some(n + 1))),
        ("manifests outside", format!("{base}manifests: {{ output: ../../out.yaml }}\n"), Expect::Reject(Some(n + 1))),
        ("manifests ok", format!("{base}manifests: {{ output: k8s/all.yaml }}\n"), Expect::Accept),
        ("ignore file /dev/zero", format!("{base}gates: {{ vulnerabilities: {{ ignore_file: /dev/zero }} }}\n"), Expect::Reject(Some(n + 1))),
        ("values /dev/zero", base.replace("values: [chart/values-dev.yaml]", "values: [/dev/zero]"), Expect::Reject(Some(24))),
        ("context /dev", base.replace("context: images/api\n", "context: /dev\n"), Expect::Reject(Some(4))),
        ("2000 images", {
            let imgs: String = (0..2000).map(|i| format!("  - {{ name: i{i}, context: images/api, dockerfile: images/api/Dockerfile, tag: \"i{i}:1\" }}\n")).collect();
            base.replacen("images:\n", &format!("images:\n{imgs}"), 1)
        }, Expect::Accept),
    ] {
        out.push(Case { id: id.to_string(), yaml: yaml.into_bytes(), expect });
    }
    // Bytes that are not UTF-8 text, and a file too large to be a config.
    let mut bad = demo::config().into_bytes();
    bad.splice(20..20, [0xff, 0xfe, 0x00]);
    out.push(Case { id: "invalid UTF-8".into(), yaml: bad, expect: Expect::Reject(Some(2)) });
    let utf16: Vec<u8> = demo::config().encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    out.push(Case { id: "UTF-16".into(), yaml: [&[0xff, 0xfe][..], &utf16].concat(), expect: Expect::Reject(Some(1)) });
    out.push(Case {
        id: "5 MB".into(),
        yaml: format!("{}# {}\n", demo::config(), "x".repeat(5 << 20)).into_bytes(),
        expect: Expect::Reject(None),
    });
    out
}

#[test]
fn the_config_fuzz_corpus_gives_its_expected_outcome_and_never_panics_or_hangs() {
    let cases = cases();
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    let sb = demo::project();
    let mut wrong = vec![];
    let started = Instant::now();
    for c in &cases {
        std::fs::write(sb.project.join("xtask.yaml"), &c.yaml).unwrap();
        let t = Instant::now();
        let out = sb.xtask(&["plan", "up"]).timeout(Duration::from_secs(30)).run_allowing_timeout();
        if out.timed_out || t.elapsed() > Duration::from_secs(20) {
            wrong.push(format!("{}: hung ({:?})", c.id, t.elapsed()));
            continue;
        }
        let err = out.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or("").to_string();
        let verdict = match (&c.expect, out.code) {
            (_, Some(101)) => Some(format!("panicked: {}", out.stderr.chars().take(300).collect::<String>())),
            (Expect::Accept, Some(0)) => None,
            (Expect::Accept, code) => Some(format!("expected accepted, got {code:?}: {err}")),
            (Expect::Reject(line), Some(2)) => {
                let pos = err
                    .strip_prefix("error: xtask.yaml:")
                    .map(|r| r.splitn(3, ':').take(2).map(|n| n.parse::<usize>().ok()).collect::<Vec<_>>());
                match (pos.as_deref(), line) {
                    (Some([Some(l), Some(_)]), Some(want)) if l != want => {
                        Some(format!("refused at line {l}, not {want}: {err}"))
                    }
                    (Some([Some(_), Some(_)]), _) => None,
                    _ => Some(format!("refused without file:line:column: {err}")),
                }
            }
            (Expect::Reject(_), code) => Some(format!("expected exit 2, got {code:?}: {err}")),
        };
        if let Some(v) = verdict {
            wrong.push(format!("{}: {v}", c.id));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases went wrong (in {:?}):\n{}",
        wrong.len(),
        cases.len(),
        started.elapsed(),
        wrong.join("\n")
    );
}
