//! The worker registry's contract (register, heartbeat, stop, census), on SQLite always and
//! on PostgreSQL when `ATELIER_TEST_POSTGRES` names a server (CI requires it). Time is
//! passed in, so staleness and forgetting are exact.

use std::time::Duration;

use atelier_storage::workers::FORGET_AFTER;
use atelier_storage::{Census, Db, Workers};

struct Fixture {
    name: &'static str,
    workers: Workers,
    _dir: Option<tempfile::TempDir>,
}

async fn fixtures() -> Vec<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
    let mut out = vec![Fixture { name: "sqlite", workers: migrated(&url).await, _dir: Some(dir) }];
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(base) => out.push(Fixture {
            name: "postgres",
            workers: migrated(&Db::create_scratch_database(&base).await.unwrap()).await,
            _dir: None,
        }),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: run the tests through scripts/test.sh")
        }
        Err(_) => {}
    }
    out
}

async fn migrated(url: &str) -> Workers {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    Workers::new(db)
}

const STALE_AFTER: Duration = Duration::from_secs(30);
const DAY: i64 = 24 * 60 * 60 * 1000;

#[tokio::test]
async fn a_worker_is_live_while_it_beats_and_stale_once_its_heartbeat_is_older_than_stale_after() {
    for Fixture { name, workers, .. } in fixtures().await {
        assert_eq!(workers.census(0, STALE_AFTER).await.unwrap(), Census::default(), "{name}: nobody yet");
        workers.register("host-1-0", "host", 1, 1_000).await.unwrap();
        workers.register("host-1-1", "host", 1, 1_000).await.unwrap();
        assert_eq!(workers.census(31_000, STALE_AFTER).await.unwrap(), Census { live: 2, stale: 0 }, "{name}");
        assert!(workers.heartbeat("host-1-0", 3, 20_000).await.unwrap(), "{name}");
        assert_eq!(
            workers.census(31_001, STALE_AFTER).await.unwrap(),
            Census { live: 1, stale: 1 },
            "{name}: host-1-1 went silent at 1_000"
        );
        assert!(workers.heartbeat("host-1-1", 0, 32_000).await.unwrap(), "{name}: a late beat revives it");
        assert_eq!(workers.census(32_000, STALE_AFTER).await.unwrap(), Census { live: 2, stale: 0 }, "{name}");
        let listed = workers.list().await.unwrap();
        let first = listed.iter().find(|w| w.id == "host-1-0").unwrap();
        assert_eq!(
            (first.hostname.as_str(), first.pid, first.started_at, first.heartbeat_at, first.jobs_done),
            ("host", 1, 1_000, 20_000, 3),
            "{name}"
        );
        assert!(!workers.heartbeat("never-registered", 0, 32_000).await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn a_stopped_worker_is_neither_live_nor_stale_and_a_late_heartbeat_does_not_revive_it() {
    for Fixture { name, workers, .. } in fixtures().await {
        workers.register("w", "host", 7, 0).await.unwrap();
        assert!(workers.stop("w", 12, 5_000).await.unwrap(), "{name}");
        assert!(!workers.stop("w", 12, 6_000).await.unwrap(), "{name}: stopping twice is refused");
        assert!(!workers.heartbeat("w", 13, 6_000).await.unwrap(), "{name}: it must register again");
        assert_eq!(workers.census(100_000, STALE_AFTER).await.unwrap(), Census::default(), "{name}");
        let stopped = &workers.list().await.unwrap()[0];
        assert_eq!((stopped.stopped_at, stopped.jobs_done), (Some(5_000), 12), "{name}");

        // A restarted process that reuses the name starts a fresh row.
        workers.register("w", "host", 8, 200_000).await.unwrap();
        let restarted = &workers.list().await.unwrap()[0];
        assert_eq!(
            (restarted.pid, restarted.started_at, restarted.stopped_at, restarted.jobs_done),
            (8, 200_000, None, 0),
            "{name}"
        );
        assert_eq!(workers.census(200_000, STALE_AFTER).await.unwrap(), Census { live: 1, stale: 0 }, "{name}");
    }
}

#[tokio::test]
async fn the_census_forgets_workers_stopped_or_silent_for_longer_than_a_day() {
    for Fixture { name, workers, .. } in fixtures().await {
        assert_eq!(FORGET_AFTER, Duration::from_millis(DAY as u64));
        for id in ["stopped", "silent", "beating"] {
            workers.register(id, "host", 1, 0).await.unwrap();
        }
        workers.stop("stopped", 0, 10).await.unwrap();
        workers.heartbeat("beating", 0, DAY).await.unwrap();
        assert_eq!(
            workers.census(DAY, STALE_AFTER).await.unwrap(),
            Census { live: 1, stale: 1 },
            "{name}: a day old is not yet forgotten"
        );
        assert_eq!(workers.list().await.unwrap().len(), 3, "{name}");
        assert_eq!(workers.census(DAY + 11, STALE_AFTER).await.unwrap(), Census { live: 1, stale: 0 }, "{name}");
        let left: Vec<String> = workers.list().await.unwrap().into_iter().map(|w| w.id).collect();
        assert_eq!(left, ["beating"], "{name}");
    }
}

#[tokio::test]
async fn the_workers_seen_since_a_time_are_those_heard_from_since_most_recent_first() {
    for Fixture { name, workers, .. } in fixtures().await {
        assert!(workers.seen_since(0).await.unwrap().is_empty(), "{name}: nobody yet");
        for id in ["old", "beating", "stopped"] {
            workers.register(id, "host", 1, 1_000).await.unwrap();
        }
        workers.heartbeat("beating", 4, 50_000).await.unwrap();
        workers.stop("stopped", 2, 40_000).await.unwrap();
        let seen = |records: Vec<atelier_storage::WorkerRecord>| records.into_iter().map(|w| w.id).collect::<Vec<_>>();
        assert_eq!(seen(workers.seen_since(10_000).await.unwrap()), ["beating", "stopped"], "{name}");
        assert_eq!(seen(workers.seen_since(1_000).await.unwrap()), ["beating", "stopped", "old"], "{name}");
        let stopped = workers.seen_since(40_000).await.unwrap().into_iter().find(|w| w.id == "stopped").unwrap();
        assert_eq!((stopped.stopped_at, stopped.jobs_done), (Some(40_000), 2), "{name}");
        assert!(workers.seen_since(50_001).await.unwrap().is_empty(), "{name}");
    }
}
