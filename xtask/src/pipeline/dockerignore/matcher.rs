//! The matching half of the `.dockerignore` port: patternmatcher.go `compile` turns a cleaned pattern into an exact,
//! prefix, suffix or regexp match over the whole slash-separated path, and [`Matcher::matches`] applies it.

/// patternmatcher.go `matchType`: exactMatch, prefixMatch, suffixMatch, regexpMatch.
#[derive(Debug, Clone)]
pub(super) enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regexp(Vec<Tok>),
}

/// The pieces `compile` writes into its regexp (patternmatcher.go:345-440).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

/// patternmatcher.go `compile` (lines 345-440) on a cleaned pattern.
pub(super) fn compile(pattern: &str) -> Matcher {
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
    pub(super) fn matches(&self, path: &str) -> bool {
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
