//! The queue's promise under a crash: two `atelier worker` processes share a PostgreSQL
//! queue and a blob folder; one is killed with SIGKILL in the middle of a job. Every job
//! must still end `succeeded`, exactly once, with each output stored once.
//! Needs `ATELIER_TEST_POSTGRES` (scripts/test.sh sets it; CI requires it).

mod common;

use std::time::{Duration, Instant};

use atelier_imaging::Pipeline;
use atelier_storage::{now_ms, BlobConfig, BlobKey, BlobStore, JobState, ObjectBlobStore, Queue, Scope};
use atelier_worker::payload::JobItem;
use atelier_worker::{ItemResult, JobPayload, JobResults};
use common::spawn_worker;

const JOBS: usize = 3;
const ITEMS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_nothing_and_duplicates_nothing() {
    let Some((url, db)) = common::scratch_database().await else { return };
    let queue = Queue::new(db);
    let data = tempfile::tempdir().unwrap();
    let blobs = ObjectBlobStore::open(&BlobConfig::Local { root: data.path().join("blobs") }).unwrap();

    let photo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/chelsea.png")).unwrap();
    let source = BlobKey::parse("originals/chelsea").unwrap();
    blobs.put(&source, photo.into()).await.unwrap();
    // Enough work per item that a kill lands mid-job: upscale, blur, encode.
    let pipeline =
        Pipeline::parse_inline(&["resize:width=800,upscale=true", "blur:sigma=2", "convert:format=png"]).unwrap();
    let mut ids = Vec::new();
    for _ in 0..JOBS {
        let items = (0..ITEMS).map(|_| JobItem { source: source.to_string(), name: None }).collect();
        let payload = serde_json::to_string(&JobPayload::new(&pipeline, items)).unwrap();
        ids.push(queue.enqueue(&payload, 5, now_ms()).await.unwrap());
    }

    let victim = spawn_worker(&url, data.path(), "kill-test");
    let survivor = spawn_worker(&url, data.path(), "kill-test");
    let victim_prefix = format!("kill-test-{}-", victim.0.id());
    // Kill the victim once it has finished at least one item of a job it holds.
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed_job = loop {
        assert!(Instant::now() < deadline, "the victim never got mid-job");
        let mut found = None;
        for id in &ids {
            let job = queue.get(Scope::All, id).await.unwrap().unwrap();
            let held = job.state == JobState::Running
                && job.lease_owner.as_deref().is_some_and(|o| o.starts_with(&victim_prefix));
            if held && job.progress_done >= 1 && job.progress_done < ITEMS as i64 {
                found = Some(id.clone());
            }
        }
        if let Some(id) = found {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(victim); // SIGKILL: no cleanup, no last words

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut states = Vec::new();
        for id in &ids {
            states.push(queue.get(Scope::All, id).await.unwrap().unwrap().state);
        }
        if states.iter().all(|s| s.is_final()) {
            assert!(states.iter().all(|s| *s == JobState::Succeeded), "{states:?}");
            break;
        }
        assert!(Instant::now() < deadline, "jobs did not finish: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(survivor);

    for id in &ids {
        let job = queue.get(Scope::All, id).await.unwrap().unwrap();
        let results: JobResults = serde_json::from_str(job.results.as_deref().unwrap()).unwrap();
        assert_eq!(results.items.len(), ITEMS);
        assert!(
            results.items.iter().all(|r| matches!(r, Some(ItemResult::Succeeded { outputs }) if outputs.len() == 1)),
            "{id}"
        );
        let stored = blobs.list(&BlobKey::job_file(id, "images").unwrap()).await.unwrap();
        assert_eq!(stored.len(), ITEMS, "job {id}: each output stored exactly once");
        if *id == killed_job {
            assert!(job.attempts >= 2, "the killed job was claimed again");
        }
    }
}
