//! The app under test: a real port on 127.0.0.1, a SQLite database, a blob folder and an
//! in-process worker, driven with reqwest like any client.

use std::sync::Arc;
use std::time::Duration;

use atelier_imaging::Limits;
use atelier_server::transform::{TransformConfig, TransformStats};
use atelier_server::{router, AppState};
use atelier_storage::{BlobConfig, Db, ObjectBlobStore};
use atelier_worker::{Worker, WorkerConfig, WorkerMetrics};
use serde_json::Value;
use tokio::sync::watch;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    state: AppState,
    shutdown: watch::Sender<bool>,
}

/// The app with its worker running.
pub async fn spawn_app() -> TestApp {
    let app = spawn_idle_app().await;
    app.start_worker();
    app
}

/// The app with no worker yet: jobs stay queued until [`TestApp::start_worker`].
pub async fn spawn_idle_app() -> TestApp {
    spawn_idle_app_with(TransformConfig::default()).await
}

/// The app with its worker, and transform URLs set up as `transform` says.
pub async fn spawn_app_with(transform: TransformConfig) -> TestApp {
    let app = spawn_idle_app_with(transform).await;
    app.start_worker();
    app
}

async fn spawn_idle_app_with(transform: TransformConfig) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display())).await.unwrap();
    db.migrate().await.unwrap();
    let blobs = Arc::new(ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap());
    let limits = Limits { max_input_bytes: 2 << 20, ..Limits::default() };
    let state = AppState::new(db.clone(), blobs.clone(), limits, 10, dir.path().to_path_buf())
        .with_transform(transform)
        .with_worker_metrics(Arc::new(WorkerMetrics::new()));
    let (shutdown, _) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp { base, client: reqwest::Client::new(), dir, state, shutdown }
}

pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../test-data/photos/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

impl TestApp {
    pub fn start_worker(&self) {
        let worker = Worker::new(self.state.queue.clone(), self.state.blobs.clone(), WorkerConfig::default())
            .with_metrics(self.state.worker_metrics.clone().unwrap());
        let run = atelier_worker::host::run(
            Arc::new(worker),
            self.state.wake.clone(),
            self.shutdown.subscribe(),
            Duration::from_millis(200),
        );
        tokio::spawn(run);
        self.state.wake.notify_one();
    }

    pub async fn upload(&self, bytes: Vec<u8>) -> (u16, Value) {
        let res = self.client.post(format!("{}/v1/images", self.base)).body(bytes).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn wait_for_job(&self, id: &str) -> Value {
        for _ in 0..200 {
            let job: Value = self.get(&format!("/v1/jobs/{id}")).await.json().await.unwrap();
            if !matches!(job["state"].as_str(), Some("queued" | "running")) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {id} did not finish");
    }
}

impl TestApp {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Files left in the spool folder (everything but the database).
    pub fn spooled_files(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file() && !e.file_name().to_string_lossy().starts_with("a.db"))
            .map(|e| e.path())
            .collect()
    }

    /// Every blob in the store, as paths under the blob folder.
    pub fn blob_files(&self, prefix: &str) -> Vec<String> {
        let root = self.dir.path().join("blobs").join(prefix);
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.path().is_dir() {
                    stack.push(entry.path());
                } else {
                    out.push(entry.path().display().to_string());
                }
            }
        }
        out
    }
}

impl TestApp {
    /// The transform route's counters.
    pub fn transform_stats(&self) -> &TransformStats {
        &self.state.transform.stats
    }

    /// The app's database, for tests that set up rows no route writes.
    pub fn db(&self) -> &Db {
        &self.state.db
    }
}
