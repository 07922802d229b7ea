//! Backpressure: with `max_queued_jobs` jobs waiting and no worker to take them, job and
//! dataset job submissions answer 429 `queue_full` with `Retry-After`, charge nothing and
//! queue nothing; once the queue shrinks, submissions are taken again. On SQLite and, when
//! configured, PostgreSQL.

use std::sync::Arc;

use atelier_server::{router, AppState};
use atelier_storage::{now_ms, Backoff, BlobConfig, Credits, Db, ObjectBlobStore, Queue, Role};
use serde_json::{json, Value};

use crate::support::{backends, bearer_client, photo, test_auth, Backend, PASSWORD};

/// An app with no worker, refusing submissions from `limit` queued jobs, and a client
/// signed in as a user with 1,000 credits.
struct Limited {
    base: String,
    client: reqwest::Client,
    /// The app's queue, to play the worker that fails a job.
    queue: Queue,
    _dir: tempfile::TempDir,
}

async fn spawn_limited(backend: Backend, limit: u64) -> Limited {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display()),
        Backend::Postgres => {
            Db::create_scratch_database(&std::env::var("ATELIER_TEST_POSTGRES").unwrap()).await.unwrap()
        }
    };
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let blobs = Arc::new(ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap());
    let state = AppState::new(db.clone(), blobs, atelier_imaging::Limits::default(), 10, dir.path().to_path_buf())
        .with_auth(test_auth(), b"a-test-signing-key-of-at-least-32-bytes")
        .with_max_queued_jobs(limit);
    let user = state
        .users
        .create("payer@example.com", &atelier_auth::password::hash(PASSWORD), Role::User, now_ms())
        .await
        .unwrap()
        .unwrap();
    Credits::new(db.clone()).grant(&user.id, 1_000, None, Some("tests"), 1).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state).unwrap().into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let login = json!({"email": "payer@example.com", "password": PASSWORD});
    let tokens: Value = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = bearer_client(tokens["access_token"].as_str().unwrap());
    Limited { base, client, queue: Queue::new(db), _dir: dir }
}

impl Limited {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    async fn balance(&self) -> i64 {
        self.get("/v1/me/credits").await["balance"].as_i64().unwrap()
    }

    /// Uploads a photo and queues two thumbnail jobs of it, filling a queue limited to 2:
    /// (the image, the job's request body, the two job ids).
    async fn fill(&self, backend: Backend) -> (Value, Value, Vec<String>) {
        let res = self.client.post(format!("{}/v1/images", self.base)).body(photo("rocket.jpg")).send().await;
        let image: Value = res.unwrap().json().await.unwrap();
        let job = json!({"ops": ["thumbnail:width=32"], "images": [image["id"]]});
        let mut ids = Vec::new();
        for n in 0..2 {
            let res = self.post("/v1/jobs", job.clone()).await;
            assert_eq!(res.status().as_u16(), 202, "{backend:?}: submission {n}");
            ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
        }
        (image, job, ids)
    }

    async fn job_count(&self) -> usize {
        self.get("/v1/jobs").await["items"].as_array().unwrap().len()
    }
}

async fn assert_queue_full(res: reqwest::Response, what: &str) {
    assert_eq!(res.status().as_u16(), 429, "{what}");
    let retry_after = res.headers().get("retry-after").map(|value| value.to_str().unwrap().to_string());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "queue_full", "{what}: {body}");
    assert_eq!((body["limit"].as_i64(), body["used"].as_i64()), (Some(2), Some(2)), "{what}: {body}");
    let seconds = retry_after.expect("a Retry-After header").parse::<u64>().unwrap();
    assert!(seconds > 0 && body["retry_after"] == seconds, "{what}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("queue is full") && message.contains("try again"), "{what}: {message}");
}

#[tokio::test]
async fn a_full_queue_answers_429_queue_full_with_retry_after_and_charges_nothing() {
    for backend in backends() {
        let app = spawn_limited(backend, 2).await;
        let (image, job, queued) = app.fill(backend).await;
        let balance = app.balance().await;
        assert!(balance < 1_000, "{backend:?}: the accepted jobs were charged");

        assert_queue_full(app.post("/v1/jobs", job.clone()).await, &format!("{backend:?}: a third job")).await;
        let body = json!({"images": [image["id"]]});
        let dataset: Value = app.post("/v1/datasets/from-images", body).await.json().await.unwrap();
        let path = format!("/v1/datasets/{}/jobs", dataset["id"].as_str().unwrap());
        assert_queue_full(app.post(&path, json!({"augment": {}})).await, &format!("{backend:?}: a dataset job")).await;
        assert_eq!(app.balance().await, balance, "{backend:?}: nothing charged for refused jobs");
        assert_eq!(app.job_count().await, 2, "{backend:?}: nothing queued for refused jobs");

        // A queue with room again takes jobs once the cached count is re-read (250 ms).
        let res = app.post(&format!("/v1/jobs/{}/cancel", queued[0]), json!({})).await;
        assert_eq!(res.status().as_u16(), 200, "{backend:?}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let res = app.post("/v1/jobs", job.clone()).await;
        assert_eq!(res.status().as_u16(), 202, "{backend:?}: room after a cancel");
        assert_queue_full(app.post("/v1/jobs", job).await, &format!("{backend:?}: full again")).await;
    }
}

#[tokio::test]
async fn retrying_a_failed_job_into_a_full_queue_answers_429_and_leaves_it_failed() {
    for backend in backends() {
        let app = spawn_limited(backend, 2).await;
        let (_, job, ids) = app.fill(backend).await;
        // A worker takes the first job and fails it for good: one job is left queued.
        let lease = std::time::Duration::from_secs(60);
        let claimed = app.queue.claim("w", lease, now_ms()).await.unwrap().unwrap();
        assert_eq!(claimed.id, ids[0], "{backend:?}");
        let backoff = Backoff { base: lease, max: lease };
        app.queue.fail(&ids[0], "w", "bad input", false, backoff, now_ms()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let res = app.post("/v1/jobs", job).await;
        assert_eq!(res.status().as_u16(), 202, "{backend:?}: a second queued job fills the queue");
        let third = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let balance = app.balance().await;

        let retry = format!("/v1/jobs/{}/retry", ids[0]);
        assert_queue_full(app.post(&retry, json!({})).await, &format!("{backend:?}: a retry")).await;
        assert_eq!(app.get(&format!("/v1/jobs/{}", ids[0])).await["state"], "failed", "{backend:?}");
        assert_eq!(app.balance().await, balance, "{backend:?}: a refused retry is not charged");

        let res = app.post(&format!("/v1/jobs/{third}/cancel"), json!({})).await;
        assert_eq!(res.status().as_u16(), 200, "{backend:?}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let res = app.post(&retry, json!({})).await;
        assert_eq!(res.status().as_u16(), 200, "{backend:?}: room for the retry after a cancel");
        assert_eq!(res.json::<Value>().await.unwrap()["state"], "queued", "{backend:?}");
    }
}

#[tokio::test]
async fn the_queue_full_answer_is_documented_on_every_route_that_queues_a_job() {
    let document = serde_json::to_value(atelier_server::openapi()).unwrap();
    for (path, method) in [("/v1/jobs", "post"), ("/v1/datasets/{id}/jobs", "post"), ("/v1/jobs/{id}/retry", "post")] {
        let description = document["paths"][path][method]["responses"]["429"]["description"].as_str().unwrap_or("");
        assert!(description.contains("queue_full") && description.contains("Retry-After"), "{path}: {description}");
    }
}
