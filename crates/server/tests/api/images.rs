//! Images over HTTP: raw and multipart uploads, listing, and deletion that keeps the bytes
//! a queued job still needs.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::support::{photo, spawn_app, spawn_idle_app};

#[tokio::test]
async fn a_multipart_upload_stores_the_file_field_like_a_raw_body() {
    let app = spawn_app().await;
    let form = Form::new().part("file", Part::bytes(photo("chelsea.png")).file_name("cat.png"));
    let (status, image) = app.send(app.client.post(app.url("/v1/images")).multipart(form)).await;
    assert_eq!(status, 201, "{image}");
    let (_, raw) = app.upload(photo("chelsea.png")).await;
    assert_eq!(image["sha256"], raw["sha256"]);
    assert_eq!((image["format"].as_str(), image["width"].as_i64()), (Some("png"), Some(300)));
    assert_eq!(app.blob_files("originals").len(), 1, "the same bytes are stored once");
}

#[tokio::test]
async fn malformed_multipart_uploads_get_a_code_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        ("no file field", Form::new().text("name", "x"), 400, "invalid_multipart"),
        ("empty form", Form::new(), 400, "invalid_multipart"),
        (
            "two files",
            Form::new().part("file", Part::bytes(photo("chelsea.png"))).part("file", Part::bytes(photo("chelsea.png"))),
            400,
            "invalid_multipart",
        ),
        ("a text file", Form::new().part("file", Part::bytes(b"hello".to_vec())), 415, "unsupported_format"),
        ("over the limit", Form::new().part("file", Part::bytes(vec![0xFF; 3 << 20])), 413, "input_too_large"),
    ];
    for (name, form, status, code) in cases {
        let (got, body) = app.send(app.client.post(app.url("/v1/images")).multipart(form)).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{name}: {body}");
    }
    let broken = app
        .client
        .post(app.url("/v1/images"))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc");
    let (status, body) = app.send(broken).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_multipart")), "{body}");
    let no_boundary = app.client.post(app.url("/v1/images")).header("content-type", "multipart/form-data").body("x");
    let (status, body) = app.send(no_boundary).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_multipart")), "{body}");
    assert!(app.spooled_files().is_empty());
    assert!(app.blob_files("originals").is_empty());
}

#[tokio::test]
async fn images_are_listed_newest_first_by_cursor() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for name in ["chelsea.png", "rocket.jpg", "chelsea.bmp"] {
        let (_, image) = app.upload(photo(name)).await;
        ids.push(image["id"].as_str().unwrap().to_string());
        // Distinct creation times make the expected order unambiguous.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let page: Value = app.get("/v1/images?limit=2").await.json().await.unwrap();
    let listed: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    let next = page["next_cursor"].as_str().unwrap();
    let rest: Value = app.get(&format!("/v1/images?limit=2&cursor={next}")).await.json().await.unwrap();
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert!(rest.get("next_cursor").is_none(), "{rest}");
    for query in ["?limit=0", "?limit=101", "?limit=x", "?cursor=nope", "?cursor=1_..%2F", "?colour=red"] {
        let res = app.get(&format!("/v1/images{query}")).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_deleted_image_is_gone_but_a_queued_job_still_reads_its_bytes() {
    // No worker yet, so the job is still queued when the image goes.
    let app = spawn_idle_app().await;
    let (_, image) = app.upload(photo("rocket.jpg")).await;
    let id = image["id"].as_str().unwrap();
    let (status, job) = app.post_json("/v1/jobs", json!({"ops": ["thumbnail:width=50"], "images": [id]})).await;
    assert_eq!(status, 202, "{job}");
    let (status, _) = app.send(app.client.delete(app.url(&format!("/v1/images/{id}")))).await;
    assert_eq!(status, 204);
    let (status, again) = app.send(app.client.delete(app.url(&format!("/v1/images/{id}")))).await;
    assert_eq!((status, again["code"].as_str()), (404, Some("image_not_found")));
    assert_eq!(app.get(&format!("/v1/images/{id}")).await.status().as_u16(), 404);
    assert_eq!(app.get(&format!("/v1/images/{id}/original")).await.status().as_u16(), 404);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(app.blob_files("originals").len(), 1, "the queued job holds the bytes");

    app.start_worker();
    let done = app.wait_for_job(job["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    for _ in 0..100 {
        if app.blob_files("originals").is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the original was not collected after its last job finished");
}
