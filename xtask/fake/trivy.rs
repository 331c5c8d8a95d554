//! Fake `trivy`: `--version`, `version --format json`, and `image` scans that return a clean report in Trivy's
//! JSON shape (aquasecurity/trivy `pkg/types/report.go`: `Vulnerabilities` is omitempty) or a seeded one from
//! `state/trivy/<image with ':' and '/' as '_'>.json`; `--severity`, `--ignore-unfixed`, `.trivyignore`,
//! `--exit-code` and `--output` are applied to seeded findings.

use anyhow::Result;
use serde_json::{json, Value};

use crate::reply::Reply;
use crate::util::{self, Flags};
use crate::{state, Ctx};

const VALUED: &[&str] = &[
    "-f",
    "--format",
    "-s",
    "--severity",
    "--scanners",
    "-o",
    "--output",
    "--exit-code",
    "--ignorefile",
    "--cache-dir",
    "--timeout",
    "--db-repository",
    "--platform",
    "--image-src",
    "--pkg-types",
    "-t",
    "--template",
];

fn version(ctx: &Ctx) -> String {
    ctx.env("FAKE_TRIVY_VERSION").unwrap_or_else(|| "0.69.3".into()).trim_start_matches('v').to_string()
}

fn db() -> Value {
    json!({"Version": 2, "NextUpdate": "2024-10-02T06:13:14.181024468Z", "UpdatedAt": "2024-10-01T06:13:14.181024618Z",
           "DownloadedAt": "2024-10-01T09:30:01.524452032Z"})
}

pub fn run(ctx: &Ctx) -> Result<Reply> {
    let f = Flags::parse(&ctx.args, VALUED);
    if f.has(&["-v", "--version"]) {
        return Ok(Reply::ok(format!(
            "Version: {}\nVulnerability DB:\n  Version: 2\n  UpdatedAt: 2024-10-01 06:13:14.181024618 +0000 UTC\n  NextUpdate: 2024-10-02 06:13:14.181024468 +0000 UTC\n  DownloadedAt: 2024-10-01 09:30:01.524452032 +0000 UTC\n",
            version(ctx)
        )));
    }
    match f.pos.first().map(String::as_str) {
        Some("version") => Ok(Reply::ok(match f.get(&["-f", "--format"]).as_deref() {
            Some("json") => format!("{}\n", json!({"Version": version(ctx), "VulnerabilityDB": db()})),
            _ => format!("Version: {}\n", version(ctx)),
        })),
        Some("image" | "i") => image(ctx, &f),
        Some(other) => Ok(Reply::fail(
            1,
            format!("Error: unknown command \"{other}\" for \"trivy\"\nRun 'trivy --help' for usage.\n"),
        )),
        None => Ok(Reply::ok("Scanner for vulnerabilities in container images, file systems, and Git repositories\n")),
    }
}

fn log_line(level: &str, msg: &str) -> String {
    format!("{}\t{level}\t{msg}\n", util::rfc3339_secs(util::now_ms()).replace('Z', "+00:00"))
}

fn ignored_ids(ctx: &Ctx, f: &Flags) -> Vec<String> {
    let path = f.get(&["--ignorefile"]).unwrap_or_else(|| ".trivyignore".into());
    let text = std::fs::read_to_string(ctx.cwd().join(&path)).unwrap_or_default();
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        // `vulnerabilities: - id: CVE-...` entries; expired_at is not evaluated by the fake.
        text.lines()
            .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("id:"))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
            .collect()
    } else {
        text.lines().map(|l| l.split('#').next().unwrap_or("").trim().to_string()).filter(|l| !l.is_empty()).collect()
    }
}

fn image(ctx: &Ctx, f: &Flags) -> Result<Reply> {
    let Some(img) = f.pos.get(1).cloned() else {
        return Ok(Reply::fail(1, log_line("FATAL", "Fatal error\trequires at least 1 argument")));
    };
    let file = format!("trivy/{}.json", img.replace([':', '/'], "_"));
    let quiet = f.has(&["-q", "--quiet"]);
    let mut err = String::new();
    if !quiet {
        err.push_str(&log_line("INFO", "[vuln] Vulnerability scanning is enabled"));
        err.push_str(&log_line("INFO", "Detected OS\tfamily=\"none\""));
    }
    let mut report: Value = match state::raw(ctx, &file) {
        Some(text) => serde_json::from_str(&text)?,
        None => {
            let id = match docker_id(ctx, &img)? {
                Some(id) => id,
                None => {
                    return Ok(Reply::fail(
                        1,
                        format!(
                            "{err}{}",
                            log_line(
                                "FATAL",
                                &format!("Fatal error\trun error: image scan error: scan error: unable to initialize a scan service: unable to initialize an image scan service: unable to find the specified image \"{img}\" in [\"docker\" \"containerd\" \"podman\" \"remote\"]")
                            )
                        ),
                    ))
                }
            };
            json!({
                "SchemaVersion": 2,
                "CreatedAt": util::rfc3339(util::now_ms()),
                "ArtifactName": img,
                "ArtifactType": "container_image",
                "Metadata": {"ImageID": id, "DiffIDs": [], "RepoTags": [img], "RepoDigests": [],
                             "ImageConfig": {"architecture": "amd64", "os": "linux", "config": {}}},
                "Results": [{"Target": "app/todo-api", "Class": "lang-pkgs", "Type": "rustbinary"}]
            })
        }
    };
    let severities: Option<Vec<String>> =
        f.get(&["-s", "--severity"]).map(|s| s.split(',').map(|x| x.trim().to_uppercase()).collect());
    let ignore_unfixed = f.has(&["--ignore-unfixed"]);
    let ignored = ignored_ids(ctx, f);
    let mut remaining = 0;
    if let Some(results) = report.get_mut("Results").and_then(Value::as_array_mut) {
        for r in results {
            if let Some(vulns) = r.get_mut("Vulnerabilities").and_then(Value::as_array_mut) {
                vulns.retain(|v| {
                    let sev = v["Severity"].as_str().unwrap_or("UNKNOWN");
                    let fixed = v.get("FixedVersion").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
                    let wanted = match &severities {
                        Some(list) => list.iter().any(|s| s == sev),
                        None => true,
                    };
                    wanted
                        && (!ignore_unfixed || fixed)
                        && !ignored.iter().any(|id| v["VulnerabilityID"] == id.as_str())
                });
                remaining += vulns.len();
                if vulns.is_empty() {
                    if let Some(o) = r.as_object_mut() {
                        o.remove("Vulnerabilities");
                    }
                }
            }
        }
    }
    let format = f.get(&["-f", "--format"]).unwrap_or_else(|| "table".into());
    let body = if format == "json" {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        format!("\n{img}\n{}\nTotal: {remaining}\n", "=".repeat(img.len()))
    };
    let out = match f.get(&["-o", "--output"]) {
        Some(p) => {
            std::fs::write(ctx.cwd().join(p), body)?;
            String::new()
        }
        None => body,
    };
    let exit_code: i32 = f.get(&["--exit-code"]).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok(Reply::ok(out).with_err(err).with_code(if remaining > 0 { exit_code } else { 0 }))
}

/// The image id if the fake docker daemon knows the image (trivy reads images from the local daemon first).
fn docker_id(ctx: &Ctx, img: &str) -> Result<Option<String>> {
    let st: crate::docker::DockerState = state::load(ctx, "docker")?;
    Ok(st.tags.get(&crate::docker::normalize(img)).cloned().or_else(|| {
        ctx.env("FAKE_DOCKER_IMAGES")
            .is_some_and(|v| v.split(',').any(|i| crate::docker::normalize(i.trim()) == crate::docker::normalize(img)))
            .then(|| format!("sha256:{}", util::hex256(img.as_bytes())))
    }))
}
