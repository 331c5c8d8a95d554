//! Secret values known to this run. Everything that is printed, logged or written to a report passes through
//! [`redact_global`], which replaces each known value with `***`.

use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a value to hide from now on. Longer values first, so a secret containing another is hidden whole.
pub fn register(value: &str) {
    if value.is_empty() {
        return;
    }
    let mut s = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !s.iter().any(|v| v == value) {
        s.push(value.to_string());
        s.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

pub fn redact_global(text: &str) -> String {
    let s = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for v in s.iter() {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "***");
        }
    }
    out
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
}
