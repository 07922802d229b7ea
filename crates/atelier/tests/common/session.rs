//! What the tests of a running `atelier serve` share: an account registered over HTTP, a
//! client that carries its token, and a photo uploaded with it.

use serde_json::{json, Value};

/// Registers `email` at `base` and returns a client sending its access token.
pub fn signed_in(base: &str, email: &str) -> reqwest::blocking::Client {
    let account = json!({"email": email, "password": "correct horse battery staple"});
    let tokens: Value = reqwest::blocking::Client::new()
        .post(format!("{base}/v1/auth/register"))
        .json(&account)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().unwrap());
    reqwest::blocking::Client::builder().default_headers(headers).build().unwrap()
}

/// Uploads `test-data/photos/rocket.jpg` and returns the image's record.
pub fn upload_rocket(client: &reqwest::blocking::Client, base: &str) -> Value {
    let photo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/rocket.jpg")).unwrap();
    client.post(format!("{base}/v1/images")).body(photo).send().unwrap().json().unwrap()
}
