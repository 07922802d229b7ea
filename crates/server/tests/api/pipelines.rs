//! Saved pipelines over HTTP: create, version, read, list, and jobs that cite them.

use serde_json::{json, Value};

use crate::support::{photo, spawn_app};

fn thumbnail(width: u32) -> Value {
    json!({"version": 1, "steps": [{"op": "thumbnail", "width": width}]})
}

#[tokio::test]
async fn a_saved_pipeline_gains_versions_and_jobs_run_the_version_they_cite() {
    let app = spawn_app().await;
    let (status, created) = app.post_json("/v1/pipelines", json!({"name": "thumbs", "pipeline": thumbnail(64)})).await;
    assert_eq!((status, created["reference"].as_str()), (201, Some("thumbs@1")), "{created}");
    let (status, second) = app.post_json("/v1/pipelines/thumbs/versions", json!({"pipeline": thumbnail(32)})).await;
    assert_eq!((status, second["version"].as_i64()), (201, Some(2)), "{second}");
    assert_eq!(second["versions"], json!([1, 2]));

    let latest: Value = app.get("/v1/pipelines/thumbs").await.json().await.unwrap();
    assert_eq!((latest["version"].as_i64(), &latest["versions"]), (Some(2), &json!([1, 2])));
    let first: Value = app.get("/v1/pipelines/thumbs/versions/1").await.json().await.unwrap();
    assert_eq!(first["pipeline"]["steps"][0]["width"], 64);

    let (_, image) = app.upload(photo("rocket.jpg")).await;
    let id = image["id"].as_str().unwrap();
    for (cited, reference, width) in [("thumbs@1", "thumbs@1", 64), ("thumbs", "thumbs@2", 32)] {
        let (status, job) = app.post_json("/v1/jobs", json!({"pipeline": cited, "images": [id]})).await;
        assert_eq!((status, job["pipeline"].as_str()), (202, Some(reference)), "{job}");
        let done = app.wait_for_job(job["id"].as_str().unwrap()).await;
        assert_eq!(done["results"]["items"][0]["outputs"][0]["width"], width, "{cited}: {done}");
    }
}

#[tokio::test]
async fn pipelines_are_listed_by_name_with_their_latest_version() {
    let app = spawn_app().await;
    for name in ["b", "a", "c"] {
        app.post_json("/v1/pipelines", json!({"name": name, "pipeline": thumbnail(10)})).await;
    }
    app.post_json("/v1/pipelines/a/versions", json!({"pipeline": thumbnail(20)})).await;
    let page: Value = app.get("/v1/pipelines?limit=2").await.json().await.unwrap();
    let names: Vec<(&str, i64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["version"].as_i64().unwrap()))
        .collect();
    assert_eq!(names, [("a", 2), ("b", 1)]);
    let next = page["next_cursor"].as_str().unwrap();
    let rest: Value = app.get(&format!("/v1/pipelines?cursor={next}")).await.json().await.unwrap();
    assert_eq!(rest["items"][0]["name"], "c");
}

#[tokio::test]
async fn bad_pipeline_requests_get_a_code_naming_the_problem() {
    let app = spawn_app().await;
    app.post_json("/v1/pipelines", json!({"name": "taken", "pipeline": thumbnail(10)})).await;
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        ("/v1/pipelines", json!({"name": "taken", "pipeline": thumbnail(5)}), 409, "pipeline_exists", "/versions"),
        ("/v1/pipelines", json!({"name": "Bad Name", "pipeline": thumbnail(5)}), 400, "invalid_request", "a-z"),
        ("/v1/pipelines", json!({"name": "x@1", "pipeline": thumbnail(5)}), 400, "invalid_request", "a-z"),
        ("/v1/pipelines", json!({"name": "", "pipeline": thumbnail(5)}), 400, "invalid_request", "1 to 64"),
        ("/v1/pipelines", json!({"name": "p".repeat(65), "pipeline": thumbnail(5)}), 400, "invalid_request", "1 to 64"),
        (
            "/v1/pipelines",
            json!({"name": "z", "pipeline": {"version": 1, "steps": [{"op": "blur", "sigma": -1}]}}),
            422,
            "invalid_pipeline",
            "steps[0].sigma",
        ),
        ("/v1/pipelines", json!({"name": "z"}), 400, "invalid_json", "missing field `pipeline`"),
        ("/v1/pipelines", json!({"name": 5, "pipeline": {}}), 400, "invalid_json", "invalid type"),
        ("/v1/pipelines/nope/versions", json!({"pipeline": thumbnail(5)}), 404, "pipeline_not_found", "nope"),
        ("/v1/jobs", json!({"pipeline": "nope@1", "images": ["x"]}), 404, "pipeline_not_found", "nope@1"),
        ("/v1/jobs", json!({"pipeline": "taken@2", "images": ["x"]}), 404, "pipeline_not_found", "taken@2"),
        ("/v1/jobs", json!({"pipeline": "taken@zero", "images": ["x"]}), 400, "invalid_request", "whole number"),
        ("/v1/jobs", json!({"pipeline": "taken@0", "images": ["x"]}), 400, "invalid_request", "whole number"),
    ];
    for (path, body, status, code, message) in cases {
        let (got, answer) = app.post_json(path, body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{path} {body}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(message), "{path} {body}: {answer}");
    }
    for path in ["/v1/pipelines/nope", "/v1/pipelines/taken/versions/9", "/v1/pipelines/taken/versions/x"] {
        let res = app.get(path).await;
        let status = res.status().as_u16();
        assert!(status == 404 || status == 400, "{path}: {status}");
    }
    let taken: Value = app.get("/v1/pipelines/taken").await.json().await.unwrap();
    assert_eq!(taken["versions"], json!([1]), "refused requests changed nothing");
}
