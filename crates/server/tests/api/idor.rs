//! Nobody sees what isn't theirs: every operation in the OpenAPI document that names a
//! resource in its path is sent with user A's real ids by user B, who must get 404 — never
//! 403, never the resource — while A's own request finds it. The operations come from the
//! document, so a route added tomorrow is checked tomorrow (and a path parameter the
//! fixtures cannot fill fails the test until they learn it). On SQLite and PostgreSQL.

use serde_json::Value;

use crate::matrix::doc::Doc;
use crate::matrix::fixtures::Fixtures;
use crate::support::{backends, spawn_idle_app_on, test_auth, Backend, TestApp};

#[tokio::test]
async fn another_users_resources_answer_404_on_every_route_that_names_one() {
    for backend in backends() {
        check(backend).await;
    }
}

async fn check(backend: Backend) {
    let app = spawn_idle_app_on(backend, test_auth()).await;
    let mut fixtures = Fixtures::create(&app).await;
    app.start_worker();
    let job = app.wait_for_job(&fixtures.job).await;
    let key = job["results"]["items"][0]["outputs"][0]["key"].as_str().expect("the job made an output");
    fixtures.output = Some(key.splitn(3, '/').nth(2).unwrap().to_string());
    // The owner deletes this upload: the fixture's one is completed by another request.
    let (_, doomed) = app.post_json("/v1/uploads", serde_json::json!({"size": 100})).await;
    let doomed = doomed["id"].as_str().unwrap().to_string();
    let intruder = app.sign_up("intruder@example.com").await.client();
    let doc = Doc::load();
    let endpoints: Vec<_> = doc.endpoints().into_iter().filter(|e| !e.path_params.is_empty()).collect();
    assert!(endpoints.len() >= 15, "{backend:?}: the document lists only {} such operations", endpoints.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for endpoint in &endpoints {
        let case = fixtures.valid(&doc, endpoint);
        let (status, body) = send(&app, &intruder, &case).await;
        let expected = if endpoint.template.starts_with("/v1/admin/") { (403, "forbidden") } else { (404, "") };
        let code_ok = expected.1.is_empty() || body["code"] == expected.1;
        if status != expected.0 || !code_ok || leaks(&body, &fixtures) {
            failures.push(format!("{} as the intruder: {status} {body}", case.op));
        }
        checked += 1;
    }
    // The owner's own requests do find the resources: the 404s above are about ownership.
    // Deletions last, so they do not pull the ground from under the others.
    let mut owned: Vec<_> = endpoints.iter().filter(|e| !e.template.starts_with("/v1/admin/")).collect();
    owned.sort_by_key(|e| e.method == reqwest::Method::DELETE);
    for endpoint in owned {
        let mut case = fixtures.valid(&doc, endpoint);
        if endpoint.method == reqwest::Method::DELETE && endpoint.template.starts_with("/v1/uploads/") {
            case.path = case.path.replace(&fixtures.upload, &doomed);
        }
        let (status, body) = send(&app, &app.client, &case).await;
        if status == 404 || status == 401 || status == 403 {
            failures.push(format!("{} as the owner: {status} {body}", case.op));
        }
    }
    // Lists are scoped too.
    for list in ["/v1/images", "/v1/jobs", "/v1/pipelines", "/v1/me/keys"] {
        let (status, body) = app.send(intruder.get(app.url(list))).await;
        if status != 200 || body["items"].as_array().is_none_or(|items| !items.is_empty()) {
            failures.push(format!("GET {list} as the intruder: {status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{backend:?}: {checked} operations checked:\n{}", failures.join("\n"));
}

async fn send(app: &TestApp, client: &reqwest::Client, case: &crate::matrix::run::Case) -> (u16, Value) {
    let mut request = client.request(case.method.clone(), app.url(&case.path));
    if let Some(content_type) = &case.content_type {
        request = request.header("content-type", content_type).body(case.body.clone());
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Whether an answer carries one of the owner's ids beyond echoing the request.
fn leaks(body: &Value, fixtures: &Fixtures) -> bool {
    let Some(object) = body.as_object() else { return false };
    object.keys().any(|key| key != "code" && key != "message")
        && [&fixtures.image, &fixtures.job, &fixtures.upload].iter().any(|id| body.to_string().contains(id.as_str()))
}
