//! One suite, every backend: the local folder always, and S3 when `ATELIER_TEST_S3` names
//! an S3-compatible endpoint (scripts/test.sh starts one, moto, and sets it).

use atelier_storage::{BlobConfig, BlobKey, BlobStore, ErrorKind, ObjectBlobStore, S3Config};
use bytes::Bytes;

fn backends() -> Vec<(String, ObjectBlobStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let local = ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().join("blobs") }).unwrap();
    let mut out = vec![("local".to_string(), local, Some(dir))];
    if let Ok(endpoint) = std::env::var("ATELIER_TEST_S3") {
        let config = S3Config {
            bucket: std::env::var("ATELIER_TEST_S3_BUCKET").unwrap_or_else(|_| "atelier-test".into()),
            region: "us-east-1".into(),
            endpoint: Some(endpoint),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            allow_http: true,
        };
        out.push(("s3".to_string(), ObjectBlobStore::open(&BlobConfig::S3(config)).unwrap(), None));
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must test the S3 backend: run the tests through scripts/test.sh");
    }
    out
}

/// A key prefix unique to this test run, so runs against a shared bucket do not collide.
fn scope(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("test-{test}-{nanos}")
}

fn key(text: &str) -> BlobKey {
    BlobKey::parse(text).unwrap()
}

#[tokio::test]
async fn blobs_round_trip_overwrite_and_read_by_range_on_every_backend() {
    for (name, store, _dir) in backends() {
        let prefix = scope("roundtrip");
        let k = key(&format!("{prefix}/a.bin"));
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        store.put(&k, Bytes::from(data.clone())).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap(), data, "{name}");
        assert_eq!(store.get_range(&k, 100..110).await.unwrap(), data[100..110], "{name}");
        assert_eq!(store.head(&k).await.unwrap().map(|m| m.size), Some(10_000), "{name}");
        store.put(&k, Bytes::from_static(b"new")).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap(), Bytes::from_static(b"new"), "{name}: overwritten");
        store.delete(&k).await.unwrap();
    }
}

#[tokio::test]
async fn missing_blobs_are_not_found_and_deleting_them_is_not_an_error() {
    for (name, store, _dir) in backends() {
        let k = key(&format!("{}/missing", scope("missing")));
        let err = store.get(&k).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
        assert_eq!(store.head(&k).await.unwrap(), None, "{name}");
        store.delete(&k).await.unwrap();
        store.check().await.unwrap();
    }
}

#[tokio::test]
async fn listing_a_prefix_returns_its_blobs_sorted_and_nothing_else() {
    for (name, store, _dir) in backends() {
        let prefix = scope("list");
        for file in ["b.jpg", "a.jpg", "sub/c.json"] {
            store.put(&key(&format!("{prefix}/job/{file}")), Bytes::from_static(b"x")).await.unwrap();
        }
        store.put(&key(&format!("{prefix}/jobber/z")), Bytes::from_static(b"x")).await.unwrap();
        let listed: Vec<String> =
            store.list(&key(&format!("{prefix}/job"))).await.unwrap().into_iter().map(|m| m.key.to_string()).collect();
        let expected: Vec<String> =
            ["a.jpg", "b.jpg", "sub/c.json"].iter().map(|f| format!("{prefix}/job/{f}")).collect();
        assert_eq!(listed, expected, "{name}");
    }
}

#[tokio::test]
async fn large_files_are_streamed_in_parts() {
    for (name, store, _dir) in backends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        // 20 MiB: three parts of 8 MiB, so the multipart path really runs on S3.
        let data: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let k = key(&format!("{}/big.bin", scope("big")));
        store.put_file(&k, &path).await.unwrap();
        assert_eq!(store.head(&k).await.unwrap().map(|m| m.size), Some(20 << 20), "{name}");
        assert_eq!(
            store.get_range(&k, (19 << 20)..(19 << 20) + 5).await.unwrap(),
            data[19 << 20..(19 << 20) + 5],
            "{name}"
        );
        store.delete(&k).await.unwrap();
    }
}

#[tokio::test]
async fn an_unreachable_s3_endpoint_is_unavailable_not_a_crash() {
    let config = S3Config {
        bucket: "nowhere".into(),
        region: "us-east-1".into(),
        endpoint: Some("http://127.0.0.1:9".into()),
        access_key_id: "x".into(),
        secret_access_key: "s3cr3t".into(),
        allow_http: true,
    };
    let store = ObjectBlobStore::open(&BlobConfig::S3(config.clone())).unwrap();
    let err = store.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let debug = format!("{config:?}");
    assert!(debug.contains("<redacted>") && !debug.contains("s3cr3t"), "{debug}");
}
