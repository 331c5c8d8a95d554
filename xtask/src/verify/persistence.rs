//! `verify:persistence`: an entry created through the frontend survives restarting the backend's pods and every
//! StatefulSet's pods (the database).

use std::time::Duration;

use anyhow::{bail, Result};

use super::reach::{create_entry, endpoint, expect, frontend_url, service_selector, HTTP_TIMEOUT};
use super::rollout::wait_rolled_out;
use crate::config::Config;
use crate::http;
use crate::kube::{self, Target, Workload};
use crate::pipeline::{Done, Ran, StepCx};

pub fn check(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let t = Target::release(cfg);
    let (svc, web) = frontend_url(cx, cfg)?;
    let path = cfg.verify.api.path.clone();
    // The entry goes through what the command above opened: a plan shows the commands only.
    let created = cx.for_real(|| create_entry(cfg, &web, "persistence"))?;
    drop(svc);
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?.service.clone();
    let selector = service_selector(cx, cfg, &backend)?;
    // Restart the backend's pods and every StatefulSet's pods (the database).
    cx.run(kube::delete_pods_cmd(&cx.sh, t, &selector, false))?;
    if let Ran::Done(sts) = kube::get::<kube::List<Workload>>(cx, t, "statefulsets")? {
        for s in &sts.items {
            let sel = kube::label_selector(&s.spec.selector.match_labels);
            cx.run(kube::delete_pods_cmd(&cx.sh, t, &sel, true))?;
        }
    }
    cx.plan(format!("wait for the rollouts, then GET {path}/ID"));
    let Ran::Done((id, marker)) = created else { return Ok(Done::Passed) };
    std::thread::sleep(Duration::from_secs(1));
    wait_rolled_out(cx, cfg, cfg.verify.rollout_timeout.0)?;
    let (_svc, web) = frontend_url(cx, cfg)?;
    let got = http::request("GET", &format!("{web}{path}/{id}"), None, HTTP_TIMEOUT)?;
    expect(&got, 200, &format!("GET {path}/{id} after the restarts"))?;
    if !got.body.contains(&marker) {
        bail!("entry {id} came back changed after the restarts: {}", got.body);
    }
    let _ = http::request("DELETE", &format!("{web}{path}/{id}"), None, HTTP_TIMEOUT);
    cx.note(format!("entry {id} survived restarting the backend and the database"));
    Ok(Done::Passed)
}
