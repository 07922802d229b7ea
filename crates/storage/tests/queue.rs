//! The job queue's contract, run on SQLite always and on PostgreSQL when
//! `ATELIER_TEST_POSTGRES` names a server (scripts/test.sh sets it; CI requires it).
//! Each test gets a fresh database. Time is passed in, so leases and backoff are exact.

use std::collections::HashSet;
use std::time::Duration;

use atelier_storage::{Backoff, Db, JobState, Progress, Queue, Scope};

struct Fixture {
    name: &'static str,
    queue: Queue,
    _dir: Option<tempfile::TempDir>,
}

async fn queues() -> Vec<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display());
    let mut out = vec![Fixture { name: "sqlite", queue: migrated(&url).await, _dir: Some(dir) }];
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(base) => out.push(Fixture {
            name: "postgres",
            queue: migrated(&Db::create_scratch_database(&base).await.unwrap()).await,
            _dir: None,
        }),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: run the tests through scripts/test.sh")
        }
        Err(_) => {}
    }
    out
}

async fn migrated(url: &str) -> Queue {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap(); // a second run is a no-op
    Queue::new(db)
}

const LEASE: Duration = Duration::from_secs(30);
const BACKOFF: Backoff = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(60) };

#[tokio::test]
async fn jobs_are_claimed_once_each_in_the_order_they_were_enqueued() {
    for Fixture { name, queue, .. } in queues().await {
        let ids: Vec<String> = enqueue_n(&queue, 3).await;
        let mut claimed = Vec::new();
        while let Some(job) = queue.claim("w1", LEASE, 1_000).await.unwrap() {
            assert_eq!(
                (job.state, job.attempts, job.lease_owner.as_deref()),
                (JobState::Running, 1, Some("w1")),
                "{name}"
            );
            claimed.push(job.id);
        }
        assert_eq!(claimed, ids, "{name}");
        assert!(queue.complete(&claimed[0], "w1", 1_100).await.unwrap());
        let done = queue.get(Scope::All, &claimed[0]).await.unwrap().unwrap();
        assert_eq!(
            (done.state, done.started_at, done.finished_at),
            (JobState::Succeeded, Some(1_000), Some(1_100)),
            "{name}"
        );
        assert!(!queue.complete(&claimed[0], "w1", 1_200).await.unwrap(), "{name}: completing twice is refused");
    }
}

async fn enqueue_n(queue: &Queue, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(queue.enqueue(&format!("{{\"n\":{i}}}"), 3, 100).await.unwrap());
    }
    ids
}

#[tokio::test]
async fn a_job_whose_lease_expired_is_claimed_again_and_the_old_worker_is_shut_out() {
    for Fixture { name, queue, .. } in queues().await {
        let id = queue.enqueue("{}", 3, 0).await.unwrap();
        queue.claim("dead-worker", Duration::from_millis(500), 1_000).await.unwrap().unwrap();
        assert!(queue.claim("w2", LEASE, 1_400).await.unwrap().is_none(), "{name}: lease still valid");
        let again = queue.claim("w2", LEASE, 1_501).await.unwrap().expect("reclaimed");
        assert_eq!((again.id.as_str(), again.attempts), (id.as_str(), 2), "{name}");
        assert!(!queue.heartbeat(&id, "dead-worker", LEASE, 1_600).await.unwrap(), "{name}: old lease is gone");
        assert!(!queue.complete(&id, "dead-worker", 1_600).await.unwrap(), "{name}: old worker cannot complete");
        assert!(queue.heartbeat(&id, "w2", LEASE, 1_600).await.unwrap(), "{name}");
        assert!(queue.complete(&id, "w2", 1_700).await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn a_claim_says_since_when_its_attempt_was_claimable_so_queue_wait_excludes_backoff_and_dead_runs() {
    for Fixture { name, queue, .. } in queues().await {
        let id = queue.enqueue("{}", 5, 100).await.unwrap();
        assert_eq!(queue.claim("w1", LEASE, 400).await.unwrap().unwrap().run_after, 100, "{name}: since enqueue");
        queue.fail(&id, "w1", "boom", true, BACKOFF, 500).await.unwrap();
        let retried = queue.claim("w1", Duration::from_millis(300), 2_000).await.unwrap().unwrap();
        assert_eq!(retried.run_after, 1_500, "{name}: since the backoff ended");
        // w1 dies holding the job; its lease runs out at 2_300.
        let reclaimed = queue.claim("w2", LEASE, 9_000).await.unwrap().unwrap();
        assert_eq!((reclaimed.attempts, reclaimed.run_after), (3, 2_300), "{name}: since the lease ran out");
    }
}

#[tokio::test]
async fn failures_retry_with_exponential_backoff_then_the_job_is_dead() {
    for Fixture { name, queue, .. } in queues().await {
        let id = queue.enqueue("{}", 3, 0).await.unwrap();
        let mut now = 10_000;
        for (attempt, delay) in [(1, 1_000), (2, 2_000)] {
            let job = queue.claim("w", LEASE, now).await.unwrap().unwrap();
            assert_eq!(job.attempts, attempt, "{name}");
            let state = queue.fail(&id, "w", "boom", true, BACKOFF, now).await.unwrap();
            assert_eq!(state, Some(JobState::Queued), "{name}");
            assert!(queue.claim("w", LEASE, now + delay - 1).await.unwrap().is_none(), "{name}: still backing off");
            now += delay;
        }
        queue.claim("w", LEASE, now).await.unwrap().unwrap();
        assert_eq!(
            queue.fail(&id, "w", "boom again", true, BACKOFF, now).await.unwrap(),
            Some(JobState::Dead),
            "{name}"
        );
        let dead = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!(
            (dead.state, dead.error.as_deref(), dead.attempts),
            (JobState::Dead, Some("boom again"), 3),
            "{name}"
        );
        assert!(queue.retry(Scope::All, &id, now).await.unwrap(), "{name}: a dead job can be retried");
        assert_eq!(queue.claim("w", LEASE, now).await.unwrap().map(|j| j.attempts), Some(1), "{name}");
    }
}

#[tokio::test]
async fn a_bad_input_failure_is_final_at_once() {
    for Fixture { name, queue, .. } in queues().await {
        let id = queue.enqueue("{}", 5, 0).await.unwrap();
        queue.claim("w", LEASE, 0).await.unwrap().unwrap();
        assert_eq!(
            queue.fail(&id, "w", "corrupt_image", false, BACKOFF, 1).await.unwrap(),
            Some(JobState::Failed),
            "{name}"
        );
        assert!(queue.claim("w", LEASE, 1_000_000).await.unwrap().is_none(), "{name}");
    }
}

#[tokio::test]
async fn a_worker_killed_on_the_last_attempt_leaves_a_dead_job_not_a_stuck_one() {
    for Fixture { name, queue, .. } in queues().await {
        let id = queue.enqueue("{}", 1, 0).await.unwrap();
        queue.claim("killed", Duration::from_millis(10), 0).await.unwrap().unwrap();
        assert!(queue.claim("w", LEASE, 100).await.unwrap().is_none(), "{name}");
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Dead, "{name}");
        assert!(job.error.unwrap().contains("lease expired"), "{name}");
    }
}

#[tokio::test]
async fn cancel_stops_a_queued_job_at_once_and_a_running_one_at_its_next_heartbeat() {
    for Fixture { name, queue, .. } in queues().await {
        let queued = queue.enqueue("{}", 3, 0).await.unwrap();
        assert_eq!(queue.cancel(Scope::All, &queued, 5).await.unwrap(), Some(JobState::Canceled), "{name}");
        let running = queue.enqueue("{}", 3, 0).await.unwrap();
        queue.claim("w", LEASE, 10).await.unwrap().unwrap();
        assert_eq!(queue.cancel(Scope::All, &running, 20).await.unwrap(), Some(JobState::Running), "{name}: flagged");
        assert!(!queue.heartbeat(&running, "w", LEASE, 30).await.unwrap(), "{name}: the worker learns of it");
        assert!(queue.finish_canceled(&running, "w", 40).await.unwrap(), "{name}");
        assert_eq!(queue.get(Scope::All, &running).await.unwrap().unwrap().state, JobState::Canceled, "{name}");
        assert_eq!(queue.cancel(Scope::All, "no-such-job", 50).await.unwrap(), None, "{name}");
        let counts = queue.counts().await.unwrap();
        assert_eq!(counts, vec![(JobState::Canceled, 2)], "{name}");
    }
}

#[tokio::test]
async fn concurrent_claimers_never_receive_the_same_job() {
    for Fixture { name, queue, .. } in queues().await {
        for i in 0..40 {
            queue.enqueue(&format!("{i}"), 3, 0).await.unwrap();
        }
        let mut tasks = Vec::new();
        for w in 0..6 {
            let queue = queue.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = queue.claim(&format!("w{w}"), LEASE, 1).await.unwrap() {
                    mine.push(job.id);
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!((all.len(), unique.len()), (40, 40), "{name}");
    }
}

#[tokio::test]
async fn progress_is_kept_across_a_reclaim_and_refused_to_a_worker_that_lost_the_job() {
    for Fixture { name, queue, .. } in queues().await {
        let id = queue.enqueue("{}", 3, 0).await.unwrap();
        queue.claim("w1", Duration::from_millis(100), 0).await.unwrap().unwrap();
        assert!(
            queue
                .progress(
                    &id,
                    "w1",
                    Progress { done: 1, total: 3, succeeded: 1, results: "[\"a\"]" },
                    Duration::from_millis(100),
                    50
                )
                .await
                .unwrap(),
            "{name}"
        );
        let again = queue.claim("w2", LEASE, 151).await.unwrap().expect("reclaimed after the extended lease");
        assert_eq!(
            (again.progress_done, again.progress_total, again.results.as_deref()),
            (1, 3, Some("[\"a\"]")),
            "{name}"
        );
        assert!(
            !queue
                .progress(&id, "w1", Progress { done: 2, total: 3, succeeded: 2, results: "[]" }, LEASE, 160)
                .await
                .unwrap(),
            "{name}: w1 lost the job"
        );
    }
}

#[tokio::test]
async fn listings_page_newest_first_with_a_cursor_and_filter_by_state() {
    for Fixture { name, queue, .. } in queues().await {
        let ids = enqueue_n(&queue, 5).await;
        queue.cancel(Scope::All, &ids[1], 200).await.unwrap();
        let first = queue.list(Scope::All, None, None, 2).await.unwrap();
        let page = |p: &atelier_storage::JobPage| p.jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>();
        assert_eq!(page(&first), [ids[4].clone(), ids[3].clone()], "{name}");
        let second = queue.list(Scope::All, None, first.next, 2).await.unwrap();
        assert_eq!(page(&second), [ids[2].clone(), ids[1].clone()], "{name}");
        let last = queue.list(Scope::All, None, second.next, 2).await.unwrap();
        assert_eq!((page(&last), last.next), (vec![ids[0].clone()], None), "{name}");
        let canceled = queue.list(Scope::All, Some(JobState::Canceled), None, 10).await.unwrap();
        assert_eq!(page(&canceled), [ids[1].clone()], "{name}");
    }
}

#[tokio::test]
async fn postgres_subscribers_hear_of_new_jobs_from_any_connection() {
    for Fixture { name, queue, .. } in queues().await {
        let Some(mut signal) = queue.subscribe().await.unwrap() else {
            assert_eq!(name, "sqlite", "only SQLite goes without a signal");
            continue;
        };
        let other = queue.clone();
        tokio::spawn(async move { other.enqueue("{}", 1, 0).await.unwrap() });
        tokio::time::timeout(Duration::from_secs(5), signal.next()).await.expect("woken").unwrap();
    }
}

#[tokio::test]
async fn the_oldest_queued_job_is_the_longest_waiting_one_whatever_else_ran_before_it() {
    for Fixture { name, queue, .. } in queues().await {
        assert_eq!(queue.oldest_queued_at().await.unwrap(), None, "{name}: nothing queued");
        let first = queue.enqueue("{}", 3, 100).await.unwrap();
        queue.enqueue("{}", 3, 200).await.unwrap();
        queue.enqueue("{}", 3, 300).await.unwrap();
        assert_eq!(queue.oldest_queued_at().await.unwrap(), Some(100), "{name}");
        // Once the first is running, the second waits longest; a retry waits from its submission.
        assert_eq!(queue.claim("w1", LEASE, 400).await.unwrap().unwrap().id, first, "{name}");
        assert_eq!(queue.oldest_queued_at().await.unwrap(), Some(200), "{name}");
        queue.fail(&first, "w1", "boom", true, BACKOFF, 500).await.unwrap();
        assert_eq!(queue.oldest_queued_at().await.unwrap(), Some(100), "{name}: back in the queue");
        let left = queue.list(Scope::All, Some(JobState::Queued), None, 10).await.unwrap();
        for job in &left.jobs {
            queue.cancel(Scope::All, &job.id, 600).await.unwrap();
        }
        assert_eq!(queue.oldest_queued_at().await.unwrap(), None, "{name}: all canceled");
    }
}

#[tokio::test]
async fn only_jobs_waiting_for_a_worker_count_as_queued() {
    for Fixture { name, queue, .. } in queues().await {
        assert_eq!(queue.queued().await.unwrap(), 0, "{name}");
        for _ in 0..4 {
            queue.enqueue("{}", 3, 1_000).await.unwrap();
        }
        assert_eq!(queue.queued().await.unwrap(), 4, "{name}");
        let claimed = queue.claim("w", LEASE, 1_001).await.unwrap().unwrap();
        let canceled = queue.enqueue("{}", 3, 1_002).await.unwrap();
        queue.cancel(Scope::All, &canceled, 1_003).await.unwrap();
        assert_eq!(queue.queued().await.unwrap(), 3, "{name}: running and canceled jobs do not count");
        assert!(queue.complete(&claimed.id, "w", 1_004).await.unwrap(), "{name}");
        assert_eq!(queue.queued().await.unwrap(), 3, "{name}");
    }
}
