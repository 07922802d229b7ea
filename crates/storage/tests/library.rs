//! Images (listing, deletion, collection of unused originals), saved pipelines and
//! resumable upload sessions, on SQLite always and on PostgreSQL when
//! `ATELIER_TEST_POSTGRES` names a server (CI requires it).

use atelier_storage::{
    BlobConfig, BlobKey, BlobStore, Db, Enqueue, Images, NewImage, ObjectBlobStore, PartOutcome, Pipelines, Queue,
    Scope, Sha256Hex, Uploads,
};
use bytes::Bytes;

struct Fixture {
    name: &'static str,
    db: Db,
    blobs: ObjectBlobStore,
    _dirs: Vec<tempfile::TempDir>,
}

async fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("l.db").display());
    let blob_dir = tempfile::tempdir().unwrap();
    out.push(Fixture { name: "sqlite", db: migrated(&url).await, blobs: local(&blob_dir), _dirs: vec![dir, blob_dir] });
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(base) => {
            let blob_dir = tempfile::tempdir().unwrap();
            let db = migrated(&Db::create_scratch_database(&base).await.unwrap()).await;
            out.push(Fixture { name: "postgres", db, blobs: local(&blob_dir), _dirs: vec![blob_dir] });
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: run the tests through scripts/test.sh")
        }
        Err(_) => {}
    }
    out
}

fn local(dir: &tempfile::TempDir) -> ObjectBlobStore {
    ObjectBlobStore::open(&BlobConfig::Local { root: dir.path().to_path_buf() }).unwrap()
}

async fn migrated(url: &str) -> Db {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    db
}

fn hash(byte: u8) -> Sha256Hex {
    Sha256Hex::from_digest(&[byte; 32])
}

async fn stored_image(images: &Images, blobs: &dyn BlobStore, sha: &Sha256Hex, at: i64) -> String {
    let image = NewImage { sha256: sha, format: "png", width: 2, height: 3, bytes: 4 };
    let record = images.insert(None, image, at).await.unwrap();
    blobs.put(&BlobKey::original(sha), Bytes::from_static(b"data")).await.unwrap();
    record.id
}

#[tokio::test]
async fn images_are_listed_newest_first_one_page_at_a_time() {
    for Fixture { name, db, blobs, .. } in fixtures().await {
        let images = Images::new(db);
        let mut ids = Vec::new();
        for i in 0..5u8 {
            ids.push(stored_image(&images, &blobs, &hash(i), 1_000 + i64::from(i % 3)).await);
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = images.list(Scope::All, cursor.as_deref(), 2).await.unwrap();
            assert!(page.images.len() <= 2, "{name}");
            seen.extend(page.images.iter().map(|image| (image.created_at, image.id.clone())));
            match page.next {
                Some(next) => {
                    assert!(Images::valid_cursor(&next), "{name}: {next}");
                    cursor = Some(next);
                }
                None => break,
            }
        }
        let mut expected: Vec<(i64, String)> =
            ids.iter().enumerate().map(|(i, id)| (1_000 + (i as i64 % 3), id.clone())).collect();
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, expected, "{name}: every image once, newest first");
    }
}

#[tokio::test]
async fn a_deleted_image_disappears_at_once_and_its_bytes_go_when_nothing_uses_them() {
    for Fixture { name, db, blobs, .. } in fixtures().await {
        let images = Images::new(db.clone());
        let queue = Queue::new(db);
        let shared = hash(1);
        let first = stored_image(&images, &blobs, &shared, 1).await;
        let second = stored_image(&images, &blobs, &shared, 2).await;
        let key = BlobKey::original(&shared);

        assert!(images.delete(Scope::All, &first, 10).await.unwrap(), "{name}");
        assert!(!images.delete(Scope::All, &first, 11).await.unwrap(), "{name}: deleting twice is a miss");
        assert_eq!(images.get(Scope::All, &first).await.unwrap(), None, "{name}");
        assert_eq!(images.collect(&blobs, 10).await.unwrap(), 0, "{name}: the second image still uses the bytes");
        assert!(blobs.head(&key).await.unwrap().is_some(), "{name}");

        // A queued job reading the bytes keeps them after the last image goes.
        let job = queue
            .submit(Enqueue { originals: std::slice::from_ref(&shared), ..Enqueue::new("{}", 1) }, 20)
            .await
            .unwrap();
        assert!(images.delete(Scope::All, &second, 21).await.unwrap(), "{name}");
        assert_eq!(images.collect(&blobs, 10).await.unwrap(), 0, "{name}: the queued job reads them");
        assert!(blobs.head(&key).await.unwrap().is_some(), "{name}");

        let claimed = queue.claim("w", std::time::Duration::from_secs(30), 30).await.unwrap().unwrap();
        assert_eq!(claimed.id, job, "{name}");
        assert_eq!(images.collect(&blobs, 10).await.unwrap(), 0, "{name}: the running job reads them");
        assert!(queue.complete(&job, "w", 40).await.unwrap(), "{name}");
        assert_eq!(images.collect(&blobs, 10).await.unwrap(), 1, "{name}: released");
        assert!(blobs.head(&key).await.unwrap().is_none(), "{name}");
        assert_eq!(images.collect(&blobs, 10).await.unwrap(), 0, "{name}: nothing left to collect");

        // The same bytes uploaded again are stored again.
        let again = stored_image(&images, &blobs, &shared, 50).await;
        assert!(images.get(Scope::All, &again).await.unwrap().is_some(), "{name}");
        assert!(blobs.head(&key).await.unwrap().is_some(), "{name}");
    }
}

#[tokio::test]
async fn pipelines_keep_every_version_and_list_their_latest() {
    for Fixture { name, db, .. } in fixtures().await {
        let pipelines = Pipelines::new(db);
        assert_eq!(pipelines.create("", "thumbs", "{\"v\":1}", 1).await.unwrap().unwrap().version, 1, "{name}");
        assert_eq!(pipelines.create("", "thumbs", "{}", 2).await.unwrap(), None, "{name}: the name is taken");
        assert_eq!(pipelines.add_version("", "thumbs", "{\"v\":2}", 3).await.unwrap().unwrap().version, 2, "{name}");
        assert_eq!(pipelines.add_version("", "nope", "{}", 3).await.unwrap(), None, "{name}");
        pipelines.create("", "avatars", "{}", 4).await.unwrap().unwrap();

        assert_eq!(pipelines.get("", "thumbs", Some(1)).await.unwrap().unwrap().document, "{\"v\":1}", "{name}");
        assert_eq!(pipelines.get("", "thumbs", None).await.unwrap().unwrap().version, 2, "{name}");
        assert_eq!(pipelines.get("", "thumbs", Some(3)).await.unwrap(), None, "{name}");
        assert_eq!(pipelines.versions("", "thumbs").await.unwrap(), vec![1, 2], "{name}");

        let first = pipelines.list("", None, 1).await.unwrap();
        assert_eq!(first.pipelines.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["avatars"], "{name}");
        let second = pipelines.list("", first.next.as_deref(), 1).await.unwrap();
        assert_eq!((second.pipelines[0].name.as_str(), second.pipelines[0].version), ("thumbs", 2), "{name}");
        assert_eq!(second.next, None, "{name}");
    }
}

#[tokio::test]
async fn concurrent_new_versions_of_one_pipeline_get_distinct_numbers() {
    for Fixture { name, db, .. } in fixtures().await {
        let pipelines = Pipelines::new(db);
        pipelines.create("", "p", "{}", 1).await.unwrap().unwrap();
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let pipelines = pipelines.clone();
                tokio::spawn(async move { pipelines.add_version("", "p", &format!("{{\"i\":{i}}}"), 2).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap().unwrap();
        }
        assert_eq!(pipelines.versions("", "p").await.unwrap(), vec![1, 2, 3, 4, 5], "{name}");
    }
}

#[tokio::test]
async fn upload_parts_are_taken_in_order_and_a_stale_offset_is_told_where_to_resume() {
    for Fixture { name, db, blobs, .. } in fixtures().await {
        let uploads = Uploads::new(db);
        let session = uploads.create(None, 10, 100, 1_000).await.unwrap();
        let part = |n: &str| BlobKey::upload_part(&session.id, n).unwrap();
        for (nonce, offset, length, expected) in [
            ("a", 0, 4, PartOutcome::Accepted { received: 4 }),
            ("b", 0, 4, PartOutcome::OutOfStep { received: 4 }),
            ("c", 4, 7, PartOutcome::OutOfStep { received: 4 }), // past the declared size
            ("d", 4, 6, PartOutcome::Accepted { received: 10 }),
        ] {
            blobs.put(&part(nonce), Bytes::from(vec![0; length as usize])).await.unwrap();
            let outcome = uploads.add_part(&session.id, offset, length, &part(nonce), 200).await.unwrap();
            assert_eq!(outcome, expected, "{name}: part {nonce}");
        }
        let parts = uploads.parts(&session.id).await.unwrap();
        assert_eq!(parts.iter().map(|p| (p.offset, p.length)).collect::<Vec<_>>(), [(0, 4), (4, 6)], "{name}");

        assert!(uploads.begin_completion(&session.id, 300).await.unwrap(), "{name}");
        assert!(!uploads.begin_completion(&session.id, 301).await.unwrap(), "{name}: one completion at a time");
        uploads.remove(&session.id, &blobs).await.unwrap();
        assert_eq!(uploads.get(Scope::All, &session.id, 400).await.unwrap(), None, "{name}");
        assert!(blobs.list(&BlobKey::upload_prefix(&session.id).unwrap()).await.unwrap().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn expired_upload_sessions_refuse_parts_and_are_found_for_cleanup() {
    for Fixture { name, db, .. } in fixtures().await {
        let uploads = Uploads::new(db);
        let session = uploads.create(None, 10, 100, 50).await.unwrap();
        let key = BlobKey::upload_part(&session.id, "x").unwrap();
        assert_eq!(uploads.add_part(&session.id, 0, 1, &key, 150).await.unwrap(), PartOutcome::Gone, "{name}");
        assert_eq!(uploads.expired(150, 10).await.unwrap(), vec![session.id.clone()], "{name}");
        assert_eq!(uploads.expired(149, 10).await.unwrap(), Vec::<String>::new(), "{name}");
    }
}

#[tokio::test]
async fn another_owners_images_jobs_pipelines_and_uploads_are_not_found() {
    for Fixture { name, db, blobs, .. } in fixtures().await {
        let (ann, bob) = (Scope::User("ann"), Scope::User("bob"));
        let images = Images::new(db.clone());
        let new =
            |byte| NewImage { sha256: Box::leak(Box::new(hash(byte))), format: "png", width: 1, height: 1, bytes: 10 };
        let image = images.insert(Some("ann"), new(1), 1).await.unwrap();
        images.insert(Some("ann"), new(2), 2).await.unwrap();
        images.insert(None, new(3), 3).await.unwrap();
        assert_eq!(images.get(ann, &image.id).await.unwrap().unwrap().owner_id.as_deref(), Some("ann"), "{name}");
        assert_eq!(images.get(bob, &image.id).await.unwrap(), None, "{name}");
        assert_eq!(images.list(ann, None, 10).await.unwrap().images.len(), 2, "{name}");
        assert!(images.list(bob, None, 10).await.unwrap().images.is_empty(), "{name}");
        assert_eq!(images.list(Scope::All, None, 10).await.unwrap().images.len(), 3, "{name}: admins see all");
        assert_eq!(images.bytes_stored("ann").await.unwrap(), 20, "{name}");
        assert!(!images.delete(bob, &image.id, 4).await.unwrap(), "{name}");
        assert!(images.delete(ann, &image.id, 4).await.unwrap(), "{name}");
        assert_eq!(images.bytes_stored("ann").await.unwrap(), 10, "{name}: deleted images are not counted");
        assert_eq!(images.collect(&blobs, 10).await.unwrap(), 1, "{name}");

        // Jobs: the queue's owner is the billed user, who must exist.
        let users = atelier_storage::Users::new(db.clone());
        let owner = users.create("ann@example.com", "h", atelier_storage::Role::User, 1).await.unwrap().unwrap().id;
        let (ann_job, bob) = (Scope::User(&owner), Scope::User("bob"));
        let queue = Queue::new(db.clone());
        let id = queue.submit(Enqueue { owner: Some(&owner), ..Enqueue::new("{}", 1) }, 5).await.unwrap();
        assert_eq!(queue.get(ann_job, &id).await.unwrap().unwrap().owner_id.as_deref(), Some(owner.as_str()));
        assert_eq!(queue.get(bob, &id).await.unwrap(), None, "{name}");
        assert!(queue.list(bob, None, None, 10).await.unwrap().jobs.is_empty(), "{name}");
        assert_eq!(queue.list(ann_job, None, None, 10).await.unwrap().jobs.len(), 1, "{name}");
        assert_eq!(queue.cancel(bob, &id, 6).await.unwrap(), None, "{name}: not bob's to cancel");
        assert_eq!(queue.get(Scope::All, &id).await.unwrap().unwrap().state, atelier_storage::JobState::Queued);
        assert_eq!(queue.cancel(ann_job, &id, 7).await.unwrap(), Some(atelier_storage::JobState::Canceled));
        let failed = queue.submit(Enqueue { owner: Some(&owner), ..Enqueue::new("{}", 1) }, 8).await.unwrap();
        queue.claim("w", std::time::Duration::from_secs(30), 9).await.unwrap().unwrap();
        let backoff = atelier_storage::Backoff { base: std::time::Duration::ZERO, max: std::time::Duration::ZERO };
        queue.fail(&failed, "w", "bad", false, backoff, 10).await.unwrap();
        assert!(!queue.retry(bob, &failed, 11).await.unwrap(), "{name}: not bob's to retry");
        assert!(queue.retry(ann_job, &failed, 11).await.unwrap(), "{name}");

        // Pipelines: each owner has their own names.
        let pipelines = Pipelines::new(db.clone());
        pipelines.create("ann", "thumbs", "{\"ann\":1}", 1).await.unwrap().unwrap();
        assert!(pipelines.create("bob", "thumbs", "{\"bob\":1}", 2).await.unwrap().is_some(), "{name}: same name");
        assert_eq!(pipelines.get("bob", "thumbs", None).await.unwrap().unwrap().document, "{\"bob\":1}", "{name}");
        assert_eq!(pipelines.add_version("bob", "thumbs", "{}", 3).await.unwrap().unwrap().version, 2, "{name}");
        assert_eq!(pipelines.versions("ann", "thumbs").await.unwrap(), vec![1], "{name}");
        assert_eq!(pipelines.get("cy", "thumbs", None).await.unwrap(), None, "{name}");
        assert!(pipelines.list("cy", None, 10).await.unwrap().pipelines.is_empty(), "{name}");
        assert_eq!(pipelines.list("ann", None, 10).await.unwrap().pipelines[0].owner_id, "ann", "{name}");

        // Uploads.
        let uploads = Uploads::new(db);
        let session = uploads.create(Some("ann"), 10, 100, 1_000).await.unwrap();
        assert!(uploads.get(Scope::User("ann"), &session.id, 200).await.unwrap().is_some(), "{name}");
        assert_eq!(uploads.get(Scope::User("bob"), &session.id, 200).await.unwrap(), None, "{name}");
        assert!(uploads.get(Scope::All, &session.id, 200).await.unwrap().is_some(), "{name}");
    }
}
