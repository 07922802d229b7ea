//! The app under test: a real port on 127.0.0.1, a SQLite database (or a scratch PostgreSQL
//! one, for the tests that ask), a blob folder and an in-process worker, driven with reqwest
//! like any client. Every app starts with one registered user, `owner@example.com`, whose
//! token `client` sends on every request; [`TestApp::sign_up`] makes more.

use std::sync::Arc;
use std::time::Duration;

use atelier_dataset::ArchiveLimits;
use atelier_imaging::{Capability, Classes, DigitReading, FaceAnnotation, FaceAttributes, Label, ModelError};
use atelier_imaging::{FaceSearch, Limits, Models, NumberReading, StyleRequest};
use atelier_server::transform::{TransformConfig, TransformStats};
use atelier_server::{router, AppState, AuthConfig};
use atelier_storage::{now_ms, BlobConfig, Credits, Db, ObjectBlobStore, Quotas, Role};
use atelier_worker::{Worker, WorkerConfig, WorkerMetrics};
use image::{GrayImage, RgbImage};
use serde_json::Value;
use tokio::sync::watch;

pub struct TestApp {
    pub base: String,
    /// Sends the owner's access token on every request.
    pub client: reqwest::Client,
    /// A client that sends no credentials.
    pub anonymous: reqwest::Client,
    /// The owner's id and access token.
    pub owner: Account,
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

/// The rules every test app runs with unless it asks for others: no quotas and no rate
/// limit in the way of tests that are not about them.
pub fn test_auth() -> AuthConfig {
    let unlimited = atelier_auth::Rate { burst: 100_000, per: Duration::from_secs(60) };
    AuthConfig {
        default_quotas: Quotas::default(),
        expensive_rate: unlimited,
        auth_rate: unlimited,
        ..AuthConfig::default()
    }
}

/// Where a test app keeps its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends the acceptance tests run on: SQLite always, PostgreSQL when
/// `ATELIER_TEST_POSTGRES` names a server (CI requires it).
pub fn backends() -> Vec<Backend> {
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(_) => vec![Backend::Sqlite, Backend::Postgres],
        Err(_) if std::env::var_os("CI").is_some() => panic!("CI must test PostgreSQL: run scripts/test.sh"),
        Err(_) => vec![Backend::Sqlite],
    }
}

/// An app on `backend` with `auth`'s rules, its worker idle.
pub async fn spawn_idle_app_on(backend: Backend, auth: AuthConfig) -> TestApp {
    spawn(backend, auth, TransformConfig::default(), Role::User, Vec::new()).await
}

async fn spawn_idle_app_with(transform: TransformConfig) -> TestApp {
    spawn(Backend::Sqlite, test_auth(), transform, Role::User, Vec::new()).await
}

/// An idle app that lets browsers on `origins` call it.
pub async fn spawn_idle_app_with_cors(origins: &[&str]) -> TestApp {
    let origins = origins.iter().map(|origin| origin.to_string()).collect();
    spawn(Backend::Sqlite, test_auth(), TransformConfig::default(), Role::User, origins).await
}

/// An idle app whose owner is an admin, so that admin routes are reached too.
pub async fn spawn_idle_admin_app() -> TestApp {
    spawn(Backend::Sqlite, test_auth(), TransformConfig::default(), Role::Admin, Vec::new()).await
}

/// The app with its worker running vision steps on `models`, and the API checking them.
pub async fn spawn_app_with_models(models: Arc<dyn Models>) -> TestApp {
    let app =
        spawn_with(Backend::Sqlite, test_auth(), TransformConfig::default(), Role::User, Vec::new(), models).await;
    app.start_worker();
    app
}

async fn spawn(
    backend: Backend,
    auth: AuthConfig,
    transform: TransformConfig,
    role: Role,
    cors: Vec<String>,
) -> TestApp {
    spawn_with(backend, auth, transform, role, cors, Arc::new(TestModels)).await
}

async fn spawn_with(
    backend: Backend,
    auth: AuthConfig,
    transform: TransformConfig,
    role: Role,
    cors: Vec<String>,
    models: Arc<dyn Models>,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display()),
        Backend::Postgres => {
            let base = std::env::var("ATELIER_TEST_POSTGRES").expect("ATELIER_TEST_POSTGRES");
            Db::create_scratch_database(&base).await.unwrap()
        }
    };
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let blobs = Arc::new(ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap());
    let limits = Limits { max_input_bytes: 2 << 20, ..Limits::default() };
    let state = AppState::new(db.clone(), blobs.clone(), limits, 10, dir.path().to_path_buf())
        .with_transform(transform)
        .with_auth(auth, b"a-test-signing-key-of-at-least-32-bytes")
        .with_cors(cors)
        .with_worker_metrics(Arc::new(WorkerMetrics::new()))
        .with_models(models)
        // As small as the image limit, so oversized archives are cheap to send.
        .with_archive_limits(ArchiveLimits { max_total_bytes: 2 << 20, max_entries: 1000, ..ArchiveLimits::default() });
    let (shutdown, _) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state.clone()).unwrap().into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let anonymous = reqwest::Client::new();
    // Made in storage, as `atelier user add` does, so any registration mode works.
    let owner = account(&state, &anonymous, &base, "owner@example.com", role).await;
    // Plenty for any test that is not about credits.
    Credits::new(db.clone()).grant(&owner.id, 1_000_000, None, Some("tests"), 1).await.unwrap();
    let client = owner.client();
    TestApp { base, client, anonymous, owner, dir, state, shutdown }
}

/// An account made in storage, then signed in through the API.
async fn account(state: &AppState, client: &reqwest::Client, base: &str, email: &str, role: Role) -> Account {
    let hash = atelier_auth::password::hash(PASSWORD);
    state.users.create(email, &hash, role, now_ms()).await.unwrap().expect("a new email");
    let body = serde_json::json!({ "email": email, "password": PASSWORD });
    let res = client.post(format!("{base}/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "signing in {email}");
    Account::from_tokens(res.json().await.unwrap())
}

/// A registered user (whose password is [`PASSWORD`]): their id and tokens.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A password the policy accepts.
pub const PASSWORD: &str = "correct horse battery staple";

impl Account {
    fn from_tokens(tokens: Value) -> Account {
        Account {
            id: tokens["user"]["id"].as_str().unwrap().to_string(),
            access_token: tokens["access_token"].as_str().unwrap().to_string(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_string(),
        }
    }

    /// A client that sends this account's access token on every request.
    pub fn client(&self) -> reqwest::Client {
        bearer_client(&self.access_token)
    }
}

pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

async fn register(client: &reqwest::Client, base: &str, email: &str) -> Account {
    let body = serde_json::json!({ "email": email, "password": PASSWORD });
    let res = client.post(format!("{base}/v1/auth/register")).json(&body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201, "registering {email}");
    Account::from_tokens(res.json().await.unwrap())
}

/// The models every test app runs with (the server and workers never load ONNX): one face
/// in the middle of every image, a woman of 40, calm; a teapot; a fingerprint that is the
/// image's mean colour, so pictures of different colours fall in different categories.
pub struct TestModels;

impl Models for TestModels {
    fn detect_faces(&self, image: &RgbImage, _search: FaceSearch) -> Result<Vec<FaceAnnotation>, ModelError> {
        let (w, h) = (image.width() as f32, image.height() as f32);
        let (x, y, width, height) = (w * 0.4, h * 0.3, w * 0.2, h * 0.3);
        Ok(vec![FaceAnnotation { x, y, width, height, score: 0.93, landmarks: [[x, y]; 6], attributes: None }])
    }

    fn recognize_number(&self, _image: &GrayImage) -> Result<NumberReading, ModelError> {
        let digit = DigitReading { digit: 7, probabilities: [0.1; 10], bbox: [1.0, 1.0, 4.0, 4.0] };
        Ok(NumberReading { digits: vec![digit], number: "7".into() })
    }

    fn stylize(&self, image: &RgbImage, _request: &StyleRequest<'_>) -> Result<RgbImage, ModelError> {
        Ok(image.clone())
    }

    fn analyze_faces(&self, _image: &RgbImage, faces: &[FaceAnnotation]) -> Result<Vec<FaceAttributes>, ModelError> {
        let calm = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        Ok(faces.iter().map(|_| FaceAttributes { age: 40.0, male: 0.2, emotions: calm }).collect())
    }

    fn classify(&self, image: &RgbImage, _top_k: usize) -> Result<Classes, ModelError> {
        let labels = vec![Label { label: "teapot".into(), score: 0.8 }];
        let count = image.pixels().len().max(1) as f32;
        let mean = (0..3).map(|c| image.pixels().map(|p| f32::from(p.0[c])).sum::<f32>() / count).collect();
        Ok(Classes { labels, categories: Vec::new(), fingerprint: mean })
    }

    fn moderate(&self, _image: &RgbImage) -> Result<Vec<Label>, ModelError> {
        Ok(vec![Label { label: "neutral".into(), score: 1.0 }])
    }

    fn check(&self, _capability: Capability) -> Result<(), ModelError> {
        Ok(())
    }
}

pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../test-data/photos/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

impl TestApp {
    pub fn start_worker(&self) {
        let worker = Worker::new(self.state.queue.clone(), self.state.blobs.clone(), WorkerConfig::default())
            .with_metrics(self.state.worker_metrics.clone().unwrap())
            .with_models(self.state.models.clone());
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
    /// Registers another account through the API (registration must be open).
    pub async fn sign_up(&self, email: &str) -> Account {
        register(&self.anonymous, &self.base, email).await
    }

    /// A new admin account, signed in.
    pub async fn admin(&self, email: &str) -> Account {
        account(&self.state, &self.anonymous, &self.base, email, Role::Admin).await
    }

    /// The transform route's counters.
    pub fn transform_stats(&self) -> &TransformStats {
        &self.state.transform.stats
    }

    /// The app's database, for tests that set up rows no route writes.
    pub fn db(&self) -> &Db {
        &self.state.db
    }
}
