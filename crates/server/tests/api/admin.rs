//! The admins' view of the queue: jobs by state, the oldest queued job's age and the workers
//! with their liveness, as JSON; refused to everyone else. On SQLite and PostgreSQL.

use atelier_storage::{now_ms, Workers};
use serde_json::json;

use crate::support::{backends, photo, spawn_idle_app_on, test_auth};

#[tokio::test]
async fn admins_see_the_queue_by_state_its_oldest_job_and_the_workers_and_users_may_not() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, test_auth()).await;
        let admin = app.admin("admin@example.com").await.client();
        let url = app.url("/v1/admin/queue");
        let (status, empty) = app.send(admin.get(&url)).await;
        assert_eq!(status, 200, "{backend:?}: {empty}");
        assert_eq!(
            empty["jobs"],
            json!({"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "canceled": 0, "dead": 0})
        );
        assert!(empty["oldest_queued_at"].is_null() && empty["oldest_queued_age_ms"].is_null(), "{empty}");
        assert_eq!(empty["workers"], json!([]), "{backend:?}: no worker runs");

        // Two jobs wait (no worker runs); a third is canceled.
        let (_, image) = app.upload(photo("rocket.jpg")).await;
        let job = json!({"ops": ["thumbnail:width=32"], "images": [image["id"]]});
        let mut ids = Vec::new();
        for _ in 0..3 {
            let (status, queued) = app.post_json("/v1/jobs", job.clone()).await;
            assert_eq!(status, 202, "{backend:?}: {queued}");
            ids.push(queued["id"].as_str().unwrap().to_string());
        }
        let (status, _) = app.post_json(&format!("/v1/jobs/{}/cancel", ids[2]), json!({})).await;
        assert_eq!(status, 200);
        let registry = Workers::new(app.db().clone());
        let now = now_ms();
        registry.register("beating-1-0", "host-a", 1, now).await.unwrap();
        registry.register("killed-2-0", "host-b", 2, now - 5 * 60 * 1000).await.unwrap();
        registry.register("drained-3-0", "host-c", 3, now - 60 * 1000).await.unwrap();
        assert!(registry.stop("drained-3-0", 4, now - 30 * 1000).await.unwrap());
        registry.register("forgotten-4-0", "host-d", 4, now - 2 * 24 * 60 * 60 * 1000).await.unwrap();

        let (status, health) = app.send(admin.get(&url)).await;
        assert_eq!(status, 200, "{backend:?}: {health}");
        let jobs = &health["jobs"];
        assert_eq!(
            (jobs["queued"].as_i64(), jobs["canceled"].as_i64(), jobs["running"].as_i64()),
            (Some(2), Some(1), Some(0))
        );
        let (at, age, read_at) = (
            health["oldest_queued_at"].as_i64().unwrap(),
            health["oldest_queued_age_ms"].as_i64().unwrap(),
            health["now"].as_i64().unwrap(),
        );
        assert!(at <= read_at && age == read_at - at, "{health}");
        assert_eq!(health["stale_after_ms"], 30_000);
        let workers: Vec<(&str, &str)> = health["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["id"].as_str().unwrap(), w["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            workers,
            [("beating-1-0", "live"), ("drained-3-0", "stopped"), ("killed-2-0", "stale")],
            "{backend:?}: most recent first, a silent day ago forgotten: {health}"
        );
        let drained = &health["workers"][1];
        assert_eq!(
            (drained["hostname"].as_str(), drained["pid"].as_i64(), drained["jobs_done"].as_i64()),
            (Some("host-c"), Some(3), Some(4))
        );

        // Users and strangers may not look.
        let (status, body) = app.send(app.client.get(&url)).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
        assert_eq!(app.send(app.anonymous.get(&url)).await.0, 401);
    }
}
