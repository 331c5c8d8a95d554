//! The grammars of the names the config hands to tools: Kubernetes names (namespaces, services, Helm releases),
//! Minikube profiles, Docker image references, and names of our own (images, AI steps) that become step ids and
//! file names. A name that passes never starts with `-`, so it cannot reach a tool as a flag, and never holds a
//! path separator, a space or a control character.

/// Why a name is refused, as the tail of a config error ("... is not a valid ...: WHY").
pub type Refusal = String;

fn alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// The length rule every grammar here starts with: not empty, at most `max` characters.
fn length(s: &str, max: usize) -> Result<(), Refusal> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    too_long(s, max)
}

fn too_long(s: &str, max: usize) -> Result<(), Refusal> {
    if s.len() > max {
        return Err(format!("it has {} characters; at most {max} are allowed", s.len()));
    }
    Ok(())
}

/// RFC 1123 label as Kubernetes checks it (`IsDNS1123Label`, k8s.io/apimachinery/pkg/util/validation): lower-case
/// letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters. Namespaces.
pub fn dns1123_label(s: &str) -> Result<(), Refusal> {
    length(s, 63)?;
    if !s.chars().all(|c| alnum_lower(c) || c == '-') {
        return Err("only lower-case letters, digits and `-` are allowed".into());
    }
    if !s.starts_with(alnum_lower) || !s.ends_with(alnum_lower) {
        return Err("it must start and end with a lower-case letter or a digit".into());
    }
    Ok(())
}

/// RFC 1035 label (`IsDNS1035Label`): a DNS-1123 label that starts with a letter. Service names.
pub fn dns1035_label(s: &str) -> Result<(), Refusal> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a lower-case letter".into());
    }
    Ok(())
}

/// RFC 1123 subdomain (`IsDNS1123Subdomain`): dot-separated DNS-1123 labels, at most `max` characters. Helm
/// release names use it with 53 (helm pkg/chartutil/validate_name.go, `ValidateReleaseName`), object names 253.
pub fn dns1123_subdomain(s: &str, max: usize) -> Result<(), Refusal> {
    length(s, max)?;
    for part in s.split('.') {
        if part.is_empty()
            || !part.chars().all(|c| alnum_lower(c) || c == '-')
            || !part.starts_with(alnum_lower)
            || !part.ends_with(alnum_lower)
        {
            return Err("only lower-case letters, digits, `-` and `.`, each dot-separated part starting and ending \
                        with a letter or digit"
                .into());
        }
    }
    Ok(())
}

/// A Minikube profile name (minikube pkg/minikube/config/profile.go, `ProfileNameValid`): dot-separated labels of
/// letters, digits and `-` that start and end with a letter or digit, more than one character.
pub fn minikube_profile(s: &str) -> Result<(), Refusal> {
    if s.len() < 2 {
        return Err("it must have at least 2 characters".into());
    }
    too_long(s, 63)?;
    for part in s.split('.') {
        let an = |c: char| c.is_ascii_alphanumeric();
        if part.is_empty() || !part.chars().all(|c| an(c) || c == '-') || !part.starts_with(an) || !part.ends_with(an) {
            return Err("only letters, digits, `-` and `.`, starting and ending with a letter or digit".into());
        }
    }
    Ok(())
}

/// A name of our own that becomes part of a step id and a file name (`build:NAME`, `logs/ai_NAME.log`): letters,
/// digits, `-`, `_` and `.`, starting with a letter or digit, at most 63 characters.
pub fn plain(s: &str) -> Result<(), Refusal> {
    length(s, 63)?;
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("it must start with a letter or a digit".into());
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err("only letters, digits, `-`, `_` and `.` are allowed".into());
    }
    Ok(())
}

/// A plain word handed to a tool as a value (a driver, an addon, a Kubernetes version, an LLM provider): no
/// leading `-`, no spaces, no control characters, no shell or path specials.
pub fn word(s: &str) -> Result<(), Refusal> {
    length(s, 128)?;
    if s.starts_with('-') {
        return Err("it starts with `-` and would be read as a flag".into());
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+:@".contains(c)) {
        return Err("only letters, digits and `-_.+:@` are allowed".into());
    }
    Ok(())
}

/// A Docker image reference as distribution/reference parses it (reference/regexp.go): an optional registry host
/// (with a port), path components of lower-case letters and digits joined by `.`, `_`, `__` or dashes, a tag
/// (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) and/or a digest. `pinned` also requires a tag other than `latest` (any
/// case) or a digest: what the config means by a pinned tag.
pub fn image_reference(s: &str, pinned: bool) -> Result<(), Refusal> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 255 + 129 + 72 {
        return Err("it is longer than Docker allows".into());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let (alg, hex) = d.split_once(':').ok_or("the digest needs the form `sha256:<hex>`")?;
        if alg.is_empty()
            || !alg.starts_with(|c: char| c.is_ascii_alphabetic())
            || !alg.chars().all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c))
            || hex.len() < 32
            || !hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err("the digest needs the form `sha256:<hex>`".into());
        }
    }
    // The tag is after the last `:` that follows the last `/` (a colon before it is a registry port).
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.len() > 255 {
        return Err("the repository name is longer than 255 characters".into());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 {
        let first = parts[0];
        let is_host =
            first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase());
        if is_host {
            host(first)?;
            parts.remove(0);
        }
    }
    for p in &parts {
        path_component(p)?;
    }
    match tag {
        Some(t) => {
            if t.is_empty() {
                return Err("the tag after `:` is empty".into());
            }
            if t.len() > 128
                || !t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                || !t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                return Err(format!("`{t}` is not a valid tag: letters, digits, `_`, `.` and `-`, at most 128"));
            }
            if pinned && t.eq_ignore_ascii_case("latest") && digest.is_none() {
                return Err("`latest` is not a pinned tag".into());
            }
        }
        None if pinned && digest.is_none() => return Err("it has no tag".into()),
        None => {}
    }
    Ok(())
}

fn host(h: &str) -> Result<(), Refusal> {
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (h, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("`{h}` is not a valid registry host: the port must be a number"));
        }
    }
    for label in name.split('.') {
        let an = |c: char| c.is_ascii_alphanumeric();
        if label.is_empty()
            || !label.chars().all(|c| an(c) || c == '-')
            || !label.starts_with(an)
            || !label.ends_with(an)
        {
            return Err(format!("`{h}` is not a valid registry host"));
        }
    }
    Ok(())
}

fn path_component(p: &str) -> Result<(), Refusal> {
    let bad = || {
        format!(
            "`{p}` is not a valid repository name part: lower-case letters and digits, joined by `.`, `_`, `__` or `-`"
        )
    };
    if p.is_empty() || !p.starts_with(alnum_lower) || !p.ends_with(alnum_lower) {
        return Err(bad());
    }
    let mut sep = String::new();
    for c in p.chars() {
        if alnum_lower(c) {
            let ok = sep.is_empty() || sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
            if !ok {
                return Err(bad());
            }
            sep.clear();
        } else if ".-_".contains(c) {
            sep.push(c);
        } else {
            return Err(bad());
        }
    }
    Ok(())
}

/// A name a tool printed (a pod, a container), made safe to use as one file name: anything but letters, digits,
/// `-`, `_` and `.` becomes `_`, a leading `.` or `-` too, and it is cut to 100 characters.
pub fn file_safe(s: &str) -> String {
    let mut out: String =
        s.chars().take(100).map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(['.', '-']) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names() {
        assert!(dns1123_label("demo").is_ok());
        assert!(dns1123_label("my-ns-1").is_ok());
        for bad in ["", "-all", "Demo", "a_b", "a.b", "ns-", &"a".repeat(64), "--namespace=kube-system"] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
        assert!(dns1035_label("1web").is_err());
        assert!(dns1123_subdomain("todo.v2", 53).is_ok());
        assert!(dns1123_subdomain("--post-renderer=/tmp/x", 53).is_err());
        assert!(dns1123_subdomain(&"a".repeat(54), 53).is_err());
        assert!(minikube_profile("Demo-1").is_ok());
        assert!(minikube_profile("a").is_err());
        assert!(minikube_profile("-p").is_err());
    }

    #[test]
    fn image_references() {
        for ok in [
            "demo-api:1.0.0",
            "localhost:5000/demo-api:1.0.0",
            "ghcr.io/org/app_x:v1",
            "a__b/c:1",
            "demo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(image_reference(ok, true).is_ok(), "{ok}: {:?}", image_reference(ok, true));
        }
        for bad in [
            "localhost:5000/demo-api",
            "demo-api:",
            ":",
            "demo-api:LATEST",
            "demo-api:latest",
            "demo-api",
            "--output=/tmp/x:1",
            "Demo:1",
            "a b:1",
            "a:-x",
            "a/../b:1",
        ] {
            assert!(image_reference(bad, true).is_err(), "{bad}");
        }
        assert!(image_reference("postgres", false).is_ok());
    }

    #[test]
    fn file_names_from_tools() {
        assert_eq!(file_safe("../../../../etc/passwd"), "_.._.._.._.._etc_passwd");
        assert_eq!(file_safe("web-7d9f-abc"), "web-7d9f-abc");
        assert_eq!(file_safe(""), "_");
        assert_eq!(file_safe(".."), "_..");
    }
}
