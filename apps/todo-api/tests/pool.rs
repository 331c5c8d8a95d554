//! The connection pool and /metrics: a bounded number of PostgreSQL connections shared by concurrent requests
//! (up to the pipeline depth on each), statements prepared once per connection (not per request), waits for a
//! saturated pool counted, and the Prometheus page's request, latency and pool figures.

mod common;

use std::time::{Duration, Instant};

use common::{require_postgres, unreachable_db_url, Response, Server};
use todo_api::db::PoolOptions;
use todo_api::Db;

async fn start(db: &Db) -> Server {
    let db = db.clone();
    let server = Server::start(|listener, stop| todo_api::serve(listener, db, stop)).await;
    server.wait_ready().await;
    server
}

fn pool(url: &str, size: usize, depth: usize) -> Db {
    Db::with_options(url, PoolOptions { size, depth, report_every: Duration::from_millis(100) }).unwrap()
}

/// A place on a connection, once the pool's supervisor has connected (503s until then).
async fn conn_when_up(db: &Db) -> todo_api::db::Conn {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match db.conn().await {
            Ok(conn) => return conn,
            Err(e) if Instant::now() > deadline => panic!("the pool never connected: {e:?}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The value of the sample `name{labels}` (or `name` alone) on a /metrics page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The PostgreSQL backend pid of each connection, sorted: the same pids mean the same connections.
async fn backend_pids(conns: &[todo_api::db::Conn]) -> Vec<i32> {
    let mut pids = vec![];
    for c in conns {
        pids.push(c.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get::<_, i32>(0));
    }
    pids.sort();
    pids
}

fn metrics_page(res: &Response) -> String {
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    res.text()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_pool_is_bounded_and_statements_are_prepared_once_per_connection() {
    let tdb = require_postgres!();
    // Depth 4: the 40 requests below share the two connections, up to four at a time on each.
    let db = pool(&tdb.url, 2, 4);
    let server = start(&db).await;
    let admin = tdb.admin().await;
    // Open both connections now (two held at once: the second goes to a new connection, as the first is busy),
    // so none is opened during the requests below.
    let held = vec![db.conn().await.unwrap(), db.conn().await.unwrap()];
    let pids_before = backend_pids(&held).await;
    drop(held);
    // The server's clock, before any of the requests below.
    let before: String = admin.query_one("SELECT clock_timestamp()::text", &[]).await.unwrap().get(0);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let mut requests = Vec::new();
    for i in 0..40 {
        let addr = server.addr;
        requests.push(tokio::spawn(async move {
            if i % 4 == 0 {
                let body = serde_json::to_vec(&serde_json::json!({ "title": format!("task {i}") })).unwrap();
                common::request(addr, "POST", "/api/tasks", Some(("application/json", &body))).await.status
            } else {
                common::request(addr, "GET", "/api/tasks", None).await.status
            }
        }));
    }
    for r in requests {
        let status = r.await.unwrap();
        assert!(status == 200 || status == 201, "status {status}");
    }

    // At most the pool's two connections were ever opened, for 40 concurrent requests.
    let sessions: i64 = admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&tdb.schema])
        .await
        .unwrap()
        .get(0);
    assert!((1..=2).contains(&sessions), "{sessions} sessions for a pool of 2");
    let page = metrics_page(&server.get("/metrics").await);
    assert_eq!(sample(&page, "todo_api_db_connections_opened_total"), Some(2.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_max_connections"), Some(2.0));

    // On both pooled connections, the same two as before the requests, the handlers' statements are the ones
    // prepared when the connection was made: six, all older than the requests (a per-request prepare would be
    // newer, or gone after use).
    let held = vec![db.conn().await.unwrap(), db.conn().await.unwrap()];
    assert_eq!(backend_pids(&held).await, pids_before, "the pool replaced a connection");
    for conn in &held {
        let rows = conn
            .client
            .query(
                "SELECT statement, prepare_time < $1::text::timestamptz FROM pg_prepared_statements \
             WHERE NOT from_sql AND statement NOT LIKE '%pg_prepared_statements%'",
                &[&before],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 6, "{:?}", rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>());
        for row in &rows {
            assert!(row.get::<_, bool>(1), "prepared during the requests: {}", row.get::<_, String>(0));
        }
        assert!(rows.iter().any(|r| r.get::<_, String>(0).starts_with("SELECT id, title")));
    }
    drop(held);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_requests_wait_for_a_saturated_pool_and_are_counted() {
    let tdb = require_postgres!();
    let db = pool(&tdb.url, 1, 2);
    let server = start(&db).await;
    // Take both places on the only connection (its pipeline depth is 2), so the next request has to wait.
    let held = vec![db.conn().await.unwrap(), db.conn().await.unwrap()];
    let addr = server.addr;
    let waiting = tokio::spawn(async move { common::request(addr, "GET", "/api/tasks", None).await.status });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the request did not wait for a place on the full connection");
    let page = metrics_page(&server.get("/metrics").await);
    assert_eq!(sample(&page, "todo_api_db_pool_connections{state=\"in_use\"}"), Some(1.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_queries_in_flight"), Some(2.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_waiting"), Some(1.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_pipeline_depth"), Some(2.0), "{page}");
    drop(held);
    assert_eq!(waiting.await.unwrap(), 200);
    let page = metrics_page(&server.get("/metrics").await);
    assert_eq!(sample(&page, "todo_api_db_pool_waits_total"), Some(1.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_wait_timeouts_total"), Some(0.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_connections{state=\"in_use\"}"), Some(0.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_queries_in_flight"), Some(0.0), "{page}");
    server.shutdown().await.unwrap();
}

/// What an exclusive pool (a connection per request) cannot do: with ONE connection, a request is served while
/// another holds its place on that connection, and concurrent requests' queries are in flight on the same
/// backend together (tokio-postgres pipelines them), each getting its own result.
#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_requests_share_one_connection_and_pipeline_their_queries() {
    let tdb = require_postgres!();
    let db = pool(&tdb.url, 1, 4);
    let server = start(&db).await;
    let held = conn_when_up(&db).await;
    let pid: i32 = held.client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);

    // With the only connection held, an exclusive pool would keep this request waiting (503 after 5 s).
    let started = Instant::now();
    assert_eq!(server.get("/api/tasks").await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2), "the request waited {:?}", started.elapsed());

    // Three more places at once, all on the held connection's backend, each query with its own answer while a
    // slow one is in flight on the same connection.
    let others = [db.conn().await.unwrap(), db.conn().await.unwrap(), db.conn().await.unwrap()];
    // Polled together by tokio::join!, so the four queries are in flight at once.
    let [a, b, c] = &others;
    let answers = tokio::join!(
        held.client.query_one("SELECT pg_backend_pid(), 0 FROM pg_sleep(0.2)", &[]),
        a.client.query_one("SELECT pg_backend_pid(), $1::int", &[&1i32]),
        b.client.query_one("SELECT pg_backend_pid(), $1::int", &[&2i32]),
        c.client.query_one("SELECT pg_backend_pid(), $1::int", &[&3i32]),
    );
    let answers = [answers.0, answers.1, answers.2, answers.3];
    for (i, row) in answers.into_iter().enumerate() {
        let row = row.unwrap();
        assert_eq!(row.get::<_, i32>(0), pid, "query {i} ran on another connection");
        assert_eq!(row.get::<_, i32>(1), i as i32, "query {i} got another query's answer");
    }
    let page = metrics_page(&server.get("/metrics").await);
    assert_eq!(sample(&page, "todo_api_db_connections_opened_total"), Some(1.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_queries_in_flight"), Some(4.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_waits_total"), Some(0.0), "{page}");
    drop((held, others));
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_metrics_count_requests_by_route_and_status() {
    let tdb = require_postgres!();
    let db = pool(&tdb.url, 4, 8);
    let server = start(&db).await;
    for _ in 0..3 {
        assert_eq!(server.get("/api/tasks").await.status, 200);
    }
    let created = server.send("POST", "/api/tasks", Some(&serde_json::json!({"title": "metrics"}))).await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(server.get(&format!("/api/tasks/{id}")).await.status, 200);
    assert_eq!(server.get("/api/tasks/999999999").await.status, 404);
    assert_eq!(server.get("/no/such/route").await.status, 404);

    let page = metrics_page(&server.get("/metrics").await);
    let count = |labels: &str| sample(&page, &format!("http_requests_total{{{labels}}}"));
    assert_eq!(count("method=\"GET\",route=\"/api/tasks\",status=\"200\""), Some(3.0), "{page}");
    assert_eq!(count("method=\"POST\",route=\"/api/tasks\",status=\"201\""), Some(1.0), "{page}");
    // Ids are not label values: both task reads are under the route template.
    assert_eq!(count("method=\"GET\",route=\"/api/tasks/{id}\",status=\"200\""), Some(1.0), "{page}");
    assert_eq!(count("method=\"GET\",route=\"/api/tasks/{id}\",status=\"404\""), Some(1.0), "{page}");
    assert_eq!(count("method=\"GET\",route=\"unmatched\",status=\"404\""), Some(1.0), "{page}");
    let hist = "method=\"GET\",route=\"/api/tasks\"";
    assert_eq!(sample(&page, &format!("http_request_duration_seconds_count{{{hist}}}")), Some(3.0));
    assert_eq!(sample(&page, &format!("http_request_duration_seconds_bucket{{{hist},le=\"+Inf\"}}")), Some(3.0));
    assert!(sample(&page, &format!("http_request_duration_seconds_sum{{{hist}}}")).unwrap() > 0.0);
    assert_eq!(sample(&page, "todo_api_db_up"), Some(1.0));
    assert!(sample(&page, "process_resident_memory_bytes").unwrap() > 1e6, "{page}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_answer_while_the_database_is_down() {
    let db = pool(&unreachable_db_url(), 2, 8);
    let server = Server::start(|listener, stop| todo_api::serve(listener, db, stop)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.get("/api/tasks").await.assert_error(503);
    let page = metrics_page(&server.get("/metrics").await);
    assert_eq!(sample(&page, "todo_api_db_up"), Some(0.0), "{page}");
    assert_eq!(sample(&page, "todo_api_db_pool_connections{state=\"in_use\"}"), Some(0.0), "{page}");
    assert_eq!(
        sample(&page, "http_requests_total{method=\"GET\",route=\"/api/tasks\",status=\"503\"}"),
        Some(1.0),
        "{page}"
    );
    server.shutdown().await.unwrap();
}
