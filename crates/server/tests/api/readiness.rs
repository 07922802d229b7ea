//! `/readyz` answers in bounded time: a blob store that accepts connections and never
//! answers (an S3 server that is stopped, not down) makes it 503 within about 2 s, naming
//! the blob store and nothing of its address; `/healthz` is unaffected.

use std::sync::Arc;
use std::time::{Duration, Instant};

use atelier_server::{router, AppState};
use atelier_storage::{BlobConfig, Db, ObjectBlobStore, S3Config};
use serde_json::Value;

/// An app whose blob store is an S3 endpoint that never answers: the listener is never
/// accepted from, so connections complete in the kernel's backlog and then hang.
async fn spawn_with_hung_blob_store() -> (String, std::net::TcpListener, tempfile::TempDir) {
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", hung.local_addr().unwrap());
    let config = BlobConfig::S3(S3Config {
        bucket: "atelier".into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint),
        access_key_id: "key".into(),
        secret_access_key: "secret".into(),
        allow_http: true,
    });
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display())).await.unwrap();
    db.migrate().await.unwrap();
    let blobs = Arc::new(ObjectBlobStore::open(&config).unwrap());
    let state = AppState::new(db, blobs, atelier_imaging::Limits::default(), 10, dir.path().to_path_buf());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(state).unwrap().into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, hung, dir)
}

#[tokio::test]
async fn a_blob_store_that_never_answers_makes_readyz_503_within_its_timeout_and_names_it() {
    let (base, hung, _dir) = spawn_with_hung_blob_store().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let started = Instant::now();
    let res = client.get(format!("{base}/readyz")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(res.status().as_u16(), 503);
    assert!(took >= Duration::from_millis(1_900) && took < Duration::from_secs(4), "answered in {took:?}");
    let body: Value = res.json().await.unwrap();
    assert_eq!((body["code"].as_str(), body["dependency"].as_str()), (Some("service_unavailable"), Some("blob store")));
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("blob store"), "{message}");
    let port = hung.local_addr().unwrap().port().to_string();
    assert!(!message.contains(&port) && !message.contains("127.0.0.1"), "no internals: {message}");

    let res = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "alive, though not ready");
}
