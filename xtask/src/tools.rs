//! The external tools the pipeline drives: where each is found (the pinned copy in .xtask/bin first, then PATH),
//! which version it is (each tool prints it differently), and whether the config needs it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::{AiTool, Config, Key};
use crate::context::Context;
use crate::kinds::Tool;
use crate::pipeline::exec::{self, Exec};
use crate::version::Version;

/// How a tool reports its version, and what to tell users who lack it.
pub struct ToolDef {
    pub tool: Tool,
    /// The executable; `docker-ai` is a docker CLI plugin.
    pub program: &'static str,
    pub version_args: &'static [&'static str],
    pub default_minimum: &'static str,
    pub install: [&'static str; 3],
}

/// Every tool, in the order doctor lists them. Version commands and their traps: docs/dev/tool-facts.md.
pub const DEFS: &[ToolDef] = &[
    ToolDef {
        tool: Tool::Docker,
        program: "docker",
        // JSON carries the client and, when the daemon answers, the server; a down daemon exits 1 but still
        // prints the client part.
        version_args: &["version", "--format", "{{json .}}"],
        default_minimum: "20.10.0",
        install: [
            "install Docker Engine (https://docs.docker.com/engine/install/) and start it: `sudo systemctl start docker`",
            "install Docker Desktop (`brew install --cask docker`) and start it",
            "install Docker Desktop with the WSL2 backend (`winget install Docker.DockerDesktop`) and start it",
        ],
    },
    ToolDef {
        tool: Tool::Minikube,
        program: "minikube",
        version_args: &["version", "--short"],
        default_minimum: "1.32.0",
        install: [
            "`cargo xtask tools install minikube` (pinned) or https://minikube.sigs.k8s.io/docs/start/",
            "`cargo xtask tools install minikube` (pinned) or `brew install minikube`",
            "`cargo xtask tools install minikube` (pinned) or `winget install Kubernetes.minikube`",
        ],
    },
    ToolDef {
        tool: Tool::Kubectl,
        program: "kubectl",
        // Without --client kubectl contacts the cluster (and waits on it); --short is gone since 1.28.
        version_args: &["version", "--client", "-o", "json"],
        default_minimum: "1.28.0",
        install: [
            "`cargo xtask tools install kubectl` (pinned) or https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/",
            "`cargo xtask tools install kubectl` (pinned) or `brew install kubectl`",
            "`cargo xtask tools install kubectl` (pinned) or `winget install Kubernetes.kubectl`",
        ],
    },
    ToolDef {
        tool: Tool::Helm,
        program: "helm",
        // Same on Helm 3 and 4: `v3.16.2+g13654a5`.
        version_args: &["version", "--short"],
        default_minimum: "3.14.0",
        install: [
            "`cargo xtask tools install helm` (pinned) or https://helm.sh/docs/intro/install/",
            "`cargo xtask tools install helm` (pinned) or `brew install helm`",
            "`cargo xtask tools install helm` (pinned) or `winget install Helm.Helm`",
        ],
    },
    // kind and k3d: only for targets that use them (doctor leaves them out otherwise).
    ToolDef {
        tool: Tool::Kind,
        program: "kind",
        // `kind version` prints `kind v0.32.0 go1.24.6 linux/amd64` (pkg/cmd/kind/version/version.go:56-58 at v0.32.0).
        version_args: &["version"],
        default_minimum: "0.20.0",
        install: [
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation (`go install sigs.k8s.io/kind@v0.32.0`)",
            "`brew install kind`",
            "`winget install Kubernetes.kind`",
        ],
    },
    ToolDef {
        tool: Tool::K3d,
        program: "k3d",
        // `k3d version` prints `k3d version v5.9.0` then `k3s version ...` (cmd/root.go:258-259 at v5.9.0).
        version_args: &["version"],
        default_minimum: "5.6.0",
        install: [
            "https://k3d.io/stable/#installation (`curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash`)",
            "`brew install k3d`",
            "`choco install k3d`",
        ],
    },
    ToolDef {
        tool: Tool::Trivy,
        program: "trivy",
        version_args: &["--version"],
        // 0.65: the first release that finds images through the active docker context (#9166); older ones miss
        // the image on Docker Desktop without the default socket, Colima and the like.
        default_minimum: "0.65.0",
        install: [
            "`cargo xtask tools install trivy` (pinned) or https://trivy.dev/latest/getting-started/installation/",
            "`cargo xtask tools install trivy` (pinned) or `brew install trivy`",
            "`cargo xtask tools install trivy` (pinned) or `winget install AquaSecurity.Trivy`",
        ],
    },
    ToolDef {
        tool: Tool::KubectlAi,
        program: "kubectl-ai",
        version_args: &["version"],
        default_minimum: "0.0.10",
        install: [
            "`curl -sSL https://raw.githubusercontent.com/GoogleCloudPlatform/kubectl-ai/main/install.sh | bash` or `kubectl krew install ai`",
            "`brew install kubectl-ai`",
            "download kubectl-ai_Windows_x86_64.zip from github.com/GoogleCloudPlatform/kubectl-ai/releases",
        ],
    },
    ToolDef {
        tool: Tool::Kagent,
        program: "kagent",
        version_args: &["version"],
        default_minimum: "0.3.0",
        install: [
            "`curl https://raw.githubusercontent.com/kagent-dev/kagent/refs/heads/main/scripts/get-kagent | bash`, then `kagent install`",
            "`brew install kagent`, then `kagent install`",
            "download kagent-windows-amd64.exe from github.com/kagent-dev/kagent/releases, then `kagent install`",
        ],
    },
    ToolDef {
        tool: Tool::DockerAi,
        program: "docker",
        version_args: &["ai", "version"],
        default_minimum: "0.0.0",
        install: [
            "Docker AI (Gordon) needs Docker Desktop 4.38+ (Linux desktop edition), signed in, with Gordon enabled in Settings > Beta features",
            "Docker AI (Gordon) needs Docker Desktop 4.38+, signed in, with Gordon enabled in Settings > Beta features",
            "Docker AI (Gordon) needs Docker Desktop 4.38+, signed in, with Gordon enabled in Settings > Beta features",
        ],
    },
];

impl ToolDef {
    /// Name in doctor, the config's `tools:` and `tools install`.
    pub fn name(&self) -> &'static str {
        self.tool.name()
    }
}

/// The table entry of `tool` (`DEFS` has one per tool, in [`Tool::ALL`]'s order; a test checks).
pub fn def(tool: Tool) -> &'static ToolDef {
    &DEFS[tool as usize]
}

/// The install hint for the host OS.
pub fn hint(def: &ToolDef) -> &'static str {
    if cfg!(target_os = "macos") {
        def.install[1]
    } else if cfg!(windows) {
        def.install[2]
    } else {
        def.install[0]
    }
}

/// What the config needs a tool for; empty when it is optional.
pub fn needed_for(def: &ToolDef, cfg: &Config) -> Vec<&'static str> {
    let uses = |p: crate::target::Provider| cfg.targets.values().any(|t| t.cluster.provider() == p);
    let ai_uses = |t: AiTool| cfg.ai.on_failure == Some(t) || cfg.ai.steps.iter().any(|s| s.tool == t);
    let mut v = match def.tool {
        Tool::Docker if !cfg.images.is_empty() => vec!["build", "up"],
        Tool::Minikube => vec!["up", "verify", "teardown"],
        Tool::Kubectl => vec!["up", "verify", "manifests"],
        Tool::Helm => vec!["up", "verify --static", "manifests"],
        Tool::Trivy if cfg.gates.vulnerabilities.enabled && !cfg.images.is_empty() => {
            vec!["build (vulnerability gate)"]
        }
        Tool::Kind if uses(crate::target::Provider::Kind) => vec!["up --target (kind)"],
        Tool::K3d if uses(crate::target::Provider::K3d) => vec!["up --target (k3d)"],
        Tool::KubectlAi if ai_uses(AiTool::KubectlAi) => vec!["ai steps"],
        Tool::Kagent if ai_uses(AiTool::Kagent) => vec!["ai steps"],
        Tool::DockerAi if ai_uses(AiTool::DockerAi) => vec!["ai steps"],
        _ => vec![],
    };
    match cfg.tools.get(&Key::Known(def.tool)).and_then(|t| t.required) {
        Some(false) => v.clear(),
        Some(true) if v.is_empty() => v.push("tools (required in xtask.yaml)"),
        _ => {}
    }
    v
}

pub fn minimum(def: &ToolDef, cfg: Option<&Config>) -> Version {
    cfg.and_then(|c| c.tools.get(&Key::Known(def.tool)))
        .and_then(|t| t.minimum.as_deref())
        .and_then(Version::parse)
        .or_else(|| Version::parse(def.default_minimum))
        .unwrap_or_else(|| Version::parse("0.0.0").expect("a valid version"))
}

/// Releases refused whatever the minimum, with why: (tool, version, reason).
pub const REFUSED: &[(Tool, &str, &str)] = &[(
    Tool::Trivy,
    "0.69.4",
    "a malicious build was published under that number in March 2026 (NixOS/nixpkgs#501606, \
     microsoft/winget-pkgs#350435)",
)];

/// Why `version` of `tool` is refused, if it is a known-bad release.
pub fn refused(tool: Tool, version: &Version) -> Option<&'static str> {
    REFUSED.iter().find(|(t, v, _)| *t == tool && Version::parse(v).as_ref() == Some(version)).map(|(_, _, why)| *why)
}

/// Where a program is: the pinned copy in .xtask/bin, else the first on PATH.
pub fn locate(local_bin: &Path, program: &str) -> Option<(PathBuf, Source)> {
    let local = local_bin.join(format!("{program}{}", std::env::consts::EXE_SUFFIX));
    if local.is_file() {
        return Some((local, Source::Pinned));
    }
    on_path(program).map(|p| (p, Source::System))
}

/// The first `program` on PATH that we may run (on Windows, with one of PATHEXT's extensions), as a shell finds
/// it. Empty PATH entries are skipped rather than read as the current folder: a tool is never taken from wherever
/// the user happens to stand.
pub fn on_path(program: &str) -> Option<PathBuf> {
    on_path_in(&std::env::var_os("PATH")?, program)
}

fn on_path_in(path: &std::ffi::OsStr, program: &str) -> Option<PathBuf> {
    let names: Vec<String> = if cfg!(windows) && Path::new(program).extension().is_none() {
        let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
        exts.split(';').filter(|e| !e.is_empty()).map(|e| format!("{program}{e}")).collect()
    } else {
        vec![program.to_string()]
    };
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .find_map(|dir| names.iter().map(|n| dir.join(n)).find(|p| runnable(p)))
}

/// A file we may execute: access(2) with X_OK, as `which` and the shells check it (it knows our user and groups).
#[cfg(unix)]
fn runnable(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else { return false };
    // SAFETY: access only reads the NUL-terminated path, which outlives the call.
    p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
}

#[cfg(not(unix))]
fn runnable(p: &Path) -> bool {
    p.is_file()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The pinned copy installed by `cargo xtask tools install` into .xtask/bin.
    Pinned,
    System,
}

/// What probing one tool found.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub name: &'static str,
    #[serde(skip)]
    pub tool: Tool,
    pub found: bool,
    pub path: Option<PathBuf>,
    pub source: Option<Source>,
    pub version: Option<String>,
    /// For docker: whether the daemon answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon: Option<bool>,
    /// Why the tool is present but unusable, e.g. the version command failed.
    pub problem: Option<String>,
    /// The version command as shown and what it printed, for the step's log and report.
    #[serde(skip)]
    pub ran: Option<(String, exec::Output)>,
}

impl Probe {
    fn empty(def: &'static ToolDef) -> Probe {
        Probe {
            name: def.name(),
            tool: def.tool,
            found: false,
            path: None,
            source: None,
            version: None,
            daemon: None,
            problem: None,
            ran: None,
        }
    }

    /// A tool that could not be probed at all, with why.
    pub fn unusable(def: &'static ToolDef, problem: String) -> Probe {
        Probe { found: true, problem: Some(problem), ..Probe::empty(def) }
    }
}

/// Runs the tool's version command (10 s at most: a wedged tool must not hang doctor).
pub fn probe(ctx: &Context, sh: &xshell::Shell, def: &'static ToolDef) -> Probe {
    let mut p = Probe::empty(def);
    let Some((path, source)) = locate(&ctx.local_bin(), def.program) else {
        return p;
    };
    p.path = Some(path.clone());
    p.source = Some(source);
    let args = def.version_args;
    let exec = Exec::from(xshell::cmd!(sh, "{path} {args...}")).timeout(Duration::from_secs(10));
    let shown = exec.display();
    let out = match exec::run(exec) {
        Ok(o) => o,
        Err(e) => {
            p.found = true;
            p.problem = Some(format!("could not run it: {e}"));
            return p;
        }
    };
    p.ran = Some((shown, out.clone()));
    if out.timed_out {
        p.found = true;
        p.problem = Some(format!("`{} {}` did not answer within 10 s", def.program, args.join(" ")));
        return p;
    }
    let text = format!("{}\n{}", out.stdout, out.stderr);
    match def.tool {
        Tool::Docker => {
            p.found = true;
            parse_docker(&out.stdout, &text, &mut p);
        }
        Tool::DockerAi => {
            // A missing CLI plugin: "docker: 'ai' is not a docker command." with exit 1.
            if out.success() {
                p.found = true;
                p.version = Version::find(&text).map(|v| v.text);
            } else {
                p.path = None;
                p.source = None;
            }
        }
        Tool::Kubectl => {
            p.found = true;
            p.version = serde_json::from_str::<crate::kube::VersionAnswer>(&out.stdout)
                .ok()
                .and_then(|v| v.client_version.git_version)
                .and_then(|s| Version::parse(&s))
                .or_else(|| Version::find(&text))
                .map(|v| v.text);
        }
        Tool::Kagent => {
            // JSON with sorted keys: `backend_version` (the controller's, "unknown" when unreachable) comes before
            // `kagent_version` (the CLI's), kagent v0.9.12 `go/core/cli/internal/cli/agent/version.go:14-30`.
            p.found = true;
            p.version = serde_json::from_str::<KagentVersion>(out.stdout.trim())
                .ok()
                .and_then(|v| v.kagent_version)
                .and_then(|s| Version::parse(&s))
                .or_else(|| Version::find(&text))
                .map(|v| v.text);
        }
        _ => {
            p.found = true;
            p.version = Version::find(&text).map(|v| v.text);
        }
    }
    if p.found && p.version.is_none() && p.problem.is_none() {
        p.problem = Some(format!(
            "`{} {}` printed no version ({}): {}",
            def.program,
            args.join(" "),
            out.ending(),
            exec::tail_lines(text.trim(), 2)
        ));
    }
    p
}

/// `kagent version`: the CLI's version (`kagent_version`) beside the controller's (`backend_version`).
#[derive(Debug, Default, serde::Deserialize)]
struct KagentVersion {
    #[serde(default)]
    kagent_version: Option<String>,
}

fn parse_docker(stdout: &str, all: &str, p: &mut Probe) {
    // `{{json .}}` prints one JSON line even when the daemon is down (then Server is null and the exit code 1).
    let json = stdout.lines().find_map(|l| serde_json::from_str::<crate::docker::VersionAnswer>(l.trim()).ok());
    match json {
        Some(v) => {
            p.version = v.client.and_then(|c| c.version).as_deref().and_then(Version::parse).map(|v| v.text);
            p.daemon = Some(v.server.is_some());
        }
        None => {
            p.version = Version::find(all).map(|v| v.text);
            p.daemon = Some(false);
        }
    }
    if all.to_ascii_lowercase().contains("podman") {
        p.problem = Some("this `docker` is Podman's emulation; use Docker Engine or Docker Desktop".into());
    }
}

/// Why a probed tool cannot be used: what doctor's STATUS column and the preflight's message are decided from.
#[derive(Debug, Clone)]
pub enum Shortfall {
    NotFound,
    /// Found, but it could not be run, did not answer, printed no version, or is not the real tool (Podman).
    Unusable(String),
    /// Docker's CLI answers but its daemon does not (a shortfall only where Docker is needed).
    DaemonDown,
    /// A release known to be bad ([`refused`]), with why.
    Refused {
        found: Version,
        why: &'static str,
    },
    TooOld {
        found: Version,
        minimum: Version,
    },
    VersionUnknown,
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shortfall::NotFound => f.write_str("not found"),
            Shortfall::Unusable(problem) => f.write_str(problem),
            Shortfall::DaemonDown => {
                f.write_str("the Docker daemon does not answer (is it running, and may this user use it?)")
            }
            Shortfall::Refused { found, why } => {
                write!(f, "version {found} is refused: {why}; install another release")
            }
            Shortfall::TooOld { found, minimum } => write!(f, "version {found} is older than the minimum {minimum}"),
            Shortfall::VersionUnknown => f.write_str("version unknown"),
        }
    }
}

/// As its text (doctor's JSON `shortfall` field).
impl Serialize for Shortfall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a probed tool cannot be used, or None when it is fine. `needed` makes a down Docker daemon a shortfall.
pub fn shortfall(probe: &Probe, minimum: &Version, needed: bool) -> Option<Shortfall> {
    if !probe.found {
        return Some(Shortfall::NotFound);
    }
    if let Some(problem) = &probe.problem {
        return Some(Shortfall::Unusable(problem.clone()));
    }
    if probe.daemon == Some(false) && needed {
        return Some(Shortfall::DaemonDown);
    }
    match probe.version.as_deref().and_then(Version::parse) {
        Some(v) => match refused(probe.tool, &v) {
            Some(why) => Some(Shortfall::Refused { found: v, why }),
            None if &v < minimum => Some(Shortfall::TooOld { found: v, minimum: minimum.clone() }),
            None => None,
        },
        None => Some(Shortfall::VersionUnknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_vocabulary_names_every_tool_in_the_table() {
        let table: Vec<Tool> = DEFS.iter().map(|d| d.tool).collect();
        assert_eq!(table, Tool::ALL, "Tool::ALL and tools::DEFS list the same tools in order");
    }

    #[test]
    fn docker_json_with_and_without_daemon() {
        let mut p = Probe { found: true, ..Probe::empty(def(Tool::Docker)) };
        let up = r#"{"Client":{"Version":"28.2.2"},"Server":{"Version":"20.10.24+dfsg1"}}"#;
        parse_docker(up, up, &mut p);
        assert_eq!(p.version.as_deref(), Some("28.2.2"));
        assert_eq!(p.daemon, Some(true));
        let down = r#"{"Client":{"Version":"28.2.2"},"Server":null}"#;
        parse_docker(down, down, &mut p);
        assert_eq!(p.daemon, Some(false));
    }

    #[cfg(unix)]
    #[test]
    fn a_program_on_path_is_the_first_runnable_file_of_that_name() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
        for (dir, mode) in [(&a, 0o644), (&b, 0o755), (&c, 0o755)] {
            std::fs::create_dir(dir).unwrap();
            let tool = dir.join("tool");
            std::fs::write(&tool, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::create_dir(b.join("dir")).unwrap();
        // a's copy cannot be run (no x bit) and b's "dir" is a folder: b's tool, then nothing.
        let path = std::env::join_paths([&a, &b, &c]).unwrap();
        assert_eq!(on_path_in(&path, "tool"), Some(b.join("tool")));
        assert_eq!(on_path_in(&path, "dir"), None);
        assert_eq!(on_path_in(&path, "missing"), None);
        // An empty entry is not the current folder.
        assert_eq!(on_path_in(std::ffi::OsStr::new(""), "tool"), None);
    }
}

#[cfg(test)]
mod version_gate_tests {
    use super::*;

    fn probe_at(tool: Tool, version: &str) -> Probe {
        Probe {
            name: tool.name(),
            tool,
            found: true,
            path: None,
            source: None,
            version: Some(version.into()),
            daemon: None,
            problem: None,
            ran: None,
        }
    }

    #[test]
    fn a_pre_release_is_below_its_release_and_a_known_bad_release_is_refused_with_its_reason() {
        let min = Version::parse("3.14.0").unwrap();
        assert_eq!(
            shortfall(&probe_at(Tool::Helm, "3.14.0-rc.1"), &min, true).map(|s| s.to_string()).as_deref(),
            Some("version 3.14.0-rc.1 is older than the minimum 3.14.0")
        );
        assert!(shortfall(&probe_at(Tool::Helm, "3.14.0+g3fc9f4b"), &min, true).is_none());
        let trivy_min = minimum(def(Tool::Trivy), None);
        assert_eq!(trivy_min.text, "0.65.0");
        let why = shortfall(&probe_at(Tool::Trivy, "0.69.4"), &trivy_min, true).unwrap().to_string();
        assert!(why.starts_with("version 0.69.4 is refused: a malicious build was published"), "{why}");
        assert!(shortfall(&probe_at(Tool::Trivy, "0.69.3"), &trivy_min, true).is_none());
        assert!(matches!(
            shortfall(&probe_at(Tool::Trivy, "0.64.1"), &trivy_min, true),
            Some(Shortfall::TooOld { .. })
        ));
        let old = shortfall(&probe_at(Tool::Trivy, "0.64.1"), &trivy_min, true).unwrap().to_string();
        assert!(old.contains("older than"), "{old}");
    }
}
