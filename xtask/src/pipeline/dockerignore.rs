//! `.dockerignore` with Docker's own semantics, ported from moby/patternmatcher @ 5a6d842 (what the docker CLI
//! and BuildKit's fsutil use): `ignorefile.ReadAll` reads the lines, `New` cleans and checks each pattern, `compile`
//! turns it into an exact, prefix, suffix or regexp match over the whole slash-separated path, and
//! `MatchesOrParentMatches` applies the rules in order with a rule that matches a parent folder matching the file.
//! The cache hashes exactly the files this keeps, so a file Docker sends can never be left out of a fingerprint.

use anyhow::{bail, Result};

/// One cleaned rule (`Pattern` in patternmatcher.go).
#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    matcher: Matcher,
}

/// patternmatcher.go `matchType`: exactMatch, prefixMatch, suffixMatch, regexpMatch.
#[derive(Debug, Clone)]
enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regexp(Vec<Tok>),
}

/// The pieces `compile` writes into its regexp (patternmatcher.go:345-440).
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `*` → `[^/]*`
    Star,
    /// `?` → `[^/]`
    Quest,
    /// `**` followed by more pattern → `(.*/)?`
    AnyDirs,
    /// `**` at the end → `.*`
    Any,
    /// `[...]` copied into the regexp: a Go RE2 class, which (unlike filepath.Match) also matches `/`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `^` is not escaped by `shouldEscape`, so in a regexp it anchors at the start.
    Caret,
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

/// patternmatcher.go `compile` (lines 345-440) on a cleaned pattern.
fn compile(pattern: &str) -> Matcher {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let c: Vec<char> = pattern.chars().collect();
    let mut toks = vec![];
    let mut kind = Kind::Exact;
    let mut i = 0;
    let mut n = 0; // the scanner's iteration count (`i` in compile)
    while i < c.len() {
        let ch = c[i];
        i += 1;
        match ch {
            '*' if c.get(i) == Some(&'*') => {
                i += 1;
                // "**/" is "**"
                if c.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= c.len() {
                    // "**" at the end: accept all, like .gitignore
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        toks.push(Tok::Any);
                        kind = Kind::Regexp;
                    }
                } else {
                    toks.push(Tok::AnyDirs);
                    kind = Kind::Regexp;
                }
                if n == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                toks.push(Tok::Star);
                kind = Kind::Regexp;
            }
            '?' => {
                toks.push(Tok::Quest);
                kind = Kind::Regexp;
            }
            '\\' => match c.get(i) {
                Some(&next) => {
                    i += 1;
                    toks.push(Tok::Lit(next));
                    kind = Kind::Regexp;
                }
                None => toks.push(Tok::Lit('\\')),
            },
            '[' => {
                // The class text goes into the regexp as written; check_syntax made it a valid class.
                let negated = c.get(i) == Some(&'^');
                if negated {
                    i += 1;
                }
                let mut ranges = vec![];
                while i < c.len() && (c[i] != ']' || ranges.is_empty()) {
                    let lo = esc(&c, &mut i);
                    let hi = if c.get(i) == Some(&'-') {
                        i += 1;
                        esc(&c, &mut i)
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                i += 1;
                toks.push(Tok::Class { negated, ranges });
                kind = Kind::Regexp;
            }
            ']' => {
                toks.push(Tok::Lit(']'));
                kind = Kind::Regexp;
            }
            '^' => toks.push(Tok::Caret),
            other => toks.push(Tok::Lit(other)),
        }
        n += 1;
    }
    match kind {
        Kind::Exact => Matcher::Exact(pattern.to_string()),
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
        Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
        Kind::Regexp => Matcher::Regexp(toks),
    }
}

fn esc(c: &[char], i: &mut usize) -> char {
    if c.get(*i) == Some(&'\\') {
        *i += 1;
    }
    let ch = c.get(*i).copied().unwrap_or('\\');
    *i += 1;
    ch
}

impl Matcher {
    /// patternmatcher.go `match` (lines 312-343).
    fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            // "**/foo" also matches "foo" itself
            Matcher::Suffix(s) => path.ends_with(s.as_str()) || (s.starts_with('/') && path == &s[1..]),
            Matcher::Regexp(toks) => {
                let s: Vec<char> = path.chars().collect();
                regexp_match(toks, &s, 0)
            }
        }
    }
}

/// A backtracking match of the compiled pieces against the whole path (`^...$`).
fn regexp_match(toks: &[Tok], s: &[char], pos: usize) -> bool {
    let Some((tok, rest)) = toks.split_first() else { return pos == s.len() };
    match tok {
        Tok::Lit(ch) => s.get(pos) == Some(ch) && regexp_match(rest, s, pos + 1),
        Tok::Quest => s.get(pos).is_some_and(|c| *c != '/') && regexp_match(rest, s, pos + 1),
        Tok::Star => {
            let run = s[pos..].iter().take_while(|c| **c != '/').count();
            (0..=run).rev().any(|k| regexp_match(rest, s, pos + k))
        }
        Tok::Any => (pos..=s.len()).rev().any(|p| regexp_match(rest, s, p)),
        Tok::AnyDirs => {
            regexp_match(rest, s, pos) || (pos..s.len()).rev().any(|p| s[p] == '/' && regexp_match(rest, s, p + 1))
        }
        Tok::Class { negated, ranges } => {
            s.get(pos).is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated
            }) && regexp_match(rest, s, pos + 1)
        }
        Tok::Caret => pos == 0 && regexp_match(rest, s, pos),
    }
}

// A path from this file's folder, so the fake (which includes this file from xtask/fake/) finds it too.
#[cfg(test)]
#[path = "dockerignore/tests.rs"]
mod tests;
