//! What the matrix's requests stand on: real resources (an image, a pipeline, a job, an
//! upload session) so that a bad request is refused for its one fault and not because
//! its path names nothing, the valid request of every operation, and the hostile ids.

use serde_json::{json, Value};

use super::doc::{Doc, Endpoint};
use super::run::{Case, Expect};
use crate::support::{photo, TestApp};

/// The image every valid raw body carries.
pub const PHOTO: &str = "chelsea.png";
/// The saved pipeline the fixtures create.
pub const PIPELINE: &str = "matrix";
/// The own category the fixtures create.
pub const CATEGORY: &str = "matrix-category";

/// Ids of resources that exist.
pub struct Fixtures {
    pub image: String,
    pub upload: String,
    pub job: String,
    /// One of the owner's API keys.
    pub key: String,
    /// The owner's user id.
    pub user: String,
    /// The name of one of the job's outputs, once it has run.
    pub output: Option<String>,
    /// A dataset of the fixture image.
    pub dataset: String,
}

impl Fixtures {
    /// One of each resource, on an app whose worker is idle (the job stays queued).
    pub async fn create(app: &TestApp) -> Fixtures {
        let (status, image) = app.upload(photo(PHOTO)).await;
        assert_eq!(status, 201, "fixture image: {image}");
        let pipeline = json!({"name": PIPELINE, "pipeline": pipeline_document()});
        let (status, body) = app.post_json("/v1/pipelines", pipeline).await;
        assert_eq!(status, 201, "fixture pipeline: {body}");
        let image = image["id"].as_str().unwrap().to_string();
        let (status, job) = app.post_json("/v1/jobs", json!({"pipeline": PIPELINE, "images": [image]})).await;
        assert_eq!(status, 202, "fixture job: {job}");
        let (status, upload) = app.post_json("/v1/uploads", json!({"size": photo(PHOTO).len()})).await;
        assert_eq!(status, 201, "fixture upload: {upload}");
        let (status, key) = app.post_json("/v1/me/keys", json!({"name": "fixture", "scopes": ["read"]})).await;
        assert_eq!(status, 201, "fixture key: {key}");
        let (status, category) = app.post_json("/v1/categories", json!({"name": CATEGORY, "images": [image]})).await;
        assert_eq!(status, 201, "fixture category: {category}");
        let (status, dataset) = app.post_json("/v1/datasets/from-images", json!({"images": [image]})).await;
        // What `POST /v1/datasets/from-prefix` imports: an operator's upload to the bucket.
        let imports = app.dir.path().join("blobs/imports/matrix");
        std::fs::create_dir_all(&imports).unwrap();
        std::fs::write(imports.join(PHOTO), photo(PHOTO)).unwrap();
        assert_eq!(status, 201, "fixture dataset: {dataset}");
        let id = |v: &Value| v["id"].as_str().unwrap().to_string();
        let (job, upload, key, dataset) = (id(&job), id(&upload), id(&key), id(&dataset));
        Fixtures { job, upload, image, key, user: app.owner.id.clone(), output: None, dataset }
    }

    /// A value for `{param}` in `template` that names something that exists.
    pub fn real(&self, template: &str, param: &str) -> String {
        let collection = template.trim_start_matches("/v1").split('/').nth(1).unwrap_or_default();
        match (collection, param) {
            ("images", "id") => self.image.clone(),
            ("uploads", "id") => self.upload.clone(),
            ("jobs", "id") => self.job.clone(),
            ("jobs", "name") => self.output.clone().unwrap_or_else(|| "images/0.webp".into()),
            ("pipelines", "name") => PIPELINE.into(),
            ("pipelines", "version") => "1".into(),
            ("categories", "name") => CATEGORY.into(),
            ("datasets", "id") => self.dataset.clone(),
            ("me", "id") => self.key.clone(),
            ("admin", "id") => self.user.clone(),
            _ => panic!("the matrix cannot name an existing `{{{param}}}` of {template}: teach Fixtures::real"),
        }
    }

    /// The valid request of `endpoint`: real path values, its required query parameters and a
    /// valid body. Every case changes one thing about it.
    pub fn valid(&self, doc: &Doc, endpoint: &Endpoint) -> Case {
        let mut path = endpoint.template.clone();
        for param in &endpoint.path_params {
            path = path.replace(&format!("{{{param}}}"), &self.real(&endpoint.template, param));
        }
        let query: Vec<String> = endpoint
            .query
            .iter()
            .filter(|p| p.required)
            .map(|p| format!("{}={}", p.name, sample(doc, &p.schema)).replace('"', ""))
            .collect();
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let (content_type, body) = match &endpoint.json {
            Some((name, schema)) => {
                (Some("application/json"), self.json_body(doc, name, schema).to_string().into_bytes())
            }
            None if endpoint.raw => (Some("application/octet-stream"), photo(PHOTO)),
            None if endpoint.takes_archive() => {
                (Some(FORM), form(&[("archive", Some("cats.zip"), zip_of("cat.png", &photo(PHOTO)).as_slice())], false))
            }
            None if endpoint.multipart => {
                (Some(FORM), form(&[("file", Some("cat.png"), photo(PHOTO).as_slice())], false))
            }
            None => (None, Vec::new()),
        };
        Case {
            op: endpoint.label(),
            name: "valid".into(),
            method: endpoint.method.clone(),
            path,
            content_type: content_type.map(str::to_string),
            body,
            chunked: false,
            expect: Expect::ANY_4XX,
        }
    }

    /// A body the route accepts: known schemas get a real one, others one shaped by their
    /// schema (which still lets the syntax and type cases run).
    pub fn json_body(&self, doc: &Doc, name: &str, schema: &Value) -> Value {
        match name {
            "CreateUpload" => json!({"size": 1000}),
            "CreatePipeline" => json!({"name": "matrix-control", "pipeline": pipeline_document()}),
            "NewVersion" => json!({"pipeline": pipeline_document()}),
            "SubmitJob" => json!({"pipeline": PIPELINE, "images": [self.image]}),
            "NewCategory" => json!({"name": "matrix-control", "images": [self.image]}),
            "FromImages" => json!({"images": [self.image]}),
            "FromPrefix" => json!({"prefix": "imports/matrix"}),
            "DatasetJob" => json!({"augment": {"variants": 1}}),
            _ => sample(doc, schema),
        }
    }
}

/// Whether [`Fixtures::json_body`] knows a real body for this schema.
pub fn known_body(name: &str) -> bool {
    matches!(
        name,
        "CreateUpload"
            | "CreatePipeline"
            | "NewVersion"
            | "SubmitJob"
            | "NewCategory"
            | "FromImages"
            | "FromPrefix"
            | "DatasetJob"
    )
}

/// A zip holding one file.
pub fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(bytes).unwrap();
    zip.finish().unwrap().into_inner()
}

pub fn pipeline_document() -> Value {
    json!({"version": 1, "steps": [{"op": "thumbnail", "width": 16}]})
}

/// A value of the schema's shape: its required properties, each of its first type.
pub fn sample(doc: &Doc, schema: &Value) -> Value {
    let schema = doc.resolve(schema);
    let first = doc.types(&schema).into_iter().find(|t| t != "null").unwrap_or_default();
    match first.as_str() {
        "integer" | "number" => json!(schema["minimum"].as_i64().unwrap_or(1).max(0)),
        "string" => json!("x"),
        "boolean" => json!(true),
        "array" => json!([sample(doc, &schema["items"])]),
        _ => {
            let mut object = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                object.insert(name.to_string(), sample(doc, &schema["properties"][name]));
            }
            Value::Object(object)
        }
    }
}

/// Ids no resource has, some of them hostile, percent-encoded as a client would send them,
/// and what each must get beyond a 4xx with a code.
pub fn hostile_ids() -> Vec<(&'static str, String, Expect)> {
    // Refused before any lookup: nothing the API makes holds them, and PostgreSQL cannot
    // even compare text with a NUL in it.
    let refused = Expect::exactly(400, "invalid_request");
    vec![
        ("an unknown uuid", "00000000-0000-4000-8000-000000000000".into(), Expect::ANY_4XX),
        ("a dot-dot traversal", "..%2F..%2F..%2Fetc%2Fpasswd".into(), Expect::ANY_4XX),
        ("an encoded dot-dot traversal", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd".into(), Expect::ANY_4XX),
        ("a 10 KB id", "a".repeat(10 << 10), Expect::ANY_4XX),
        ("a NUL byte", "abc%00def".into(), refused),
        ("control characters", "x%0D%0AX-Injected:%201".into(), refused),
        ("unicode", "%F0%9F%A6%80-%C3%BCn%C3%AFc%C3%B8d%C3%A9".into(), Expect::ANY_4XX),
        ("invalid UTF-8", "%FF%FE%FD".into(), refused),
        ("SQL", "'%20OR%20'1'%3D'1".into(), Expect::ANY_4XX),
        ("a percent sign", "100%25".into(), Expect::ANY_4XX),
        ("an empty segment", String::new(), Expect::ANY_4XX),
    ]
}

pub const BOUNDARY: &str = "matrix-boundary-7MA4YWxkTrZu0gW";
pub const FORM: &str = "multipart/form-data; boundary=matrix-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body; `truncated` leaves off the closing boundary and the end of
/// the last field.
pub fn form(fields: &[(&str, Option<&str>, &[u8])], truncated: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, bytes) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let file_name = file_name.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
        body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"{file_name}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    if truncated {
        body.truncate(body.len() - body.len().min(2 + fields.last().map_or(0, |f| f.2.len() / 2)));
    } else {
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    }
    body
}
