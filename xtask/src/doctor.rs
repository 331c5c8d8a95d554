//! `cargo xtask doctor`: one table of every tool the pipeline uses, what the config needs it for, and how to get
//! what is missing. Exit 0 only when every required tool is present at its minimum version.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::context::Context;
use crate::kinds::Tool;
use crate::pipeline::console::{self, Shown};
use crate::tools::{self, Probe, Shortfall, ToolDef};

pub struct Doctor {
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    probe: Probe,
    minimum: String,
    required: bool,
    needed_for: Vec<&'static str>,
    ok: bool,
    /// Why this tool fails the check; null when it passes.
    shortfall: Option<Shortfall>,
    install_hint: &'static str,
}

impl Doctor {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let cfg = ctx.config()?;
        let rows = check(ctx, cfg);
        if self.json {
            let ok = rows.iter().all(|r| r.ok || !r.required);
            // Versioned like report.json and the --json events: bumped when a field's meaning changes.
            let doc = serde_json::json!({ "schema_version": 1, "ok": ok, "tools": rows });
            console::show(Shown::Result(&serde_json::to_string_pretty(&doc)?));
        } else {
            print_table(&rows);
        }
        let failing: Vec<&Row> = rows.iter().filter(|r| r.required && !r.ok).collect();
        if !failing.is_empty() {
            let lines: Vec<String> = failing
                .iter()
                .map(|r| {
                    let why = r.shortfall.as_ref().map_or("?".to_string(), Shortfall::to_string);
                    format!("  - {}: {why} — {}", r.probe.name, r.install_hint)
                })
                .collect();
            bail!("{} required tool(s) missing or too old:\n{}", failing.len(), lines.join("\n"));
        }
        Ok(())
    }
}

fn check(ctx: &Context, cfg: &crate::config::Config) -> Vec<Row> {
    // The cluster providers of targets the config does not use are not worth a row.
    let defs: Vec<&'static ToolDef> = tools::DEFS
        .iter()
        .filter(|d| !matches!(d.tool, Tool::Kind | Tool::K3d) || !tools::needed_for(d, cfg).is_empty())
        .collect();
    let probes: Vec<Probe> = std::thread::scope(|s| {
        let handles: Vec<_> = defs
            .iter()
            .copied()
            .map(|d| {
                s.spawn(move || match ctx.shell() {
                    Ok(sh) => tools::probe(ctx, &sh, d),
                    // Only a current directory that vanished gets here; report it on the row, not as a panic.
                    Err(e) => tools::Probe::unusable(d, format!("cannot run tools from here: {e}")),
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("probe thread panicked")).collect()
    });
    defs.into_iter().zip(probes).map(|(def, probe)| row(def, probe, cfg)).collect()
}

fn row(def: &'static ToolDef, probe: Probe, cfg: &crate::config::Config) -> Row {
    let minimum = tools::minimum(def, Some(cfg));
    let needed_for = tools::needed_for(def, cfg);
    let shortfall = tools::shortfall(&probe, &minimum, !needed_for.is_empty());
    Row {
        ok: shortfall.is_none(),
        required: !needed_for.is_empty(),
        minimum: minimum.text.clone(),
        install_hint: tools::hint(def),
        probe,
        needed_for,
        shortfall,
    }
}

fn print_table(rows: &[Row]) {
    let mut lines = vec![[
        "TOOL".to_string(),
        "STATUS".into(),
        "VERSION".into(),
        "MINIMUM".into(),
        "NEEDED FOR".into(),
        "PATH".into(),
    ]];
    for r in rows {
        let status = match (&r.shortfall, r.required) {
            (None, _) => "ok",
            (Some(_), false) if !r.probe.found => "optional",
            (Some(_), false) => "unusable",
            (Some(Shortfall::TooOld { .. }), true) => "TOO OLD",
            (Some(Shortfall::Refused { .. }), true) => "REFUSED",
            (Some(_), true) if !r.probe.found => "MISSING",
            (Some(_), true) => "UNUSABLE",
        };
        let mut version = r.probe.version.clone().unwrap_or_else(|| "-".into());
        if r.probe.daemon == Some(false) {
            version.push_str(" (daemon down)");
        }
        let path = match (&r.probe.path, r.probe.source) {
            (Some(p), Some(tools::Source::Pinned)) => format!("{} (pinned)", p.display()),
            (Some(p), _) => p.display().to_string(),
            _ => "-".into(),
        };
        let needed = if r.needed_for.is_empty() { "optional".to_string() } else { r.needed_for.join(", ") };
        lines.push([r.probe.name.to_string(), status.into(), version, r.minimum.clone(), needed, path]);
    }
    let widths: Vec<usize> = (0..6).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    for l in &lines {
        let cells: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        console::show(Shown::Result(cells.join("  ").trim_end()));
    }
    let hints: Vec<&Row> = rows.iter().filter(|r| !r.ok).collect();
    if !hints.is_empty() {
        console::show(Shown::Result(""));
        for r in hints {
            let why = r.shortfall.as_ref().map_or(String::new(), Shortfall::to_string);
            console::show(Shown::Result(&format!("{}: {why}\n  install: {}", r.probe.name, r.install_hint)));
        }
    }
}
