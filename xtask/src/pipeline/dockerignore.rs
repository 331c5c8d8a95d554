//! `.dockerignore` with Docker's own semantics, ported from moby/patternmatcher @ 5a6d842 (what the docker CLI
//! and BuildKit's fsutil use): `ignorefile.ReadAll` reads the lines, `New` cleans and checks each pattern, `compile`
//! turns it into an exact, prefix, suffix or regexp match over the whole slash-separated path, and
//! `MatchesOrParentMatches` applies the rules in order with a rule that matches a parent folder matching the file.
//! The cache hashes exactly the files this keeps, so a file Docker sends can never be left out of a fingerprint.

use anyhow::{bail, Result};

use self::matcher::{compile, Matcher};

// By path: the fake docker includes this file by path too (xtask/fake/main.rs).
#[path = "dockerignore/matcher.rs"]
mod matcher;

/// One cleaned rule (`Pattern` in patternmatcher.go).
#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    matcher: Matcher,
}

/// The rules of one `.dockerignore` file.
#[derive(Debug, Default, Clone)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    /// Reads `.dockerignore` text (ignorefile.go `ReadAll`) and builds the matcher (patternmatcher.go `New`). A
    /// pattern Docker refuses (`[`, `!`, `a[b-c-d]`) is an error here too, with Docker's reason.
    pub fn parse(text: &str) -> Result<Ignore> {
        Ignore::new(&read_all(text))
    }

    /// patternmatcher.go `New` (lines 46-79) on already-read patterns.
    pub fn new(patterns: &[String]) -> Result<Ignore> {
        let mut out = vec![];
        for raw in patterns {
            let p = raw.trim();
            if p.is_empty() {
                continue;
            }
            let mut p = clean(p);
            let mut exclusion = false;
            if let Some(rest) = p.strip_prefix('!') {
                if rest.is_empty() {
                    bail!("illegal exclusion pattern: \"!\"");
                }
                exclusion = true;
                p = rest.to_string();
            }
            if let Err(why) = check_syntax(&p) {
                bail!("syntax error in pattern `{p}`: {why}");
            }
            out.push(Pattern { exclusion, matcher: compile(&p) });
        }
        Ok(Ignore { patterns: out })
    }

    /// Whether any rule re-includes (`!`), so an excluded folder may still hold files Docker sends.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// patternmatcher.go `MatchesOrParentMatches` (lines 125-165) on a clean slash-separated path; the context root
    /// (`.`) is never excluded (patternmatcher.go:469-474).
    pub fn excluded(&self, file: &str) -> bool {
        if file == "." || file.is_empty() {
            return false;
        }
        let parent = dir(file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for p in &self.patterns {
            // Skip an inclusion when already matched, and an exclusion when not matched yet.
            if p.exclusion != matched {
                continue;
            }
            let mut hit = p.matcher.matches(file);
            if !hit && parent != "." {
                hit = (0..parent_dirs.len()).any(|i| p.matcher.matches(&parent_dirs[..=i].join("/")));
            }
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }
}

/// ignorefile.go `ReadAll` (lines 24-73): a UTF-8 BOM stripped from the first line, lines whose first byte is `#`
/// skipped (before trimming: ` #x` is a pattern), the rest trimmed, `!` split off, `filepath.Clean`ed, a leading `/`
/// removed.
pub fn read_all(text: &str) -> Vec<String> {
    let mut out = vec![];
    // bufio.ScanLines: split at \n, drop one trailing \r.
    for (i, line) in text.split('\n').enumerate() {
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if i == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut p = pattern.to_string();
        if !p.is_empty() {
            p = clean(&p);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        out.push(if invert { format!("!{p}") } else { p });
    }
    out
}

/// Go's `path.Clean`: the shortest equivalent path by lexical processing (`a/../b` → `b`, `./a/` → `a`).
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = vec![];
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Dir`: everything before the last `/`, cleaned; `.` when there is none.
fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".into(),
    }
}

/// The checks `filepath.Match(p, ".")` makes on a pattern (Go path/filepath/match.go `matchChunk`, `getEsc`): a
/// trailing `\`, an unclosed or empty class, a class item that starts with `-` or `]`, `a-b-c` ranges.
fn check_syntax(p: &str) -> std::result::Result<(), &'static str> {
    let c: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' => {
                if i + 1 >= c.len() {
                    return Err("a trailing `\\` escapes nothing");
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if c.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut n = 0;
                loop {
                    if c.get(i) == Some(&']') && n > 0 {
                        i += 1;
                        break;
                    }
                    i = get_esc(&c, i)?;
                    if c.get(i) == Some(&'-') {
                        i = get_esc(&c, i + 1)?;
                    }
                    n += 1;
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// `getEsc`: one class character (escaped or not) at `i`; returns the index after it.
fn get_esc(c: &[char], mut i: usize) -> std::result::Result<usize, &'static str> {
    match c.get(i) {
        None => return Err("a `[` class is not closed"),
        Some('-') | Some(']') => return Err("a `[` class item starts with `-` or `]` (escape it)"),
        Some('\\') => {
            i += 1;
            if i >= c.len() {
                return Err("a `[` class is not closed");
            }
        }
        _ => {}
    }
    i += 1;
    if i >= c.len() {
        return Err("a `[` class is not closed");
    }
    Ok(i)
}

#[cfg(test)]
#[path = "dockerignore/tests.rs"]
mod tests;
