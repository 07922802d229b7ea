//! Resumable uploads over HTTP: parts at offsets, resuming after a lost part, completion
//! through the same checks as a one-shot upload, and the answers to clients out of step.

use serde_json::{json, Value};

use crate::support::{photo, spawn_app, TestApp};

async fn put_part(app: &TestApp, id: &str, offset: usize, bytes: &[u8]) -> (u16, Value) {
    app.send(app.client.put(app.url(&format!("/v1/uploads/{id}?offset={offset}"))).body(bytes.to_vec())).await
}

#[tokio::test]
async fn a_file_sent_in_parts_becomes_the_same_image_as_a_one_shot_upload() {
    let app = spawn_app().await;
    let bytes = photo("rocket.jpg");
    let (status, session) = app.post_json("/v1/uploads", json!({"size": bytes.len()})).await;
    assert_eq!((status, session["received"].as_i64()), (201, Some(0)), "{session}");
    let id = session["id"].as_str().unwrap();
    let mut offset = 0;
    for chunk in bytes.chunks(10_000) {
        let (status, progress) = put_part(&app, id, offset, chunk).await;
        offset += chunk.len();
        assert_eq!((status, progress["received"].as_u64()), (200, Some(offset as u64)), "{progress}");
    }
    let (status, image) = app.post_json(&format!("/v1/uploads/{id}/complete"), json!({})).await;
    assert_eq!(status, 201, "{image}");
    let (_, direct) = app.upload(bytes.clone()).await;
    assert_eq!(image["sha256"], direct["sha256"]);
    let original = app.get(&format!("/v1/images/{}/original", image["id"].as_str().unwrap())).await;
    assert_eq!(original.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(app.get(&format!("/v1/uploads/{id}")).await.status().as_u16(), 404, "the session is gone");
    assert!(app.blob_files("uploads").is_empty(), "parts are deleted");
}

#[tokio::test]
async fn a_client_out_of_step_is_told_where_to_resume_and_loses_nothing() {
    let app = spawn_app().await;
    let bytes = photo("chelsea.png");
    let (_, session) = app.post_json("/v1/uploads", json!({"size": bytes.len()})).await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(put_part(&app, id, 0, &bytes[..1000]).await.0, 200);

    // A retried part (the answer was lost) and a part from the future are both refused.
    for offset in [0, 5000] {
        let (status, body) = put_part(&app, id, offset, &bytes[offset..offset + 10]).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("upload_offset_mismatch")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("resume from 1000"), "{body}");
    }
    let (status, body) = app.post_json(&format!("/v1/uploads/{id}/complete"), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("upload_incomplete")), "{body}");
    let (status, body) = put_part(&app, id, 1000, &vec![0; bytes.len()]).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("request_too_large")), "past the declared size: {body}");
    let (status, body) = put_part(&app, id, 1000, &[]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")), "empty part: {body}");

    let state: Value = app.get(&format!("/v1/uploads/{id}")).await.json().await.unwrap();
    assert_eq!(state["received"], 1000, "refused parts changed nothing");
    assert_eq!(put_part(&app, id, 1000, &bytes[1000..]).await.0, 200);
    let (status, image) = app.post_json(&format!("/v1/uploads/{id}/complete"), json!({})).await;
    assert_eq!(status, 201, "{image}");
    assert_eq!(app.blob_files("uploads").len(), 0);
}

#[tokio::test]
async fn a_completed_upload_that_is_not_an_image_is_refused_and_cleaned_up() {
    let app = spawn_app().await;
    let truncated = &photo("rocket.jpg")[..20_000];
    let (_, session) = app.post_json("/v1/uploads", json!({"size": truncated.len()})).await;
    let id = session["id"].as_str().unwrap();
    put_part(&app, id, 0, truncated).await;
    let (status, body) = app.post_json(&format!("/v1/uploads/{id}/complete"), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("truncated_image")), "{body}");
    assert_eq!(app.get(&format!("/v1/uploads/{id}")).await.status().as_u16(), 404);
    assert!(app.blob_files("uploads").is_empty());
    assert!(app.blob_files("originals").is_empty());
    assert!(app.spooled_files().is_empty());
}

#[tokio::test]
async fn upload_sessions_refuse_bad_sizes_and_can_be_abandoned() {
    let app = spawn_app().await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"size": 0}), 400, "invalid_request"),
        (json!({"size": 3 << 20}), 413, "input_too_large"),
        (json!({"size": -1}), 400, "invalid_json"),
        (json!({"size": "big"}), 400, "invalid_json"),
        (json!({}), 400, "invalid_json"),
        (json!({"size": 10, "name": "x"}), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app.post_json("/v1/uploads", body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    let (_, session) = app.post_json("/v1/uploads", json!({"size": 100})).await;
    let id = session["id"].as_str().unwrap();
    put_part(&app, id, 0, &[1; 50]).await;
    assert_eq!(app.blob_files("uploads").len(), 1);
    let (status, _) = app.send(app.client.delete(app.url(&format!("/v1/uploads/{id}")))).await;
    assert_eq!(status, 204);
    assert!(app.blob_files("uploads").is_empty());
    let (status, body) = put_part(&app, id, 50, &[1; 50]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("upload_not_found")), "{body}");
    let (status, body) = put_part(&app, "does-not-exist", 0, &[1]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("upload_not_found")), "{body}");
    let missing_offset = app.client.put(app.url(&format!("/v1/uploads/{id}"))).body(vec![1]);
    let (status, body) = app.send(missing_offset).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")), "{body}");
}
