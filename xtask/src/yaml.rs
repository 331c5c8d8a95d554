//! The one place that parses YAML, with serde_norway (the maintained fork of the archived serde_yaml; a later switch
//! stays a change to this module). Errors carry file:line:column and, for unknown keys, the nearest valid key.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Position};

/// Parses `text` (the contents of `file`) into `T`. `file` is only used in messages. A document that cannot be read
/// into `T` is an [`Error::Config`] at its file:line:column (exit code 2).
pub fn from_str<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Error> {
    if text.trim().lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(Error::config_at(
            Position::new(file, 1, 1),
            "the file is empty: expected a mapping of settings (see docs/configuration.md)",
        ));
    }
    serde_norway::from_str(text).map_err(|e| {
        let (mut line, mut column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
        let mut message = explain(&e.to_string());
        // serde reports a duplicate key without a position: point at its second occurrence.
        if let Some(key) = message.split("duplicate field `").nth(1).and_then(|r| r.split('`').next()) {
            if let Some((l, c)) = second_key(text, key) {
                (line, column) = (l, c);
            }
        }
        if deeper_next_line(text, line) {
            message.push_str(" — the next line is indented deeper than this one: check the indentation");
        }
        Error::config_at(Position::new(file, line, column), message)
    })
}

/// Line and column of the second of exactly two lines that start (after indentation or `- `) with `key:`; None
/// when the key is written some other number of times (then which one is the duplicate is not clear from text).
fn second_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let found: Vec<(usize, usize)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let rest = l.trim_start().trim_start_matches("- ");
            let col = l.len() - rest.len() + 1;
            rest.strip_prefix(key).filter(|r| r.starts_with(':')).map(|_| (i + 1, col))
        })
        .collect();
    (found.len() == 2).then(|| found[1])
}

/// A wrongly indented line often parses as the continuation of the value above it; say so.
fn deeper_next_line(text: &str, line: usize) -> bool {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut lines = text.lines().skip(line.saturating_sub(1));
    match (lines.next(), lines.next()) {
        (Some(cur), Some(next)) => {
            cur.contains(": ")
                && !next.trim().is_empty()
                && !cur.trim_end().ends_with(':')
                && indent(next) > indent(cur)
        }
        _ => false,
    }
}

/// Every document of a multi-document YAML stream (`helm template` output) as JSON values; empty documents are
/// left out.
pub fn documents(file: &Path, text: &str) -> Result<Vec<serde_json::Value>, Error> {
    use serde::Deserialize;
    let mut out = vec![];
    for doc in serde_norway::Deserializer::from_str(text) {
        let v = serde_json::Value::deserialize(doc).map_err(|e| {
            let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
            Error::config_at(Position::new(file, line, column), explain(&e.to_string()))
        })?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Turns serde's messages into ones that say what to do, and strips the location serde_norway appends (we print it
/// first, as `file:line:column`). Nested errors start with the key path (`images[0].tag: ...`), which is kept.
fn explain(raw: &str) -> String {
    let msg = match raw.rfind(" at line ") {
        Some(i) => &raw[..i],
        None => raw,
    };
    let (path, msg) = match msg.find(": ") {
        Some(i) if !msg[..i].contains(' ') && !msg[..i].contains('`') => msg.split_at(i + 2),
        _ => ("", msg),
    };
    let quoted = |rest: &str| -> Vec<String> { rest.split('`').skip(1).step_by(2).map(str::to_string).collect() };
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once('`') {
            let valid = quoted(expected);
            let valid: Vec<&str> = valid.iter().map(String::as_str).collect();
            return match nearest(field, &valid) {
                Some(best) => format!("{path}unknown key `{field}`; did you mean `{best}`?"),
                None if valid.is_empty() => format!("{path}unknown key `{field}`: this section takes no keys"),
                None => format!("{path}unknown key `{field}`; valid keys here: {}", valid.join(", ")),
            };
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        if let Some((v, expected)) = rest.split_once('`') {
            let valid = quoted(expected);
            let valid: Vec<&str> = valid.iter().map(String::as_str).collect();
            return match nearest(v, &valid) {
                Some(best) => format!("{path}unknown value `{v}`; did you mean `{best}`?"),
                None => format!("{path}unknown value `{v}`; expected one of: {}", valid.join(", ")),
            };
        }
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("{path}missing required key `{field}`");
    }
    format!("{path}{msg}")
}

/// The candidate closest to `word` by edit distance, if it is plausibly a typo of it.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Line and column (1-based) of `value` given for `key`: on a line holding `key:` and the value after it, else on
/// the first (or last) line holding the value as a whole word, else the line of `key:`, else 1:1.
/// `key` may be a path of keys separated by `/` (`release/name`): the search then starts after the line of each
/// enclosing key, so the release's `name` is not confused with an image's.
pub fn locate(text: &str, key: &str, value: &str, last: bool) -> (usize, usize) {
    let all: Vec<&str> = text.lines().collect();
    let mut skip = 0;
    let mut key = key;
    if let Some((outer, inner)) = key.rsplit_once('/') {
        for section in outer.split('/') {
            if let Some(i) = all[skip..].iter().position(|l| {
                let t = l.trim_start().trim_start_matches("- ");
                t.starts_with(section) && t[section.len()..].starts_with(':')
            }) {
                skip += i;
            }
        }
        key = inner;
    }
    match locate_in(&all[skip..], key, value, last) {
        (0, 0) => (1, 1),
        (l, c) => (l + skip, c),
    }
}

fn locate_in(lines: &[&str], key: &str, value: &str, last: bool) -> (usize, usize) {
    let order: Box<dyn Iterator<Item = usize>> =
        if last { Box::new((0..lines.len()).rev()) } else { Box::new(0..lines.len()) };
    let order: Vec<usize> = order.collect();
    let key_at = |line: &str| -> Option<usize> {
        let mut from = 0;
        while let Some(i) = line[from..].find(key) {
            let at = from + i;
            let before_ok = at == 0 || !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
            let after = &line[at + key.len()..];
            let after = after.strip_prefix(['"', '\'']).unwrap_or(after);
            if before_ok && after.starts_with(':') {
                return Some(at);
            }
            from = at + key.len().max(1);
            if from >= line.len() {
                break;
            }
        }
        None
    };
    let value_after = |line: &str, from: usize| -> Option<usize> {
        if value.is_empty() {
            return None;
        }
        let mut start = from;
        while let Some(i) = line.get(start..)?.find(value) {
            let at = start + i;
            let end = at + value.len();
            let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
            let before_ok = at == 0 || !line[..at].ends_with(word);
            let after_ok = !line[end..].starts_with(word);
            if before_ok && after_ok {
                return Some(at);
            }
            start = at + 1;
            if start >= line.len() {
                break;
            }
        }
        None
    };
    for &i in &order {
        let body = lines[i].split(" #").next().unwrap_or(lines[i]);
        if let Some(k) = key_at(body) {
            if let Some(v) = value_after(body, k + key.len()) {
                return (i + 1, v + 1);
            }
        }
    }
    for &i in &order {
        let body = lines[i].split(" #").next().unwrap_or(lines[i]);
        if let Some(v) = value_after(body, 0) {
            return (i + 1, v + 1);
        }
    }
    for &i in &order {
        if let Some(k) = key_at(lines[i]) {
            return (i + 1, k + 1);
        }
    }
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_rejects_strangers() {
        assert_eq!(nearest("imagez", &["images", "cluster"]), Some("images"));
        assert_eq!(nearest("clstr", &["images", "cluster"]), Some("cluster"));
        assert_eq!(nearest("zzzzzzzz", &["images", "cluster"]), None);
    }

    #[test]
    fn explain_rewrites_unknown_field() {
        let m = explain("unknown field `imagez`, expected one of `project`, `images` at line 3 column 1");
        assert_eq!(m, "unknown key `imagez`; did you mean `images`?");
    }
}
