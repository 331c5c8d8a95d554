//! `cargo xtask verify`: proof that the deployment works (rollouts, health, a task round-trip through the
//! frontend, pod-deletion resilience, persistence across restarts, autoscaling, ingress), and `--static`: the
//! checks that need no cluster (lint, render, schema and policy, Dockerfile lint). On failure the diagnostics are
//! collected into the run folder and the culprit is named.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;
use xshell::cmd;

use crate::config::{Config, Endpoint};
use crate::context::Context;
use crate::kinds::Check;
use crate::pipeline::exec::{Background, Exec};
use crate::pipeline::{Done, Run, Step, StepCx};
use crate::{diagnose, http, kube};

pub struct Verify {
    pub only: Vec<Check>,
    pub skip: Vec<Check>,
    /// Run the bounded in-cluster load generator and report whether the backend scaled up.
    pub load: bool,
    pub static_only: bool,
}

const ALL: [Check; 7] = Check::ALL;

impl Verify {
    pub fn run(self, ctx: &Context) -> Result<()> {
        // Each check stands alone: one run shows every broken check.
        let mut run = Run::new(ctx, if self.static_only { "verify --static" } else { "verify" }).keep_going();
        self.add_steps(ctx, &mut run)?;
        run.execute().map(drop)
    }

    pub fn add_steps<'c>(&self, ctx: &'c Context, run: &mut Run<'c>) -> Result<()> {
        let cfg = ctx.config()?;
        let secrets = crate::helm::secret_values(&ctx.root, cfg, ctx.global.dry_run)?;
        if self.static_only {
            // helm (lint, render): found, or installed like `up` does, in one preflight instead of one raw
            // "is helm installed?" per step.
            run.add(crate::tools::preflight_step(vec!["helm"]));
            crate::up::add_static_steps(cfg, run, secrets, Some("preflight:tools"));
            crate::manifests::add_check_step(cfg, run, Some("preflight:tools"));
            for img in &cfg.images {
                run.add(Step::new(
                    format!("lint:dockerfile:{}", img.name),
                    "lint",
                    format!("Dockerfile lint: {}", img.dockerfile.display()),
                    move |cx| lint_dockerfile(cx, cfg, img),
                ));
            }
            return Ok(());
        }
        drop(secrets);
        // --only wins over the config's `verify.checks`, which wins over all checks.
        let base: &[Check] = if !self.only.is_empty() {
            &self.only
        } else if !cfg.verify.checks.is_empty() {
            &cfg.verify.checks
        } else {
            &ALL
        };
        let wanted: Vec<Check> = ALL.into_iter().filter(|c| base.contains(c) && !self.skip.contains(c)).collect();
        let mut prev: Option<String> = None;
        for &check in &wanted {
            let id = format!("verify:{}", check.name());
            let load = self.load;
            let step = Step::new(id.clone(), "verify", title(check), move |cx| match check {
                Check::Rollout => rollout(cx, cfg),
                Check::Health => health(cx, cfg),
                Check::Roundtrip => roundtrip(cx, cfg),
                Check::Resilience => resilience(cx, cfg),
                Check::Persistence => persistence(cx, cfg),
                Check::Hpa => hpa(cx, cfg, load),
                Check::Ingress => ingress(cx, cfg),
            });
            // One at a time: resilience and persistence disturb the pods the other checks read. Each check stands
            // on its own, except that nothing disturbs a deployment that did not roll out.
            let step = step.after_any(prev.clone());
            let step = if check != Check::Rollout && wanted.contains(&Check::Rollout) {
                step.after(["verify:rollout"])
            } else {
                step
            };
            run.add(step);
            prev = Some(id);
        }
        diagnose::add_on_failure(cfg, run);
        Ok(())
    }
}

fn title(c: Check) -> &'static str {
    match c {
        Check::Rollout => "Every Deployment and StatefulSet rolled out, every pod Ready",
        Check::Health => "Health endpoints answer",
        Check::Roundtrip => "Task round-trip through the frontend: create, list, complete, delete",
        Check::Resilience => "A deleted backend pod is replaced while the service keeps answering",
        Check::Persistence => "A task survives restarting the backend and the database",
        Check::Hpa => "HorizontalPodAutoscalers exist and report metrics",
        Check::Ingress => "Ingress routes / and /api",
    }
}

fn ns_ctx(cfg: &Config) -> (&str, &str) {
    (&cfg.release.namespace, cfg.kube_context())
}

fn get_json(cx: &mut StepCx, context: &str, ns: &str, what: &str) -> Result<Value> {
    kube::get(cx, context, ns, what)
}

/// The namespace exists on the context's cluster: listing in a missing namespace answers an empty list (by design,
/// kubernetes/kubernetes#75537), which would read as "nothing to wait for".
fn require_namespace(cx: &mut StepCx, context: &str, ns: &str) -> Result<()> {
    let out = cx.exec_unchecked(cmd!(cx.sh, "kubectl --context {context} get namespace {ns} -o name").into())?;
    if cx.dry_run() || out.success() {
        return Ok(());
    }
    if out.stderr.contains("(NotFound)") {
        bail!(
            "namespace `{ns}` does not exist on context `{context}`: nothing is deployed there. Run `cargo xtask up` \
             (or check `release.namespace` in xtask.yaml)"
        );
    }
    bail!("cannot read namespace `{ns}`: {}", kube::explain(context, &out.stderr))
}

/// Workloads that are not fully rolled out: `Deployment/x: 1/2 ready`.
fn unready_workloads(list: &Value) -> Vec<String> {
    let mut out = vec![];
    for w in list["items"].as_array().into_iter().flatten() {
        let want = w["spec"]["replicas"].as_u64().unwrap_or(1);
        let ready = w["status"]["readyReplicas"].as_u64().unwrap_or(0);
        let updated = w["status"]["updatedReplicas"].as_u64().unwrap_or(want);
        if ready < want || updated < want {
            out.push(format!(
                "{}/{}: {ready}/{want} ready",
                w["kind"].as_str().unwrap_or("?"),
                w["metadata"]["name"].as_str().unwrap_or("?")
            ));
        }
    }
    out
}

/// Waits until every workload is rolled out and every pod Ready. Fails at once on states that waiting will not
/// fix (image pull errors, repeated crash loops, unschedulable pods), naming the pod and the reason.
fn wait_rolled_out(cx: &mut StepCx, cfg: &Config, limit: Duration) -> Result<Value> {
    let (ns, context) = ns_ctx(cfg);
    let deadline = Instant::now() + limit.min(cx.time_left());
    loop {
        let workloads = get_json(cx, context, ns, "deployments,statefulsets")?;
        let pods = kube::get_pods(cx, context, ns)?;
        if cx.dry_run() {
            return Ok(pods);
        }
        let problems = kube::pod_problems(&pods);
        if let Some(p) = problems.iter().find(|p| p.fatal) {
            bail!("{p} — waiting will not fix this (see the diagnostics in the run folder)");
        }
        if workloads["items"].as_array().is_some_and(|a| a.is_empty()) {
            bail!(
                "no Deployment or StatefulSet in namespace `{ns}` of cluster `{context}`: nothing is deployed — run \
                   `cargo xtask up` first"
            );
        }
        let unready = unready_workloads(&workloads);
        if unready.is_empty() && problems.iter().all(|p| p.reason != "NotReady") {
            return Ok(pods);
        }
        if Instant::now() >= deadline {
            let mut why: Vec<String> = unready;
            why.extend(problems.iter().map(|p| p.to_string()));
            bail!("not rolled out after {}: {}", crate::text::fmt_duration(limit), why.join("; "));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn rollout(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (ns, context) = ns_ctx(cfg);
    require_namespace(cx, context, ns)?;
    let pods = wait_rolled_out(cx, cfg, cfg.verify.rollout_timeout.0)?;
    if !cx.dry_run() && pods["items"].as_array().is_none_or(|a| a.is_empty()) {
        bail!("no pods in namespace `{ns}` on context `{context}`: is the release installed? (`cargo xtask up`)");
    }
    for p in pods["items"].as_array().into_iter().flatten() {
        let restarts: u64 = p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["restartCount"].as_u64().unwrap_or(0))
            .sum();
        cx.note(format!("{} Ready, {restarts} restart(s)", p["metadata"]["name"].as_str().unwrap_or("?")));
    }
    Ok(Done::Passed)
}

/// The frontend's URL from `minikube service --url`, kept running (it holds the tunnel open on some drivers) until
/// the returned handle is dropped.
fn frontend_url(cx: &mut StepCx, cfg: &Config) -> Result<(Option<Background>, String)> {
    let ep = endpoint(&cfg.verify.frontend, "verify.frontend")?;
    if cfg.target.provider() != crate::target::Provider::Minikube {
        // Only minikube has `service --url`; elsewhere the frontend is reached the way the backend is.
        return port_forward(cx, cfg, ep);
    }
    let (ns, profile) = ns_ctx(cfg);
    let svc = &ep.service;
    let e = Exec::from(cmd!(cx.sh, "minikube service {svc} -n {ns} -p {profile} --url"));
    let Some(mut bg) = cx.background(e)? else { return Ok((None, "http://<frontend>".into())) };
    let limit = cx.time_left().min(Duration::from_secs(60));
    let Some(line) = bg.wait_line(limit, |l| l.trim().starts_with("http://")) else {
        // `SVC_NOT_FOUND` (exit 115) and the like end the command at once: say so, not "within 60 s".
        bail!(match bg.ended() {
            Some(why) => format!("`{}` printed no URL ({why})", bg.display),
            None => format!("`{}` printed no URL within {}", bg.display, crate::text::fmt_duration(limit)),
        })
    };
    Ok((Some(bg), line.trim().trim_end_matches('/').to_string()))
}

/// A local URL for a ClusterIP service through `kubectl port-forward svc/NAME :PORT` (kubectl picks the local port
/// and prints `Forwarding from 127.0.0.1:PORT -> TARGET`).
fn port_forward(cx: &mut StepCx, cfg: &Config, ep: &Endpoint) -> Result<(Option<Background>, String)> {
    let (ns, context) = ns_ctx(cfg);
    forward(cx, context, ns, &format!("svc/{}", ep.service), ep.port)
}

/// `kubectl port-forward -n NS TARGET :PORT` kept running until the handle is dropped; the local base URL.
/// kubectl itself waits up to its `--pod-running-timeout` (60 s) for a running pod and exits at once on a missing
/// Service (kubernetes/kubectl `pkg/cmd/portforward/portforward.go:99,117,428`).
fn forward(cx: &mut StepCx, context: &str, ns: &str, target: &str, port: u16) -> Result<(Option<Background>, String)> {
    let port = format!(":{port}");
    let e = Exec::from(cmd!(cx.sh, "kubectl --context {context} port-forward -n {ns} {target} {port}"));
    let Some(mut bg) = cx.background(e)? else { return Ok((None, "http://<port-forward>".into())) };
    // At most kubectl's own wait for a running pod (plus its start), and never past the step's deadline.
    let limit = cx.time_left().min(Duration::from_secs(75));
    let Some(line) = bg.wait_line(limit, |l| l.starts_with("Forwarding from 127.0.0.1:")) else {
        bail!(match bg.ended() {
            Some(why) => format!("`{}` failed ({why})", bg.display),
            None => format!("`{}` did not start forwarding within {}", bg.display, crate::text::fmt_duration(limit)),
        })
    };
    let local = line.trim_start_matches("Forwarding from ").split(" -> ").next().unwrap_or("").to_string();
    Ok((Some(bg), format!("http://{local}")))
}

fn endpoint<'a>(ep: &'a Option<Endpoint>, key: &str) -> Result<&'a Endpoint> {
    ep.as_ref().ok_or_else(|| anyhow!("{key} is not set in the config: name the service and port to check"))
}

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

fn expect(resp: &http::Response, status: u16, what: &str) -> Result<()> {
    if resp.status != status {
        bail!(
            "{what}: expected HTTP {status}, got {}: {}",
            resp.status,
            resp.body.chars().take(200).collect::<String>()
        );
    }
    Ok(())
}

fn health(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?.clone();
    let (_pf, api) = port_forward(cx, cfg, &backend)?;
    let (_svc, web) = frontend_url(cx, cfg)?;
    if cx.dry_run() {
        return Ok(Done::Passed);
    }
    let front = endpoint(&cfg.verify.frontend, "verify.frontend")?;
    for (name, url) in [("backend", format!("{api}{}", backend.health)), ("frontend", format!("{web}{}", front.health))]
    {
        let r = http::request("GET", &url, None, HTTP_TIMEOUT)?;
        expect(&r, 200, &format!("{name} GET {url}"))?;
        cx.note(format!("{name} {url}: {}", r.status));
    }
    Ok(Done::Passed)
}

/// The id of an entry the API created, from the configured field (a number or a string).
fn entry_id(body: &str, field: &str) -> Result<String> {
    let v: Value =
        serde_json::from_str(body).with_context(|| format!("expected the created entry as JSON, got {body:?}"))?;
    match &v[field] {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        _ => bail!("the created entry has no `{field}` (verify.api.id_field): {body}"),
    }
}

/// Creates an entry through the frontend; returns its id and the marker text it carries.
fn create_entry(cfg: &Config, web: &str, what: &str) -> Result<(String, String)> {
    let api = &cfg.verify.api;
    let marker = format!("xtask {what} {}", std::process::id());
    let body = api.create.replace("{marker}", &marker);
    let created = http::request("POST", &format!("{web}{}", api.path), Some(&body), HTTP_TIMEOUT)?;
    expect(&created, 201, &format!("POST {} through the frontend", api.path))?;
    Ok((entry_id(&created.body, &api.id_field)?, marker))
}

fn roundtrip(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (_svc, web) = frontend_url(cx, cfg)?;
    let api = &cfg.verify.api;
    let path = &api.path;
    if cx.dry_run() {
        crate::outln!(
            "    GET /, POST {path}, GET {path}, POST {path}/ID{}, DELETE {path}/ID",
            api.complete.as_deref().unwrap_or("")
        );
        return Ok(Done::Passed);
    }
    let page = http::request("GET", &format!("{web}/"), None, HTTP_TIMEOUT)?;
    expect(&page, 200, "GET / (the UI)")?;
    if !page.body.to_ascii_lowercase().contains("<html") {
        bail!("GET / did not serve the UI's HTML");
    }
    let (id, marker) = create_entry(cfg, &web, "verify")?;
    let list = http::request("GET", &format!("{web}{path}"), None, HTTP_TIMEOUT)?;
    expect(&list, 200, &format!("GET {path}"))?;
    if !list.body.contains(&marker) {
        bail!("the new entry {id} is missing from GET {path}");
    }
    let mut steps = vec!["created", "listed"];
    if let Some(suffix) = &api.complete {
        let done = http::request("POST", &format!("{web}{path}/{id}{suffix}"), Some(""), HTTP_TIMEOUT)?;
        expect(&done, 200, &format!("POST {path}/{id}{suffix}"))?;
        if let Some(want) = &api.completed_contains {
            if !done.body.contains(want.as_str()) {
                bail!("completing entry {id} did not answer with {want}: {}", done.body);
            }
        }
        steps.push("completed");
    }
    let del = http::request("DELETE", &format!("{web}{path}/{id}"), None, HTTP_TIMEOUT)?;
    expect(&del, 204, &format!("DELETE {path}/{id}"))?;
    let gone = http::request("GET", &format!("{web}{path}/{id}"), None, HTTP_TIMEOUT)?;
    expect(&gone, 404, "GET of the deleted entry")?;
    steps.push("deleted");
    cx.note(format!("entry {id}: {} through {web}", steps.join(", ")));
    Ok(Done::Passed)
}

/// The label selector of a Service (`app.kubernetes.io/component=backend,...`): the pods behind it.
fn service_selector(cx: &mut StepCx, cfg: &Config, service: &str) -> Result<String> {
    let (ns, context) = ns_ctx(cfg);
    let out = cx.run(cmd!(cx.sh, "kubectl --context {context} get service {service} -n {ns} -o json").into())?;
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    let sel = label_selector(&v["spec"]["selector"]);
    if sel.is_empty() && !cx.dry_run() {
        bail!("service {service} has no selector");
    }
    Ok(sel)
}

/// A label map (`{"app": "x", "component": "y"}`) as kubectl's `-l` takes it: `app=x,component=y`.
fn label_selector(labels: &Value) -> String {
    let pairs: Vec<String> =
        labels.as_object().into_iter().flatten().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
    pairs.join(",")
}

fn pod_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

fn resilience(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (ns, context) = ns_ctx(cfg);
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?.service.clone();
    let selector = service_selector(cx, cfg, &backend)?;
    let out = cx.run(cmd!(cx.sh, "kubectl --context {context} get pods -n {ns} -l {selector} -o json").into())?;
    let before = pod_names(&serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null));
    let (_svc, web) = frontend_url(cx, cfg)?;
    let victim = before.first().cloned().unwrap_or_else(|| "<a backend pod>".into());
    if !cx.dry_run() && before.is_empty() {
        bail!("no pods match the backend service's selector {selector}");
    }
    cx.run(cmd!(cx.sh, "kubectl --context {context} delete pod {victim} -n {ns} --wait=false").into())?;
    if cx.dry_run() {
        return Ok(Done::Passed);
    }
    let started = Instant::now();
    let (mut ok, mut failed) = (0u32, 0u32);
    let deadline = started + cfg.verify.rollout_timeout.0.min(cx.time_left());
    let replaced_after = loop {
        // Bounded: one request every 200 ms until the replacement is Ready or the timeout.
        match http::request("GET", &format!("{web}{}", cfg.verify.api.path), None, HTTP_TIMEOUT) {
            Ok(r) if r.status == 200 => ok += 1,
            _ => failed += 1,
        }
        let out = cx.run(cmd!(cx.sh, "kubectl --context {context} get pods -n {ns} -l {selector} -o json").into())?;
        let pods: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
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

fn persistence(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (ns, context) = ns_ctx(cfg);
    let (svc, web) = frontend_url(cx, cfg)?;
    let path = cfg.verify.api.path.clone();
    let (id, marker) =
        if cx.dry_run() { (String::new(), String::new()) } else { create_entry(cfg, &web, "persistence")? };
    drop(svc);
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?.service.clone();
    let selector = service_selector(cx, cfg, &backend)?;
    // Restart the backend's pods and every StatefulSet's pods (the database).
    cx.run(cmd!(cx.sh, "kubectl --context {context} delete pods -n {ns} -l {selector} --wait=false").into())?;
    let sts = get_json(cx, context, ns, "statefulsets")?;
    for s in sts["items"].as_array().into_iter().flatten() {
        let sel = label_selector(&s["spec"]["selector"]["matchLabels"]);
        cx.run(cmd!(cx.sh, "kubectl --context {context} delete pods -n {ns} -l {sel} --wait=true").into())?;
    }
    if cx.dry_run() {
        crate::outln!("    wait for the rollouts, then GET {path}/ID");
        return Ok(Done::Passed);
    }
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

fn hpa(cx: &mut StepCx, cfg: &Config, load: bool) -> Result<Done> {
    let (ns, context) = ns_ctx(cfg);
    let list = get_json(cx, context, ns, "hpa")?;
    if cx.dry_run() {
        return Ok(Done::Passed);
    }
    // A List, or a single object when the API answers for one resource.
    let items: Vec<&Value> = match list["items"].as_array() {
        Some(a) => a.iter().collect(),
        None if list["kind"].is_string() => vec![&list],
        None => vec![],
    };
    if items.is_empty() {
        return Ok(Done::Skipped("no HorizontalPodAutoscaler in the namespace (autoscaling disabled)".into()));
    }
    let mut missing = vec![];
    for h in &items {
        let name = h["metadata"]["name"].as_str().unwrap_or("?");
        let current = h["status"]["currentMetrics"].as_array().filter(|m| !m.is_empty());
        let util =
            current.and_then(|m| m.first()).and_then(|m| m["resource"]["current"]["averageUtilization"].as_u64());
        match util {
            Some(u) => cx.note(format!(
                "{name}: {u}% CPU, {}-{} replicas, {} now",
                h["spec"]["minReplicas"].as_u64().unwrap_or(1),
                h["spec"]["maxReplicas"].as_u64().unwrap_or(0),
                h["status"]["currentReplicas"].as_u64().unwrap_or(0)
            )),
            None => missing.push(name.to_string()),
        }
    }
    if !missing.is_empty() {
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
fn load_test(cx: &mut StepCx, cfg: &Config, hpas: &[&Value]) -> Result<Done> {
    let (ns, context) = ns_ctx(cfg);
    let l = &cfg.verify.load;
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?;
    let url = format!("http://{}:{}{}", backend.service, backend.port, cfg.verify.api.path);
    let target = hpas.iter().find(|h| h["spec"]["scaleTargetRef"]["name"] == backend.service.as_str()).or(hpas.first());
    let Some(target) = target else { bail!("no HPA to watch") };
    let name = target["metadata"]["name"].as_str().unwrap_or("?").to_string();
    let start_replicas = target["status"]["currentReplicas"].as_u64().unwrap_or(1);
    let secs = l.duration.0.as_secs().max(10);
    let (requests, concurrency) = (l.requests, l.concurrency.max(1));
    let per_worker = (requests / concurrency).max(1);
    // A fixed script: the values arrive as the shell's positional parameters ($1..$4), quoted, so nothing from the
    // config is ever parsed as shell syntax (the path, for one, is free text).
    let script =
        "end=$(( $(date +%s) + $1 )); w=0; while [ $w -lt \"$2\" ]; do w=$((w+1)); ( i=0; while [ $i -lt \"$3\" ] \
                  && [ $(date +%s) -lt $end ]; do curl -s -o /dev/null -- \"$4\"; i=$((i+1)); done ) & done; wait";
    let (secs_s, conc_s, per_s) = (secs.to_string(), concurrency.to_string(), per_worker.to_string());
    let pod = format!("xtask-load-{}", std::process::id());
    let image = "curlimages/curl:8.10.1";
    // kubectl run has no pod-deadline flag (its flags: kubernetes/kubectl pkg/cmd/run/run.go addRunFlags); the
    // pod's spec.activeDeadlineSeconds is set through --overrides, merged into the generated Pod.
    let overrides = format!(r#"--overrides={{"apiVersion":"v1","spec":{{"activeDeadlineSeconds":{}}}}}"#, secs + 30);
    cx.run(
        cmd!(
            cx.sh,
            "kubectl --context {context} run {pod} -n {ns} --image={image} --restart=Never {overrides} --command -- sh -c {script} xtask-load {secs_s} {conc_s} {per_s} {url}"
        )
        .into(),
    )?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs + 60).min(cx.time_left());
    let mut scaled = None;
    while Instant::now() < deadline {
        let out = cx.run(cmd!(cx.sh, "kubectl --context {context} get hpa {name} -n {ns} -o json").into())?;
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        let desired = v["status"]["desiredReplicas"].as_u64().unwrap_or(0);
        if desired > start_replicas {
            scaled = Some((started.elapsed(), desired));
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let _ = cx.exec_unchecked(
        cmd!(cx.sh, "kubectl --context {context} delete pod {pod} -n {ns} --wait=false --ignore-not-found").into(),
    );
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

fn ingress(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (ns, context) = ns_ctx(cfg);
    let list = get_json(cx, context, ns, "ingress")?;
    if cx.dry_run() {
        return Ok(Done::Passed);
    }
    let Some(ing) = list["items"].as_array().and_then(|a| a.first()).cloned() else {
        return Ok(Done::Skipped("no Ingress in the namespace (ingress.enabled is false)".into()));
    };
    let host = ing["spec"]["rules"][0]["host"].as_str().unwrap_or("").to_string();
    if cfg.target.provider() != crate::target::Provider::Minikube {
        bail!(
            "the ingress check goes through minikube's ingress addon (ingress-nginx), which target `{}` does not \
             have: leave `ingress` out of the target's `verify:` checks and check the Ingress through its load \
             balancer's address",
            cfg.target.name
        );
    }
    // Through a port-forward to minikube's ingress controller, not to `minikube ip`: the node's address is not
    // reachable wherever minikube itself tunnels (docker driver on macOS/Windows, WSL2, Docker Desktop for Linux,
    // rootless Docker, a remote DOCKER_HOST: minikube v1.35.0 `pkg/minikube/driver/driver.go:215-235`),
    // while the API server is reachable everywhere kubectl works. The addon's Service is
    // `ingress-nginx/ingress-nginx-controller`, port 80 (minikube v1.35.0
    // `deploy/addons/ingress/ingress-deploy.yaml.tmpl:380-413`).
    let (_pf, base) = forward(cx, context, INGRESS_NAMESPACE, INGRESS_SERVICE, 80)?;
    for path in ["/", cfg.verify.api.path.as_str()] {
        let r = http::request_with_host("GET", &format!("{base}{path}"), &host, HTTP_TIMEOUT)?;
        expect(&r, 200, &format!("GET {path} through the ingress controller (host {host:?})"))?;
    }
    cx.note(format!(
        "ingress {} routes / and {} for host {host:?} (through {INGRESS_NAMESPACE}/{})",
        ing["metadata"]["name"].as_str().unwrap_or("?"),
        cfg.verify.api.path,
        INGRESS_SERVICE.trim_start_matches("svc/")
    ));
    Ok(Done::Passed)
}

const INGRESS_NAMESPACE: &str = "ingress-nginx";
const INGRESS_SERVICE: &str = "svc/ingress-nginx-controller";

/// The image policy that can be read from the Dockerfile alone (pinned bases, a numeric non-root USER, a
/// HEALTHCHECK, the port EXPOSEd), plus hadolint when it is installed.
fn lint_dockerfile(cx: &mut StepCx, cfg: &Config, img: &crate::config::Image) -> Result<Done> {
    let root = cx.ctx.root.clone();
    let text = crate::dockerfile::read(&root, &img.dockerfile, &img.name)?;
    // The image's config is the final stage's: what it sets, and what it inherits from an earlier stage.
    let config = crate::dockerfile::final_stage_config(&text);
    let mut problems = crate::policy::image::problems(&config, &text, &img.build_args, img, &cfg.gates.policy);
    let df = &img.dockerfile;
    if crate::tools::locate(&cx.ctx.local_bin(), "hadolint").is_some() || cx.dry_run() {
        let out = cx.exec_unchecked(cmd!(cx.sh, "hadolint --format json {df}").into())?;
        let findings: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Array(vec![]));
        for f in findings.as_array().into_iter().flatten() {
            let line = format!(
                "{}:{}: {} {}: {}",
                df.display(),
                f["line"].as_u64().unwrap_or(0),
                f["level"].as_str().unwrap_or("?"),
                f["code"].as_str().unwrap_or("?"),
                f["message"].as_str().unwrap_or("")
            );
            if f["level"] == "error" {
                problems.push(line);
            } else {
                cx.note(line);
            }
        }
        if !cx.dry_run() && findings.as_array().is_none_or(|a| a.is_empty()) && !out.success() {
            problems.push(format!("hadolint failed: {}", out.tail(3)));
        }
    } else {
        cx.note("hadolint is not installed: only the built-in Dockerfile checks ran");
    }
    if !problems.is_empty() {
        bail!("{}:\n  - {}", df.display(), problems.join("\n  - "));
    }
    Ok(Done::Passed)
}
