//! `atelier serve` as an operator runs it: a real process on embedded defaults, a real
//! port, a photo uploaded and processed by its in-process workers, then SIGTERM and a
//! clean exit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[test]
fn serve_starts_on_embedded_defaults_runs_a_job_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["serve", "--listen", "127.0.0.1:0", "--workers", "1"])
        .current_dir(dir.path())
        .env_remove("ATELIER_DATABASE_URL")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve exited before listening");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(dir.path().join("data/atelier.db").exists(), "the embedded database is created under ./data");

    let client = reqwest::blocking::Client::new();
    let photo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/rocket.jpg")).unwrap();
    let image: Value = client.post(format!("{base}/v1/images")).body(photo).send().unwrap().json().unwrap();
    let job: Value = client
        .post(format!("{base}/v1/jobs"))
        .json(&json!({"ops": ["thumbnail:width=64"], "images": [image["id"]]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        let status: Value =
            client.get(format!("{base}/v1/jobs/{}", job["id"].as_str().unwrap())).send().unwrap().json().unwrap();
        let state = status["state"].as_str().unwrap().to_string();
        if state != "queued" && state != "running" || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(state, "succeeded");
    assert!(client.get(format!("{base}/")).send().unwrap().text().unwrap().contains("atelier is running"));

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM, got {status}");
}
