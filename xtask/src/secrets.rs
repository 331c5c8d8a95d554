//! Secret values known to this run, and the files that hold them. Everything that is printed, logged or written
//! to a report passes through [`redact_global`], which replaces each known value with `***` in every shape a tool
//! or a serializer may give it: raw, JSON-escaped, XML-escaped, URL-encoded, base64 (also inside a longer base64
//! text, at each of the three byte alignments) and each line of a multi-line value.
//! Per-step secret value files are registered here so that they are removed on every way out, including a second
//! Ctrl-C, and [`remove_stale_files`] clears the ones a killed run left behind.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// Every form of every registered secret, longest first.
static FORMS: RwLock<Vec<String>> = RwLock::new(Vec::new());
/// Secret files alive now (removed by their guard, or by [`remove_live_files`] on a hard exit).
static FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Derived forms shorter than this are not hidden: a 2-character line of a secret would blank out half the log.
const MIN_FORM: usize = 4;

/// Registers a value to hide from now on.
pub fn register(value: &str) {
    if value.is_empty() {
        return;
    }
    let new = forms(value);
    let mut s = FORMS.write().unwrap_or_else(|p| p.into_inner());
    for f in new {
        if !s.contains(&f) {
            s.push(f);
        }
    }
    // Longer forms first, so a secret containing another is hidden whole.
    s.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// The shapes `value` can take on its way out.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let mut texts = vec![value.to_string()];
    // Each line of a multi-line secret (a key, a certificate), since tools print and split them line by line.
    if value.contains(['\n', '\r']) {
        texts.extend(value.split(['\n', '\r']).map(str::trim).filter(|l| l.len() >= MIN_FORM).map(str::to_string));
    }
    for t in &texts {
        out.push(t.clone());
        out.push(json_escaped(t));
        out.push(xml_escaped(t));
        out.push(xml_escaped(&json_escaped(t)));
        out.push(url_encoded(t, false));
        out.push(url_encoded(t, true));
    }
    out.extend(base64_forms(value.as_bytes()));
    out.retain(|f| f == value || f.len() >= MIN_FORM);
    out.sort();
    out.dedup();
    out
}

fn json_escaped(s: &str) -> String {
    let q = serde_json::to_string(s).unwrap_or_default();
    q[1..q.len().saturating_sub(1).max(1)].to_string()
}

/// The form junit.xml and report.html carry: the same escaping as the report writer.
fn xml_escaped(s: &str) -> String {
    crate::text::esc(s)
}

/// RFC 3986 percent-encoding of everything but unreserved characters; `form` writes a space as `+`.
fn url_encoded(s: &str, form: bool) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => o.push(b as char),
            b' ' if form => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64(bytes: &[u8]) -> String {
    let mut o = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                o.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// Base64 of the value on its own (padded and not), and the part of its encoding that does not depend on the
/// neighbouring bytes when it sits at offset 0, 1 or 2 of a longer encoded text (a Secret's `database-url`), in
/// the standard and the URL-safe alphabet.
fn base64_forms(v: &[u8]) -> Vec<String> {
    let mut out = vec![];
    let whole = base64(v);
    out.push(whole.trim_end_matches('=').to_string());
    out.push(whole);
    for k in 0..3usize {
        let mut buf = vec![0u8; k];
        buf.extend_from_slice(v);
        let enc = base64(&buf);
        // Characters covering only the value: skip the group holding filler bytes, stop before the last
        // group that would also hold the bytes after the value.
        let start = if k == 0 { 0 } else { 4 };
        let end = (buf.len() / 3) * 4;
        if end > start + 4 {
            out.push(enc[start..end].to_string());
        }
    }
    let url_safe: Vec<String> = out.iter().map(|s| s.replace('+', "-").replace('/', "_")).collect();
    out.extend(url_safe);
    // Short encodings would match ordinary words.
    out.retain(|s| s.trim_end_matches('=').len() >= 8);
    out
}

pub fn redact_global(text: &str) -> String {
    let s = FORMS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for v in s.iter() {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "***");
        }
    }
    out
}

/// Notes a secret file that exists from now until [`forget_file`]; [`remove_live_files`] deletes it on a hard exit.
pub fn track_file(p: &Path) {
    FILES.lock().unwrap_or_else(|p| p.into_inner()).push(p.to_path_buf());
}

/// Removes a tracked secret file (its guard's drop).
pub fn forget_file(p: &Path) {
    let _ = std::fs::remove_file(p);
    FILES.lock().unwrap_or_else(|p| p.into_inner()).retain(|f| f != p);
    // The folder stays: a step running alongside may be about to write its own file there. The run removes it at
    // its end.
}

/// Deletes every secret file still alive: called on paths that end the process without unwinding (a second
/// Ctrl-C, a closed output).
pub fn remove_live_files() {
    let files = std::mem::take(&mut *FILES.lock().unwrap_or_else(|p| p.into_inner()));
    for f in files {
        let _ = std::fs::remove_file(&f);
        if let Some(dir) = f.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Removes `secrets/` folders that runs killed outright (SIGKILL, power loss) left under the state folder
/// (`runs/<id>/secrets`, `ci/<id>/<stage>/secrets`). Called with the run lock held, so no live run owns them
/// but the caller's own, `current` (its run folder), which is left alone: the caller's steps may be writing there.
pub fn remove_stale_files(state_dir: &Path, current: &Path) -> usize {
    let mut removed = 0;
    let mut stack = vec![(state_dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            // file_type does not follow symlinks: a link named `secrets` is left alone.
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() || e.path() == current {
                continue;
            }
            if e.file_name() == "secrets" {
                if std::fs::remove_dir_all(e.path()).is_ok() {
                    removed += 1;
                }
            } else if depth < 3 {
                stack.push((e.path(), depth + 1));
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_registered_values() {
        register("s3cr3t-canary");
        register("s3cr3t");
        assert_eq!(redact_global("--set database.password=s3cr3t-canary x"), "--set database.password=*** x");
        assert_eq!(redact_global("pw s3cr3t"), "pw ***");
    }

    #[test]
    fn hides_every_shape() {
        let pw = "CAN\"A&R<Y>\\z 9b/2e+";
        register(pw);
        let json = serde_json::to_string(&serde_json::json!({ "p": pw })).unwrap();
        assert!(!redact_global(&json).contains("CAN"), "{}", redact_global(&json));
        assert!(!redact_global(&xml_escaped(pw)).contains("CAN"));
        assert!(!redact_global(&url_encoded(pw, false)).contains("CAN"));
        assert!(!redact_global(&url_encoded(pw, true)).contains("CAN"));
        let b = base64(pw.as_bytes());
        assert_eq!(redact_global(&format!("password: {b}")), "password: ***");
        // Inside a longer base64 text, at every alignment.
        for prefix in ["postgres://todo:", "postgres://todo:x", "postgres://todo:xy"] {
            let url = base64(format!("{prefix}{pw}@db:5432/todo").as_bytes());
            let shown = redact_global(&url);
            assert!(shown.contains("***"), "{prefix}: {shown}");
        }
    }

    #[test]
    fn hides_each_line_of_a_multi_line_secret() {
        register("MLCANARY-first-half\nMLCANARY-second-half");
        assert_eq!(redact_global("Error: bad password MLCANARY-first-half"), "Error: bad password ***");
        assert_eq!(redact_global("MLCANARY-second-half"), "***");
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
