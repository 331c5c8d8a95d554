//! `cargo xtask dev` on the fakes: a first `up`, then a touched image source rebuilds and redeploys that image
//! only, a touched chart file upgrades the release without a build, and Ctrl-C stops watching and leaves the
//! cluster and the release alone.

use crate::support;

use std::time::{Duration, Instant};

use support::Sandbox;

/// Finished runs: folders under target/xtask/runs with a report.json.
fn finished_runs(sb: &Sandbox) -> usize {
    let Ok(entries) = std::fs::read_dir(sb.project.join("target/xtask/runs")) else { return 0 };
    entries.filter_map(|e| e.ok()).filter(|e| e.path().join("report.json").exists()).count()
}

fn wait_for_runs(sb: &Sandbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while finished_runs(sb) < n {
        assert!(Instant::now() < deadline, "dev did not finish cycle {n}: {:#?}", sb.commands());
        std::thread::sleep(Duration::from_millis(50));
    }
    // The report is written just before the cycle's last line; let dev go back to watching.
    std::thread::sleep(Duration::from_millis(300));
}

fn count(sb: &Sandbox, pred: impl Fn(&str) -> bool) -> usize {
    sb.commands().iter().filter(|c| pred(c)).count()
}

#[cfg(unix)]
#[test]
fn dev_rebuilds_only_what_changed_and_ctrl_c_leaves_the_cluster() {
    let sb = support::demo::project();
    let mut child = sb.xtask(&["dev", "--debounce", "100"]).spawn();
    let builds = |sb: &Sandbox, image: &str| count(sb, |c| c.starts_with("docker build") && c.ends_with(image));
    let upgrades = |sb: &Sandbox| count(sb, |c| c.starts_with("helm upgrade"));

    wait_for_runs(&sb, 1);
    assert_eq!((builds(&sb, "images/api"), builds(&sb, "images/web"), upgrades(&sb)), (1, 1, 1));

    // Cycle 2: one image's source.
    std::fs::write(sb.project.join("images/web/web"), "web binary v2").unwrap();
    wait_for_runs(&sb, 2);
    assert_eq!(
        (builds(&sb, "images/api"), builds(&sb, "images/web"), upgrades(&sb)),
        (1, 2, 2),
        "only the web image rebuilds, and the release is upgraded: {:#?}",
        sb.commands()
    );

    // Cycle 3: the chart only.
    let values = sb.project.join("chart/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, format!("{text}\n# touched by the dev test\n")).unwrap();
    wait_for_runs(&sb, 3);
    assert_eq!(
        (builds(&sb, "images/api"), builds(&sb, "images/web"), upgrades(&sb)),
        (1, 2, 3),
        "a chart change upgrades without a build: {:#?}",
        sb.commands()
    );

    // SAFETY: sends SIGINT to the xtask process this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = support::terminate_after(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(130));
    let stops = count(&sb, |c| {
        c.starts_with("minikube stop") || c.starts_with("minikube delete") || c.starts_with("helm uninstall")
    });
    assert_eq!(stops, 0, "Ctrl-C touched the cluster: {:#?}", sb.commands());
}
