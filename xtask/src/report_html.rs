//! report.html: the run as one self-contained page (inline CSS, no script, no network) that opens from disk: a
//! waterfall of the steps over wall time (parallelism and cache hits at a glance), each step's status, duration,
//! commands, notes and log tail, the gates' figures and the run's provenance.

use std::fmt::Write as _;
use std::time::Duration;

use crate::report::{RunReport, StepRecord, StepStatus};
use crate::text::fmt_duration;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.status-passed{color:#1a7f37}.status-failed{color:#cf222e}.status-interrupted{color:#9a6700}
table{border-collapse:collapse} td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
.cause{border:1px solid #cf222e;border-radius:6px;padding:8px 12px;background:#fff5f5}
.wf{display:grid;grid-template-columns:minmax(180px,max-content) 1fr 70px;gap:3px 10px;align-items:center}
.wf .id{font-family:ui-monospace,monospace;font-size:12px;white-space:nowrap}
.track{position:relative;height:14px;background:#f3f4f6;border-radius:3px}
.bar{position:absolute;top:0;height:14px;border-radius:3px;min-width:2px}
.passed{background:#2da44e}.failed{background:#cf222e}.skipped{background:#bf8700}
.cached{background:repeating-linear-gradient(45deg,#54aeff,#54aeff 4px,#b6e3ff 4px,#b6e3ff 8px)}
.dur{font-size:12px;color:#57606a;text-align:right}
.axis{display:flex;justify-content:space-between;font-size:11px;color:#57606a}
.legend span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px 0 12px;vertical-align:middle}
pre{background:#f6f8fa;padding:8px;white-space:pre-wrap;word-break:break-all;font-size:12px;margin:4px 0}
details{margin:2px 0} summary{cursor:pointer;font-family:ui-monospace,monospace;font-size:13px}
";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn status_word(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
        StepStatus::Cached => "cached",
    }
}

fn dur(ms: u64) -> String {
    fmt_duration(Duration::from_millis(ms))
}

/// The page for `r`. Everything is escaped; the caller redacts secrets like for the other report files.
pub fn render(r: &RunReport) -> String {
    let mut h = String::new();
    let title = format!("cargo xtask {}: {}", r.command, r.status);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<h1>cargo xtask {} — <span class=\"status-{}\">{}</span></h1>\n<div>Run <code>{}</code>, {}, started {}</div>",
        esc(&r.command),
        esc(r.status),
        esc(r.status),
        esc(&r.run_id),
        dur(r.duration_ms),
        esc(&r.started_at)
    );
    for s in r.steps.iter().filter(|s| s.status == StepStatus::Failed) {
        let _ = write!(
            h,
            "<h2>Failed: <code>{}</code></h2><div class=\"cause\"><pre>{}</pre>",
            esc(&s.id),
            esc(s.message.as_deref().unwrap_or("failed"))
        );
        if let Some(c) = RunReport::failing_command(s) {
            let _ = write!(h, "<div>Command: <code>{}</code></div>", esc(&c.command));
        }
        if let Some(t) = &s.log_tail {
            let _ = write!(h, "<div>Last output:</div><pre>{}</pre>", esc(t));
        }
        h += "</div>\n";
    }
    waterfall(&mut h, r);
    gates(&mut h, &r.steps);
    h += "<h2>Steps</h2>\n";
    for s in &r.steps {
        step_details(&mut h, s);
    }
    provenance(&mut h, r);
    h += "</body></html>\n";
    h
}

/// One row per step: a bar from its start to its end over the run's wall time. Bars that overlap ran in parallel.
fn waterfall(h: &mut String, r: &RunReport) {
    let end = r.steps.iter().filter_map(|s| Some(s.start_ms? + s.duration_ms)).max().unwrap_or(0);
    let total = end.max(r.duration_ms).max(1) as f64;
    let count = |st: StepStatus| r.steps.iter().filter(|s| s.status == st).count();
    let _ = writeln!(
        h,
        "<h2>Timeline</h2>\n<div class=\"legend\"><span class=\"passed\"></span>{} passed<span class=\"cached\"></span>{} cached<span class=\"failed\"></span>{} failed<span class=\"skipped\"></span>{} skipped (bars that overlap ran in parallel)</div>",
        count(StepStatus::Passed),
        count(StepStatus::Cached),
        count(StepStatus::Failed),
        count(StepStatus::Skipped)
    );
    h.push_str("<div class=\"wf\" id=\"waterfall\">\n");
    for s in &r.steps {
        let word = status_word(s.status);
        let bar = match s.start_ms {
            Some(start) => format!(
                "<div class=\"bar {word}\" style=\"left:{:.2}%;width:{:.2}%\" title=\"{} {word} {}\"></div>",
                start as f64 / total * 100.0,
                s.duration_ms as f64 / total * 100.0,
                esc(&s.id),
                dur(s.duration_ms)
            ),
            None => String::new(),
        };
        let shown = if s.start_ms.is_some() { dur(s.duration_ms) } else { "not run".into() };
        let _ = writeln!(
            h,
            "<span class=\"id\">{}</span><div class=\"track\">{bar}</div><span class=\"dur\">{shown}</span>",
            esc(&s.id)
        );
    }
    let tick = |f: f64| dur((total * f) as u64);
    let _ = writeln!(
        h,
        "<span></span><div class=\"axis\"><span>0</span><span>{}</span><span>{}</span><span>{}</span><span>{}</span></div><span></span>\n</div>",
        tick(0.25),
        tick(0.5),
        tick(0.75),
        tick(1.0)
    );
}

/// The gates' figures (sizes against budgets, findings, policy), as the gate steps noted them.
fn gates(h: &mut String, steps: &[StepRecord]) {
    let gates: Vec<&StepRecord> = steps.iter().filter(|s| s.kind == crate::kinds::StepKind::Gate).collect();
    if gates.is_empty() {
        return;
    }
    h.push_str("<h2>Gates</h2>\n<table><tr><th>gate</th><th>status</th><th>figures</th></tr>\n");
    for g in gates {
        let mut figures: Vec<String> = g.notes.iter().map(|n| esc(n)).collect();
        if let Some(m) = &g.message {
            figures.push(esc(m.lines().next().unwrap_or("")));
        }
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&g.id),
            status_word(g.status),
            figures.join("<br>")
        );
    }
    h.push_str("</table>\n");
}

fn step_details(h: &mut String, s: &StepRecord) {
    let word = status_word(s.status);
    let open = if s.status == StepStatus::Failed { " open" } else { "" };
    let _ = write!(
        h,
        "<details{open}><summary>{} — {word} — {}</summary><div>{}</div>",
        esc(&s.id),
        dur(s.duration_ms),
        esc(&s.title)
    );
    if let Some(m) = &s.message {
        let _ = write!(h, "<pre>{}</pre>", esc(m));
    }
    if let Some(c) = &s.cache {
        let _ = write!(h, "<div>cache: {}</div>", esc(c));
    }
    for n in &s.notes {
        let _ = write!(h, "<div>{}</div>", esc(n));
    }
    if !s.commands.is_empty() {
        h.push_str("<table><tr><th>command</th><th>exit</th><th>time</th></tr>");
        for c in &s.commands {
            let exit = match (c.timed_out, c.exit_code) {
                (true, _) => "timed out".to_string(),
                (_, Some(code)) => code.to_string(),
                (_, None) => "-".to_string(),
            };
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{exit}</td><td>{}</td></tr>",
                esc(&c.command),
                dur(c.duration_ms)
            );
        }
        h.push_str("</table>");
    }
    if let Some(t) = &s.log_tail {
        let _ = write!(h, "<pre>{}</pre>", esc(t));
    }
    if let Some(l) = &s.log {
        let _ = write!(h, "<div>log: <code>{}</code></div>", esc(l));
    }
    h.push_str("</details>\n");
}

fn provenance(h: &mut String, r: &RunReport) {
    let p = &r.provenance;
    let commit = match (&p.git_commit, p.git_dirty) {
        (Some(c), Some(true)) => format!("{c} (uncommitted changes)"),
        (Some(c), _) => c.clone(),
        (None, _) => "unknown (not a git checkout)".into(),
    };
    let _ = writeln!(
        h,
        "<h2>Provenance</h2>\n<table id=\"provenance\"><tr><th>command line</th><td><code>{}</code></td></tr><tr><th>git commit</th><td>{}</td></tr><tr><th>xtask</th><td>{}</td></tr><tr><th>host</th><td>{}/{}</td></tr>",
        esc(&p.command_line.join(" ")),
        esc(&commit),
        esc(&p.xtask_version),
        esc(&p.os),
        esc(&p.arch)
    );
    for (tool, v) in &p.tools {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(tool), esc(v));
    }
    h.push_str("</table>\n");
}
