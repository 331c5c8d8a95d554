//! The SBOM of an image, from what cargo-auditable embedded in its binary: the `.dep-v0` ELF section holds the
//! crate graph as zlib-compressed JSON (rust-secure-code/cargo-auditable, `auditable-serde`: `packages[]` with
//! `name`, `version`, `source`, `kind`, `dependencies` (indices) and `root`). Written as CycloneDX 1.5 JSON,
//! so a user can see what is in an image without Trivy, and scanners (Trivy, Grype) can read it too.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::Image;

/// cargo-auditable's `VersionInfo`.
#[derive(Debug, Deserialize)]
pub struct DepInfo {
    pub packages: Vec<Package>,
}

#[derive(Debug, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// `crates.io`, `local`, `git`, `registry`, ...
    #[serde(default)]
    pub source: String,
    /// `runtime` (the default, left out) or `build`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<usize>,
    #[serde(default)]
    pub root: bool,
}

/// The crate graph in a binary's `.dep-v0` section.
pub fn read_auditable(elf: &[u8]) -> Result<DepInfo> {
    let Some(section) = elf_section(elf, ".dep-v0") else {
        bail!("the binary has no `.dep-v0` section (it was not built with `cargo auditable build`)");
    };
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(section)
        .read_to_string(&mut json)
        .context("the `.dep-v0` section is not zlib-compressed JSON")?;
    serde_json::from_str(&json).context("the `.dep-v0` section is not cargo-auditable's JSON")
}

/// A section's bytes in a little-endian ELF64 file (System V gABI: the section header table at `e_shoff`, names
/// in the section named by `e_shstrndx`).
pub fn elf_section<'a>(b: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let n = |o: usize, len: usize| -> Option<usize> {
        let s = b.get(o..o + len)?;
        Some(s.iter().rev().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)))
    };
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return None;
    }
    let (shoff, shentsize, shnum, shstrndx) = (n(0x28, 8)?, n(0x3a, 2)?, n(0x3c, 2)?, n(0x3e, 2)?);
    let header = |i: usize| shoff + i * shentsize;
    let strtab = n(header(shstrndx) + 0x18, 8)?;
    (0..shnum).find_map(|i| {
        let h = header(i);
        let start = strtab + n(h, 4)?;
        let end = start + b.get(start..)?.iter().position(|c| *c == 0)?;
        if b.get(start..end)? != name.as_bytes() {
            return None;
        }
        let (off, size) = (n(h + 0x18, 8)?, n(h + 0x20, 8)?);
        b.get(off..off + size)
    })
}

fn purl(p: &Package) -> String {
    format!("pkg:cargo/{}@{}", p.name, p.version)
}

/// CycloneDX 1.5 (cyclonedx.org/docs/1.5/json): the image as the subject, every crate a component with its
/// package URL (the identifier Trivy matches advisories by), and the dependency graph.
pub fn cyclonedx(img: &Image, deps: &DepInfo) -> Value {
    let version = img.tag.rsplit_once(':').map(|(_, v)| v).unwrap_or("latest");
    let image_ref = format!("image:{}", img.tag);
    let components: Vec<Value> = deps
        .packages
        .iter()
        .map(|p| {
            let mut c = json!({
                "type": if p.root { "application" } else { "library" },
                "bom-ref": purl(p),
                "name": p.name,
                "version": p.version,
                "purl": purl(p),
                "properties": [{"name": "cargo:source", "value": p.source}],
            });
            if p.kind.as_deref() == Some("build") {
                c["scope"] = json!("excluded");
            }
            c
        })
        .collect();
    let mut dependencies: Vec<Value> = deps
        .packages
        .iter()
        .map(|p| {
            let on: Vec<String> = p.dependencies.iter().filter_map(|i| deps.packages.get(*i)).map(purl).collect();
            json!({"ref": purl(p), "dependsOn": on})
        })
        .collect();
    let roots: Vec<String> = deps.packages.iter().filter(|p| p.root).map(purl).collect();
    dependencies.push(json!({"ref": image_ref, "dependsOn": roots}));
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "cargo-xtask",
                                      "description": "from the cargo-auditable data (.dep-v0) in the image's binary"}]},
            "component": {"type": "container", "bom-ref": image_ref, "name": img.name, "version": version},
        },
        "components": components,
        "dependencies": dependencies,
    })
}

/// The last SBOM written for an image, kept under target/xtask/sbom/ with what it was made from (the image's id
/// and tag). An SBOM is a function of the image, so a cached build hands this copy to the run folder instead of
/// reading the binary again (reading and parsing it was most of a no-op `cargo xtask build`'s own CPU).
pub struct Kept {
    bom: PathBuf,
    key_file: PathBuf,
    key: String,
}

impl Kept {
    /// `None` when the image's id is not known (a plan, or a cache entry from before ids were remembered).
    pub fn new(state_dir: &Path, img: &Image, image_id: Option<&str>) -> Option<Kept> {
        let dir = state_dir.join("sbom");
        Some(Kept {
            bom: dir.join(format!("{}.cdx.json", img.name)),
            key_file: dir.join(format!("{}.key", img.name)),
            key: format!("{} {}", image_id?, img.tag),
        })
    }

    /// Puts the kept SBOM at `to` when it was made from this image; the number of crates it lists.
    pub fn restore(&self, to: &Path) -> Option<usize> {
        let text = std::fs::read_to_string(&self.key_file).ok()?;
        let (key, crates) = text.trim_end().rsplit_once('\n')?;
        if key != self.key {
            return None;
        }
        std::fs::create_dir_all(to.parent()?).ok()?;
        // A link costs nothing; a file system without links gets a copy. The kept file is only ever replaced
        // (write_atomic renames), never written in place, so a run folder's link keeps its content.
        if std::fs::hard_link(&self.bom, to).is_err() {
            std::fs::copy(&self.bom, to).ok()?;
        }
        crates.parse().ok()
    }

    /// Keeps the SBOM just written, for the next run. Best effort: without it the next run reads the binary again.
    pub fn keep(&self, bom: &[u8], crates: usize) {
        let _ = std::fs::remove_file(&self.key_file);
        let _ = crate::files::write_atomic(&self.bom, bom)
            .and_then(|()| crate::files::write_atomic(&self.key_file, format!("{}\n{crates}\n", self.key).as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nothing_from_a_file_that_is_not_an_elf_with_the_section() {
        assert!(read_auditable(b"not an elf").is_err());
        assert!(elf_section(b"\x7fELF", ".dep-v0").is_none());
    }
}
