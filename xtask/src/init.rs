//! `cargo xtask init`: writes a commented starter `xtask.yaml` from the Dockerfiles and Helm charts it finds in the
//! repo, then runs `doctor`. It never overwrites a config; everything it could not know is left as a comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::error::Error;
use crate::pipeline::console::{self, Shown};

pub struct Init;

/// Folders never searched: build output, dependencies, VCS and tool state, and the xtask itself.
const SKIP_DIRS: &[&str] = &["target", "node_modules", "vendor", "xtask", "dist", "build"];

/// A Dockerfile found in the repo, and what the starter config says about it.
#[derive(Debug)]
struct FoundImage {
    name: String,
    context: PathBuf,
    dockerfile: PathBuf,
    port: Option<u16>,
    /// The chart key that takes this image's tag (`frontend.image.tag`), when the chart names the image.
    chart_key: Option<String>,
}

#[derive(Debug)]
struct FoundChart {
    dir: PathBuf,
    name: String,
    app_version: Option<String>,
    /// `values-*.yaml` beside Chart.yaml (values.yaml itself is the chart's default and always applies).
    values_files: Vec<PathBuf>,
    /// Top-level keys with `image.repository` in values.yaml: key -> repository.
    image_keys: BTreeMap<String, String>,
}

impl Init {
    pub fn run(self, ctx: &Context) -> Result<()> {
        if ctx.config_path.exists() {
            return Err(Error::usage(format!(
                "{} already exists; init never overwrites a config. Delete it first, or write a new one elsewhere \
                 with `cargo xtask --config NEW.yaml init`",
                ctx.config_shown.display()
            ))
            .into());
        }
        let charts = find_charts(&ctx.root)?;
        let images = find_images(&ctx.root, charts.first())?;
        let project = project_name(&ctx.root, charts.first());
        let text = starter(&project, &images, &charts);
        std::fs::write(&ctx.config_path, &text).with_context(|| format!("writing {}", ctx.config_shown.display()))?;
        console::show(Shown::Info(&format!(
            "wrote {}: {} image(s) ({}), {}. Read it through, then run `cargo xtask verify --static` and \
             `cargo xtask plan up`.",
            ctx.config_shown.display(),
            images.len(),
            images.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "),
            match charts.first() {
                Some(c) => format!("chart {}", c.dir.display()),
                None => "no Helm chart (release: needs one)".to_string(),
            }
        )));
        console::show(Shown::Info("\nnow `cargo xtask doctor`:"));
        crate::doctor::Doctor { json: false }.run(ctx)
    }
}

/// Every folder under `root`, depth first in name order, without the skipped and hidden ones.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            if name.starts_with('.') || SKIP_DIRS.contains(&name.as_str()) {
                continue;
            }
            walk(root, &path, out)?;
        } else {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

fn files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    walk(root, root, &mut out)?;
    Ok(out)
}

fn find_charts(root: &Path) -> Result<Vec<FoundChart>> {
    let mut charts = vec![];
    for f in files(root)? {
        if f.file_name().is_none_or(|n| n != "Chart.yaml") {
            continue;
        }
        let dir = f.parent().unwrap_or(Path::new("")).to_path_buf();
        // A subchart (charts/X/Chart.yaml) belongs to its parent.
        if dir.components().any(|c| c.as_os_str() == "charts" || c.as_os_str() == "templates") {
            continue;
        }
        let meta: serde_json::Value =
            crate::yaml::from_str(&f, &std::fs::read_to_string(root.join(&f))?).map_err(anyhow::Error::new)?;
        let name = meta["name"].as_str().unwrap_or("app").to_string();
        let app_version = meta["appVersion"].as_str().map(str::to_string);
        let mut values_files: Vec<PathBuf> = std::fs::read_dir(root.join(&dir))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("values-") && (n.ends_with(".yaml") || n.ends_with(".yml")))
            .map(|n| dir.join(n))
            .collect();
        values_files.sort();
        let mut image_keys = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(root.join(&dir).join("values.yaml")) {
            if let Ok(serde_json::Value::Object(values)) = crate::yaml::from_str::<serde_json::Value>(&f, &text) {
                for (key, v) in values {
                    if let Some(repo) = v["image"]["repository"].as_str() {
                        image_keys.insert(key, repo.to_string());
                    }
                }
            }
        }
        charts.push(FoundChart { dir, name, app_version, values_files, image_keys });
    }
    Ok(charts)
}

fn is_dockerfile(name: &str) -> bool {
    name == "Dockerfile" || name.ends_with(".Dockerfile") || name.starts_with("Dockerfile.")
}

/// A name Docker and Kubernetes both accept: lowercase letters, digits and dashes.
fn slug(s: &str) -> String {
    let s: String = s.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "app".to_string()
    } else {
        s
    }
}

fn find_images(root: &Path, chart: Option<&FoundChart>) -> Result<Vec<FoundImage>> {
    let mut images = vec![];
    for f in files(root)? {
        let file = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !is_dockerfile(&file) {
            continue;
        }
        let context = f.parent().unwrap_or(Path::new("")).to_path_buf();
        let dir_name = context.file_name().map(|n| n.to_string_lossy().into_owned());
        let base = match file.as_str() {
            "Dockerfile" => dir_name.clone().unwrap_or_else(|| project_name(root, chart)),
            f => f.trim_end_matches(".Dockerfile").trim_start_matches("Dockerfile.").to_string(),
        };
        let text = std::fs::read_to_string(root.join(&f)).unwrap_or_default();
        let port = text.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            if !words.next()?.eq_ignore_ascii_case("EXPOSE") {
                return None;
            }
            words.next()?.split('/').next()?.parse().ok()
        });
        // The chart names the image under a key that matches the folder (`frontend:` for frontend/Dockerfile) or
        // by repository: then the image takes the chart's repository name and that key receives its tag.
        let matched = chart.and_then(|c| {
            c.image_keys.iter().find(|(key, repo)| {
                Some(key.as_str()) == dir_name.as_deref()
                    || **repo == base
                    || Some(repo.as_str()) == dir_name.as_deref()
            })
        });
        let (name, chart_key) = match matched {
            Some((key, repo)) => (slug(repo), Some(format!("{key}.image.tag"))),
            None => (slug(&base), None),
        };
        images.push(FoundImage { name, context, dockerfile: f, port, chart_key });
    }
    Ok(images)
}

fn project_name(root: &Path, chart: Option<&FoundChart>) -> String {
    match chart {
        Some(c) => slug(&c.name),
        None => slug(&root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
    }
}

fn path_str(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".to_string()
    } else {
        s
    }
}

/// The starter config: what was found, with a comment on each key and the optional sections commented out.
fn starter(project: &str, images: &[FoundImage], charts: &[FoundChart]) -> String {
    let chart = charts.first();
    let version = chart.and_then(|c| c.app_version.clone()).unwrap_or_else(|| "0.1.0".to_string());
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Pipeline config for `cargo xtask`, written by `cargo xtask init` from what it found in the repo."
    );
    let _ = writeln!(y, "# Paths are relative to the repo root. Every key: docs/configuration.md. Check it with");
    let _ = writeln!(y, "# `cargo xtask verify --static` (no cluster needed) and `cargo xtask plan up`.");
    let _ = writeln!(y, "project: {project}\n");
    let _ = writeln!(y, "# Container images, built in parallel and gated on size, vulnerabilities (Trivy) and policy.");
    if images.is_empty() {
        let _ = writeln!(y, "# No Dockerfile was found: add one entry per image.");
        let _ = writeln!(y, "images: []");
    } else {
        let _ = writeln!(y, "images:");
    }
    for i in images {
        let _ = writeln!(y, "  - name: {}", i.name);
        let _ = writeln!(y, "    context: {}", path_str(&i.context));
        let _ = writeln!(y, "    dockerfile: {}", path_str(&i.dockerfile));
        let _ = writeln!(y, "    # The tag the chart deploys; bump it with each release.");
        let _ = writeln!(y, "    tag: {}:{version}", i.name);
        match i.port {
            Some(p) => {
                let _ = writeln!(
                    y,
                    "    # From the Dockerfile's EXPOSE: the policy gate checks the image still exposes it."
                );
                let _ = writeln!(y, "    port: {p}");
            }
            None => {
                let _ = writeln!(y, "    # The Dockerfile has no EXPOSE; set the port the app listens on to have the policy gate check it.");
                let _ = writeln!(y, "    # port: 8080");
            }
        }
        let _ = writeln!(y, "    # Fail the build above these sizes (optional).");
        let _ = writeln!(y, "    # size_budget: {{ uncompressed: 200MB, compressed: 100MB }}");
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "# The local cluster (Minikube).");
    let _ = writeln!(y, "cluster:");
    let _ = writeln!(y, "  profile: {project}");
    let _ =
        writeln!(y, "  # driver, cpus, memory, kubernetes_version and addons have defaults (docs/configuration.md).");
    let _ = writeln!(y, "  addons: [metrics-server]\n");
    let _ = writeln!(y, "# The Helm release `up` installs.");
    let _ = writeln!(y, "release:");
    match chart {
        Some(c) => {
            let _ = writeln!(y, "  chart: {}", path_str(&c.dir));
            let _ = writeln!(y, "  name: {}", slug(&c.name));
            let _ = writeln!(y, "  namespace: {}", slug(&c.name));
            let dev: Vec<&PathBuf> = c.values_files.iter().filter(|f| is_dev_values(f)).collect();
            let others: Vec<&PathBuf> = c.values_files.iter().filter(|f| !is_dev_values(f)).collect();
            let list = |v: &[&PathBuf]| v.iter().map(|p| path_str(p)).collect::<Vec<_>>().join(", ");
            let _ =
                writeln!(y, "  # Values files for the local deploy, applied in order over the chart's values.yaml.");
            let _ = writeln!(y, "  values: [{}]", list(&dev));
            let _ = writeln!(y, "  # Values files that are only linted (e.g. production).");
            let _ = writeln!(y, "  lint_values: [{}]", list(&others));
            let _ = writeln!(y, "  strict_lint: true");
            let keyed: Vec<&FoundImage> = images.iter().filter(|i| i.chart_key.is_some()).collect();
            if keyed.is_empty() {
                let _ = writeln!(
                    y,
                    "  # Chart keys that receive each image's tag, e.g. `backend.image.tag: {}`.",
                    images.first().map(|i| i.name.as_str()).unwrap_or("my-image")
                );
                let _ = writeln!(y, "  image_values: {{}}");
            } else {
                let _ = writeln!(
                    y,
                    "  # Chart keys that receive each image's tag (from the chart's image.repository values)."
                );
                let _ = writeln!(y, "  image_values:");
                for i in keyed {
                    let _ = writeln!(y, "    {}: {}", i.chart_key.as_deref().unwrap_or_default(), i.name);
                }
            }
            let _ = writeln!(y, "  # Chart keys set from `secrets:` below (never written to a file or a log), e.g.");
            let _ = writeln!(y, "  # secret_values: {{ backend.apiToken: api-token }}");
            let _ = writeln!(y, "  # The Service whose URL `up` prints (a NodePort or LoadBalancer).");
            let _ = writeln!(y, "  # service: my-frontend");
            if charts.len() > 1 {
                let others: Vec<String> = charts[1..].iter().map(|c| path_str(&c.dir)).collect();
                let _ = writeln!(y, "  # Other charts found (one release per config): {}", others.join(", "));
            }
        }
        None => {
            let _ =
                writeln!(y, "  # No Helm chart (a folder with Chart.yaml) was found: `helm create chart` makes one.");
            let _ = writeln!(y, "  chart: chart");
            let _ = writeln!(y, "  name: {project}");
            let _ = writeln!(y, "  namespace: {project}");
        }
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "# Secrets: each from an env var or a git-ignored file; `generate: true` makes a local one.");
    let _ = writeln!(y, "# secrets:");
    let _ = writeln!(y, "#   api-token: {{ env: MY_API_TOKEN, file: .secrets/api-token, generate: true }}\n");
    let _ = writeln!(y, "# What `cargo xtask verify` checks after a deploy (services, ports, health paths, the API).");
    let _ = writeln!(y, "# verify:");
    let _ = writeln!(y, "#   frontend: {{ service: my-frontend, port: 80, health: /health }}");
    y
}

fn is_dev_values(p: &Path) -> bool {
    let n = p.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    n.contains("dev") || n.contains("local")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names_and_slugs() {
        assert!(is_dockerfile("Dockerfile") && is_dockerfile("api.Dockerfile") && is_dockerfile("Dockerfile.web"));
        assert!(!is_dockerfile("dockerfile-notes.txt"));
        assert_eq!(slug("My_App 2"), "my-app-2");
        assert_eq!(slug("__"), "app");
    }
}
