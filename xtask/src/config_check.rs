//! Checks of the config's values that serde cannot make: every path stays inside the repository and names what it
//! should (a folder, a regular file — never a device or a FIFO), every name matches the grammar of the tool it is
//! handed to (so none can start with `-` and be read as a flag), and nothing is listed twice. Each refusal is a
//! [`Error::Config`] at the `file:line:column` of the offending value. [`Config::load`] lives here: it reads
//! the file, then runs these checks, so config.rs (the shape) need not import its checker.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Position};
pub use crate::yaml::locate;
use crate::{names, yaml};

/// What a configured path must name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    /// A file or a folder (`binary.sources`).
    Any,
    /// A file the xtask writes (manifests output, generated secrets): a regular file when it exists.
    Output,
}

/// Largest file the config may point the xtask at for reading into memory (values, ignore files, secrets).
const MAX_READ: u64 = 16 << 20;

impl Config {
    /// Reads and checks the config. Errors are [`Error::Config`], with file:line:column where the place is known
    /// (exit 2).
    pub fn load(path: &Path, shown_as: &Path, root: &Path) -> anyhow::Result<Config> {
        let text = crate::config::read_config(path, shown_as).map_err(anyhow::Error::new)?;
        let mut cfg: Config = yaml::from_str(shown_as, &text)?;
        // Values first, then references between them: a malformed name is reported where it is written, not where
        // something refers to it.
        check(&cfg, shown_as, &text, root).map_err(anyhow::Error::new)?;
        cfg.check(shown_as, &text).map_err(anyhow::Error::new)?;
        // Commands that take no `--target` act on `local`; cluster commands then select theirs.
        cfg.target = crate::target::Target::local(&cfg.cluster);
        cfg.source = Some((shown_as.to_path_buf(), text));
        Ok(cfg)
    }
}

pub fn check(cfg: &Config, file: &Path, text: &str, root: &Path) -> Result<(), Error> {
    let c = Checker { file, text, root, canon_root: std::fs::canonicalize(root).unwrap_or_else(|_| root.into()) };
    c.run(cfg)
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    root: &'a Path,
    canon_root: PathBuf,
}

impl Checker<'_> {
    fn run(&self, cfg: &Config) -> Result<(), Error> {
        // The project's name is also the repository path images are pushed under (a target's local registry).
        self.name("project", &cfg.project, "project", names::plain(&cfg.project))?;
        if cfg.project.trim().is_empty() || cfg.project.chars().any(char::is_control) {
            return Err(self.err(
                "project",
                &cfg.project,
                "project must be a non-empty name without control characters",
            ));
        }
        let mut tags = BTreeSet::new();
        for img in &cfg.images {
            self.name("name", &img.name, "images[].name", names::plain(&img.name))?;
            self.name("tag", &img.tag, &format!("image `{}`'s tag", img.name), names::image_reference(&img.tag, true))
                .map_err(|e| Error::config(format!("{e} — write a pinned tag such as `{}:0.1.0`", img.name)))?;
            if !tags.insert(img.tag.as_str()) {
                return Err(self.err_last("tag", &img.tag, &format!("the tag `{}` is given to two images", img.tag)));
            }
            self.path("context", &img.context, Kind::Dir)?;
            self.path("dockerfile", &img.dockerfile, Kind::File)?;
            for k in img.build_args.keys() {
                self.name(k, k, "a build arg", env_name(k))?;
            }
            if let Some(b) = &img.binary {
                self.name("package", &b.package, "binary.package", names::word(&b.package))?;
                if let Some(t) = &b.target {
                    self.name("target", t, "binary.target", names::word(t))?;
                }
                for s in &b.sources {
                    self.path("sources", s, Kind::Any)?;
                }
            }
        }
        let v = &cfg.gates.vulnerabilities;
        if let Some(f) = &v.ignore_file {
            self.path("ignore_file", f, Kind::File)?;
        }
        if v.enabled && v.severities.is_empty() {
            return Err(self.err(
                "severities",
                "",
                "gates.vulnerabilities.severities is empty, so the gate would pass everything: list severities or set \
                 `enabled: false`",
            ));
        }
        let cl = &cfg.cluster;
        self.name("cluster/profile", &cl.profile, "cluster.profile", names::minikube_profile(&cl.profile))?;
        self.name("cluster/driver", &cl.driver, "cluster.driver", names::word(&cl.driver))?;
        self.name(
            "cluster/kubernetes_version",
            &cl.kubernetes_version,
            "cluster.kubernetes_version",
            names::word(&cl.kubernetes_version),
        )?;
        for a in &cl.addons {
            self.name("cluster/addons", a, "cluster.addons", names::word(a))?;
        }
        if cl.cpus == 0 || cl.cpus > 1024 {
            return Err(self.err("cluster/cpus", &cl.cpus.to_string(), "cluster.cpus must be between 1 and 1024"));
        }
        let r = &cfg.release;
        self.path("release/chart", &r.chart, Kind::Dir)?;
        self.name(
            "release/name",
            &r.name,
            "release.name (a Helm release name)",
            names::dns1123_subdomain(&r.name, 53),
        )?;
        self.name("release/namespace", &r.namespace, "release.namespace", names::dns1123_label(&r.namespace))?;
        for f in r.values.iter().chain(&r.lint_values) {
            self.path("values", f, Kind::File)?;
        }
        if let Some(svc) = &r.service {
            self.name("release/service", svc, "release.service (a Service name)", names::dns1035_label(svc))?;
        }
        for k in r.set.keys().chain(r.secret_values.keys()).chain(r.image_values.keys()) {
            if k.is_empty()
                || k.starts_with(['-', '.'])
                || k.ends_with('.')
                || k.contains(['=', ','])
                || k.contains("..")
            {
                return Err(self.err(
                    k,
                    k,
                    &format!("`{k}` is not a chart value key: write dotted keys such as `a.b`"),
                ));
            }
        }
        let keys: Vec<&String> = r.secret_values.keys().collect();
        for a in &keys {
            if let Some(b) = keys.iter().find(|b| b.starts_with(&format!("{a}."))) {
                return Err(self.err(
                    b,
                    b,
                    &format!("release.secret_values sets both `{a}` and `{b}`: one would silently replace the other"),
                ));
            }
        }
        if let Some(m) = &cfg.manifests {
            self.path("manifests/output", &m.output, Kind::Output)?;
            for f in &m.values {
                self.path("values", f, Kind::File)?;
            }
        }
        let vf = &cfg.verify;
        for ep in [&vf.frontend, &vf.backend].into_iter().flatten() {
            self.name("service", &ep.service, "verify's service (a Service name)", names::dns1035_label(&ep.service))?;
            self.name("health", &ep.health, "a health path", url_path(&ep.health))?;
        }
        self.name("path", &vf.api.path, "verify.api.path", url_path(&vf.api.path))?;
        if let Some(c) = &vf.api.complete {
            self.name("complete", c, "verify.api.complete", url_path(c))?;
        }
        let l = &vf.load;
        if l.concurrency == 0 || l.concurrency > 1000 {
            return Err(self.err(
                "concurrency",
                &l.concurrency.to_string(),
                "verify.load.concurrency must be 1 to 1000",
            ));
        }
        if l.requests == 0 || l.requests > 10_000_000 {
            return Err(self.err("requests", &l.requests.to_string(), "verify.load.requests must be 1 to 10000000"));
        }
        let ai = &cfg.ai;
        let mut steps = BTreeSet::new();
        for s in &ai.steps {
            self.name("name", &s.name, "ai.steps[].name", names::plain(&s.name))?;
            if !steps.insert(s.name.as_str()) {
                return Err(self.err_last("name", &s.name, &format!("two AI steps are named `{}`", s.name)));
            }
            if let Some(a) = &s.agent {
                self.name("agent", a, "ai.steps[].agent (a kagent Agent name)", names::dns1123_subdomain(a, 253))?;
            }
            if s.prompt.trim().is_empty() || s.prompt.starts_with('-') {
                return Err(self.err(
                    "prompt",
                    &s.prompt,
                    "ai.steps[].prompt must be non-empty and must not start with `-` (the tool would read it as a flag)",
                ));
            }
        }
        self.name(
            "kagent/namespace",
            &ai.kagent.namespace,
            "ai.kagent.namespace",
            names::dns1123_label(&ai.kagent.namespace),
        )?;
        self.name(
            "kagent/agent",
            &ai.kagent.agent,
            "ai.kagent.agent",
            names::dns1123_subdomain(&ai.kagent.agent, 253),
        )?;
        let k = &ai.kubectl_ai;
        self.name("llm_provider", &k.llm_provider, "ai.kubectl_ai.llm_provider", names::word(&k.llm_provider))?;
        if let Some(m) = &k.model {
            self.name("model", m, "ai.kubectl_ai.model", names::word(m))?;
        }
        self.name("api_key_env", &k.api_key_env, "ai.kubectl_ai.api_key_env", env_name(&k.api_key_env))?;
        for (name, s) in &cfg.secrets {
            self.name(name, name, "a secret's name", names::plain(name))?;
            if let Some(e) = &s.env {
                self.name("env", e, &format!("secrets.{name}.env"), env_name(e))?;
            }
            if let Some(f) = &s.file {
                self.path("file", f, Kind::Output)?;
            }
        }
        for (name, t) in &cfg.targets {
            self.target(name, t)?;
        }
        for (name, t) in &cfg.tools {
            if let Some(m) = &t.minimum {
                if crate::version::Version::parse(m).is_none() {
                    return Err(self.err(
                        "minimum",
                        m,
                        &format!("tools.{name}.minimum: `{m}` is not a version such as `3.14.0`"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A deploy target's names and paths: its name becomes part of file names and `--target`, its cluster's name
    /// and context reach kind, k3d and kubectl.
    fn target(&self, name: &str, t: &crate::target::TargetSpec) -> Result<(), Error> {
        use crate::target::ClusterSpec;
        self.name(name, name, "a target's name", names::plain(name))?;
        if let Some(ns) = &t.namespace {
            self.name("namespace", ns, &format!("targets.{name}.namespace"), names::dns1123_label(ns))?;
        }
        if let Some(r) = &t.release_name {
            self.name("release_name", r, &format!("targets.{name}.release_name"), names::dns1123_subdomain(r, 53))?;
        }
        for f in t.values.iter().flatten() {
            self.path("values", f, Kind::File)?;
        }
        for k in t.set.keys() {
            if k.is_empty() || k.starts_with(['-', '.']) || k.contains(['=', ',']) {
                return Err(self.err(
                    k,
                    k,
                    &format!("`{k}` is not a chart value key: write dotted keys such as `a.b`"),
                ));
            }
        }
        match &t.cluster {
            ClusterSpec::Kind(c) | ClusterSpec::K3d(c) => {
                self.name("name", &c.name, &format!("targets.{name}.cluster.name"), names::dns1123_label(&c.name))?;
                if let Some(v) = &c.kubernetes_version {
                    self.name(
                        "kubernetes_version",
                        v,
                        &format!("targets.{name}.cluster.kubernetes_version"),
                        names::word(v),
                    )?;
                }
            }
            ClusterSpec::Existing(e) => {
                // Context names are free-form (`arn:aws:eks:...:cluster/x`), but never a flag or blank.
                let ok = !e.context.is_empty()
                    && !e.context.starts_with('-')
                    && !e.context.chars().any(|c| c.is_control() || c.is_whitespace());
                if !ok {
                    return Err(self.err(
                        "context",
                        &e.context,
                        &format!(
                            "targets.{name}.cluster.context `{}` is not a kube context name: no spaces, control \
                             characters or leading `-`",
                            shown(&e.context)
                        ),
                    ));
                }
            }
            ClusterSpec::Minikube(c) => {
                self.name(
                    "profile",
                    &c.profile,
                    &format!("targets.{name}.cluster.profile"),
                    names::minikube_profile(&c.profile),
                )?;
                self.name("driver", &c.driver, &format!("targets.{name}.cluster.driver"), names::word(&c.driver))?;
            }
        }
        Ok(())
    }

    /// A name checked against its grammar.
    fn name(&self, key: &str, value: &str, what: &str, r: Result<(), names::Refusal>) -> Result<(), Error> {
        r.map_err(|why| self.err(key, value, &format!("{what} `{}` is not valid: {why}", shown(value))))
    }

    fn err(&self, key: &str, value: &str, msg: &str) -> Error {
        let (l, c) = locate(self.text, key, value, false);
        Error::config_at(Position::new(self.file, l, c), msg)
    }

    /// Like [`Checker::err`], at the last occurrence (the second of two duplicates).
    fn err_last(&self, key: &str, value: &str, msg: &str) -> Error {
        let (l, c) = locate(self.text, key, value, true);
        Error::config_at(Position::new(self.file, l, c), msg)
    }

    /// A configured path: relative, inside the repository (also through symbolic links), of the expected kind.
    fn path(&self, key: &str, rel: &Path, kind: Kind) -> Result<(), Error> {
        let value = rel.to_string_lossy();
        let shown_key = key.rsplit('/').next().unwrap_or(key);
        let fail = |why: &str| self.err(key, &value, &format!("`{}` ({shown_key}) {why}", shown(&value)));
        if value.is_empty() {
            return Err(fail("is empty"));
        }
        if value.starts_with('-') {
            return Err(fail("starts with `-` and would be read as a flag: write `./` in front"));
        }
        if value.chars().any(char::is_control) {
            return Err(fail("holds control characters"));
        }
        if value.len() > 1024 || rel.components().any(|c| c.as_os_str().len() > 255) {
            return Err(fail("is longer than a path in a repository can be (255 bytes a name, 1024 in all)"));
        }
        let mut depth: i64 = 0;
        for comp in rel.components() {
            match comp {
                Component::Prefix(_) | Component::RootDir => {
                    return Err(fail(
                        "is absolute: paths in xtask.yaml are relative to the repository root and stay inside it",
                    ))
                }
                Component::ParentDir => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(fail("leads outside the repository (`..`): paths in xtask.yaml stay inside it"));
                    }
                }
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
            }
        }
        let full = self.root.join(rel);
        // The deepest part that exists must resolve inside the repository: a symbolic link may point anywhere.
        let mut existing = full.as_path();
        while std::fs::symlink_metadata(existing).is_err() {
            match existing.parent() {
                Some(p) => existing = p,
                None => break,
            }
        }
        if let Ok(canon) = std::fs::canonicalize(existing) {
            if !canon.starts_with(&self.canon_root) {
                return Err(fail("resolves (through a symbolic link) to a place outside the repository"));
            }
        }
        let Ok(meta) = std::fs::metadata(&full) else { return Ok(()) };
        let special = !meta.is_file() && !meta.is_dir();
        if special {
            return Err(fail(
                "is not a regular file or folder (a device, FIFO or socket): name a file in the repository",
            ));
        }
        match kind {
            Kind::Dir if !meta.is_dir() => Err(fail("is not a folder")),
            Kind::File | Kind::Output if !meta.is_file() => Err(fail("is not a regular file")),
            Kind::File if meta.len() > MAX_READ => Err(fail("is larger than 16 MiB; the xtask reads it whole")),
            _ => Ok(()),
        }
    }
}

/// Long or odd values are cut and escaped in messages.
fn shown(v: &str) -> String {
    let s: String = v.chars().take(80).flat_map(char::escape_default).collect();
    if v.chars().count() > 80 {
        format!("{s}...")
    } else {
        s
    }
}

fn env_name(s: &str) -> Result<(), names::Refusal> {
    if s.is_empty()
        || !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err("an environment variable name is letters, digits and `_`, not starting with a digit".into());
    }
    Ok(())
}

/// An HTTP path (RFC 3986 `path-absolute` characters): starts with `/`, no spaces, quotes or control characters.
fn url_path(s: &str) -> Result<(), names::Refusal> {
    if !s.starts_with('/') {
        return Err("it must start with `/`".into());
    }
    if s.len() > 2048 {
        return Err("it is longer than 2048 characters".into());
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)) {
        return Err("only URL path characters are allowed (letters, digits and `-._~!$&'()*+,;=:@/%`)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_the_value_of_its_key() {
        let text = "images:\n  - name: api\n    context: images/api\n    tag: api:1\nrelease:\n  name: api\n";
        assert_eq!(locate(text, "name", "api", false), (2, 11));
        assert_eq!(locate(text, "name", "api", true), (6, 9));
        assert_eq!(locate(text, "tag", "api:1", false), (4, 10));
        assert_eq!(locate(text, "context", "images/api", false), (3, 14));
    }
}
