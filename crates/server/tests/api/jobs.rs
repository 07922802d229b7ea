//! Jobs over HTTP: submit, follow, list, retry, download outputs; and the answers to
//! malformed requests.

use serde_json::{json, Value};

use crate::support::{photo, spawn_app};

#[tokio::test]
async fn an_uploaded_photo_goes_through_a_job_and_its_output_downloads() {
    let app = spawn_app().await;
    let (status, image) = app.upload(photo("rocket.jpg")).await;
    assert_eq!(status, 201, "{image}");
    assert_eq!(
        (image["format"].as_str(), image["width"].as_i64(), image["height"].as_i64()),
        (Some("jpeg"), Some(640), Some(427))
    );
    let id = image["id"].as_str().unwrap();
    let original = app.get(&format!("/v1/images/{id}/original")).await;
    assert_eq!(original.headers()["content-type"], "image/jpeg");
    assert_eq!(original.bytes().await.unwrap().len(), photo("rocket.jpg").len());

    let (status, job) =
        app.post_json("/v1/jobs", json!({"ops": ["thumbnail:width=100", "convert:format=webp"], "images": [id]})).await;
    assert_eq!(status, 202, "{job}");
    let job = app.wait_for_job(job["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["progress"], json!({"done": 1, "total": 1}));
    // What the web app needs to show the job: its kind, its steps and each item's image.
    assert_eq!(job["kind"], "pipeline");
    assert_eq!(job["images"], json!([id]));
    assert_eq!(job["steps"][0]["op"], "thumbnail", "{job}");
    assert_eq!(job["steps"][1]["op"], "convert", "{job}");
    let url = job["results"]["items"][0]["outputs"][0]["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("/v1/jobs/{}/outputs/images/", job["id"].as_str().unwrap())), "{url}");
    let output = app.get(url).await;
    assert_eq!((output.status().as_u16(), output.headers()["content-type"].to_str().unwrap()), (200, "image/webp"));
    let thumb = output.bytes().await.unwrap();
    assert_eq!(&thumb[8..12], b"WEBP");
}

#[tokio::test]
async fn bad_uploads_get_a_code_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let rocket = photo("rocket.jpg");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty", vec![], 400, "empty_input"),
        ("text", b"hello".to_vec(), 415, "unsupported_format"),
        ("truncated", rocket[..rocket.len() / 2].to_vec(), 422, "truncated_image"),
        ("over the size limit", vec![0xFF; 3 << 20], 413, "input_too_large"),
    ];
    for (name, bytes, status, code) in cases {
        let (got, body) = app.upload(bytes).await;
        assert_eq!((got, body["code"].as_str().unwrap()), (status, code), "{name}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{name}");
    }
    let spooled = app.spooled_files();
    assert!(spooled.is_empty(), "spool files left: {spooled:?}");
}

#[tokio::test]
async fn malformed_job_requests_get_a_code_naming_the_problem() {
    let app = spawn_app().await;
    let (_, image) = app.upload(photo("chelsea.png")).await;
    let id = image["id"].as_str().unwrap();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"ops": ["resize:width=0"], "images": [id]}),
            422,
            "invalid_pipeline",
            "steps[0].width: must be 1..=65535, got 0",
        ),
        (
            json!({"pipeline": {"version": 1, "steps": [{"op": "nope"}]}, "images": [id]}),
            422,
            "invalid_pipeline",
            "unknown op `nope`",
        ),
        (json!({"ops": ["flip"], "images": ["missing"]}), 404, "image_not_found", "image `missing` not found"),
        (json!({"ops": ["flip"], "images": []}), 400, "invalid_request", "1 to 10 image ids"),
        (
            json!({"ops": ["flip"], "pipeline": {}, "images": [id]}),
            400,
            "invalid_request",
            "either `pipeline` or `ops`",
        ),
        (json!({"ops": ["flip"], "images": [id], "priority": 9}), 400, "invalid_json", "unknown field `priority`"),
        (json!({"ops": "flip", "images": [id]}), 400, "invalid_json", "invalid type"),
        (
            json!({"ops": ["flip"], "images": [id], "webhook": "https://example.com/hook"}),
            400,
            "invalid_webhook",
            "webhooks are off",
        ),
    ];
    for (body, status, code, message) in cases {
        let (got, answer) = app.post_json("/v1/jobs", body.clone()).await;
        assert_eq!((got, answer["code"].as_str().unwrap()), (status, code), "{body}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(message), "{body}: {answer}");
    }
    let res = app
        .client
        .post(format!("{}/v1/jobs", app.base))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let res = app.client.post(format!("{}/v1/jobs", app.base)).body("{}").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 415, "no content type");
    for path in ["/v1/jobs/nope", "/v1/images/nope", "/v1/jobs/nope/outputs/images/0.jpg", "/nowhere"] {
        let res = app.get(path).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["code"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn health_readiness_and_the_catalogue_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("/readyz").await.status().as_u16(), 200);
    let ops: Value = app.get("/v1/ops").await.json().await.unwrap();
    assert_eq!(ops.as_array().unwrap().len(), atelier_imaging::OpName::ALL.len());
}

#[tokio::test]
async fn jobs_are_listed_newest_first_by_cursor_and_failed_ones_can_be_retried() {
    let app = spawn_app().await;
    let (_, junk) = app.upload(photo("chelsea.bmp")).await;
    let id = junk["id"].as_str().unwrap();
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let (_, job) =
            app.post_json("/v1/jobs", json!({"ops": ["crop:x=500,y=0,width=10,height=10"], "images": [id]})).await;
        jobs.push(job["id"].as_str().unwrap().to_string());
    }
    for job in &jobs {
        assert_eq!(app.wait_for_job(job).await["state"], "failed", "a crop outside the image fails every item");
    }
    let page: Value = app.get("/v1/jobs?limit=2").await.json().await.unwrap();
    let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [jobs[2].as_str(), jobs[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = app.get(&format!("/v1/jobs?limit=2&cursor={cursor}&state=failed")).await.json().await.unwrap();
    assert_eq!(rest["items"][0]["id"], jobs[0].as_str());
    assert!(rest.get("next_cursor").is_none());
    for (query, status) in [("?state=lost", 400), ("?limit=0", 400), ("?limit=x", 400), ("?cursor=abc", 400)] {
        let res = app.get(&format!("/v1/jobs{query}")).await;
        assert_eq!(res.status().as_u16(), status, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_request", "{query}");
    }

    let (status, retried) = app.post_json(&format!("/v1/jobs/{}/retry", jobs[0]), json!({})).await;
    assert_eq!((status, retried["state"].as_str()), (200, Some("queued")), "{retried}");
    assert_eq!(app.wait_for_job(&jobs[0]).await["state"], "failed");
    let (_, ok) = app.post_json("/v1/jobs", json!({"ops": ["flip"], "images": [id]})).await;
    let ok_id = ok["id"].as_str().unwrap();
    app.wait_for_job(ok_id).await;
    let (status, conflict) = app.post_json(&format!("/v1/jobs/{ok_id}/retry"), json!({})).await;
    assert_eq!((status, conflict["code"].as_str()), (409, Some("job_state_conflict")), "{conflict}");
}
