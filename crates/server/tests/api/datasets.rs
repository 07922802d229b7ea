//! Datasets over HTTP: importing an archive with a CSV of metadata, hostile archives refused
//! with nothing left behind, dataset jobs (filter, augmentation, batched inference) and
//! their output layout and archive, and datasets made of uploaded images.

use std::io::{Cursor, Read, Write};

use serde_json::{json, Value};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::support::{photo, spawn_app, spawn_idle_admin_app, spawn_idle_app, TestApp};

/// A small JPEG of one colour.
fn jpeg(colour: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(48, 32, image::Rgb(colour));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A zip of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Five product photos (three red, two blue), a note, and their `styles.csv` with one bad row.
fn catalogue() -> (Vec<u8>, Vec<u8>) {
    let red = [200, 20, 20];
    let blue = [20, 20, 200];
    let archive = zip_of(&[
        ("products/10001.jpg", jpeg(red)),
        ("products/10002.jpg", jpeg(blue)),
        ("products/10003.jpg", jpeg(red)),
        ("products/10004.jpg", jpeg(blue)),
        ("products/10005.jpg", jpeg(red)),
        ("README.txt", b"product photos".to_vec()),
    ]);
    let csv = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n\
               10001,Men,Apparel,Topwear,Shirts,Red,Fall,2012,Casual,\"Shirt, red\"\n\
               10002,Women,Apparel,Topwear,Tshirts,Blue,Summer,2016,Casual,Blue tee\n\
               10003,Men,Footwear,Shoes,Casual Shoes,Red,Winter,2014,Casual,Red shoes\n\
               10004,Women,Apparel,Bottomwear,Jeans,Blue,Fall,2010,Casual,Old jeans\n\
               10005,Men,Apparel,Topwear,Shirts\n";
    (archive, csv.as_bytes().to_vec())
}

async fn import(app: &TestApp, archive: Vec<u8>, metadata: Option<Vec<u8>>) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .text("name", "catalogue")
        .part("archive", reqwest::multipart::Part::bytes(archive).file_name("photos.zip"));
    if let Some(metadata) = metadata {
        form = form.part("metadata", reqwest::multipart::Part::bytes(metadata).file_name("styles.csv"));
    }
    app.send(app.client.post(app.url("/v1/datasets")).multipart(form)).await
}

#[tokio::test]
async fn an_archive_with_a_csv_imports_every_image_with_its_row_and_lists_what_it_skipped() {
    let app = spawn_idle_app().await;
    let (archive, csv) = catalogue();
    let (status, dataset) = import(&app, archive, Some(csv)).await;
    assert_eq!(status, 201, "{dataset}");
    assert_eq!(dataset["name"], "catalogue");
    assert_eq!(dataset["items"], 5);
    let summary = &dataset["summary"];
    assert_eq!(summary["skipped"], json!([{"name": "README.txt", "reason": "not_an_image"}]));
    assert_eq!(summary["columns"][2], "masterCategory");
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().unwrap().starts_with("line 6: expected 10 fields, found 5"), "{warnings:?}");
    assert_eq!(summary["unmatched_items"], 1, "the bad row's item has no metadata");

    let id = dataset["id"].as_str().unwrap();
    let page: Value = app.get(&format!("/v1/datasets/{id}/items?limit=2")).await.json().await.unwrap();
    assert_eq!(page["items"][0]["name"], "products/10001.jpg");
    assert_eq!(page["items"][0]["metadata"]["productDisplayName"], "Shirt, red");
    assert_eq!(page["items"][0]["metadata"]["year"], "2012");
    let next = page["next_cursor"].as_str().unwrap();
    let rest: Value = app.get(&format!("/v1/datasets/{id}/items?cursor={next}")).await.json().await.unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert_eq!(rest["items"][2]["metadata"], json!({}));

    let listed: Value = app.get("/v1/datasets").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["id"], id);
}

#[tokio::test]
async fn a_dataset_job_filters_augments_classifies_and_writes_images_augmentation_and_metadata_json() {
    let app = spawn_app().await;
    let (archive, csv) = catalogue();
    let (_, dataset) = import(&app, archive, Some(csv)).await;
    let id = dataset["id"].as_str().unwrap();
    let job = json!({
        "filter": "masterCategory = Apparel and year >= 2012",
        "augment": {"variants": 2, "seed": 11},
        "inference": [{"op": "classify", "top_k": 1, "categories": false}],
        "infer_on": "variants",
        "batch_size": 2,
    });
    let (status, queued) = app.post_json(&format!("/v1/datasets/{id}/jobs"), job).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["progress"]["total"], 2, "10001 and 10002 pass the filter");
    let job_id = queued["id"].as_str().unwrap();
    let done = app.wait_for_job(job_id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["progress"], json!({"done": 2, "total": 2}));
    assert_eq!((done["kind"].as_str(), done["dataset"].as_str()), (Some("dataset"), Some(id)), "{done}");
    assert!(done.get("steps").is_none() && done.get("images").is_none(), "{done}");

    let res = app.get(&format!("/v1/jobs/{job_id}/outputs/metadata.json")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let document: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(document["summary"], json!({"items": 5, "filtered_out": 3, "succeeded": 2, "failed": 0, "files": 6}));
    assert_eq!(document["spec"]["filter"], "masterCategory = Apparel and year >= 2012");
    let items = document["items"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|i| i["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["products/10001.jpg", "products/10002.jpg"]
    );
    let first = &items[0];
    assert_eq!(first["metadata"]["baseColour"], "Red");
    assert_eq!(first["image"]["file"], "images/products/10001.jpg");
    assert!(first["image"].get("annotations").is_none(), "inference looked at the variants only");
    assert_eq!(first["variants"][1]["file"], "augmentation/products/10001-v1.jpg");
    assert_eq!(first["variants"][1]["params"]["index"], 1);
    assert!(first["variants"][0]["annotations"]["labels"][0]["label"].is_string());
    let original = app.get(&format!("/v1/jobs/{job_id}/outputs/images/products/10001.jpg")).await;
    assert_eq!(original.bytes().await.unwrap().to_vec(), jpeg([200, 20, 20]), "originals are kept byte for byte");

    let res = app.get(&format!("/v1/jobs/{job_id}/archive")).await;
    assert_eq!(res.status().as_u16(), 200);
    let mut zip = zip::ZipArchive::new(Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "augmentation/products/10001-v0.jpg",
            "augmentation/products/10001-v1.jpg",
            "augmentation/products/10002-v0.jpg",
            "augmentation/products/10002-v1.jpg",
            "images/products/10001.jpg",
            "images/products/10002.jpg",
            "metadata.json",
        ]
    );
    let mut text = String::new();
    zip.by_name("metadata.json").unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["items"], document["items"]);
}

#[tokio::test]
async fn dataset_jobs_that_cannot_run_are_refused_up_front_with_their_code() {
    let app = spawn_idle_app().await;
    let (archive, csv) = catalogue();
    let (_, dataset) = import(&app, archive, Some(csv)).await;
    let path = format!("/v1/datasets/{}/jobs", dataset["id"].as_str().unwrap());
    let cases = [
        (json!({"augment": {}, "filter": "year >= 2030"}), 422, "dataset_empty"),
        (json!({"augment": {}, "filter": "year >="}), 422, "filter_invalid"),
        (json!({}), 422, "invalid_dataset_job"),
        (json!({"augment": {"variants": 0}}), 422, "invalid_dataset_job"),
        (json!({"inference": [{"op": "resize", "width": 9}]}), 422, "invalid_dataset_job"),
        (json!({"augment": {}, "infer_on": "sideways"}), 422, "invalid_dataset_job"),
        (json!({"augment": {}, "batch_size": 1000}), 422, "invalid_dataset_job"),
        (json!({"augment": {}, "surprise": true}), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app.post_json(&path, body.clone()).await;
        assert_eq!((got, answer["code"].as_str().unwrap()), (status, code), "{body}: {answer}");
    }
    let (status, answer) = app.post_json("/v1/datasets/nope/jobs", json!({"augment": {}})).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (404, "dataset_not_found"));
    let jobs: Value = app.get("/v1/jobs").await.json().await.unwrap();
    assert_eq!(jobs["items"], json!([]), "nothing was queued");
}

/// Three good images first, so a refusal has stored some and must undo them.
fn after_good_images(hostile: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut entries = vec![("a.jpg", jpeg([1, 2, 3])), ("b.jpg", jpeg([4, 5, 6])), ("c.jpg", jpeg([7, 8, 9]))];
    entries.extend(hostile.iter().cloned());
    zip_of(&entries)
}

fn with_symlink() -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    zip.start_file("a.jpg", options).unwrap();
    zip.write_all(&jpeg([1, 2, 3])).unwrap();
    zip.add_symlink("link.jpg", "/etc/passwd", options).unwrap();
    zip.finish().unwrap().into_inner()
}

fn many_tiny_entries(count: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..count {
        zip.start_file(format!("{i}.txt"), options).unwrap();
        zip.write_all(b"x").unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn hostile_archives_are_refused_with_a_clear_code_and_leave_nothing_behind() {
    let app = spawn_idle_app().await;
    let good = after_good_images(&[]);
    let mut truncated = good.clone();
    truncated.truncate(good.len() * 2 / 3);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("a zip bomb", after_good_images(&[("zeros.jpg", vec![0; 64 << 20])]), 413, "archive_bomb"),
        (
            "a path out of the folder",
            after_good_images(&[("../../evil.jpg", jpeg([0, 0, 0]))]),
            422,
            "archive_entry_unsafe",
        ),
        ("an absolute path", after_good_images(&[("/etc/evil.jpg", jpeg([0, 0, 0]))]), 422, "archive_entry_unsafe"),
        ("a symbolic link", with_symlink(), 422, "archive_entry_unsafe"),
        (
            "a name with a control character",
            after_good_images(&[("a\u{1b}[31m.jpg", jpeg([0, 0, 0]))]),
            422,
            "archive_entry_unsafe",
        ),
        // The test app allows 1,000 entries (the dataset crate's tests take 100,000 and refuse 100,001).
        ("1,001 tiny entries", many_tiny_entries(1001), 413, "archive_too_many_entries"),
        ("a truncated archive", truncated, 422, "archive_truncated"),
        ("random bytes", b"this is not an archive at all".to_vec(), 415, "archive_unsupported"),
        ("nothing but text", zip_of(&[("notes.txt", b"hello".to_vec())]), 422, "dataset_empty"),
    ];
    for (what, archive, status, code) in cases {
        let (got, answer) = import(&app, archive, None).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["code"], code, "{what}: {answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
        let images: Value = app.get("/v1/images").await.json().await.unwrap();
        assert_eq!(images["items"], json!([]), "{what}: no image kept");
        assert_eq!(app.blob_files("originals"), Vec::<String>::new(), "{what}: no bytes kept");
        assert!(app.blob_files("jobs").is_empty() && app.spooled_files().is_empty(), "{what}");
    }
    let listed: Value = app.get("/v1/datasets").await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "no dataset was made");
}

#[tokio::test]
async fn malformed_forms_and_metadata_are_refused_before_anything_is_stored() {
    let app = spawn_idle_app().await;
    let (archive, _) = catalogue();
    let raw = app.client.post(app.url("/v1/datasets")).body(archive.clone());
    let (status, answer) = app.send(raw).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (415, "unsupported_media_type"));
    let no_archive = reqwest::multipart::Form::new().text("name", "x");
    let (status, answer) = app.send(app.client.post(app.url("/v1/datasets")).multipart(no_archive)).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (400, "invalid_multipart"));
    let (status, answer) = import(&app, archive.clone(), Some(vec![0xff, 0xfe, 0x00, 0x01])).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (422, "metadata_invalid"), "{answer}");
    let extra =
        reqwest::multipart::Form::new().part("archive", reqwest::multipart::Part::bytes(archive)).text("colour", "red");
    let (status, answer) = app.send(app.client.post(app.url("/v1/datasets")).multipart(extra)).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (400, "invalid_multipart"));
    assert_eq!(app.blob_files("originals"), Vec::<String>::new());
}

#[tokio::test]
async fn a_dataset_of_uploaded_images_keeps_their_metadata_hides_from_others_and_leaves_the_images_when_deleted() {
    let app = spawn_idle_app().await;
    let (_, a) = app.upload(photo("chelsea.png")).await;
    let (_, b) = app.upload(photo("rocket.jpg")).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let body = json!({"name": "pets", "images": [a, b], "metadata": {a: {"kind": "cat", "year": 2019}}});
    let (status, dataset) = app.post_json("/v1/datasets/from-images", body).await;
    assert_eq!(status, 201, "{dataset}");
    let id = dataset["id"].as_str().unwrap();
    let items: Value = app.get(&format!("/v1/datasets/{id}/items")).await.json().await.unwrap();
    assert_eq!(items["items"][0]["metadata"], json!({"kind": "cat", "year": "2019"}));
    assert_eq!(items["items"][1]["image"], b);

    let (status, answer) = app.post_json("/v1/datasets/from-images", json!({"images": [a, a]})).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (400, "invalid_request"));
    let (status, answer) = app.post_json("/v1/datasets/from-images", json!({"images": ["missing"]})).await;
    assert_eq!((status, answer["code"].as_str().unwrap()), (404, "image_not_found"));

    let other = app.sign_up("other@example.com").await.client();
    for path in [format!("/v1/datasets/{id}"), format!("/v1/datasets/{id}/items")] {
        let res = other.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
    let res = other.delete(app.url(&format!("/v1/datasets/{id}"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = app.client.delete(app.url(&format!("/v1/datasets/{id}"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let res = app.get(&format!("/v1/datasets/{id}")).await;
    assert_eq!(res.status().as_u16(), 404);
    let res = app.get(&format!("/v1/images/{a}")).await;
    assert_eq!(res.status().as_u16(), 200, "the uploaded images are the user's, not the dataset's");
}

#[tokio::test]
async fn an_admin_imports_a_blob_store_prefix_under_imports_and_nobody_else_can() {
    let app = spawn_idle_admin_app().await;
    let folder = app.dir.path().join("blobs/imports/catalogue/shoes");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("1.jpg"), jpeg([9, 9, 9])).unwrap();
    std::fs::write(folder.join("2.jpg"), jpeg([90, 90, 90])).unwrap();
    std::fs::write(folder.join("notes.txt"), b"not an image").unwrap();
    let body = json!({"prefix": "imports/catalogue", "name": "bucket"});
    let (status, dataset) = app.post_json("/v1/datasets/from-prefix", body.clone()).await;
    assert_eq!(status, 201, "{dataset}");
    assert_eq!(dataset["items"], 2);
    assert_eq!(dataset["summary"]["skipped"], json!([{"name": "shoes/notes.txt", "reason": "not_an_image"}]));
    let items: Value =
        app.get(&format!("/v1/datasets/{}/items", dataset["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(items["items"][0]["name"], "shoes/1.jpg");

    for prefix in ["originals", "jobs/x", "imports/../originals", "imports/nothing-here", "/imports/catalogue"] {
        let (status, answer) = app.post_json("/v1/datasets/from-prefix", json!({"prefix": prefix})).await;
        assert!(matches!(status, 400 | 422), "{prefix}: {status} {answer}");
    }
    let user = app.sign_up("user@example.com").await.client();
    let res = user.post(app.url("/v1/datasets/from-prefix")).json(&body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
}
