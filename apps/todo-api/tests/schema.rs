//! Schema creation is safe when many replicas start at the same moment.

mod common;

use todo_api::schema;

#[tokio::test]
async fn postgres_concurrent_schema_init_from_8_sessions() {
    let db = require_postgres!();
    // Eight separate connections, all released at once on a fresh schema: without the advisory lock this
    // fails intermittently with a unique violation on pg_type.
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(db.client().await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                schema::init(&mut client).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("schema init failed under concurrency");
    }
    // The table exists exactly once, in the test's schema, and init is still idempotent afterwards.
    let mut client = db.client().await;
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'tasks'",
            &[&db.schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    schema::init(&mut client).await.unwrap();
}

#[tokio::test]
async fn postgres_servers_starting_together_all_become_ready() {
    let db = require_postgres!();
    // Start all four first (each spawns its own connect-and-init), then wait: their schema inits race.
    let mut servers = Vec::new();
    for _ in 0..4 {
        servers.push(common::Server::start(&db.url).await);
    }
    for s in &servers {
        s.wait_ready().await;
    }
    for s in servers {
        s.shutdown().await.unwrap();
    }
}
