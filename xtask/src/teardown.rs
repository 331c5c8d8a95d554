//! `cargo xtask teardown`: uninstall the release, delete the namespace, stop (or delete, or keep) the cluster and
//! forget the cluster-side cache. Idempotent: whatever is already gone counts as done.

use anyhow::{bail, Result};

use crate::config::Config;
use crate::context::Context;
use crate::kinds::{ClusterState, StepFamily, StepId, StepKind, Tool};
use crate::pipeline::{Done, Ran, Run, Step, StepCx};
use crate::target::ClusterSpec;
use crate::{helm, kube, minikube};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterAction {
    Stop,
    Delete,
    Keep,
}

pub struct Teardown {
    pub cluster: ClusterAction,
}

impl Teardown {
    pub fn run(self, ctx: &Context) -> Result<()> {
        let mut run = Run::new(ctx, "teardown");
        self.add_steps(ctx, &mut run)?;
        run.execute().map(drop)
    }

    pub fn add_steps<'c>(&self, ctx: &'c Context, run: &mut Run<'c>) -> Result<()> {
        let cfg = ctx.config()?;
        use crate::kinds::TeardownPart::{Cluster, ClusterState, Namespace, Release};
        let id = StepId::teardown;
        run.add(Step::new(id(ClusterState), StepKind::Teardown, "Is the cluster there?", move |cx| {
            probe_cluster(cx, cfg)
        }));
        run.add(
            Step::new(id(Release), StepKind::Teardown, format!("helm uninstall {}", cfg.release.name), move |cx| {
                uninstall(cx, cfg)
            })
            .after([id(ClusterState)]),
        );
        run.add(
            Step::new(
                id(Namespace),
                StepKind::Teardown,
                format!("Delete namespace {}", cfg.release.namespace),
                move |cx| delete_namespace(cx, cfg),
            )
            .after([id(Release)]),
        );
        let action = self.cluster;
        let title = match (action, cfg.target.provider()) {
            (_, crate::target::Provider::Existing) => "Leave the existing cluster alone",
            (ClusterAction::Stop, _) => "Stop the cluster",
            (ClusterAction::Delete, _) => "Delete the cluster",
            (ClusterAction::Keep, _) => "Keep the cluster running (--keep-cluster)",
        };
        run.add(
            Step::new(id(Cluster), StepKind::Teardown, title, move |cx| cluster(cx, cfg, action))
                .after([id(Namespace)]),
        );
        Ok(())
    }
}

fn probe_cluster(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let profile = &cfg.cluster.profile;
    let (state, detail) = match &cfg.target.cluster {
        ClusterSpec::Minikube(_) => {
            // Without minikube there is no minikube cluster: nothing to remove is success, so cleanup scripts can
            // run this. A plan does not look.
            let program = crate::tools::def(Tool::Minikube).program;
            if let Ran::Done(true) = cx.for_real(|| Ok(crate::tools::locate(&cx.ctx.local_bin(), program).is_none()))? {
                cx.facts().cluster_state = Some(ClusterState::Nonexistent);
                cx.note(format!("minikube is not installed, so there is no cluster `{profile}`: nothing to remove"));
                return Ok(Done::Passed);
            }
            let Ran::Done(status) = minikube::status(cx, profile)? else { return finish_probe(cx, PLANNED_STATE) };
            status
        }
        ClusterSpec::Kind(k) => {
            let there = crate::kind::exists(cx, &k.name)?;
            // kind answers "absent" in a plan (the path `up` plans); teardown plans for a cluster that is there.
            let Ran::Done(there) = cx.for_real(|| Ok(there))? else { return finish_probe(cx, PLANNED_STATE) };
            cx.note(format!("kind cluster `{}`: {}", k.name, if there { "exists" } else { "absent" }));
            return finish_probe(cx, if there { ClusterState::Running } else { ClusterState::Nonexistent });
        }
        ClusterSpec::K3d(k) => {
            let state = crate::k3d::state(cx, &k.name)?;
            let Ran::Done(state) = cx.for_real(|| Ok(state))? else { return finish_probe(cx, PLANNED_STATE) };
            cx.note(format!("k3d cluster `{}`: {state:?}", k.name));
            return finish_probe(cx, state);
        }
        ClusterSpec::Existing(e) => {
            // Never probed for a lifecycle: the release commands below find out whether it answers.
            cx.facts().cluster_state = Some(ClusterState::Running);
            cx.note(format!("existing cluster (context `{}`): the pipeline never stops or deletes it", e.context));
            return Ok(Done::Passed);
        }
    };
    let s = state.word();
    cx.facts().cluster_state = Some(state);
    if state == minikube::State::Nonexistent {
        cx.note(format!("profile `{profile}` does not exist: nothing to remove"));
    } else {
        cx.note(format!("profile `{profile}`: {s} ({detail})"));
    }
    Ok(Done::Passed)
}

/// What a plan assumes of the cluster: there and running, so it shows everything teardown would remove.
const PLANNED_STATE: ClusterState = ClusterState::Running;

fn finish_probe(cx: &mut StepCx, state: minikube::State) -> Result<Done> {
    cx.facts().cluster_state = Some(state);
    Ok(Done::Passed)
}

/// Release and namespace live in the cluster: with no running cluster they are gone or unreachable, and
/// starting a cluster only to empty it would be wasted minutes.
fn cluster_running(cx: &StepCx) -> bool {
    cx.facts().cluster_state == Some(ClusterState::Running)
}

fn uninstall(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    if !cluster_running(cx) {
        return Ok(Done::Skipped("the cluster is not running".into()));
    }
    let rel = helm::Release::of(cfg);
    let name = rel.name;
    cx.invalidate(&StepId::deploy(name));
    cx.invalidate(&StepId::test(name));
    // A plan does not ask whether the release is there.
    if let Ran::Done(None) = cx.unless_planning(|cx| helm::status(cx, rel))? {
        return Ok(Done::Skipped(format!("release {name} is not installed")));
    }
    let Ran::Done(out) = cx.ask(helm::uninstall_cmd(&cx.sh, rel))? else { return Ok(Done::Passed) };
    if !out.success() {
        // Another teardown may have won the race; "not found" is the state we want.
        if out.stderr.contains("release: not found") {
            return Ok(Done::Skipped(format!("release {name} is not installed")));
        }
        bail!("helm uninstall {name} failed: {}", out.tail(3));
    }
    Ok(Done::Passed)
}

fn delete_namespace(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    if !cluster_running(cx) {
        return Ok(Done::Skipped("the cluster is not running".into()));
    }
    let t = kube::Target::release(cfg);
    let ns = t.namespace;
    if let ClusterSpec::Existing(_) = cfg.target.cluster {
        // On someone else's cluster the namespace goes only if this pipeline created it (recorded by `up`).
        if crate::guard::load_record(cx.ctx, &cfg.target.name).created_namespace != Some(true) {
            return Ok(Done::Skipped(format!(
                "namespace {ns} was not created by the pipeline (or never recorded as such): left in place"
            )));
        }
    }
    let Ran::Done(out) = cx.query(kube::delete_namespace_cmd(&cx.sh, t))? else { return Ok(Done::Passed) };
    // A missing namespace prints `No resources found` (kubectl `pkg/cmd/delete/delete.go:437-440`), a deleted
    // one `namespace "x" deleted`.
    if !out.stdout.contains("deleted") {
        return Ok(Done::Skipped(format!("namespace {ns} does not exist")));
    }
    Ok(Done::Passed)
}

fn cluster(cx: &mut StepCx, cfg: &Config, action: ClusterAction) -> Result<Done> {
    let profile = &cfg.cluster.profile;
    let state = cx.facts().cluster_state;
    // Images loaded into a stopped cluster stay there; a deleted cluster loses them.
    cx.invalidate(&StepId::deploy(&cfg.release.name));
    let k3d_state = match state {
        Some(ClusterState::Nonexistent) => ClusterState::Nonexistent,
        Some(ClusterState::Stopped) => ClusterState::Stopped,
        _ => ClusterState::Running,
    };
    match (&cfg.target.cluster, action) {
        (_, ClusterAction::Keep) => return Ok(Done::Skipped("kept running (--keep-cluster)".into())),
        (ClusterSpec::Existing(e), _) => {
            return Ok(Done::Skipped(format!(
                "target `{}` is an existing cluster (context `{}`): the pipeline never stops or deletes it",
                cfg.target.name, e.context
            )))
        }
        (ClusterSpec::Kind(k), ClusterAction::Stop) => {
            return Ok(Done::Skipped(format!(
                "kind has no stop: kind cluster `{}` keeps running (`teardown --delete` deletes it)",
                k.name
            )))
        }
        (ClusterSpec::Kind(k), ClusterAction::Delete) => {
            cx.invalidate_family(StepFamily::Load);
            return crate::kind::delete(cx, &k.name);
        }
        (ClusterSpec::K3d(k), ClusterAction::Stop) => return crate::k3d::stop(cx, &k.name, k3d_state),
        (ClusterSpec::K3d(k), ClusterAction::Delete) => {
            cx.invalidate_family(StepFamily::Load);
            return crate::k3d::delete(cx, &k.name, k3d_state);
        }
        (ClusterSpec::Minikube(_), _) => {}
    }
    let result = match action {
        ClusterAction::Keep => Done::Skipped("kept running (--keep-cluster)".into()),
        ClusterAction::Stop if state == Some(ClusterState::Nonexistent) => {
            Done::Skipped(format!("profile `{profile}` does not exist"))
        }
        ClusterAction::Stop if state == Some(ClusterState::Stopped) => {
            Done::Skipped(format!("profile `{profile}` is already stopped"))
        }
        ClusterAction::Stop if state == Some(ClusterState::Broken { daemon_down: false }) => Done::Skipped(format!(
            "profile `{profile}` has no container to stop; `cargo xtask teardown --delete` removes the profile"
        )),
        ClusterAction::Stop if state == Some(ClusterState::Broken { daemon_down: true }) => {
            bail!("the Docker daemon does not answer, so profile `{profile}` cannot be stopped: start Docker and rerun")
        }
        ClusterAction::Stop => {
            cx.run(minikube::stop_cmd(&cx.sh, profile))?;
            Done::Passed
        }
        ClusterAction::Delete => {
            cx.invalidate_family(StepFamily::Load);
            if state == Some(ClusterState::Nonexistent) {
                Done::Skipped(format!("profile `{profile}` does not exist"))
            } else {
                cx.run(minikube::delete_cmd(&cx.sh, profile))?;
                Done::Passed
            }
        }
    };
    Ok(result)
}
