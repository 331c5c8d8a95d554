//! Tool versions as the tools print them: `v1.32.4-dispatcher`, `3.14.0+g3fc9f4b`, `20.10.24+dfsg1`, `0.56.2`.
//! Only major.minor.patch are compared; suffixes are kept for display.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// The text as found (without a leading `v`), e.g. `1.32.4-dispatcher`.
    pub text: String,
}

impl Version {
    /// Parses the first `N.N[.N]` in `s`, allowing a leading `v` and any suffix.
    pub fn find(s: &str) -> Option<Version> {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'v') {
                if let Some(v) = Self::parse_at(&s[i..]) {
                    return Some(v);
                }
            }
            i += 1;
        }
        None
    }

    /// Parses a version that starts at the beginning of `s` (after an optional `v`).
    pub fn parse(s: &str) -> Option<Version> {
        Self::parse_at(s.trim().trim_start_matches('v'))
    }

    fn parse_at(s: &str) -> Option<Version> {
        let end = s.find(|c: char| c.is_whitespace() || c == ',' || c == '"' || c == '\'').unwrap_or(s.len());
        let text = &s[..end];
        let core_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let mut parts = text[..core_end].trim_end_matches('.').split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version { major, minor, patch, text: text.to_string() })
    }

    fn key(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.key().cmp(&other.key()))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versions_in_tool_output() {
        assert_eq!(Version::find("Docker version 28.2.2, build e6534b4").unwrap().text, "28.2.2");
        assert_eq!(Version::find("v1.32.4-dispatcher").unwrap().text, "1.32.4-dispatcher");
        assert_eq!(Version::find("v3.14.0+g3fc9f4b").unwrap().patch, 0);
        assert_eq!(Version::find("Version: 0.56.2").unwrap().minor, 56);
        assert_eq!(Version::find("20.10.24+dfsg1").unwrap().major, 20);
        assert!(Version::find("no digits here").is_none());
        assert!(Version::parse("1.28").unwrap() < Version::parse("1.28.1").unwrap());
        assert!(Version::parse("v3.16.0").unwrap() >= Version::parse("3.14.0").unwrap());
    }
}
