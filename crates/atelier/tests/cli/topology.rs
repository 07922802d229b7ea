//! The production layout: `atelier serve` as the API only (`--no-workers` or
//! `serve_workers = false`) and `atelier worker` processes beside it, each answering
//! `/healthz`, `/readyz` and `/metrics` on `[worker] listen`; a worker whose blob store never
//! answers is alive but not ready, and says so in bounded time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running `atelier` process, killed and reaped if a test fails before it stops it.
struct Running {
    child: Child,
    /// The stderr line that said it was ready.
    line: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts `command` and waits for the stderr line containing `marker`; the rest of
    /// stderr is drained on a thread, so request logs never fill the pipe.
    fn start(mut command: Command, marker: &str) -> Running {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "exited before printing `{marker}`");
            if line.contains(marker) {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Running { child, line: line.trim().to_string() }
    }

    /// The first `http://host:port` in the ready line.
    fn base(&self) -> String {
        let at = self.line.find("http://").expect("an address");
        let rest = &self.line[at + "http://".len()..];
        let end = rest.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(rest.len());
        format!("http://{}", &rest[..end])
    }

    fn sigterm(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exits 0 on SIGTERM, got {status}");
    }
}

fn atelier(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command.current_dir(dir);
    for name in ["ATELIER_DATABASE_URL", "ATELIER_SERVE_WORKERS", "ATELIER_WORKERS", "ATELIER_WORKER__LISTEN"] {
        command.env_remove(name);
    }
    command
}

fn healthcheck(dir: &Path, url: &str) -> Option<i32> {
    atelier(dir).args(["healthcheck", url]).output().unwrap().status.code()
}

fn job_state(client: &reqwest::blocking::Client, base: &str, id: &str) -> String {
    let job: Value = client.get(format!("{base}/v1/jobs/{id}")).send().unwrap().json().unwrap();
    job["state"].as_str().unwrap().to_string()
}

#[test]
fn an_api_only_serve_leaves_jobs_to_a_separate_worker_that_reports_its_health() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = atelier(dir.path());
    serve.args(["serve", "--no-workers", "--listen", "127.0.0.1:0"]);
    let api = Running::start(serve, "listening on");
    assert!(api.line.contains("API only"), "{}", api.line);
    let base = api.base();
    assert_eq!(healthcheck(dir.path(), &format!("{base}/healthz")), Some(0));
    assert_eq!(healthcheck(dir.path(), &format!("{base}/readyz")), Some(0));

    let client = crate::session::signed_in(&base, "ops@example.com");
    let image = crate::session::upload_rocket(&client, &base);
    let body = json!({"ops": ["thumbnail:width=64"], "images": [image["id"]]});
    let job: Value = client.post(format!("{base}/v1/jobs")).json(&body).send().unwrap().json().unwrap();
    let id = job["id"].as_str().unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(job_state(&client, &base, id), "queued", "no worker runs in an API-only serve");

    let mut command = atelier(dir.path());
    command.args(["worker", "--workers", "1"]).env("ATELIER_WORKER__LISTEN", "127.0.0.1:0");
    let worker = Running::start(command, "metrics on");
    let worker_base = worker.base();
    let res = reqwest::blocking::get(format!("{worker_base}/healthz")).unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.json::<Value>().unwrap(), json!({"status": "ok"}));
    let res = reqwest::blocking::get(format!("{worker_base}/readyz")).unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(healthcheck(dir.path(), &format!("{worker_base}/readyz")), Some(0));

    let deadline = Instant::now() + Duration::from_secs(30);
    while job_state(&client, &base, id) != "succeeded" {
        assert!(Instant::now() < deadline, "the worker process ran the job");
        std::thread::sleep(Duration::from_millis(50));
    }
    let scraped = |url: &str, line: &str| {
        (0..100).any(|_| {
            let text = reqwest::blocking::get(url).unwrap().text().unwrap();
            text.lines().any(|l| l == line) || {
                std::thread::sleep(Duration::from_millis(50));
                false
            }
        })
    };
    let line = "atelier_job_run_seconds_count{outcome=\"succeeded\"} 1";
    assert!(scraped(&format!("{worker_base}/metrics"), line), "the worker's own histograms");
    let api_text = client.get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    assert!(!api_text.contains("atelier_job_run_seconds"), "an API-only serve has no worker histograms");
    worker.sigterm();
    api.sigterm();
}

#[test]
fn serve_workers_false_in_the_environment_serves_the_api_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = atelier(dir.path());
    serve.args(["serve", "--listen", "127.0.0.1:0"]).env("ATELIER_SERVE_WORKERS", "false");
    let api = Running::start(serve, "listening on");
    assert!(api.line.contains("API only"), "{}", api.line);
    // Answering a request means it has got as far as waiting for the signal.
    assert_eq!(healthcheck(dir.path(), &format!("{}/healthz", api.base())), Some(0));
    api.sigterm();
}

#[test]
fn a_worker_whose_blob_store_never_answers_is_alive_but_not_ready_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Never accepted from: connections complete in the kernel's backlog, then hang, like
    // an S3 server that was stopped (SIGSTOP) rather than shut down.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s3 = [
        ("ATELIER_BLOBS__BACKEND", "s3".to_string()),
        ("ATELIER_BLOBS__BUCKET", "atelier".to_string()),
        ("ATELIER_BLOBS__ENDPOINT", format!("http://{}", hung.local_addr().unwrap())),
        ("ATELIER_BLOBS__ACCESS_KEY_ID", "key".to_string()),
        ("ATELIER_BLOBS__SECRET_ACCESS_KEY", "secret".to_string()),
        ("ATELIER_BLOBS__ALLOW_HTTP", "true".to_string()),
    ];
    assert!(atelier(dir.path()).arg("migrate").envs(s3.clone()).status().unwrap().success());
    let mut command = atelier(dir.path());
    command.args(["worker", "--workers", "1"]).env("ATELIER_WORKER__LISTEN", "127.0.0.1:0").envs(s3);
    let worker = Running::start(command, "metrics on");
    let base = worker.base();
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    assert_eq!(client.get(format!("{base}/healthz")).send().unwrap().status().as_u16(), 200);
    let started = Instant::now();
    let res = client.get(format!("{base}/readyz")).send().unwrap();
    let took = started.elapsed();
    assert_eq!(res.status().as_u16(), 503);
    assert!(took < Duration::from_secs(4), "answered in {took:?}");
    let body: Value = res.json().unwrap();
    assert_eq!((body["code"].as_str(), body["dependency"].as_str()), (Some("service_unavailable"), Some("blob store")));
    assert_eq!(healthcheck(dir.path(), &format!("{base}/readyz")), Some(1));
    worker.sigterm();
}

#[test]
fn a_sigterm_the_moment_serve_or_a_worker_says_it_is_up_still_stops_it_cleanly() {
    // The handlers are registered before anything is announced, so even a signal sent at
    // once drains the process (exit 0) rather than ending it with the default action.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let mut serve = atelier(dir.path());
        serve.args(["serve", "--no-workers", "--listen", "127.0.0.1:0"]);
        Running::start(serve, "listening on").sigterm();
        let mut worker = atelier(dir.path());
        worker.args(["worker", "--workers", "1"]);
        Running::start(worker, "waiting for jobs").sigterm();
    }
}
