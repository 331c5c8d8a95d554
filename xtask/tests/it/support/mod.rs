//! Shared helpers for the xtask integration tests: a sandbox with the fake tools first on PATH, a runner for the
//! real `xtask` binary (or one fake tool), and readers for the fakes' call log and state.
//!
//! ```ignore
//! use crate::support::Sandbox;
//!
//! let sb = Sandbox::new().with_file("xtask.yaml", "project: demo\n");
//! sb.xtask(&["doctor"]).run().assert_success();
//! assert_eq!(sb.commands()[0], "docker version --format {{json .}}");
//! ```

pub mod api_image;
pub mod app;
pub mod demo;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Every program the fake answers for.
pub const TOOLS: &[&str] = &["docker", "minikube", "kind", "k3d", "kubectl", "helm", "trivy", "kubectl-ai", "kagent"];

/// Variables that would leak the developer's real setup into a run (and the fakes' own knobs).
const SCRUBBED: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_BUILDKIT",
    "KUBECONFIG",
    "HELM_NAMESPACE",
    "MINIKUBE_PROFILE",
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "XTASK_ROOT",
];

pub const FAKE_BIN: &str = env!("CARGO_BIN_EXE_xtask-fake");
pub const XTASK_BIN: &str = env!("CARGO_BIN_EXE_xtask");

/// A temp folder with `bin/` (the fake under every tool name), `fake/` (FAKE_DIR) and `project/` (XTASK_ROOT).
pub struct Sandbox {
    pub root: PathBuf,
    pub project: PathBuf,
    pub fake_dir: PathBuf,
    pub bin_dir: PathBuf,
    env: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::Builder::new().prefix("xtask-test-").tempdir().expect("creating a temp dir");
        let root = tmp.path().to_path_buf();
        let (project, fake_dir, bin_dir) = (root.join("project"), root.join("fake"), root.join("bin"));
        for d in [&project, &fake_dir, &bin_dir] {
            std::fs::create_dir_all(d).expect("creating sandbox folders");
        }
        for tool in TOOLS {
            link_fake(&bin_dir, tool);
        }
        Sandbox { root, project, fake_dir, bin_dir, env: Vec::new(), _tmp: tmp }
    }

    /// Copies a folder (a fixture project) into `project/`.
    pub fn with_tree(self, src: &Path) -> Sandbox {
        copy_dir(src, &self.project);
        self
    }

    /// Writes `project/<rel>` (parents created).
    pub fn with_file(self, rel: &str, contents: impl AsRef<[u8]>) -> Sandbox {
        write(&self.project.join(rel), contents.as_ref());
        self
    }

    /// `fake/scenario.json`; pass a `serde_json::json!` value or a JSON string.
    pub fn with_scenario(self, scenario: impl std::fmt::Display) -> Sandbox {
        write(&self.fake_dir.join("scenario.json"), scenario.to_string().as_bytes());
        self
    }

    /// Writes `fake/state/<rel>`, e.g. `kube/pods.json` or `trivy/todo-api_0.1.0.json`.
    pub fn seed_state(self, rel: &str, contents: impl AsRef<[u8]>) -> Sandbox {
        write(&self.fake_dir.join("state").join(rel), contents.as_ref());
        self
    }

    /// Copies a fixture (relative to xtask/tests/fixtures) into `fake/state/<rel>`.
    pub fn seed_state_from_fixture(self, rel: &str, fixture: &str) -> Sandbox {
        let text = std::fs::read(fixture_path(fixture)).unwrap_or_else(|e| panic!("reading fixture {fixture}: {e}"));
        self.seed_state(rel, text)
    }

    /// An environment variable for every run started from this sandbox (e.g. `FAKE_DOCKER_BUILD_MS`).
    pub fn with_env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The real `xtask` binary with XTASK_ROOT=project, the fakes first on PATH, CI=true and NO_COLOR=1.
    pub fn xtask(&self, args: &[&str]) -> Run {
        self.command(Path::new(XTASK_BIN), "xtask", args)
    }

    /// One fake tool, run from `project/` (for tests of the fake itself).
    pub fn tool(&self, tool: &str, args: &[&str]) -> Run {
        self.command(&self.bin_dir.join(exe(tool)), tool, args)
    }

    fn command(&self, program: &Path, name: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&self.project);
        for k in SCRUBBED {
            cmd.env_remove(k);
        }
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FAKE_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("PATH", self.path_env())
            .env("FAKE_DIR", &self.fake_dir)
            .env("XTASK_ROOT", &self.project)
            .env("CI", "true")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let label = format!("{name} {}", args.join(" "));
        Run { cmd, timeout: Duration::from_secs(120), label }
    }

    /// `bin/` first, then the caller's PATH (real docker etc. may exist there, but the fakes win).
    pub fn path_env(&self) -> OsString {
        let mut dirs = vec![self.bin_dir.clone()];
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        std::env::join_paths(dirs).expect("joining PATH")
    }

    pub fn project_path(&self, rel: &str) -> PathBuf {
        self.project.join(rel)
    }

    /// A state file of the fakes (`docker.json`, `helm.json`, `kube/pods.json`...), if present.
    pub fn state(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.fake_dir.join("state").join(rel)).ok()
    }

    fn log(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.fake_dir.join("calls.jsonl")).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("calls.jsonl line {l:?}: {e}")))
            .collect()
    }

    /// Finished tool invocations (one per `end` line), in the order they ended.
    pub fn calls(&self) -> Vec<Call> {
        self.log().iter().filter(|v| v["event"] == "end").map(Call::from_json).collect()
    }

    /// Every invocation that started (including ones killed before they ended), in start order.
    pub fn starts(&self) -> Vec<Call> {
        self.log().iter().filter(|v| v["event"] == "start").map(Call::from_json).collect()
    }

    /// `"docker build -f ..."` per started invocation, for exact-sequence assertions.
    pub fn commands(&self) -> Vec<String> {
        self.starts().iter().map(Call::command).collect()
    }

    /// Commands of one tool only.
    pub fn commands_of(&self, tool: &str) -> Vec<String> {
        self.starts().iter().filter(|c| c.tool == tool).map(Call::command).collect()
    }
}

fn exe(tool: &str) -> String {
    format!("{tool}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(unix)]
fn link_fake(bin_dir: &Path, tool: &str) {
    std::os::unix::fs::symlink(FAKE_BIN, bin_dir.join(tool)).expect("linking the fake");
}

#[cfg(not(unix))]
fn link_fake(bin_dir: &Path, tool: &str) {
    std::fs::copy(FAKE_BIN, bin_dir.join(exe(tool))).expect("copying the fake");
}

fn write(path: &Path, contents: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("creating parent folders");
    }
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The repository's root: the parent of the xtask crate.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// One logged invocation of a fake tool.
#[derive(Debug, Clone)]
pub struct Call {
    pub tool: String,
    pub args: Vec<String>,
    pub cwd: String,
    pub pid: u32,
    pub start_ms: u64,
    /// None on `start` lines.
    pub end_ms: Option<u64>,
    pub exit: Option<i32>,
    /// Only DOCKER_HOST, KUBECONFIG, HELM_NAMESPACE, MINIKUBE_PROFILE; API keys appear as "<set>".
    pub env: BTreeMap<String, String>,
}

impl Call {
    fn from_json(v: &serde_json::Value) -> Call {
        Call {
            tool: v["tool"].as_str().unwrap_or_default().to_string(),
            args: v["args"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                .unwrap_or_default(),
            cwd: v["cwd"].as_str().unwrap_or_default().to_string(),
            pid: v["pid"].as_u64().unwrap_or(0) as u32,
            start_ms: v["start_ms"].as_u64().unwrap_or(0),
            end_ms: v["end_ms"].as_u64(),
            exit: v["exit"].as_i64().map(|e| e as i32),
            env: serde_json::from_value(v["env"].clone()).unwrap_or_default(),
        }
    }

    pub fn command(&self) -> String {
        std::iter::once(self.tool.as_str()).chain(self.args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }

    /// Whether two finished calls ran at the same time.
    pub fn overlaps(&self, other: &Call) -> bool {
        let (a_end, b_end) = (self.end_ms.unwrap_or(u64::MAX), other.end_ms.unwrap_or(u64::MAX));
        self.start_ms < b_end && other.start_ms < a_end
    }
}

/// A command about to run; `run()` waits (killing it and failing the test after the timeout, 120 s by default).
pub struct Run {
    cmd: Command,
    timeout: Duration,
    label: String,
}

impl Run {
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Run {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Run {
        self.cmd.current_dir(dir);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Run {
        self.timeout = timeout;
        self
    }

    /// Starts it without waiting (for commands that block: port-forward, hang scenarios).
    pub fn spawn(mut self) -> Child {
        self.cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", self.label))
    }

    /// Starts the command with the given stdout and stderr (e.g. one pipe for both, which the test then closes).
    pub fn spawn_with(mut self, stdout: Stdio, stderr: Stdio) -> Child {
        self.cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        self.cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", self.label))
    }

    pub fn run(self) -> Output {
        let out = self.run_allowing_timeout();
        assert!(!out.timed_out, "`{}` did not finish within its timeout\n{out}", out.label);
        out
    }

    /// Like `run`, but a timeout is reported in `Output::timed_out` instead of failing the test.
    pub fn run_allowing_timeout(self) -> Output {
        let label = self.label.clone();
        let timeout = self.timeout;
        let mut child = self.spawn();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the child") {
                break status;
            }
            if Instant::now() >= deadline {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("waiting for the killed child");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // A blocked grandchild may still hold the pipes after a kill: don't wait for it forever.
        let stdout_bytes = if timed_out { Vec::new() } else { out_reader.join().unwrap_or_default() };
        let stderr = if timed_out {
            String::new()
        } else {
            String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned()
        };
        Output {
            status,
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stdout_bytes,
            stderr,
            timed_out,
            label,
        }
    }
}

/// What a finished command printed and how it exited.
pub struct Output {
    pub status: ExitStatus,
    pub code: Option<i32>,
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
    pub timed_out: bool,
    pub label: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Output {
    #[track_caller]
    pub fn assert_success(&self) -> &Output {
        assert!(self.status.success(), "`{}` failed\n{self}", self.label);
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(self.code, Some(code), "`{}` exit code\n{self}", self.label);
        self
    }

    #[track_caller]
    pub fn stdout_contains(&self, needle: &str) -> &Output {
        assert!(self.stdout.contains(needle), "`{}`: stdout lacks {needle:?}\n{self}", self.label);
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Output {
        assert!(self.stderr.contains(needle), "`{}`: stderr lacks {needle:?}\n{self}", self.label);
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("`{}`: stdout is not JSON: {e}\n{self}", self.label))
    }
}

/// Whether a real engine answers: `docker` (a daemon, via `docker version`), `postgres`/`postgresql`
/// (`pg_isready`), anything else (`<name> --version`). The sandbox's fakes are never consulted.
pub fn engine_available(name: &str) -> bool {
    let (program, args): (&str, &[&str]) = match name {
        "docker" => ("docker", &["version", "--format", "{{.Server.Version}}"]),
        "postgres" | "postgresql" => ("pg_isready", &[]),
        other => (other, &["--version"]),
    };
    let Ok(mut child) = Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn() else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

/// Whether a missing engine must fail the test instead of skipping it (CI sets XTASK_REQUIRE_ENGINES=1).
pub fn engines_required() -> bool {
    std::env::var("XTASK_REQUIRE_ENGINES").is_ok_and(|v| v == "1")
}

/// `require_or_skip!("docker")` at the top of a test: prints `skipped: <test>: needs docker` and returns when the
/// engine is absent, or panics when XTASK_REQUIRE_ENGINES=1.
#[macro_export]
macro_rules! require_or_skip {
    ($engine:expr) => {
        if !$crate::support::engine_available($engine) {
            fn here() {}
            let path = ::std::any::type_name_of_val(&here);
            let test = path.strip_suffix("::here").unwrap_or(path);
            if $crate::support::engines_required() {
                panic!("{test}: needs {} (XTASK_REQUIRE_ENGINES=1)", $engine);
            }
            eprintln!("skipped: {test}: needs {}", $engine);
            return;
        }
    };
}

/// Sends SIGTERM (the default action ends the fake) and reaps the child.
pub fn terminate(child: &mut Child) -> ExitStatus {
    #[cfg(unix)]
    {
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return child.wait().expect("waiting for the killed child");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits up to `limit` for the child to exit by itself (it was already signalled), then kills it.
pub fn terminate_after(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the child did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Validates a run's report.json against docs/report.schema.json and parses junit.xml, with Python's jsonschema
/// and xml.etree (installed by .ci/run). Skipped with a notice where they are absent, unless engines are required.
pub fn validate_with_python(report: &Path, junit: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)
root = ET.parse(sys.argv[3]).getroot()
assert root.tag == "testsuites", root.tag
cases = root.findall("./testsuite/testcase")
assert cases, "no testcase"
print("valid", len(cases))
"#;
    for py in [venv, PathBuf::from("python3")] {
        let probe = Command::new(&py).args(["-c", "import jsonschema"]).output();
        if !probe.is_ok_and(|o| o.status.success()) {
            continue;
        }
        let out = Command::new(&py).arg("-c").arg(script).arg(&schema).arg(report).arg(junit).output().unwrap();
        assert!(
            out.status.success(),
            "report.json or junit.xml is invalid:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    assert!(!engines_required(), "python3 with jsonschema is required to validate the reports");
    eprintln!("skipped: report schema validation needs python3 with jsonschema");
}

/// Serves `files` (URL path → bytes) on 127.0.0.1 until the test ends; 404 for anything else.
pub fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(64) {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut stream = stream;
            match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let head =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body);
                }
                None => {
                    let _ =
                        stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
            }
        }
    });
    format!("http://{addr}")
}

/// Copies `src` into `dst` recursively.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap_or_else(|e| panic!("creating {}: {e}", dst.display()));
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display())) {
        let entry = entry.expect("a directory entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

/// The folder of the newest run of the xtask in `project`.
pub fn latest_run(project: &Path) -> PathBuf {
    let runs = project.join("target/xtask/runs");
    runs.join(std::fs::read_to_string(runs.join("latest")).expect("a run was recorded").trim())
}

/// The newest run's report.json.
pub fn report(project: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(latest_run(project).join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// One step of a report.
pub fn step(report: &serde_json::Value, id: &str) -> serde_json::Value {
    let steps = report["steps"].as_array().expect("steps");
    steps.iter().find(|s| s["id"] == id).cloned().unwrap_or_else(|| panic!("no step {id} in {report:#}"))
}

/// A command line with the per-run secret values file (`-f target/xtask/runs/<run>/secrets/<step>.json`, see
/// helm::SecretValues) shown as `-f <secret values>`, so tests can compare whole commands.
pub fn without_secret_file(cmd: &str) -> String {
    let mut out = Vec::new();
    let mut words = cmd.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == "-f" {
            if let Some(next) = words.peek() {
                if next.starts_with("target/xtask/") && next.contains("/secrets/") && next.ends_with(".json") {
                    words.next();
                    out.push("-f <secret values>".to_string());
                    continue;
                }
            }
        }
        out.push(w.to_string());
    }
    out.join(" ")
}

/// Tool downloads run curl and unpack with tar. The tests that download are `#[ignore = "needs curl and tar ..."]`;
/// run with --include-ignored on a machine without them they skip with a notice (CI, with engines required, fails
/// instead).
pub fn needs_curl_and_tar() -> bool {
    let ok = |c: &str| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success());
    if ok("curl") && ok("tar") {
        return true;
    }
    assert!(!engines_required(), "curl and tar are required in CI");
    eprintln!("skipped: tool download tests need curl and tar");
    false
}

/// A minimal little-endian ELF64 file with the given sections (besides the null one and `.shstrtab`), enough
/// for readers that walk the section table (Trivy's rustaudit, the fakes, the xtask's SBOM reader).
pub fn elf_with_sections(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut name_at = vec![];
    for n in std::iter::once(".shstrtab").chain(sections.iter().map(|(n, _)| *n)) {
        name_at.push(names.len() as u32);
        names.extend_from_slice(n.as_bytes());
        names.push(0);
    }
    let mut body = names.clone();
    let mut offsets = vec![64u64];
    for (_, data) in sections {
        offsets.push(64 + body.len() as u64);
        body.extend_from_slice(data);
    }
    while body.len() % 8 != 0 {
        body.push(0);
    }
    let shoff = 64 + body.len() as u64;
    let shnum = 2 + sections.len() as u16;
    let mut out = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    out.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    out.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    out.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
    out.extend_from_slice(&shoff.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    out.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    out.extend_from_slice(&0u16.to_le_bytes()); // e_phentsize
    out.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
    out.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    out.extend_from_slice(&shnum.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // e_shstrndx
    out.extend_from_slice(&body);
    out.extend_from_slice(&[0u8; 64]); // the null section
    let sizes = std::iter::once(names.len() as u64).chain(sections.iter().map(|(_, d)| d.len() as u64));
    for (i, size) in sizes.enumerate() {
        let mut h = vec![];
        h.extend_from_slice(&name_at[i].to_le_bytes());
        h.extend_from_slice(&(if i == 0 { 3u32 } else { 1u32 }).to_le_bytes()); // SHT_STRTAB / SHT_PROGBITS
        h.extend_from_slice(&0u64.to_le_bytes()); // flags
        h.extend_from_slice(&0u64.to_le_bytes()); // addr
        h.extend_from_slice(&offsets[i].to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&[0u8; 24]); // link, info, addralign, entsize
        out.extend_from_slice(&h);
    }
    out
}

/// A section's bytes in a little-endian ELF64 file, or None.
pub fn elf_section<'a>(b: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let n = |o: usize, len: usize| -> Option<usize> {
        Some(b.get(o..o + len)?.iter().rev().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)))
    };
    if b.len() < 64 || &b[..4] != b"\x7fELF" {
        return None;
    }
    let (shoff, shentsize, shnum, shstrndx) = (n(0x28, 8)?, n(0x3a, 2)?, n(0x3c, 2)?, n(0x3e, 2)?);
    let strtab = n(shoff + shstrndx * shentsize + 0x18, 8)?;
    (0..shnum).find_map(|i| {
        let h = shoff + i * shentsize;
        let start = strtab + n(h, 4)?;
        let end = start + b.get(start..)?.iter().position(|c| *c == 0)?;
        (b.get(start..end)? == name.as_bytes()).then_some(())?;
        let (off, size) = (n(h + 0x18, 8)?, n(h + 0x20, 8)?);
        b.get(off..off + size)
    })
}

/// cargo-auditable's `.dep-v0` content for a one-crate-plus-deps graph: zlib-compressed JSON.
pub fn dep_v0(json: &str) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(json.as_bytes()).unwrap();
    z.finish().unwrap()
}
