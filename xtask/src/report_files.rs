//! Writes a run's report files — report.json, junit.xml, summary.md, report.html and the CI job summary — from the
//! redacted copy of the report, so every file a run leaves is free of secrets.

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::files::write_atomic;
use crate::report::RunReport;
use crate::secrets::redact_global;

/// Writes `report`'s files into the run folder `dir`.
pub fn write(report: &RunReport, dir: &Path) -> Result<()> {
    let clean = report.redacted();
    // Redacted again once serialized: the forms of a secret include its JSON- and XML-escaped texts.
    let json = redact_global(&serde_json::to_string_pretty(&clean)?);
    write_atomic(&dir.join("report.json"), json.as_bytes())?;
    write_atomic(&dir.join("junit.xml"), redact_global(&clean.junit()).as_bytes())?;
    let summary = redact_global(&clean.summary());
    write_atomic(&dir.join("summary.md"), summary.as_bytes())?;
    write_atomic(&dir.join("report.html"), redact_global(&crate::report_html::render(&clean)).as_bytes())?;
    if let Some(p) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(p) {
            let _ = f.write_all(summary.as_bytes());
        }
    }
    Ok(())
}
