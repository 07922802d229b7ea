//! The head of the queue on a busy queue: claims read only unfinished jobs, and the search
//! for jobs whose worker died on their last attempt runs at most once a second while
//! claims keep finding work. On SQLite always, on PostgreSQL with `ATELIER_TEST_POSTGRES`.

mod support;

use std::time::Duration;

use atelier_storage::{Backoff, JobState, Queue, Scope};

const LEASE: Duration = Duration::from_secs(30);
const BACKOFF: Backoff = Backoff { base: Duration::from_secs(10), max: Duration::from_secs(60) };

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_buried_within_a_second_while_claims_keep_finding_work() {
    for support::Fixture { name, db, .. } in support::fixtures().await {
        let queue = Queue::new(db);
        let doomed = queue.enqueue("{}", 1, 0).await.unwrap();
        let mut others = Vec::new();
        for _ in 0..3 {
            others.push(queue.enqueue("{}", 3, 0).await.unwrap());
        }
        assert_eq!(queue.claim("killed", Duration::from_millis(10), 0).await.unwrap().unwrap().id, doomed, "{name}");

        let mut claimed = Vec::new();
        for now in [100, 600, 1_000] {
            let job = queue.claim("w", LEASE, now).await.unwrap().unwrap();
            assert!(queue.complete(&job.id, "w", now).await.unwrap(), "{name}");
            claimed.push(job.id);
        }
        assert_eq!(claimed, others, "{name}: the expired job is never handed out again");
        let job = queue.get(Scope::All, &doomed).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Dead, "{name}: buried a second after the last look at most");
        assert!(job.error.unwrap().contains("lease expired"), "{name}");
    }
}

#[tokio::test]
async fn claims_pass_over_finished_and_backing_off_jobs_to_the_oldest_runnable_one() {
    for support::Fixture { name, db, .. } in support::fixtures().await {
        let queue = Queue::new(db);
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(queue.enqueue("{}", 3, 0).await.unwrap());
        }
        // The first succeeds, the second fails once and backs off for 10 s.
        let first = queue.claim("w", LEASE, 1).await.unwrap().unwrap();
        assert!(queue.complete(&first.id, "w", 2).await.unwrap(), "{name}");
        let second = queue.claim("w", LEASE, 3).await.unwrap().unwrap();
        queue.fail(&second.id, "w", "flaky", true, BACKOFF, 4).await.unwrap();

        let third = queue.claim("w", LEASE, 5).await.unwrap().unwrap();
        assert_eq!(third.id, ids[2], "{name}");
        let again = queue.claim("w", LEASE, 10_004).await.unwrap().unwrap();
        assert_eq!((again.id.as_str(), again.attempts), (ids[1].as_str(), 2), "{name}: its backoff is over");
        assert_eq!(queue.claim("w", LEASE, 10_005).await.unwrap().unwrap().id, ids[3], "{name}");
        assert!(queue.claim("w", LEASE, 10_006).await.unwrap().is_none(), "{name}");
    }
}
