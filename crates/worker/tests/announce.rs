//! A finished job announces itself: the worker runs a real job on SQLite and a blob folder,
//! then POSTs the signed `job.finished` event to a receiver on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use atelier_imaging::Pipeline;
use atelier_storage::{now_ms, BlobConfig, BlobKey, Db, ObjectBlobStore, Queue, Sha256Hex};
use atelier_worker::payload::JobItem;
use atelier_worker::webhook::{parse_allow_list, unix_now, verify, WebhookConfig, SIGNATURE_HEADER};
use atelier_worker::{JobPayload, Outcome, Worker, WorkerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "whsec_announce_test_secret";

/// Accepts one request and returns its head and body, answering 204.
async fn receive_one(listener: TcpListener) -> (String, Vec<u8>) {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before the request was complete");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await.unwrap();
            return (head, buf[end + 4..end + 4 + length].to_vec());
        }
    }
}

#[tokio::test]
async fn a_finished_job_posts_a_signed_event_to_its_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display())).await.unwrap();
    db.migrate().await.unwrap();
    let queue = Queue::new(db);
    let blobs = Arc::new(ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap());
    let bytes = std::fs::read(format!("{}/../../test-data/photos/chelsea.png", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let key = BlobKey::original(&Sha256Hex::from_digest(&[7; 32]));
    atelier_storage::BlobStore::put(blobs.as_ref(), &key, bytes.into()).await.unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/atelier?token=abc", listener.local_addr().unwrap());
    let received = tokio::spawn(receive_one(listener));

    let mut payload = JobPayload::new(
        &Pipeline::parse_inline(&["thumbnail:width=32".to_string()]).unwrap(),
        vec![JobItem { source: key.to_string(), name: None }],
    );
    payload.webhook = Some(url);
    let id = queue.enqueue(&serde_json::to_string(&payload).unwrap(), 3, now_ms()).await.unwrap();
    let webhook = WebhookConfig {
        secret: SECRET.into(),
        allow: parse_allow_list(&["127.0.0.1/32"]).unwrap(),
        timeout: Duration::from_secs(5),
        ..WebhookConfig::default()
    };
    let worker = Worker::new(queue, blobs, WorkerConfig { webhook: Some(webhook), ..WorkerConfig::default() });
    let outcome = worker.try_run_one().await.unwrap();
    assert!(matches!(outcome, Outcome::Ran { ref job_id, .. } if *job_id == id), "{outcome:?}");
    let delivery = worker.announce(&id).await.expect("a delivery starts").await.unwrap().unwrap();
    assert_eq!((delivery.attempts, delivery.status), (1, 204));

    let (head, body) = tokio::time::timeout(Duration::from_secs(5), received).await.unwrap().unwrap();
    assert!(head.starts_with("POST /hooks/atelier?token=abc HTTP/1.1"), "{head}");
    let signature = head
        .lines()
        .find_map(|line| line.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case(SIGNATURE_HEADER)))
        .map(|(_, value)| value.trim().to_string())
        .expect("a signature header");
    assert!(verify(SECRET, &signature, &body, unix_now(), Duration::from_secs(60)), "{signature}");
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["event"], "job.finished");
    assert_eq!((event["job"]["id"].as_str(), event["job"]["state"].as_str()), (Some(id.as_str()), Some("succeeded")));
    assert_eq!(event["job"]["results"]["items"][0]["outputs"][0]["width"], 32, "{event}");
}

#[tokio::test]
async fn a_job_without_a_webhook_or_a_worker_without_a_secret_announces_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display())).await.unwrap();
    db.migrate().await.unwrap();
    let queue = Queue::new(db);
    let blobs = Arc::new(ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap());
    let mut payload = JobPayload::new(&Pipeline::parse_inline(&["flip".to_string()]).unwrap(), vec![]);
    let plain = queue.enqueue(&serde_json::to_string(&payload).unwrap(), 1, now_ms()).await.unwrap();
    payload.webhook = Some("http://127.0.0.1:9/".into());
    let hooked = queue.enqueue(&serde_json::to_string(&payload).unwrap(), 1, now_ms()).await.unwrap();
    let configured = WorkerConfig {
        webhook: Some(WebhookConfig { secret: SECRET.into(), ..WebhookConfig::default() }),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(queue.clone(), blobs.clone(), configured);
    assert!(worker.announce(&plain).await.is_none(), "no webhook on the job");
    let unconfigured = Worker::new(queue, blobs, WorkerConfig::default());
    assert!(unconfigured.announce(&hooked).await.is_none(), "webhooks are off without a secret");
}
