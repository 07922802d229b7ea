//! How deep the queue is: the count of queued jobs that admission control (the API's
//! `max_queued_jobs`) reads on job submission.

use crate::db::row_int;
use crate::error::{Error, Result};

use super::Queue;

impl Queue {
    /// Jobs waiting for a worker (state `queued`, including those backing off before a retry).
    /// Served by the `jobs_claimable` index, which leads with `state`: the count reads the
    /// queued jobs' entries and none of the finished jobs', however many are kept.
    pub async fn queued(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'")
            .fetch_one(&self.db.pool)
            .await
            .map_err(Error::db("count queued jobs"))?;
        row_int(&row, "n")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Db, Queue, Scope};

    async fn queues() -> Vec<(&'static str, Queue, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display());
        let mut urls = vec![("sqlite", url, Some(dir))];
        if let Ok(base) = std::env::var("ATELIER_TEST_POSTGRES") {
            urls.push(("postgres", Db::create_scratch_database(&base).await.unwrap(), None));
        }
        let mut out = Vec::new();
        for (name, url, dir) in urls {
            let db = Db::connect(&url).await.unwrap();
            db.migrate().await.unwrap();
            out.push((name, Queue::new(db), dir));
        }
        out
    }

    #[tokio::test]
    async fn only_jobs_waiting_for_a_worker_count_as_queued() {
        for (name, queue, _dir) in queues().await {
            assert_eq!(queue.queued().await.unwrap(), 0, "{name}");
            for _ in 0..4 {
                queue.enqueue("{}", 3, 1_000).await.unwrap();
            }
            assert_eq!(queue.queued().await.unwrap(), 4, "{name}");
            let claimed = queue.claim("w", Duration::from_secs(30), 1_001).await.unwrap().unwrap();
            let canceled = queue.enqueue("{}", 3, 1_002).await.unwrap();
            queue.cancel(Scope::All, &canceled, 1_003).await.unwrap();
            assert_eq!(queue.queued().await.unwrap(), 3, "{name}: running and canceled jobs do not count");
            assert!(queue.complete(&claimed.id, "w", 1_004).await.unwrap(), "{name}");
            assert_eq!(queue.queued().await.unwrap(), 3, "{name}");
        }
    }
}
