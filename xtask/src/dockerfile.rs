//! Dockerfiles read as text, without Docker: the base images a file pulls, whether a reference is pinned, the
//! config its final stage sets, and the Dockerfile line behind a layer the legacy builder recorded. A leaf: the image
//! policy and the docker adapter both read Dockerfiles through it.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::Value;

/// A `FROM` line of a Dockerfile.
#[derive(Debug, PartialEq, Eq)]
pub struct From {
    pub line: usize,
    pub image: String,
}

/// The base images a Dockerfile pulls: `FROM` references with build args expanded, leaving out `scratch` and
/// earlier stages used as bases.
pub fn base_images(dockerfile: &str, build_args: &std::collections::BTreeMap<String, String>) -> Vec<From> {
    let mut args: std::collections::BTreeMap<String, String> = Default::default();
    let mut stages: Vec<String> = vec![];
    let mut out = vec![];
    let mut seen_from = false;
    for (i, raw) in logical_lines(dockerfile) {
        let mut words = raw.split_whitespace();
        let Some(instr) = words.next() else { continue };
        match instr.to_ascii_uppercase().as_str() {
            // Only ARGs before the first FROM can be used in FROM lines.
            "ARG" if !seen_from => {
                for w in words {
                    let (k, v) = w.split_once('=').unwrap_or((w, ""));
                    let v = build_args.get(k).cloned().unwrap_or_else(|| v.trim_matches('"').to_string());
                    args.insert(k.to_string(), v);
                }
            }
            "FROM" => {
                seen_from = true;
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let Some(image) = rest.first() else { continue };
                let image = expand(image, &args);
                // A stage declared earlier is not pulled; `scratch` is no image at all.
                let local = image.eq_ignore_ascii_case("scratch") || stages.contains(&image.to_ascii_lowercase());
                if let (Some(a), Some(name)) = (rest.get(1), rest.get(2)) {
                    if a.eq_ignore_ascii_case("as") {
                        stages.push(name.to_ascii_lowercase());
                    }
                }
                if local {
                    continue;
                }
                out.push(From { line: i, image });
            }
            _ => {}
        }
    }
    out
}

/// The Dockerfile line that made a layer the legacy builder recorded as `COPY file:<sha> in /dest` (or `ADD`, or
/// `dir:`): the COPY/ADD of the same destination, with its line number. Other records are returned as they are.
pub fn instruction_for(created_by: &str, dockerfile: &str) -> String {
    let words: Vec<&str> = created_by.split_whitespace().collect();
    let (Some(instr), Some(src), Some(dest)) = (words.first(), words.get(1), words.last()) else {
        return created_by.to_string();
    };
    let legacy = matches!(*instr, "COPY" | "ADD") && (src.starts_with("file:") || src.starts_with("dir:"));
    if !legacy || words.get(words.len().saturating_sub(2)) != Some(&"in") {
        return created_by.to_string();
    }
    for (line, text) in logical_lines(dockerfile) {
        let w: Vec<&str> = text.split_whitespace().filter(|w| !w.starts_with("--")).collect();
        let same_instr = w.first().is_some_and(|i| i.eq_ignore_ascii_case(instr));
        let to = w.last().map(|d| d.trim_end_matches('/')).unwrap_or("");
        if same_instr && w.len() >= 3 && (to == dest.trim_end_matches('/') || dest.ends_with(&format!("/{to}"))) {
            return format!("{text} (Dockerfile line {line})");
        }
    }
    created_by.to_string()
}

/// Whether a reference pins its version: a tag other than `latest`, or a digest.
pub fn pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, tag)) => tag != "latest" && !tag.is_empty(),
        None => false,
    }
}

fn expand(s: &str, args: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in args {
        out = out.replace(&format!("${{{k}}}"), v).replace(&format!("${k}"), v);
    }
    out
}

/// The image config a Dockerfile gives its final stage, as far as the file tells (`User`, `Healthcheck.Test`,
/// `ExposedPorts`, in `docker image inspect`'s shape): a stage built FROM an earlier stage inherits its settings,
/// one FROM an outside image starts empty (that image's own settings are not known without pulling it).
pub fn final_stage_config(dockerfile: &str) -> Value {
    let mut stages: Vec<(Option<String>, Value)> = vec![];
    let mut cur = serde_json::json!({});
    for (_, text) in logical_lines(dockerfile) {
        let mut words = text.split_whitespace();
        match words.next().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("FROM") => {
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let base = rest.first().map(|b| b.to_ascii_lowercase()).unwrap_or_default();
                let alias = match (rest.get(1), rest.get(2)) {
                    (Some(a), Some(n)) if a.eq_ignore_ascii_case("as") => Some(n.to_ascii_lowercase()),
                    _ => None,
                };
                let inherited =
                    stages.iter().rev().find(|(n, _)| n.as_deref() == Some(base.as_str())).map(|(_, c)| c.clone());
                cur = inherited.unwrap_or_else(|| serde_json::json!({}));
                stages.push((alias, Value::Null));
            }
            Some("USER") => cur["User"] = Value::String(words.next().unwrap_or("").to_string()),
            Some("HEALTHCHECK") => {
                let none = words.next().is_some_and(|w| w.eq_ignore_ascii_case("NONE"));
                cur["Healthcheck"]["Test"] = serde_json::json!([if none { "NONE" } else { "CMD" }]);
            }
            Some("EXPOSE") => {
                for p in words {
                    let p = if p.contains('/') { p.to_string() } else { format!("{p}/tcp") };
                    cur["ExposedPorts"][p] = serde_json::json!({});
                }
            }
            _ => {}
        }
        if let Some(last) = stages.last_mut() {
            last.1 = cur.clone();
        }
    }
    cur
}

/// Dockerfile lines joined across `\` continuations, comments dropped, with 1-based line numbers.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if cur.is_empty() && (t.starts_with('#') || t.is_empty()) {
            continue;
        }
        if cur.is_empty() {
            start = i + 1;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                out.push((start, std::mem::take(&mut cur)));
            }
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// Reads a Dockerfile relative to the repo root, with a message that says which image needs it.
pub fn read(root: &Path, rel: &Path, image: &str) -> Result<String> {
    std::fs::read_to_string(root.join(rel))
        .with_context(|| format!("reading {} (the Dockerfile of image `{image}` in xtask.yaml)", rel.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bases_and_pins() {
        let df = "ARG RUST=1.80\nFROM rust:${RUST} AS build\nRUN x \\\n  y\nFROM build AS test\nFROM scratch\nCOPY --from=build /a /a\n";
        let b = base_images(df, &Default::default());
        assert_eq!(b, vec![From { line: 2, image: "rust:1.80".into() }]);
        assert!(pinned("rust:1.80"));
        assert!(!pinned("node"));
        assert!(!pinned("node:latest"));
        assert!(pinned("localhost:5000/node@sha256:abc"));
        assert!(!pinned("localhost:5000/node"));
        let b = base_images("FROM --platform=$BUILDPLATFORM node\n", &Default::default());
        assert_eq!(b[0].image, "node");
    }

    #[test]
    fn maps_legacy_copy_records_to_the_dockerfile() {
        let df = "FROM scratch\nCOPY bin/todo-api /todo-api\nUSER 1000\n";
        assert_eq!(
            instruction_for("COPY file:b54a3d in /todo-api", df),
            "COPY bin/todo-api /todo-api (Dockerfile line 2)"
        );
        assert_eq!(
            instruction_for("COPY bin/todo-api /todo-api # buildkit", df),
            "COPY bin/todo-api /todo-api # buildkit"
        );
        assert_eq!(instruction_for("USER 1000", df), "USER 1000");
    }

    #[test]
    fn reads_the_final_stages_config() {
        let df = "FROM rust:1.80 AS build\nUSER 1000\nHEALTHCHECK CMD [\"x\"]\nFROM scratch\nCOPY --from=build /a /a\nEXPOSE 8080\n";
        let c = final_stage_config(df);
        assert!(c["User"].is_null() && c["Healthcheck"].is_null(), "a builder stage's settings do not carry over: {c}");
        assert!(c["ExposedPorts"].get("8080/tcp").is_some());
        let df = "FROM node:20 AS base\nUSER 1001:1001\nFROM base\nHEALTHCHECK \\\n  CMD [\"node\", \"h.js\"]\n";
        let c = final_stage_config(df);
        assert_eq!(c["User"], "1001:1001", "inherited from the stage it is built FROM");
        assert_eq!(c["Healthcheck"]["Test"][0], "CMD");
    }
}
