//! Failure diagnostics: when deploy, helm test or verify fails, the namespace's events in time order, describe
//! and logs (and the previous container's) of every unready pod, and helm status and history go into the run
//! folder, and the culprit is named. Secret values are redacted in every file.

use std::path::Path;

use anyhow::Result;

use crate::config::Config;
use crate::kinds::{StepId, StepKind};
use crate::kube::{self, Event, Target};
use crate::pipeline::{secrets, Done, Ran, Run, Step, StepCx};
use crate::{ai, helm};

/// Adds the diagnostics (and, when configured, the AI diagnosis) to run after a failure.
pub fn add_on_failure<'c>(cfg: &'c Config, run: &mut Run<'c>) {
    run.on_failure(Step::new(
        StepId::diagnose_cluster(),
        StepKind::Diagnose,
        "Collect events, pod descriptions and logs, helm status and history",
        move |cx| collect(cx, cfg),
    ));
    if let Some(tool) = cfg.ai.on_failure {
        run.on_failure(
            Step::new(
                StepId::ai("diagnose"),
                StepKind::Ai,
                format!("Ask {} what went wrong", tool.tool_name()),
                move |cx| ai::diagnose_failure(cx, cfg, tool),
            )
            .after([StepId::diagnose_cluster()])
            .always(),
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    crate::files::write_atomic(&dir.join(name), secrets::redact_global(text).as_bytes())
}

/// When an event happened: newer events carry only `eventTime` (`lastTimestamp` is null), older ones the reverse.
fn event_time(e: &Event) -> String {
    [&e.last_timestamp, &e.event_time, &e.first_timestamp, &e.metadata.creation_timestamp]
        .into_iter()
        .find_map(|t| t.as_deref())
        .unwrap_or("")
        .to_string()
}

pub fn events_in_order(list: &[Event]) -> Vec<String> {
    let mut events: Vec<&Event> = list.iter().collect();
    events.sort_by_key(|e| event_time(e));
    events
        .iter()
        .map(|e| {
            format!(
                "{}  {:<7} {:<20} {}/{}: {}",
                event_time(e),
                e.kind.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
                e.involved_object.kind.as_deref().unwrap_or(""),
                e.involved_object.name.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("").trim()
            )
        })
        .collect()
}

fn collect(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (t, rel) = (Target::release(cfg), helm::Release::of(cfg));
    let (ns, release) = (t.namespace, rel.name);
    let dir = cx.run_dir.join("diagnostics");
    std::fs::create_dir_all(&dir)?;
    let mut summary = vec![];
    let out = cx.probe(kube::events_cmd(&cx.sh, t))?;
    let events = kube::parse_or_default::<kube::List<Event>>(&out.stdout).items;
    if !out.success() {
        // A failed call is a finding of its own (no context, an API server that does not answer, RBAC).
        summary.push(format!("could not read the events: {}", out.tail(1)));
        write(&dir, "events.txt", &out.stderr)?;
    } else {
        write(&dir, "events.txt", &(events_in_order(&events).join("\n") + "\n"))?;
    }
    let pods = match kube::get_pods(cx, t) {
        Ok(Ran::Done(p)) => p,
        Ok(Ran::Planned) => kube::Pods::default(),
        Err(e) => {
            summary.push(format!("could not list the pods: {e:#}"));
            kube::Pods::default()
        }
    };
    write(&dir, "pods.json", &serde_json::to_string_pretty(&pods.json)?)?;
    let problems = kube::pod_problems(&pods.items);
    let mut seen = std::collections::BTreeSet::new();
    for p in &problems {
        let pod = p.pod.clone();
        if !seen.insert(pod.clone()) {
            continue;
        }
        // Kubernetes pod names are DNS subdomains; anything else did not come from a real API server and must not
        // reach kubectl (as a flag) or the file system (as a path).
        if crate::names::dns1123_subdomain(&pod, 253).is_err() {
            cx.note(format!("skipped a pod with an invalid name: {}", crate::names::file_safe(&pod)));
            continue;
        }
        let file = crate::names::file_safe(&pod);
        let describe = cx.probe(kube::describe_pod_cmd(&cx.sh, t, &pod))?;
        write(&dir, &format!("describe-{file}.txt"), &describe.stdout)?;
        let logs = cx.probe(kube::logs_cmd(&cx.sh, t, &pod, false, 100))?;
        write(&dir, &format!("logs-{file}.txt"), &format!("{}{}", logs.stdout, logs.stderr))?;
        let prev = cx.probe(kube::logs_cmd(&cx.sh, t, &pod, true, 100))?;
        if prev.success() {
            write(&dir, &format!("logs-{file}-previous.txt"), &prev.stdout)?;
        }
        let last = [&prev.stdout, &logs.stdout]
            .iter()
            .find_map(|t| t.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string));
        let line = match last {
            Some(l) => format!("{p}; last log line: {}", l.trim()),
            None => p.to_string(),
        };
        cx.note(format!("culprit: {line}"));
        summary.push(line);
    }
    let status = cx.probe(helm::status_cmd(&cx.sh, rel))?;
    write(&dir, "helm-status.json", &format!("{}{}", status.stdout, status.stderr))?;
    let history = cx.probe(helm::history_cmd(&cx.sh, rel))?;
    write(&dir, "helm-history.json", &format!("{}{}", history.stdout, history.stderr))?;
    if summary.is_empty() {
        summary.push("no unhealthy pod found; see events.txt".into());
    } else if summary.iter().all(|s| s.starts_with("could not")) {
        cx.note(summary.join("; "));
    }
    let recent: Vec<String> = events_in_order(&events).into_iter().rev().take(15).collect();
    let text = format!(
        "# Diagnostics for release {release} in namespace {ns}\n\n## Culprits\n{}\n\n## Recent events (newest first)\n{}\n",
        summary.iter().map(|s| format!("- {s}")).collect::<Vec<_>>().join("\n"),
        recent.join("\n")
    );
    write(&dir, "summary.md", &text)?;
    cx.note(format!("diagnostics: {}", cx.ctx.rel(&dir).display()));
    Ok(Done::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_events_with_null_last_timestamp() {
        let list = serde_json::json!({"items": [
            {"lastTimestamp": "2026-01-01T00:00:05Z", "type": "Warning", "reason": "BackOff", "message": "b",
             "involvedObject": {"kind": "Pod", "name": "p"}},
            {"lastTimestamp": null, "eventTime": "2026-01-01T00:00:01.000000Z", "type": "Normal", "reason": "Scheduled",
             "message": "a", "involvedObject": {"kind": "Pod", "name": "p"}}
        ]});
        let list: kube::List<Event> = serde_json::from_value(list).unwrap();
        let lines = events_in_order(&list.items);
        assert!(lines[0].contains("Scheduled") && lines[1].contains("BackOff"), "{lines:?}");
    }
}
