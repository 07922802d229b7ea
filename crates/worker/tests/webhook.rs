//! Webhook delivery against a real HTTP receiver on 127.0.0.1: the SSRF guard, signatures,
//! retries, redirects, timeouts, and URL validation at submission.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atelier_worker::webhook::{
    deliver, parse_allow_list, unix_now, validate_url, verify, ErrorKind, WebhookConfig, WebhookError, EVENT_HEADER,
    SIGNATURE_HEADER, USER_AGENT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "whsec_integration";
const BODY: &[u8] = br#"{"job_id":"j-42","state":"succeeded"}"#;

/// What the receiver does with one request.
#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    Redirect(&'static str),
    /// Reads the request and never answers.
    Silence,
}

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 receiver: answers the n-th request with `script[n]` (the last entry
/// repeats) and records every request it read.
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    async fn start(script: &[Reply]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (script, log) = (script.to_vec(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (script, log) = (script.clone(), log.clone());
                tokio::spawn(async move { serve(stream, &script, &log).await });
            }
        });
        Receiver { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, script: &[Reply], log: &Mutex<Vec<Request>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (request_line.next().unwrap_or_default(), request_line.next().unwrap_or_default());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let request =
        Request { method: method.into(), path: path.into(), headers, body: buf[head_end..head_end + length].to_vec() };
    let reply = {
        let mut seen = log.lock().unwrap();
        seen.push(request);
        script[(seen.len() - 1).min(script.len() - 1)]
    };
    let response = match reply {
        Reply::Status(status) => {
            format!("HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Reply::Redirect(to) => {
            format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        }
        Reply::Silence => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn config(allow: &[&str]) -> WebhookConfig {
    WebhookConfig {
        allow: parse_allow_list(allow).unwrap(),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        secret: SECRET.into(),
    }
}

const LOOPBACK: &[&str] = &["127.0.0.0/8"];

#[tokio::test]
async fn a_loopback_receiver_is_refused_without_an_allow_list_and_never_contacted() {
    let receiver = Receiver::start(&[Reply::Status(200)]).await;
    let err = deliver(&config(&[]), &receiver.url("/hook"), "job.completed", BODY).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");
    assert_eq!(err.attempts(), 1);
    let message = err.to_string();
    assert!(message.contains("127.0.0.1") && message.contains("loopback"), "{message}");
    assert!(!message.contains(SECRET));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(receiver.requests().len(), 0);
}

#[tokio::test]
async fn an_allowed_receiver_gets_one_signed_post_it_can_verify() {
    let receiver = Receiver::start(&[Reply::Status(204)]).await;
    let delivery = deliver(&config(LOOPBACK), &receiver.url("/hook?tenant=7"), "job.completed", BODY).await.unwrap();
    assert_eq!((delivery.attempts, delivery.status), (1, 204));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/hook?tenant=7"));
    assert_eq!(request.body, BODY);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header(EVENT_HEADER), Some("job.completed"));
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    let signature = request.header(SIGNATURE_HEADER).expect("a signature header");
    let tolerance = Duration::from_secs(300);
    assert!(verify(SECRET, signature, &request.body, unix_now(), tolerance), "{signature}");
    assert!(!verify("whsec_wrong", signature, &request.body, unix_now(), tolerance));
    assert!(!verify(SECRET, signature, b"{}", unix_now(), tolerance));
}

#[tokio::test]
async fn server_errors_are_retried_until_the_receiver_accepts() {
    let receiver = Receiver::start(&[Reply::Status(500), Reply::Status(503), Reply::Status(200)]).await;
    let delivery = deliver(&config(LOOPBACK), &receiver.url("/hook"), "job.completed", BODY).await.unwrap();
    assert_eq!((delivery.attempts, delivery.status), (3, 200));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    // Each attempt is signed afresh, and each signature verifies.
    for request in &requests {
        let signature = request.header(SIGNATURE_HEADER).unwrap();
        assert!(verify(SECRET, signature, BODY, unix_now(), Duration::from_secs(300)));
    }
}

#[tokio::test]
async fn retries_stop_at_max_attempts_and_say_so() {
    let receiver = Receiver::start(&[Reply::Status(429)]).await;
    let err = deliver(&config(LOOPBACK), &receiver.url("/hook"), "job.completed", BODY).await.unwrap_err();
    assert_eq!((err.kind(), err.attempts(), err.status()), (ErrorKind::Unavailable, 3, Some(429)));
    assert_eq!(err.to_string(), "webhook not delivered: attempt 3 of 3 failed: the receiver answered 429 (gave up)");
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn final_answers_end_delivery_after_one_request() {
    let cases: &[(Reply, ErrorKind, &str, &str)] = &[
        (Reply::Status(400), ErrorKind::Rejected, "webhook_bad_status", "answered 400 (final, not retried)"),
        (Reply::Status(404), ErrorKind::Rejected, "webhook_bad_status", "answered 404 (final, not retried)"),
        (
            Reply::Redirect("/elsewhere"),
            ErrorKind::Rejected,
            "webhook_redirected",
            "`/elsewhere`, which is not followed",
        ),
    ];
    for (reply, kind, code, message) in cases {
        let receiver = Receiver::start(&[*reply]).await;
        let err = deliver(&config(LOOPBACK), &receiver.url("/hook"), "job.completed", BODY).await.unwrap_err();
        assert_eq!((err.kind(), err.code(), err.attempts()), (*kind, *code, 1), "{err}");
        assert!(err.to_string().contains(message), "{err}");
        let paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/hook"], "{err}");
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_quickly() {
    let receiver = Receiver::start(&[Reply::Silence]).await;
    let config = WebhookConfig { timeout: Duration::from_millis(300), max_attempts: 2, ..config(LOOPBACK) };
    let started = Instant::now();
    let err = deliver(&config, &receiver.url("/hook"), "job.completed", BODY).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!((err.kind(), err.code(), err.attempts()), (ErrorKind::Unavailable, "webhook_timeout", 2), "{err}");
    assert!(err.to_string().contains("no answer within 300 ms"), "{err}");
    assert!(elapsed >= Duration::from_millis(600) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(receiver.requests().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_unreachable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let err = deliver(&config(LOOPBACK), &url, "job.completed", BODY).await.unwrap_err();
    assert_eq!((err.kind(), err.code(), err.attempts()), (ErrorKind::Unavailable, "webhook_unreachable", 3), "{err}");
}

#[tokio::test]
async fn internal_targets_are_refused_by_name_or_literal() {
    let receiver = Receiver::start(&[Reply::Status(200)]).await;
    let port = receiver.addr.port();
    let cases: Vec<(String, &str)> = vec![
        (format!("http://localhost:{port}/hook"), "loopback"),
        (format!("http://LOCALHOST:{port}/hook"), "loopback"),
        (format!("http://[::ffff:127.0.0.1]:{port}/hook"), "loopback"),
        (format!("http://[::1]:{port}/hook"), "loopback"),
        (format!("http://2130706433:{port}/hook"), "loopback"),
        (format!("http://0x7f.1:{port}/hook"), "loopback"),
        (format!("http://0.0.0.0:{port}/hook"), "unspecified"),
        ("http://169.254.169.254/latest/meta-data".into(), "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data".into(), "private"),
        ("http://100.100.100.200/latest/meta-data".into(), "carrier-grade NAT"),
        ("https://10.0.0.1/hook".into(), "private"),
        ("http://[64:ff9b::a9fe:a9fe]/".into(), "metadata"),
    ];
    for (url, reason) in cases {
        let started = Instant::now();
        let err = deliver(&config(&[]), &url, "job.completed", BODY).await.unwrap_err();
        assert_eq!((err.kind(), err.code()), (ErrorKind::Forbidden, "webhook_forbidden_target"), "{url}: {err}");
        assert!(err.to_string().contains(reason), "{url}: {err}");
        assert!(started.elapsed() < Duration::from_millis(500), "{url}: a refusal is immediate, not retried");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(receiver.requests().len(), 0);
}

#[tokio::test]
async fn the_allow_list_admits_only_the_ranges_it_names() {
    let receiver = Receiver::start(&[Reply::Status(200)]).await;
    let port = receiver.addr.port();
    let cases: &[(&[&str], &str, bool)] = &[
        (&["127.0.0.1/32"], "127.0.0.1", true),
        (&["127.0.0.1"], "localhost", false), // localhost also resolves to ::1 on most hosts
        (&["127.0.0.0/8", "::1/128"], "localhost", true),
        (&["127.0.0.1/32"], "[::ffff:127.0.0.1]", true),
        (&["10.0.0.0/8"], "127.0.0.1", false),
        (&["::1/128"], "127.0.0.1", false),
    ];
    let mut expected_requests = 0;
    for (allow, host, delivered) in cases {
        let url = format!("http://{host}:{port}/hook");
        let result = deliver(&config(allow), &url, "job.completed", BODY).await;
        if *delivered {
            expected_requests += 1;
            assert_eq!(result.unwrap().attempts, 1, "{allow:?} {host}");
        } else if host.starts_with("localhost") && lookup_is_v4_only(port).await {
            // Without ::1 in /etc/hosts, a 127.0.0.1 allow-list is enough for localhost.
            expected_requests += 1;
            result.unwrap();
        } else {
            assert_eq!(result.unwrap_err().kind(), ErrorKind::Forbidden, "{allow:?} {host}");
        }
    }
    assert_eq!(receiver.requests().len(), expected_requests);
}

async fn lookup_is_v4_only(port: u16) -> bool {
    tokio::net::lookup_host(("localhost", port)).await.unwrap().all(|addr| addr.is_ipv4())
}

#[test]
fn urls_that_can_never_be_delivered_are_refused_at_submission() {
    let long = format!("https://example.com/{}", "a".repeat(2040));
    let cases: &[(&str, &str)] = &[
        ("ftp://example.com/hook", "the scheme `ftp` is not supported; use http or https"),
        ("file:///etc/passwd", "the scheme `file` is not supported; use http or https"),
        ("javascript:alert(1)", "the scheme `javascript` is not supported; use http or https"),
        ("http://", "the URL has no host"),
        ("http://:8080/hook", "the URL has no host"),
        ("http://user:hunter2@example.com/hook", "the URL contains credentials"),
        ("https://token@example.com/hook", "the URL contains credentials"),
        (&long, "the URL is 2060 bytes long, over the limit of 2048 bytes"),
        ("example.com/hook", "not a valid URL (relative URL without a base)"),
        ("http://exa mple.com/", "not a valid URL"),
    ];
    for (url, want) in cases {
        let err = validate_url(url).unwrap_err();
        assert!(matches!(err, WebhookError::InvalidUrl { .. }));
        assert_eq!((err.kind(), err.code()), (ErrorKind::InvalidUrl, "webhook_invalid_url"));
        let message = err.to_string();
        assert!(message.starts_with("invalid webhook URL: "), "{message}");
        assert!(message.contains(want), "{url}: {message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
    for url in
        ["https://example.com/hook", "http://10.0.0.1:8080/x?y=z", "https://[2001:4860::1]/", "HTTPS://Example.COM"]
    {
        assert!(validate_url(url).is_ok(), "{url}");
    }
}
