//! `atelier serve` as an operator runs it: a real process on embedded defaults, a real
//! port, a photo uploaded and processed by its in-process workers, its metrics, then
//! SIGTERM, a clean exit and its workers signed off; and `atelier worker`'s own `/metrics`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "common/session.rs"]
mod session;

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
    let mut hinted = false;
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve exited before listening");
        hinted |= line.contains("atelier user add");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(hinted, "with no accounts, the first start says how to create an admin");
    assert!(dir.path().join("data/atelier.db").exists(), "the embedded database is created under ./data");

    let client = session::signed_in(&base, "first@example.com");
    let image = session::upload_rocket(&client, &base);
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
    assert!(client.get(format!("{base}/")).send().unwrap().text().unwrap().contains("<title>atelier</title>"));
    // The in-process workers' histograms and the registry reach the API's scrape (an
    // attempt is recorded just after its outcome, hence the retries).
    let scraped = |line: &str| {
        (0..100).any(|_| {
            let text = client.get(format!("{base}/metrics")).send().unwrap().text().unwrap();
            text.lines().any(|l| l == line) || {
                std::thread::sleep(Duration::from_millis(50));
                false
            }
        })
    };
    assert!(scraped("atelier_job_run_seconds_count{outcome=\"succeeded\"} 1"));
    assert!(scraped("atelier_op_duration_seconds_count{op=\"thumbnail\"} 1"));
    assert!(scraped("atelier_workers{state=\"live\"} 1"));

    sigterm(&mut child);
    let workers = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = format!("sqlite://{}", dir.path().join("data/atelier.db").display());
        atelier_storage::Workers::new(atelier_storage::Db::connect(&url).await.unwrap()).list().await.unwrap()
    });
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert!(workers[0].stopped_at.is_some(), "the worker signed off when it drained: {workers:?}");
    assert_eq!(workers[0].jobs_done, 1, "{workers:?}");
}

#[test]
fn a_lone_worker_serves_its_histograms_on_its_metrics_address() {
    let dir = tempfile::tempdir().unwrap();
    let atelier = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
        command.current_dir(dir.path()).env_remove("ATELIER_DATABASE_URL");
        command
    };
    assert!(atelier().arg("migrate").status().unwrap().success());
    let mut child = atelier()
        .args(["worker", "--workers", "1"])
        .env("ATELIER_WORKER__METRICS_ADDR", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the worker exited before serving metrics");
        if let Some(rest) = line.split("metrics on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    let res = reqwest::blocking::get(&url).unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = res.text().unwrap();
    assert!(text.lines().any(|l| l == "atelier_job_queue_wait_seconds_count 0"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(!text.contains("http_requests"), "no API runs here: {text}");
    sigterm(&mut child);
}

fn sigterm(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exits 0 on SIGTERM, got {status}");
}

#[test]
fn the_first_admin_and_their_credits_are_made_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], password: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
        command.args(args).current_dir(dir.path()).env_remove("ATELIER_DATABASE_URL").env_remove("ATELIER_PASSWORD");
        if let Some(password) = password {
            command.env("ATELIER_PASSWORD", password);
        }
        command.output().unwrap()
    };
    let made = run(&["user", "add", "Root@Example.com", "--admin"], Some("correct horse battery staple"));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let again = run(&["user", "add", "root@example.com"], Some("correct horse battery staple"));
    assert!(!again.status.success(), "the email is taken");
    let weak = run(&["user", "add", "weak@example.com"], Some("password"));
    assert!(!weak.status.success(), "the password policy holds on the command line too");
    let granted = run(&["credits", "grant", "root@example.com", "250"], None);
    assert!(granted.status.success(), "{}", String::from_utf8_lossy(&granted.stderr));
    assert!(String::from_utf8_lossy(&granted.stdout).contains("350"), "100 on sign-up, 250 granted");
    assert!(!run(&["credits", "grant", "nobody@example.com", "5"], None).status.success());

    let user = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = format!("sqlite://{}", dir.path().join("data/atelier.db").display());
        let users = atelier_storage::Users::new(atelier_storage::Db::connect(&url).await.unwrap());
        users.find_by_email("root@example.com").await.unwrap().unwrap()
    });
    assert_eq!((user.role, user.balance), (atelier_storage::Role::Admin, 350));
    assert!(atelier_auth::password::verify("correct horse battery staple", &user.password_hash));
}
