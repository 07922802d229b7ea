//! The worker driven one step at a time against a real queue (SQLite, and PostgreSQL when
//! `ATELIER_TEST_POSTGRES` is set) and a real blob folder, with real photos.

use std::sync::Arc;
use std::time::Duration;

use atelier_imaging::Pipeline;
use atelier_storage::{now_ms, BlobConfig, BlobKey, BlobStore, Db, JobState, ObjectBlobStore, Progress, Queue, Scope};
use atelier_worker::payload::JobItem;
use atelier_worker::{ItemResult, JobPayload, JobResults, Outcome, Worker, WorkerConfig};

struct Setup {
    name: &'static str,
    queue: Queue,
    blobs: Arc<dyn BlobStore>,
    _dir: tempfile::TempDir,
}

async fn setups() -> Vec<Setup> {
    let mut out = Vec::new();
    let mut urls = vec![("sqlite", None)];
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(base) => urls.push(("postgres", Some(base))),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: run the tests through scripts/test.sh")
        }
        Err(_) => {}
    }
    for (name, base) in urls {
        let dir = tempfile::tempdir().unwrap();
        let url = match base {
            None => format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display()),
            Some(base) => Db::create_scratch_database(&base).await.unwrap(),
        };
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let blobs = ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap();
        out.push(Setup { name, queue: Queue::new(db), blobs: Arc::new(blobs), _dir: dir });
    }
    out
}

fn config(worker_id: &str) -> WorkerConfig {
    WorkerConfig { worker_id: worker_id.into(), heartbeat_every: Duration::from_millis(50), ..WorkerConfig::default() }
}

async fn store(blobs: &dyn BlobStore, name: &str, bytes: Vec<u8>) -> JobItem {
    let key = BlobKey::parse(&format!("originals/{name}")).unwrap();
    blobs.put(&key, bytes.into()).await.unwrap();
    JobItem { source: key.to_string(), name: Some(name.into()) }
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../test-data/photos/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn submit(queue: &Queue, steps: &[&str], items: Vec<JobItem>) -> String {
    let payload = JobPayload::new(&Pipeline::parse_inline(steps).unwrap(), items);
    queue.enqueue(&serde_json::to_string(&payload).unwrap(), 3, now_ms()).await.unwrap()
}

fn results(queue_job: &atelier_storage::Job) -> JobResults {
    serde_json::from_str(queue_job.results.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn a_job_runs_every_item_and_stores_outputs_under_deterministic_keys() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let items =
            vec![store(&*blobs, "a", photo("rocket.jpg")).await, store(&*blobs, "b", photo("chelsea.png")).await];
        let id =
            submit(&queue, &["thumbnail:width=64", "augment:variants=2,seed=1", "convert:format=webp"], items).await;
        let worker = Worker::new(queue.clone(), blobs.clone(), config("w"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Succeeded },
            "{name}"
        );
        assert_eq!(worker.try_run_one().await.unwrap(), Outcome::Empty, "{name}");
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!((job.progress_done, job.progress_total), (2, 2), "{name}");
        let keys: Vec<String> = results(&job)
            .items
            .into_iter()
            .flat_map(|r| match r {
                Some(ItemResult::Succeeded { outputs }) => outputs.into_iter().map(|o| o.key).collect::<Vec<_>>(),
                other => panic!("{name}: {other:?}"),
            })
            .collect();
        let expected: Vec<String> =
            ["0-v0", "0-v1", "1-v0", "1-v1"].iter().map(|n| format!("jobs/{id}/images/{n}.webp")).collect();
        assert_eq!(keys, expected, "{name}");
        let listed = blobs.list(&BlobKey::job_file(&id, "images").unwrap()).await.unwrap();
        assert_eq!(listed.len(), 4, "{name}: nothing duplicated");
    }
}

#[tokio::test]
async fn a_bad_image_fails_its_item_and_the_others_still_succeed() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let good = photo("rocket.jpg");
        let items = vec![
            store(&*blobs, "good", good.clone()).await,
            store(&*blobs, "cut", good[..good.len() / 3].to_vec()).await,
            JobItem { source: "originals/never-uploaded".into(), name: None },
            JobItem { source: "../../etc/passwd".into(), name: None },
        ];
        let id = submit(&queue, &["resize:width=32"], items).await;
        let worker = Worker::new(queue.clone(), blobs.clone(), config("w"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Succeeded },
            "{name}"
        );
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!((job.progress_done, job.items_succeeded), (4, 1), "{name}: only succeeded items are paid for");
        let codes: Vec<String> = results(&job)
            .items
            .into_iter()
            .map(|r| match r.unwrap() {
                ItemResult::Succeeded { .. } => "ok".to_string(),
                ItemResult::Failed { code, .. } => code,
            })
            .collect();
        assert_eq!(codes, ["ok", "truncated_image", "source_missing", "invalid_source"], "{name}");
    }
}

#[tokio::test]
async fn a_job_whose_every_item_fails_ends_failed_without_retries() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let items = vec![store(&*blobs, "junk", b"not an image".to_vec()).await];
        let id = submit(&queue, &["flip"], items).await;
        let worker = Worker::new(queue.clone(), blobs.clone(), config("w"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Failed },
            "{name}"
        );
        assert_eq!(worker.try_run_one().await.unwrap(), Outcome::Empty, "{name}");
    }
}

#[tokio::test]
async fn a_reclaimed_job_skips_the_items_an_earlier_attempt_finished() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let items =
            vec![store(&*blobs, "a", photo("chelsea.bmp")).await, store(&*blobs, "b", photo("chelsea.gif")).await];
        let id = submit(&queue, &["flip"], items).await;
        // A first worker finished item 0, then died (its lease expires at once).
        let dead = queue.claim("dead", Duration::ZERO, now_ms()).await.unwrap().unwrap();
        let partial = JobResults { items: vec![Some(ItemResult::Succeeded { outputs: vec![] }), None] };
        queue
            .progress(
                &dead.id,
                "dead",
                Progress { done: 1, total: 2, succeeded: 1, results: &serde_json::to_string(&partial).unwrap() },
                Duration::ZERO,
                now_ms(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let worker = Worker::new(queue.clone(), blobs.clone(), config("w2"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Succeeded },
            "{name}"
        );
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!((job.attempts, job.items_succeeded), (2, 2), "{name}: the earlier attempt's item counts");
        assert_eq!(results(&job).items[0], partial.items[0], "{name}: item 0 was not redone");
        let listed = blobs.list(&BlobKey::job_file(&id, "images").unwrap()).await.unwrap();
        let keys: Vec<String> = listed.into_iter().map(|m| m.key.to_string()).collect();
        assert_eq!(keys, [format!("jobs/{id}/images/1.png")], "{name}");
    }
}

#[tokio::test]
async fn an_invalid_payload_fails_the_job_at_once() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let id = queue
            .enqueue(
                "{\"version\":1,\"pipeline\":{\"version\":1,\"steps\":[{\"op\":\"nope\"}]},\"items\":[]}",
                3,
                now_ms(),
            )
            .await
            .unwrap();
        let worker = Worker::new(queue.clone(), blobs.clone(), config("w"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Failed },
            "{name}"
        );
        let error = queue.get(Scope::All, &id).await.unwrap().unwrap().error.unwrap();
        assert!(error.contains("steps[0].op: unknown op `nope`"), "{name}: {error}");
    }
}

/// The real blob store, with failure points: every read fails (`outage`), the first read
/// cancels a job first (`cancel_on_first_read`), as a user would mid-job, or every read
/// hangs a while first (`stall`), as a stopped S3 server makes it.
#[derive(Default)]
struct Hooked {
    inner: Option<Arc<dyn BlobStore>>,
    gets: std::sync::atomic::AtomicUsize,
    outage: bool,
    cancel_on_first_read: Option<(Queue, String)>,
    stall: Option<Duration>,
}

impl Hooked {
    fn over(inner: &Arc<dyn BlobStore>) -> Hooked {
        Hooked { inner: Some(inner.clone()), ..Hooked::default() }
    }

    fn inner(&self) -> &dyn BlobStore {
        self.inner.as_deref().expect("Hooked::over sets the store")
    }
}

impl std::fmt::Debug for Hooked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooked")
    }
}

#[async_trait::async_trait]
impl BlobStore for Hooked {
    async fn put(&self, key: &BlobKey, bytes: bytes::Bytes) -> atelier_storage::Result<()> {
        self.inner().put(key, bytes).await
    }
    async fn put_file(&self, key: &BlobKey, path: &std::path::Path) -> atelier_storage::Result<()> {
        self.inner().put_file(key, path).await
    }
    async fn get(&self, key: &BlobKey) -> atelier_storage::Result<bytes::Bytes> {
        let n = self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.outage {
            return Err(atelier_storage::Error::Config("simulated outage".into()));
        }
        if let (0, Some((queue, job_id))) = (n, &self.cancel_on_first_read) {
            queue.cancel(Scope::All, job_id, now_ms()).await?;
        }
        if let Some(stall) = self.stall {
            tokio::time::sleep(stall).await;
        }
        self.inner().get(key).await
    }
    async fn get_range(&self, key: &BlobKey, range: std::ops::Range<u64>) -> atelier_storage::Result<bytes::Bytes> {
        self.inner().get_range(key, range).await
    }
    async fn head(&self, key: &BlobKey) -> atelier_storage::Result<Option<atelier_storage::BlobMeta>> {
        self.inner().head(key).await
    }
    async fn delete(&self, key: &BlobKey) -> atelier_storage::Result<()> {
        self.inner().delete(key).await
    }
    async fn list(&self, prefix: &BlobKey) -> atelier_storage::Result<Vec<atelier_storage::BlobMeta>> {
        self.inner().list(prefix).await
    }
    async fn check(&self) -> atelier_storage::Result<()> {
        self.inner().check().await
    }
}

#[tokio::test]
async fn a_store_outage_fails_the_attempt_and_the_job_is_retried_later() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let items = vec![store(&*blobs, "a", photo("chelsea.bmp")).await];
        let id = submit(&queue, &["flip"], items).await;
        let flaky = Arc::new(Hooked { outage: true, ..Hooked::over(&blobs) });
        let worker = Worker::new(queue.clone(), flaky, config("w"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Queued },
            "{name}"
        );
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert!(job.run_after > now_ms(), "{name}: backing off");
        assert!(job.error.unwrap().contains("simulated outage"), "{name}");
    }
}

#[tokio::test]
async fn cancelling_a_running_job_stops_it_at_the_next_item() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let items = vec![
            store(&*blobs, "a", photo("chelsea.bmp")).await,
            store(&*blobs, "b", photo("chelsea.bmp")).await,
            store(&*blobs, "c", photo("chelsea.bmp")).await,
        ];
        let id = submit(&queue, &["flip"], items).await;
        // The user cancels while the first item is being read.
        let cancel = Some((queue.clone(), id.clone()));
        let hooked = Arc::new(Hooked { cancel_on_first_read: cancel, ..Hooked::over(&blobs) });
        let worker = Worker::new(queue.clone(), hooked, config("w"));
        assert_eq!(
            worker.try_run_one().await.unwrap(),
            Outcome::Ran { job_id: id.clone(), state: JobState::Canceled },
            "{name}"
        );
        let job = queue.get(Scope::All, &id).await.unwrap().unwrap();
        assert_eq!(job.progress_done, 0, "{name}: the finished item's progress was refused, nothing after it ran");
        assert_eq!(blobs.list(&BlobKey::job_file(&id, "images").unwrap()).await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_worker_waiting_on_a_hung_blob_store_keeps_its_lease_and_no_second_worker_starts_the_job() {
    for Setup { name, queue, blobs, .. } in setups().await {
        let items = vec![store(&*blobs, "a", photo("chelsea.bmp")).await];
        let id = submit(&queue, &["flip"], items).await;
        let lease = Duration::from_millis(300);
        let hung = Arc::new(Hooked { stall: Some(Duration::from_millis(1200)), ..Hooked::over(&blobs) });
        let slow = Worker::new(queue.clone(), hung, WorkerConfig { lease, ..config("slow") });
        let other = Worker::new(queue.clone(), blobs.clone(), WorkerConfig { lease, ..config("other") });
        let running = tokio::spawn(async move { slow.try_run_one().await.unwrap() });
        // Four leases pass while the read hangs; the job must stay the first worker's.
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(130)).await;
            assert_eq!(other.try_run_one().await.unwrap(), Outcome::Empty, "{name}: the job was taken over");
        }
        assert_eq!(running.await.unwrap(), Outcome::Ran { job_id: id.clone(), state: JobState::Succeeded }, "{name}");
        assert_eq!(queue.get(Scope::All, &id).await.unwrap().unwrap().attempts, 1, "{name}");
    }
}
