//! The demo project most integration tests deploy: two images, a chart whose render the fake helm returns, a
//! cluster and a release, secrets from env vars, and verify endpoints.

use super::Sandbox;

pub const CONFIG: &str = r#"project: demo
images:
  - name: api
    context: images/api
    dockerfile: images/api/Dockerfile
    tag: demo-api:1.0.0
    port: 8080
  - name: web
    context: images/web
    dockerfile: images/web/Dockerfile
    tag: demo-web:1.0.0
    port: 8080
cluster:
  profile: demo
  driver: docker
  cpus: 2
  memory: 4g
  kubernetes_version: v1.31.0
  addons: [ingress, metrics-server]
release:
  chart: chart
  name: demo
  namespace: demo
  values: [chart/values-dev.yaml]
  timeout: 2m
  image_values: { backend.image.tag: api, frontend.image.tag: web }
  secret_values: { database.password: db }
  service: demo-web
secrets:
  db: { env: DEMO_DB_PASSWORD }
verify:
  frontend: { service: demo-web, port: 8080 }
  backend: { service: demo-api, port: 8080, health: /ready }
  rollout_timeout: 60s
"#;

/// What `helm template` of the test chart renders (the fake has no template engine): hardened workloads with the
/// labels the render step checks.
const RENDERED: &str = r#"---
apiVersion: v1
kind: Service
metadata:
  name: demo-web
  labels: { app: demo, component: frontend, version: "1.0.0" }
spec:
  type: NodePort
  ports: [{ port: 8080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-api
  labels: { app: demo, component: backend, version: "1.0.0" }
spec:
  replicas: 2
  template:
    spec:
      securityContext: { runAsNonRoot: true, runAsUser: 1000 }
      containers:
        - name: api
          image: demo-api:1.0.0
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
          livenessProbe: { httpGet: { path: /health, port: 8080 } }
          readinessProbe: { httpGet: { path: /ready, port: 8080 } }
          resources:
            requests: { cpu: 200m, memory: 256Mi }
            limits: { cpu: 500m, memory: 512Mi }
"#;

pub fn dockerfile(bin: &str) -> String {
    format!(
        "FROM scratch\nCOPY {bin} /{bin}\nUSER 1000:1000\nEXPOSE 8080\nHEALTHCHECK CMD [\"/{bin}\", \"healthcheck\"]\n"
    )
}

pub fn project() -> Sandbox {
    Sandbox::new()
        .with_file("xtask.yaml", CONFIG)
        .with_file("images/api/Dockerfile", dockerfile("api"))
        .with_file("images/api/api", "api v1")
        .with_file("images/web/Dockerfile", dockerfile("web"))
        .with_file("images/web/web", "web v1")
        .with_file("chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.0.0\"\n")
        .with_file("chart/values.yaml", "replicas: 2\n")
        .with_file("chart/values-dev.yaml", "replicas: 2\n")
        .with_file("chart/fake-render.yaml", RENDERED)
        .with_file("chart/templates/tests/test-health.yaml", "# a helm test pod\n")
        .with_env("DEMO_DB_PASSWORD", "pw-for-tests-123")
}
