//! A job's results as they leave the server: the live event stream and the zip archive.

use std::io::Read;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{photo, spawn_app, spawn_idle_app, TestApp};

/// Reads server-sent events until the server closes the stream: (event name, JSON data).
async fn read_events(app: &TestApp, job: &str) -> Vec<(String, Value)> {
    let mut response = app.get(&format!("/v1/jobs/{job}/events")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read).await.expect("the stream ends when the job ends");
    parse_events(&text)
}

fn parse_events(text: &str) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|block| !block.trim().is_empty()) {
        let field = |name: &str| block.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
        if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
            events.push((event.to_owned(), serde_json::from_str(data).unwrap()));
        }
    }
    events
}

async fn submit(app: &TestApp, images: &[&str], ops: &[&str]) -> String {
    let (status, job) = app.post_json("/v1/jobs", json!({"images": images, "ops": ops})).await;
    assert_eq!(status, 202, "{job}");
    job["id"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, name: &str) -> String {
    let (status, image) = app.upload(photo(name)).await;
    assert_eq!(status, 201, "{image}");
    image["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_watched_job_streams_its_state_each_item_and_a_final_event() {
    let app = spawn_idle_app().await;
    let first = upload(&app, "rocket.jpg").await;
    let second = upload(&app, "rotated-6.jpg").await;
    let job = submit(&app, &[&first, &second], &["thumbnail:width=64"]).await;
    let start_later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.start_worker();
    };
    let (events, ()) = tokio::join!(read_events(&app, &job), start_later);

    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"job"), "{names:?}");
    assert_eq!(events[0].1["state"], "queued", "the first event is the job as it stood");
    assert_eq!(names.last(), Some(&"end"), "{names:?}");
    let end = &events.last().unwrap().1;
    assert_eq!(end["state"], "succeeded");
    assert_eq!(end["progress"], json!({"done": 2, "total": 2}));
    let mut items: Vec<u64> =
        events.iter().filter(|(name, _)| name == "item").map(|(_, data)| data["index"].as_u64().unwrap()).collect();
    items.sort_unstable();
    assert_eq!(items, [0, 1], "each item is announced once");
    assert!(events.iter().all(|(name, data)| name != "item" || data["result"]["status"] == "succeeded"));
    let states: Vec<&str> =
        events.iter().filter(|(name, _)| name == "job").map(|(_, data)| data["state"].as_str().unwrap()).collect();
    assert!(states.len() >= 2, "the stream reports the job's changes, not only its start: {states:?}");
}

#[tokio::test]
async fn watching_a_finished_job_replays_its_items_and_closes() {
    let app = spawn_app().await;
    let image = upload(&app, "rocket.jpg").await;
    let job = submit(&app, &[&image], &["thumbnail:width=32"]).await;
    app.wait_for_job(&job).await;

    let events = read_events(&app, &job).await;
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["job", "item", "end"]);
    assert_eq!(events[2].1["id"], job);
}

#[tokio::test]
async fn events_of_a_job_that_does_not_exist_are_a_plain_404() {
    let app = spawn_idle_app().await;
    let response = app.get("/v1/jobs/nope/events").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "job_not_found");
}

#[tokio::test]
async fn a_finished_job_downloads_as_a_zip_of_its_outputs_and_metadata() {
    let app = spawn_app().await;
    let good = upload(&app, "rocket.jpg").await;
    let other = upload(&app, "rotated-6.jpg").await;
    let job = submit(&app, &[&good, &other], &["thumbnail:width=48", "convert:format=png"]).await;
    let finished = app.wait_for_job(&job).await;
    assert_eq!(finished["state"], "succeeded", "{finished}");

    let response = app.get(&format!("/v1/jobs/{job}/archive")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains(&format!("job-{job}.zip")), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();

    let mut text = String::new();
    zip.by_name("metadata.json").unwrap().read_to_string(&mut text).unwrap();
    let metadata: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(metadata["job"]["id"], job);
    assert_eq!(metadata["job"]["state"], "succeeded");
    let items = metadata["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["image"], good.as_str());
    assert_eq!(items[1]["image"], other.as_str());
    for item in items {
        assert_eq!(item["status"], "succeeded");
        for output in item["outputs"].as_array().unwrap() {
            let file = output["file"].as_str().unwrap();
            let mut packed = Vec::new();
            zip.by_name(file).unwrap().read_to_end(&mut packed).unwrap();
            assert_eq!(packed.len() as u64, output["bytes"].as_u64().unwrap(), "{file}");
            assert_eq!(&packed[1..4], b"PNG", "{file} is the PNG the job wrote");
            let served = app.get(&format!("/v1/jobs/{job}/outputs/{file}")).await.bytes().await.unwrap();
            assert_eq!(served.as_ref(), packed.as_slice(), "the archive holds the very bytes of {file}");
        }
    }
    assert_eq!(zip.len(), 3, "metadata.json and one output per item");
}

#[tokio::test]
async fn an_archive_lists_failed_items_with_their_error() {
    let app = spawn_app().await;
    let image = upload(&app, "rocket.jpg").await;
    // Valid as written, refused when run: over the output size limit.
    let job = submit(&app, &[&image], &["resize:width=65535,height=65535,fit=fill,upscale=true"]).await;
    let finished = app.wait_for_job(&job).await;
    let bytes = app.get(&format!("/v1/jobs/{job}/archive")).await.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    zip.by_name("metadata.json").unwrap().read_to_string(&mut text).unwrap();
    let metadata: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(metadata["job"]["state"], finished["state"]);
    assert_eq!(metadata["items"][0]["status"], "failed", "{metadata}");
    assert!(metadata["items"][0]["error"]["code"].as_str().is_some_and(|code| !code.is_empty()), "{metadata}");
    assert_eq!(zip.len(), 1, "a failed item has no output to pack");
}

#[tokio::test]
async fn an_unfinished_job_has_no_archive_yet() {
    let app = spawn_idle_app().await;
    let image = upload(&app, "rocket.jpg").await;
    let job = submit(&app, &[&image], &["thumbnail:width=32"]).await;
    let response = app.get(&format!("/v1/jobs/{job}/archive")).await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "job_state_conflict");
    assert!(body["message"].as_str().unwrap().contains("queued"), "{body}");
    let missing = app.get("/v1/jobs/nope/archive").await;
    assert_eq!(missing.status(), 404);
}
