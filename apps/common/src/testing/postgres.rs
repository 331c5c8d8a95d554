//! A private PostgreSQL schema per test (from TODO_TEST_DATABASE_URL), so tests run in parallel.

use std::sync::atomic::{AtomicU32, Ordering};

pub const SKIP_NOTICE: &str = "skipped: TODO_TEST_DATABASE_URL not set (needs PostgreSQL)";

/// A schema of its own in the test database, so tests run in parallel without seeing each other's rows.
/// Dropped (CASCADE) when the value is dropped, even if the test panicked.
pub struct TestDb {
    /// DATABASE_URL for the app: the test database with `search_path` set to the private schema.
    pub url: String,
    pub schema: String,
    admin_url: String,
}

/// The test database, or `None` (after printing the skip notice) when TODO_TEST_DATABASE_URL is unset.
/// With XTASK_REQUIRE_ENGINES=1 a missing database fails the test instead, so CI cannot skip silently.
pub async fn test_db() -> Option<TestDb> {
    let admin_url = match std::env::var("TODO_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var("XTASK_REQUIRE_ENGINES").as_deref() == Ok("1") {
                panic!("TODO_TEST_DATABASE_URL is not set but XTASK_REQUIRE_ENGINES=1 — start PostgreSQL with `eval \"$(scripts/ci/postgres.sh)\"`");
            }
            println!("{SKIP_NOTICE}");
            return None;
        }
    };
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let schema = format!("todo_test_{}_{}_{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
    let client = admin_client(&admin_url).await;
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create test schema");
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    // application_name lets a test find (and kill) exactly its own server's connections.
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}&application_name={schema}");
    Some(TestDb { url, schema, admin_url })
}

/// Skips the test (returns) when no database is configured.
#[macro_export]
macro_rules! require_postgres {
    () => {
        match $crate::testing::test_db().await {
            Some(db) => db,
            None => return,
        }
    };
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to TODO_TEST_DATABASE_URL: {e:?}"));
    tokio::spawn(conn);
    client
}

impl TestDb {
    /// A connection as the app sees it (search_path = the test's schema).
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.url).await
    }

    /// A connection without the test's application_name, e.g. to kill the server's sessions.
    pub async fn admin(&self) -> tokio_postgres::Client {
        admin_client(&self.admin_url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: clean up from a fresh thread.
        let url = self.admin_url.clone();
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                }
            });
        })
        .join();
    }
}
