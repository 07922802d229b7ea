//! Credits and what jobs cost: grants and takes, charges at enqueue under concurrency, the
//! concurrent-jobs quota, refunds when jobs end and charges again on retry. On SQLite
//! always and on PostgreSQL when `ATELIER_TEST_POSTGRES` names a server (CI requires it).
//! After every scenario the ledger must sum to the balance.

use std::time::Duration;

use atelier_storage::{
    Backoff, Credits, Db, Enqueue, Error, JobState, LedgerKind, Progress, Queue, Quota, Role, Scope, Users,
};

mod support;

use support::{fixtures, Fixture};

/// A user holding `balance` credits.
async fn funded(db: &Db, email: &str, balance: i64) -> String {
    let id = Users::new(db.clone()).create(email, "h", Role::User, 1).await.unwrap().unwrap().id;
    if balance > 0 {
        Credits::new(db.clone()).grant(&id, balance, None, Some("welcome"), 1).await.unwrap().unwrap();
    }
    id
}

async fn assert_balanced(db: &Db, user: &str, expected: i64, context: &str) {
    let credits = Credits::new(db.clone());
    let balance = credits.balance(user).await.unwrap().unwrap();
    assert_eq!(balance, expected, "{context}: balance");
    assert_eq!(credits.ledger_total(user).await.unwrap(), balance, "{context}: the ledger sums to the balance");
}

/// A job of one item at one credit, from an owner allowed three jobs at once.
fn limited(owner: &str) -> Enqueue<'_> {
    Enqueue { max_concurrent: Some(3), ..paid(owner, 1, 1) }
}

/// A paid job of `items` at `cost` each.
fn paid<'a>(owner: &'a str, items: i64, cost: i64) -> Enqueue<'a> {
    Enqueue { owner: Some(owner), items, cost_per_item: cost, ..Enqueue::new("{}", 3) }
}

const LEASE: Duration = Duration::from_secs(30);
const BACKOFF: Backoff = Backoff { base: Duration::from_millis(1), max: Duration::from_millis(1) };

/// Claims the job (late enough that it is runnable) and reports all its items done,
/// `succeeded` of them successfully.
async fn run(queue: &Queue, id: &str, succeeded: i64, total: i64) {
    let job = queue.claim("w", LEASE, 1_000_000).await.unwrap().unwrap();
    assert_eq!(job.id, id);
    let progress = Progress { done: total, total, succeeded, results: "{}" };
    assert!(queue.progress(id, "w", progress, LEASE, 1_000_001).await.unwrap());
}

#[tokio::test]
async fn grants_and_takes_never_take_a_balance_below_zero_and_the_ledger_explains_it() {
    for Fixture { name, db, .. } in fixtures().await {
        let (ann, admin) = (funded(&db, "ann@example.com", 0).await, funded(&db, "root@example.com", 0).await);
        let credits = Credits::new(db.clone());
        assert_eq!(credits.grant(&ann, 50, Some(&admin), Some("trial"), 10).await.unwrap(), Some(50), "{name}");
        assert_eq!(credits.take(&ann, 20, Some(&admin), None, 11).await.unwrap(), Some(30), "{name}");
        match credits.take(&ann, 31, Some(&admin), None, 12).await {
            Err(Error::InsufficientCredits { needed: 31, available: 30 }) => {}
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(credits.charge(&ann, 30, "render abc", 13).await.unwrap(), Some(0), "{name}");
        assert_eq!(credits.refund(&ann, 5, "render abc", 14).await.unwrap(), Some(5), "{name}");
        assert!(credits.grant(&ann, 0, None, None, 15).await.is_err(), "{name}: amounts are positive");
        assert!(credits.take(&ann, -5, None, None, 15).await.is_err(), "{name}");
        assert_eq!(credits.grant("nobody", 5, None, None, 15).await.unwrap(), None, "{name}");
        assert_balanced(&db, &ann, 5, name).await;

        let first = credits.history(&ann, None, 3).await.unwrap();
        let rows = |page: &atelier_storage::LedgerPage| {
            page.entries.iter().map(|e| (e.seq, e.kind, e.amount, e.balance_after)).collect::<Vec<_>>()
        };
        assert_eq!(
            rows(&first),
            [(4, LedgerKind::Refund, 5, 5), (3, LedgerKind::Charge, -30, 0), (2, LedgerKind::Take, -20, 30)],
            "{name}"
        );
        let second = credits.history(&ann, first.next, 3).await.unwrap();
        assert_eq!((rows(&second), second.next), (vec![(1, LedgerKind::Grant, 50, 50)], None), "{name}");
        assert_eq!(second.entries[0].actor_id.as_deref(), Some(admin.as_str()), "{name}");
        assert_eq!(second.entries[0].note.as_deref(), Some("trial"), "{name}");
    }
}

#[tokio::test]
async fn a_hundred_concurrent_enqueues_paid_from_a_balance_for_ten_give_exactly_ten_jobs() {
    for Fixture { name, db, .. } in fixtures().await {
        let ann = funded(&db, "ann@example.com", 60).await;
        let queue = Queue::new(db.clone());
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (queue, ann) = (queue.clone(), ann.clone());
                tokio::spawn(async move { queue.submit(paid(&ann, 2, 3), 5).await })
            })
            .collect();
        let (mut ok, mut short) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Error::InsufficientCredits { needed: 6, available: 0 }) => short += 1,
                Err(other) => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!((ok, short), (10, 90), "{name}");
        assert_balanced(&db, &ann, 0, name).await;
        assert_eq!(queue.list(Scope::User(&ann), None, None, 1000).await.unwrap().jobs.len(), 10, "{name}");
    }
}

#[tokio::test]
async fn the_concurrent_jobs_quota_refuses_one_job_too_many_and_charges_nothing_for_it() {
    for Fixture { name, db, .. } in fixtures().await {
        let ann = funded(&db, "ann@example.com", 100).await;
        let queue = Queue::new(db.clone());
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (queue, ann) = (queue.clone(), ann.clone());
                tokio::spawn(async move { queue.submit(limited(&ann), 5).await })
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(id) => ids.push(id),
                Err(Error::QuotaExceeded { what: Quota::Jobs, limit: 3, used: 3 }) => {}
                Err(other) => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(ids.len(), 3, "{name}");
        assert_balanced(&db, &ann, 97, name).await;

        // Another user's jobs do not count against ann's quota, and a finished job frees a place.
        let bob = funded(&db, "bob@example.com", 10).await;
        queue.submit(limited(&bob), 6).await.unwrap();
        let job = queue.claim("w", LEASE, 10).await.unwrap().unwrap();
        assert!(queue.complete(&job.id, "w", 11).await.unwrap(), "{name}");
        queue.submit(limited(&ann), 12).await.unwrap();
        assert!(queue.submit(limited(&ann), 13).await.is_err(), "{name}");
    }
}

#[tokio::test]
async fn a_job_that_ends_refunds_what_did_not_buy_a_succeeded_item() {
    for Fixture { name, db, .. } in fixtures().await {
        let ann = funded(&db, "ann@example.com", 1_000).await;
        let queue = Queue::new(db.clone());

        // Succeeded with 3 of 4 items: one item refunded.
        let partial = queue.submit(paid(&ann, 4, 5), 1).await.unwrap();
        assert_balanced(&db, &ann, 980, name).await;
        run(&queue, &partial, 3, 4).await;
        assert!(queue.complete(&partial, "w", 12).await.unwrap());
        let job = queue.get(Scope::All, &partial).await.unwrap().unwrap();
        assert_eq!((job.charged, job.refunded, job.items_succeeded), (20, 5, 3), "{name}");
        assert_balanced(&db, &ann, 985, name).await;

        // Failed at once (bad input) after 1 item: three refunded.
        let failed = queue.submit(paid(&ann, 4, 5), 20).await.unwrap();
        run(&queue, &failed, 1, 4).await;
        assert_eq!(queue.fail(&failed, "w", "bad", false, BACKOFF, 21).await.unwrap(), Some(JobState::Failed));
        assert_balanced(&db, &ann, 980, name).await;

        // Dead after its last attempt: everything refunded. A retryable failure refunds nothing yet.
        let dead = queue.submit(Enqueue { max_attempts: 2, ..paid(&ann, 2, 5) }, 30).await.unwrap();
        queue.claim("w", LEASE, 31).await.unwrap().unwrap();
        assert_eq!(queue.fail(&dead, "w", "outage", true, BACKOFF, 32).await.unwrap(), Some(JobState::Queued));
        assert_balanced(&db, &ann, 970, name).await;
        queue.claim("w", LEASE, 40).await.unwrap().unwrap();
        assert_eq!(queue.fail(&dead, "w", "outage", true, BACKOFF, 41).await.unwrap(), Some(JobState::Dead));
        assert_balanced(&db, &ann, 980, name).await;

        // Buried after its worker died on the last attempt: refunded.
        let buried = queue.submit(Enqueue { max_attempts: 1, ..paid(&ann, 2, 5) }, 50).await.unwrap();
        queue.claim("gone", Duration::from_millis(5), 51).await.unwrap().unwrap();
        assert!(queue.claim("w", LEASE, 100).await.unwrap().is_none());
        assert_eq!(queue.get(Scope::All, &buried).await.unwrap().unwrap().state, JobState::Dead, "{name}");
        assert_balanced(&db, &ann, 980, name).await;

        // Canceled while queued: all refunded; while running after 1 of 2: one refunded.
        let queued = queue.submit(paid(&ann, 2, 5), 60).await.unwrap();
        assert_eq!(queue.cancel(Scope::User(&ann), &queued, 61).await.unwrap(), Some(JobState::Canceled));
        assert_balanced(&db, &ann, 980, name).await;
        let running = queue.submit(paid(&ann, 2, 5), 70).await.unwrap();
        run(&queue, &running, 1, 2).await;
        assert_eq!(queue.cancel(Scope::All, &running, 71).await.unwrap(), Some(JobState::Running), "{name}");
        assert!(queue.finish_canceled(&running, "w", 72).await.unwrap());
        assert_balanced(&db, &ann, 975, name).await;

        let refunds = Credits::new(db.clone()).history(&ann, None, 100).await.unwrap();
        let refunded: Vec<_> = refunds.entries.iter().filter(|e| e.kind == LedgerKind::Refund).collect();
        assert_eq!(refunded.len(), 6, "{name}: one refund per ended job, none for the retryable failure");
        assert!(refunded.iter().all(|e| e.job_id.is_some()), "{name}");
    }
}

#[tokio::test]
async fn a_retry_charges_again_for_the_items_left_so_the_owner_pays_for_successes_only() {
    for Fixture { name, db, .. } in fixtures().await {
        let ann = funded(&db, "ann@example.com", 40).await;
        let queue = Queue::new(db.clone());
        let id = queue.submit(Enqueue { max_attempts: 1, ..paid(&ann, 4, 10) }, 1).await.unwrap();
        run(&queue, &id, 1, 4).await;
        queue.fail(&id, "w", "outage", true, BACKOFF, 12).await.unwrap();
        assert_balanced(&db, &ann, 30, name).await;

        Credits::new(db.clone()).take(&ann, 10, None, None, 13).await.unwrap();
        match queue.retry(Scope::User(&ann), &id, 14).await {
            Err(Error::InsufficientCredits { needed: 30, available: 20 }) => {}
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(queue.get(Scope::All, &id).await.unwrap().unwrap().state, JobState::Dead, "{name}: unchanged");

        Credits::new(db.clone()).grant(&ann, 10, None, None, 15).await.unwrap();
        assert!(queue.retry(Scope::User(&ann), &id, 16).await.unwrap(), "{name}");
        assert_balanced(&db, &ann, 0, name).await;
        run(&queue, &id, 3, 4).await;
        assert!(queue.complete(&id, "w", 20).await.unwrap());
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!((job.charged - job.refunded, job.items_succeeded), (30, 3), "{name}: 3 items, 10 each");
        assert_balanced(&db, &ann, 10, name).await;
    }
}

#[tokio::test]
async fn unpaid_jobs_write_no_ledger_and_a_paying_owner_must_exist() {
    for Fixture { name, db, .. } in fixtures().await {
        let queue = Queue::new(db.clone());
        let id = queue.enqueue("{}", 1, 0).await.unwrap();
        queue.claim("w", LEASE, 1).await.unwrap().unwrap();
        assert!(queue.complete(&id, "w", 2).await.unwrap(), "{name}");
        let ghost = queue.submit(paid("no-such-user", 1, 1), 3).await;
        assert!(matches!(ghost, Err(Error::Conflict(_))), "{name}: {ghost:?}");
        let free = funded(&db, "free@example.com", 0).await;
        queue.submit(paid(&free, 3, 0), 4).await.unwrap();
        assert_balanced(&db, &free, 0, name).await;
        assert!(Credits::new(db.clone()).history(&free, None, 10).await.unwrap().entries.is_empty(), "{name}");
    }
}
