//! `cargo xtask dev`: the inner loop. Runs `up`, then watches what the cache fingerprints (each image's Docker
//! context and Dockerfile, the sources of its static binary, the chart and its values files) and runs `up` again
//! after a change has settled. The cache makes a cycle do only what the change needs: a touched image source
//! rebuilds, gates, loads and redeploys that image; a touched chart template only upgrades the release. Ctrl-C
//! ends the loop and leaves the cluster and the release running (`cargo xtask teardown` stops them).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::pipeline::cache::Fingerprint;
use crate::pipeline::console::{self, Shown};
use crate::pipeline::exec;

pub struct Dev {
    /// `--skip-gate` and `--image`, as for `up`.
    pub skip: Vec<crate::kinds::Gate>,
    pub images: Vec<String>,
    /// How long the inputs must stay unchanged before a cycle starts (an editor saving several files, a
    /// `git checkout`).
    pub debounce: Duration,
    /// How often the inputs are compared (polling: no platform file-watch API to depend on).
    pub poll: Duration,
}

/// What a cycle watches, by group (`image catalog-web`, `chart`): each group's fingerprint inputs.
type Snapshot = BTreeMap<String, BTreeMap<String, String>>;

impl Dev {
    pub fn run(self, ctx: &Context) -> Result<()> {
        if ctx.global.dry_run {
            return Err(Error::usage("dev runs until Ctrl-C; see one cycle with `cargo xtask plan up`").into());
        }
        let cfg = ctx.config()?;
        // Ctrl-C between cycles must end the loop, not the process: the engine's handler only marks the run.
        exec::install_interrupt_handler();
        let mut seen = snapshot(ctx, cfg)?;
        let mut cycle = 1;
        console::show(Shown::Info(&format!("dev: cycle {cycle}: first `up`")));
        self.up(ctx, cycle)?;
        loop {
            let files: usize = seen.values().map(BTreeMap::len).sum();
            console::show(Shown::Info(&format!(
                "dev: watching {files} files in {} groups; Ctrl-C stops watching and leaves the cluster running",
                seen.len()
            )));
            let now = self.wait_for_change(ctx, cfg, &seen)?;
            // Run ids are made of the start second and the pid, which stays the same across cycles: start the
            // next cycle in a new second so its report does not overwrite the previous one.
            std::thread::sleep(Duration::from_millis(1000 - u64::from(subsec_millis())));
            cycle += 1;
            console::show(Shown::Info(&format!("dev: cycle {cycle}: changed {}", describe(&seen, &now))));
            seen = now;
            self.up(ctx, cycle)?;
        }
    }

    /// One `up`; a failed step ends the cycle, not the loop (the next change may fix it).
    fn up(&self, ctx: &Context, cycle: u32) -> Result<()> {
        let up = crate::up::Up {
            build: crate::build::Build { skip: self.skip.clone(), images: self.images.clone(), tools_step: None },
            require_ai: false,
        };
        match up.run(ctx) {
            Ok(()) => Ok(()),
            Err(e) if Error::is_steps_failed(&e) => {
                console::show(Shown::Info(&format!(
                    "dev: cycle {cycle} failed (see above); fix it and save: the next change starts a cycle"
                )));
                Ok(())
            }
            Err(e) if Error::is_interrupted(&e) => Err(stopped()),
            Err(e) => Err(e),
        }
    }

    /// Polls until the inputs differ from `seen` and then stay the same for the debounce time.
    fn wait_for_change(&self, ctx: &Context, cfg: &Config, seen: &Snapshot) -> Result<Snapshot> {
        let mut pending: Option<(Snapshot, Instant)> = None;
        loop {
            if exec::interrupted() {
                return Err(stopped());
            }
            std::thread::sleep(self.poll);
            let now = snapshot(ctx, cfg)?;
            pending = match pending {
                _ if now == *seen => None,
                Some((last, since)) if last == now => {
                    if since.elapsed() >= self.debounce {
                        return Ok(now);
                    }
                    Some((last, since))
                }
                _ => Some((now, Instant::now())),
            };
        }
    }
}

fn subsec_millis() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_millis()).unwrap_or(0)
}

fn stopped() -> anyhow::Error {
    console::show(Shown::Info(
        "dev: stopped; the cluster and the release keep running (`cargo xtask teardown` stops them)",
    ));
    Error::Interrupted.into()
}

/// The inputs of every image and of the chart, fingerprinted the way the build and deploy steps do.
fn snapshot(ctx: &Context, cfg: &Config) -> Result<Snapshot> {
    let root = &ctx.root;
    let mut out = Snapshot::new();
    for img in &cfg.images {
        let mut fp = Fingerprint::new().docker_context(root, &img.context)?.file(root, &img.dockerfile)?;
        if let Some(b) = &img.binary {
            for src in &b.sources {
                fp = fp.tree(root, src)?;
            }
        }
        out.insert(format!("image {}", img.name), fp.inputs);
    }
    let mut fp = Fingerprint::new().tree(root, &cfg.release.chart)?;
    for f in cfg.release.values.iter().chain(&cfg.release.lint_values) {
        fp = fp.file(root, f)?;
    }
    out.insert("chart".to_string(), fp.inputs);
    Ok(out)
}

/// `image web (1 file), chart (2 files)`.
fn describe(old: &Snapshot, new: &Snapshot) -> String {
    let mut parts = vec![];
    for (group, files) in new {
        let before = old.get(group);
        let changed = files.iter().filter(|(k, v)| before.and_then(|b| b.get(*k)) != Some(*v)).count()
            + before.map(|b| b.keys().filter(|k| !files.contains_key(*k)).count()).unwrap_or(0);
        if changed > 0 {
            parts.push(format!("{group} ({changed} file{})", if changed == 1 { "" } else { "s" }));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_counts_changed_added_and_removed_files_per_group() {
        let snap = |pairs: &[(&str, &[(&str, &str)])]| -> Snapshot {
            pairs
                .iter()
                .map(|(g, files)| (g.to_string(), files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()))
                .collect()
        };
        let old = snap(&[("image web", &[("a", "1"), ("b", "1")]), ("chart", &[("t", "1")])]);
        let new = snap(&[("image web", &[("a", "2"), ("c", "1")]), ("chart", &[("t", "1")])]);
        assert_eq!(describe(&old, &new), "image web (3 files)");
    }
}
