//! The kind, k3d and `docker push` fakes answer as upstream does (kind v0.32.0, k3d v5.9.0, docker 20.10 against
//! distribution 2.8), including the flag tables: a command line the real tool would reject, the fake rejects.

use crate::support;

use support::Sandbox;

/// A sandbox with one fake-built image, `app:1.0.0`.
fn with_image() -> Sandbox {
    let sb = Sandbox::new().with_file("img/Dockerfile", "FROM scratch\nCOPY f /f\n").with_file("img/f", "x");
    sb.tool("docker", &["build", "-t", "app:1.0.0", "img"]).run().assert_success();
    sb
}

#[test]
fn kind_lists_creates_loads_and_deletes_like_upstream() {
    let sb = with_image().with_file("kind.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n- role: worker\n");
    let out = sb.tool("kind", &["get", "clusters"]).run();
    out.assert_success();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", "No kind clusters found.\n"));

    let out = sb.tool("kind", &["load", "docker-image", "app:1.0.0", "--name", "dev"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr, "ERROR: no nodes found for cluster \"dev\"\n");

    sb.tool("kind", &["create", "cluster", "--name", "dev", "--config", "kind.yaml", "--wait", "5m"])
        .run()
        .assert_success();
    let out = sb.tool("kind", &["create", "cluster", "--name", "dev"]).run();
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"dev\"\n"
    );
    assert_eq!(sb.tool("kind", &["get", "clusters"]).run().stdout, "dev\n");
    assert_eq!(
        sb.tool("kind", &["get", "nodes", "--name", "dev"]).run().stdout,
        "dev-control-plane\ndev-worker\ndev-worker2\n"
    );
    sb.tool("docker", &["exec", "dev-worker", "mkdir", "-p", "/etc/x"]).run().assert_success();
    let out = sb.tool("docker", &["exec", "nope", "true"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr, "Error response from daemon: No such container: nope\n");
    assert_eq!(sb.tool("kubectl", &["config", "current-context"]).run().stdout, "kind-dev\n");

    let out = sb.tool("kind", &["load", "docker-image", "app:1.0.0", "--name", "dev"]).run();
    out.assert_success();
    assert_eq!(out.stderr.lines().count(), 3, "one line per node (control plane + 2 workers):\n{}", out.stderr);
    assert!(out.stderr.contains("not yet present on node \"dev-worker2\", loading..."), "{}", out.stderr);
    let again = sb.tool("kind", &["load", "docker-image", "app:1.0.0", "--name", "dev"]).run();
    assert!(again.stderr.contains("found to be already present on all nodes."), "{}", again.stderr);
    let out = sb.tool("kind", &["load", "docker-image", "nope:1", "--name", "dev"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr, "ERROR: image: \"nope:1\" not present locally\n");

    // Flags outside upstream's table for the command fail as cobra fails them.
    let out = sb.tool("kind", &["load", "docker-image", "app:1.0.0", "--cluster", "dev"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr, "ERROR: unknown flag: --cluster\n");

    sb.tool("kind", &["delete", "cluster", "--name", "dev"]).run().assert_success();
    // Deleting what is not there is not an error ("like rm -f").
    sb.tool("kind", &["delete", "cluster", "--name", "dev"]).run().assert_success();
    assert_eq!(sb.tool("kind", &["get", "clusters"]).run().stdout, "");
}

#[test]
fn k3d_lists_as_json_creates_imports_stops_and_deletes_like_upstream() {
    let sb = with_image();
    let out = sb.tool("k3d", &["cluster", "list", "-o", "json"]).run();
    out.assert_success();
    assert_eq!(out.stdout, "[]\n");
    sb.tool("k3d", &["cluster", "create", "dev", "--servers", "1", "--agents", "2", "--wait"]).run().assert_success();
    let out = sb.tool("k3d", &["cluster", "create", "dev"]).run();
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "FATA[0000] Failed to create cluster 'dev' because a cluster with that name already exists\n"
    );
    let list = sb.tool("k3d", &["cluster", "list", "-o", "json"]).run().json();
    let c = &list[0];
    assert_eq!(
        (c["name"].as_str(), c["serversCount"].as_u64(), c["serversRunning"].as_u64(), c["agentsCount"].as_u64()),
        (Some("dev"), Some(1), Some(1), Some(2))
    );
    assert_eq!(sb.tool("kubectl", &["config", "current-context"]).run().stdout, "k3d-dev\n");

    let out = sb.tool("k3d", &["image", "import", "app:1.0.0", "-c", "dev"]).run();
    out.assert_success();
    assert_eq!(
        out.stderr,
        "INFO[0000] Importing image(s) into cluster 'dev'\nINFO[0000] Successfully imported 1 image(s) into 1 cluster(s)\n"
    );
    let out = sb.tool("k3d", &["image", "import", "app:1.0.0", "--name", "dev"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr, "FATA[0000] unknown flag: --name\n");

    sb.tool("k3d", &["cluster", "stop", "dev"]).run().assert_success();
    assert_eq!(sb.tool("k3d", &["cluster", "list", "-o", "json"]).run().json()[0]["serversRunning"], 0);
    sb.tool("k3d", &["cluster", "delete", "dev"]).run().assert_success();
    assert_eq!(sb.tool("k3d", &["cluster", "list", "-o", "json"]).run().stdout, "[]\n");
}

#[test]
fn docker_push_prints_the_digest_and_records_it_in_repo_digests() {
    let sb = with_image();
    sb.tool("docker", &["tag", "app:1.0.0", "127.0.0.1:5000/team/app:1.0.0"]).run().assert_success();
    let out = sb.tool("docker", &["push", "127.0.0.1:5000/team/app:1.0.0"]).run();
    out.assert_success();
    let trailer = out.stdout.lines().last().unwrap().to_string();
    assert!(trailer.starts_with("1.0.0: digest: sha256:") && trailer.ends_with(" size: 524"), "{}", out.stdout);
    let digest = trailer.split_whitespace().nth(2).unwrap();
    let inspect = sb.tool("docker", &["image", "inspect", "--format", "{{json .RepoDigests}}", "app:1.0.0"]).run();
    assert_eq!(inspect.stdout.trim(), format!("[\"127.0.0.1:5000/team/app@{digest}\"]"));
    // The same content again: the layers already exist, the digest is the same.
    let again = sb.tool("docker", &["push", "127.0.0.1:5000/team/app:1.0.0"]).run();
    assert!(again.stdout.contains(": Layer already exists\n") && again.stdout.contains(digest), "{}", again.stdout);

    let out = sb.tool("docker", &["push", "team/app:1.0.0"]).run();
    out.assert_code(1);
    assert_eq!(out.stdout, "The push refers to repository [docker.io/team/app]\n", "no host means Docker Hub");
}
