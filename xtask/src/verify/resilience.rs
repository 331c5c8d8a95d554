//! `verify:resilience`: a deleted backend pod is replaced by a Ready one while the service keeps answering
//! through the frontend.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::reach::{endpoint, frontend_url, service_selector, HTTP_TIMEOUT};
use crate::config::Config;
use crate::http;
use crate::kube::{self, Pod, Target};
use crate::pipeline::{Done, Placeholder, Ran, StepCx};

fn pod_names(pods: &[Pod]) -> Vec<String> {
    pods.iter().filter_map(|p| p.metadata.name.clone()).collect()
}

pub fn check(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let t = Target::release(cfg);
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?.service.clone();
    let selector = service_selector(cx, cfg, &backend)?;
    let before = kube::pods_by_selector(cx, t, &selector)?.map(|pods| pod_names(&pods));
    let (_svc, web) = frontend_url(cx, cfg)?;
    let (victim, before) = match before {
        Ran::Done(names) => match names.first() {
            Some(victim) => (victim.clone(), names),
            None => bail!("no pods match the backend service's selector {selector}"),
        },
        // A plan has listed no pod: it names the one it would delete by what it is.
        Ran::Planned => (Placeholder::BackendPod.to_string(), vec![]),
    };
    let Ran::Done(_) = cx.query(kube::delete_pod_cmd(&cx.sh, t, &victim))? else { return Ok(Done::Passed) };
    let started = Instant::now();
    let (mut ok, mut failed) = (0u32, 0u32);
    let deadline = started + cfg.verify.rollout_timeout.0.min(cx.time_left());
    let replaced_after = loop {
        // Bounded: one request every 200 ms until the replacement is Ready or the timeout.
        match http::request("GET", &format!("{web}{}", cfg.verify.api.path), None, HTTP_TIMEOUT) {
            Ok(r) if r.status == 200 => ok += 1,
            _ => failed += 1,
        }
        let pods = match kube::pods_by_selector(cx, t, &selector)? {
            Ran::Done(pods) => pods,
            // Not reached: a plan returned after showing the deletion.
            Ran::Planned => vec![],
        };
        let names = pod_names(&pods);
        let all_ready = kube::pod_problems(&pods).is_empty();
        if !names.contains(&victim) && names.len() >= before.len() && all_ready {
            break Some(started.elapsed());
        }
        if let Some(p) = kube::pod_problems(&pods).into_iter().find(|p| p.fatal) {
            bail!("the replacement backend pod cannot start: {p}");
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let total = ok + failed;
    cx.note(format!("deleted {victim}; {ok}/{total} requests answered while it was replaced"));
    match replaced_after {
        None => bail!(
            "{victim} was not replaced by a Ready pod within {}",
            crate::text::fmt_duration(cfg.verify.rollout_timeout.0)
        ),
        // A request in flight to the deleted pod may fail; more than 1% failing means the service did not keep answering.
        Some(_) if failed * 100 > total => bail!("{failed} of {total} requests failed while {victim} was replaced"),
        Some(t) => {
            cx.note(format!("replacement Ready after {}", crate::text::fmt_duration(t)));
            Ok(Done::Passed)
        }
    }
}
