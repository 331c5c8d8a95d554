//! `verify:hpa`: the HorizontalPodAutoscalers exist and report metrics; with `--load`, a bounded load generator
//! in the cluster and how long the backend's HPA took to ask for more replicas.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::reach::endpoint;
use crate::config::Config;
use crate::kube::{self, Hpa, HpaAnswer, Target};
use crate::pipeline::{Done, Ran, StepCx};

pub fn check(cx: &mut StepCx, cfg: &Config, load: bool) -> Result<Done> {
    let t = Target::release(cfg);
    let Ran::Done(answer) = kube::get::<HpaAnswer>(cx, t, "hpa")? else { return Ok(Done::Passed) };
    let items = answer.into_items();
    if items.is_empty() {
        return Ok(Done::Skipped("no HorizontalPodAutoscaler in the namespace (autoscaling disabled)".into()));
    }
    let mut missing = vec![];
    for h in &items {
        let name = h.metadata.name();
        let util = h.status.current_metrics.first().and_then(|m| m.resource.as_ref()?.current.average_utilization);
        match util {
            Some(u) => cx.note(format!(
                "{name}: {u}% CPU, {}-{} replicas, {} now",
                h.spec.min_replicas.unwrap_or(1),
                h.spec.max_replicas.unwrap_or(0),
                h.status.current_replicas.unwrap_or(0)
            )),
            None => missing.push(name.to_string()),
        }
    }
    if !missing.is_empty() {
        let context = t.context;
        bail!(
            "HPA {} report no metrics (<unknown>): is the metrics-server addon enabled (`minikube addons enable \
             metrics-server -p {context}`) and do the pods set CPU requests?",
            missing.join(", ")
        );
    }
    if load {
        return load_test(cx, cfg, &items);
    }
    Ok(Done::Passed)
}

/// A bounded load generator inside the cluster (a pod running curl in a loop for at most the configured duration
/// and request count), then how long the backend's HPA took to ask for more replicas.
fn load_test(cx: &mut StepCx, cfg: &Config, hpas: &[Hpa]) -> Result<Done> {
    let t = Target::release(cfg);
    let l = &cfg.verify.load;
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?;
    let url = format!("http://{}:{}{}", backend.service, backend.port, cfg.verify.api.path);
    let target = hpas
        .iter()
        .find(|h| h.spec.scale_target_ref.name.as_deref() == Some(backend.service.as_str()))
        .or(hpas.first());
    let Some(target) = target else { bail!("no HPA to watch") };
    let name = target.metadata.name().to_string();
    let start_replicas = target.status.current_replicas.unwrap_or(1);
    let secs = l.duration.0.as_secs().max(10);
    let (requests, concurrency) = (l.requests, l.concurrency.max(1));
    let per_worker = (requests / concurrency).max(1);
    // A fixed script: the values arrive as the shell's positional parameters ($1..$4), quoted, so nothing from the
    // config is ever parsed as shell syntax (the path, for one, is free text).
    let script =
        "end=$(( $(date +%s) + $1 )); w=0; while [ $w -lt \"$2\" ]; do w=$((w+1)); ( i=0; while [ $i -lt \"$3\" ] \
                  && [ $(date +%s) -lt $end ]; do curl -s -o /dev/null -- \"$4\"; i=$((i+1)); done ) & done; wait";
    let args = ["xtask-load".to_string(), secs.to_string(), concurrency.to_string(), per_worker.to_string(), url];
    let pod = format!("xtask-load-{}", std::process::id());
    let image = "curlimages/curl:8.10.1";
    cx.run(kube::run_script_pod_cmd(&cx.sh, t, &pod, image, secs + 30, script, &args))?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs + 60).min(cx.time_left());
    let mut scaled = None;
    while Instant::now() < deadline {
        let Ran::Done(hpa) = kube::hpa(cx, t, &name)? else { break };
        let desired = hpa.status.desired_replicas.unwrap_or(0);
        if desired > start_replicas {
            scaled = Some((started.elapsed(), desired));
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let _ = cx.exec_unchecked(kube::delete_pod_if_any_cmd(&cx.sh, t, &pod));
    match scaled {
        Some((t, n)) => {
            cx.note(format!(
                "{name} scaled {start_replicas} -> {n} replicas after {} of load",
                crate::text::fmt_duration(t)
            ));
            Ok(Done::Passed)
        }
        None => bail!("{name} did not scale above {start_replicas} replicas under {requests} requests in {secs}s"),
    }
}
