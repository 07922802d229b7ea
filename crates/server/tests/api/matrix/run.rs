//! Sending the matrix's cases and judging the answers: every one must be a 4xx whose body is
//! `{"code", "message"}` with a code from the API's table, and the server must answer
//! `/healthz` afterwards. Failures are collected, so one run lists all of them; `MATRIX_LOG=1`
//! prints every case with its answer.

use std::collections::BTreeSet;
use std::time::Duration;

use atelier_server::ApiCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestApp;

/// How long one case may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(30);

/// One bad request and what it must get.
#[derive(Debug, Clone)]
pub struct Case {
    /// The documented operation, `METHOD /template`.
    pub op: String,
    /// What is wrong with the request, e.g. `malformed JSON: truncated`.
    pub name: String,
    pub method: reqwest::Method,
    /// Already percent-encoded, with its query.
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Sent with `Transfer-Encoding: chunked` (no `Content-Length`) over a raw connection.
    pub chunked: bool,
    pub expect: Expect,
}

/// What a case's answer must be beyond "a 4xx with a known code".
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect {
    pub status: Option<u16>,
    pub code: Option<&'static str>,
}

impl Expect {
    pub const ANY_4XX: Expect = Expect { status: None, code: None };

    pub const fn exactly(status: u16, code: &'static str) -> Expect {
        Expect { status: Some(status), code: Some(code) }
    }

    pub const fn status(status: u16) -> Expect {
        Expect { status: Some(status), code: None }
    }
}

impl Case {
    pub fn with(&self, name: impl Into<String>, expect: Expect) -> Case {
        Case { name: name.into(), expect, ..self.clone() }
    }

    pub fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Case {
        self.content_type = content_type.map(str::to_string);
        self.body = body.into();
        self
    }

    pub fn path(mut self, path: String) -> Case {
        self.path = path;
        self
    }

    pub fn chunked(mut self) -> Case {
        self.chunked = true;
        self
    }
}

/// An answer as the client saw it.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Every code the API can answer with: its own and the imaging core's.
pub fn known_codes() -> BTreeSet<&'static str> {
    ApiCode::all().map(ApiCode::as_str).collect()
}

/// Sends every case and returns one line per failure.
pub async fn run(app: &TestApp, cases: &[Case]) -> Vec<String> {
    let known = known_codes();
    let mut failures = Vec::new();
    for case in cases {
        let answer = match tokio::time::timeout(PATIENCE, send(app, case)).await {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(err)) => {
                failures.push(format!("{} {}: no answer: {err}", describe(case), case.op));
                None
            }
            Err(_) => {
                failures.push(format!("{} {}: no answer within {PATIENCE:?}", describe(case), case.op));
                None
            }
        };
        if let Some(answer) = answer {
            if std::env::var_os("MATRIX_LOG").is_some() {
                let body = String::from_utf8_lossy(&answer.body);
                eprintln!("{} {}: {} {}", describe(case), case.op, answer.status, cut(&body));
            }
            if let Err(problem) = judge(case, &answer, &known) {
                let body = String::from_utf8_lossy(&answer.body);
                failures.push(format!(
                    "{} {}: {problem}; got {} {}",
                    describe(case),
                    case.op,
                    answer.status,
                    cut(&body)
                ));
            }
        }
        if let Err(problem) = alive(app).await {
            failures.push(format!("{}: the server is not alive afterwards: {problem}", describe(case)));
            break;
        }
    }
    failures
}

/// Panics with every failure, if there are any.
pub fn assert_none(what: &str, total: usize, failures: &[String]) {
    assert!(failures.is_empty(), "{what}: {} of {total} cases failed:\n  {}", failures.len(), failures.join("\n  "));
}

fn describe(case: &Case) -> String {
    format!("{} {} [{}]", case.method, cut(&case.path), case.name)
}

/// Long paths and bodies (10 KB ids, echoed) shortened for the report.
fn cut(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    match text.char_indices().nth(240) {
        Some((at, _)) => format!("{}…({} chars)", &text[..at], text.chars().count()),
        None => text,
    }
}

fn judge(case: &Case, answer: &Answer, known: &BTreeSet<&str>) -> Result<(), String> {
    if !(400..500).contains(&answer.status) {
        return Err("not a 4xx".into());
    }
    if let Some(status) = case.expect.status.filter(|s| *s != answer.status) {
        return Err(format!("expected {status}"));
    }
    if !answer.content_type.starts_with("application/json") {
        return Err(format!("the body is `{}`, not JSON", answer.content_type));
    }
    let body: Value = serde_json::from_slice(&answer.body).map_err(|err| format!("the body is not JSON: {err}"))?;
    let code = body["code"].as_str().unwrap_or_default();
    if code.is_empty() || !known.contains(code) {
        return Err(format!("`code` {} is not one in the table", body["code"]));
    }
    if body["message"].as_str().is_none_or(|m| m.trim().is_empty()) {
        return Err("no `message`".into());
    }
    if let Some(expected) = case.expect.code.filter(|c| *c != code) {
        return Err(format!("expected code `{expected}`"));
    }
    Ok(())
}

async fn alive(app: &TestApp) -> Result<(), String> {
    let res = app.client.get(app.url("/healthz")).timeout(PATIENCE).send().await.map_err(|e| e.to_string())?;
    match res.status().as_u16() {
        200 => Ok(()),
        other => Err(format!("/healthz answered {other}")),
    }
}

async fn send(app: &TestApp, case: &Case) -> Result<Answer, String> {
    if case.chunked {
        return send_chunked(app, case).await;
    }
    let mut request = app.client.request(case.method.clone(), app.url(&case.path)).timeout(PATIENCE);
    if let Some(content_type) = &case.content_type {
        request = request.header("content-type", content_type);
    }
    if !case.body.is_empty() || case.method != reqwest::Method::GET {
        request = request.body(case.body.clone());
    }
    let res = request.send().await.map_err(|err| format!("{err:?}"))?;
    let status = res.status().as_u16();
    let content_type = header(res.headers(), "content-type");
    let body = res.bytes().await.map_err(|err| err.to_string())?.to_vec();
    Ok(Answer { status, content_type, body })
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// A request whose body has no declared length, written by hand: reqwest always sends a
/// `Content-Length` for a byte body. The response is read while the body is still being
/// written, since the server may answer (and close) before taking all of it.
async fn send_chunked(app: &TestApp, case: &Case) -> Result<Answer, String> {
    let addr = app.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n", case.method, case.path);
    head.push_str(&format!("Authorization: Bearer {}\r\n", app.owner.access_token));
    if let Some(content_type) = &case.content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let body = case.body.clone();
    let write = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for chunk in body.chunks(64 << 10) {
            writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            writer.write_all(chunk).await?;
            writer.write_all(b"\r\n").await?;
        }
        writer.write_all(b"0\r\n\r\n").await?;
        // Keep the connection open for reading: dropping `writer` only shuts the write side.
        Ok::<_, std::io::Error>(())
    });
    let mut raw = Vec::new();
    let mut buf = vec![0; 64 << 10];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the answer arrived (the server stopped reading the body) is fine.
            Err(_) if !raw.is_empty() => break,
            Err(err) => return Err(err.to_string()),
        }
    }
    write.abort();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Answer, String> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no complete response head")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).ok_or("no status")?;
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.trim().to_string(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Answer { status, content_type, body })
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").ok_or("a chunk without its size line")?;
        let size = std::str::from_utf8(&raw[..line_end]).ok().and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let size = size.ok_or("a bad chunk size")?;
        if size == 0 {
            return Ok(out);
        }
        let data = raw.get(line_end + 2..line_end + 2 + size).ok_or("a cut chunk")?;
        out.extend_from_slice(data);
        raw = raw.get(line_end + 4 + size..).ok_or("a cut chunk")?;
    }
}
