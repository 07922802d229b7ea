//! The case generators: for each documented operation, its valid request changed in one bad
//! way. Which cases an operation gets follows from the document: its path parameters, its
//! query parameters and their schemas, and the media types (and JSON schema) of its body.

use serde_json::{json, Value};

use super::doc::{allowed, Doc, Endpoint};
use super::fixtures::{form, hostile_ids, zip_of, Fixtures, BOUNDARY, FORM, PHOTO};
use super::run::{Case, Expect};
use crate::support::photo;

/// Bigger than every body limit the test app has: axum's 2 MiB default for JSON routes and
/// the 2 MiB `max_input_bytes` of uploads.
pub const OVERSIZED: usize = 3 << 20;

const INVALID_JSON: Expect = Expect::exactly(400, "invalid_json");
const NOT_JSON: Expect = Expect::exactly(415, "unsupported_media_type");

/// Each path parameter, in turn, replaced by ids that name nothing.
pub fn hostile_paths(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    let valid = fixtures.valid(doc, endpoint);
    let mut cases = Vec::new();
    for param in &endpoint.path_params {
        for (name, id, expect) in hostile_ids() {
            // Only this parameter changes; the others keep naming real things.
            let mut path = endpoint.template.replace(&format!("{{{param}}}"), &id);
            for other in endpoint.path_params.iter().filter(|p| *p != param) {
                path = path.replace(&format!("{{{other}}}"), &fixtures.real(&endpoint.template, other));
            }
            let query = valid.path.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
            cases.push(valid.with(format!("`{{{param}}}` is {name}"), expect).path(format!("{path}{query}")));
        }
    }
    cases
}

/// Bodies that are not JSON, or not one JSON value.
pub fn malformed_json(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    let Some((name, schema)) = &endpoint.json else { return Vec::new() };
    let valid = fixtures.valid(doc, endpoint);
    let text = fixtures.json_body(doc, name, schema).to_string();
    let json = Some("application/json");
    // A body without fields has none to duplicate; one that may be left out may be empty.
    let duplicated = fixtures
        .json_body(doc, name, schema)
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(key, value)| format!("{{{}:{value},{}", json!(key), &text[1..]).into_bytes());
    let empty = (!endpoint.body_optional).then(Vec::new);
    let blank = (!endpoint.body_optional).then(|| b"  \n ".to_vec());
    let bad: Vec<(&str, Option<Vec<u8>>)> =
        vec![("an empty body", empty), ("whitespace only", blank), ("a duplicated field", duplicated)];
    let bad = bad.into_iter().filter_map(|(what, body)| Some((what, body?))).chain(vec![
        ("truncated", br#"{"images": ["#.to_vec()),
        ("the valid body cut in half", text.as_bytes()[..text.len() / 2].to_vec()),
        ("not JSON at all", b"images=1&size=2".to_vec()),
        ("a trailing comma", format!("{},}}", &text[..text.len() - 1]).into_bytes()),
        ("single quotes", br#"{'size': 1}"#.to_vec()),
        ("garbage after the value", format!("{text} garbage").into_bytes()),
        ("two values", format!("{text}{text}").into_bytes()),
        ("invalid UTF-8 in a key", [&b"{\"\xFF\xFE"[..], &text.as_bytes()[2..]].concat()),
        ("a byte-order mark", format!("\u{FEFF}{text}").into_bytes()),
        ("nested 100000 deep", "[".repeat(100_000).into_bytes()),
        ("an array", b"[]".to_vec()),
        ("a string", br#""images""#.to_vec()),
        ("a number", b"42".to_vec()),
        ("null", b"null".to_vec()),
    ]);
    bad.map(|(what, body)| valid.with(format!("malformed JSON: {what}"), INVALID_JSON).body(json, body)).collect()
}

/// Valid JSON of the wrong shape: each property of a wrong type, each required property
/// missing, an unknown property, numbers out of their documented range.
pub fn wrong_fields(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    let Some((name, schema)) = &endpoint.json else { return Vec::new() };
    let valid = fixtures.valid(doc, endpoint);
    let base = fixtures.json_body(doc, name, schema);
    let json = Some("application/json");
    let mut cases = Vec::new();
    let mut push = |what: String, body: Value| {
        cases.push(valid.with(what, Expect::ANY_4XX).body(json, body.to_string()));
    };
    let candidates =
        [json!(null), json!(true), json!(7), json!(1.5), json!("seven"), json!(["seven"]), json!({"seven": 7})];
    let properties = schema["properties"].as_object().cloned().unwrap_or_default();
    for (property, property_schema) in &properties {
        let with = |value: Value| {
            let mut body = base.clone();
            body[property] = value;
            body
        };
        let types = doc.types(property_schema);
        for wrong in candidates.iter().filter(|c| !allowed(&types, c)) {
            push(format!("`{property}` is {wrong}, not {}", types.join(" or ")), with(wrong.clone()));
        }
        let resolved = doc.resolve(property_schema);
        if types.iter().any(|t| t == "array") {
            let item_types = doc.types(&resolved["items"]);
            for wrong in candidates.iter().filter(|c| !allowed(&item_types, c)) {
                push(format!("`{property}` holds {wrong}, not {}", item_types.join(" or ")), with(json!([wrong])));
            }
        }
        if let Some(minimum) = resolved["minimum"].as_i64() {
            push(format!("`{property}` is under its minimum {minimum}"), with(json!(minimum - 1)));
        }
        if let Some(maximum) = resolved["maximum"].as_i64() {
            push(format!("`{property}` is over its maximum {maximum}"), with(json!(maximum + 1)));
        }
        for (what, length) in out_of_length(&resolved) {
            push(format!("`{property}` is {what}"), with(json!("z".repeat(length))));
        }
    }
    for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(required);
        push(format!("`{required}` is missing"), body);
    }
    let mut unknown = json!({"bogus": 1});
    unknown.as_object_mut().unwrap().extend(base.as_object().cloned().unwrap_or_default());
    push("an unknown field `bogus`".into(), unknown);
    let mut trailing = base.clone();
    if let Some(object) = trailing.as_object_mut() {
        object.insert("zz_unknown_last".into(), json!("x"));
    }
    push("an unknown field after the valid ones".into(), trailing);
    cases
}

/// A valid JSON body under the wrong media type, or none.
pub fn wrong_content_type(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    let valid = fixtures.valid(doc, endpoint);
    let body = valid.body.clone();
    if endpoint.json.is_some() {
        let types = [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some(FORM)];
        let more = [Some("application/xml"), Some("application/jsonx"), Some("image/png"), Some("json")];
        return types
            .into_iter()
            .chain(more)
            .map(|t| valid.with(format!("content type {}", t.unwrap_or("missing")), NOT_JSON).body(t, body.clone()))
            .collect();
    }
    let mut cases = Vec::new();
    if endpoint.raw && !endpoint.multipart {
        // The form's envelope would be stored as if it were the file's bytes. It fits in what
        // the route takes, so only its type is wrong.
        let form = form(&[("file", Some("cat.png"), &body[..body.len() / 2])], false);
        cases.push(valid.with("a multipart form where raw bytes belong", Expect::ANY_4XX).body(Some(FORM), form));
    }
    if endpoint.multipart {
        let text = b"not an image".to_vec();
        cases.extend([
            valid.with("multipart without a boundary", Expect::status(400)).body(Some("multipart/form-data"), body),
            valid.with("multipart/mixed", Expect::ANY_4XX).body(
                Some(format!("multipart/mixed; boundary={BOUNDARY}").as_str()),
                form(&[(endpoint.file_field, None, text.as_slice())], false),
            ),
            valid
                .with("a JSON document as the image", Expect::ANY_4XX)
                .body(Some("application/json"), br#"{"images": []}"#.to_vec()),
            valid.with("text as the image", Expect::ANY_4XX).body(Some("text/plain"), text.clone()),
        ]);
    }
    cases
}

/// Bodies over the route's limit, with a `Content-Length` and without one.
pub fn oversized(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    if !endpoint.takes_body() {
        return Vec::new();
    }
    let valid = fixtures.valid(doc, endpoint);
    let (expect, body) = match &endpoint.json {
        // axum's default limit: it must still answer in our format.
        Some(_) => (
            Expect::exactly(413, "request_too_large"),
            format!(r#"{{"padding": "{}"}}"#, "a".repeat(OVERSIZED)).into_bytes(),
        ),
        None => (Expect::status(413), vec![0xFF; OVERSIZED]),
    };
    let content_type = valid.content_type.clone();
    let content_type = if endpoint.json.is_none() && !endpoint.raw { None } else { content_type };
    // A route that takes only forms refuses any other body for its type (415), whatever its size.
    let mut cases = if endpoint.json.is_some() || endpoint.raw {
        vec![
            valid.with("an oversized body", expect).body(content_type.as_deref(), body.clone()),
            valid.with("an oversized body, chunked", expect).body(content_type.as_deref(), body.clone()).chunked(),
        ]
    } else {
        Vec::new()
    };
    if endpoint.multipart {
        let form = form(&[(endpoint.file_field, Some("big.png"), body.as_slice())], false);
        cases.push(valid.with("an oversized multipart file", Expect::status(413)).body(Some(FORM), form.clone()));
        cases.push(
            valid.with("an oversized multipart file, chunked", Expect::status(413)).body(Some(FORM), form).chunked(),
        );
    }
    cases
}

/// Upload bodies that are empty or not whole forms.
pub fn bad_uploads(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    let valid = fixtures.valid(doc, endpoint);
    // What the file field holds when the form is whole (the valid body is a whole form when
    // the route takes nothing else).
    let image = if endpoint.takes_archive() { zip_of("cat.png", &photo(PHOTO)) } else { valid.body.clone() };
    let mut cases = Vec::new();
    if endpoint.raw {
        cases.push(valid.with("an empty body", Expect::status(400)).body(Some("application/octet-stream"), Vec::new()));
        cases.push(valid.with("no body and no content type", Expect::status(400)).body(None, Vec::new()));
    }
    if endpoint.multipart {
        let bad = Expect::exactly(400, "invalid_multipart");
        let forms: Vec<(&str, Vec<u8>)> = vec![
            ("a truncated multipart body", form(&[(endpoint.file_field, Some("cat.png"), image.as_slice())], true)),
            (
                "a multipart body cut in its headers",
                format!("--{BOUNDARY}\r\nContent-Disposition: form-da").into_bytes(),
            ),
            ("a multipart body with no parts", format!("--{BOUNDARY}--\r\n").into_bytes()),
            ("a multipart body of garbage", b"garbage".to_vec()),
            ("a form field other than `file`", form(&[("photo", Some("cat.png"), image.as_slice())], false)),
            (
                "two `file` fields",
                form(
                    &[
                        (endpoint.file_field, Some("a.png"), image.as_slice()),
                        (endpoint.file_field, Some("b.png"), image.as_slice()),
                    ],
                    false,
                ),
            ),
        ];
        cases.extend(forms.into_iter().map(|(what, body)| valid.with(what, bad).body(Some(FORM), body)));
        let empty = form(&[(endpoint.file_field, Some("empty.png"), &[][..])], false);
        cases.push(valid.with("an empty `file` field", Expect::status(400)).body(Some(FORM), empty));
    }
    cases
}

/// Query parameters of the wrong type or range, repeated, missing, or unknown.
pub fn bad_queries(fixtures: &Fixtures, doc: &Doc, endpoint: &Endpoint) -> Vec<Case> {
    if endpoint.query.is_empty() {
        return Vec::new();
    }
    let valid = fixtures.valid(doc, endpoint);
    let (path, query) = valid.path.split_once('?').unwrap_or((&valid.path, ""));
    let (path, query) = (path.to_string(), query.to_string());
    let with = |name: &str, extra: &str| {
        let others: Vec<&str> =
            query.split('&').filter(|p| !p.is_empty() && !p.starts_with(&format!("{name}="))).collect();
        let all: Vec<&str> = others.into_iter().chain([extra]).filter(|p| !p.is_empty()).collect();
        format!("{path}?{}", all.join("&"))
    };
    let mut cases =
        vec![valid.with("an unknown query parameter `bogus`", Expect::ANY_4XX).path(with("bogus", "bogus=1"))];
    for param in &endpoint.query {
        let name = &param.name;
        let types = doc.types(&param.schema);
        let mut values: Vec<(String, String)> = Vec::new();
        if types.iter().any(|t| t == "integer" || t == "number") {
            for value in ["abc", "-1", "1.5", "", "99999999999999999999", "0x10", "%ZZ", "1e3", "%FF"] {
                values.push((format!("`{name}` is `{value}`"), value.to_string()));
            }
            if let Some(minimum) = param.schema["minimum"].as_i64() {
                values.push((format!("`{name}` under its minimum"), (minimum - 1).to_string()));
            }
            if let Some(maximum) = param.schema["maximum"].as_i64() {
                values.push((format!("`{name}` over its maximum"), (maximum + 1).to_string()));
            }
        } else if types.iter().any(|t| t == "string") {
            for value in ["bogus%00..%2F..%2Fetc", "%FF%FE", "'%20OR%201%3D1--", "z".repeat(10 << 10).as_str()] {
                values
                    .push((format!("`{name}` is `{}`", value.chars().take(24).collect::<String>()), value.to_string()));
            }
            for (what, length) in out_of_length(&param.schema) {
                values.push((format!("`{name}` is {what}"), "z".repeat(length)));
            }
        }
        for (what, value) in values {
            cases.push(valid.with(what, Expect::ANY_4XX).path(with(name, &format!("{name}={value}"))));
        }
        let sample = super::fixtures::sample(doc, &param.schema).to_string().replace('"', "");
        cases.push(
            valid
                .with(format!("`{name}` given twice"), Expect::ANY_4XX)
                .path(with(name, &format!("{name}={sample}&{name}={sample}"))),
        );
        if param.required {
            cases.push(valid.with(format!("`{name}` is missing"), Expect::ANY_4XX).path(with(name, "")));
        }
    }
    cases
}

/// String lengths just outside a schema's `minLength` and `maxLength`, named.
fn out_of_length(schema: &Value) -> Vec<(String, usize)> {
    let mut lengths = Vec::new();
    if let Some(min) = schema["minLength"].as_u64().filter(|min| *min > 0) {
        lengths.push((format!("shorter than its minLength {min}"), min as usize - 1));
    }
    if let Some(max) = schema["maxLength"].as_u64() {
        lengths.push((format!("longer than its maxLength {max}"), max as usize + 1));
    }
    lengths
}
