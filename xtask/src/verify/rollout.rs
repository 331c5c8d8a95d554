//! `verify:rollout`: every Deployment and StatefulSet rolled out and every pod Ready, failing at once on states
//! that waiting will not fix.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::config::Config;
use crate::kube::{self, Pod, Target, Workload};
use crate::pipeline::{Done, Ran, StepCx};

pub fn check(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let t = Target::release(cfg);
    kube::require_namespace(cx, t)?;
    let Ran::Done(pods) = wait_rolled_out(cx, cfg, cfg.verify.rollout_timeout.0)? else { return Ok(Done::Passed) };
    if pods.is_empty() {
        let Target { context, namespace: ns } = t;
        bail!("no pods in namespace `{ns}` on context `{context}`: is the release installed? (`cargo xtask up`)");
    }
    for p in &pods {
        let restarts: u64 = p.status.container_statuses.iter().map(|c| c.restart_count).sum();
        cx.note(format!("{} Ready, {restarts} restart(s)", p.metadata.name()));
    }
    Ok(Done::Passed)
}

/// Workloads that are not fully rolled out: `Deployment/x: 1/2 ready`.
fn unready_workloads(list: &[Workload]) -> Vec<String> {
    let mut out = vec![];
    for w in list {
        let want = w.spec.replicas.unwrap_or(1);
        let ready = w.status.ready_replicas.unwrap_or(0);
        let updated = w.status.updated_replicas.unwrap_or(want);
        if ready < want || updated < want {
            out.push(format!("{}/{}: {ready}/{want} ready", w.kind.as_deref().unwrap_or("?"), w.metadata.name()));
        }
    }
    out
}

/// Waits until every workload is rolled out and every pod Ready. Fails at once on states that waiting will not
/// fix (image pull errors, repeated crash loops, unschedulable pods), naming the pod and the reason.
pub fn wait_rolled_out(cx: &mut StepCx, cfg: &Config, limit: Duration) -> Result<Ran<Vec<Pod>>> {
    let t = Target::release(cfg);
    let Target { context, namespace: ns } = t;
    let deadline = Instant::now() + limit.min(cx.time_left());
    loop {
        let workloads = kube::get::<kube::List<Workload>>(cx, t, "deployments,statefulsets")?;
        let pods = kube::get_pods(cx, t)?;
        let (Ran::Done(workloads), Ran::Done(pods)) = (workloads, pods) else { return Ok(Ran::Planned) };
        let pods = pods.items;
        let problems = kube::pod_problems(&pods);
        if let Some(p) = problems.iter().find(|p| p.fatal) {
            bail!("{p} — waiting will not fix this (see the diagnostics in the run folder)");
        }
        if workloads.items.is_empty() {
            bail!(
                "no Deployment or StatefulSet in namespace `{ns}` of cluster `{context}`: nothing is deployed — run \
                   `cargo xtask up` first"
            );
        }
        let unready = unready_workloads(&workloads.items);
        if unready.is_empty() && problems.iter().all(|p| p.reason != "NotReady") {
            return Ok(Ran::Done(pods));
        }
        if Instant::now() >= deadline {
            let mut why: Vec<String> = unready;
            why.extend(problems.iter().map(|p| p.to_string()));
            bail!("not rolled out after {}: {}", crate::text::fmt_duration(limit), why.join("; "));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}
