//! Backpressure on job submission: past `max_queued_jobs` queued jobs, `POST /v1/jobs` and
//! dataset jobs answer 429 `queue_full` before anything is charged or stored. The count is
//! read at most every [`FRESH_FOR`] per process and shared by every request, so a burst of
//! submissions costs one `COUNT(*)`, not one each.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atelier_storage::Queue;

use crate::error::{ApiCode, ApiError, Detail};

/// How long a count of queued jobs is trusted. Workers drain the queue in the meantime, so
/// a refusal may be up to this stale; submissions made here are added as they happen.
const FRESH_FOR: Duration = Duration::from_millis(250);

/// What `Retry-After` says to a refused client: a few seconds, enough for workers to take
/// some jobs, short enough that a client does not idle when they have.
const RETRY_AFTER_SECS: u64 = 5;

/// The cached count of queued jobs and the limit it is held to.
#[derive(Debug)]
pub(crate) struct QueueDepth {
    /// Most queued jobs before submissions are refused; 0 means no limit (and no counting).
    limit: u64,
    count: AtomicI64,
    /// When `count` was last read, in milliseconds since `epoch` plus one; 0 means never.
    read_at: AtomicU64,
    epoch: Instant,
}

impl QueueDepth {
    pub(crate) fn new(limit: u64) -> QueueDepth {
        QueueDepth { limit, count: AtomicI64::new(0), read_at: AtomicU64::new(0), epoch: Instant::now() }
    }

    /// `Ok` when the queue has room, else 429 `queue_full` with `Retry-After`.
    pub(crate) async fn admit(&self, queue: &Queue) -> Result<(), ApiError> {
        if self.limit == 0 {
            return Ok(());
        }
        let limit = i64::try_from(self.limit).unwrap_or(i64::MAX);
        let queued = self.current(queue).await?;
        if queued < limit {
            return Ok(());
        }
        let message = format!(
            "the job queue is full: {queued} jobs are waiting for a worker and this server takes at most {limit}; \
             nothing was charged, try again in a few seconds"
        );
        let detail =
            Detail { limit: Some(limit), used: Some(queued), retry_after: Some(RETRY_AFTER_SECS), ..Detail::default() };
        Err(ApiError::new(ApiCode::QueueFull, message).with(detail))
    }

    /// Counts a job this process has just queued, so that submissions before the next read
    /// see it: a burst cannot overshoot the limit by more than other processes add.
    pub(crate) fn queued_one(&self) {
        if self.limit != 0 {
            self.count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The count, read again by the first request that finds it stale; requests meanwhile
    /// use the previous figure rather than queue up behind the read.
    async fn current(&self, queue: &Queue) -> Result<i64, ApiError> {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1);
        let read_at = self.read_at.load(Ordering::Acquire);
        let fresh_for = u64::try_from(FRESH_FOR.as_millis()).unwrap_or(u64::MAX);
        let stale = read_at == 0 || now.saturating_sub(read_at) >= fresh_for;
        if stale && self.read_at.compare_exchange(read_at, now, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            match queue.queued().await {
                Ok(queued) => self.count.store(queued, Ordering::Release),
                Err(err) => {
                    // The next request tries again instead of trusting a figure never read.
                    self.read_at.store(0, Ordering::Release);
                    return Err(err.into());
                }
            }
        }
        Ok(self.count.load(Ordering::Acquire))
    }
}
