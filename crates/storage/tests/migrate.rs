//! Migrations run at start by every API replica and by `atelier migrate`, so several
//! processes may migrate one PostgreSQL database at the same moment: all of them must
//! succeed, and each migration must be applied once. Needs `ATELIER_TEST_POSTGRES`.

use atelier_storage::{Db, Queue, Scope};
use sqlx::Row;

/// How many processes migrate at once, and how many fresh databases they race on: a race
/// lost only now and then still shows up.
const PROCESSES: usize = 4;
const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_processes_migrating_one_fresh_postgres_database_at_once_all_succeed() {
    let Ok(base) = std::env::var("ATELIER_TEST_POSTGRES") else {
        assert!(std::env::var_os("CI").is_none(), "CI must test PostgreSQL: run the tests through scripts/test.sh");
        return;
    };
    for round in 0..ROUNDS {
        let url = Db::create_scratch_database(&base).await.unwrap();
        // Each handle is its own pool, as each replica's would be; connected before any
        // migrates, so the migrations start together.
        let mut handles = Vec::new();
        for _ in 0..PROCESSES {
            handles.push(Db::connect(&url).await.unwrap());
        }
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(PROCESSES));
        let tasks: Vec<_> = handles
            .iter()
            .cloned()
            .map(|db| {
                let start = start.clone();
                tokio::spawn(async move {
                    start.wait().await;
                    db.migrate().await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            task.await.unwrap().unwrap_or_else(|err| panic!("round {round}: process {i} failed to migrate: {err:?}"));
        }

        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let row = sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS versions FROM schema_migrations")
            .fetch_one(&pool)
            .await
            .unwrap();
        let (n, versions): (i64, i64) = (row.get("n"), row.get("versions"));
        assert_eq!(n, versions, "round {round}: each migration is recorded once");
        pool.close().await;
        handles[0].migrate().await.unwrap();
        let queue = Queue::new(handles[1].clone());
        let id = queue.enqueue("{}", 1, 0).await.unwrap();
        assert!(queue.get(Scope::All, &id).await.unwrap().is_some(), "round {round}: the schema works");
        for db in &handles {
            db.close().await;
        }
        Db::drop_scratch_database(&base, &url).await.unwrap();
    }
}
