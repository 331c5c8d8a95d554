//! A Dockerfile reader for the fake daemon: instructions (continuations, comments), exec vs shell form,
//! variable substitution, and the `HEALTHCHECK`/`EXPOSE`/`LABEL` argument forms of the Dockerfile reference
//! (https://docs.docker.com/reference/dockerfile/).
//!
//! Modelled on the parser the engine here (moby v20.10.24, legacy builder) vendors from moby/buildkit:
//! `vendor/github.com/moby/buildkit/frontend/dockerfile/{parser,shell,instructions}/`, cited below as
//! `parser/...`, `shell/...` and `instructions/...`. Parser directives (`# escape=`) are not modelled.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Instr {
    /// Upper-case keyword (`FROM`, `COPY`, ...).
    pub cmd: String,
    /// The rest of the (joined) line, as written.
    pub rest: String,
    /// The instruction as the legacy builder echoes it in `Step i/n : ...`.
    pub original: String,
    /// 1-based line where the instruction starts (for parse errors).
    pub line: usize,
}

/// parser/parser.go:250-332 `Parse`: blank and `#` lines are skipped (:265), a trailing `\` joins the next line
/// (:280, `trimContinuationCharacter` :352-358), and comment lines inside a continued instruction are dropped
/// (:293-295).
pub fn parse(text: &str) -> Vec<Instr> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if buf.is_empty() {
            start = n + 1;
        }
        if buf.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !buf.is_empty() && trimmed.starts_with('#') {
            continue; // comments inside a continued instruction are dropped
        }
        if let Some(stripped) = trimmed.strip_suffix('\\') {
            buf.push_str(stripped);
            buf.push(' ');
            continue;
        }
        buf.push_str(trimmed);
        push(&mut out, &buf, start);
        buf.clear();
    }
    if !buf.trim().is_empty() {
        push(&mut out, &buf, start);
    }
    out
}

/// The keyword is the first word, matched case-insensitively (parser/split_command.go:10-16 lower-cases it; the
/// legacy builder echoes the instruction with the keyword upper-cased in its `Step` lines).
fn push(out: &mut Vec<Instr>, line: &str, number: usize) {
    let line = line.trim();
    let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim().to_string();
    let cmd = cmd.to_uppercase();
    let original = if rest.is_empty() { cmd.clone() } else { format!("{cmd} {rest}") };
    out.push(Instr { cmd, rest, original, line: number });
}

/// Exec form (`["a","b"]`) or shell form (`/bin/sh -c "..."`): parser/line_parsers.go:307-323 `parseMaybeJSON`
/// (a JSON string array, else the raw text), the shell form run by the default shell `/bin/sh -c` (moby v20.10.24
/// builder/dockerfile/builder_unix.go:7).
pub fn exec_or_shell(rest: &str) -> (Vec<String>, bool) {
    if rest.trim_start().starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest.trim()) {
            return (v, true);
        }
    }
    (vec!["/bin/sh".into(), "-c".into(), rest.to_string()], false)
}

/// `$X`, `${X}`, `${X:-default}` from ARG/ENV values: shell/lex.go:280-397 `processDollar` (an unknown `$X` is
/// empty, :284-294; `:-` takes the word when the value is empty or unset, :361-368), `\$` is a literal `$`.
pub fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() && chars[i + 1] == '$' {
            out.push('$');
            i += 2;
            continue;
        }
        if c != '$' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        if chars[i + 1] == '{' {
            let Some(end) = chars[i..].iter().position(|c| *c == '}') else {
                out.push(c);
                i += 1;
                continue;
            };
            let inner: String = chars[i + 2..i + end].iter().collect();
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (inner.clone(), None),
            };
            let value = vars.get(&name).filter(|v| !v.is_empty()).cloned().or(default).unwrap_or_default();
            out.push_str(&value);
            i += end + 1;
        } else if chars[i + 1].is_ascii_alphabetic() || chars[i + 1] == '_' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let name: String = chars[i + 1..j].iter().collect();
            out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Splits `k=v k2="v 2"` (LABEL, ENV, ARG) into pairs; the legacy `ENV K V` form gives one pair:
/// parser/line_parsers.go:141-175 `parseNameVal` (the old form when the first word has no `=`, split once at
/// whitespace, :153-159).
pub fn key_values(rest: &str, legacy_space_form: bool) -> Vec<(String, String)> {
    let words = shell_words(rest);
    if legacy_space_form && !words.first().is_some_and(|w| w.contains('=')) {
        let (k, v) = rest.trim().split_once(char::is_whitespace).unwrap_or((rest.trim(), ""));
        return vec![(k.to_string(), v.trim().to_string())];
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (w, String::new()),
        })
        .collect()
}

/// Whitespace-separated words with double/single quotes removed and `\` escaping inside quotes
/// (parser/line_parsers.go:54-139 `parseWords`).
pub fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--retries=N] CMD ...` or `NONE`:
/// instructions/parse.go:431-512 `parseHealthcheck` (flags :453-456, `NONE` :441, exec form `CMD` and shell form
/// `CMD-SHELL` :463-472, anything else an unknown type :475). Bad durations and `--retries` below 1 are errors
/// upstream (:478-502); the fake reads them as 0.
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval_ns: u64,
    pub timeout_ns: u64,
    pub start_period_ns: u64,
    pub retries: u64,
}

pub fn healthcheck(rest: &str) -> Option<Healthcheck> {
    let mut hc = Healthcheck { test: vec![], interval_ns: 0, timeout_ns: 0, start_period_ns: 0, retries: 0 };
    let mut s = rest.trim();
    while let Some(opt) = s.strip_prefix("--") {
        let (word, tail) = opt.split_once(char::is_whitespace).unwrap_or((opt, ""));
        let (k, v) = word.split_once('=').unwrap_or((word, ""));
        let ns = crate::util::parse_duration_ns(v).unwrap_or(0);
        match k {
            "interval" => hc.interval_ns = ns,
            "timeout" => hc.timeout_ns = ns,
            "start-period" => hc.start_period_ns = ns,
            "retries" => hc.retries = v.parse().unwrap_or(0),
            _ => {}
        }
        s = tail.trim_start();
    }
    let (kw, tail) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    match kw.to_uppercase().as_str() {
        "NONE" => hc.test = vec!["NONE".into()],
        "CMD" => {
            let (cmd, exec) = exec_or_shell(tail);
            hc.test = if exec {
                std::iter::once("CMD".to_string()).chain(cmd).collect()
            } else {
                vec!["CMD-SHELL".into(), tail.trim().to_string()]
            };
        }
        _ => return None,
    }
    Some(hc)
}
