//! The bad-input matrix: every operation in the OpenAPI document × every kind of bad request
//! (hostile ids, malformed JSON, wrong types, unknown fields, a wrong content type, oversized
//! bodies, broken forms, bad queries, hostile images) must get a 4xx with a code from the
//! table, leave the server alive, and leave nothing behind. The operations come from the
//! document, so a new route is in the matrix the day it is registered.

mod cases;
pub(crate) mod doc;
pub(crate) mod fixtures;
mod hostile;
pub(crate) mod run;

use serde_json::Value;

use self::cases::*;
use self::doc::{Doc, Endpoint};
use self::fixtures::{known_body, Fixtures};
use self::run::{assert_none, run, Case};
use crate::support::{spawn_idle_admin_app, TestApp};

type Generator = fn(&Fixtures, &Doc, &Endpoint) -> Vec<Case>;

const ALL: [(&str, Generator); 7] = [
    ("hostile ids", hostile_paths),
    ("malformed JSON", malformed_json),
    ("wrong fields", wrong_fields),
    ("wrong content type", wrong_content_type),
    ("oversized", oversized),
    ("bad uploads", bad_uploads),
    ("bad queries", bad_queries),
];

/// An app (its worker idle, so nothing changes behind the cases' backs), its document and
/// one of each resource.
struct Matrix {
    app: TestApp,
    doc: Doc,
    endpoints: Vec<Endpoint>,
    fixtures: Fixtures,
}

impl Matrix {
    async fn new() -> Matrix {
        // As an admin, so that admin routes check their input rather than refuse the caller.
        let app = spawn_idle_admin_app().await;
        let fixtures = Fixtures::create(&app).await;
        let doc = Doc::load();
        let endpoints = doc.endpoints();
        Matrix { app, doc, endpoints, fixtures }
    }

    fn cases(&self, generator: Generator) -> Vec<Case> {
        self.endpoints.iter().flat_map(|endpoint| generator(&self.fixtures, &self.doc, endpoint)).collect()
    }

    /// Runs the cases of `generator` and asserts on them and on what they left behind.
    async fn check(&self, what: &str, generator: Generator) {
        let cases = self.cases(generator);
        assert!(!cases.is_empty(), "{what}: the document yields no cases");
        let mut failures = run(&self.app, &cases).await;
        failures.extend(self.leftovers().await);
        assert_none(what, cases.len(), &failures);
    }

    /// Whatever refused requests left behind: spool files, blobs, images, upload parts.
    async fn leftovers(&self) -> Vec<String> {
        let mut found = Vec::new();
        let spooled = self.app.spooled_files();
        if !spooled.is_empty() {
            found.push(format!("spool files left behind: {spooled:?}"));
        }
        let originals = self.app.blob_files("originals");
        if originals.len() != 1 {
            found.push(format!("originals: expected the fixture's one, found {originals:?}"));
        }
        let parts = self.app.blob_files("uploads");
        if !parts.is_empty() {
            found.push(format!("upload parts left behind: {parts:?}"));
        }
        let page: Value = self.app.get("/v1/images?limit=100").await.json().await.unwrap();
        let ids: Vec<&str> = page["items"].as_array().unwrap().iter().filter_map(|i| i["id"].as_str()).collect();
        if ids != [self.fixtures.image.as_str()] {
            found.push(format!("the image list grew: {ids:?}"));
        }
        found
    }
}

#[tokio::test]
async fn the_matrix_is_built_from_every_documented_operation() {
    let matrix = Matrix::new().await;
    let label = |pick: fn(&Endpoint) -> bool| -> Vec<String> {
        matrix.endpoints.iter().filter(|e| pick(e)).map(Endpoint::label).collect()
    };
    let json = label(|e| e.json.is_some());
    let uploads = label(|e| e.raw || e.multipart);
    let queries = label(|e| !e.query.is_empty());
    for expected in ["POST /v1/jobs", "POST /v1/pipelines", "POST /v1/pipelines/{name}/versions", "POST /v1/uploads"] {
        assert!(json.contains(&expected.to_string()), "{expected} takes JSON: {json:?}");
    }
    for expected in ["POST /v1/images", "PUT /v1/uploads/{id}"] {
        assert!(uploads.contains(&expected.to_string()), "{expected} takes an upload: {uploads:?}");
    }
    for expected in ["GET /v1/images", "GET /v1/jobs", "GET /v1/pipelines", "PUT /v1/uploads/{id}"] {
        assert!(queries.contains(&expected.to_string()), "{expected} takes a query: {queries:?}");
    }
    let mut sizes = Vec::new();
    let mut total = 0;
    for endpoint in &matrix.endpoints {
        let count: usize =
            ALL.iter().map(|(_, generator)| generator(&matrix.fixtures, &matrix.doc, endpoint).len()).sum();
        // An operation with nothing to get wrong (no parameters, no body) has no cases.
        let has_input = endpoint.takes_body() || !endpoint.path_params.is_empty() || !endpoint.query.is_empty();
        assert_eq!(count > 0, has_input, "{}: {count} cases", endpoint.label());
        sizes.push(format!("{:>4}  {}", count, endpoint.label()));
        total += count;
    }
    for endpoint in matrix.endpoints.iter().filter(|e| e.json.as_ref().is_some_and(|(name, _)| !known_body(name))) {
        eprintln!("matrix: {} takes an unknown schema; its body is derived from the schema", endpoint.label());
    }
    let families: Vec<String> =
        ALL.iter().map(|(name, generator)| format!("{name} {}", matrix.cases(*generator).len())).collect();
    eprintln!("matrix: {} operations, {total} cases ({}):", matrix.endpoints.len(), families.join(", "));
    eprintln!("{}", sizes.join("\n"));
    assert!(matrix.endpoints.len() >= 20, "{} operations", matrix.endpoints.len());
}

#[tokio::test]
async fn every_path_parameter_answers_unknown_and_hostile_ids_with_a_4xx_code() {
    Matrix::new().await.check("hostile ids", hostile_paths).await;
}

#[tokio::test]
async fn every_json_endpoint_answers_malformed_json_with_a_4xx_code() {
    Matrix::new().await.check("malformed JSON", malformed_json).await;
}

#[tokio::test]
async fn every_json_endpoint_answers_wrong_types_missing_and_unknown_fields_with_a_4xx_code() {
    let matrix = Matrix::new().await;
    // The control: each body the cases start from is accepted as it is, so each case is
    // refused for its one change.
    for endpoint in matrix.endpoints.iter().filter(|e| e.json.as_ref().is_some_and(|(name, _)| known_body(name))) {
        let valid = matrix.fixtures.valid(&matrix.doc, endpoint);
        let mut request = matrix.app.client.request(valid.method.clone(), matrix.app.url(&valid.path));
        request = request.header("content-type", "application/json").body(valid.body.clone());
        let (status, body) = matrix.app.send(request).await;
        assert!((200..300).contains(&status), "{}: the valid body is refused: {status} {body}", endpoint.label());
        if endpoint.template == "/v1/datasets/from-prefix" {
            // Its images are the dataset's: they go with it, and the leftovers check stays exact.
            let path = format!("/v1/datasets/{}", body["id"].as_str().unwrap());
            let (status, _) = matrix.app.send(matrix.app.client.delete(matrix.app.url(&path))).await;
            assert_eq!(status, 204);
        }
    }
    matrix.check("wrong fields", wrong_fields).await;
}

#[tokio::test]
async fn every_endpoint_with_a_body_answers_a_wrong_content_type_with_a_4xx_code() {
    Matrix::new().await.check("wrong content type", wrong_content_type).await;
}

#[tokio::test]
async fn every_endpoint_with_a_body_answers_an_oversized_body_with_413_and_a_code() {
    Matrix::new().await.check("oversized", oversized).await;
}

#[tokio::test]
async fn every_upload_route_answers_empty_and_broken_bodies_with_a_4xx_code() {
    Matrix::new().await.check("bad uploads", bad_uploads).await;
}

#[tokio::test]
async fn every_query_parameter_answers_wrong_values_repeats_and_unknown_names_with_a_4xx_code() {
    Matrix::new().await.check("bad queries", bad_queries).await;
}

#[tokio::test]
async fn hostile_images_from_the_corpus_are_refused_by_every_upload_path_and_leave_nothing_behind() {
    let matrix = Matrix::new().await;
    let corpus = hostile::refused_corpus();
    assert!(corpus.len() >= 50, "only {} refused files in test-data/hostile", corpus.len());
    let mut failures = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    for file in &corpus {
        cases.extend(hostile::direct(&matrix.endpoints, file));
        cases.extend(hostile::resumable(&matrix.app, file, &mut failures).await);
    }
    failures.extend(run(&matrix.app, &cases).await);
    failures.extend(matrix.leftovers().await);
    assert_none("hostile images", cases.len(), &failures);
}
