//! The pipeline config (`xtask.yaml`): typed sections that reject unknown keys, with the defaults users get when
//! they leave a key out. docs/configuration.md documents every key; keep the two in step.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Position};
pub use crate::target::Cluster;
use crate::target::{context_of, k3d_registry_name, ClusterSpec, Delivery, RegistryRef, Target, LOCAL};
use crate::units::number_or_text;
pub use crate::units::ByteSize;
use crate::{kinds, yaml};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Names the run reports and labels.
    pub project: String,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub gates: Gates,
    /// The implicit target `local` (a Minikube profile); see `targets:` for others.
    #[serde(default)]
    pub cluster: Cluster,
    /// Named deploy targets (kind, k3d, existing clusters, other Minikube profiles); see crate::target.
    #[serde(default)]
    pub targets: BTreeMap<String, crate::target::TargetSpec>,
    /// The target used without `--target`; `local` (the `cluster:` section) when unset.
    #[serde(default)]
    pub default_target: Option<String>,
    pub release: Release,
    #[serde(default)]
    pub manifests: Option<Manifests>,
    #[serde(default)]
    pub verify: Verify,
    #[serde(default)]
    pub ai: Ai,
    #[serde(default)]
    pub secrets: BTreeMap<String, Secret>,
    #[serde(default)]
    pub tools: BTreeMap<Key<kinds::Tool>, ToolReq>,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub runs: Runs,
    /// Where the config was read from and its text, for positions in errors found after loading.
    #[serde(skip)]
    pub source: Option<(PathBuf, String)>,
    /// The target this run acts on, with its overrides already applied to the sections above.
    #[serde(skip)]
    pub target: crate::target::Target,
}

/// Run folders kept under target/xtask/runs.
pub const DEFAULT_KEEP_RUNS: usize = 20;

/// What is kept of earlier runs: the newest `keep` run folders, and always the newest failed one.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Runs {
    #[serde(default = "default_keep_runs")]
    pub keep: usize,
}

impl Default for Runs {
    fn default() -> Self {
        Runs { keep: DEFAULT_KEEP_RUNS }
    }
}

fn default_keep_runs() -> usize {
    DEFAULT_KEEP_RUNS
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub name: String,
    /// Build context, relative to the repo root.
    pub context: PathBuf,
    /// Dockerfile, relative to the repo root.
    pub dockerfile: PathBuf,
    /// Full reference, e.g. `todo-api:0.1.0`.
    pub tag: String,
    /// Port the image must EXPOSE (policy gate).
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    #[serde(default)]
    pub size_budget: SizeBudget,
    /// A Rust package whose static Linux binary is built on the host and staged into `<context>/bin/` first.
    #[serde(default)]
    pub binary: Option<StaticBinary>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticBinary {
    pub package: String,
    /// Rust target triple; the default is the Linux target of the host's architecture.
    #[serde(default)]
    pub target: Option<String>,
    /// Source paths whose change means a rebuild (besides Cargo.lock and the workspace Cargo.toml).
    #[serde(default)]
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SizeBudget {
    #[serde(default)]
    pub uncompressed: Option<ByteSize>,
    #[serde(default)]
    pub compressed: Option<ByteSize>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gates {
    pub size: bool,
    pub vulnerabilities: VulnGate,
    pub policy: PolicyGate,
}

impl Default for Gates {
    fn default() -> Self {
        Gates { size: true, vulnerabilities: VulnGate::default(), policy: PolicyGate::default() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VulnGate {
    pub enabled: bool,
    pub severities: Vec<Severity>,
    pub ignore_unfixed: bool,
    /// `.trivyignore.yaml`-style file whose entries carry a statement (reason) and `expired_at`.
    pub ignore_file: Option<PathBuf>,
}

impl Default for VulnGate {
    fn default() -> Self {
        VulnGate {
            enabled: true,
            severities: vec![Severity::High, Severity::Critical],
            ignore_unfixed: false,
            ignore_file: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyGate {
    pub enabled: bool,
    pub non_root: bool,
    pub healthcheck: bool,
    pub exposed_port: bool,
    pub no_latest_base: bool,
}

impl Default for PolicyGate {
    fn default() -> Self {
        PolicyGate { enabled: true, non_root: true, healthcheck: true, exposed_port: true, no_latest_base: true }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Chart folder, relative to the repo root.
    pub chart: PathBuf,
    pub name: String,
    pub namespace: String,
    /// Values files passed with `-f`, in order.
    #[serde(default)]
    pub values: Vec<PathBuf>,
    /// Extra values files linted (not deployed), e.g. values-prod.yaml.
    #[serde(default)]
    pub lint_values: Vec<PathBuf>,
    #[serde(default = "default_release_timeout")]
    pub timeout: Dur,
    /// `helm lint --strict`.
    #[serde(default)]
    pub strict_lint: bool,
    /// Plain `--set key=value` pairs.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Chart keys set from secrets: `database.password: db-password` passes the secret named `db-password`.
    #[serde(default)]
    pub secret_values: BTreeMap<String, String>,
    /// Chart keys that receive each image's tag: `backend.image.tag: todo-api`.
    #[serde(default)]
    pub image_values: BTreeMap<String, String>,
    /// The Service that serves the app, for the URL printed after `up` (minikube service).
    #[serde(default)]
    pub service: Option<String>,
}

fn default_release_timeout() -> Dur {
    Dur(Duration::from_secs(300))
}

/// Plain manifests for kubectl users, rendered from the chart by `cargo xtask manifests`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifests {
    /// The file written, relative to the repo root.
    pub output: PathBuf,
    #[serde(default)]
    pub values: Vec<PathBuf>,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Leave the chart's `helm test` pods out.
    #[serde(default = "yes")]
    pub skip_tests: bool,
    /// A line for the file's header (e.g. how to provide the Secret that is not rendered).
    #[serde(default)]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Verify {
    /// Checks run by `cargo xtask verify` unless `--only`/`--skip` say otherwise; all of them when empty.
    pub checks: Vec<crate::kinds::Check>,
    /// The app's API as the round-trip, resilience and persistence checks use it (through the frontend).
    pub api: ApiCheck,
    /// Service and port of the frontend and backend for health and round-trip checks.
    pub frontend: Option<Endpoint>,
    pub backend: Option<Endpoint>,
    pub rollout_timeout: Dur,
    pub load: LoadSettings,
}

impl Default for Verify {
    fn default() -> Self {
        Verify {
            checks: vec![],
            api: ApiCheck::default(),
            frontend: None,
            backend: None,
            rollout_timeout: Dur(Duration::from_secs(180)),
            load: LoadSettings::default(),
        }
    }
}

/// A collection in the app's API: create (POST), list (GET), complete (optional), delete (DELETE .../ID).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiCheck {
    /// The collection's path as the frontend serves it, e.g. `/api/tasks`.
    pub path: String,
    /// The JSON body that creates an entry; `{marker}` becomes a unique text the checks then look for.
    pub create: String,
    /// The field of the created entry that holds its id.
    pub id_field: String,
    /// A path suffix POSTed to complete an entry (`/complete`), and a text the answer must then contain; the
    /// round-trip leaves this part out when unset.
    pub complete: Option<String>,
    pub completed_contains: Option<String>,
}

impl Default for ApiCheck {
    fn default() -> Self {
        ApiCheck {
            path: "/api/tasks".into(),
            create: r#"{"title": "{marker}", "priority": "high"}"#.into(),
            id_field: "id".into(),
            complete: Some("/complete".into()),
            completed_contains: Some(r#""done""#.into()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub service: String,
    pub port: u16,
    #[serde(default = "default_health")]
    pub health: String,
}

fn default_health() -> String {
    "/health".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSettings {
    pub requests: u32,
    pub concurrency: u32,
    pub duration: Dur,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings { requests: 20000, concurrency: 8, duration: Dur(Duration::from_secs(120)) }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ai {
    /// Tool that diagnoses a failed run automatically; none when unset.
    pub on_failure: Option<AiTool>,
    /// Steps run after deploy; their answers are saved in the run folder.
    pub steps: Vec<AiStep>,
    pub kubectl_ai: KubectlAi,
    pub kagent: Kagent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AiTool {
    KubectlAi,
    Kagent,
    DockerAi,
}

impl AiTool {
    pub fn tool(self) -> kinds::Tool {
        match self {
            AiTool::KubectlAi => kinds::Tool::KubectlAi,
            AiTool::Kagent => kinds::Tool::Kagent,
            AiTool::DockerAi => kinds::Tool::DockerAi,
        }
    }

    pub fn tool_name(self) -> &'static str {
        self.tool().name()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AiStep {
    pub name: String,
    pub tool: AiTool,
    pub prompt: String,
    #[serde(default)]
    pub agent: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubectlAi {
    pub llm_provider: String,
    pub model: Option<String>,
    /// Env var that must hold the provider's API key.
    pub api_key_env: String,
}

impl Default for KubectlAi {
    fn default() -> Self {
        KubectlAi { llm_provider: "gemini".into(), model: None, api_key_env: "GEMINI_API_KEY".into() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kagent {
    pub namespace: String,
    pub agent: String,
}

impl Default for Kagent {
    fn default() -> Self {
        Kagent { namespace: "kagent".into(), agent: "k8s-agent".into() }
    }
}

/// Where a secret's value comes from: an env var first, then a git-ignored file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// When neither source has a value: generate a random one into `file` (for dev databases).
    #[serde(default)]
    pub generate: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolReq {
    #[serde(default)]
    pub minimum: Option<String>,
    /// Force required (true) or optional (false); by default the config decides.
    #[serde(default)]
    pub required: Option<bool>,
}

/// Per-step-kind timeouts; the step kinds are listed in docs/configuration.md.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Timeouts(pub BTreeMap<Key<kinds::StepKind>, Dur>);

impl Timeouts {
    /// The limit `timeouts:` sets for steps of `kind`, if any.
    pub fn get(&self, kind: kinds::StepKind) -> Option<Duration> {
        self.0.get(&Key::Known(kind)).map(|d| d.0)
    }
}

/// A closed set whose members xtask.yaml names as map keys (`tools:`, `timeouts:`).
pub trait Named: Copy + Ord {
    fn from_name(name: &str) -> Option<Self>;
    fn name(self) -> &'static str;
}

impl Named for kinds::StepKind {
    fn from_name(name: &str) -> Option<Self> {
        kinds::StepKind::from_name(name)
    }
    fn name(self) -> &'static str {
        kinds::StepKind::name(self)
    }
}

impl Named for kinds::Tool {
    fn from_name(name: &str) -> Option<Self> {
        kinds::Tool::from_name(name)
    }
    fn name(self) -> &'static str {
        kinds::Tool::name(self)
    }
}

/// A map key naming a member of a closed set, or a name that is none: kept, not rejected while parsing, so the
/// config check reports it at its line and column with the nearest name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key<K> {
    Known(K),
    Unknown(String),
}

impl<K: Named> fmt::Display for Key<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Known(k) => f.write_str(k.name()),
            Key::Unknown(name) => f.write_str(name),
        }
    }
}

impl<'de, K: Named> Deserialize<'de> for Key<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(K::from_name(&name).map_or(Key::Unknown(name), Key::Known))
    }
}

impl<K: Named> Serialize for Key<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A duration written as `90s`, `5m`, `1h30m` or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        if s >= 60 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else if self.0.subsec_millis() != 0 {
            write!(f, "{}ms", self.0.as_millis())
        } else {
            write!(f, "{s}s")
        }
    }
}

/// The longest duration accepted anywhere in the config: a day. Longer ones are typos, and unbounded ones overflow
/// the clock arithmetic of deadlines.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

impl Dur {
    fn from_secs(n: u64) -> Result<Dur, String> {
        Dur::checked(n as f64, &n.to_string())
    }

    /// A duration of `secs` seconds, written `shown`, within 1ms..=[`MAX_DURATION`].
    fn checked(secs: f64, shown: &str) -> Result<Dur, String> {
        if !secs.is_finite() || secs > MAX_DURATION.as_secs_f64() {
            return Err(format!("`{shown}` is longer than the maximum of 24h"));
        }
        if secs < 0.001 {
            return Err(format!("`{shown}` is too short: a duration must be at least 1ms (write e.g. `90s`)"));
        }
        Ok(Dur(Duration::from_millis((secs * 1000.0).round() as u64)))
    }

    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        if let Ok(n) = s.parse::<u64>() {
            return Dur::from_secs(n);
        }
        let mut total = 0f64;
        let mut num = String::new();
        let mut chars = s.chars().peekable();
        let bad = || format!("`{s}` is not a duration: write e.g. `90s`, `5m` or `1h30m`");
        let mut any = false;
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let mut unit = c.to_string();
            if c == 'm' && chars.peek() == Some(&'s') {
                unit.push(chars.next().unwrap_or('s'));
            }
            let n: f64 = num.parse().map_err(|_| bad())?;
            num.clear();
            let secs = match unit.as_str() {
                "ms" => n / 1000.0,
                "s" => n,
                "m" => n * 60.0,
                "h" => n * 3600.0,
                _ => return Err(bad()),
            };
            total += secs;
            any = true;
        }
        if !num.is_empty() || !any {
            return Err(bad());
        }
        Dur::checked(total, s)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        number_or_text(d, "expected a duration such as `90s` or `5m`", Dur::from_secs, Dur::parse)
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl Config {
    /// Checks what serde cannot: references between sections, duplicate names.
    pub(crate) fn check(&self, file: &Path, text: &str) -> Result<(), Error> {
        let at = |key: &str, needle: &str| {
            let (l, c) = yaml::locate(text, key, needle, false);
            Position::new(file, l, c)
        };
        let mut seen = std::collections::BTreeSet::new();
        for img in &self.images {
            if !seen.insert(img.name.as_str()) {
                let (l, c) = yaml::locate(text, "name", &img.name, true);
                return Err(Error::config_at(
                    Position::new(file, l, c),
                    format!("image `{}` is listed twice", img.name),
                ));
            }
        }
        for (key, secret) in &self.release.secret_values {
            if !self.secrets.contains_key(secret) {
                return Err(Error::config_at(
                    at(key, secret),
                    format!("release.secret_values.{key} names secret `{secret}`, which is not under `secrets:`"),
                ));
            }
        }
        for (key, image) in &self.release.image_values {
            if !self.images.iter().any(|i| &i.name == image) {
                return Err(Error::config_at(
                    at(key, image),
                    format!("release.image_values.{key} names image `{image}`, which is not under `images:`"),
                ));
            }
        }
        for (name, s) in &self.secrets {
            if s.env.is_none() && s.file.is_none() {
                return Err(Error::config_at(
                    at(name, ""),
                    format!("secret `{name}` needs `env:` or `file:` (or both)"),
                ));
            }
        }
        for key in self.tools.keys() {
            if let Key::Unknown(name) = key {
                let hint = yaml::nearest(name, &kinds::TOOL_NAMES)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(Error::config_at(at(name, ""), format!("unknown tool `{name}`{hint}")));
            }
        }
        if self.runs.keep == 0 {
            return Err(Error::config_at(
                at("runs/keep", ""),
                format!(
                    "runs.keep is 0, but the run that just finished is always kept — use 1 or more (default \
                     {DEFAULT_KEEP_RUNS})"
                ),
            ));
        }
        check_targets(self).map_err(|e| Error::config_at(at("targets", ""), e))?;
        for key in self.timeouts.0.keys() {
            if let Key::Unknown(kind) = key {
                let hint = yaml::nearest(kind, &kinds::STEP_KIND_NAMES)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(Error::config_at(at(kind, ""), format!("unknown step kind `{kind}` under timeouts{hint}")));
            }
        }
        Ok(())
    }

    /// Registers every secret that has a value with the redactor. Every command does this, also those that never
    /// pass secrets to a tool (teardown, ai): a tool may still print them (`helm status` shows the release's values).
    pub fn register_secrets(&self, root: &Path) {
        for s in self.secrets.values() {
            if let Ok(Some(v)) = read_secret(root, s) {
                crate::secrets::register(&v);
            }
        }
    }

    /// Where `value` under `key` (a `/` path, see [`yaml::locate`]) is, for errors found after loading; None when
    /// the config was not read from a file.
    pub fn position(&self, key: &str, value: &str) -> Option<Position> {
        let (file, text) = self.source.as_ref()?;
        let (l, c) = yaml::locate(text, key, value, false);
        Some(Position::new(file, l, c))
    }

    /// The kube context of the active target (the Minikube profile for `local`).
    pub fn kube_context(&self) -> &str {
        self.target.kube_context()
    }

    pub fn image(&self, name: &str) -> Option<&Image> {
        self.images.iter().find(|i| i.name == name)
    }
}

/// The config's text: a regular file of at most 4 MiB in UTF-8 (a FIFO or /dev/zero would block or never end).
pub(crate) fn read_config(path: &Path, shown: &Path) -> Result<String, Error> {
    let fail = |why: String| Error::config(format!("cannot read the pipeline config {}: {why}", shown.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("{e} — pass `--config PATH` or run from the repo")))?;
    let at_start = |why: String| Error::config_at(Position::new(shown, 1, 1), why);
    if !meta.is_file() {
        return Err(at_start("this is not a regular file: name the config file".into()));
    }
    const MAX: u64 = 4 << 20;
    if meta.len() > MAX {
        return Err(at_start(format!(
            "the file has {} bytes; a config of more than 4 MiB is surely not one",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    let f = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX + 1), &mut bytes).map_err(|e| fail(e.to_string()))?;
    // A byte-order mark (some Windows editors write one) is not part of the first key.
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        Error::config_at(Position::new(shown, line, col), "the file is not UTF-8 text: save it as UTF-8")
    })
}

fn line_col(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, col)
}

/// The config file to use: `--config` or `xtask.yaml` at the repo root.
pub fn path(root: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) if p.is_absolute() => p.to_path_buf(),
        Some(p) => std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()),
        None => root.join("xtask.yaml"),
    }
}

/// Reads a secret's value from its env var or file. `None` when neither has one.
pub fn read_secret(root: &Path, s: &Secret) -> anyhow::Result<Option<String>> {
    if let Some(var) = &s.env {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return Ok(Some(v));
            }
        }
    }
    if let Some(file) = &s.file {
        let p = root.join(file);
        if p.exists() {
            let v = std::fs::read_to_string(&p).with_context(|| format!("reading secret file {}", file.display()))?;
            let v = v.trim_end_matches(['\n', '\r']).to_string();
            if !v.is_empty() {
                return Ok(Some(v));
            }
        }
    }
    Ok(None)
}

/// The names a user may pass to `--target`, `local` first.
pub fn target_names(cfg: &Config) -> Vec<String> {
    let mut n = vec![LOCAL.to_string()];
    n.extend(cfg.targets.keys().filter(|k| k.as_str() != LOCAL).cloned());
    n
}

/// Resolves `--target` (or `default_target`, or `local`) and applies the target's overrides to the config.
pub fn select_target(cfg: &mut Config, flag: Option<&str>) -> anyhow::Result<()> {
    let name = flag.or(cfg.default_target.as_deref()).unwrap_or(LOCAL).to_string();
    let target = match cfg.targets.get(&name) {
        Some(spec) => {
            let protected = spec.protected.unwrap_or(matches!(spec.cluster, ClusterSpec::Existing(_)));
            let delivery = match (&spec.registry, &spec.cluster) {
                (Some(r), _) => Delivery::Registry(r.clone()),
                (None, ClusterSpec::K3d(k)) if k.local_registry.is_some() => {
                    let port = k.local_registry.unwrap_or_default();
                    // k3d mirrors `<registry name>:<host port>` to the registry container inside the cluster
                    // (pkg/client/registry.go:202-219 at v5.9.0); the host reaches it as localhost:PORT
                    // (k3d-io/k3d usage/registries.md:97-101 under its docs folder).
                    Delivery::Registry(RegistryRef {
                        host: format!("localhost:{port}"),
                        path: cfg.project.clone(),
                        pull_host: Some(format!("{}:{port}", k3d_registry_name(&k.name))),
                    })
                }
                (None, ClusterSpec::Kind(k)) if k.local_registry.is_some() => {
                    // kind's local-registry guide: the nodes' containerd aliases localhost:PORT to the registry
                    // container, so host and cluster use the same name (site/static/examples/kind-with-registry.sh,
                    // step 3, at v0.32.0).
                    Delivery::Registry(RegistryRef {
                        host: format!("localhost:{}", k.local_registry.unwrap_or_default()),
                        path: cfg.project.clone(),
                        pull_host: None,
                    })
                }
                (None, _) => Delivery::SideLoad,
            };
            let spec = spec.clone();
            if let Some(ns) = spec.namespace {
                cfg.release.namespace = ns;
            }
            if let Some(n) = spec.release_name {
                cfg.release.name = n;
            }
            if let Some(v) = spec.values {
                cfg.release.values = v;
            }
            cfg.release.set.extend(spec.set);
            if let ClusterSpec::Minikube(c) = &spec.cluster {
                cfg.cluster = c.clone();
            }
            let context = context_of(&spec.cluster);
            let mut t =
                Target { name: name.clone(), cluster: spec.cluster, delivery, protected, explicit: false, context };
            match spec.verify {
                Some(v) => cfg.verify.checks = v,
                None if cfg.verify.checks.is_empty() => cfg.verify.checks = t.default_checks(),
                None => {}
            }
            t.explicit = flag.is_some();
            t
        }
        None if name == LOCAL => Target { explicit: flag.is_some(), ..Target::local(&cfg.cluster) },
        None => {
            let known = target_names(cfg);
            let refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let hint = crate::yaml::nearest(&name, &refs).map(|n| format!(" Did you mean `{n}`?")).unwrap_or_default();
            anyhow::bail!(Error::config(format!(
                "there is no target `{name}`: the config defines {}.{hint}",
                known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    };
    cfg.target = target;
    Ok(())
}

/// Checks what serde cannot: the default target exists.
fn check_targets(cfg: &Config) -> Result<(), String> {
    if let Some(d) = &cfg.default_target {
        if d != LOCAL && !cfg.targets.contains_key(d) {
            return Err(format!("default_target `{d}` is not under `targets:` (nor `local`)"));
        }
    }
    for (name, t) in &cfg.targets {
        if let ClusterSpec::Kind(k) | ClusterSpec::K3d(k) = &t.cluster {
            if k.nodes == 0 {
                return Err(format!("targets.{name}.cluster.nodes must be at least 1"));
            }
        }
        match &t.cluster {
            ClusterSpec::Existing(e) if t.registry.is_none() => {
                return Err(format!(
                    "targets.{name} is an existing cluster (context `{}`): images cannot be side-loaded into it — \
                     give the target `registry: host[:port]/path` to push them to (see docs/targets.md)",
                    e.context
                ))
            }
            ClusterSpec::Kind(k) | ClusterSpec::K3d(k) if k.local_registry.is_some() && t.registry.is_some() => {
                return Err(format!("targets.{name}: `registry` and `cluster.local_registry` exclude each other"))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Dur::parse("90s").unwrap().0, Duration::from_secs(90));
        assert_eq!(Dur::parse("1h30m").unwrap().0, Duration::from_secs(5400));
        assert_eq!(Dur::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Dur::parse("45").unwrap().0, Duration::from_secs(45));
        assert!(Dur::parse("5 minutes").is_err());
        assert!(Dur::parse("").is_err());
        assert!(Dur::parse("0").is_err());
        assert!(Dur::parse("0s").is_err());
        assert!(Dur::parse("0.0001ms").is_err());
        assert!(Dur::parse("18446744073709551615").is_err());
        assert!(Dur::parse("99999999999999999999h").is_err());
        assert!(Dur::parse("10000000000000000000s10000000000000000000s").is_err());
        assert_eq!(Dur::parse("24h").unwrap().0, MAX_DURATION);
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("20MB").unwrap().0, 20_000_000);
        assert_eq!(ByteSize::parse("4g").unwrap().mib(), 4096);
        assert_eq!(ByteSize::parse("512MiB").unwrap().mib(), 512);
        assert!(ByteSize::parse("12 parsecs").is_err());
    }
}
