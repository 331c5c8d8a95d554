//! Tool versions as the tools print them: `v1.32.4-dispatcher`, `3.14.0+g3fc9f4b`, `20.10.24+dfsg1`, `0.56.2`.
//! Ordered by SemVer 2.0 precedence (the `semver` crate): a pre-release sorts below its release
//! (`3.14.0-rc.1 < 3.14.0`), build metadata (`+dfsg1`) is ignored, and `1.28` reads as `1.28.0`.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// The pre-release part (`rc.1` of `3.14.0-rc.1`), empty for a release.
    pub pre: semver::Prerelease,
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
        let pre = text[core_end..].strip_prefix('-').map(|p| prerelease(p.split('+').next().unwrap_or("")));
        Some(Version { major, minor, patch, pre: pre.unwrap_or(semver::Prerelease::EMPTY), text: text.to_string() })
    }

    fn semver(&self) -> semver::Version {
        semver::Version { pre: self.pre.clone(), ..semver::Version::new(self.major, self.minor, self.patch) }
    }
}

/// A pre-release as SemVer reads it. Tools print suffixes SemVer does not allow (`rc.01`, `beta_2`): invalid
/// characters become `-` and a numeric identifier with a leading zero is kept as text, so such a version still
/// sorts below its release rather than equal to it.
fn prerelease(p: &str) -> semver::Prerelease {
    if let Ok(pre) = semver::Prerelease::new(p) {
        return pre;
    }
    let ids: Vec<String> = p
        .split('.')
        .filter(|id| !id.is_empty())
        .map(|id| {
            let id: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                format!("-{id}")
            } else {
                id
            }
        })
        .collect();
    semver::Prerelease::new(&ids.join(".")).unwrap_or_else(|_| semver::Prerelease::new("unknown").expect("valid"))
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// SemVer precedence: build metadata does not count, so `20.10.24+dfsg1 == 20.10.24`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.semver().cmp_precedence(&other.semver())
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

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn finds_versions_in_tool_output() {
        assert_eq!(Version::find("Docker version 28.2.2, build e6534b4").unwrap().text, "28.2.2");
        assert_eq!(Version::find("v1.32.4-dispatcher").unwrap().text, "1.32.4-dispatcher");
        assert_eq!(Version::find("v3.14.0+g3fc9f4b").unwrap().patch, 0);
        assert_eq!(Version::find("Version: 0.56.2").unwrap().minor, 56);
        assert_eq!(Version::find("20.10.24+dfsg1").unwrap().major, 20);
        assert!(Version::find("no digits here").is_none());
        assert!(v("1.28") < v("1.28.1"));
        assert!(v("v3.16.0") >= v("3.14.0"));
    }

    /// SemVer 2.0 §11 (semver.org): pre-releases below their release, identifiers compared numerically when
    /// numeric, build metadata ignored; Eq agrees with Ord.
    #[test]
    fn orders_as_semver() {
        assert!(v("3.14.0-rc.1") < v("3.14.0"), "a pre-release must fail a >= 3.14.0 minimum");
        assert!(v("3.14.0-rc.1") > v("3.13.9"));
        assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
        assert!(v("1.0.0-alpha.1") < v("1.0.0-alpha.beta"));
        assert!(v("1.0.0-beta.2") < v("1.0.0-beta.11"));
        assert!(v("1.0.0-rc.1") < v("1.0.0"));
        assert_eq!(v("20.10.24+dfsg1"), v("20.10.24"));
        assert_eq!(v("v1.28"), v("1.28.0"));
        assert_eq!(v("v1.28").cmp(&v("1.28.0")), Ordering::Equal);
        assert!(v("v3.14.0+g3fc9f4b") >= v("3.14.0"));
        // Suffixes SemVer does not allow still sort below the release.
        assert!(v("2.0.0-rc.01") < v("2.0.0"));
        assert!(v("2.0.0-beta_2") < v("2.0.0"));
    }
}
