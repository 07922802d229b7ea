//! `atelier healthcheck [URL]`: 0 for an HTTP 200 within 3 s; 1, with the reason on stderr,
//! for a closed port, another status, a server that never answers, or a URL it cannot use.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn healthcheck(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("healthcheck")
        .args(args)
        .output()
        .expect("atelier runs");
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A server for one connection that answers `response` to whatever it is sent, and hands
/// the request it read to the test.
fn answering(response: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (sent, requests) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(response.as_bytes());
        let _ = sent.send(String::from_utf8_lossy(&request).into_owned());
    });
    (base, requests)
}

#[test]
fn a_200_within_the_time_limit_exits_0_after_one_plain_http_request() {
    let (base, requests) = answering("HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}");
    let (output, _) = healthcheck(&[&format!("{base}/healthz")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let request = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(request.starts_with("GET /healthz HTTP/1.1\r\n"), "{request}");
    let host = base.trim_start_matches("http://");
    assert!(request.contains(&format!("Host: {host}\r\n")) && request.contains("Connection: close\r\n"), "{request}");
}

#[test]
fn a_503_exits_1_and_says_which_status_came() {
    let (base, _requests) = answering("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    let (output, _) = healthcheck(&[&format!("{base}/readyz")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("HTTP 503"), "{}", stderr(&output));
}

#[test]
fn a_closed_port_exits_1_at_once() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (output, took) = healthcheck(&[&format!("http://127.0.0.1:{port}/healthz")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("connecting"), "{}", stderr(&output));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_server_that_never_answers_exits_1_after_3_seconds() {
    // Never accepted from: the kernel completes the connection, then nothing ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let (output, took) = healthcheck(&[&url]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no answer within 3 s"), "{}", stderr(&output));
    assert!(took >= Duration::from_millis(2_900) && took < Duration::from_secs(6), "{took:?}");
    drop(listener);
}

#[test]
fn a_url_it_cannot_use_exits_1_not_2_which_docker_reserves() {
    for url in ["https://127.0.0.1:8080/healthz", "not a url"] {
        let (output, _) = healthcheck(&[url]);
        assert_eq!(output.status.code(), Some(1), "{url}");
        assert!(stderr(&output).contains(url), "{url}: {}", stderr(&output));
    }
}
