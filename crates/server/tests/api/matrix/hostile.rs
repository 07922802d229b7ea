//! The hostile corpus (`test-data/hostile/`) as upload cases: every file the imaging core
//! refuses, sent to every route that takes an image at once and through a resumable upload.

use atelier_imaging::Limits;
use serde_json::json;

use super::doc::Endpoint;
use super::fixtures::{form, zip_of, FORM};
use super::run::{Case, Expect};
use crate::support::TestApp;

/// Every corpus file the imaging core refuses under the test app's limits, with the code it
/// refuses it with. Files it accepts (odd but valid metadata, say) are not bad input.
pub fn refused_corpus() -> Vec<Hostile> {
    let dir = format!("{}/../../test-data/hostile", env!("CARGO_MANIFEST_DIR"));
    let limits = Limits { max_input_bytes: 2 << 20, ..Limits::default() };
    let mut files: Vec<Hostile> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{dir}: {err}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .filter_map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            let code = atelier_imaging::decode(&bytes, &limits, None).err()?.code().as_str();
            Some(Hostile { name: path.file_name().unwrap().to_string_lossy().into_owned(), bytes, code })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// A file the imaging core refuses, and its code for it: the API must answer the same.
pub struct Hostile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub code: &'static str,
}

/// The file as the body of each route that stores an image from one request (no path
/// parameters): raw where it takes raw bytes, as the `file` field where it takes a form.
pub fn direct(endpoints: &[Endpoint], file: &Hostile) -> Vec<Case> {
    let Hostile { name, bytes, code } = file;
    let refused = Expect { status: None, code: Some(*code) };
    let mut cases = Vec::new();
    for endpoint in endpoints.iter().filter(|e| e.path_params.is_empty() && e.json.is_none()) {
        let case = Case {
            op: endpoint.label(),
            name: String::new(),
            method: endpoint.method.clone(),
            path: endpoint.template.clone(),
            content_type: None,
            body: Vec::new(),
            chunked: false,
            expect: Expect::ANY_4XX,
        };
        if endpoint.raw {
            let raw = case.with(format!("hostile {name}, raw"), refused);
            cases.push(raw.body(Some("application/octet-stream"), bytes.to_vec()));
        }
        if endpoint.takes_archive() {
            // Inside an archive a bad image is skipped, not fatal: with nothing else, there is
            // no dataset to make.
            let archive = zip_of(name, bytes);
            let form = form(&[("archive", Some("hostile.zip"), archive.as_slice())], false);
            let empty = Expect::exactly(422, "dataset_empty");
            cases.push(case.with(format!("hostile {name}, alone in an archive"), empty).body(Some(FORM), form));
        } else if endpoint.multipart {
            let form = form(&[("file", Some(name.as_str()), bytes.as_slice())], false);
            cases.push(case.with(format!("hostile {name}, as a form's file"), refused).body(Some(FORM), form));
        }
    }
    cases
}

/// Sends the file through a resumable upload up to its completion, and returns the request
/// that must be refused: the completion, or the session's creation for an empty file.
/// Steps that must succeed on the way and do not are failures.
pub async fn resumable(app: &TestApp, file: &Hostile, failures: &mut Vec<String>) -> Option<Case> {
    let Hostile { name, bytes, code } = file;
    let create = Case {
        op: "POST /v1/uploads".into(),
        name: format!("hostile {name}, a session of its size"),
        method: reqwest::Method::POST,
        path: "/v1/uploads".into(),
        content_type: Some("application/json".into()),
        body: json!({"size": bytes.len()}).to_string().into_bytes(),
        chunked: false,
        expect: Expect::exactly(400, "invalid_request"),
    };
    if bytes.is_empty() {
        return Some(create);
    }
    let (status, session) = app.post_json("/v1/uploads", json!({"size": bytes.len()})).await;
    if status != 201 {
        failures.push(format!("{name}: starting its upload answered {status} {session}"));
        return None;
    }
    let id = session["id"].as_str().unwrap();
    let put = app.client.put(app.url(&format!("/v1/uploads/{id}?offset=0"))).body(bytes.to_vec());
    let (status, body) = app.send(put).await;
    if status != 200 {
        failures.push(format!("{name}: its one part answered {status} {body}"));
        return None;
    }
    let path = format!("/v1/uploads/{id}/complete");
    let complete =
        Case { op: "POST /v1/uploads/{id}/complete".into(), path, body: Vec::new(), content_type: None, ..create };
    let refused = Expect { status: None, code: Some(*code) };
    Some(complete.with(format!("hostile {name}, completing its resumable upload"), refused))
}
