//! The xtask's layering, checked on its source in the style of rust-analyzer's `tidy.rs`: every module's `crate::`,
//! `super::` and `self::` paths are read as imports, and a module that imports a higher layer, or an import loop
//! among modules, fails the test. The rules are the "Architecture invariant" lines of docs/architecture.md; each rule
//! below carries its line, and the test checks that the line is there, so the doc and the check cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import its own layer and the layers below it, never one above.
const LAYERS: &[(&str, &[&str])] = &[
    ("vocabulary", &["kinds"]),
    (
        "leaves",
        &[
            "dockerfile",
            "error",
            "files",
            "image_size",
            "names",
            "output",
            "secrets",
            "signals",
            "text",
            "time",
            "units",
            "version",
            "yaml",
        ],
    ),
    ("targets", &["target"]),
    ("config", &["config"]),
    ("policy", &["policy"]),
    ("config loading", &["config_check"]),
    ("context", &["context"]),
    ("cli", &["cli"]),
    ("reports", &["report", "report_files", "report_html"]),
    ("engine", &["events", "pipeline"]),
    (
        "tool adapters",
        &["addons", "docker", "helm", "http", "k3d", "kind", "kube", "minikube", "registry", "tools", "trivy"],
    ),
];

/// The rules as docs/architecture.md states them (each line must appear there verbatim).
const INVARIANTS: &[&str] = &[
    "**Architecture invariant:** the vocabulary leaf (`kinds.rs`) imports nothing from the crate.",
    "**Architecture invariant:** a module imports only modules of its own layer or of the layers below it.",
    "**Architecture invariant:** the config (`target.rs`, then `config.rs`, then `config_check.rs`, which loads and checks it) imports only the vocabulary and the leaves; `target.rs` never imports `config.rs`, and neither imports its checker.",
    "**Architecture invariant:** the policies (`policy/`) import only the config, the vocabulary and the leaves: a policy is pure logic over parsed data and runs no tool.",
    "**Architecture invariant:** the engine (`pipeline/`, `events.rs`) imports no command and no tool adapter.",
    "**Architecture invariant:** the report (`report.rs`, `report_html.rs`, `report_files.rs`) imports nothing from the engine; the engine writes it.",
    "**Architecture invariant:** no import loop among the xtask's modules.",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` as (module path, text): `pipeline/mod.rs` is `pipeline`, `pipeline/exec.rs` is
/// `pipeline::exec`, `main.rs` is `main`.
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(dir).unwrap().with_extension("");
                let mut parts: Vec<String> =
                    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                if parts.last().is_some_and(|l| l == "mod") {
                    parts.pop();
                }
                out.insert(parts.join("::"), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// The code of a module as imports see it: unit tests (from `#[cfg(test)]` on) and comment lines left out.
fn code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end].lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The paths a use tree starting at `s` names, each as its segments (`{a::b, c}` gives `a::b` and `c`).
fn use_paths(s: &str) -> Vec<Vec<String>> {
    fn tree(chars: &[char], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        loop {
            let start = *i;
            while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            if *i > start {
                path.push(chars[start..*i].iter().collect());
            }
            if chars[*i..].starts_with(&[':', ':']) {
                *i += 2;
                if chars.get(*i) == Some(&'{') {
                    *i += 1;
                    loop {
                        while chars.get(*i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                            *i += 1;
                        }
                        if chars.get(*i).is_none_or(|c| *c == '}') {
                            *i += 1;
                            return;
                        }
                        tree(chars, i, &path, out);
                    }
                }
                continue;
            }
            out.push(path);
            return;
        }
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    tree(&chars, &mut 0, &[], &mut out);
    out
}

/// The modules `module` imports (other than itself), resolved to the longest module path each import names.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code(text);
    let mut out = BTreeSet::new();
    let here: Vec<&str> = if module == "main" { vec![] } else { module.split("::").collect() };
    // `super::` of `pipeline::exec` is `pipeline`; of a `mod.rs` or a top-level file it is the crate.
    let parent: Vec<&str> = here[..here.len().saturating_sub(1)].to_vec();
    let is_dir_module = known.iter().any(|k| k.starts_with(&format!("{module}::")));
    for (prefix, base) in [("crate::", vec![]), ("super::", parent), ("self::", here.clone())] {
        if prefix == "self::" && !is_dir_module {
            continue;
        }
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + prefix.len()..];
            rest = after;
            // `$crate::` is a macro's own path; `foo::crate::` or `x_super::` are not ours.
            if before.is_some_and(|c| c == '$' || c == ':' || c.is_alphanumeric() || c == '_') {
                continue;
            }
            for path in use_paths(after) {
                let full: Vec<String> = base.iter().map(|s| s.to_string()).chain(path).collect();
                if let Some(m) = (1..=full.len()).rev().map(|n| full[..n].join("::")).find(|m| known.contains(m)) {
                    if m != module {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(&src());
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    mods.iter().map(|(m, text)| (m.clone(), imports(m, text, &known))).collect()
}

/// The layer index of a module (`pipeline::exec` is in `pipeline`'s layer); modules in no layer are above them all.
fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS.iter().position(|(_, ms)| ms.contains(&top)).unwrap_or(LAYERS.len())
}

fn layer_violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut bad = Vec::new();
    for (m, deps) in graph {
        for d in deps {
            if layer(d) > layer(m) {
                let name = |i: usize| LAYERS.get(i).map_or("commands", |l| l.0);
                bad.push(format!("{m} ({}) imports {d} ({})", name(layer(m)), name(layer(d))));
            }
        }
    }
    bad
}

/// The strongly connected components with more than one module (Tarjan).
fn loops(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.g.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w.as_str()) {
                    let iw = self.index[w.as_str()];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    scc.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    scc.sort();
                    self.out.push(scc);
                }
            }
        }
    }
    let mut t = T { g: graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn the_vocabulary_leaf_imports_nothing_from_the_crate() {
    let g = graph();
    assert!(g.contains_key("kinds"), "xtask/src/kinds.rs is the vocabulary leaf");
    assert_eq!(g["kinds"], BTreeSet::new(), "kinds.rs must import nothing from the crate");
}

#[test]
fn no_module_imports_a_higher_layer() {
    let bad = layer_violations(&graph());
    assert!(bad.is_empty(), "imports against the layering of docs/architecture.md:\n  {}", bad.join("\n  "));
}

#[test]
fn the_engine_imports_no_command_and_no_tool_adapter() {
    let g = graph();
    let engine_layer = layer("pipeline");
    let bad: Vec<String> = g
        .iter()
        .filter(|(m, _)| layer(m) == engine_layer)
        .flat_map(|(m, deps)| deps.iter().filter(|d| layer(d) > engine_layer).map(move |d| format!("{m} imports {d}")))
        .collect();
    assert!(bad.is_empty(), "the engine names commands or tool adapters:\n  {}", bad.join("\n  "));
}

#[test]
fn the_policies_import_only_the_config_and_below() {
    let g = graph();
    assert!(g.contains_key("policy"), "xtask/src/policy/ holds the policies");
    let bad: Vec<String> = g
        .iter()
        .filter(|(m, _)| layer(m) == layer("policy"))
        .flat_map(|(m, deps)| {
            deps.iter()
                .filter(|d| layer(d) >= layer("policy") && !d.starts_with("policy"))
                .map(move |d| format!("{m} imports {d}"))
        })
        .collect();
    assert!(bad.is_empty(), "a policy imports more than the config and the leaves:\n  {}", bad.join("\n  "));
}

#[test]
fn no_import_loop() {
    let found = loops(&graph());
    assert!(found.is_empty(), "import loops among xtask/src modules: {found:?}");
}

#[test]
fn the_rules_are_the_documented_invariants() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md")).unwrap();
    for rule in INVARIANTS {
        assert!(doc.contains(rule), "docs/architecture.md lacks the line:\n{rule}");
    }
    for (name, members) in LAYERS {
        let line = format!("| {name} | {} |", members.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "));
        assert!(doc.contains(&line), "docs/architecture.md's layer table lacks the row:\n{line}");
    }
}

/// The checks above catch what they claim: a made-up module set with an upward import and a loop fails them.
#[test]
fn the_checks_fail_on_a_violation() {
    let known: BTreeSet<String> =
        ["kinds", "config", "pipeline", "pipeline::exec", "build", "kube"].map(String::from).into();
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("kinds", "use crate::config::Config;\n"),
        ("config", "use crate::{kinds::Check, yaml};\n"),
        ("pipeline", "use self::exec::Exec;\nuse crate::build::policy;\n"),
        ("pipeline::exec", "fn f() { super::run(); }\n"),
        ("build", "//! uses crate::pipeline in a comment only\nuse crate::pipeline::{exec::Exec, Step};\n#[cfg(test)]\nmod tests { use crate::kinds; }\n"),
        ("kube", "use crate::pipeline::StepCx;\nfn f() { crate::build::run(); }\n"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_string(), imports(m, t, &known)))
    .collect();
    assert_eq!(g["kinds"], ["config"].map(String::from).into());
    assert_eq!(g["pipeline"], ["build", "pipeline::exec"].map(String::from).into());
    assert_eq!(g["pipeline::exec"], ["pipeline"].map(String::from).into());
    assert_eq!(g["build"], ["pipeline", "pipeline::exec"].map(String::from).into());
    let bad = layer_violations(&g);
    assert!(bad.contains(&"kinds (vocabulary) imports config (config)".to_string()), "{bad:?}");
    assert!(bad.contains(&"pipeline (engine) imports build (commands)".to_string()), "{bad:?}");
    assert!(bad.contains(&"kube (tool adapters) imports build (commands)".to_string()), "{bad:?}");
    assert_eq!(loops(&g), vec![vec!["build".to_string(), "pipeline".into(), "pipeline::exec".into()]]);
}
