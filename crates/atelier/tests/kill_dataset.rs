//! A dataset job's promise under a crash: two `atelier worker` processes share a PostgreSQL
//! queue and a blob folder; one is killed with SIGKILL in the middle of a 500-item dataset
//! job. The job must still succeed, with each item processed once in the output (one image,
//! two variants, one record each) and a complete `metadata.json`.
//! Needs `ATELIER_TEST_POSTGRES` (scripts/test.sh sets it; CI requires it).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use atelier_dataset::{ItemStatus, JobSpec, MetadataDocument};
use atelier_storage::{
    now_ms, BlobConfig, BlobKey, BlobStore, Datasets, JobState, NewDatasetItem, ObjectBlobStore, Queue, Scope,
    Sha256Hex,
};
use atelier_worker::DatasetPayload;
use common::spawn_worker;
use sha2::{Digest, Sha256};

/// Items the filter selects; as many again are left out.
const SELECTED: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_dataset_job_leaves_each_item_processed_once_and_metadata_json_complete() {
    let Some((url, db)) = common::scratch_database().await else { return };
    let queue = Queue::new(db.clone());
    let datasets = Datasets::new(db);
    let data = tempfile::tempdir().unwrap();
    let blobs = ObjectBlobStore::open(&BlobConfig::Local { root: data.path().join("blobs") }).unwrap();

    let photo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/rocket.jpg")).unwrap();
    let digest: [u8; 32] = Sha256::digest(&photo).into();
    let sha = Sha256Hex::from_digest(&digest);
    blobs.put(&BlobKey::original(&sha), photo.into()).await.unwrap();
    // Every other item is from 2010, which the filter leaves out.
    let items: Vec<NewDatasetItem> = (0..2 * SELECTED)
        .map(|i| NewDatasetItem {
            name: format!("photos/{}.jpg", 10_000 + i),
            stem: format!("photos/{}", 10_000 + i),
            image_id: format!("image-{i}"),
            sha256: sha.as_str().to_string(),
            metadata:
                serde_json::json!({"id": (10_000 + i).to_string(), "year": if i % 2 == 0 { "2014" } else { "2010" }})
                    .to_string(),
        })
        .collect();
    let dataset = datasets.create("owner", "rockets", "{}", false, &items, now_ms()).await.unwrap();
    let spec: JobSpec = serde_json::from_value(serde_json::json!({
        "filter": "year >= 2012",
        "pipeline": [{"op": "resize", "width": 160}],
        "augment": {"variants": 2, "seed": 7},
        "batch_size": 8,
    }))
    .unwrap();
    let payload = serde_json::to_string(&DatasetPayload::new(&dataset.id, spec)).unwrap();
    let id = queue.enqueue(&payload, 5, now_ms()).await.unwrap();

    // The victim alone first, so it is the one holding the job when it is killed; the
    // survivor starts once it is dead.
    let victim = spawn_worker(&url, data.path(), "kill-dataset");
    let victim_prefix = format!("kill-dataset-{}-", victim.0.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the victim never got mid-job");
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        let held = job.state == JobState::Running
            && job.lease_owner.as_deref().is_some_and(|owner| owner.starts_with(&victim_prefix));
        if held && job.progress_done >= 16 && job.progress_done < SELECTED as i64 / 2 {
            break;
        }
        assert!(!job.state.is_final(), "the job ended before the kill: the victim never held it");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(victim); // SIGKILL: no cleanup, no last words
    let survivor = spawn_worker(&url, data.path(), "kill-dataset");

    let deadline = Instant::now() + Duration::from_secs(300);
    let job = loop {
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        if job.state.is_final() {
            break job;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {:?}", job.state);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(survivor);
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.error);
    assert!(job.attempts >= 2, "the killed job was claimed again");
    assert_eq!((job.progress_done, job.progress_total), (SELECTED as i64, SELECTED as i64));

    let images = blobs.list(&BlobKey::job_file(&id, "images").unwrap()).await.unwrap();
    let variants = blobs.list(&BlobKey::job_file(&id, "augmentation").unwrap()).await.unwrap();
    assert_eq!(images.len(), SELECTED, "each item's image stored once");
    assert_eq!(variants.len(), 2 * SELECTED, "each item's two variants stored once");

    let text = blobs.get(&BlobKey::job_file(&id, "metadata.json").unwrap()).await.unwrap();
    let document: MetadataDocument = serde_json::from_slice(&text).unwrap();
    assert_eq!(document.items.len(), SELECTED);
    assert_eq!(document.summary.items, 2 * SELECTED as u64);
    assert_eq!(document.summary.filtered_out, SELECTED as u64);
    assert_eq!(document.summary.succeeded, SELECTED as u64);
    assert_eq!(document.summary.files, 3 * SELECTED as u64);
    let indices: HashSet<u64> = document.items.iter().map(|item| item.index).collect();
    assert_eq!(indices.len(), SELECTED, "each item listed once");
    for item in &document.items {
        assert_eq!(item.index % 2, 0, "only the items the filter selects");
        assert_eq!(item.status, ItemStatus::Succeeded);
        assert_eq!(item.metadata.get("year"), Some("2014"));
        assert_eq!(item.image.as_ref().unwrap().width, 160);
        assert_eq!(item.variants.len(), 2);
        assert_eq!(item.variants[1].output.file, format!("augmentation/photos/{}-v1.jpg", 10_000 + item.index));
    }
}
