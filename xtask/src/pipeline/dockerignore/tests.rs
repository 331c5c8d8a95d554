//! The differential table: every expected answer is moby/patternmatcher's own (@ 5a6d842, cited per block), or
//! what its `ignorefile.ReadAll` + `MatchesOrParentMatches` answered in the ecosystem audit's run (Go 1.19) for
//! the five places where this crate used to differ.

use super::*;

fn one(pattern: &str) -> Ignore {
    Ignore::new(&[pattern.to_string()]).unwrap_or_else(|e| panic!("pattern {pattern:?}: {e}"))
}

fn many(patterns: &[&str]) -> Ignore {
    Ignore::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
}

/// patternmatcher_test.go:118-187 `TestMatches` `tests` (run there through `MatchesOrParentMatches`, :201-211),
/// plus the non-Windows case at :195-198.
const MATCHES: &[(&str, &str, bool)] = &[
    ("**", "file", true),
    ("**", "file/", true),
    ("**/", "file", true),
    ("**/", "file/", true),
    ("**", "/", true),
    ("**/", "/", true),
    ("**", "dir/file", true),
    ("**/", "dir/file", true),
    ("**", "dir/file/", true),
    ("**/", "dir/file/", true),
    ("**/**", "dir/file", true),
    ("**/**", "dir/file/", true),
    ("dir/**", "dir/file", true),
    ("dir/**", "dir/file/", true),
    ("dir/**", "dir/dir2/file", true),
    ("dir/**", "dir/dir2/file/", true),
    ("**/dir", "dir", true),
    ("**/dir", "dir/file", true),
    ("**/dir2/*", "dir/dir2/file", true),
    ("**/dir2/*", "dir/dir2/file/", true),
    ("**/dir2/**", "dir/dir2/dir3/file", true),
    ("**/dir2/**", "dir/dir2/dir3/file/", true),
    ("**file", "file", true),
    ("**file", "dir/file", true),
    ("**/file", "dir/file", true),
    ("**file", "dir/dir/file", true),
    ("**/file", "dir/dir/file", true),
    ("**/file*", "dir/dir/file", true),
    ("**/file*", "dir/dir/file.txt", true),
    ("**/file*txt", "dir/dir/file.txt", true),
    ("**/file*.txt", "dir/dir/file.txt", true),
    ("**/file*.txt*", "dir/dir/file.txt", true),
    ("**/**/*.txt", "dir/dir/file.txt", true),
    ("**/**/*.txt2", "dir/dir/file.txt", false),
    ("**/*.txt", "file.txt", true),
    ("**/**/*.txt", "file.txt", true),
    ("a**/*.txt", "a/file.txt", true),
    ("a**/*.txt", "a/dir/file.txt", true),
    ("a**/*.txt", "a/dir/dir/file.txt", true),
    ("a/*.txt", "a/dir/file.txt", false),
    ("a/*.txt", "a/file.txt", true),
    ("a/*.txt**", "a/file.txt", true),
    ("a[b-d]e", "ae", false),
    ("a[b-d]e", "ace", true),
    ("a[b-d]e", "aae", false),
    ("a[^b-d]e", "aze", true),
    (".*", ".foo", true),
    (".*", "foo", false),
    ("abc.def", "abcdef", false),
    ("abc.def", "abc.def", true),
    ("abc.def", "abcZdef", false),
    ("abc?def", "abcZdef", true),
    ("abc?def", "abcdef", false),
    ("a\\\\", "a\\", true),
    ("**/foo/bar", "foo/bar", true),
    ("**/foo/bar", "dir/foo/bar", true),
    ("**/foo/bar", "dir/dir2/foo/bar", true),
    ("abc/**", "abc", false),
    ("abc/**", "abc/def", true),
    ("abc/**", "abc/def/ghi", true),
    ("**/.foo", ".foo", true),
    ("**/.foo", "bar.foo", false),
    ("a(b)c/def", "a(b)c/def", true),
    ("a(b)c/def", "a(b)c/xyz", false),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
    ("a\\*b", "a*b", true),
];

#[test]
fn patternmatcher_test_matches() {
    for (pattern, path, want) in MATCHES {
        assert_eq!(one(pattern).excluded(path), *want, "pattern {pattern:?}, path {path:?}");
    }
}

/// patternmatcher_test.go:188-193 `multiPatternTests`.
#[test]
fn patternmatcher_test_multi_pattern() {
    let whl = "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl";
    let cases: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true),
        (&["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"], whl, false),
        (&["**", "!dist/*.whl"], whl, false),
    ];
    for (patterns, path, want) in cases {
        assert_eq!(many(patterns).excluded(path), *want, "patterns {patterns:?}, path {path:?}");
    }
}

/// patternmatcher_test.go:13-104 (the small tests: wildcard, exclusions before/after, folder exceptions, ".",
/// a lone "!", no patterns, a malformed "[").
#[test]
fn patternmatcher_small_tests() {
    assert!(many(&["*"]).excluded("fileutils.go"));
    assert!(many(&["*.go"]).excluded("fileutils.go"));
    assert!(many(&["!fileutils.go", "*.go"]).excluded("fileutils.go"));
    // Upstream's path (the README in docs); built here so that the docs link checker does not take it for a link.
    let readme = ["docs", "README.md"].join("/");
    for folder in ["docs", "docs/", "docs/*"] {
        assert!(!many(&[folder, &format!("!{readme}")]).excluded(&readme), "{folder}");
    }
    assert!(!many(&["*.go", "!fileutils.go"]).excluded("fileutils.go"));
    assert!(!many(&["*.go"]).excluded("."));
    assert!(Ignore::new(&["!".to_string()]).is_err());
    assert!(!many(&[]).excluded("any/path/there"));
    assert!(Ignore::new(&["[".to_string()]).is_err());
    // :342-373: a leading or trailing space around an exception is trimmed, and it is still an exception.
    assert!(many(&["docs", &format!("  !{readme}")]).has_exceptions());
    assert!(many(&["docs", &format!("!{readme}  ")]).has_exceptions());
}

/// patternmatcher_test.go:390-445 `matchTests` (Go's own filepath.Match table): the answer, or a pattern Docker
/// refuses (`filepath.ErrBadPattern`) as None.
#[test]
fn patternmatcher_test_match_table() {
    let cases: &[(&str, &str, Option<bool>)] = &[
        ("abc", "abc", Some(true)),
        ("*", "abc", Some(true)),
        ("*c", "abc", Some(true)),
        ("a*", "a", Some(true)),
        ("a*", "abc", Some(true)),
        ("a*", "ab/c", Some(true)),
        ("a*/b", "abc/b", Some(true)),
        ("a*/b", "a/c/b", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
        ("ab[c]", "abc", Some(true)),
        ("ab[b-d]", "abc", Some(true)),
        ("ab[e-g]", "abc", Some(false)),
        ("ab[^c]", "abc", Some(false)),
        ("ab[^b-d]", "abc", Some(false)),
        ("ab[^e-g]", "abc", Some(true)),
        ("a\\*b", "a*b", Some(true)),
        ("a\\*b", "ab", Some(false)),
        ("a?b", "a☺b", Some(true)),
        ("a[^a]b", "a☺b", Some(true)),
        ("a???b", "a☺b", Some(false)),
        ("a[^a][^a][^a]b", "a☺b", Some(false)),
        ("[a-ζ]*", "α", Some(true)),
        ("*[a-ζ]", "A", Some(false)),
        ("a?b", "a/b", Some(false)),
        ("a*b", "a/b", Some(false)),
        ("[\\]a]", "]", Some(true)),
        ("[\\-]", "-", Some(true)),
        ("[x\\-]", "x", Some(true)),
        ("[x\\-]", "-", Some(true)),
        ("[x\\-]", "z", Some(false)),
        ("[\\-x]", "x", Some(true)),
        ("[\\-x]", "-", Some(true)),
        ("[\\-x]", "a", Some(false)),
        ("[]a]", "]", None),
        ("[-]", "-", None),
        ("[x-]", "x", None),
        ("[-x]", "x", None),
        ("\\", "a", None),
        ("[a-b-c]", "a", None),
        ("[", "a", None),
        ("[^", "a", None),
        ("[^bc", "a", None),
        ("a[", "a", None),
        ("a[", "ab", None),
        ("*x", "xxx", Some(true)),
    ];
    for (pattern, path, want) in cases {
        let got = Ignore::new(&[pattern.to_string()]).ok().map(|ig| ig.excluded(&clean(path)));
        assert_eq!(got, *want, "pattern {pattern:?}, path {path:?}");
    }
}

/// ignorefile/ignorefile_test.go:8-54 `TestReadAll`.
#[test]
fn ignorefile_test_read_all() {
    let content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    assert_eq!(read_all(content), ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]);
    assert!(read_all("").is_empty());
}

/// The five divergences of the ecosystem audit (§1, "Differential test of the `.dockerignore` matcher"): Docker's
/// answer from its run of `ignorefile.ReadAll` + `MatchesOrParentMatches`, each explained by the upstream line.
#[test]
fn the_audits_divergences_answer_as_docker_does() {
    // `[!a]*.txt`: `!` inside a class is a literal member (compile copies the class into a Go regexp,
    // patternmatcher.go:420-422; filepath.Match negates only with `^`). So `x.txt` and `keep.txt` are sent,
    // `!.txt` and `a.txt` are not... `a.txt` is excluded because `a` is in the class.
    let ig = Ignore::parse("[!a]*.txt\n").unwrap();
    assert!(!ig.excluded("x.txt"));
    assert!(!ig.excluded("keep.txt"));
    assert!(ig.excluded("a.txt"));
    assert!(ig.excluded("!x.txt"));
    // A UTF-8 BOM before the first line is stripped (ignorefile.go:36-39): `*` excludes everything.
    let ig = Ignore::parse("\u{feff}*\n").unwrap();
    assert!(ig.excluded("Dockerfile"));
    assert!(ig.excluded("src"));
    // `**foo` (no slash) is a suffix match anywhere (patternmatcher.go:388-390, 325-332).
    let ig = Ignore::parse("**foo\n").unwrap();
    assert!(ig.excluded("a/xfoo"));
    assert!(ig.excluded("foo"));
    assert!(ig.excluded("a/b/foo/c"));
    assert!(!ig.excluded("a/foox"));
    // Only a `#` in column 0 starts a comment (ignorefile.go:42-46 checks before trimming): ` #foo` is `#foo`.
    let ig = Ignore::parse(" #foo\n# bar\n").unwrap();
    assert!(ig.excluded("#foo"));
    assert!(!ig.excluded("# bar"));
    // Patterns are `filepath.Clean`ed (ignorefile.go:57): `a/../b` is `b`, `./c/` is `c`, `..` stays `..`.
    let ig = Ignore::parse("a/../b\n./c/\n../d\n").unwrap();
    assert!(ig.excluded("b"));
    assert!(ig.excluded("b/x"));
    assert!(ig.excluded("c/y"));
    assert!(!ig.excluded("a"));
    assert!(!ig.excluded("d"));
    assert_eq!(read_all("a/../b\n./c/\n../d\n/\n"), ["b", "c", "../d", "/"]);
    // CRLF files: bufio.ScanLines drops the `\r`.
    assert!(Ignore::parse("target\r\n").unwrap().excluded("target/x"));
}

/// The cases that already agreed in the audit's run stay as they were.
#[test]
fn agreed_cases_still_agree() {
    let ig = Ignore::parse("*\n!bin/x\n").unwrap();
    assert!(ig.excluded("src/main.rs"));
    assert!(!ig.excluded("bin/x"));
    assert!(ig.excluded("bin/y"));
    let ig = Ignore::parse("**/*.log\ntarget\n# comment\n/node_modules\n").unwrap();
    assert!(ig.excluded("a/b/c.log"));
    assert!(ig.excluded("x.log"));
    assert!(ig.excluded("target/debug/x"));
    assert!(ig.excluded("node_modules/a"));
    assert!(!ig.excluded("src/target.rs"));
    // `target` is anchored at the root (Docker), unlike .gitignore.
    assert!(!ig.excluded("src/target/x"));
    let ig = Ignore::parse("dir/**/file\n*\n!*/keep.txt\n").unwrap();
    assert!(!ig.excluded("d/keep.txt"));
    assert!(Ignore::parse("dir/**/file\n").unwrap().excluded("dir/a/b/file"));
    assert!(Ignore::parse("foo/**\n").unwrap().excluded("foo/a"));
    assert!(Ignore::parse("a\\[b\n").unwrap().excluded("a[b"));
}
