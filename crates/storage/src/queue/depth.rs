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
