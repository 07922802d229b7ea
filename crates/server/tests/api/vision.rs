//! Vision steps through the service, with the harness's fake `Models` (the server and
//! workers never load ONNX; the vision crate's own tests run the real models): a job whose models are
//! missing is refused up front with 503 `vision_unavailable`, charging and queueing
//! nothing, while other jobs still run; with models, what the steps found lands in the
//! job's results and in the archive's `metadata.json`.

use std::io::Read;
use std::sync::Arc;

use atelier_imaging::NoModels;
use serde_json::{json, Value};

use crate::support::{photo, spawn_app, spawn_app_with_models, TestApp};

async fn upload(app: &TestApp) -> String {
    let (status, image) = app.upload(photo("astronaut.jpg")).await;
    assert_eq!(status, 201, "{image}");
    image["id"].as_str().unwrap().to_owned()
}

async fn balance(app: &TestApp) -> i64 {
    let (_, credits) = app.send(app.client.get(app.url("/v1/me/credits"))).await;
    credits["balance"].as_i64().unwrap()
}

#[tokio::test]
async fn a_vision_job_without_models_is_refused_with_503_naming_the_fix_and_charges_and_queues_nothing() {
    let app = spawn_app_with_models(Arc::new(NoModels)).await;
    let image = upload(&app).await;
    let before = balance(&app).await;
    for ops in [&["detect_faces"][..], &["resize:width=64", "stylize:style=3"], &["analyze_faces"], &["classify"]] {
        let (status, body) = app.post_json("/v1/jobs", json!({"images": [image], "ops": ops})).await;
        assert_eq!((status, body["code"].as_str()), (503, Some("vision_unavailable")), "{ops:?}: {body}");
        assert_eq!(body["message"], atelier_server::error::VISION_UNAVAILABLE, "{body}");
    }
    assert_eq!(balance(&app).await, before, "nothing was charged");
    let (_, jobs) = app.send(app.client.get(app.url("/v1/jobs"))).await;
    assert_eq!(jobs["items"], json!([]), "nothing was queued");
    // Everything else keeps working, smart_crop included: without faces it crops by detail.
    let (status, job) =
        app.post_json("/v1/jobs", json!({"images": [image], "ops": ["smart_crop:width=64,height=64"]})).await;
    assert_eq!(status, 202, "{job}");
    let finished = app.wait_for_job(job["id"].as_str().unwrap()).await;
    assert_eq!(finished["state"], "succeeded", "{finished}");
}

#[tokio::test]
async fn what_vision_steps_find_lands_in_the_job_results_and_in_the_archive_metadata() {
    let app = spawn_app().await;
    let image = upload(&app).await;
    let ops = ["detect_faces", "analyze_faces", "classify", "thumbnail:width=100", "draw_annotations"];
    let (status, job) = app.post_json("/v1/jobs", json!({"images": [image], "ops": ops})).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let finished = app.wait_for_job(id).await;
    assert_eq!(finished["state"], "succeeded", "{finished}");
    let annotations = &finished["results"]["items"][0]["outputs"][0]["annotations"];
    let face = &annotations["faces"][0];
    assert_eq!(face["attributes"]["gender"], "female", "{annotations}");
    assert_eq!(face["attributes"]["emotion"], "neutral", "{annotations}");
    // The 512 px astronaut became 100 px wide: the face box followed the thumbnail.
    let x = face["box"]["x"].as_f64().unwrap();
    assert!((x - 0.4 * 100.0).abs() < 1.0, "{face}");
    assert_eq!(annotations["labels"][0]["label"], "teapot");

    let bytes = app.get(&format!("/v1/jobs/{id}/archive")).await.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    zip.by_name("metadata.json").unwrap().read_to_string(&mut text).unwrap();
    let metadata: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(&metadata["items"][0]["outputs"][0]["annotations"], annotations, "{metadata}");
}

#[tokio::test]
async fn a_style_image_is_one_of_the_callers_own_images_and_anothers_is_not_found() {
    let app = spawn_app().await;
    let photo_id = upload(&app).await;
    let (status, style) = app.upload(photo("chelsea.png")).await;
    assert_eq!(status, 201, "{style}");
    let style_id = style["id"].as_str().unwrap();
    let step = format!("stylize:image={style_id},max_side=128");
    let (status, job) = app.post_json("/v1/jobs", json!({"images": [photo_id], "ops": [step]})).await;
    assert_eq!(status, 202, "{job}");
    let finished = app.wait_for_job(job["id"].as_str().unwrap()).await;
    assert_eq!(finished["state"], "succeeded", "{finished}");
    assert_eq!(finished["results"]["items"][0]["outputs"][0]["width"], 128, "{finished}");

    // Someone else may not paint with the owner's picture, nor learn that it exists.
    let other = app.sign_up("other@example.com").await;
    let (status, theirs) = app.send(other.client().post(app.url("/v1/images")).body(photo("rocket.jpg"))).await;
    assert_eq!(status, 201, "{theirs}");
    let step = format!("stylize:image={style_id}");
    let body = json!({"images": [theirs["id"]], "ops": [step]});
    let (status, refused) = app.send(other.client().post(app.url("/v1/jobs")).json(&body)).await;
    assert_eq!((status, refused["code"].as_str()), (404, Some("image_not_found")), "{refused}");
}

#[tokio::test]
async fn own_categories_made_from_examples_sort_new_images_and_belong_to_their_owner() {
    let app = spawn_app().await;
    let mut ids = std::collections::HashMap::new();
    for name in ["chelsea.png", "chelsea.webp", "rocket.jpg", "coffee-gray.png"] {
        let (status, image) = app.upload(photo(name)).await;
        assert_eq!(status, 201, "{image}");
        ids.insert(name, image["id"].as_str().unwrap().to_owned());
    }
    let made = |name: &str, images: &[&str]| json!({"name": name, "images": images.iter().map(|i| &ids[i]).collect::<Vec<_>>()});
    let (status, cats) = app.post_json("/v1/categories", made("cats", &["chelsea.png"])).await;
    assert_eq!((status, cats["name"].as_str(), cats["examples"].as_i64()), (201, Some("cats"), Some(1)), "{cats}");
    let (status, _) = app.post_json("/v1/categories", made("rockets", &["rocket.jpg"])).await;
    assert_eq!(status, 201);

    // Refusals, each with its code; nothing is saved by any of them.
    let cases = [
        (made("cats", &["rocket.jpg"]), 409, "category_exists"),
        (made("Bad Name", &["rocket.jpg"]), 400, "invalid_request"),
        (json!({"name": "empty", "images": []}), 400, "invalid_request"),
        (json!({"name": "ghost", "images": ["00000000-0000-4000-8000-000000000000"]}), 404, "image_not_found"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app.post_json("/v1/categories", body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    let (_, list) = app.send(app.client.get(app.url("/v1/categories"))).await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cats", "rockets"]);

    // The same cat, another file: the nearest category is `cats`.
    let ops = ["classify:own_categories=true,min_similarity=0.9"];
    let (status, job) = app.post_json("/v1/jobs", json!({"images": [ids["chelsea.webp"]], "ops": ops})).await;
    assert_eq!(status, 202, "{job}");
    let finished = app.wait_for_job(job["id"].as_str().unwrap()).await;
    let category = &finished["results"]["items"][0]["outputs"][0]["annotations"]["category"];
    assert_eq!(category["label"], "cats", "{finished}");

    // Another user sees none of them and cannot delete them.
    let other = app.sign_up("other@example.com").await;
    let (_, theirs) = app.send(other.client().get(app.url("/v1/categories"))).await;
    assert_eq!(theirs["items"], json!([]));
    let (status, _) = app.send(other.client().delete(app.url("/v1/categories/cats"))).await;
    assert_eq!(status, 404);
    let (status, _) = app.send(app.client.delete(app.url("/v1/categories/cats"))).await;
    assert_eq!(status, 204);
    let (status, gone) = app.send(app.client.delete(app.url("/v1/categories/cats"))).await;
    assert_eq!((status, gone["code"].as_str()), (404, Some("category_not_found")));
}
