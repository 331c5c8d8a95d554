//! The real images on a real Docker engine: `xtask build` on this repository (static binaries, both images, the
//! size and policy gates with their figures), the containers started from them (healthy, UID 1000, answering
//! HTTP, talking to each other and to PostgreSQL), and the size gate failing on the real sizes.
//!
//! Trivy cannot be installed here, so these runs pass `--skip-gate vuln`; tests/it/gates.rs covers that gate on the
//! fakes. The release build takes a minute or two when cold; it runs once per test binary (see `real_build`).

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root: the real one, not a sandbox.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

const IMAGES: [(&str, &str); 2] = [("todo-api", "todo-api:0.1.0"), ("todo-web", "todo-web:0.1.0")];

/// What a bounded command printed and how it exited.
#[derive(Debug, Clone)]
struct Ran {
    label: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` exit {:?}\n--- stdout:\n{}\n--- stderr:\n{}", self.label, self.code, self.stdout, self.stderr)
    }
}

impl Ran {
    #[track_caller]
    fn ok(&self) -> &Ran {
        assert_eq!(self.code, Some(0), "{self}");
        self
    }

    #[track_caller]
    fn stderr_has(&self, needle: &str) -> &Ran {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{self}");
        self
    }
}

/// Runs a command to completion, killing it after `limit` (the test then fails with what it printed so far).
fn run(mut cmd: Command, limit: Duration) -> Ran {
    let label = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting `{label}`: {e}"));
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for a child") {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{label}` did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran { label, code: status.code(), stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}

fn docker(args: &[&str]) -> Ran {
    let mut c = Command::new("docker");
    c.args(args);
    run(c, Duration::from_secs(60))
}

/// stdout of a docker command that must succeed.
#[track_caller]
fn docker_ok(args: &[&str]) -> String {
    let ran = docker(args);
    ran.ok();
    ran.stdout
}

/// The real xtask on the real repository, with the caller's PATH and Docker settings. Another `cargo xtask` in
/// this checkout holds its run lock; then this waits for it (bounded) instead of failing.
fn xtask(args: &[&str]) -> Ran {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut c = Command::new(support::XTASK_BIN);
        c.args(args).current_dir(ROOT).env("XTASK_ROOT", ROOT).env("CI", "true").env("NO_COLOR", "1");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FAKE_") {
                c.env_remove(&k);
            }
        }
        // A cold release build of both apps takes 1-2 minutes on 2 cores; the limit only stops a hang.
        let ran = run(c, Duration::from_secs(900));
        let locked = ran.code == Some(2) && ran.stderr.contains("is running in this checkout");
        if !locked || Instant::now() >= deadline {
            return ran;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `xtask build --skip-gate vuln` on the repository, once per test binary: the other tests reuse its images.
fn real_build() -> &'static Ran {
    static BUILD: OnceLock<Ran> = OnceLock::new();
    BUILD.get_or_init(|| xtask(&["build", "--skip-gate", "vuln"]))
}

/// The stderr line `gate:<kind>:<image>: ...` (a gate's verdict with its figures).
fn verdict<'a>(ran: &'a Ran, gate: &str, image: &str) -> &'a str {
    let prefix = format!("gate:{gate}:{image}: ");
    ran.stderr
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no `{prefix}` line\n{ran}"))
}

/// `3.0 MB` → 3_000_000 (the xtask prints decimal units).
fn parse_size(text: &str) -> f64 {
    let (n, unit) = text.trim().split_once(' ').unwrap_or_else(|| panic!("not a size: {text:?}"));
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("not a size: {text:?}"));
    n * match unit {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unknown unit {other:?} in {text:?}"),
    }
}

/// The report.json the run names on its summary line (`...; report: target/xtask/runs/<id>/report.json`); a
/// retention line ("pruned 1 old run ...") may follow it.
fn report_path(ran: &Ran) -> std::path::PathBuf {
    let rel = ran
        .stderr
        .rsplit_once("report: ")
        .and_then(|(_, r)| r.lines().next())
        .map(str::trim)
        .unwrap_or_else(|| panic!("no report\n{ran}"));
    Path::new(ROOT).join(rel)
}

fn report_of(ran: &Ran) -> Value {
    serde_json::from_str(&std::fs::read_to_string(report_path(ran)).unwrap()).unwrap()
}

#[test]
#[ignore = "needs a Docker engine: a running daemon that `docker version` reaches"]
fn docker_real_build_passes_the_size_and_policy_gates_with_figures() {
    require_or_skip!("docker");
    let build = real_build();
    build.ok().stderr_has("build: passed");
    for (name, tag) in IMAGES {
        // `uncompressed 3.0 MB (budget 20.0 MB), compressed 1.4 MB (budget 10.0 MB)`
        let size = verdict(build, "size", name);
        let (unc, rest) = size
            .strip_prefix("uncompressed ")
            .and_then(|s| s.split_once(" (budget 20.0 MB), compressed "))
            .unwrap_or_else(|| panic!("size verdict of {name}: {size:?}"));
        let comp = rest.strip_suffix(" (budget 10.0 MB)").unwrap_or_else(|| panic!("size verdict: {size:?}"));
        let (unc, comp) = (parse_size(unc), parse_size(comp));
        assert!(unc > 1e6 && unc < 20e6, "{name}: {size}");
        assert!(comp > 0.0 && comp < unc, "{name}: {size}");
        // The figure is the daemon's own.
        let daemon: f64 = docker_ok(&["image", "inspect", "--format", "{{.Size}}", tag]).trim().parse().unwrap();
        assert!((daemon - unc).abs() <= 0.05e6, "{name}: the gate says {unc}, the daemon {daemon}");

        assert_eq!(
            verdict(build, "policy", name),
            "user 1000:1000, healthcheck, port 8080 exposed, bases pinned",
            "{name}"
        );
        let skipped = format!("skipped gate:vuln:{name} (");
        assert!(
            build
                .stderr
                .lines()
                .any(|l| l.contains(&skipped) && l.ends_with("— skipped by request (--skip-gate vuln)")),
            "{name}: the vulnerability gate was not skipped by request\n{build}"
        );
    }
    // The report agrees: built or cached (a warm repo), gates passed or cached, vuln skipped by request.
    let report = report_of(build);
    let steps = report["steps"].as_array().unwrap();
    let status = |id: &str| steps.iter().find(|s| s["id"] == id).map(|s| s["status"].clone()).unwrap_or_default();
    for id in ["prebuild:binaries", "build:todo-api", "build:todo-web", "gate:size:todo-api", "gate:policy:todo-web"] {
        assert!(status(id) == "passed" || status(id) == "cached", "{id}: {}", status(id));
    }
    assert_eq!(status("gate:vuln:todo-api"), "skipped");
    // The static binaries were staged into the build contexts, built with cargo-auditable: each carries the
    // `.dep-v0` section (zlib-compressed JSON of its crate graph) that Trivy reads, with itself as the root.
    for (name, _) in IMAGES {
        let staged = Path::new(ROOT).join(format!("docker/{name}/bin/{name}"));
        let bytes =
            std::fs::read(&staged).unwrap_or_else(|e| panic!("{name} was not staged into docker/{name}/bin/: {e}"));
        let section =
            support::elf_section(&bytes, ".dep-v0").unwrap_or_else(|| panic!("{name} has no .dep-v0 section"));
        let mut json = String::new();
        flate2::read::ZlibDecoder::new(section).read_to_string(&mut json).expect("zlib-compressed .dep-v0");
        let deps: Value = serde_json::from_str(&json).expect(".dep-v0 is JSON");
        let packages = deps["packages"].as_array().expect("a package list");
        assert!(packages.iter().any(|p| p["name"] == name && p["root"] == true), "{name}: {json}");
        assert!(packages.iter().any(|p| p["name"] == "tokio"), "{name}: tokio missing from {json}");
        // The run folder holds the image's SBOM, made from the same data.
        let sbom = std::fs::read_to_string(latest_sbom(build, name)).unwrap_or_else(|e| panic!("{name} SBOM: {e}"));
        let bom: Value = serde_json::from_str(&sbom).unwrap();
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["components"].as_array().unwrap().len(), packages.len(), "{name}");
    }
}

/// `target/xtask/runs/<id>/sbom/<image>.cdx.json` of the run that printed `ran`.
fn latest_sbom(ran: &Ran, image: &str) -> std::path::PathBuf {
    report_path(ran).with_file_name("sbom").join(format!("{image}.cdx.json"))
}

/// Containers and networks removed when the test ends, however it ends.
#[derive(Default)]
struct Cleanup {
    containers: Vec<String>,
    networks: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.containers.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(self.containers.iter().map(String::as_str));
            let _ = docker(&args);
        }
        for n in &self.networks {
            let _ = docker(&["network", "rm", n]);
        }
    }
}

impl Cleanup {
    /// `docker run -d ARGS`; the container is removed on drop. Returns its id.
    fn run(&mut self, args: &[&str]) -> String {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        let id = docker(&all).ok().stdout.trim().to_string();
        self.containers.push(id.clone());
        id
    }
}

/// Docker's health status, polled until `healthy` (bounded); fails at once on `unhealthy` or an exited container.
fn wait_healthy(id: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let state = docker_ok(&["inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", id]);
        match state.trim() {
            "running healthy" => return start.elapsed(),
            s if s.starts_with("running") && !s.ends_with("unhealthy") && start.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(100))
            }
            s => {
                let logs = docker(&["logs", "--tail", "20", id]);
                panic!("container {id} is `{s}` after {:?}\n{}\n{}", start.elapsed(), logs.stdout, logs.stderr)
            }
        }
    }
}

fn inspect(id: &str) -> Value {
    serde_json::from_str::<Value>(&docker_ok(&["inspect", id])).unwrap()[0].clone()
}

/// The 127.0.0.1 port Docker published for the container's 8080.
fn published_port(id: &str) -> u16 {
    let out = docker_ok(&["port", id, "8080/tcp"]);
    out.lines()
        .find_map(|l| l.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no 127.0.0.1 port published for {id}: {out:?}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 request to 127.0.0.1:port (bounded): status and body.
fn http(method: &str, port: u16, path: &str, body: Option<&str>) -> (u16, String) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let code: u16 = line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{line:?}"));
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut buf = vec![0; len];
    r.read_exact(&mut buf).unwrap();
    (code, String::from_utf8_lossy(&buf).into_owned())
}

fn get(port: u16, path: &str) -> (u16, String) {
    http("GET", port, path, None)
}

/// Health checks in these runs use `--health-interval=1s`. The images say `--interval=30s`, and Docker runs the
/// first probe one interval after the start, so `healthy` would take 30 s or more; Docker 20.10 has no
/// `--start-interval` (Engine 25+). The probe itself (`<app> healthcheck`, from the image) is unchanged.
const HEALTH_FAST: &str = "--health-interval=1s";
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

/// The user, health check and port as the image sets them (not overridden by the run).
fn assert_image_config(id: &str, app: &str) {
    let c = inspect(id);
    assert_eq!(c["Config"]["User"], "1000:1000", "{app}");
    assert_eq!(c["Config"]["Healthcheck"]["Test"], serde_json::json!(["CMD", format!("/{app}"), "healthcheck"]));
    assert!(c["Config"]["ExposedPorts"].get("8080/tcp").is_some(), "{app}: {:#}", c["Config"]);
}

#[test]
#[ignore = "needs a Docker engine (a running daemon) and, for its database part, PostgreSQL (TODO_TEST_DATABASE_URL)"]
fn docker_real_images_run_healthy_as_uid_1000_and_answer_http() {
    require_or_skip!("docker");
    real_build().ok();
    let mut guard = Cleanup::default();
    let tag = format!("xtask-images-test-{}", std::process::id());

    // todo-api without a database: it serves /health and keeps retrying the database, so /ready is 503.
    // todo-web reaches it by container name on a user-defined network (Docker's embedded DNS).
    let net = tag.clone();
    docker_ok(&["network", "create", &net]);
    guard.networks.push(net.clone());
    let api_name = format!("{tag}-api");
    let api = guard.run(&[
        "--name",
        &api_name,
        "--network",
        &net,
        "-p",
        "127.0.0.1::8080",
        HEALTH_FAST,
        "-e",
        "DATABASE_URL=postgres://todo:unused@127.0.0.1:1/todo?connect_timeout=1",
        "todo-api:0.1.0",
    ]);
    let backend = format!("BACKEND_URL=http://{api_name}:8080");
    let web = guard.run(&["--network", &net, "-p", "127.0.0.1::8080", HEALTH_FAST, "-e", &backend, "todo-web:0.1.0"]);

    for (id, app) in [(&api, "todo-api"), (&web, "todo-web")] {
        let took = wait_healthy(id, HEALTHY_WITHIN);
        eprintln!("{app}: healthy after {took:?}");
        assert_image_config(id, app);
    }
    let api_port = published_port(&api);
    assert_eq!(get(api_port, "/health").0, 200);
    let (code, body) = get(api_port, "/ready");
    assert_eq!(code, 503, "/ready without a database: {body}");
    assert!(body.contains("\"error\""), "{body}");

    let web_port = published_port(&web);
    assert_eq!(get(web_port, "/health").0, 200);
    let (code, page) = get(web_port, "/");
    assert_eq!(code, 200);
    assert!(page.to_lowercase().contains("<html"), "{page}");
    // The proxy reached todo-api (a 502 would mean it could not): the API's own 503 comes back.
    let (code, body) = get(web_port, "/api/tasks");
    assert_eq!(code, 503, "/api/tasks through todo-web: {body}");

    // With PostgreSQL: the full path web → api → database. The database listens on the host's 127.0.0.1, so these
    // two containers share the host's network (no port publishing there) and listen on free ports of their own.
    let Ok(db_url) = std::env::var("TODO_TEST_DATABASE_URL") else {
        assert!(!support::engines_required(), "TODO_TEST_DATABASE_URL is required (XTASK_REQUIRE_ENGINES=1)");
        eprintln!("skipped: the database part of docker_real_images_run_healthy_as_uid_1000_and_answer_http: needs postgres (TODO_TEST_DATABASE_URL)");
        return;
    };
    let (api_port, web_port) = (free_port(), free_port());
    let api = guard.run(&[
        "--network",
        "host",
        HEALTH_FAST,
        "-e",
        &format!("PORT={api_port}"),
        "-e",
        &format!("DATABASE_URL={db_url}"),
        "todo-api:0.1.0",
    ]);
    let web = guard.run(&[
        "--network",
        "host",
        HEALTH_FAST,
        "-e",
        &format!("PORT={web_port}"),
        "-e",
        &format!("BACKEND_URL=http://127.0.0.1:{api_port}"),
        "todo-web:0.1.0",
    ]);
    wait_healthy(&api, HEALTHY_WITHIN);
    wait_healthy(&web, HEALTHY_WITHIN);
    // The database connection is retried with backoff; ready within a few seconds.
    let end = Instant::now() + Duration::from_secs(20);
    while get(api_port, "/ready").0 != 200 {
        assert!(Instant::now() < end, "todo-api never became ready with {}", db_url.split('@').nth(1).unwrap_or(""));
        std::thread::sleep(Duration::from_millis(200));
    }
    let title = format!("images test {}", std::process::id());
    let (code, created) =
        http("POST", web_port, "/api/tasks", Some(&serde_json::json!({ "title": title }).to_string()));
    assert_eq!(code, 201, "creating a task through todo-web: {created}");
    let task: Value = serde_json::from_str(&created).unwrap();
    let id = task["id"].to_string();
    let (code, fetched) = get(api_port, &format!("/api/tasks/{id}"));
    assert_eq!(code, 200, "{fetched}");
    assert!(fetched.contains(&title), "{fetched}");
    assert!(matches!(http("DELETE", web_port, &format!("/api/tasks/{id}"), None).0, 200 | 204));
}

#[test]
#[ignore = "needs a Docker engine: a running daemon that `docker version` reaches"]
fn docker_size_gate_fails_on_the_real_sizes_and_lists_the_largest_layers() {
    require_or_skip!("docker");
    real_build().ok();
    // xtask.yaml with a 1 MB budget; image paths stay relative to the repo root.
    let text = std::fs::read_to_string(Path::new(ROOT).join("xtask.yaml")).unwrap();
    assert!(text.contains("uncompressed: 20MB"), "xtask.yaml no longer sets `uncompressed: 20MB`");
    let tmp = tempfile::Builder::new().prefix("xtask-images-").tempdir().unwrap();
    let config = tmp.path().join("xtask-1mb.yaml");
    std::fs::write(&config, text.replace("uncompressed: 20MB", "uncompressed: 1MB")).unwrap();

    let out = xtask(&["--config", config.to_str().unwrap(), "build", "--skip-gate", "vuln"]);
    assert_eq!(out.code, Some(1), "{out}");
    for (name, tag) in IMAGES {
        out.stderr_has(&format!("error in gate:size:{name}: {tag} is over its size budget: uncompressed "));
        let size = verdict(&out, "size", name);
        assert!(size.contains("(budget 1.0 MB)"), "{size}");
        // The layer list follows the message: the COPY of the binary first, with the image's whole size.
        let start = out.stderr.find(&format!("error in gate:size:{name}:")).unwrap();
        let (_, after) = out.stderr[start..].split_once("Largest layers:\n").expect("a layer list");
        let layers: Vec<&str> = after.lines().take_while(|l| l.starts_with("      ")).collect();
        assert!(layers.len() >= 2, "{out}");
        let first = layers[0].trim();
        // The legacy builder records `COPY file:<sha256> in /todo-api`, BuildKit the instruction itself: either way
        // the gate names the Dockerfile's instruction.
        assert!(
            first.contains(&format!("COPY bin/{name} /{name}")),
            "{name}: the largest layer is not the binary's COPY as the Dockerfile writes it: {layers:#?}"
        );
        assert!(parse_size(first.split("  ").next().unwrap()) > 1e6, "{first}");
    }
    out.stderr_has("build: failed");
}
