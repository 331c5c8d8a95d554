//! `cargo xtask tools install` against a local HTTP server on 127.0.0.1 serving fixture archives: a good archive
//! installs, a tampered or missing one is refused and leaves nothing behind.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use support::{needs_curl_and_tar, serve};

fn platform() -> String {
    let os = if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    format!("{os}-{arch}")
}

/// A helm-like archive (`<platform>/helm` inside a .tar.gz), made with the system's tar as upstream's are.
fn helm_archive(work: &Path) -> Vec<u8> {
    let dir = work.join("src").join(platform());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("helm"), "#!/bin/sh\necho v3.21.4+gfixture\n").unwrap();
    let out = work.join("helm.tar.gz");
    let st =
        Command::new("tar").arg("-czf").arg(&out).arg("-C").arg(work.join("src")).arg(platform()).status().unwrap();
    assert!(st.success());
    std::fs::read(out).unwrap()
}

fn sha256(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn project(url: &str, sha: &str) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("xtask")).unwrap();
    let lock = format!(
        "tools:\n  helm:\n    version: 3.21.4\n    platforms:\n      {}:\n        url: {url}\n        sha256: {sha}\n        \
         archive: tar.gz\n        path_in_archive: {}/helm\n",
        platform(),
        platform()
    );
    std::fs::write(root.join("xtask/tools.lock.yaml"), lock).unwrap();
    Project { _dir: dir, root }
}

fn install(p: &Project, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["tools", "install"])
        .args(args)
        .env("XTASK_ROOT", &p.root)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

/// Nothing but what a successful install writes may be in .xtask/bin.
fn bin_entries(p: &Project) -> Vec<String> {
    match std::fs::read_dir(p.root.join(".xtask/bin")) {
        Ok(rd) => {
            let mut v: Vec<String> = rd.map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
            v.sort();
            v
        }
        Err(_) => vec![],
    }
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn installs_a_verified_download() {
    if !needs_curl_and_tar() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let archive = helm_archive(work.path());
    let base = serve(vec![("/helm.tar.gz".into(), archive.clone())]);
    let p = project(&format!("{base}/helm.tar.gz"), &sha256(&archive));
    let (code, stderr) = install(&p, &["helm"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("helm 3.21.4 installed into .xtask/bin (sha256 verified)"), "{stderr}");
    assert_eq!(bin_entries(&p), vec![".helm.version", "helm"]);
    let out = Command::new(p.root.join(".xtask/bin/helm")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "v3.21.4+gfixture");
    // A second run sees the pinned version in place and downloads nothing.
    let (code, stderr) = install(&p, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already installed"), "{stderr}");
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn refuses_a_tampered_archive_and_leaves_nothing() {
    if !needs_curl_and_tar() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let archive = helm_archive(work.path());
    let expected = sha256(&archive);
    let mut tampered = archive.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    let base = serve(vec![("/helm.tar.gz".into(), tampered.clone())]);
    let p = project(&format!("{base}/helm.tar.gz"), &expected);
    let (code, stderr) = install(&p, &["helm"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "checksum mismatch for {base}/helm.tar.gz: expected {expected}, got {}",
            sha256(&tampered)
        )),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was installed"), "{stderr}");
    assert_eq!(bin_entries(&p), Vec::<String>::new(), "no binary, stamp or temp folder may remain");
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn a_broken_download_leaves_nothing() {
    if !needs_curl_and_tar() {
        return;
    }
    let base = serve(vec![]);
    let p = project(&format!("{base}/missing.tar.gz"), &"0".repeat(64));
    let (code, stderr) = install(&p, &["helm"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("download of") && stderr.contains("failed (curl exit 22)"), "{stderr}");
    assert_eq!(bin_entries(&p), Vec::<String>::new());
}

#[test]
fn an_unknown_tool_is_a_usage_error() {
    let p = project("http://127.0.0.1:9/x", &"0".repeat(64));
    let (code, stderr) = install(&p, &["helmm"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no pinned version of `helmm`"), "{stderr}");
}

#[test]
fn the_committed_lock_file_parses_and_cites_its_sources() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tools.lock.yaml")).unwrap();
    for tool in ["helm", "minikube", "kubectl", "trivy"] {
        assert!(text.contains(&format!("\n  {tool}:\n")), "{tool} is pinned");
    }
    for line in text.lines().filter(|l| l.trim_start().starts_with("sha256:")) {
        let v = line.split(':').nth(1).unwrap().trim();
        assert_eq!(v.len(), 64, "{line}");
        assert!(v.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    }
    assert!(text.matches("source").count() >= 4, "each pinned tool cites where its checksums come from");
    // `tools list` reads it through the same parser as `tools install`.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["tools", "list"])
        .env("XTASK_ROOT", concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("helm4"));
}

/// Every file under `dir` with its mode and content (or link target), to prove that nothing outside `.xtask/bin`
/// changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("dir {:o}", m.permissions().mode())
            } else {
                format!("file {:o} {}", m.permissions().mode(), sha256(&std::fs::read(&p).unwrap()))
            };
            out.push((p, what));
        }
    }
    out.sort();
    out
}

/// An archive whose `<platform>/helm` is a symbolic link to `target` (as a hostile or broken release could ship).
fn symlink_archive(work: &Path, target: &Path, zip: bool) -> Option<Vec<u8>> {
    let dir = work.join("src").join(platform());
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(target, dir.join("helm")).unwrap();
    let out = work.join(if zip { "helm.zip" } else { "helm.tar.gz" });
    let st = if zip {
        Command::new("zip")
            .arg("-q")
            .arg("-y")
            .arg("-r")
            .arg(&out)
            .arg(platform())
            .current_dir(work.join("src"))
            .status()
    } else {
        Command::new("tar").arg("-czf").arg(&out).arg("-C").arg(work.join("src")).arg(platform()).status()
    };
    match st {
        Ok(s) if s.success() => Some(std::fs::read(out).unwrap()),
        _ => None,
    }
}

#[cfg(unix)]
#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn a_symlink_executable_is_refused_and_nothing_outside_changes() {
    if !needs_curl_and_tar() {
        return;
    }
    for zip in [false, true] {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let work = tempfile::tempdir().unwrap();
        let Some(archive) = symlink_archive(work.path(), &victim, zip) else {
            assert!(!support::engines_required() || !zip, "zip is required in CI");
            eprintln!("skipped: the zip case needs the zip program");
            continue;
        };
        if zip && Command::new("unzip").arg("-v").output().is_err() {
            continue;
        }
        let name = if zip { "helm.zip" } else { "helm.tar.gz" };
        let base = serve(vec![(format!("/{name}"), archive.clone())]);
        let p = project(&format!("{base}/{name}"), &sha256(&archive));
        if zip {
            let lock = std::fs::read_to_string(p.root.join("xtask/tools.lock.yaml")).unwrap();
            std::fs::write(p.root.join("xtask/tools.lock.yaml"), lock.replace("archive: tar.gz", "archive: zip"))
                .unwrap();
        }
        let before = snapshot(outside.path());
        let (code, stderr) = install(&p, &["helm"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("symbolic link, not a file; refused"), "{stderr}");
        assert_eq!(snapshot(outside.path()), before, "zip: {zip}");
        assert_eq!(bin_entries(&p), Vec::<String>::new(), "zip: {zip}");
    }
}

#[test]
fn hostile_lock_fields_are_refused_before_anything_is_written() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim-move"), "precious").unwrap();
    let victim = outside.path().join("victim-move").display().to_string();
    let cases = [
        ("path_in_archive: PLATFORM/helm", "path_in_archive: ../../../../../../victim-move", "path_in_archive"),
        ("path_in_archive: PLATFORM/helm", &format!("path_in_archive: {victim}"), "path_in_archive"),
        ("version: 3.21.4", "version: 3.21.4\n    binary: ../../../evil-binname", "binary"),
        ("version: 3.21.4", "version: 3.21.4\n    binary: \"\"", "binary"),
        ("  helm:", "  ../helm:", "tool name"),
    ];
    for (from, to, what) in cases {
        let p = project("http://127.0.0.1:9/helm.tar.gz", &"0".repeat(64));
        let lock_path = p.root.join("xtask/tools.lock.yaml");
        let lock =
            std::fs::read_to_string(&lock_path).unwrap().replace(&format!("{}/helm", platform()), "PLATFORM/helm");
        let lock = lock.replace(from, to).replace("PLATFORM/helm", &format!("{}/helm", platform()));
        std::fs::write(&lock_path, lock).unwrap();
        let before = snapshot(outside.path());
        let (code, stderr) = install(&p, &[]);
        assert_eq!(code, 2, "{what}: {stderr}");
        assert!(stderr.contains("error: xtask/tools.lock.yaml:"), "{what}: {stderr}");
        assert_eq!(snapshot(outside.path()), before, "{what}");
        assert!(!p.root.join(".xtask").exists(), "{what}: nothing written");
        assert!(!p.root.parent().unwrap().join("evil-binname").exists());
    }
}
